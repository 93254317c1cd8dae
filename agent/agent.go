package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/kernlog"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/manifestdir"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/redact"
)

// Defaults.
const (
	DefaultConfig          = "/etc/spdoc/pods.yaml"
	DefaultManifestDir     = "/etc/kubernetes/manifests"
	DefaultServeDir        = "/var/lib/spdoc/served"
	DefaultPrefix          = "spdoc-"
	DefaultListen          = "unix:///run/spdoc/agent.sock"
	DefaultRefreshInterval = 2 * time.Second
	DefaultDebounce        = 5 * time.Millisecond
	DefaultFullRefresh     = time.Minute
	DefaultMinRefreshGap   = time.Second
	DefaultKubeletLogRetry = 5 * time.Second
)

// Backoff of the retries of failed manifest writes and removals.
const (
	minRetry = time.Second
	maxRetry = 30 * time.Second
)

// Finding is a diagnose.Finding with a stable key, the object of /v1/findings.
type Finding struct {
	Key string `json:"key"`
	diagnose.Finding
}

// Options configure an Agent.
type Options struct {
	ConfigPath  string
	ManifestDir string
	Prefix      string
	NoValidate  bool
	Codec       Codec
	// Node reads the live node (snapshots for statuses and findings, container and kubelet logs).
	// Nil: the agent only reconciles and serves its static pod resources.
	Node node.Client
	// Analyze turns a snapshot into a report (diagnose.Analyze). Nil: no report findings.
	Analyze func(*node.Snapshot) *diagnose.Report
	// RefreshInterval is how often Probe is polled (or, without a Probe, the node re-read).
	RefreshInterval time.Duration
	// Probe is a cheap fingerprint of the node; a full snapshot is taken only when it changes,
	// when a Trigger fires or at least every FullRefresh.
	Probe       Probe
	FullRefresh time.Duration
	// StaleAfter is how long without a finished node read makes /healthz answer 503 "stale"
	// (default 2×FullRefresh plus the 30 s a read may take).
	StaleAfter time.Duration
	// MinRefreshGap spaces full reads caused by triggers (default 1s): a burst of runtime
	// events, kubelet records or manifest writes costs one read, not one per event, and leaves
	// the CPU to the reconciler.
	MinRefreshGap time.Duration
	// Triggers run in the background and ask for a refresh when the node changed (CRI events).
	Triggers []Trigger
	// KubeletLog, when set, follows the kubelet log and keeps the snapshots' kubelet log part
	// current in memory (node.Local): a new relevant record re-analyzes the last snapshot with
	// the live records (at most once per MinRefreshGap) instead of reading the node and its log
	// again; node reads take the log from memory too. A follow that fails (a copytruncate gap,
	// a missing file) is started again after KubeletLogRetry, reading the log once more.
	KubeletLog      LiveKubeletLog
	KubeletLogRetry time.Duration
	// KernelLog, when set, follows the kernel's log (/dev/kmsg or a file; node.Local) and keeps
	// the snapshots' kernel log part current in memory: a new kernel event (an OOM kill that
	// explains a crash loop) re-analyzes the last snapshot like a kubelet record does. A follow
	// that cannot read its source is started again after KubeletLogRetry; meanwhile the node
	// reads say why (a SourceError finding), the agent runs on.
	KernelLog LiveKernelLog
	// Debounce collapses bursts of config file events (editors write several times).
	Debounce time.Duration
	// HandleSIGHUP makes Run reconcile on SIGHUP.
	HandleSIGHUP bool
	// Limits of the API server (0: the Default… values; see limits.go). The connection cap is
	// ListenOptions.MaxConnections.
	MaxStreamsPerIdentity int
	IdleTimeout           time.Duration
	ReadHeaderTimeout     time.Duration
	// Served, when set, publishes the reconciled pods (ManifestDir is then the agent's store) as
	// one PodList for the kubelet's staticPodURL after every reconcile.
	Served *PodListServer
	// Redact configures the redactor of every API answer (extra patterns); see agent/redact.go.
	Redact  redact.Options
	Version string
	Logger  *slog.Logger
	// Kube, when set, carries every new report into Kubernetes (node condition, events).
	Kube *KubeReporter
	// ObserveOnly runs the agent without a config: it never writes the manifest dir (mounted
	// read-only in the fleet DaemonSet) and refuses apply; it watches, diagnoses and reports.
	ObserveOnly bool
}

