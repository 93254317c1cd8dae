package diagnose

// Kubelet lines for the record rules of kinds_talos.go (see TestRecordRulesSurviveThePrefilter):
// config/http.go's "Failed to read pods from URL", as the v1.34.4 kubelet logged it in the URL
// source tests (rules_talos_test.go).
func init() {
	registerRecordSamples(KindStaticPodListRejected,
		`{"ts":1796172709304.1167,"caller":"config/http.go:66","msg":"Failed to read pods from URL","v":0,"err":"invalid pod: [spec.containers: Required value]"}`)
	registerRecordSamples(KindStaticPodURLUnreachable, refusedLine)
}
