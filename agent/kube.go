package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// ConditionStaticPodsHealthy is the Node condition the agent keeps: True when every static pod runs
// as declared, False with the root cause as reason and message otherwise.
const ConditionStaticPodsHealthy corev1.NodeConditionType = "StaticPodsHealthy"

// KubeAPI is what the reporter asks of the API server.
type KubeAPI interface {
	PatchNodeStatus(ctx context.Context, name string, patch []byte) error
	GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	CreateEvent(ctx context.Context, namespace string, ev *corev1.Event) (*corev1.Event, error)
}

// KubeReporterOptions configure the node condition and event reporter.
type KubeReporterOptions struct {
	// Client is the API server (kubeapi.Client; a fake in unit tests).
	Client KubeAPI
	// NodeName is the Node to report on; empty: the name each report carries (detected by
	// the agent from the kubelet's own records and the runtime).
	NodeName string
	// Heartbeat re-sends an unchanged condition this often (default 5m), like the kubelet's
	// nodeStatusReportFrequency, so a stale condition is visible by its lastHeartbeatTime.
	Heartbeat time.Duration
	// EventBackoff is the first quiet time before the same root cause may be recorded again after
	// it went away and came back (default 5m); it doubles per flap up to MaxEventBackoff (1h).
	EventBackoff    time.Duration
	MaxEventBackoff time.Duration
	// Settle is how long the static pods must stay healthy before the condition goes back to True
	// (default 2m): a flapping pod keeps it False instead of flipping it every restart.
	Settle time.Duration
	// MessageInterval spaces updates that only change the message (restart counts, durations)
	// (default 1m). Status and reason changes are sent at once.
	MessageInterval time.Duration
	// Timeout bounds each API call (default 10s): an API server that hangs never stalls the agent.
	Timeout time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// KubeReporter carries the agent's diagnosis into Kubernetes itself: a Node condition and Events
// on the mirror pod (or the Node when there is none) for new root causes. It is fed reports and
// never blocks the agent: the latest report wins.
type KubeReporter struct {
	opts KubeReporterOptions
	log  *slog.Logger
	in   chan *diagnose.Report

	lastSent     *corev1.NodeCondition
	lastSentAt   time.Time
	healthySince time.Time            // when the reports turned healthy (zero while they show a problem)
	seq          int64                // makes event names unique within one instant
	active       map[string]bool      // root causes of the last report
	quietUntil   map[string]time.Time // per root cause: no new event before this time
	backoff      map[string]time.Duration

	mu       sync.Mutex
	findings []diagnose.Finding // refusals by the API server, until a call succeeds again
	stats    KubeReporterStats
	onChange func() // the agent republishes its findings when the reporter's change
}

// KubeReporterStats counts what the reporter sent (for tests and benchmarks).
type KubeReporterStats struct {
	ConditionUpdates int
	Events           int
	Errors           int
}

// NewKubeReporter checks the options.
func NewKubeReporter(opts KubeReporterOptions) (*KubeReporter, error) {
	if opts.Client == nil {
		return nil, errors.New("kube reporter: no API client")
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 5 * time.Minute
	}
	if opts.EventBackoff <= 0 {
		opts.EventBackoff = 5 * time.Minute
	}
	if opts.MaxEventBackoff <= 0 {
		opts.MaxEventBackoff = time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Settle <= 0 {
		opts.Settle = 2 * time.Minute
	}
	if opts.MessageInterval <= 0 {
		opts.MessageInterval = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &KubeReporter{opts: opts, log: opts.Logger, in: make(chan *diagnose.Report, 1),
		active: map[string]bool{}, quietUntil: map[string]time.Time{}, backoff: map[string]time.Duration{}}, nil
}

// Offer hands the reporter the latest report without waiting (an older one not yet sent is
// replaced).
func (k *KubeReporter) Offer(rep *diagnose.Report) {
	if rep == nil {
		return
	}
	for {
		select {
		case k.in <- rep:
			return
		default:
		}
		select {
		case <-k.in:
		default:
		}
	}
}

// Run sends reports until ctx is done; an unchanged condition is re-sent every Heartbeat.
func (k *KubeReporter) Run(ctx context.Context) {
	tick := time.NewTicker(k.opts.Heartbeat)
	defer tick.Stop()
	var last *diagnose.Report
	for {
		select {
		case <-ctx.Done():
			return
		case rep := <-k.in:
			last = rep
			k.Sync(ctx, rep)
		case <-tick.C:
			if last != nil {
				k.Sync(ctx, last)
			}
		}
	}
}

// Findings are the reporter's own problems (the API server refusing a condition or an event).
func (k *KubeReporter) Findings() []diagnose.Finding {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]diagnose.Finding(nil), k.findings...)
}

// Stats says how much was sent.
func (k *KubeReporter) Stats() KubeReporterStats {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stats
}

// Sync brings the Node condition and the events in line with rep.
func (k *KubeReporter) Sync(ctx context.Context, rep *diagnose.Report) {
	now := k.opts.Now()
	if k.opts.NodeName == "" {
		if rep.Node.Name == "" {
			k.log.Warn("no node name yet: node condition and events wait for one (set --node-name)")
			return
		}
		k.opts.NodeName = rep.Node.Name
	}
	var errs []error
	if err := k.syncCondition(ctx, rep, now); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, k.syncEvents(ctx, rep, now)...)
	k.mu.Lock()
	changed := len(k.findings) > 0 || len(errs) > 0
	k.findings = nil
	for _, err := range errs {
		k.stats.Errors++
		k.log.Warn("reporting to the API server", "err", err)
		k.findings = append(k.findings, refusalFinding(err, now))
	}
	onChange := k.onChange
	k.mu.Unlock()
	if changed && onChange != nil {
		onChange()
	}
}

