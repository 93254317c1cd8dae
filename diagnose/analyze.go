package diagnose

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/staticpod"
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
	return o
}

// fb builds one finding: classified records plus facts from the scan, the runtime and pod logs.
type fb struct {
	f     Finding
	recs  []*kubeletlog.Record
	pre   []Evidence // manifest and runtime facts, shown before the log lines
	post  []Evidence // container log lines of the failed instance, shown after
	first time.Time  // first record TS
	last  time.Time  // last record TS
	// restarts is the container's restart count when only the pod log files know it (--root).
	restarts int
}

func (b *fb) add(r *kubeletlog.Record) {
	b.recs = append(b.recs, r)
	if b.first.IsZero() || r.TS.Before(b.first) {
		b.first = r.TS
	}
	if r.TS.After(b.last) {
		b.last = r.TS
	}
}

// findings is an ordered set of finding builders keyed by kind and container.
type findings struct {
	list  []*fb
	byKey map[string]*fb
}

func (fs *findings) get(kind Kind, container string, sev Severity) *fb {
	if fs.byKey == nil {
		fs.byKey = map[string]*fb{}
	}
	key := string(kind) + "\x00" + container
	if b := fs.byKey[key]; b != nil {
		if sevRank(sev) < sevRank(b.f.Severity) {
			b.f.Severity = sev
		}
		return b
	}
	b := &fb{f: Finding{Kind: kind, Severity: sev, Container: container}}
	fs.byKey[key] = b
	fs.list = append(fs.list, b)
	return b
}

func (fs *findings) find(kind Kind) *fb {
	for _, b := range fs.list {
		if b.f.Kind == kind {
			return b
		}
	}
	return nil
}

type podAcc struct {
	e           *podEntry
	fs          findings
	lastStarted time.Time // last container start seen in the kubelet log
	lastExit    *int32    // exit code of the last "container finished" record
	current     []cri.Container
	sandbox     *cri.Sandbox
	hostNetwork bool
	valid       bool
	rep         PodReport
}

type fileAcc struct {
	path string
	file *staticpod.File
	fs   findings
}

type analyzer struct {
	s     *node.Snapshot
	opts  Options
	ix    *index
	node  findings
	pods  map[string]*podAcc
	files map[string]*fileAcc
	fileO []string
	dir   string
	// logEnd is the time of the newest kubelet record.
	logEnd time.Time
	// netBlocks is set when a static pod cannot start for want of the pod network.
	netBlocks bool
	// lastActivity is the newest sign of a working runtime in the kubelet log (a PLEG event).
	lastActivity time.Time
	// urlEvents are the kubelet's URL-source records (rules_talos.go).
	urlEvents []urlEvent
}

