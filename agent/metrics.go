package agent

import (
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podview"
)

// Metric names (the contract with alert rules and dashboards: deploy/prometheus).
//
// Label cardinality is bounded by what is on the node: namespace/pod/container come from the
// manifests (a node runs tens of static pods, not thousands), state/kind/severity/result/source
// from fixed vocabularies. No container IDs, UIDs, paths or free text are ever labels.
const (
	MetricStaticPods        = "spdoc_static_pods"
	MetricStaticPodReady    = "spdoc_static_pod_ready"
	MetricRestarts          = "spdoc_static_pod_restarts_total"
	MetricFindings          = "spdoc_findings"
	MetricApplyTotal        = "spdoc_manifest_apply_total"
	MetricApplyDuration     = "spdoc_manifest_apply_duration_seconds"
	MetricLastApplySuccess  = "spdoc_last_apply_success_timestamp_seconds"
	MetricKubeletLogRecords = "spdoc_kubelet_log_records_total"
	MetricSourceUp          = "spdoc_source_up"
	MetricLastRefresh       = "spdoc_last_refresh_timestamp_seconds"
	MetricInfo              = "spdoc_agent_info"
)

// The state label of spdoc_static_pods is podview's vocabulary (the report's, the statuses' and
// the TUI's). Every pod gets one series per state (1 for its state, 0 for the others), like
// kube-state-metrics' kube_pod_status_phase, so a rule can match a state without absent() tricks.

// Sources named by spdoc_source_up.
const (
	SourceRuntime    = "runtime"
	SourceKubeletLog = "kubelet_log"
	SourceManifests  = "manifests"
	SourceKubeletAPI = "kubelet_api"
	SourceAPIServer  = "apiserver"
)

// Apply results of spdoc_manifest_apply_total.
const (
	ApplyOK         = "ok"
	ApplyInvalid    = "invalid"     // a pod failed validation; its last good file stays
	ApplyParseError = "parse_error" // the config did not parse; nothing changed
	ApplyWriteError = "write_error" // a manifest write or removal failed
)

// metrics holds the agent's event metrics; the state metrics are computed at scrape time from
// the agent's current view (stateCollector), so a pod that goes away leaves no stale series.
type metrics struct {
	reg         *prometheus.Registry
	applies     *prometheus.CounterVec
	applyTime   prometheus.Histogram
	lastApplyOK prometheus.Gauge
	records     *prometheus.CounterVec
}

func newMetrics(a *Agent) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricApplyTotal,
			Help: "Reconciles of the agent config into the manifest directory, by result (ok, invalid, parse_error, write_error).",
		}, []string{"result"}),
		applyTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    MetricApplyDuration,
			Help:    "Time to reconcile the config into the manifest directory (render, validate, atomic writes).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		lastApplyOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: MetricLastApplySuccess,
			Help: "Unix time of the last reconcile that wrote every pod of the config (0: none yet).",
		}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricKubeletLogRecords,
			Help: "Kubelet log records the agent followed that diagnosis cares about, by finding kind (other: relevant but unclassified).",
		}, []string{"kind"}),
	}
	for _, r := range []string{ApplyOK, ApplyInvalid, ApplyParseError, ApplyWriteError} {
		m.applies.WithLabelValues(r) // export zeros so increase() works from the first apply
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricInfo, Help: "The agent's version (always 1)."}, []string{"version"})
	info.WithLabelValues(a.opts.Version).Set(1)
	m.reg.MustRegister(m.applies, m.applyTime, m.lastApplyOK, m.records, info, &stateCollector{a: a},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observeApply records one reconcile.
func (m *metrics) observeApply(res *api.ApplyResult, took time.Duration, now time.Time) {
	if m == nil || res == nil {
		return
	}
	m.applyTime.Observe(took.Seconds())
	result := ApplyOK
	switch {
	case res.ParseError != "":
		result = ApplyParseError
	case len(res.Errors) > 0:
		result = ApplyWriteError
	case len(res.Invalid) > 0:
		result = ApplyInvalid
	}
	m.applies.WithLabelValues(result).Inc()
	if result == ApplyOK {
		m.lastApplyOK.Set(float64(now.UnixNano()) / 1e9)
	}
}

// observeRecord counts one followed kubelet record by the finding kind it would give.
func (m *metrics) observeRecord(r *kubeletlog.Record) {
	if m == nil || r == nil {
		return
	}
	kind := "other"
	if k, ok := diagnose.ClassifyRecord(r); ok {
		kind = string(k)
	}
	m.records.WithLabelValues(kind).Inc()
}

// Handler serves the registry in the exposition format Prometheus scrapes.
func (m *metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4, Timeout: 10 * time.Second})
}

