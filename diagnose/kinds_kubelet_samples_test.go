package diagnose

// Kubelet lines for the record rules of kinds_kubelet.go (see TestRecordRulesSurviveThePrefilter);
// each from the klog call in the v1.34.4 kubelet's source named beside it.
func init() {
	registerRecordSamples(KindSandboxImageUnavailable,
		// cri-client/remote_runtime.go: "RunPodSandbox from runtime service failed" (containerd cannot pull the pause image)
		`{"ts":1795559210000.1,"caller":"cri-client/remote_runtime.go:193","msg":"RunPodSandbox from runtime service failed","err":"`+pauseErr+`"}`,
		`E1124 22:27:10.000100   31923 remote_runtime.go:193] "RunPodSandbox from runtime service failed" err="`+pauseErr+`"`)
	registerRecordSamples(KindNotAPod,
		// config/file.go:187 with the decoder's words for a Namespace
		`{"ts":1795559210001.1,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/ns.yaml","err":"/etc/kubernetes/manifests/ns.yaml: couldn't parse as pod(invalid pod: &core.Namespace{TypeMeta:v1.TypeMeta{Kind:\"\", APIVersion:\"\"}}), please check config file"}`,
		`E1124 22:27:10.000200   31923 file.go:187] "Could not process manifest file" err="/etc/kubernetes/manifests/ns.yaml: couldn't parse as pod(invalid pod: &core.Namespace{TypeMeta:v1.TypeMeta{Kind:\"\", APIVersion:\"\"}}), please check config file" path="/etc/kubernetes/manifests/ns.yaml"`)
	registerRecordSamples(KindProbeFailed,
		// kuberuntime/kuberuntime_manager.go:1182 logger.V(2).Info("Message for Container of pod", …)
		`{"ts":1795559210002.1,"caller":"kuberuntime/kuberuntime_manager.go:1182","msg":"Message for Container of pod","v":2,"containerName":"main","containerStatusID":{"Type":"containerd","ID":"4f1c"},"pod":{"name":"liveness-node1","namespace":"default"},"containerMessage":"Container main failed liveness probe, will be restarted"}`,
		// prober/prober.go:104 klog.V(1).ErrorS(err, "Probe errored", …)
		`{"ts":1795559210003.1,"caller":"prober/prober.go:104","msg":"Probe errored","v":1,"probeType":"Liveness","pod":{"name":"liveness-node1","namespace":"default"},"podUID":"7d8cbc86d4b95ed1e85de74107ca378f","containerName":"main","probeResult":"unknown","err":"failed to exec in container: timeout 1s exceeded"}`)
	registerRecordSamples(KindVolumeMountFailed,
		// pod_workers.go:1324 "Error syncing pod, skipping" with the volume manager's wait summary
		`{"ts":1795559210004.1,"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"web-node1","namespace":"default"},"podUID":"05f6f77ae403ef4e051f778ff80fcf87","err":"unmounted volumes=[data], unattached volumes=[], failed to process volumes=[]: context deadline exceeded"}`)
	registerRecordSamples(KindMirrorPodFailed,
		// kubelet.go:3206 klog.ErrorS(err, "Failed deleting mirror pod", "pod", klog.KObj(mirrorPod))
		`{"ts":1795559210005.1,"caller":"kubelet/kubelet.go:3206","msg":"Failed deleting mirror pod","pod":{"name":"etcd-node1","namespace":"kube-system"},"err":"Delete \"https://10.0.0.1:6443/api/v1/namespaces/kube-system/pods/etcd-node1\": dial tcp 10.0.0.1:6443: connect: connection refused"}`,
		// kubelet_pods.go:1313 klog.ErrorS(err, "Encountered error when deleting mirror pod", "podName", podFullname)
		`E1124 22:27:10.000600   31923 kubelet_pods.go:1313] "Encountered error when deleting mirror pod" err="pods \"etcd-node1\" is forbidden: node \"node1\" can only delete pods with spec.nodeName set to itself" podName="etcd-node1_kube-system"`)
}