// Analyze explains a snapshot: it attributes every relevant kubelet record, runtime object and
// container log to its static pod (or manifest file, or the node), classifies them into findings,
// puts root causes first and marks past problems followed by a healthy run as history. It is a
// pure, deterministic function of s; it never panics on odd input.
func Analyze(s *node.Snapshot, opts Options) *Report {
	if s == nil {
		s = &node.Snapshot{}
	}
	a := &analyzer{s: s, opts: opts.withDefaults(), pods: map[string]*podAcc{}, files: map[string]*fileAcc{}}
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
		a.pods[id] = &podAcc{e: a.ix.pods[id]}
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
	a.urlSourceRules()
	a.runtimeRules()
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

func (a *analyzer) file(path string) *fileAcc {
	if fa := a.files[path]; fa != nil {
		return fa
	}
	fa := &fileAcc{path: path, file: a.ix.files[path]}
	a.files[path] = fa
	a.fileO = append(a.fileO, path)
	return fa
}

func (a *analyzer) pod(e *podEntry) *podAcc { return a.pods[e.id] }

// manifestRules turns the directory scan and validation results into findings.
func (a *analyzer) manifestRules() {
	scan := a.s.Manifests
	if (scan == nil || !scan.Exists || (scan.Err != "" && len(scan.Files) == 0)) && !urlOnly(a.s) {
		b := a.node.get(KindManifestDirMissing, "", SeverityError)
		msg := "path does not exist"
		if scan != nil && scan.Err != "" {
			msg = scan.Err
		}
		b.pre = append(b.pre, Evidence{Source: "manifest:" + a.dir, Line: msg, Count: 1})
	}
	if scan == nil && a.s.StaticPodURL == nil {
		return
	}
	for _, f := range sourceFiles(a.s) {
		if f == nil {
			continue
		}
		fa := a.file(f.Path)
		switch f.Kind {
		case staticpod.KindDir:
			fa.fs.get(KindDirectoryIgnored, "", SeverityInfo).pre = []Evidence{{Source: "manifest:" + f.Path, Line: "directory", Count: 1}}
			continue
		case staticpod.KindIgnored:
			continue
		case staticpod.KindUnreadable:
			fa.fs.get(KindFileUnreadable, "", SeverityError).pre = []Evidence{{Source: "manifest:" + f.Path, Line: f.Err, Count: 1}}
			continue
		}
		if f.Parse != nil {
			src := "manifest:" + f.Path
			if f.Parse.Line > 0 {
				src += fmt.Sprintf(":%d", f.Parse.Line)
			}
			fa.fs.get(KindManifestUnparseable, "", SeverityError).pre = []Evidence{{Source: src, Line: f.Parse.Error(), Count: 1}}
		}
		if f.Backup {
			fa.fs.get(KindBackupFileLoaded, "", SeverityWarning).pre = []Evidence{{Source: "manifest:" + f.Path, Line: fmt.Sprintf("%s defines %d pod(s)", f.Name, len(f.Pods)), Count: 1}}
		}
		if len(f.Warnings) > 0 {
			b := fa.fs.get(KindManifestWarning, "", warnSeverity(f.Warnings))
			b.pre = append(b.pre, issueEvidence(f.Path, f.Warnings)...)
		}
		for _, p := range f.Pods {
			if p == nil {
				continue
			}
			pa := a.pods[p.ID]
			var errs, warns []staticpod.Issue
			for _, is := range p.Issues {
				if is.Severity == staticpod.SeverityError {
					errs = append(errs, is)
				} else {
					warns = append(warns, is)
				}
			}
			if len(errs) > 0 {
				b := pa.fs.get(KindManifestInvalid, "", SeverityError)
				b.f.File = f.Path
				b.pre = append(b.pre, issueEvidence(f.Path, errs)...)
			}
			if len(warns) > 0 {
				b := pa.fs.get(KindManifestWarning, "", warnSeverity(warns))
				b.f.File = f.Path
				b.pre = append(b.pre, issueEvidence(f.Path, warns)...)
			}
		}
	}
	for _, id := range a.ix.order {
		e := a.ix.pods[id]
		if len(e.pods) < 2 {
			continue
		}
		var paths []string
		for _, p := range e.pods {
			paths = append(paths, p.Source)
		}
		pb := a.pods[id].fs.get(KindDuplicatePod, "", SeverityWarning)
		for _, p := range e.pods {
			ev := Evidence{Source: "manifest:" + p.Source, Line: fmt.Sprintf("defines %s/%s", e.ns, e.name), Count: 1}
			pb.pre = append(pb.pre, ev)
		}
		for _, p := range e.pods {
			fb := a.file(p.Source).fs.get(KindDuplicatePod, "", SeverityWarning)
			if len(fb.pre) == 0 {
				fb.pre = append(fb.pre, pb.pre...)
			}
			fb.f.Pod = id
		}
	}
}

// warnSeverity: advice ("Not recommended": no resources, :latest…) is info; a field the kubelet
// silently drops is a warning, since the pod does not run as written.
func warnSeverity(issues []staticpod.Issue) Severity {
	for _, is := range issues {
		if !strings.EqualFold(is.Type, "Not recommended") {
			return SeverityWarning
		}
	}
	return SeverityInfo
}

func issueEvidence(path string, issues []staticpod.Issue) []Evidence {
	out := make([]Evidence, 0, len(issues))
	for _, is := range issues {
		src := "manifest:" + path
		if is.Line > 0 {
			src += fmt.Sprintf(":%d", is.Line)
		}
		out = append(out, Evidence{Source: src, Line: is.String(), Count: 1})
	}
	return out
}

// nodeRules: kubelet process, kubelet log, runtime status, unreadable sources.
func (a *analyzer) nodeRules() {
	s := a.s
	if s.Kubelet != nil && s.Kubelet.Checked && !s.Kubelet.Running {
		a.node.get(KindKubeletNotRunning, "", SeverityError).pre = []Evidence{{Source: "process", Line: "no kubelet process found", Count: 1}}
	}
	logMissing := false
	switch {
	case s.KubeletLog == nil:
		logMissing = true
		a.node.get(KindKubeletLogMissing, "", SeverityWarning).pre = []Evidence{{Source: "kubelet-log", Line: "no kubelet log was read", Count: 1}}
	case s.KubeletLog.Error != "":
		logMissing = true
		a.node.get(KindKubeletLogMissing, "", SeverityWarning).pre = []Evidence{{Source: "kubelet-log:" + s.KubeletLog.Source, Line: s.KubeletLog.Error, Count: 1}}
	case s.KubeletLog.Stats.Parsed == 0 && len(s.KubeletLog.Records) == 0:
		logMissing = true
		line := "the kubelet log is empty"
		if s.KubeletLog.Stats.Lines > 0 {
			line = fmt.Sprintf("none of its %d lines is a kubelet log record", s.KubeletLog.Stats.Lines)
		}
		a.node.get(KindKubeletLogMissing, "", SeverityWarning).pre = []Evidence{{Source: "kubelet-log:" + s.KubeletLog.Source, Line: line, Count: 1}}
	default:
		last := s.KubeletLog.Stats.Last
		// Only on a live node: a copied node (--root) is old by nature.
		if s.Paths.Root == "" && (s.Kubelet == nil || !s.Kubelet.Checked) && a.opts.StaleLog > 0 && !last.IsZero() && !s.Taken.IsZero() && s.Taken.Sub(last) > a.opts.StaleLog {
			b := a.node.get(KindKubeletNotRunning, "", SeverityWarning)
			b.pre = []Evidence{{Source: "kubelet-log:" + s.KubeletLog.Source, TS: last, Line: fmt.Sprintf("last record %s before the snapshot", s.Taken.Sub(last).Round(time.Second)), Count: 1}}
			b.f.Detail = "stale"
		}
	}
	if s.KubeletLog != nil && s.KubeletLog.Truncated {
		b := a.node.get(KindSourceError, "kubelet-log-truncated", SeverityInfo)
		b.pre = []Evidence{{Source: "kubelet-log:" + s.KubeletLog.Source,
			Line: fmt.Sprintf("only the newest %d relevant records were kept", len(s.KubeletLog.Records)), Count: 1}}
		b.f.Detail = "truncated"
	}
	rt := s.Runtime
	runtimeDown := false
	if rt != nil && !rt.Reachable {
		runtimeDown = true
		line := rt.Error
		if line == "" {
			line = "not reachable"
		}
		a.node.get(KindRuntimeUnreachable, "", SeverityError).pre = []Evidence{{Source: criSource(rt.Endpoint), Line: line, Count: 1}}
	}
	if rt != nil && rt.Status != nil {
		for _, c := range rt.Status.Conditions {
			if c.Status {
				continue
			}
			line := strings.TrimSpace(fmt.Sprintf("%s=false reason:%s message:%s", c.Type, c.Reason, c.Message))
			switch c.Type {
			case "RuntimeReady":
				a.node.get(KindRuntimeUnreachable, "", SeverityError).pre = append(a.node.get(KindRuntimeUnreachable, "", SeverityError).pre, Evidence{Source: criSource(rt.Endpoint), Line: line, Count: 1})
			case "NetworkReady":
				b := a.node.get(KindNetworkNotReady, "", SeverityError)
				b.pre = append(b.pre, Evidence{Source: criSource(rt.Endpoint), Line: line, Count: 1})
			}
		}
	}
	for _, e := range s.Errors {
		if (e.Source == "runtime" && runtimeDown) || (e.Source == "kubelet-log" && logMissing) || e.Source == "manifests" && a.node.find(KindManifestDirMissing) != nil {
			continue
		}
		sev := SeverityWarning
		if (e.Source == "pod-logs" || e.Source == "container-logs") && strings.Contains(e.Error, "no such file or directory") {
			sev = SeverityInfo // no container logs (yet): nothing is lost but the log tails
		}
		b := a.node.get(KindSourceError, e.Source, sev) // keyed by source; describe names it
		b.pre = append(b.pre, Evidence{Source: e.Source, Line: e.Error, Count: 1})
	}
}

// record classifies one kubelet record and attributes it.
func (a *analyzer) record(r *kubeletlog.Record) {
	if a.urlRecord(r) {
		return
	}
	c, ok := classify(r)
	if !ok {
		if code, err := strconv.ParseInt(r.Fields["exitCode"], 10, 32); err == nil && isDied(r) {
			for _, e := range a.ix.podsFor(r) {
				c := int32(code)
				a.pod(e).lastExit = &c
			}
		}
		if (isStarted(r) || isDied(r)) && r.TS.After(a.lastActivity) {
			a.lastActivity = r.TS
		}
		if isStarted(r) {
			for _, e := range a.ix.podsFor(r) {
				if pa := a.pod(e); r.TS.After(pa.lastStarted) {
					pa.lastStarted = r.TS
				}
			}
		}
		return
	}
	switch c.scope {
	case scopeNode:
		a.node.get(c.kind, "", c.severity).add(r)
		return
	case scopeFile:
		path, f := a.ix.fileFor(r)
		if path == "" {
			a.node.get(c.kind, "", c.severity).add(r)
			return
		}
		if c.kind == KindManifestInvalid && f != nil && len(f.Pods) > 0 {
			for _, p := range f.Pods {
				b := a.pods[p.ID].fs.get(KindManifestInvalid, "", SeverityError)
				b.f.File = f.Path
				b.add(r)
			}
			return
		}
		if c.kind == KindManifestUnparseable && f != nil && f.Parse == nil && f.Kind == staticpod.KindManifest {
			c.kind, c.severity = KindTransientParseError, SeverityWarning
		}
		a.file(path).fs.get(c.kind, "", c.severity).add(r)
		return
	}
	pods := a.ix.podsFor(r)
	if c.kind == KindNetworkNotReady {
		// Node-level; the records that name a pod are pinned on that pod only.
		nb := a.node.get(KindNetworkNotReady, "", SeverityError)
		if len(pods) == 0 {
			nb.add(r)
		}
	}
	if c.kind == KindRuntimeUnreachable {
		a.node.get(c.kind, "", c.severity).add(r)
		return
	}
	for _, e := range pods {
		pa := a.pod(e)
		container := c.container
		if !containerKinds[c.kind] {
			container = "" // sandbox, network, volumes, removal: about the whole pod
		} else if container == "" {
			container = specContainer(e, r.Image)
		}
		pa.fs.get(c.kind, container, c.severity).add(r)
	}
}

var containerKinds = map[Kind]bool{KindImageNotPresent: true, KindImagePullFailed: true, KindCrashLoop: true,
	KindOOMKilled: true, KindProbeFailed: true, KindContainerFailed: true}

// specContainer names the container a record without a container name is about: the one whose
// image it names, or the only container of the pod.
func specContainer(e *podEntry, image string) string {
	if len(e.pods) == 0 || e.pods[0].Pod == nil {
		return ""
	}
	spec := e.pods[0].Pod.Spec
	if image != "" {
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			if c.Image == image {
				return c.Name
			}
		}
	}
	if len(spec.Containers) == 1 && len(spec.InitContainers) == 0 {
		return spec.Containers[0].Name
	}
	return ""
}

