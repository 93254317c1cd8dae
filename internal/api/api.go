// Package api is the wire contract of the spdoc agent: versioned paths, query parameters and the
// JSON types that the server (agent/) writes and the client (node.Remote) reads. Lists are JSON
// objects with an "items" array; watches are NDJSON streams of Event; errors are {"error": "…"}.
//
// The package must not import diagnose (diagnose → node → api): findings travel as
// diagnose.Finding objects with an added "key" field (see agent.Finding), the report as
// diagnose.Report and the snapshot as node.Snapshot.
package api

import (
	"time"

	"github.com/spdoc/spdoc/internal/podview"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// Version is the API version segment of every resource path.
const Version = "v1"

// Paths served by the agent.
const (
	PathStaticPods      = "/v1/staticpods"
	PathStaticPodStatus = "/v1/staticpodstatus"
	PathFindings        = "/v1/findings"
	PathReport          = "/v1/report"
	PathSnapshot        = "/v1/snapshot"
	PathLogs            = "/v1/logs"
	PathKubeletLog      = "/v1/kubeletlog"
	PathApply           = "/v1/apply"
	PathConfig          = "/v1/config" // admin only (may hold secrets): the file as ContentTypeYAML, its path in HeaderConfigPath
	PathHealthz         = "/healthz"
	PathVersion         = "/version"
	PathMetrics         = "/metrics" // Prometheus exposition format (any role; also on --metrics-listen)
)

// Query parameters.
const (
	ParamWatch       = "watch"     // "1": stream NDJSON events after the initial ADDED events
	ParamNamespace   = "namespace" // logs, kubeletlog
	ParamPod         = "pod"       // manifest name, kubelet pod name or static pod ID
	ParamContainer   = "container"
	ParamTail        = "tail"        // number of lines; -1 or absent: everything
	ParamFollow      = "follow"      // "1"/"true"
	ParamPrevious    = "previous"    // "1"/"true": the previous container instance
	ParamContainerID = "containerID" // one instance by its runtime ID (or a unique prefix)
	ParamSince       = "since"       // Go duration (10m)
	ParamRaw         = "raw"         // "1": unredacted data (admins only; every answer is redacted otherwise)
)

// ContentTypeNDJSON is the media type of watch and log streams.
const ContentTypeNDJSON = "application/x-ndjson"

// ContentTypeYAML is the media type of GET /v1/config.
const ContentTypeYAML = "text/yaml"

// HeaderConfigPath carries the path of the agent's config file on its node (GET /v1/config).
const HeaderConfigPath = "X-Spdoc-Config-Path"

// Roles, carried by the Organization of a client certificate.
const (
	RoleReader = "spdoc:reader"
	RoleAdmin  = "spdoc:admin"
)

// EventType of a watch event.
type EventType string

const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	// Bookmark marks the end of the initial list in a watch stream (Object is empty).
	Bookmark EventType = "BOOKMARK"
)

// Event is one line of a watch stream.
type Event[T any] struct {
	Type   EventType `json:"type"`
	Object T         `json:"object"`
}

// List is the answer of a list request.
type List[T any] struct {
	Items []T `json:"items"`
}