// Condition is the StaticPodsHealthy condition rep gives (times left to the caller).
func Condition(rep *diagnose.Report) corev1.NodeCondition {
	probs := diagnose.RootCauses(rep)
	if len(probs) == 0 {
		return corev1.NodeCondition{Type: ConditionStaticPodsHealthy, Status: corev1.ConditionTrue,
			Reason: "StaticPodsRunning", Message: fmt.Sprintf("spdoc: %d static pods run as their manifests declare", len(rep.Pods))}
	}
	first := probs[0]
	msg := fmt.Sprintf("spdoc: %s: %s", first.Where, first.Finding.Title)
	if n := len(probs) - 1; n > 0 {
		msg += fmt.Sprintf(" (+%d more: spdoc diagnose)", n)
	}
	return corev1.NodeCondition{Type: ConditionStaticPodsHealthy, Status: corev1.ConditionFalse,
		Reason: string(first.Finding.Kind), Message: cutMessage(msg, 1024)}
}

func (k *KubeReporter) syncCondition(ctx context.Context, rep *diagnose.Report, now time.Time) error {
	c := Condition(rep)
	if c.Status == corev1.ConditionTrue {
		if k.healthySince.IsZero() {
			k.healthySince = now
		}
		if k.lastSent != nil && k.lastSent.Status == corev1.ConditionFalse && now.Sub(k.healthySince) < k.opts.Settle {
			c = *k.lastSent // not settled yet: keep saying False (heartbeats included)
		}
	} else {
		k.healthySince = time.Time{}
	}
	if k.lastSent != nil {
		since := now.Sub(k.lastSentAt)
		sameState := k.lastSent.Status == c.Status && k.lastSent.Reason == c.Reason
		switch {
		case sameState && k.lastSent.Message == c.Message && since < k.opts.Heartbeat:
			return nil
		case sameState && since < k.opts.MessageInterval:
			return nil // only the message moved (a restart count): wait
		}
	}
	c.LastHeartbeatTime = metav1.NewTime(now)
	c.LastTransitionTime = metav1.NewTime(now)
	if k.lastSent != nil && k.lastSent.Status == c.Status {
		c.LastTransitionTime = k.lastSent.LastTransitionTime
	}
	// Strategic merge on status.conditions merges by type: the kubelet's own conditions stay.
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.NodeCondition{c}}})
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, k.opts.Timeout)
	defer cancel()
	if err := k.opts.Client.PatchNodeStatus(cctx, k.opts.NodeName, patch); err != nil {
		return fmt.Errorf("setting node %s condition %s: %w", k.opts.NodeName, ConditionStaticPodsHealthy, err)
	}
	k.lastSent, k.lastSentAt = &c, now
	k.mu.Lock()
	k.stats.ConditionUpdates++
	k.mu.Unlock()
	k.log.Info("node condition set", "node", k.opts.NodeName, "condition", c.Type, "status", c.Status, "reason", c.Reason)
	return nil
}