// runtimeRules attributes CRI sandboxes and containers: current state, exits, OOM kills, restarts.
func (a *analyzer) runtimeRules() {
	rt := a.s.Runtime
	for _, id := range a.ix.order {
		pa := a.pods[id]
		e := pa.e
		if len(e.pods) > 0 && e.pods[0].Pod != nil {
			pa.hostNetwork = e.pods[0].Pod.Spec.HostNetwork
		}
		pa.valid = len(e.pods) > 0
		for _, p := range e.pods {
			if !p.Valid() {
				pa.valid = false
			}
		}
		if rt == nil || !rt.Reachable {
			continue
		}
		// The current sandbox is the newest; its containers are the pod's current instances.
		for i := range e.sandboxes {
			sb := &e.sandboxes[i]
			if pa.sandbox == nil || sb.CreatedAt.After(pa.sandbox.CreatedAt) || (sb.CreatedAt.Equal(pa.sandbox.CreatedAt) && sb.Attempt > pa.sandbox.Attempt) {
				pa.sandbox = sb
			}
		}
		if pa.sandbox != nil && pa.sandbox.HostNetwork {
			pa.hostNetwork = true
		}
		byName := map[string][]cri.Container{}
		var names []string
		for _, c := range e.containers {
			if pa.sandbox != nil && c.SandboxID != "" && c.SandboxID != pa.sandbox.ID && c.PodUID != pa.sandbox.UID {
				continue
			}
			if _, ok := byName[c.Name]; !ok {
				names = append(names, c.Name)
			}
			byName[c.Name] = append(byName[c.Name], c)
		}
		sort.Strings(names)
		for _, name := range names {
			cs := byName[name]
			sort.SliceStable(cs, func(i, j int) bool {
				if cs[i].Attempt != cs[j].Attempt {
					return cs[i].Attempt > cs[j].Attempt
				}
				return cs[i].CreatedAt.After(cs[j].CreatedAt)
			})
			cur := cs[0]
			pa.current = append(pa.current, cur)
			a.containerFacts(pa, cur, cs[1:])
		}
	}
}