// LiveKubeletLog keeps the kubelet log part of the snapshots current as records arrive
// (node.Local implements it; see internal/node/livelog.go).
type LiveKubeletLog interface {
	// FollowKubeletLog reads the log once and follows it until ctx ends or the follow fails;
	// onRecord sees every new relevant record once the first read is done.
	FollowKubeletLog(ctx context.Context, onRecord func(*kubeletlog.Record)) error
	// Relog is s with the live kubelet log as of now; false when no follow has caught up.
	Relog(s *node.Snapshot) (*node.Snapshot, bool)
}

// LiveKernelLog keeps the kernel log part of the snapshots current as the kernel logs (node.Local
// implements it; see internal/node/livekernel.go).
type LiveKernelLog interface {
	// FollowKernelLog reads the kernel log once and follows it until ctx ends or it cannot be
	// read; onEvent sees every new event once the first read is done.
	FollowKernelLog(ctx context.Context, onEvent func(kernlog.Event)) error
}

// ErrObserveOnly is returned by Apply on an agent started with --observe-only.
var ErrObserveOnly = errors.New("this agent runs with --observe-only: it manages no static pods and writes no manifests")

// Agent reconciles the config into the manifest dir and keeps the live state of the node.
type Agent struct {
	opts  Options
	log   *slog.Logger
	rec   *Reconciler
	pods  *watchSet[api.StaticPod]
	stats *watchSet[api.StaticPodStatus]
	finds *watchSet[Finding]

	refreshCh   chan struct{}
	reconcileCh chan struct{}
	analyzeCh   chan struct{} // new kubelet records: analyze the last snapshot again

	mu          sync.RWMutex
	snap        *node.Snapshot
	report      *diagnose.Report
	lastRefresh time.Time
	// lastAnalysis is when the report was last built (a node read or a re-analysis).
	lastAnalysis time.Time
	started      time.Time // New
	reading      time.Time // start of the node read under way, zero when none
	nodeName     string

	lastProbe string      // only touched by the refresh goroutine
	inflight  atomic.Bool // a node read is under way (possibly abandoned, see snapshotWithin)

	metrics *metrics
}

