// Package bundle writes and reads spdoc support bundles: one deterministic, redacted tar.gz with
// everything a ticket needs to understand a node's static pods, laid out like the node's
// filesystem so `spdoc diagnose --root <unpacked>` gives the same report on another machine.
//
// Layout (every path relative to the bundle root):
//
//	report.txt, report.md, report.json      the diagnosis in all three formats
//	etc/kubernetes/manifests/…              the manifest directory (redacted, line numbers kept)
//	etc/spdoc/pods.yaml                     the agent config, when present
//	var/lib/kubelet/config.yaml             the kubelet config, when one was read
//	var/log/kubelet.log                     the kubelet log window (--since) plus every record the
//	                                        diagnosis used, time-ordered, bounded
//	var/log/pods/<ns>_<pod>_<uid>/<c>/<n>.log   current and previous container log tails (CRI format)
//	var/log/containers/<pod>_<ns>_<c>-<id>.log  relative links to them (container ID → pod)
//	runtime.json                            CRI sandboxes, containers and runtime status (node.RuntimeState)
//	controlplane.json                       control-plane checks: certificate metadata (never keys), port
//	                                        owners, mirror pods, the kubelet's pod status (controlplane.State)
//	node.json                               node name, source paths, kubelet log stats
//	versions.json                           spdoc, Go, kubelet and runtime versions
//	errors.json                             sources that failed or were cut, and why
//	redactions.json                         what was redacted where (counts, never values)
//	manifest.json                           every other file with its size and sha256
//
// The same node state gives the same bytes: entries are sorted, headers carry fixed times and
// owners, gzip has no name or time, and the redaction key is derived from the collected data
// (so tokens are stable for the same data and cannot be brute-forced without it).
package bundle

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/redact"
)

// Defaults of Options.
const (
	DefaultSince                   = time.Hour
	DefaultKubeletLogMaxBytes      = 32 << 20
	DefaultLogTail                 = 500
	DefaultContainerLogMaxBytes    = 256 << 10
	DefaultContainerLogsTotalBytes = 64 << 20
	DefaultFileMaxBytes            = 4 << 20
	DefaultSourceTimeout           = 30 * time.Second
	DefaultTotalTimeout            = 5 * time.Minute
	DefaultAgentConfig             = "/etc/spdoc/pods.yaml"
)

// Paths inside a bundle.
const (
	ManifestDir      = "etc/kubernetes/manifests"
	AgentConfigPath  = "etc/spdoc/pods.yaml"
	KubeletConfig    = "var/lib/kubelet/config.yaml"
	KubeletLogPath   = "var/log/kubelet.log"
	KernelLogPath    = "var/log/dmesg" // the first of node.KernelLogFiles
	PodLogsDir       = "var/log/pods"
	ContainerLogsDir = "var/log/containers"
	RuntimePath      = node.RuntimeFile
	ControlPlanePath = node.ControlPlaneFile
	NodePath         = "node.json"
	StaticPodURLPath = node.StaticPodURLFile
	VersionsPath     = "versions.json"
	ErrorsPath       = "errors.json"
	RedactionsPath   = "redactions.json"
	ManifestPath     = "manifest.json"
)

// Options tune Write. The zero value is what `spdoc diagnose --bundle` uses.
type Options struct {
	// Redact configures redaction (Disabled for --no-redact, Extra for --redact-pattern). An
	// empty Key is derived from the collected data.
	Redact redact.Options
	// Since is the kubelet log window (default 1h). Records the diagnosis used are included
	// whatever their age.
	Since time.Duration
	// KubeletLogMaxBytes caps var/log/kubelet.log; the oldest lines are dropped (default 32 MiB).
	KubeletLogMaxBytes int64
	// LogTail is how many lines of each container instance log are kept (default 500).
	LogTail int
	// ContainerLogMaxBytes caps one container log file, keeping its end (default 256 KiB);
	// ContainerLogsTotalBytes caps all of them (default 64 MiB).
	ContainerLogMaxBytes    int64
	ContainerLogsTotalBytes int64
	// FileMaxBytes caps manifests and config files; a bigger file is left out and recorded in
	// errors.json (default 4 MiB).
	FileMaxBytes int64
	// SourceTimeout bounds each source (the snapshot, the kubelet log, each container log, each
	// file); a source that times out is recorded and the rest is still collected (default 30s).
	SourceTimeout time.Duration
	// TotalTimeout bounds the whole collection (default 5m): sources not read by then are
	// recorded as failed and the bundle is written with the rest.
	TotalTimeout time.Duration
	// AgentConfig is the spdoc agent config copied to etc/spdoc/pods.yaml when it exists
	// (default /etc/spdoc/pods.yaml, under the snapshot's root for a copied node).
	AgentConfig string
	// Version is spdoc's version for versions.json.
	Version string
	// Now is the bundle time (default time.Now); it replaces the snapshot's time so a fixed
	// clock gives identical bundles.
	Now func() time.Time
	// Snapshot reuses a snapshot already taken from the client (diagnose took one); nil: take one.
	Snapshot *node.Snapshot
	// Analyze builds the report (default diagnose.Analyze with zero Options).
	Analyze func(*node.Snapshot) *diagnose.Report
}