// failed is the instance whose exit explains the container: the current one when it exited,
// else the newest previous instance the runtime still lists.
func (a *analyzer) containerFacts(pa *podAcc, cur cri.Container, prev []cri.Container) {
	failed := cur
	running := cur.State == "CONTAINER_RUNNING"
	if running || cur.State == "CONTAINER_CREATED" {
		if len(prev) == 0 || prev[0].State != "CONTAINER_EXITED" {
			if running && cur.RestartCount > 0 {
				b := pa.fs.get(KindContainerRestarted, cur.Name, SeverityInfo)
				b.pre = append(b.pre, criEvidence(a.s.Runtime.Endpoint, cur))
				b.f.History = a.stable(cur.StartedAt)
			}
			return
		}
		failed = prev[0]
	}
	if failed.State != "CONTAINER_EXITED" {
		return
	}
	restarted := cur.RestartCount > 0 || failed.ExitCode != 0 || running
	if !restarted {
		return // exited cleanly once (restartPolicy Never/OnFailure): nothing to explain
	}
	kind := KindCrashLoop
	if failed.Reason == "OOMKilled" {
		kind = KindOOMKilled
	}
	if pa.sandbox != nil && pa.sandbox.State == "SANDBOX_NOTREADY" && failed.Reason != "OOMKilled" && pa.fs.find(KindCrashLoop) == nil {
		// The kubelet stopped the whole pod (removed, replaced, invalid manifest): its containers
		// were killed, they did not crash.
		return
	}
	b := pa.fs.get(kind, cur.Name, SeverityError)
	code := failed.ExitCode
	b.f.ExitCode = &code
	b.pre = append(b.pre, criEvidence(a.s.Runtime.Endpoint, failed))
	if running {
		b.pre = append(b.pre, criEvidence(a.s.Runtime.Endpoint, cur))
	}
	b.post = a.tailEvidence(pa, cur.Name, running)
	if running && b.last.Before(cur.StartedAt) && a.stable(cur.StartedAt) {
		// Up again for a while: this exit is history unless the log shows it failing after this start.
		b.f.History = true
	}
}

