package kubeletlog

import (
	"regexp"
	"strings"
)

// Phrase is one kubelet log message as a range of kubelet versions wrote it, read from the
// kubelet's own source (k8s.io/kubernetes pkg/kubelet and cmd/kubelet of each minor version).
//
// Since 1.21 the kubelet logs structured records (klog.InfoS/ErrorS): a fixed message and
// key/value pairs, which the klog and JSON parsers read as they are. Before that it logged
// printf sentences with the facts inside; for those a Phrase carries a pattern whose named groups
// (path, pod, podUID, container, err, image, …) are pulled out, and the record gets the
// structured message of 1.21+ (Msg), so that everything downstream sees one vocabulary.
type Phrase struct {
	// From and To bound the kubelet minor versions that log it ("1.19", "1.20"); To empty: still
	// logged by the newest kubelet read (1.37).
	From, To string
	// Source is where the kubelet logs it (file of pkg/kubelet or cmd/kubelet).
	Source string
	// Format is the kubelet's format string (unstructured) or message (structured).
	Format string
	// Msg is the structured message the record gets (the 1.21+ wording).
	Msg string
	// Level is the klog level the kubelet logs it at (I, W, E, F).
	Level string
	// Example is one line built from Format, as that kubelet version prints it; a test checks it
	// against the parser, the prefilter and the diagnosis.
	Example string
	// Kind is the finding kind diagnosis must give Example ("" when the phrase is lifecycle or
	// context, not a problem by itself); checked by a diagnose test.
	Kind string

	lit string         // a literal every matching sentence contains, checked before re
	re  *regexp.Regexp // named groups: path pod podUID container err image node version …
}