// New checks the options and builds an Agent; Run starts it.
func New(opts Options) (*Agent, error) {
	if opts.ConfigPath == "" {
		opts.ConfigPath = DefaultConfig
	}
	if opts.ManifestDir == "" {
		opts.ManifestDir = DefaultManifestDir
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.MinRefreshGap <= 0 {
		opts.MinRefreshGap = DefaultMinRefreshGap
	}
	if opts.FullRefresh <= 0 {
		opts.FullRefresh = DefaultFullRefresh
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.KubeletLogRetry <= 0 {
		opts.KubeletLogRetry = DefaultKubeletLogRetry
	}
	opts.setLimitDefaults()
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = 2*opts.FullRefresh + refreshTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rec, err := NewReconciler(ReconcilerOptions{
		ConfigPath: opts.ConfigPath, ManifestDir: opts.ManifestDir, Prefix: opts.Prefix,
		NoValidate: opts.NoValidate, Codec: opts.Codec, Logger: opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	a := &Agent{
		opts: opts, log: opts.Logger, rec: rec,
		pods:        newWatchSet(func(p api.StaticPod) string { return p.ID }),
		stats:       newWatchSet(func(s api.StaticPodStatus) string { return s.ID }),
		finds:       newWatchSet(func(f Finding) string { return f.Key }),
		refreshCh:   make(chan struct{}, 1),
		reconcileCh: make(chan struct{}, 1),
		analyzeCh:   make(chan struct{}, 1),
		started:     time.Now(),
	}
	a.metrics = newMetrics(a)
	if opts.Kube != nil {
		opts.Kube.mu.Lock()
		opts.Kube.onChange = a.publishFindings
		opts.Kube.mu.Unlock()
	}
	return a, nil
}

// Run reconciles once, then watches the config file (fsnotify on its directory, so editors that
// replace the file by rename are seen), the manifest dir and SIGHUP until ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	if a.opts.ObserveOnly {
		a.log.Info("observe-only: no config, the manifest directory is never written")
	} else if n, err := manifestdir.CleanTemp(a.opts.ManifestDir); err != nil {
		a.log.Warn("cleaning temp files of the manifest dir", "err", err)
	} else if n > 0 {
		a.log.Info("removed temp files left by an interrupted write", "count", n, "dir", a.opts.ManifestDir)
	}
	cfgDir, cfgBase := filepath.Split(a.opts.ConfigPath)
	if n, err := manifestdir.CleanTempOf(filepath.Clean(cfgDir), cfgBase); err != nil {
		a.log.Warn("cleaning temp files of the config dir", "err", err)
	} else if n > 0 {
		a.log.Info("removed temp files left by an interrupted apply", "count", n, "config", a.opts.ConfigPath)
	}
	// Watch before the first reconcile, so a change made meanwhile is not missed.
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("starting file watcher: %w", err)
	}
	defer w.Close()
	cfgDir = filepath.Dir(a.opts.ConfigPath)
	if a.opts.ObserveOnly {
		// nothing to follow
	} else if err := w.Add(cfgDir); err != nil {
		a.log.Warn("cannot watch the config directory; changes apply on SIGHUP only", "dir", cfgDir, "err", err)
	}
	if err := w.Add(a.opts.ManifestDir); err != nil {
		a.log.Warn("cannot watch the manifest directory; status follows by polling", "dir", a.opts.ManifestDir, "err", err)
	}
	var hup chan os.Signal
	if a.opts.HandleSIGHUP {
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	a.reconcile()

	for _, tr := range a.opts.Triggers {
		go tr(ctx, a.triggerRefresh)
	}
	if a.opts.KubeletLog != nil && a.opts.Node != nil {
		followDone := make(chan struct{})
		go func() {
			defer close(followDone)
			a.followKubeletLog(ctx)
		}()
		defer func() { <-followDone }()
	}
	if a.opts.KernelLog != nil && a.opts.Node != nil {
		kernelDone := make(chan struct{})
		go func() {
			defer close(kernelDone)
			a.followKernelLog(ctx)
		}()
		defer func() { <-kernelDone }()
	}
	if a.opts.Kube != nil {
		kubeDone := make(chan struct{})
		go func() {
			defer close(kubeDone)
			a.opts.Kube.Run(ctx)
		}()
		defer func() { <-kubeDone }()
	}
	// Reading the node can take a while (CRI, kubelet log, analysis): it runs on its own
	// goroutine so a config change is applied at once, never behind a refresh.
	refreshDone := make(chan struct{})
	go func() {
		defer close(refreshDone)
		a.refreshLoop(ctx)
	}()
	defer func() { <-refreshDone }()
	debounceDelay := a.opts.Debounce
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	// A write or removal that failed is retried with backoff until it succeeds (a read-only or
	// full manifest dir gives no event when it is fixed).
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	var retryDelay time.Duration
	armRetry := func() {
		if !a.rec.Failing() {
			retryDelay = 0
			return
		}
		retryDelay = min(max(2*retryDelay, minRetry), maxRetry)
		retry.Reset(retryDelay)
	}
	armRetry()
	cfgAbs, _ := filepath.Abs(a.opts.ConfigPath)
	mdAbs, _ := filepath.Abs(a.opts.ManifestDir)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("file watcher closed")
			}
			name, _ := filepath.Abs(ev.Name)
			switch {
			case name == cfgAbs:
				debounce.Reset(debounceDelay)
			case filepath.Dir(name) == mdAbs && !manifestdir.IsTemp(filepath.Base(name)):
				a.triggerRefresh()
			}
		case err, ok := <-w.Errors:
			if ok {
				a.log.Warn("file watcher error", "err", err)
			}
		case <-debounce.C:
			a.reconcile()
			a.triggerRefresh()
			armRetry()
		case <-hup:
			a.log.Info("SIGHUP: reconciling")
			a.reconcile()
			a.triggerRefresh()
			armRetry()
		case <-a.reconcileCh:
			a.reconcile()
			a.triggerRefresh()
			armRetry()
		case <-retry.C:
			a.log.Info("retrying the manifest writes and removals that failed", "after", retryDelay)
			a.reconcile()
			a.triggerRefresh()
			armRetry()
		}
	}
}