// MetricsHandler serves the agent's metrics (for a separate listener; the API mux serves it too).
func (a *Agent) MetricsHandler() http.Handler { return a.metrics.Handler() }

var (
	descPods     = prometheus.NewDesc(MetricStaticPods, "Static pods of the manifest directory by state (1 for the pod's current state, 0 for the others).", []string{"namespace", "pod", "state"}, nil)
	descReady    = prometheus.NewDesc(MetricStaticPodReady, "Whether the static pod is ready (1) or not (0).", []string{"namespace", "pod"}, nil)
	descRestarts = prometheus.NewDesc(MetricRestarts, "Container restarts of the static pod's current sandbox, as the runtime counts them.", []string{"namespace", "pod", "container"}, nil)
	descFindings = prometheus.NewDesc(MetricFindings, "Current (non-history) findings by kind and severity; node- and file-level findings have empty namespace and pod.", []string{"namespace", "pod", "kind", "severity"}, nil)
	descSourceUp = prometheus.NewDesc(MetricSourceUp, "Whether a source the agent reads answered at the last node read (1) or not (0).", []string{"source"}, nil)
	descRefresh  = prometheus.NewDesc(MetricLastRefresh, "Unix time of the agent's last full node read.", nil, nil)
)

// stateCollector renders the agent's current view at scrape time.
type stateCollector struct{ a *Agent }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPods, descReady, descRestarts, descFindings, descSourceUp, descRefresh} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	a.mu.RLock()
	rep, snap, last := a.report, a.snap, a.lastRefresh
	a.mu.RUnlock()
	if !last.IsZero() {
		ch <- prometheus.MustNewConstMetric(descRefresh, prometheus.GaugeValue, float64(last.UnixNano())/1e9)
	}
	// Pods as the report sees them (state, readiness and restarts from the runtime and, where it
	// answers, the kubelet); pods the report lacks (no node read yet) from the runtime statuses.
	type podView struct {
		ns, name, state string
		ready           bool
		restarts        map[string]int
	}
	var pods []podView
	seen := map[string]bool{}
	if rep != nil {
		for _, p := range rep.Pods {
			v := podView{ns: p.Namespace, name: p.Name, state: string(p.State), ready: len(p.Containers) > 0, restarts: map[string]int{}}
			for _, c := range p.Containers {
				v.ready = v.ready && c.Ready
				v.restarts[c.Name] = c.RestartCount
			}
			pods = append(pods, v)
			seen[p.Namespace+"/"+p.Name] = true
		}
	}
	statuses := a.Statuses()
	for _, st := range statuses {
		if seen[st.Namespace+"/"+st.Name] {
			continue
		}
		v := podView{ns: st.Namespace, name: st.Name, state: string(podview.Unknown), ready: st.Ready, restarts: map[string]int{}}
		for _, c := range st.Containers {
			v.restarts[c.Name] = c.RestartCount
		}
		pods = append(pods, v)
	}
	for _, p := range pods {
		ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, b2f(p.ready), p.ns, p.name)
		known := false
		for _, s := range podview.States() {
			v := 0.0
			if string(s) == p.state {
				v, known = 1, true
			}
			ch <- prometheus.MustNewConstMetric(descPods, prometheus.GaugeValue, v, p.ns, p.name, string(s))
		}
		if !known { // a state this build does not list: still exported, never dropped
			ch <- prometheus.MustNewConstMetric(descPods, prometheus.GaugeValue, 1, p.ns, p.name, p.state)
		}
		for ctr, n := range p.restarts {
			ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(n), p.ns, p.name, ctr)
		}
	}
	names := map[string][2]string{}
	for _, p := range a.rec.Pods() {
		names[p.ID] = [2]string{p.Namespace, p.Name}
	}
	for _, st := range statuses {
		names[st.ID] = [2]string{st.Namespace, st.Name}
	}
	for _, f := range currentFindings(rep, a.rec.Findings(), names) {
		ch <- prometheus.MustNewConstMetric(descFindings, prometheus.GaugeValue, float64(f.n), f.ns, f.pod, f.kind, f.sev)
	}
	for _, s := range sourceStates(snap) {
		ch <- prometheus.MustNewConstMetric(descSourceUp, prometheus.GaugeValue, s.up, s.name)
	}
}

