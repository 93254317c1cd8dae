package diagnose

import (
	"regexp"
	"sort"
	"strings"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// scope says where a classified record belongs.
type scope int

const (
	scopePod  scope = iota // pinned on the static pod the record names
	scopeFile              // a manifest file
	scopeNode              // node-level: runtime, network, kubelet, manifest dir
)

// class is the classification of one kubelet record.
type class struct {
	kind      Kind
	scope     scope
	container string
}

// recordRule classifies a kubelet record by its msg/err text. Rules are tried in priority order
// (lower first); the first whose match returns true wins. Order matters: a sandbox failure caused
// by CNI is NetworkNotReady, so the network row comes before the sandbox row. The finding gets its
// kind's default severity (the catalogue).
type recordRule struct {
	priority int
	kind     Kind
	scope    scope
	match    func(r *kubeletlog.Record, text string) bool
}

// recordRules is the table classify walks, in priority order.
var recordRules []recordRule

// registerRecordRules adds rows to the record table; call it from an init function beside the
// rows. Give a row a priority below any broader row that would match its text too (the core rows
// step by 100).
func registerRecordRules(rules ...recordRule) {
	recordRules = append(recordRules, rules...)
	sort.SliceStable(recordRules, func(i, j int) bool { return recordRules[i].priority < recordRules[j].priority })
}

func init() { registerRecordRules(coreRecordRules...) }

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// noiseMsgs are node-level housekeeping messages: never pinned on a pod, never a finding.
var noiseMsgs = []string{
	"eviction manager", "Eviction manager", "Failed to get system container stats",
	"cgroup", "cAdvisor", "cadvisor", "failed to get summary stats", "Housekeeping took longer",
	"Failed to update stats for container", "Unable to fetch pod log stats", "Unable to fetch container log stats",
	"failed to get fsstats", "Failed to get RootFsInfo", "ImageFsInfo", "image filesystem",
	"container factory", "Failed to start ContainerManager", "Failed to ensure state", "fs: disk usage",
}

func isNoise(r *kubeletlog.Record) bool {
	return containsAny(r.Msg, noiseMsgs...) && !containsAny(r.Msg+r.Err, "Could not process manifest file", "CreatePodSandbox", "RunPodSandbox")
}

// manifestMsg is true for the file source's per-manifest error records.
func manifestMsg(r *kubeletlog.Record) bool {
	return r.Msg == "Could not process manifest file" || r.Msg == "Unable to process watch event" ||
		strings.HasPrefix(r.Msg, "Can't process config file") || strings.Contains(r.Msg, "Could not process manifest file")
}

// reDecoderErr is a YAML or JSON decoder's own error ("yaml: line 4: …", "json: cannot unmarshal…"),
// not a manifest path that ends in .yaml or .json ("open /m/etcd.yaml: permission denied").
var reDecoderErr = regexp.MustCompile(`(^|[^.\w])(yaml|json): `)

// coreRecordRules are the kubelet wordings spdoc has always classified.
var coreRecordRules = []recordRule{
	{100, KindManifestDirMissing, scopeNode, func(r *kubeletlog.Record, t string) bool {
		return strings.Contains(r.Msg, "Unable to read config path")
	}},
	{200, KindManifestUnparseable, scopeFile, func(r *kubeletlog.Record, t string) bool {
		return manifestMsg(r) && (containsAny(r.Err, "couldn't parse as pod", "could not parse as pod", "Object 'Kind' is missing") || reDecoderErr.MatchString(r.Err))
	}},
	{300, KindManifestInvalid, scopeFile, func(r *kubeletlog.Record, t string) bool {
		return manifestMsg(r) && strings.Contains(r.Err, "invalid pod")
	}},
	{400, KindFileUnreadable, scopeFile, func(r *kubeletlog.Record, t string) bool {
		return manifestMsg(r)
	}},
	{500, KindNetworkNotReady, scopePod, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "cni plugin not initialized", "NetworkReady=false", "network is not ready", "Container runtime network not ready", "NetworkPluginNotReady")
	}},
	{600, KindRuntimeUnreachable, scopeNode, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "container runtime is down", "Container runtime not ready", "RuntimeReady=false") ||
			(containsAny(t, ".sock", "runtime service", "runtime status") && containsAny(t, "connection refused", "no such file or directory", "Unavailable", "context deadline exceeded"))
	}},
	{700, KindImageNotPresent, scopePod, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "ErrImageNeverPull", "with pull policy of Never")
	}},
	{800, KindImagePullFailed, scopePod, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "ErrImagePull", "ImagePullBackOff", "Failed to pull image", "Back-off pulling image", "PullImage from image service failed", "InvalidImageName")
	}},
	{900, KindVolumeMountFailed, scopePod, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "MountVolume.SetUp failed", "Unable to attach or mount volumes", "hostPath type check failed", "MountVolume.MountDevice failed")
	}},
	{1000, KindSandboxFailed, scopePod, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "CreatePodSandbox", "RunPodSandbox", "Failed to create sandbox", "CreatePodSandboxError")
	}},
	{1100, KindOOMKilled, scopePod, func(r *kubeletlog.Record, t string) bool {
		return strings.Contains(t, "OOMKilled")
	}},
	{1200, KindCrashLoop, scopePod, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "CrashLoopBackOff", "restarting failed container")
	}},
	{1300, KindProbeFailed, scopePod, func(r *kubeletlog.Record, t string) bool {
		return strings.HasPrefix(r.Msg, "Probe failed") || containsAny(t, "failed liveness probe", "failed startup probe", "failed readiness probe")
	}},
	{1400, KindContainerFailed, scopePod, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "RunContainerError", "CreateContainerError", "CreateContainerConfigError", "PostStartHookError", "StartContainer from runtime service failed")
	}},
	{1500, KindMirrorPodFailed, scopePod, func(r *kubeletlog.Record, t string) bool {
		return containsAny(r.Msg, "Failed creating a mirror pod", "Failed deleting a mirror pod", "Failed to create mirror pod", "Failed to delete mirror pod")
	}},
	{1600, KindPodRemoved, scopePod, func(r *kubeletlog.Record, t string) bool {
		return strings.HasPrefix(r.Msg, "SyncLoop REMOVE") || strings.HasPrefix(r.Msg, "Killing unwanted pod")
	}},
}