// refreshLoop keeps statuses, the report and findings current: a full read right away, then on
// triggers (at most one per MinRefreshGap, bursts collapse) and when the polled probe changes.
func (a *Agent) refreshLoop(ctx context.Context) {
	a.refresh(ctx)
	ticker := time.NewTicker(a.opts.RefreshInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			a.poll(ctx)
		case <-a.refreshCh:
			if !a.sleepGap(ctx, &a.lastRefresh) {
				return
			}
			a.refresh(ctx)
		case <-a.analyzeCh:
			if !a.sleepGap(ctx, &a.lastAnalysis) {
				return
			}
			select {
			case <-a.refreshCh:
				a.refresh(ctx) // a node read is due anyway: it takes the live records too
			default:
				a.reanalyze(ctx)
			}
		}
	}
}

// sleepGap waits until MinRefreshGap has passed since *last (read under a.mu); false when ctx
// ended first.
func (a *Agent) sleepGap(ctx context.Context, last *time.Time) bool {
	a.mu.RLock()
	wait := time.Until(last.Add(a.opts.MinRefreshGap))
	a.mu.RUnlock()
	return wait <= 0 || sleepCtx(ctx, wait)
}

// followKubeletLog keeps the live kubelet log followed until ctx ends: each new relevant record
// is counted and asks for a re-analysis; a follow that ends is started again (a rotation gap at
// once, anything else after KubeletLogRetry), and a node read meanwhile reads the log itself.
func (a *Agent) followKubeletLog(ctx context.Context) {
	for ctx.Err() == nil {
		err := a.opts.KubeletLog.FollowKubeletLog(ctx, func(r *kubeletlog.Record) {
			a.metrics.observeRecord(r)
			a.triggerAnalyze()
		})
		if ctx.Err() != nil {
			return
		}
		a.triggerRefresh()
		if errors.Is(err, node.ErrRotationGap) {
			a.log.Info("the kubelet log was truncated in place; reading it again", "err", err)
			continue
		}
		a.log.Debug("following the kubelet log, retrying", "err", err, "in", a.opts.KubeletLogRetry)
		if !sleepCtx(ctx, a.opts.KubeletLogRetry) {
			return
		}
	}
}

// followKernelLog keeps the kernel log followed until ctx ends: each new event asks for a
// re-analysis; a follow that ends (the source cannot be read) asks for a node read, which
// reports why, and is started again after KubeletLogRetry.
func (a *Agent) followKernelLog(ctx context.Context) {
	var last string
	for ctx.Err() == nil {
		err := a.opts.KernelLog.FollowKernelLog(ctx, func(kernlog.Event) { a.triggerAnalyze() })
		if ctx.Err() != nil {
			return
		}
		a.triggerRefresh()
		if msg := fmt.Sprint(err); msg != last {
			a.log.Warn("cannot follow the kernel log; retrying", "err", err, "in", a.opts.KubeletLogRetry)
			last = msg
		}
		if !sleepCtx(ctx, a.opts.KubeletLogRetry) {
			return
		}
	}
}

func (a *Agent) triggerAnalyze() {
	select {
	case a.analyzeCh <- struct{}{}:
	default:
	}
}

// reanalyze builds the report again from the last snapshot with the live kubelet records: the
// kubelet log is all that changed (runtime, manifest and probe changes read the node).
func (a *Agent) reanalyze(ctx context.Context) {
	a.mu.RLock()
	last := a.snap
	a.mu.RUnlock()
	if last == nil || a.opts.KubeletLog == nil {
		a.refresh(ctx)
		return
	}
	snap, ok := a.opts.KubeletLog.Relog(last)
	if !ok {
		a.refresh(ctx)
		return
	}
	a.publishSnapshot(snap, false)
}