type findingCount struct {
	ns, pod, kind, sev string
	n                  int
}

// currentFindings counts the report's and the reconciler's current findings per pod, kind and
// severity (history is left out: alerts are about now).
func currentFindings(rep *diagnose.Report, rec []diagnose.Finding, names map[string][2]string) []findingCount {
	type key struct{ ns, pod, kind, sev string }
	counts := map[key]int{}
	add := func(ns, pod string, fs []diagnose.Finding) {
		for _, f := range fs {
			if f.History {
				continue
			}
			counts[key{ns, pod, string(f.Kind), string(f.Severity)}]++
		}
	}
	if rep != nil {
		add("", "", rep.Node.Findings)
		for _, p := range rep.Pods {
			add(p.Namespace, p.Name, p.Findings)
		}
		for _, f := range rep.Files {
			add("", "", f.Findings)
		}
	}
	for _, f := range rec {
		// The reconciler's findings name the pod by ID (<ns>-<name>, not splittable: namespaces
		// hold dashes); the pod's own resource knows its namespace and name.
		nn, ok := names[f.Pod]
		if !ok && f.Pod != "" {
			nn = [2]string{"", f.Pod}
		}
		add(nn[0], nn[1], []diagnose.Finding{f})
	}
	out := make([]findingCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, findingCount{k.ns, k.pod, k.kind, k.sev, n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ns+"/"+a.pod != b.ns+"/"+b.pod {
			return a.ns+"/"+a.pod < b.ns+"/"+b.pod
		}
		return a.kind+a.sev < b.kind+b.sev
	})
	return out
}

type sourceState struct {
	name string
	up   float64
}

// sourceStates says which sources answered at the last node read. A source that was not
// consulted (no runtime under --no-runtime, no kubelet API configured) has no series at all.
func sourceStates(snap *node.Snapshot) []sourceState {
	if snap == nil {
		return nil
	}
	up := map[string]float64{}
	if snap.Runtime != nil {
		up[SourceRuntime] = b2f(snap.Runtime.Reachable)
	}
	if snap.KubeletLog != nil {
		up[SourceKubeletLog] = b2f(snap.KubeletLog.Error == "")
	}
	if snap.Manifests != nil {
		up[SourceManifests] = 1
	}
	if cp := snap.ControlPlane; cp != nil {
		// A source that is not configured (no kubeconfig on a standalone node) has no series.
		if m := cp.Mirror; m != nil && m.Reason != controlplane.ReasonNoKubeconfig {
			up[SourceAPIServer] = b2f(m.Checked && m.Error == "")
		}
		if k := cp.Kubelet; k != nil {
			up[SourceKubeletAPI] = b2f(k.OK)
		}
	}
	for _, e := range snap.Errors {
		switch e.Source {
		case "manifests":
			up[SourceManifests] = 0
		case "kubelet-log":
			up[SourceKubeletLog] = 0
		case "runtime":
			up[SourceRuntime] = 0
		case "kubelet-api":
			up[SourceKubeletAPI] = 0
		case "apiserver", "mirror-pods":
			up[SourceAPIServer] = 0
		}
	}
	out := make([]sourceState, 0, len(up))
	for n, v := range up {
		out = append(out, sourceState{n, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