// Vocabulary is the kubelet message table, oldest sentences first. It covers the messages
// diagnosis and correlation use; the rest of a kubelet's words reach the report as they are.
var Vocabulary = []*Phrase{
	// ---- pkg/kubelet/config: the static pod file source ----
	{From: "1.19", To: "1.20", Source: "config/file.go", Level: "E", Format: `Can't process manifest file %q: %v`, Msg: "Could not process manifest file",
		Example: `E1124 21:55:04.100165    1234 file.go:187] Can't process manifest file "/etc/kubernetes/manifests/web.yaml": invalid pod: [spec.containers: Required value]`,
		Kind:    "ManifestInvalid", lit: "Can't process manifest file ", re: regexp.MustCompile(`^Can't process manifest file "(?P<path>[^"]*)": (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "config/file.go", Level: "E", Format: `Unable to read config path %q: %v`, Msg: "Unable to read config path",
		Example: `E1124 21:55:04.100165    1234 file.go:98] Unable to read config path "/etc/kubernetes/manifests": path does not exist, ignoring`,
		Kind:    "ManifestDirMissing", lit: "Unable to read config path ", re: regexp.MustCompile(`^Unable to read config path "(?P<path>[^"]*)": (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "config/file.go", Level: "E", Format: `Unable to process watch event: %v`, Msg: "Unable to process watch event",
		Example: `E1124 21:55:04.100165    1234 file.go:108] Unable to process watch event: can't process config file "/etc/kubernetes/manifests/web.yaml": /etc/kubernetes/manifests/web.yaml: couldn't parse as pod(yaml: line 4: mapping values are not allowed in this context), please check config file`,
		Kind:    "ManifestUnparseable", lit: "Unable to process watch event: ", re: regexp.MustCompile(`^Unable to process watch event: (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "config/file.go", Level: "E", Format: `Manifest path %q is not a directory or file: %v`, Msg: "Manifest path is not a directory or file",
		Example: `E1124 21:55:04.100165    1234 file.go:193] Manifest path "/etc/kubernetes/manifests/sock" is not a directory or file: Srwxr-xr-x`,
		lit:     "Manifest path ", re: regexp.MustCompile(`^Manifest path "(?P<path>[^"]*)" is not a directory or file: (?P<mode>.*)$`)},
	{From: "1.19", To: "1.20", Source: "config/file.go", Level: "E", Format: `Can't get metadata for %q: %v`, Msg: "Could not get metadata",
		Example: `E1124 21:55:04.100165    1234 file.go:176] Can't get metadata for "/etc/kubernetes/manifests/web.yaml": stat /etc/kubernetes/manifests/web.yaml: permission denied`,
		lit:     "Can't get metadata for ", re: regexp.MustCompile(`^Can't get metadata for "(?P<path>[^"]*)": (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "config/file.go", Level: "I", Format: `Watching path %q`, Msg: "Watching path",
		Example: `I1124 21:55:04.100165    1234 file.go:68] Watching path "/etc/kubernetes/manifests"`,
		lit:     "Watching path ", re: regexp.MustCompile(`^Watching path "(?P<path>[^"]*)"$`)},
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "I", Format: `Adding pod path: %v`, Msg: "Adding static pod path",
		Example: `I1124 21:55:04.100165    1234 kubelet.go:262] Adding pod path: /etc/kubernetes/manifests`,
		lit:     "Adding pod path: ", re: regexp.MustCompile(`^Adding pod path: (?P<path>\S+)$`)},
	{From: "1.19", To: "1.20", Source: "config/http.go", Level: "W", Format: `Failed to read pods from URL: %v`, Msg: "Failed to read pods from URL",
		Example: `W1124 21:55:04.100165    1234 http.go:66] Failed to read pods from URL: invalid pod: [spec.containers: Required value]`,
		lit:     "Failed to read pods from URL: ", re: regexp.MustCompile(`^Failed to read pods from URL: (?P<err>.*)$`)},

	// ---- pkg/kubelet/prober ----
	{From: "1.19", To: "1.20", Source: "prober/prober.go", Level: "I", Format: `%s probe for %q failed (%v): %s`, Msg: "Probe failed",
		Example: `I1124 21:55:04.100165    1234 prober.go:117] Liveness probe for "web-node1_default(0123456789abcdef0123456789abcdef):app" failed (failure): HTTP probe failed with statuscode: 500`,
		Kind:    "ProbeFailed", lit: " probe for ", re: regexp.MustCompile(`^(?P<probeType>Liveness|Readiness|Startup) probe for "(?P<pod>[^"]*):(?P<container>[^":]*)" failed \((?P<probeResult>[^)]*)\): (?P<output>.*)$`)},
	{From: "1.19", To: "1.20", Source: "prober/prober.go", Level: "I", Format: `%s probe for %q errored: %v`, Msg: "Probe errored",
		Example: `I1124 21:55:04.100165    1234 prober.go:114] Readiness probe for "web-node1_default(0123456789abcdef0123456789abcdef):app" errored: rpc error: code = NotFound desc = container not found`,
		Kind:    "ProbeFailed", lit: " probe for ", re: regexp.MustCompile(`^(?P<probeType>Liveness|Readiness|Startup) probe for "(?P<pod>[^"]*):(?P<container>[^":]*)" errored: (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "kuberuntime/kuberuntime_manager.go", Level: "I", Format: `Container %q (%q) of pod %s: %s`, Msg: "Message for Container of pod",
		Example: `I1124 21:55:04.100165    1234 kuberuntime_manager.go:656] Container "app" ({"containerd" "4f1e2d"}) of pod web-node1_default(0123456789abcdef0123456789abcdef): Container app failed liveness probe, will be restarted`,
		Kind:    "ProbeFailed", lit: ") of pod ", re: regexp.MustCompile(`^Container "(?P<container>[^"]*)" \((?P<containerStatusID>.*)\) of pod (?P<pod>\S+): (?P<containerMessage>.*)$`)},

	// ---- pod workers and the sync loop ----
	{From: "1.19", To: "1.20", Source: "pod_workers.go", Level: "E", Format: `Error syncing pod %s (%q), skipping: %v`, Msg: "Error syncing pod, skipping",
		Example: `E1124 21:55:04.100165    1234 pod_workers.go:191] Error syncing pod 0123456789abcdef0123456789abcdef ("web-node1_default(0123456789abcdef0123456789abcdef)"), skipping: failed to "StartContainer" for "app" with CrashLoopBackOff: "back-off 5m0s restarting failed container=app pod=web-node1_default(0123456789abcdef0123456789abcdef)"`,
		Kind:    "CrashLoop", lit: "Error syncing pod ", re: regexp.MustCompile(`^Error syncing pod (?P<podUID>\S+) \("(?P<pod>[^"]*)"\), skipping: (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "E", Format: `skipping pod synchronization - %v`, Msg: "Skipping pod synchronization",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:1852] skipping pod synchronization - [container runtime is down, PLEG is not healthy: pleg was last seen active 3m0s ago]`,
		Kind:    "RuntimeUnreachable", lit: "skipping pod synchronization - ", re: regexp.MustCompile(`^skipping pod synchronization - (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "I", Format: `SyncLoop (%s, %q): %q`, Msg: "SyncLoop ",
		Example: `I1124 21:55:04.100165    1234 kubelet.go:1914] SyncLoop (ADD, "file"): "web-node1_default(0123456789abcdef0123456789abcdef)"`,
		lit:     "SyncLoop (", re: regexp.MustCompile(`^SyncLoop \((?P<op>ADD|UPDATE|REMOVE|DELETE|RECONCILE), "(?P<source>[^"]*)"\): "(?P<pods>.*)"$`)},
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "I", Format: `SyncLoop (PLEG): %q, event: %#v`, Msg: "SyncLoop (PLEG): event for pod",
		Example: `I1124 21:55:04.100165    1234 kubelet.go:1952] SyncLoop (PLEG): "web-node1_default(0123456789abcdef0123456789abcdef)", event: &pleg.PodLifecycleEvent{ID:"0123456789abcdef0123456789abcdef", Type:"ContainerDied", Data:"4f1e2d"}`,
		lit:     "SyncLoop (PLEG): ", re: regexp.MustCompile(`^SyncLoop \(PLEG\): "(?P<pod>[^"]*)", event: (?P<event>.*)$`)},
	{From: "1.19", To: "1.20", Source: "kubelet_pods.go", Level: "I", Format: `Killing unwanted pod %q`, Msg: "Killing unwanted pod",
		Example: `I1124 21:55:04.100165    1234 kubelet_pods.go:1243] Killing unwanted pod "web-node1"`,
		Kind:    "PodRemoved", lit: "Killing unwanted pod ", re: regexp.MustCompile(`^Killing unwanted pod "(?P<podName>[^"]*)"$`)},

	// ---- mirror pods ----
	{From: "1.10", To: "1.18", Source: "kubelet.go", Level: "W", Format: `Deleting mirror pod %q because it is outdated`, Msg: "Deleted mirror pod because it is outdated",
		Example: `W1124 21:55:04.100165    1234 kubelet.go:1640] Deleting mirror pod "web-node1_default(11111111-2222-3333-4444-555555555555)" because it is outdated`,
		lit:     "Deleting mirror pod ", re: regexp.MustCompile(`^Deleting mirror pod "(?P<pod>[^"]*)" because it is outdated$`)},
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "W", Format: `Deleted mirror pod %q because it is outdated`, Msg: "Deleted mirror pod because it is outdated",
		Example: `W1124 21:55:04.100165    1234 kubelet.go:1648] Deleted mirror pod "web-node1_default(11111111-2222-3333-4444-555555555555)" because it is outdated`,
		lit:     "Deleted mirror pod ", re: regexp.MustCompile(`^Deleted mirror pod "(?P<pod>[^"]*)" because it is outdated$`)},
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "E", Format: `Failed creating a mirror pod for %q: %v`, Msg: "Failed creating a mirror pod for",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:1661] Failed creating a mirror pod for "web-node1_default(0123456789abcdef0123456789abcdef)": pods "web-node1" is forbidden: node "node1" can only create pods with spec.nodeName set to itself`,
		Kind:    "MirrorPodFailed", lit: "Failed creating a mirror pod for ", re: regexp.MustCompile(`^Failed creating a mirror pod for "(?P<pod>[^"]*)": (?P<err>.*)$`)},
	{From: "1.10", To: "1.20", Source: "kubelet.go", Level: "I", Format: `Creating a mirror pod for static pod %q`, Msg: "Creating a mirror pod for static pod",
		Example: `I1124 21:55:04.100165    1234 kubelet.go:1600] Creating a mirror pod for static pod "web-node1_default(0123456789abcdef0123456789abcdef)"`,
		lit:     "Creating a mirror pod for static pod ", re: regexp.MustCompile(`^Creating a mirror pod for static pod "(?P<pod>[^"]*)"$`)},
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "E", Format: `Failed deleting mirror pod %q: %v`, Msg: "Failed deleting mirror pod",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:1650] Failed deleting mirror pod "web-node1_default(11111111-2222-3333-4444-555555555555)": Delete "https://10.0.0.1:6443/api/v1/namespaces/default/pods/web-node1": dial tcp 10.0.0.1:6443: connect: connection refused`,
		Kind:    "MirrorPodFailed", lit: "Failed deleting mirror pod ", re: regexp.MustCompile(`^Failed deleting mirror pod "(?P<pod>[^"]*)": (?P<err>.*)$`)},

	// ---- volumes ----
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "E", Format: `Unable to attach or mount volumes for pod %q: %v; skipping pod`, Msg: "Unable to attach or mount volumes for pod; skipping pod",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:1679] Unable to attach or mount volumes for pod "web-node1_default(0123456789abcdef0123456789abcdef)": unmounted volumes=[data], unattached volumes=[data]: timed out waiting for the condition; skipping pod`,
		Kind:    "VolumeMountFailed", lit: "Unable to attach or mount volumes for pod ", re: regexp.MustCompile(`^Unable to attach or mount volumes for pod "(?P<pod>[^"]*)": (?P<err>.*); skipping pod$`)},
	{From: "1.10", To: "1.18", Source: "kubelet.go", Level: "E", Format: `Unable to mount volumes for pod %q: %v; skipping pod`, Msg: "Unable to attach or mount volumes for pod; skipping pod",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:1680] Unable to mount volumes for pod "web-node1_default(0123456789abcdef0123456789abcdef)": timeout expired waiting for volumes to attach or mount for pod "default"/"web-node1". list of unmounted volumes=[data]. list of unattached volumes=[data]; skipping pod`,
		Kind:    "VolumeMountFailed", lit: "Unable to mount volumes for pod ", re: regexp.MustCompile(`^Unable to mount volumes for pod "(?P<pod>[^"]*)": (?P<err>.*); skipping pod$`)},

	// ---- the runtime: sandboxes and images ----
	{From: "1.19", To: "1.20", Source: "kuberuntime/kuberuntime_manager.go", Level: "E", Format: `createPodSandbox for pod %q failed: %v`, Msg: "CreatePodSandbox for pod failed",
		Example: `E1124 21:55:04.100165    1234 kuberuntime_manager.go:755] createPodSandbox for pod "web-node1_default(0123456789abcdef0123456789abcdef)" failed: rpc error: code = Unknown desc = failed to setup network for sandbox: cni plugin not initialized`,
		Kind:    "NetworkNotReady", lit: "createPodSandbox for pod ", re: regexp.MustCompile(`^createPodSandbox for pod "(?P<pod>[^"]*)" failed: (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "kuberuntime/kuberuntime_sandbox.go", Level: "E", Format: `CreatePodSandbox for pod %q failed: %v`, Msg: "Failed to create sandbox for pod",
		Example: `E1124 21:55:04.100165    1234 kuberuntime_sandbox.go:70] CreatePodSandbox for pod "web-node1_default(0123456789abcdef0123456789abcdef)" failed: rpc error: code = Unknown desc = failed to get sandbox image "k8s.gcr.io/pause:3.2": failed to pull image "k8s.gcr.io/pause:3.2": failed to resolve reference "k8s.gcr.io/pause:3.2": failed to do request: Head "https://k8s.gcr.io/v2/pause/manifests/3.2": dial tcp 142.250.1.82:443: connect: connection refused`,
		Kind:    "SandboxImageUnavailable", lit: "CreatePodSandbox for pod ", re: regexp.MustCompile(`^CreatePodSandbox for pod "(?P<pod>[^"]*)" failed: (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "kuberuntime/kuberuntime_image.go", Level: "E", Format: `Pull image %q failed: %v`, Msg: "Failed to pull image",
		Example: `E1124 21:55:04.100165    1234 kuberuntime_image.go:51] Pull image "registry.example/app:1" failed: rpc error: code = NotFound desc = failed to pull and unpack image "registry.example/app:1": not found`,
		Kind:    "ImagePullFailed", lit: "Pull image ", re: regexp.MustCompile(`^Pull image "(?P<image>[^"]*)" failed: (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "E", Format: `Container runtime network not ready: %v`, Msg: "Container runtime network not ready",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:2183] Container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized`,
		Kind:    "NetworkNotReady", lit: "Container runtime network not ready: ", re: regexp.MustCompile(`^Container runtime network not ready: (?P<networkReady>.*)$`)},

	// ---- the kubelet process ----
	{From: "1.19", To: "1.20", Source: "cmd/kubelet/app/server.go", Level: "I", Format: `Version: %+v`, Msg: "Kubelet version",
		Example: `I1124 21:55:04.100165    1234 server.go:416] Version: v1.20.15`,
		lit:     "Version: ", re: regexp.MustCompile(`^Version: (?P<kubeletVersion>v\d+\.\d+\S*)$`)},
	{From: "1.19", To: "1.20", Source: "cmd/kubelet/app/server.go", Level: "F", Format: `failed to run Kubelet: %v`, Msg: "Failed to run kubelet",
		Example: `F1124 21:55:04.100165    1234 server.go:269] failed to run Kubelet: misconfiguration: kubelet cgroup driver: "cgroupfs" is different from docker cgroup driver: "systemd"`,
		Kind:    "KubeletNotRunning", lit: "failed to run Kubelet: ", re: regexp.MustCompile(`^failed to run Kubelet: (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "kubelet.go", Level: "F", Format: `Failed to start ContainerManager %v`, Msg: "Failed to start ContainerManager",
		Example: `F1124 21:55:04.100165    1234 kubelet.go:1367] Failed to start ContainerManager failed to initialize top level QOS containers: root container [kubepods] doesn't exist`,
		Kind:    "KubeletNotRunning", lit: "Failed to start ContainerManager ", re: regexp.MustCompile(`^Failed to start ContainerManager (?P<err>.*)$`)},
	{From: "1.19", To: "1.20", Source: "kubelet_node_status.go", Level: "I", Format: `Attempting to register node %s`, Msg: "Attempting to register node",
		Example: `I1124 21:55:04.100165    1234 kubelet_node_status.go:71] Attempting to register node node1`,
		lit:     "Attempting to register node ", re: regexp.MustCompile(`^Attempting to register node (?P<node>\S+)$`)},
	{From: "1.19", To: "1.20", Source: "kubelet_node_status.go", Level: "E", Format: `Unable to register node %q with API server: %v`, Msg: "Unable to register node with API server",
		Example: `E1124 21:55:04.100165    1234 kubelet_node_status.go:93] Unable to register node "node1" with API server: Post "https://10.0.0.1:6443/api/v1/nodes": dial tcp 10.0.0.1:6443: connect: connection refused`,
		lit:     "Unable to register node ", re: regexp.MustCompile(`^Unable to register node "(?P<node>[^"]*)" with API server: (?P<err>.*)$`)},

	// ---- systemd about the kubelet unit (journald and syslog lines under the systemd tag) ----
	{From: "", To: "", Source: "systemd", Level: "E", Format: `kubelet.service: Main process exited, code=%s, status=%s`, Msg: "kubelet.service: Main process exited",
		Example: `Nov 24 21:55:04 node1 systemd[1]: kubelet.service: Main process exited, code=exited, status=1/FAILURE`,
		lit:     "Main process exited", re: regexp.MustCompile(`^(?P<unit>[\w@.-]+): Main process exited, code=(?P<code>\w+), status=(?P<status>\S+)$`)},
	{From: "", To: "", Source: "systemd", Level: "W", Format: `kubelet.service: Scheduled restart job, restart counter is at %d.`, Msg: "kubelet.service: Scheduled restart job",
		Example: `Nov 24 21:55:14 node1 systemd[1]: kubelet.service: Scheduled restart job, restart counter is at 7.`,
		lit:     "restart counter is at ", re: regexp.MustCompile(`^(?P<unit>[\w@.-]+): Scheduled restart job, restart counter is at (?P<restartCounter>\d+)\.?$`)},
	{From: "", To: "", Source: "systemd", Level: "E", Format: `kubelet.service: Failed with result '%s'.`, Msg: "kubelet.service: Failed with result",
		Example: `Nov 24 21:55:04 node1 systemd[1]: kubelet.service: Failed with result 'exit-code'.`,
		lit:     ": Failed with result ", re: regexp.MustCompile(`^(?P<unit>[\w@.-]+): Failed with result '(?P<result>[^']*)'\.?$`)},
}