// ObserveKubeletRecord counts a followed kubelet record in spdoc_kubelet_log_records_total
// (the live kubelet log calls it for every new record diagnosis cares about).
func (a *Agent) ObserveKubeletRecord(r *kubeletlog.Record) { a.metrics.observeRecord(r) }

func (a *Agent) triggerRefresh() {
	select {
	case a.refreshCh <- struct{}{}:
	default:
	}
}

// NodeName is the node name detected by the last node read ("" before the first).
func (a *Agent) NodeName() string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.nodeName
}

// Reconcile asks the running agent to re-read its config (like SIGHUP).
func (a *Agent) Reconcile() {
	select {
	case a.reconcileCh <- struct{}{}:
	default:
	}
}

func (a *Agent) reconcile() *api.ApplyResult {
	if a.opts.ObserveOnly {
		return nil
	}
	start := time.Now()
	res := a.rec.Reconcile()
	if a.opts.Served != nil {
		a.opts.Served.Refresh()
	}
	a.metrics.observeApply(res, time.Since(start), time.Now())
	a.pods.Replace(a.rec.Pods())
	a.publishFindings()
	return res
}

// poll re-reads the node when the probe says something changed or the last full read is old.
func (a *Agent) poll(ctx context.Context) {
	if a.opts.Node == nil {
		return
	}
	if a.opts.Probe != nil {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		fp := a.opts.Probe(pctx)
		cancel()
		a.mu.RLock()
		fresh := time.Since(a.lastRefresh) < a.opts.FullRefresh
		a.mu.RUnlock()
		if fp == a.lastProbe && fresh {
			return
		}
	}
	a.refresh(ctx)
}

// refresh re-reads the node and updates statuses, the report and findings.
func (a *Agent) refresh(ctx context.Context) {
	if a.opts.Node == nil {
		return
	}
	if a.opts.Probe != nil {
		// Fingerprint first: a change during the snapshot is seen by the next poll.
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		a.lastProbe = a.opts.Probe(pctx)
		cancel()
	}
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	a.mu.Lock()
	a.reading = time.Now()
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.reading = time.Time{}
		a.mu.Unlock()
	}()
	snap, err := a.snapshotWithin(ctx)
	if err != nil {
		a.log.Warn("reading the node", "err", err)
		return
	}
	a.publishSnapshot(snap, true)
}

// publishSnapshot analyzes snap and makes it and its report current; read says it is a new node
// read (not a re-analysis of the last one).
func (a *Agent) publishSnapshot(snap *node.Snapshot, read bool) {
	var rep *diagnose.Report
	if a.opts.Analyze != nil {
		rep = a.opts.Analyze(snap)
	}
	now := time.Now()
	a.mu.Lock()
	renamed := a.nodeName != snap.Node.Name
	a.snap, a.report, a.lastAnalysis, a.nodeName = snap, rep, now, snap.Node.Name
	if read {
		a.lastRefresh = now
	}
	a.mu.Unlock()
	if renamed && a.opts.Served != nil {
		a.opts.Served.Refresh() // the kubelet validates <name>-<node>: check again with the real name
	}
	a.stats.Replace(Statuses(snap))
	a.publishFindings()
	if a.opts.Kube != nil && rep != nil {
		a.opts.Kube.Offer(rep)
	}
}

func (a *Agent) publishFindings() {
	var all []diagnose.Finding
	all = append(all, a.rec.Findings()...)
	if a.opts.Served != nil {
		all = append(all, a.opts.Served.Findings()...)
	}
	if a.opts.Kube != nil {
		all = append(all, a.opts.Kube.Findings()...)
	}
	a.mu.RLock()
	rep := a.report
	a.mu.RUnlock()
	if rep != nil {
		all = append(all, rep.Node.Findings...)
		for _, p := range rep.Pods {
			all = append(all, p.Findings...)
		}
		for _, f := range rep.Files {
			all = append(all, f.Findings...)
		}
	}
	out := make([]Finding, 0, len(all))
	seen := map[string]int{}
	for _, f := range all {
		k := findingKey(f)
		seen[k]++
		if n := seen[k]; n > 1 {
			k = fmt.Sprintf("%s-%d", k, n)
		}
		out = append(out, Finding{Key: k, Finding: f})
	}
	a.finds.Replace(out)
}

