// Analyze and its phases, in the order it runs them: manifest (analyze_manifest.go), node
// (analyze_node.go), kubelet records (analyze_records.go), runtime (analyze_runtime.go), history
// (analyze_history.go), state and causes (analyze_state.go, causes.go), report (analyze_report.go).

package diagnose

import (
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
)

// Options tune Analyze. The zero value is what `spdoc diagnose` uses.
type Options struct {
	// NodeName overrides the snapshot's node name (used to derive kubelet pod names <name>-<node>).
	NodeName string
	// MaxEvidence caps the distinct kubelet log lines kept per finding (first ones and the last); default 5.
	MaxEvidence int
	// TailLines is how many container log lines of a failed instance a CrashLoop finding shows; default 5.
	TailLines int
	// StaleLog: without a live kubelet check, a kubelet log whose last record is older than this
	// (relative to the snapshot time) suggests the kubelet is not running; default 1h, <0 disables.
	StaleLog time.Duration
	// StableAfter is how long a restarted container must have been running (at the snapshot
	// time) before its crashes count as history rather than a crash loop caught between
	// restarts; default 2m.
	StableAfter time.Duration
	// Memo, when set, remembers each record's class and evidence line across analyses (an
	// agent analyzing its live records again and again); the report is the same without it.
	// Unset, each Analyze uses one of its own: a one-shot diagnosis of an error-dense log keeps
	// 20,000 records that are a few hundred distinct ones.
	Memo *Memo
}

func (o Options) withDefaults() Options {
	if o.MaxEvidence <= 0 {
		o.MaxEvidence = 5
	}
	if o.TailLines <= 0 {
		o.TailLines = 5
	}
	if o.StaleLog == 0 {
		o.StaleLog = time.Hour
	}
	if o.StableAfter <= 0 {
		o.StableAfter = 2 * time.Minute
	}
	if o.Memo == nil {
		o.Memo = NewMemo(0)
	}
	return o
}

type analyzer struct {
	s     *node.Snapshot
	opts  Options
	ix    *index
	node  findingSet
	pods  map[string]*podState
	files map[string]*fileState
	fileO []string
	dir   string
	// logEnd is the time of the newest kubelet record.
	logEnd time.Time
	// recordedCIDs maps the container IDs the kubelet's records name to their pod (nil value:
	// more than one); built on first use (podOfRecordedContainer).
	recordedCIDs map[string]*podEntry
	// netBlocks is set when a static pod cannot start for want of the pod network.
	netBlocks bool
	// lastActivity is the newest sign of a working runtime in the kubelet log (a PLEG event).
	lastActivity time.Time
	// logNode is the node whose records were kept from a log of several talosctl nodes.
	logNode string
}

// Analyze explains a snapshot: it attributes every relevant kubelet record, runtime object and
// container log to its static pod (or manifest file, or the node), classifies them into findings,
// puts root causes first and marks past problems followed by a healthy run as history. It is a
// pure, deterministic function of s; it never panics on odd input.
func Analyze(s *node.Snapshot, opts Options) *Report {
	if s == nil {
		s = &node.Snapshot{}
	}
	s, logNode := selectLogNode(s, opts.NodeName) // lognode.go: one node of a talosctl -n a,b log
	a := &analyzer{s: s, opts: opts.withDefaults(), pods: map[string]*podState{}, files: map[string]*fileState{}, logNode: logNode}
	if s.Manifests != nil {
		a.dir = s.Manifests.Dir
	}
	if a.dir == "" {
		a.dir = s.Paths.ManifestDir
	}
	var records []kubeletlog.Record
	if s.KubeletLog != nil {
		records = s.KubeletLog.Records
	}
	a.ix = newIndex(s, a.opts)
	for i := range records {
		if strings.HasPrefix(records[i].Msg, "SyncLoop REMOVE") {
			a.ix.removedOrphans(&records[i])
		}
	}
	for _, id := range a.ix.sortedIDs() {
		a.pods[id] = &podState{e: a.ix.pods[id]}
	}
	for _, f := range a.ix.fileList {
		a.file(f.Path)
	}

	a.manifestRules()
	a.nodeRules()
	for i := range records {
		a.record(&records[i])
		if records[i].TS.After(a.logEnd) {
			a.logEnd = records[i].TS
		}
	}
	if s.KubeletLog != nil && s.KubeletLog.Stats.Last.After(a.logEnd) {
		a.logEnd = s.KubeletLog.Stats.Last
	}
	a.runtimeRules()
	for _, c := range checks {
		c.Run(a)
	}
	a.podRules()
	// A node without pod network is normal before a CNI is installed (kubeadm control planes run
	// hostNetwork static pods only): a problem only when a static pod needs it.
	if b := a.node.find(KindNetworkNotReady); b != nil && !a.netBlocks {
		b.f.Severity = SeverityInfo
	}
	// "container runtime is down" in the log, but containers started or died after it: it was a
	// passing stall (a slow node), not the state now.
	// The same when the runtime answered this very snapshot: the outage in the log is over.
	if b := a.node.find(KindRuntimeUnreachable); b != nil && len(b.pre) == 0 && !b.last.IsZero() &&
		(a.lastActivity.After(b.last) || (s.Runtime != nil && s.Runtime.Reachable)) {
		b.f.History, b.f.Severity = true, SeverityInfo
	}
	return a.report()
}

func (a *analyzer) file(path string) *fileState {
	if file := a.files[path]; file != nil {
		return file
	}
	file := &fileState{path: path, file: a.ix.files[path]}
	a.files[path] = file
	a.fileO = append(a.fileO, path)
	return file
}

func (a *analyzer) pod(e *podEntry) *podState { return a.pods[e.id] }
