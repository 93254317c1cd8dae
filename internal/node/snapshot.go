// Package node gathers what is on a node right now — manifest dir, kubelet log, runtime, pod
// logs — into one Snapshot, behind a Client that is either Local (reads this machine or a copied
// node filesystem) or Remote (asks an spdoc agent). Every face goes through a Client.
package node

import (
	"context"
	"time"

	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/podurl"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// Paths are the node locations a snapshot was read from.
type Paths struct {
	Root             string `json:"root,omitempty"` // copied node filesystem (--root); empty on a live node
	ManifestDir      string `json:"manifestDir"`
	PodLogsDir       string `json:"podLogsDir"`
	ContainerLogsDir string `json:"containerLogsDir"`
	KubeletLog       string `json:"kubeletLog"` // file path, "-" (stdin) or "journal"
	KubeletConfig    string `json:"kubeletConfig,omitempty"`
	RuntimeEndpoint  string `json:"runtimeEndpoint,omitempty"`
}

// NodeInfo identifies the node.
type NodeInfo struct {
	Name       string `json:"name"`
	NameSource string `json:"nameSource"` // flag, kubelet-log, pod-log-dirs, hostname
	Hostname   string `json:"hostname,omitempty"`
}

// RuntimeState is what the CRI runtime said (nil when the runtime was not consulted, e.g. --root).
type RuntimeState struct {
	Endpoint   string             `json:"endpoint"`
	Reachable  bool               `json:"reachable"`
	Error      string             `json:"error,omitempty"`
	Status     *cri.RuntimeStatus `json:"status,omitempty"`
	Sandboxes  []cri.Sandbox      `json:"sandboxes,omitempty"`
	Containers []cri.Container    `json:"containers,omitempty"`
}

// KubeletLogState is the relevant part of the kubelet log: only records the correlation needs are
// kept (bounded), the rest is counted in Stats.
type KubeletLogState struct {
	Source  string              `json:"source"`
	Error   string              `json:"error,omitempty"`
	Stats   kubeletlog.Stats    `json:"stats"`
	Records []kubeletlog.Record `json:"records,omitempty"`
	// Truncated is set when more relevant records existed than the cap allowed (oldest dropped).
	Truncated bool `json:"truncated,omitempty"`
}

// KubeletState is whether a kubelet process runs on the node (live mode only).
type KubeletState struct {
	Checked bool   `json:"checked"`
	Running bool   `json:"running"`
	PID     int    `json:"pid,omitempty"`
	Version string `json:"version,omitempty"`
	// StaticPodPath is the staticPodPath of the kubelet config, when it was read.
	StaticPodPath string `json:"staticPodPath,omitempty"`
}

// ContainerLogTail is the end of one container's current and previous instance logs.
type ContainerLogTail struct {
	Pod       string        `json:"pod"` // <ns>/<kubelet pod name>
	UID       string        `json:"uid"`
	Container string        `json:"container"`
	Instance  int           `json:"instance"` // restart count of Current
	Current   []podlog.Line `json:"current,omitempty"`
	Previous  []podlog.Line `json:"previous,omitempty"` // instance-1, when present
	// CurrentFrom and PreviousFrom name the files when they are not <podLogsDir>/<pod>/<c>/<n>.log
	// (a talosctl bundle's kubernetes-logs/<ns>/<c>[-exited].log).
	CurrentFrom  string `json:"currentFrom,omitempty"`
	PreviousFrom string `json:"previousFrom,omitempty"`
}

// SourceError records a source that could not be read; the snapshot still holds the rest.
type SourceError struct {
	Source string `json:"source"` // manifests, kubelet-log, runtime, pod-logs, kubelet-config…
	Error  string `json:"error"`
}

// Snapshot is what is on a node right now plus the recent history that explains it.
type Snapshot struct {
	Taken     time.Time          `json:"taken"`
	Node      NodeInfo           `json:"node"`
	Paths     Paths              `json:"paths"`
	Manifests *staticpod.DirScan `json:"manifests"`
	// StaticPodURL is the kubelet's HTTP static pod source (staticPodURL) fetched as the kubelet
	// does, nil when none is configured. Its pods are static pods like the manifests' ones.
	StaticPodURL *podurl.State    `json:"staticPodURL,omitempty"`
	Runtime      *RuntimeState    `json:"runtime,omitempty"`
	KubeletLog   *KubeletLogState `json:"kubeletLog,omitempty"`
	Kubelet      *KubeletState    `json:"kubelet,omitempty"`
	PodLogs      []podlog.PodDir  `json:"podLogs,omitempty"`
	// ContainerIDs maps container IDs to "<ns>/<pod>/<container>" from /var/log/containers symlinks.
	ContainerIDs map[string]string  `json:"containerIDs,omitempty"`
	LogTails     []ContainerLogTail `json:"logTails,omitempty"`
	Errors       []SourceError      `json:"errors,omitempty"`
	// ControlPlane is what the control-plane components among the static pods need: the files
	// their flags name, their ports, mirror pods and the kubelet's view (nil: none runs here).
	ControlPlane *controlplane.State `json:"controlPlane,omitempty"`
	// Kernel is what the kernel's log says it did to the node's processes (kernel.go; nil: no
	// kernel log was read).
	Kernel *KernelLogState `json:"kernel,omitempty"`
}

// LogRequest asks for a container's log.
type LogRequest struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`       // manifest name, kubelet pod name or static pod ID
	Container string `json:"container"` // empty: the first container
	Previous  bool   `json:"previous"`
	// ContainerID picks one instance of the container by its runtime ID (or a unique prefix of
	// it, as `spdoc containers` prints it): ns/pod:container:id. Not with Previous.
	ContainerID string        `json:"containerID,omitempty"`
	Tail        int           `json:"tail"` // <0: everything
	Follow      bool          `json:"follow"`
	Since       time.Duration `json:"since"`
}

// KubeletLogRequest asks for kubelet log records, optionally only those about one pod.
type KubeletLogRequest struct {
	Namespace string        `json:"namespace,omitempty"`
	Pod       string        `json:"pod,omitempty"`
	Tail      int           `json:"tail"`
	Follow    bool          `json:"follow"`
	Since     time.Duration `json:"since"`
}

// Client is the seam every face uses: Local reads this node (or a copied one), Remote asks an agent.
type Client interface {
	// Snapshot reads the node now. It degrades instead of failing: unreadable sources are
	// recorded in Snapshot.Errors; an error return means nothing at all could be read.
	Snapshot(ctx context.Context) (*Snapshot, error)
	// ContainerLog calls fn for each log line until the end (or ctx is done, with Follow).
	ContainerLog(ctx context.Context, req LogRequest, fn func(podlog.Line) error) error
	// KubeletLog calls fn for each kubelet log record matching req.
	KubeletLog(ctx context.Context, req KubeletLogRequest, fn func(kubeletlog.Record) error) error
	// Describe says where the data comes from ("local node", "root /x", "agent unix:///run/…").
	Describe() string
	Close() error
}