// StaticPod is a pod the agent renders from its config into the manifest directory.
type StaticPod struct {
	ID        string `json:"id"` // <namespace>-<name>
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Source is the config file and Line the 1-based position of the pod in it (0 when unknown).
	Source string `json:"source"`
	Line   int    `json:"line,omitempty"`
	// Manifest is the path of the file in the manifest directory.
	Manifest string `json:"manifest"`
	// Version increments every time the pod's rendered manifest or validation result changes.
	Version int64 `json:"version"`
	// Hash is the sha256 of the rendered manifest last written (or that would be written).
	Hash   string            `json:"hash,omitempty"`
	Valid  bool              `json:"valid"`
	Issues []staticpod.Issue `json:"issues,omitempty"`
	// Written is true when the manifest on disk is the current render; false when the pod is
	// invalid (the last good file stays) or the write failed (WriteError).
	Written    bool      `json:"written"`
	WriteError string    `json:"writeError,omitempty"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// ContainerStatus is one container of a static pod as the runtime reports it.
type ContainerStatus struct {
	Name         string    `json:"name"`
	ID           string    `json:"id,omitempty"`
	Image        string    `json:"image,omitempty"`
	State        string    `json:"state"` // running, exited, created, unknown
	Ready        bool      `json:"ready"` // running (the CRI does not know probe results)
	RestartCount int       `json:"restartCount"`
	ExitCode     int32     `json:"exitCode"`
	Reason       string    `json:"reason,omitempty"`
	StartedAt    time.Time `json:"startedAt,omitempty"`
	FinishedAt   time.Time `json:"finishedAt,omitempty"`
	PID          int       `json:"pid,omitempty"`
}

// StaticPodStatus is what the runtime says about one static pod of the manifest directory, ours
// or foreign (kubeadm's kube-apiserver.yaml too).
type StaticPodStatus struct {
	ID          string `json:"id"` // <namespace>-<name>
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	KubeletName string `json:"kubeletName,omitempty"` // <name>-<node>
	UID         string `json:"uid,omitempty"`
	Manifest    string `json:"manifest"`
	// Phase is the pod state the runtime shows (internal/podview, the vocabulary of diagnose's
	// report): Running (every container running or completed), CrashLoop (a container exited
	// with a failure), Pending (sandbox or containers, not running yet), NotStarted (nothing in
	// the runtime), Unknown (the runtime could not be asked).
	Phase        podview.State     `json:"phase"`
	Ready        bool              `json:"ready"`
	SandboxID    string            `json:"sandboxID,omitempty"`
	SandboxState string            `json:"sandboxState,omitempty"`
	IP           string            `json:"ip,omitempty"`
	Containers   []ContainerStatus `json:"containers,omitempty"`
	// RuntimeError is set when the runtime could not be asked: the status is unknown, not gone.
	RuntimeError string `json:"runtimeError,omitempty"`
}

// ApplyResult is the answer of POST /v1/apply and of every reconcile.
type ApplyResult struct {
	Config    string   `json:"config"`              // config file path
	Written   []string `json:"written,omitempty"`   // manifest files created or replaced
	Unchanged []string `json:"unchanged,omitempty"` // already up to date
	Removed   []string `json:"removed,omitempty"`   // prefixed files no longer in the config
	// Invalid pods were not written; their last good file (if any) stays.
	Invalid []InvalidPod `json:"invalid,omitempty"`
	Errors  []string     `json:"errors,omitempty"` // write/remove failures
	// ParseError is set when the config did not parse: nothing on disk changed.
	ParseError string `json:"parseError,omitempty"`
}

// OK reports whether the whole config was applied.
func (r *ApplyResult) OK() bool {
	return r.ParseError == "" && len(r.Invalid) == 0 && len(r.Errors) == 0
}

// InvalidPod is a pod of the config that failed validation.
type InvalidPod struct {
	ID     string            `json:"id"`
	Line   int               `json:"line,omitempty"`
	Issues []staticpod.Issue `json:"issues"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
	// Status is the HTTP status of the error's class (404 not found, 403 forbidden, 400 invalid,
	// 503 unavailable…); it matters on a stream, whose own status was 200 before it failed.
	Status int `json:"status,omitempty"`
}

// VersionInfo is the answer of /version.
type VersionInfo struct {
	Version    string `json:"version"`
	APIVersion string `json:"apiVersion"`
	GoVersion  string `json:"goVersion"`
	Node       string `json:"node,omitempty"`
}

// Health statuses.
const (
	HealthOK    = "ok"
	HealthStale = "stale" // the node has not been read for too long: a read hangs or keeps failing
)

// Health is the answer of /healthz.
type Health struct {
	Status string `json:"status"` // HealthOK or HealthStale (answered with 503)
	// Reason says why the agent is not ok.
	Reason string `json:"reason,omitempty"`
	// LastReconcile and LastRefresh say when the agent last applied its config and read the node.
	LastReconcile time.Time `json:"lastReconcile,omitempty"`
	LastRefresh   time.Time `json:"lastRefresh,omitempty"`
}
