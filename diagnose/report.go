package diagnose

import (
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/podview"
)

// ContainerReport is one container of a pod as the runtime reports it.
type ContainerReport struct {
	Name         string `json:"name"`
	ID           string `json:"id,omitempty"`
	Image        string `json:"image,omitempty"`
	State        string `json:"state"` // running, exited, created, waiting, unknown
	Ready        bool   `json:"ready"`
	RestartCount int    `json:"restartCount"`
	ExitCode     *int32 `json:"exitCode,omitempty"`
	Reason       string `json:"reason,omitempty"`
	// Waiting is the kubelet's waiting reason (CrashLoopBackOff, ImagePullBackOff), when it answered.
	Waiting    string    `json:"waiting,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// PodReport is one static pod: its manifest, what the kubelet and runtime did with it, findings.
type PodReport struct {
	ID          string            `json:"id"` // <ns>-<name>
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	KubeletName string            `json:"kubeletName,omitempty"` // <name>-<node>
	UID         string            `json:"uid,omitempty"`
	Manifest    string            `json:"manifest"`
	State       podview.State     `json:"state"` // Running, CrashLoop, Pending, NotStarted, Invalid, Gone, Unknown
	Restarts    int               `json:"restarts"`
	Containers  []ContainerReport `json:"containers,omitempty"`
	Findings    []Finding         `json:"findings"`
	// StatusSource says where State and Ready come from: "kubelet /pods (…)", "cri",
	// "kubelet-log" or "pod-logs".
	StatusSource string `json:"statusSource,omitempty"`
	// Ready is the kubelet's probe-driven readiness, when the kubelet answered.
	Ready *bool `json:"ready,omitempty"`
	// Kubelet is the pod's status as the kubelet reports it (/pods); Mirror its mirror pod in
	// the API server (control-plane checks, live nodes).
	Kubelet *controlplane.KubeletPod `json:"kubelet,omitempty"`
	Mirror  *controlplane.MirrorPod  `json:"mirror,omitempty"`
}

// FileReport is one manifest dir entry with file-level findings (parse errors, backups, dirs).
type FileReport struct {
	Path     string    `json:"path"`
	Pods     []string  `json:"pods,omitempty"` // IDs defined by the file
	Findings []Finding `json:"findings"`
}

// NodeReport holds node-level findings: runtime, kubelet, manifest dir.
type NodeReport struct {
	Name        string `json:"name"`
	ManifestDir string `json:"manifestDir"`
	Runtime     string `json:"runtime,omitempty"` // "containerd 1.6.20", "unreachable", "not consulted"
	KubeletLog  string `json:"kubeletLog,omitempty"`
	// KubeletAPI says whether the kubelet's /pods gave the pods' status, or why not (live
	// control-plane nodes): "kubelet /pods via read-only port", "refused (403 …): status from CRI".
	KubeletAPI string `json:"kubeletAPI,omitempty"`
	// Log says how the kubelet log was read (shape, year source, kubelet version, talosctl nodes).
	Log      *LogReport `json:"log,omitempty"`
	Findings []Finding  `json:"findings"`
}

// Summary counts what the report found.
type Summary struct {
	Pods     int `json:"pods"`
	Healthy  int `json:"healthy"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Report is the whole diagnosis of a node.
type Report struct {
	Taken   time.Time    `json:"taken"`
	Node    NodeReport   `json:"node"`
	Pods    []PodReport  `json:"pods"`
	Files   []FileReport `json:"files"`
	Summary Summary      `json:"summary"`
}

// Problems reports whether any current (non-history) error or warning finding exists; it decides
// the exit code (0 healthy, 1 problems).
func (r *Report) Problems() bool {
	check := func(fs []Finding) bool {
		for _, f := range fs {
			if !f.History && (f.Severity == SeverityError || f.Severity == SeverityWarning) {
				return true
			}
		}
		return false
	}
	if check(r.Node.Findings) {
		return true
	}
	for _, p := range r.Pods {
		if check(p.Findings) {
			return true
		}
	}
	for _, f := range r.Files {
		if check(f.Findings) {
			return true
		}
	}
	return false
}

// LastWords is what the failed instance of container (any container for "") last wrote to
// stderr, as the report's current findings show it (a crash loop's evidence, or the finding that
// explains it): the pod-log source it came from and its lines, oldest first. Empty when no
// current finding shows a failed instance's stderr.
func (p PodReport) LastWords(container string) (source string, lines []Evidence) {
	seen := map[string]bool{}
	for _, f := range p.Findings {
		if f.History || container != "" && f.Container != "" && f.Container != container {
			continue
		}
		for _, e := range f.Evidence {
			if !strings.HasPrefix(e.Source, "pod-log:") || !strings.HasPrefix(e.Line, "stderr: ") || seen[e.Line] {
				continue
			}
			if source == "" {
				source = e.Source
			}
			if e.Source == source {
				seen[e.Line] = true
				lines = append(lines, e)
			}
		}
	}
	return source, lines
}
