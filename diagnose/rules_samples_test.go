package diagnose

import (
	"strings"
	"testing"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// recordSamples are kubelet log lines, as the kubelet writes them, that each record rule exists
// for: TestRecordRulesSurviveThePrefilter checks that the log prefilter keeps every one and that it
// classifies to its kind. A new record rule registers its lines from its own test file:
//
//	func init() { registerRecordSamples(KindPortInUse, `{"ts":…,"msg":"…","err":"…"}`, `E1124 … "…" err="…"`) }
//
// Lines come from a real kubelet where we have one (testdata/nodes, captured from v1.34.4) and
// from the kubelet's source (the klog call that writes them) otherwise.
var recordSamples = map[Kind][]string{}

func registerRecordSamples(kind Kind, lines ...string) {
	recordSamples[kind] = append(recordSamples[kind], lines...)
}

// unsampled are rules no kubelet line at the default verbosity can show, with the reason.
var unsampled = map[Kind]string{
	KindOOMKilled: "kubelet v1.34 never logs the OOMKilled reason below v=3 (status patches); the runtime's container reason is the source, the rule catches pasted or verbose logs",
}

func init() {
	registerRecordSamples(KindManifestDirMissing,
		// config/file.go:98 klog.ErrorS(err, "Unable to read config path", "path", s.path)
		`{"ts":1795559200001.5,"caller":"config/file.go:98","msg":"Unable to read config path","path":"/etc/kubernetes/manifests","err":"path does not exist, ignoring"}`,
		`E1124 22:26:40.000150   31923 file.go:98] "Unable to read config path" err="path does not exist, ignoring" path="/etc/kubernetes/manifests"`)
	registerRecordSamples(KindManifestUnparseable,
		`{"ts":1795559202888.9377,"caller":"config/file.go:108","msg":"Unable to process watch event","err":"can't process config file \"/etc/kubernetes/manifests/yaml-error.yaml\": /etc/kubernetes/manifests/yaml-error.yaml: couldn't parse as pod(yaml: line 5: found a tab character that violates indentation), please check config file"}`,
		`E1124 22:26:55.944634   31923 file.go:108] "Unable to process watch event" err="can't process config file \"/etc/kubernetes/manifests/yaml-error.yaml\": /etc/kubernetes/manifests/yaml-error.yaml: couldn't parse as pod(yaml: line 5: found a tab character that violates indentation), please check config file"`,
		`{"ts":1764021300500.123,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/bad-yaml.yaml","err":"/etc/kubernetes/manifests/bad-yaml.yaml: couldn't parse as pod(yaml: line 4: did not find expected key), please check config file"}`)
	registerRecordSamples(KindManifestInvalid,
		`{"ts":1795559202881.4817,"caller":"config/file.go:108","msg":"Unable to process watch event","err":"can't process config file \"/etc/kubernetes/manifests/invalid.yaml\": invalid pod: [spec.containers: Required value]"}`,
		`E1124 22:26:55.915175   31923 file.go:108] "Unable to process watch event" err="can't process config file \"/etc/kubernetes/manifests/invalid.yaml\": invalid pod: [spec.containers: Required value]"`,
		`{"ts":1764021360000.123,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/broken.yaml","err":"invalid pod: [spec.containers: Required value]"}`)
	registerRecordSamples(KindFileUnreadable,
		// config/file.go:187 klog.ErrorS(err, "Could not process manifest file", "path", path)
		`{"ts":1795559202900.1,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/etcd.yaml","err":"open /etc/kubernetes/manifests/etcd.yaml: permission denied"}`)
	registerRecordSamples(KindNetworkNotReady,
		`{"ts":1795559203250.6606,"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"no-cni-node1","namespace":"default"},"podUID":"573d175a0bb2f022b8e2528b36bd679c","err":"network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}`,
		`E1124 22:26:56.062152   31923 pod_workers.go:1324] "Error syncing pod, skipping" err="network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized" pod="default/no-cni-node1" podUID="78d73b2824669500c19cdce448bffa3d"`,
		`{"ts":1764021300600.123,"caller":"kubelet/kubelet.go:3117","msg":"Container runtime network not ready","networkReady":"NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}`)
	registerRecordSamples(KindRuntimeUnreachable,
		`E1124 22:30:21.400248   31923 kubelet.go:2452] "Skipping pod synchronization" err="[container runtime is down, PLEG is not healthy: pleg was last seen active 3m18.493512142s ago; threshold is 3m0s]"`,
		`{"ts":1795559421400.248,"caller":"kubelet/kubelet.go:2452","msg":"Skipping pod synchronization","err":"[container runtime is down, PLEG is not healthy: pleg was last seen active 3m18.493512142s ago; threshold is 3m0s]"}`)
	registerRecordSamples(KindImageNotPresent,
		`{"ts":1795559205847.0762,"logger":"UnhandledError","caller":"kuberuntime/kuberuntime_manager.go:1449","msg":"Unhandled Error","err":"container main start failed in pod missing-image-node1_default(fd49ebddb056e2dafbeef5fa5f252dd6): ErrImageNeverPull: Container image \"spdoc.local/not-imported:1\" is not present with pull policy of Never"}`,
		`E1124 22:26:57.568647   31923 kuberuntime_manager.go:1449] "Unhandled Error" err="container main start failed in pod missing-image-node1_default(7b933541603b7f49eaf883e68b2d276e): ErrImageNeverPull: Container image \"spdoc.local/not-imported:1\" is not present with pull policy of Never" logger="UnhandledError"`)
	registerRecordSamples(KindImagePullFailed,
		`{"ts":1795559205646.188,"caller":"internal/log.go:32","msg":"PullImage from image service failed","image":"registry.spdoc.invalid/app:1","err":"rpc error: code = Unknown desc = failed to pull and unpack image \"registry.spdoc.invalid/app:1\": failed to resolve reference \"registry.spdoc.invalid/app:1\": dial tcp: lookup registry.spdoc.invalid: no such host"}`,
		`E1124 22:26:57.388575   31923 log.go:32] "PullImage from image service failed" err="rpc error: code = Unknown desc = failed to pull and unpack image \"registry.spdoc.invalid/app:1\": failed to resolve reference \"registry.spdoc.invalid/app:1\": dial tcp: lookup registry.spdoc.invalid: no such host" image="registry.spdoc.invalid/app:1"`)
	registerRecordSamples(KindVolumeMountFailed,
		`E1124 22:26:56.214694   31923 nestedpendingoperations.go:348] Operation for "{volumeName:kubernetes.io/host-path/67706899409032a71b132498c12007e7-data podName:67706899409032a71b132498c12007e7 nodeName:}" failed. No retries permitted until 2026-11-24 22:26:56.714657045 +0000 UTC m=+1.821550022 (durationBeforeRetry 500ms). Error: MountVolume.SetUp failed for volume "data" (UniqueName: "kubernetes.io/host-path/67706899409032a71b132498c12007e7-data") pod "missing-hostpath-node1" (UID: "67706899409032a71b132498c12007e7") : hostPath type check failed: /srv/spdoc-missing is not a directory`,
		`{"ts":1795559203398.924,"caller":"nestedpendingoperations/nestedpendingoperations.go:348","msg":"Operation for \"{volumeName:kubernetes.io/host-path/05f6f77ae403ef4e051f778ff80fcf87-data podName:05f6f77ae403ef4e051f778ff80fcf87 nodeName:}\" failed. No retries permitted until 2026-11-24 22:26:43.898854671 +0000 UTC m=+1.832543406 (durationBeforeRetry 500ms). Error: MountVolume.SetUp failed for volume \"data\" (UniqueName: \"kubernetes.io/host-path/05f6f77ae403ef4e051f778ff80fcf87-data\") pod \"missing-hostpath-node1\" (UID: \"05f6f77ae403ef4e051f778ff80fcf87\") : hostPath type check failed: /srv/spdoc-missing is not a directory"}`)
	registerRecordSamples(KindSandboxFailed,
		// kuberuntime/kuberuntime_sandbox.go:71 logger.Error(err, "Failed to create sandbox for pod", "pod", klog.KObj(pod))
		`{"ts":1795559203500.1,"caller":"kuberuntime/kuberuntime_sandbox.go:71","msg":"Failed to create sandbox for pod","pod":{"name":"web-node1","namespace":"default"},"err":"rpc error: code = Unknown desc = failed to setup network for sandbox \"4f1c\": plugin type=\"bridge\" failed (add): failed to allocate for range 0: no IP addresses available in range set"}`,
		// kuberuntime/kuberuntime_manager.go:1343 logger.Error(err, "CreatePodSandbox for pod failed", "pod", klog.KObj(pod))
		`E1124 22:26:58.100000   31923 kuberuntime_manager.go:1343] "CreatePodSandbox for pod failed" err="rpc error: code = Unknown desc = failed to create containerd task: failed to create shim task: OCI runtime create failed" pod="default/web-node1"`)
	registerRecordSamples(KindCrashLoop,
		`{"ts":1795559207155.1392,"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"crashloop-node1","namespace":"default"},"podUID":"b4160e8401c65ddc378ffe827459a2ce","err":"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 10s restarting failed container=app pod=crashloop-node1_default(b4160e8401c65ddc378ffe827459a2ce)\""}`,
		`E1124 22:26:59.904725   31923 pod_workers.go:1324] "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 10s restarting failed container=app pod=crashloop-node1_default(68b63cf0b10a92f44b6ea7d3ab3baf54)\"" pod="default/crashloop-node1" podUID="68b63cf0b10a92f44b6ea7d3ab3baf54"`)
	registerRecordSamples(KindProbeFailed,
		`{"ts":1795559207707.0125,"caller":"prober/prober.go:120","msg":"Probe failed","v":1,"probeType":"Liveness","pod":{"name":"liveness-node1","namespace":"default"},"podUID":"7d8cbc86d4b95ed1e85de74107ca378f","containerName":"main","probeResult":"failure","output":"cat: can't open '/tmp/healthy': No such file or directory\n"}`,
		`I1124 22:27:00.795370   31923 prober.go:120] "Probe failed" probeType="Liveness" pod="default/liveness-node1" podUID="9afe0c26c513364095a6a34451a7c723" containerName="main" probeResult="failure" output="cat: can't open '/tmp/healthy': No such file or directory"`)
	registerRecordSamples(KindContainerFailed,
		`{"ts":1795559205182.7917,"logger":"UnhandledError","caller":"kuberuntime/kuberuntime_manager.go:1449","msg":"Unhandled Error","err":"container main start failed in pod dup-node1_default(de329297b71927517fdadc89c76da672): CreateContainerConfigError: open /var/lib/kubelet/pods/de329297b71927517fdadc89c76da672/etc-hosts: no such file or directory"}`)
	registerRecordSamples(KindMirrorPodFailed,
		// kubelet.go:3222 klog.ErrorS(err, "Failed creating a mirror pod", "pod", klog.KObj(staticPod))
		`{"ts":1795559208000.1,"caller":"kubelet/kubelet.go:3222","msg":"Failed creating a mirror pod","pod":{"name":"etcd-node1","namespace":"kube-system"},"err":"pods \"etcd-node1\" is forbidden: PodSecurity \"restricted:latest\" violation"}`)
	registerRecordSamples(KindPodRemoved,
		`{"ts":1795559203191.8213,"caller":"kubelet/kubelet.go:2525","msg":"SyncLoop REMOVE","v":2,"source":"file","pods":[{"name":"dup-node1","namespace":"default"}]}`,
		`I1124 22:26:55.939060   31923 kubelet.go:2525] "SyncLoop REMOVE" source="file" pods=["default/dup-node1"]`)
}

// TestRecordRulesSurviveThePrefilter keeps the two vocabularies together: the log prefilter
// (kubeletlog.Interesting, which decides what is parsed at all) and the record rules (which
// decide what a parsed record means). Every rule has lines; every line passes the prefilter as
// the kubelet writes it and wrapped by journald, parses, and classifies to its kind — by its own
// rule, not a broader one before it.
func TestRecordRulesSurviveThePrefilter(t *testing.T) {
	decidedBy := map[int]bool{} // rule priorities some sample reaches
	for kind, lines := range recordSamples {
		if catalogue[kind] == nil {
			t.Errorf("samples for %s, which is not in the catalogue", kind)
		}
		for _, line := range lines {
			forms := map[string]string{"as written": line}
			if line[0] != '{' {
				forms["in journald"] = "Nov 24 22:26:55 node1 kubelet[31923]: " + line
			}
			for form, l := range forms {
				if !kubeletlog.Interesting([]byte(l)) {
					t.Errorf("%s line %s: the prefilter drops it, so the rule never sees it:\n%s", kind, form, l)
					continue
				}
				rec, ok := kubeletlog.ParseLine([]byte(l))
				if !ok {
					t.Errorf("%s line %s does not parse:\n%s", kind, form, l)
					continue
				}
				c, ok := classify(&rec)
				if !ok || c.kind != kind {
					t.Errorf("%s line %s classifies as %q (ok=%v):\n%s", kind, form, c.kind, ok, l)
					continue
				}
				text := rec.Msg + " " + rec.Err
				for _, rule := range recordRules {
					if rule.match(&rec, text) {
						decidedBy[rule.priority] = true
						break
					}
				}
			}
		}
	}
	for _, rule := range recordRules {
		if decidedBy[rule.priority] {
			continue
		}
		if why, ok := unsampled[rule.kind]; ok && strings.TrimSpace(why) != "" {
			continue
		}
		t.Errorf("record rule %d (%s) has no sample line that reaches it: register one with registerRecordSamples", rule.priority, rule.kind)
	}
}
