package common

import (
	"context"
	"io"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// ManifestStore reads and writes manifest files for the edit flow: the local manifest dir
// (atomic writer) or an agent's apply. Nil in an Env means the source is read-only (--root).
type ManifestStore interface {
	Read(ctx context.Context, path string) ([]byte, error)
	// Write replaces the manifest at path with data atomically (the kubelet must never see a
	// half-written file).
	Write(ctx context.Context, path string, data []byte) error
}

// AgentConfig is a remote agent's config for the edit flow (node.Remote implements it). The
// agent renders the pods it owns from one config file and its apply replaces that file whole,
// so editing one of its pods means editing the config and applying it; manifests of other
// writers (kubeadm) are not the agent's to change.
type AgentConfig interface {
	// StaticPods lists the pods rendered from the config; their manifest paths say which files
	// of the manifest dir the agent owns.
	StaticPods(ctx context.Context) ([]api.StaticPod, error)
	// Config returns the config file and its path on the agent's node (admin only).
	Config(ctx context.Context) ([]byte, string, error)
	// Apply replaces the config (admin only). A refused config comes back with the reasons in
	// the result and an error.
	Apply(ctx context.Context, config []byte) (*api.ApplyResult, error)
}

// Env is everything outside the TUI that it calls. cmd/spdoc wires the real functions; tests
// plug in fakes.
type Env struct {
	Client  node.Client
	Analyze func(*node.Snapshot) *diagnose.Report
	// Render renders a report as "text" or "markdown".
	Render func(w io.Writer, r *diagnose.Report, format string) error
	// Decode decodes and validates a manifest the way the kubelet would.
	Decode    func(path string, data []byte) *staticpod.File
	Manifests ManifestStore
	// Agent, when set, is the agent the TUI reads: e edits its config (for the pods it owns)
	// instead of a manifest.
	Agent AgentConfig
	// LoadConfig parses and validates an agent config (staticpod.LoadConfig by default).
	LoadConfig func(path string, data []byte) (*staticpod.Config, error)
	// Editor is the editor command line ($EDITOR, split on spaces).
	Editor string
	// Dir is where saved logs and reports go unless the user types another path
	// (DefaultSaveDir: $XDG_STATE_HOME/spdoc…, never the working directory).
	Dir string
	// ManifestDir is the kubelet's manifest directory of the node shown (set from each
	// snapshot); nothing is ever saved there.
	ManifestDir string
	Now         func() time.Time
	// Refresh is the snapshot interval. After a failed snapshot the next try waits RetryBase,
	// doubling per failure up to MaxBackoff.
	Refresh    time.Duration
	RetryBase  time.Duration
	MaxBackoff time.Duration
	// LogTail is how many lines a log pane starts with; BufferLines bounds every pane.
	LogTail     int
	BufferLines int
	// BatchInterval is how often streamed log lines are delivered to the event loop.
	BatchInterval time.Duration
	// SnapshotTimeout bounds one snapshot.
	SnapshotTimeout time.Duration
}

// WithDefaults fills unset fields.
func (e Env) WithDefaults() Env {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Refresh <= 0 {
		e.Refresh = 2 * time.Second
	}
	if e.RetryBase <= 0 {
		e.RetryBase = time.Second
	}
	if e.MaxBackoff <= 0 {
		e.MaxBackoff = 30 * time.Second
	}
	if e.LogTail == 0 {
		e.LogTail = 500
	}
	if e.BufferLines <= 0 {
		e.BufferLines = 10000
	}
	if e.BatchInterval <= 0 {
		e.BatchInterval = 50 * time.Millisecond
	}
	if e.SnapshotTimeout <= 0 {
		e.SnapshotTimeout = 15 * time.Second
	}
	if e.LoadConfig == nil {
		e.LoadConfig = staticpod.LoadConfig
	}
	if e.Editor == "" {
		e.Editor = "vi"
	}
	if e.Dir == "" {
		e.Dir = DefaultSaveDir()
	}
	return e
}