func (o Options) withDefaults() Options {
	if o.Since <= 0 {
		o.Since = DefaultSince
	}
	if o.KubeletLogMaxBytes <= 0 {
		o.KubeletLogMaxBytes = DefaultKubeletLogMaxBytes
	}
	if o.LogTail <= 0 {
		o.LogTail = DefaultLogTail
	}
	if o.ContainerLogMaxBytes <= 0 {
		o.ContainerLogMaxBytes = DefaultContainerLogMaxBytes
	}
	if o.ContainerLogsTotalBytes <= 0 {
		o.ContainerLogsTotalBytes = DefaultContainerLogsTotalBytes
	}
	if o.FileMaxBytes <= 0 {
		o.FileMaxBytes = DefaultFileMaxBytes
	}
	if o.SourceTimeout <= 0 {
		o.SourceTimeout = DefaultSourceTimeout
	}
	if o.TotalTimeout <= 0 {
		o.TotalTimeout = DefaultTotalTimeout
	}
	if o.AgentConfig == "" {
		o.AgentConfig = DefaultAgentConfig
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Analyze == nil {
		o.Analyze = func(s *node.Snapshot) *diagnose.Report { return diagnose.Analyze(s, diagnose.Options{}) }
	}
	return o
}

// SourceError is a source that failed, timed out or was cut to its cap (errors.json).
type SourceError struct {
	Source string `json:"source"`
	Error  string `json:"error"`
}

// Result describes a written bundle.
type Result struct {
	Path       string        `json:"path"`
	Files      int           `json:"files"`  // regular files in the bundle
	Bytes      int64         `json:"bytes"`  // size of the tar.gz
	SHA256     string        `json:"sha256"` // of the tar.gz
	Redactions int           `json:"redactions"`
	Errors     []SourceError `json:"errors,omitempty"`
	Report     *diagnose.Report
}

// Write collects the node through c and writes the bundle to path. It is written to a temp file
// beside path and renamed, so a failure never leaves half a bundle (and an existing file at path
// is only replaced by a complete one). Failing sources do not fail Write: they are recorded in
// errors.json. Write fails when nothing could be read (no snapshot), ctx ends, or the file
// cannot be written.
func Write(ctx context.Context, path string, c node.Client, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	if path == "" {
		return nil, errors.New("bundle path is empty")
	}
	if c == nil {
		return nil, errors.New("bundle: no node client")
	}
	srcCtx, cancel := context.WithTimeout(ctx, opts.TotalTimeout)
	defer cancel()
	col := &collector{ctx: srcCtx, c: c, opts: opts}
	if err := col.collect(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collecting the bundle: %w", err)
	}
	entries, red := col.finish()
	res := &Result{Path: path, Errors: col.errs, Report: col.report}
	for _, r := range red.Counts() {
		res.Redactions += r.Count
	}
	for _, e := range entries {
		if e.typ == typeFile {
			res.Files++
		}
	}
	n, sum, err := writeAtomic(path, entries)
	if err != nil {
		return nil, err
	}
	res.Bytes, res.SHA256 = n, sum
	return res, nil
}

// writeAtomic writes the tar.gz of entries to a temp file in path's directory and renames it.
func writeAtomic(path string, entries []entry) (int64, string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return 0, "", fmt.Errorf("creating bundle %q: %w", path, err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: f, h: h}
	if err := writeTarGz(cw, entries); err != nil {
		return 0, "", fmt.Errorf("writing bundle %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return 0, "", fmt.Errorf("writing bundle %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return 0, "", fmt.Errorf("writing bundle %q: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, "", fmt.Errorf("writing bundle %q: %w", path, err)
	}
	ok = true
	return cw.n, fmt.Sprintf("%x", h.Sum(nil)), nil
}