// findingKey identifies a finding across refreshes and agent restarts by what it is about
// (diagnose's Identity: kind, pod, file, container, subject), never by its title or evidence, so
// a crash loop whose restart count grows stays one finding that watch clients see MODIFIED.
func findingKey(f diagnose.Finding) string {
	h := sha256.Sum256([]byte(f.Identity()))
	return string(f.Kind) + "-" + hex.EncodeToString(h[:6])
}

// Apply validates config data, writes it to the config file atomically and reconciles. Nothing is
// written when the config does not parse or (unless --no-validate) has an invalid pod.
func (a *Agent) Apply(data []byte) (*api.ApplyResult, error) {
	if a.opts.ObserveOnly {
		return nil, ErrObserveOnly
	}
	start := time.Now()
	res, err := a.rec.ReplaceConfig(data)
	if err != nil {
		return nil, err
	}
	a.metrics.observeApply(res, time.Since(start), time.Now())
	a.pods.Replace(a.rec.Pods())
	a.publishFindings()
	a.triggerRefresh()
	if a.rec.Failing() {
		a.Reconcile() // Run's loop retries from there until it succeeds
	}
	return res, nil
}

// StaticPods returns the static pod resources of the last reconcile.
func (a *Agent) StaticPods() []api.StaticPod { return a.pods.List() }

// Statuses returns the last known status of every static pod of the manifest dir.
func (a *Agent) Statuses() []api.StaticPodStatus { return a.stats.List() }

// Findings returns the current findings.
func (a *Agent) Findings() []Finding { return a.finds.List() }

// Snapshot returns the last node snapshot (nil before the first refresh).
func (a *Agent) Snapshot() *node.Snapshot {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.snap
}

// Report returns the last report (nil before the first refresh or without Analyze).
func (a *Agent) Report() *diagnose.Report {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.report
}

// Health says when the agent last reconciled and refreshed; "stale" when the node has not been
// read for StaleAfter (a read hangs, or keeps failing).
func (a *Agent) Health() api.Health {
	a.mu.RLock()
	defer a.mu.RUnlock()
	h := api.Health{Status: api.HealthOK, LastReconcile: a.rec.Last(), LastRefresh: a.lastRefresh}
	if a.opts.Node == nil {
		return h
	}
	since, what := a.lastRefresh, "the node was last read"
	if since.IsZero() {
		since, what = a.started, "the node has not been read since the agent started"
	}
	if age := time.Since(since); age > a.opts.StaleAfter {
		h.Status = api.HealthStale
		h.Reason = fmt.Sprintf("%s %s ago (more than %s)", what, age.Round(time.Second), a.opts.StaleAfter)
		if !a.reading.IsZero() {
			h.Reason += fmt.Sprintf("; a read started %s ago has not finished", time.Since(a.reading).Round(time.Second))
		}
	}
	return h
}

// refreshTimeout bounds one node read.
const refreshTimeout = 30 * time.Second

// snapshotWithin reads the node, giving up when ctx ends even if the read itself ignores its
// context (blocked in the kernel): the agent must stay responsive and stop when asked.
// At most one read is under way: while an abandoned one still hangs, no other is started.
func (a *Agent) snapshotWithin(ctx context.Context) (*node.Snapshot, error) {
	if !a.inflight.CompareAndSwap(false, true) {
		return nil, errors.New("reading the node: an earlier read still has not returned")
	}
	type result struct {
		s   *node.Snapshot
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer a.inflight.Store(false)
		s, err := a.opts.Node.Snapshot(ctx)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("reading the node: %w", ctx.Err())
	}
}