func (k *KubeReporter) syncEvents(ctx context.Context, rep *diagnose.Report, now time.Time) []error {
	var errs []error
	current := map[string]bool{}
	probs := diagnose.RootCauses(rep)
	pods := map[string]diagnose.PodReport{}
	for _, p := range rep.Pods {
		pods[p.Namespace+"/"+p.Name] = p
	}
	for _, p := range probs {
		key := string(p.Finding.Kind) + "\x00" + p.Where + "\x00" + p.Finding.Container
		current[key] = true
		if k.active[key] {
			continue // still the same problem: already told
		}
		if now.Before(k.quietUntil[key]) {
			continue // flapping: came back too soon after the last event
		}
		if err := k.recordEvent(ctx, p, pods[p.Where], now); err != nil {
			errs = append(errs, err)
			current[key] = false // not told: try again next time
			continue
		}
		b := k.backoff[key]
		if b == 0 {
			b = k.opts.EventBackoff
		} else {
			b = min(2*b, k.opts.MaxEventBackoff)
		}
		k.backoff[key], k.quietUntil[key] = b, now.Add(b)
	}
	for key := range k.active {
		if !current[key] && now.After(k.quietUntil[key].Add(k.opts.MaxEventBackoff)) {
			delete(k.backoff, key) // long healthy: forget the flapping history
			delete(k.quietUntil, key)
		}
	}
	k.active = current
	return errs
}

// recordEvent writes one Warning event about p: on the mirror pod when the pod has one (the API
// server knows it), else on the Node.
func (k *KubeReporter) recordEvent(ctx context.Context, p diagnose.Problem, pod diagnose.PodReport, now time.Time) error {
	cctx, cancel := context.WithTimeout(ctx, k.opts.Timeout)
	defer cancel()
	cs := k.opts.Client
	ref := corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: k.opts.NodeName, UID: types.UID(k.opts.NodeName)}
	ns := metav1.NamespaceDefault
	if pod.Name != "" {
		name := pod.KubeletName
		if name == "" {
			name = staticpod.PodName(pod.Name, k.opts.NodeName)
		}
		if mp, err := cs.GetPod(cctx, pod.Namespace, name); err == nil {
			ref = corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: mp.Namespace, Name: mp.Name, UID: mp.UID}
			ns = mp.Namespace
			if p.Finding.Container != "" {
				ref.FieldPath = fmt.Sprintf("spec.containers{%s}", p.Finding.Container)
			}
		}
	}
	msg := p.Finding.Title
	if p.Where != "node" && ref.Kind == "Node" {
		msg = p.Where + ": " + msg
	}
	if p.Finding.Hint != "" {
		msg += " → " + p.Finding.Hint
	}
	ev := &corev1.Event{
		// Named like client-go's recorder does (<object>.<unix nanos in hex>).
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", strings.ToLower(ref.Name), now.UnixNano()+k.nextSeq()), Namespace: ns},
		InvolvedObject:      ref,
		Reason:              string(p.Finding.Kind),
		Message:             cutMessage(msg, 1024),
		Type:                corev1.EventTypeWarning,
		Source:              corev1.EventSource{Component: "spdoc-agent", Host: k.opts.NodeName},
		ReportingController: "spdoc.dev/agent",
		ReportingInstance:   "spdoc-agent-" + k.opts.NodeName,
		FirstTimestamp:      metav1.NewTime(now),
		LastTimestamp:       metav1.NewTime(now),
		Count:               1,
	}
	if _, err := cs.CreateEvent(cctx, ns, ev); err != nil {
		return fmt.Errorf("recording event %s on %s %s: %w", ev.Reason, strings.ToLower(ref.Kind), refName(ref), err)
	}
	k.mu.Lock()
	k.stats.Events++
	k.mu.Unlock()
	k.log.Info("event recorded", "reason", ev.Reason, "on", ref.Kind, "name", refName(ref))
	return nil
}

func (k *KubeReporter) nextSeq() int64 {
	k.seq++
	return k.seq
}

func refName(ref corev1.ObjectReference) string {
	if ref.Namespace != "" {
		return ref.Namespace + "/" + ref.Name
	}
	return ref.Name
}

// refusalFinding explains an API server refusal of what the agent tried to write.
func refusalFinding(err error, now time.Time) diagnose.Finding {
	hint := "check the API server is reachable from the node and the agent's kubeconfig"
	title := "the agent cannot report to the API server"
	switch {
	case apierrors.IsForbidden(err):
		title = "the API server refuses the agent's node condition or events (RBAC)"
		hint = "grant the agent's identity patch on nodes/status and create on events (deploy/kustomize/base/rbac.yaml), or run it with the kubelet's kubeconfig"
	case apierrors.IsUnauthorized(err):
		title = "the API server does not accept the agent's credentials"
		hint = "check the agent's kubeconfig or service account token"
	case apierrors.IsNotFound(err):
		title = "the agent's Node is not registered with the API server"
		hint = "check --node-name matches the kubelet's node name (kubectl get nodes)"
	}
	return diagnose.Finding{Kind: diagnose.KindSourceError, Severity: diagnose.SeverityWarning, Title: title, Detail: err.Error(), Hint: hint,
		Evidence: []diagnose.Evidence{{Source: "apiserver", TS: now, Line: err.Error(), Count: 1}}}
}

func cutMessage(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && (s[cut]&0xC0) == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
