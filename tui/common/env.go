package common

import (
	"context"
	"io"
	"time"

	"github.com/spdoc/spdoc/diagnose"
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
	// Editor is the editor command line ($EDITOR, split on spaces).
	Editor string
	// Dir is where saved logs and reports go (the working directory).
	Dir string
	Now func() time.Time
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
	if e.Editor == "" {
		e.Editor = "vi"
	}
	if e.Dir == "" {
		e.Dir = "."
	}
	return e
}