// Structured lists the structured (1.21+) messages diagnosis relies on, with the versions that log
// them, read from the kubelet source of each minor (1.21, 1.23, 1.27, 1.34, 1.37).
var Structured = []*Phrase{
	{From: "1.21", Source: "config/file.go", Level: "E", Msg: "Could not process manifest file", Kind: "ManifestInvalid",
		Example: `E1124 21:55:04.100165    1234 file.go:187] "Could not process manifest file" err="invalid pod: [spec.containers: Required value]" path="/etc/kubernetes/manifests/web.yaml"`},
	{From: "1.21", Source: "config/file.go", Level: "E", Msg: "Unable to read config path", Kind: "ManifestDirMissing",
		Example: `E1124 21:55:04.100165    1234 file.go:79] "Unable to read config path" err="path does not exist, ignoring" path="/etc/kubernetes/manifests"`},
	{From: "1.21", Source: "config/file_linux.go", Level: "E", Msg: "Unable to process watch event", Kind: "ManifestUnparseable",
		Example: `E1124 21:55:04.100165    1234 file_linux.go:106] "Unable to process watch event" err="can't process config file \"/etc/kubernetes/manifests/web.yaml\": /etc/kubernetes/manifests/web.yaml: couldn't parse as pod(yaml: line 4: mapping values are not allowed in this context), please check config file"`},
	{From: "1.21", Source: "prober/prober.go", Level: "I", Msg: "Probe failed", Kind: "ProbeFailed",
		Example: `I1124 21:55:04.100165    1234 prober.go:107] "Probe failed" probeType="Liveness" pod="default/web-node1" podUID="0123456789abcdef0123456789abcdef" containerName="app" probeResult="failure" output="HTTP probe failed with statuscode: 500"`},
	{From: "1.21", Source: "kuberuntime/kuberuntime_manager.go", Level: "I", Msg: "Message for Container of pod", Kind: "ProbeFailed",
		Example: `I1124 21:55:04.100165    1234 kuberuntime_manager.go:1026] "Message for Container of pod" containerName="app" containerStatusID={"Type":"containerd","ID":"4f1e2d"} pod="default/web-node1" containerMessage="Container app failed liveness probe, will be restarted"`},
	{From: "1.21", Source: "pod_workers.go", Level: "E", Msg: "Error syncing pod, skipping", Kind: "CrashLoop",
		Example: `E1124 21:55:04.100165    1234 pod_workers.go:1301] "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 5m0s restarting failed container=app pod=web-node1_default(0123456789abcdef0123456789abcdef)\"" pod="default/web-node1" podUID="0123456789abcdef0123456789abcdef"`},
	{From: "1.21", Source: "kubelet.go", Level: "E", Msg: "Failed creating a mirror pod", Kind: "MirrorPodFailed",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:1934] "Failed creating a mirror pod" err="pods \"web-node1\" is forbidden: node \"node1\" can only create pods with spec.nodeName set to itself" pod="default/web-node1"`},
	// Logged before each attempt (V4 in 1.21–1.27, V0 in 1.34 and 1.37): an attempt that no
	// "Failed creating a mirror pod" follows succeeded.
	{From: "1.21", Source: "kubelet.go", Level: "I", Msg: "Creating a mirror pod for static pod",
		Example: `I1124 21:55:04.100165    1234 kubelet.go:3220] "Creating a mirror pod for static pod" pod="kube-system/kube-apiserver-node1"`},
	{From: "1.21", Source: "kubelet.go", Level: "E", Msg: "Unable to attach or mount volumes for pod; skipping pod", Kind: "VolumeMountFailed",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:2030] "Unable to attach or mount volumes for pod; skipping pod" err="unmounted volumes=[data], unattached volumes=[], failed to process volumes=[]: context deadline exceeded" pod="default/web-node1"`},
	{From: "1.26", Source: "cri-client remote_runtime.go", Level: "E", Msg: "RunPodSandbox from runtime service failed", Kind: "SandboxImageUnavailable",
		Example: `E1124 21:55:04.100165    1234 log.go:32] "RunPodSandbox from runtime service failed" err="rpc error: code = Unknown desc = failed to get sandbox image \"registry.k8s.io/pause:3.10\": failed to pull image \"registry.k8s.io/pause:3.10\": failed to resolve reference \"registry.k8s.io/pause:3.10\": failed to do request: Head \"https://registry.k8s.io/v2/pause/manifests/3.10\": dial tcp 34.96.108.209:443: connect: connection refused"`},
	{From: "1.21", Source: "kuberuntime/kuberuntime_image.go", Level: "E", Msg: "Failed to pull image", Kind: "ImagePullFailed",
		Example: `E1124 21:55:04.100165    1234 kuberuntime_image.go:43] "Failed to pull image" err="rpc error: code = NotFound desc = failed to pull and unpack image \"registry.example/app:1\": not found" image="registry.example/app:1"`},
	{From: "1.21", Source: "kubelet.go", Level: "E", Msg: "Skipping pod synchronization", Kind: "RuntimeUnreachable",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:2359] "Skipping pod synchronization" err="[container runtime is down, PLEG is not healthy: pleg was last seen active 3m0s ago]"`},
	{From: "1.21", Source: "cmd/kubelet/app/server.go", Level: "I", Msg: "Kubelet version",
		Example: `I1124 21:55:04.100165    1234 server.go:530] "Kubelet version" kubeletVersion="v1.34.4"`},
	{From: "1.21", To: "1.23", Source: "cmd/kubelet/app/server.go", Level: "E", Msg: "Failed to run kubelet", Kind: "KubeletNotRunning",
		Example: `E1124 21:55:04.100165    1234 server.go:292] "Failed to run kubelet" err="failed to run Kubelet: running with swap on is not supported, please disable swap!"`},
	{From: "1.24", Source: "component-base/cli/run.go", Level: "E", Msg: "command failed", Kind: "KubeletNotRunning",
		Example: `E1124 21:55:04.100165    1234 run.go:72] "command failed" err="failed to validate kubelet configuration, error: kubelet is configured to not run on a host using cgroup v1. cgroup v1 support is unsupported and will be removed in a future release, path: &TypeMeta{Kind:,APIVersion:,}"`},
	{From: "1.34", Source: "kubelet.go", Level: "E", Msg: "Pod admission denied", Kind: "",
		Example: `E1124 21:55:04.100165    1234 kubelet.go:2397] "Pod admission denied" podUID="0123456789abcdef0123456789abcdef" pod="default/web-node1" reason="StaticPodReferencesAPIObjects" message="static pods may not reference secrets"`},
}

// vocab maps an unstructured sentence (a pre-1.21 kubelet, or systemd about the unit) onto its
// structured message and fields; a record no phrase matches is left as it is.
func (p *Parser) vocab(r *Record) {
	msg := r.Msg
	if len(msg) < 8 {
		return
	}
	for _, ph := range Vocabulary {
		if ph.re == nil || !strings.Contains(msg, ph.lit) {
			continue
		}
		m := ph.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		r.setField("_text", msg)
		r.Msg = ph.Msg
		for i, name := range ph.re.SubexpNames() {
			if name == "" || m[i] == "" {
				continue
			}
			switch name {
			case "pod":
				r.setPodFull(m[i])
			case "container":
				r.ContainerName = m[i]
			case "op":
				r.Msg = "SyncLoop " + m[i]
			default:
				r.setField(name, m[i])
			}
		}
		if r.Format == FormatText && ph.Level != "" {
			r.Level = ph.Level
		}
		r.Vocab = versionRange(ph)
		return
	}
}

func versionRange(ph *Phrase) string {
	switch {
	case ph.From == "" && ph.To == "":
		return ph.Source
	case ph.To == "":
		return ph.From + "+"
	}
	return ph.From + "-" + ph.To
}

// setPodFull reads the kubelet's format.Pod "name_namespace(uid)" (or a bare name).
func (r *Record) setPodFull(s string) {
	name, uid := s, ""
	if i := strings.LastIndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		name, uid = s[:i], s[i+1:len(s)-1]
	}
	if i := strings.LastIndexByte(name, '_'); i > 0 {
		r.PodName, r.PodNamespace = name[:i], name[i+1:]
	} else {
		r.PodName = name
	}
	if uid != "" && r.PodUID == "" {
		r.PodUID = uid
	}
}

// KubeletVersionOf returns the kubelet version a record announces ("v1.34.4"), or "".
func KubeletVersionOf(r *Record) string {
	if r.Msg != "Kubelet version" {
		return ""
	}
	v := r.Fields["kubeletVersion"]
	// JSON logs print version.Info as an object: {"major":"1",…,"gitVersion":"v1.34.4",…}
	if i := strings.Index(v, `"gitVersion":"`); i >= 0 {
		v = v[i+len(`"gitVersion":"`):]
		if j := strings.IndexByte(v, '"'); j >= 0 {
			v = v[:j]
		}
	}
	if strings.HasPrefix(v, "{") { // klog text of the struct: {Major:1 … GitVersion:v1.20.15 …}
		if i := strings.Index(v, "GitVersion:"); i >= 0 {
			v = strings.Fields(v[i+len("GitVersion:"):])[0]
		}
	}
	return v
}