// reContainerInErr find a container name in error text; each runs only when its literal (the
// first field) is in the text, which keeps classify cheap.
var reContainerInErr = []struct {
	lit string
	re  *regexp.Regexp
}{
	{`" with `, regexp.MustCompile(`for \\*"([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\*" with`)},
	{`container=`, regexp.MustCompile(`container=([a-z0-9]([-a-z0-9]*[a-z0-9])?)`)},
	{` probe`, regexp.MustCompile(`[Cc]ontainer \\*"?([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\*"? failed (liveness|startup|readiness) probe`)},
}

// classify returns the class of a record, or ok=false when the record is no finding.
func classify(r *kubeletlog.Record) (class, bool) {
	if isNoise(r) {
		return class{}, false
	}
	text := r.Msg + " " + r.Err
	for _, rule := range recordRules {
		if rule.match(r, text) {
			c := class{kind: rule.kind, scope: rule.scope, container: r.ContainerName}
			if c.container == "" {
				for _, x := range reContainerInErr {
					if !strings.Contains(text, x.lit) {
						continue
					}
					if m := x.re.FindStringSubmatch(text); m != nil {
						c.container = m[1]
						break
					}
				}
			}
			return c, true
		}
	}
	return class{}, false
}

// lifecycle events the state inference uses when the runtime was not consulted.
func isStarted(r *kubeletlog.Record) bool {
	return (strings.HasPrefix(r.Msg, "SyncLoop (PLEG)") && containsAny(r.Raw, "ContainerStarted")) ||
		strings.HasPrefix(r.Msg, "Started container")
}

// mirrorSynced: a record showing the kubelet got through to the API server about a static pod's
// mirror pod. The kubelet (tryReconcileMirrorPods in pkg/kubelet/kubelet.go, syncPod before 1.28)
// logs "Creating a mirror pod for static pod" before each attempt — at V0 in 1.34 and 1.37, V4 in 1.19–1.27 —
// and "Failed creating a mirror pod" right after one that fails: an attempt with no failure after
// it succeeded. "SyncLoop ADD"/"SyncLoop UPDATE" from source "api" (V2, every version) is the API
// server handing the kubelet the mirror pod itself.
func mirrorSynced(r *kubeletlog.Record) bool {
	if strings.HasPrefix(r.Msg, "Creating a mirror pod") {
		return true
	}
	if r.Msg != "SyncLoop ADD" && r.Msg != "SyncLoop UPDATE" {
		return false
	}
	return r.Fields["source"] == "api" || strings.Contains(r.Raw, `source="api"`) || strings.Contains(r.Raw, `"source":"api"`) || strings.Contains(r.Raw, `, "api"):`)
}

func isDied(r *kubeletlog.Record) bool {
	return (strings.HasPrefix(r.Msg, "SyncLoop (PLEG)") && containsAny(r.Raw, "ContainerDied")) ||
		strings.HasPrefix(r.Msg, "Generic (PLEG): container finished")
}