func criEvidence(endpoint string, c cri.Container) Evidence {
	state := strings.ToLower(strings.TrimPrefix(c.State, "CONTAINER_"))
	line := fmt.Sprintf("container %s %s (id %s, restart %d)", c.Name, state, shortID(c.ID), c.RestartCount)
	ts := c.StartedAt
	if c.State == "CONTAINER_EXITED" {
		line = fmt.Sprintf("container %s exited with code %d", c.Name, c.ExitCode)
		if c.Reason != "" {
			line += " (" + c.Reason + ")"
		}
		line += fmt.Sprintf(" after running since %s, restart %d (id %s)", c.StartedAt.UTC().Format(time.RFC3339), c.RestartCount, shortID(c.ID))
		if c.Message != "" {
			line += ": " + c.Message
		}
		ts = c.FinishedAt
	}
	return Evidence{Source: criSource(endpoint), TS: ts, Line: line, Count: 1}
}

func criSource(endpoint string) string {
	if endpoint == "" {
		return "cri"
	}
	return "cri:" + endpoint
}

func shortID(id string) string {
	if len(id) > 13 {
		return id[:13]
	}
	return id
}

// tailEvidence returns the last lines of the failed instance: the previous one when the current
// instance runs again, else the current one.
func (a *analyzer) tailEvidence(pa *podAcc, container string, previous bool) []Evidence {
	for _, t := range pa.e.tails {
		if t.Container != container {
			continue
		}
		lines, inst, from := t.Current, t.Instance, t.CurrentFrom
		if previous || len(lines) == 0 {
			if len(t.Previous) > 0 {
				lines, inst, from = t.Previous, t.Instance-1, t.PreviousFrom
			}
		}
		if len(lines) > a.opts.TailLines {
			lines = lines[len(lines)-a.opts.TailLines:]
		}
		src := fmt.Sprintf("pod-log:%s/%s/%d.log", strings.ReplaceAll(t.Pod, "/", "_"), container, inst)
		if from != "" {
			src = "pod-log:" + from
		}
		return logEvidence(src, lines)
	}
	return nil
}

func logEvidence(src string, lines []podlog.Line) []Evidence {
	out := make([]Evidence, 0, len(lines))
	for _, l := range lines {
		out = append(out, Evidence{Source: src, TS: l.TS, Line: l.Stream + ": " + l.Msg, Count: 1})
	}
	return out
}

