package diagnose

import (
	"regexp"
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
	severity  Severity
	container string
}

// recordRule classifies a kubelet record by its msg/err text. Rules are tried in order; the first
// whose match returns true wins. Order matters: a sandbox failure caused by CNI is NetworkNotReady.
type recordRule struct {
	kind     Kind
	scope    scope
	severity Severity
	match    func(r *kubeletlog.Record, text string) bool
}

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

var recordRules = []recordRule{
	{KindManifestDirMissing, scopeNode, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return strings.Contains(r.Msg, "Unable to read config path")
	}},
	{KindManifestUnparseable, scopeFile, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return manifestMsg(r) && containsAny(r.Err, "couldn't parse as pod", "could not parse as pod", "yaml:", "json:", "Object 'Kind' is missing")
	}},
	{KindManifestInvalid, scopeFile, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return manifestMsg(r) && strings.Contains(r.Err, "invalid pod")
	}},
	{KindFileUnreadable, scopeFile, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return manifestMsg(r)
	}},
	{KindNetworkNotReady, scopePod, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "cni plugin not initialized", "NetworkReady=false", "network is not ready", "Container runtime network not ready", "NetworkPluginNotReady")
	}},
	{KindRuntimeUnreachable, scopeNode, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "container runtime is down", "Container runtime not ready", "RuntimeReady=false") ||
			(containsAny(t, ".sock", "runtime service", "runtime status") && containsAny(t, "connection refused", "no such file or directory", "Unavailable", "context deadline exceeded"))
	}},
	{KindImageNotPresent, scopePod, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "ErrImageNeverPull", "with pull policy of Never")
	}},
	{KindImagePullFailed, scopePod, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "ErrImagePull", "ImagePullBackOff", "Failed to pull image", "Back-off pulling image", "PullImage from image service failed", "InvalidImageName")
	}},
	{KindVolumeMountFailed, scopePod, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "MountVolume.SetUp failed", "Unable to attach or mount volumes", "hostPath type check failed", "MountVolume.MountDevice failed")
	}},
	{KindSandboxFailed, scopePod, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "CreatePodSandbox", "RunPodSandbox", "Failed to create sandbox", "CreatePodSandboxError")
	}},
	{KindOOMKilled, scopePod, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return strings.Contains(t, "OOMKilled")
	}},
	{KindCrashLoop, scopePod, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "CrashLoopBackOff", "restarting failed container")
	}},
	{KindProbeFailed, scopePod, SeverityWarning, func(r *kubeletlog.Record, t string) bool {
		return strings.HasPrefix(r.Msg, "Probe failed") || containsAny(t, "failed liveness probe", "failed startup probe", "failed readiness probe")
	}},
	{KindContainerFailed, scopePod, SeverityError, func(r *kubeletlog.Record, t string) bool {
		return containsAny(t, "RunContainerError", "CreateContainerError", "CreateContainerConfigError", "PostStartHookError", "StartContainer from runtime service failed")
	}},
	{KindMirrorPodFailed, scopePod, SeverityInfo, func(r *kubeletlog.Record, t string) bool {
		return containsAny(r.Msg, "Failed creating a mirror pod", "Failed deleting a mirror pod", "Failed to create mirror pod", "Failed to delete mirror pod")
	}},
	{KindPodRemoved, scopePod, SeverityWarning, func(r *kubeletlog.Record, t string) bool {
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
			c := class{kind: rule.kind, scope: rule.scope, severity: rule.severity, container: r.ContainerName}
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

func isDied(r *kubeletlog.Record) bool {
	return (strings.HasPrefix(r.Msg, "SyncLoop (PLEG)") && containsAny(r.Raw, "ContainerDied")) ||
		strings.HasPrefix(r.Msg, "Generic (PLEG): container finished")
}