// podRules: history, root-cause folding, pinning node network problems, not-started pods, state.
func (a *analyzer) podRules() {
	rtUp := a.s.Runtime != nil && a.s.Runtime.Reachable
	netDown := a.node.find(KindNetworkNotReady)
	for _, id := range a.ix.order {
		pa := a.pods[id]
		a.logOnlyFacts(pa, rtUp)
		a.history(pa, rtUp)
		a.halfWritten(pa)
		inv := pa.fs.find(KindManifestInvalid)
		if inv != nil && inv.f.History {
			inv = nil
		}
		// A removed pod: its manifest is gone (orphan) or became invalid; a plain replace is routine.
		if rm := pa.fs.find(KindPodRemoved); rm != nil && !pa.e.orphan && inv == nil && pa.fs.find(KindDuplicatePod) == nil {
			rm.f.Severity = SeverityInfo
			rm.f.History = true
		}
		if pa.e.orphan {
			if rm := pa.fs.find(KindPodRemoved); rm == nil {
				pa.fs.get(KindPodRemoved, "", SeverityInfo)
			}
			for _, b := range pa.fs.list {
				if b.f.Kind == KindPodRemoved {
					b.f.Severity = SeverityInfo
					b.f.History = false
				}
			}
		}
		// Network: a pod without hostNetwork that does not run is blocked by CNI.
		notUp := !a.running(pa)
		if !rtUp {
			notUp = pa.lastStarted.IsZero() // no runtime: the log is all we know
		}
		if netDown != nil && pa.valid && !pa.hostNetwork && notUp && !netDown.f.History {
			b := pa.fs.get(KindNetworkNotReady, "", SeverityError)
			if len(b.recs) == 0 && len(b.pre) == 0 {
				b.pre = append(b.pre, Evidence{Source: "manifest:" + pa.e.manifest, Line: "spec.hostNetwork is not true: the sandbox needs the CNI network", Count: 1})
			}
			for _, o := range pa.fs.list {
				if o.f.Kind == KindSandboxFailed && !o.f.History {
					o.f.Cause = KindNetworkNotReady
				}
			}
			a.netBlocks = true
			netDown.pre = append(netDown.pre, Evidence{Source: "manifest:" + pa.e.manifest,
				Line: fmt.Sprintf("blocks pod %s/%s (not hostNetwork)", pa.e.ns, pa.e.name), Count: 1})
		}
		// A container killed by its liveness probe exits 137/143: the probe explains the restart.
		for _, o := range pa.fs.list {
			if (o.f.Kind != KindCrashLoop && o.f.Kind != KindContainerRestarted) || o.f.Cause != "" || o.f.ExitCode == nil {
				continue
			}
			if code := *o.f.ExitCode; code != 137 && code != 143 {
				continue
			}
			for _, p := range pa.fs.list {
				if p.f.Kind == KindProbeFailed && p.f.Container == o.f.Container && probeType(p) != "Readiness" {
					o.f.Cause = KindProbeFailed
				}
			}
		}
		// Two manifests for one pod: the kubelet flaps between them (ADD/REMOVE, kill, recreate).
		if dup := pa.fs.find(KindDuplicatePod); dup != nil && inv == nil {
			for _, o := range pa.fs.list {
				switch o.f.Kind {
				case KindDuplicatePod, KindManifestWarning, KindMirrorPodFailed:
					continue
				}
				if !o.f.History && o.f.Cause == "" {
					o.f.Cause = KindDuplicatePod
					dup.f.Severity = SeverityError
				}
			}
		}
		if inv != nil {
			for _, o := range pa.fs.list {
				if o == inv || o.f.Kind == KindManifestWarning || o.f.Kind == KindDuplicatePod || o.f.History {
					continue
				}
				if !o.last.IsZero() && !inv.first.IsZero() && o.last.Before(inv.first) {
					o.f.History = true
					continue
				}
				o.f.Cause = KindManifestInvalid
			}
		}
		for _, o := range pa.fs.list {
			if o.f.Cause != "" || o.f.History {
				o.f.Severity = SeverityInfo
			}
		}
		if rtUp && pa.valid && !pa.e.orphan && pa.sandbox == nil && len(pa.current) == 0 && !a.hasCurrent(pa) {
			b := pa.fs.get(KindPodNotStarted, "", SeverityWarning)
			b.pre = append(b.pre, Evidence{Source: criSource(a.s.Runtime.Endpoint), Line: "no sandbox and no container for this pod", Count: 1})
			if k := a.node.find(KindKubeletNotRunning); k != nil && k.f.Severity == SeverityError {
				b.f.Cause, b.f.Severity = KindKubeletNotRunning, SeverityInfo
			}
		}
		pa.rep.State = a.state(pa, rtUp)
	}
}

// halfWritten turns a short burst of "invalid pod" records for a manifest that validates now into
// a TransientParseError on the file: a file read while it was being written in place looks
// invalid (or unparseable) for a moment, then fine.
func (a *analyzer) halfWritten(pa *podAcc) {
	const burst = 5 * time.Second
	for i, b := range pa.fs.list {
		if b.f.Kind != KindManifestInvalid || !b.f.History || len(b.pre) > 0 || b.last.Sub(b.first) > burst || b.f.File == "" {
			continue
		}
		t := a.file(b.f.File).fs.get(KindTransientParseError, "", SeverityWarning)
		t.recs = append(t.recs, b.recs...)
		t.first, t.last = b.first, b.last
		pa.fs.list = append(pa.fs.list[:i], pa.fs.list[i+1:]...)
		delete(pa.fs.byKey, string(KindManifestInvalid)+"\x00")
		return
	}
}

// logOnlyFacts completes crash findings from the kubelet log and pod log files when the runtime
// could not say: the last exit code, the failed instance's last lines, the restart count.
func (a *analyzer) logOnlyFacts(pa *podAcc, rtUp bool) {
	for _, b := range pa.fs.list {
		if b.f.Kind != KindCrashLoop && b.f.Kind != KindOOMKilled {
			continue
		}
		if b.f.ExitCode == nil && pa.lastExit != nil {
			code := *pa.lastExit
			b.f.ExitCode = &code
		}
		c := b.f.Container
		if c == "" && len(pa.e.tails) == 1 {
			c = pa.e.tails[0].Container
		}
		for _, t := range pa.e.tails {
			if t.Container == c && t.Instance > b.restarts {
				b.restarts = t.Instance
			}
		}
		if len(b.post) == 0 && !rtUp {
			// Without the runtime the newest instance is the one the kubelet reported failing.
			b.post = a.tailEvidence(pa, c, false)
		}
	}
}

func probeType(b *fb) string {
	for _, r := range b.recs {
		if v := r.Fields["probeType"]; v != "" {
			return v
		}
	}
	return ""
}

// running: at least one container runs and every other one completed (an init container that
// exited 0 without restarts is done, not down).
func (a *analyzer) running(pa *podAcc) bool {
	n := 0
	for _, c := range pa.current {
		switch {
		case c.State == "CONTAINER_RUNNING":
			n++
		case completed(c):
		default:
			return false
		}
	}
	return n > 0
}

func completed(c cri.Container) bool {
	return c.State == "CONTAINER_EXITED" && c.ExitCode == 0 && c.RestartCount == 0
}

func (a *analyzer) hasCurrent(pa *podAcc) bool {
	for _, b := range pa.fs.list {
		if !b.f.History && b.f.Severity != SeverityInfo && b.f.Kind != KindManifestWarning {
			return true
		}
	}
	return false
}

// history marks log findings followed by a healthy run: the container (or, for pod-level
// findings, every container) started after the finding's last record.
func (a *analyzer) history(pa *podAcc, rtUp bool) {
	for _, b := range pa.fs.list {
		if b.f.History || b.last.IsZero() {
			continue
		}
		switch b.f.Kind {
		case KindManifestInvalid:
			// The kubelet rejected the file but spdoc's validator finds nothing wrong now: history
			// when the pod started after the last complaint, the file changed after it, or the
			// kubelet (which complains on every re-list) went quiet about it. Otherwise trust the
			// kubelet: a rule spdoc does not know.
			if len(b.pre) == 0 {
				started := pa.lastStarted
				for _, c := range pa.current {
					if c.StartedAt.After(started) {
						started = c.StartedAt
					}
				}
				f := a.ix.files[b.f.File]
				quiet := !a.logEnd.IsZero() && a.logEnd.Sub(b.last) > time.Minute
				if started.After(b.last) || (f != nil && f.ModTime.After(b.last)) || quiet {
					b.f.History = true
				}
			}
			continue
		case KindManifestWarning, KindDuplicatePod:
			continue
		}
		var healthySince time.Time
		if rtUp {
			healthySince = a.healthySince(pa, b.f.Container)
		} else if pa.lastStarted.After(b.last) && b.f.Kind != KindCrashLoop && b.f.Kind != KindOOMKilled {
			healthySince = pa.lastStarted
		}
		crashy := b.f.Kind == KindCrashLoop || b.f.Kind == KindOOMKilled || b.f.Kind == KindProbeFailed
		if !healthySince.IsZero() && b.last.Before(healthySince) && (!crashy || a.stable(healthySince)) {
			b.f.History = true
		}
	}
}

// stable: a container started at t has run long enough by the snapshot time that its earlier
// crashes are history, not a crash loop caught between two restarts. Without a snapshot time
// there is nothing to compare: trust the start.
func (a *analyzer) stable(t time.Time) bool {
	return a.s.Taken.IsZero() || a.s.Taken.Sub(t) >= a.opts.StableAfter
}

// healthySince is when the named container (or all containers) last started, if running now.
func (a *analyzer) healthySince(pa *podAcc, container string) time.Time {
	if len(pa.current) == 0 {
		return time.Time{}
	}
	var since time.Time
	for _, c := range pa.current {
		if container != "" && c.Name != container || container == "" && completed(c) {
			continue
		}
		if c.State != "CONTAINER_RUNNING" {
			return time.Time{}
		}
		if since.IsZero() || c.StartedAt.Before(since) {
			since = c.StartedAt
		}
	}
	return since
}

// blockingKinds keep a pod from starting.
var blockingKinds = map[Kind]bool{KindSandboxFailed: true, KindNetworkNotReady: true, KindVolumeMountFailed: true,
	KindImageNotPresent: true, KindImagePullFailed: true, KindContainerFailed: true, KindPodNotStarted: true,
	KindRuntimeUnreachable: true}

func (a *analyzer) state(pa *podAcc, rtUp bool) string {
	if pa.e.orphan && !a.running(pa) {
		return "Gone"
	}
	cur := map[Kind]bool{}
	for _, b := range pa.fs.list {
		if !b.f.History && b.f.Cause == "" {
			cur[b.f.Kind] = true
		}
	}
	if !pa.valid && !pa.e.orphan {
		return "Invalid"
	}
	if cur[KindManifestInvalid] {
		return "Invalid"
	}
	if cur[KindCrashLoop] || cur[KindOOMKilled] {
		return "CrashLoop"
	}
	delete(cur, KindPodNotStarted)
	if rtUp {
		if a.running(pa) {
			return "Running"
		}
		if len(pa.current) > 0 || pa.sandbox != nil || len(cur) > 0 {
			return "Pending"
		}
		return "NotStarted"
	}
	// No runtime: infer from the log. Something that blocks the start means Pending; else a
	// container start in the log means it ran (probe failures and restarts included).
	for k := range cur {
		if blockingKinds[k] {
			return "Pending"
		}
	}
	if !pa.lastStarted.IsZero() {
		return "Running"
	}
	return "Unknown"
}

// report assembles the Report: texts, evidence, ordering, summary.
func (a *analyzer) report() *Report {
	s := a.s
	r := &Report{Taken: s.Taken, Pods: []PodReport{}, Files: []FileReport{}}
	r.Node = NodeReport{Name: a.ix.nodeName, ManifestDir: a.dir, Findings: []Finding{}}
	if r.Node.ManifestDir == "" && s.StaticPodURL != nil {
		r.Node.ManifestDir = s.StaticPodURL.URL // the kubelet's only static pod source
	}
	switch {
	case s.Runtime == nil:
		r.Node.Runtime = "not consulted"
	case !s.Runtime.Reachable:
		r.Node.Runtime = "unreachable"
	case s.Runtime.Status != nil:
		r.Node.Runtime = strings.TrimSpace(s.Runtime.Status.RuntimeName + " " + s.Runtime.Status.RuntimeVersion)
	default:
		r.Node.Runtime = "reachable"
	}
	if s.KubeletLog != nil {
		r.Node.KubeletLog = s.KubeletLog.Source
	}
	if r.Node.KubeletLog == "" {
		r.Node.KubeletLog = s.Paths.KubeletLog
	}
	tc := textCtx{dir: a.dir, node: a.ix.nodeName, url: s.StaticPodURL}
	if s.Runtime != nil {
		tc.endpoint = s.Runtime.Endpoint
	}
	r.Node.Findings = a.finish(&a.node, tc)
	for _, id := range a.ix.sortedIDs() {
		pa := a.pods[id]
		e := pa.e
		pr := pa.rep
		pr.ID, pr.Namespace, pr.Name, pr.KubeletName, pr.Manifest = e.id, e.ns, e.name, e.kubeletName, e.manifest
		pr.UID = a.currentUID(pa)
		for _, c := range pa.current {
			cr := ContainerReport{Name: c.Name, ID: c.ID, Image: c.Image, State: strings.ToLower(strings.TrimPrefix(c.State, "CONTAINER_")),
				Ready: c.State == "CONTAINER_RUNNING", RestartCount: c.RestartCount, Reason: c.Reason, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt}
			if c.State == "CONTAINER_EXITED" {
				code := c.ExitCode
				cr.ExitCode = &code
			}
			pr.Restarts += c.RestartCount
			pr.Containers = append(pr.Containers, cr)
		}
		if len(pa.current) == 0 {
			// No runtime: the pod log files number instances by restart count.
			for _, t := range e.tails {
				pr.Restarts += t.Instance
			}
		}
		ptc := tc
		ptc.pod, ptc.file, ptc.orphan = &pr, e.manifest, e.orphan
		ptc.spec = e.pods
		pr.Findings = a.finish(&pa.fs, ptc)
		for i := range pr.Findings {
			pr.Findings[i].Pod = id
		}
		r.Pods = append(r.Pods, pr)
	}
	paths := append([]string(nil), a.fileO...)
	sort.Strings(paths)
	for _, p := range paths {
		fa := a.files[p]
		fr := FileReport{Path: p}
		if fa.file != nil {
			for _, sp := range fa.file.Pods {
				if sp != nil {
					fr.Pods = append(fr.Pods, sp.ID)
				}
			}
		}
		ftc := tc
		ftc.file = p
		ftc.fileObj = fa.file
		fr.Findings = a.finish(&fa.fs, ftc)
		for i := range fr.Findings {
			fr.Findings[i].File = p
		}
		r.Files = append(r.Files, fr)
	}
	r.Summary = summarize(r)
	return r
}

func (a *analyzer) currentUID(pa *podAcc) string {
	if pa.sandbox != nil {
		return pa.sandbox.UID
	}
	for _, p := range pa.e.pods {
		if p.UID != "" {
			return p.UID
		}
	}
	var uids []string
	for u := range pa.e.uids {
		uids = append(uids, u)
	}
	if len(uids) == 1 {
		return uids[0]
	}
	// Several UIDs (the manifest changed): the pod log dirs and records can't tell which is current.
	return ""
}

// finish turns builders into sorted findings with texts and collapsed evidence.
func (a *analyzer) finish(fs *findings, tc textCtx) []Finding {
	out := make([]Finding, 0, len(fs.list))
	for _, b := range fs.list {
		f := b.f
		ev, omitted := collapse(b.recs, a.opts.MaxEvidence)
		f.Evidence = make([]Evidence, 0, len(b.pre)+len(ev)+len(b.post))
		f.Evidence = append(f.Evidence, b.pre...)
		f.Evidence = append(f.Evidence, ev...)
		f.Evidence = append(f.Evidence, b.post...)
		f.EvidenceOmitted = omitted
		describe(&f, b, tc)
		out = append(out, f)
	}
	sortFindings(out)
	return out
}

func summarize(r *Report) Summary {
	var s Summary
	count := func(fs []Finding) (bad bool) {
		for _, f := range fs {
			if f.History {
				continue
			}
			switch f.Severity {
			case SeverityError:
				s.Errors++
				bad = true
			case SeverityWarning:
				s.Warnings++
				bad = true
			}
		}
		return bad
	}
	count(r.Node.Findings)
	for _, f := range r.Files {
		count(f.Findings)
	}
	for _, p := range r.Pods {
		s.Pods++
		if !count(p.Findings) && p.State == "Running" {
			s.Healthy++
		}
	}
	return s
}

func baseName(p string) string {
	if p == "" {
		return ""
	}
	return filepath.Base(p)
}
