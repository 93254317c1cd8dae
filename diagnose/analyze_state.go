// State phase: per pod, removals, network pinning, cause folding (causes.go) and the pod state.

package diagnose

import (
	"fmt"

	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/podview"
)

// podRules runs the per-pod phases: log-only facts, history, removals, network pinning, cause
// folding (causes.go), not-started pods and the pod state.
func (a *analyzer) podRules() {
	rtUp := a.s.Runtime != nil && a.s.Runtime.Reachable
	netDown := a.node.find(KindNetworkNotReady)
	for _, id := range a.ix.order {
		pod := a.pods[id]
		a.logOnlyFacts(pod, rtUp)
		a.history(pod, rtUp)
		a.halfWritten(pod)
		a.removal(pod)
		a.pinNetwork(pod, rtUp, netDown)
		a.foldCauses(pod)
		historyBeforeInvalid(pod)
		settleSeverity(pod)
		a.notStarted(pod, rtUp)
		pod.rep.State = a.state(pod, rtUp)
	}
}

// removal: a removed pod is a problem when its manifest is gone (orphan), became invalid or is
// defined twice; a plain replace after an edit is routine history.
func (a *analyzer) removal(pod *podState) {
	if rm := pod.fs.find(KindPodRemoved); rm != nil && !pod.e.orphan && pod.currentInvalid() == nil && pod.fs.find(KindDuplicatePod) == nil {
		rm.f.Severity = SeverityInfo
		rm.f.History = true
	}
	if pod.e.orphan {
		if rm := pod.fs.find(KindPodRemoved); rm == nil {
			pod.fs.getSeverity(KindPodRemoved, "", SeverityInfo)
		}
		for _, b := range pod.fs.list {
			if b.f.Kind == KindPodRemoved {
				b.f.Severity = SeverityInfo
				b.f.History = false
			}
		}
	}
}

// pinNetwork: a pod without hostNetwork that does not run is blocked by the node's CNI problem;
// the pod gets its own NetworkNotReady (which explains its sandbox failures) and the node's
// finding names the pod.
func (a *analyzer) pinNetwork(pod *podState, rtUp bool, netDown *findingBuilder) {
	notUp := !pod.view.Running()
	if !rtUp {
		notUp = pod.lastStarted.IsZero() // no runtime: the log is all we know
	}
	if netDown == nil || !pod.valid || pod.hostNetwork || !notUp || netDown.f.History {
		return
	}
	b := pod.fs.get(KindNetworkNotReady, "")
	if len(b.recs) == 0 && len(b.pre) == 0 {
		b.pre = append(b.pre, Evidence{Source: "manifest:" + pod.e.manifest, Line: "spec.hostNetwork is not true: the sandbox needs the CNI network", Count: 1})
	}
	pod.networkBlocked = true
	a.netBlocks = true
	netDown.pre = append(netDown.pre, Evidence{Source: "manifest:" + pod.e.manifest,
		Line: fmt.Sprintf("blocks pod %s/%s (not hostNetwork)", pod.e.ns, pod.e.name), Count: 1})
}

// historyBeforeInvalid: what ended before the manifest became invalid is history, not its effect.
func historyBeforeInvalid(pod *podState) {
	inv := pod.currentInvalid()
	if inv == nil {
		return
	}
	for _, o := range pod.fs.list {
		if o == inv || o.f.Kind == KindManifestWarning || o.f.Kind == KindDuplicatePod || o.f.History || o.f.Cause == KindManifestInvalid {
			continue
		}
		if endedBefore(o, inv) {
			o.f.History = true
		}
	}
}

// settleSeverity: a folded or past finding is context (info), not a problem of its own.
func settleSeverity(pod *podState) {
	for _, o := range pod.fs.list {
		if o.f.Cause != "" || o.f.History {
			o.f.Severity = SeverityInfo
		}
	}
}

// notStarted: the runtime has nothing for a valid pod and nothing explains why.
func (a *analyzer) notStarted(pod *podState, rtUp bool) {
	if !rtUp || !pod.valid || pod.e.orphan || !pod.view.Empty() || a.hasCurrent(pod) {
		return
	}
	b := pod.fs.get(KindPodNotStarted, "")
	b.pre = append(b.pre, Evidence{Source: criSource(a.s.Runtime.Endpoint), Line: "no sandbox and no container for this pod", Count: 1})
	a.explain(pod, b)
	settleSeverity(pod)
}

func probeType(b *findingBuilder) string {
	for _, r := range b.recs {
		if v := r.Fields["probeType"]; v != "" {
			return v
		}
	}
	return ""
}

func (a *analyzer) hasCurrent(pod *podState) bool {
	for _, b := range pod.fs.list {
		if !b.f.History && b.f.Severity != SeverityInfo && b.f.Kind != KindManifestWarning {
			return true
		}
	}
	return false
}

func (a *analyzer) state(pod *podState, rtUp bool) podview.State {
	if pod.e.orphan && !pod.view.Running() {
		return podview.Gone
	}
	cur := map[Kind]bool{}
	crashing := false
	for _, b := range pod.fs.list {
		if b.f.History {
			continue
		}
		if b.f.Cause == "" {
			cur[b.f.Kind] = true
		}
		// A crash loop another finding explains (the component's last words, a missing file)
		// is still a crash loop: the kubelet keeps restarting the container and reports it
		// waiting with CrashLoopBackOff. The explanation is the root cause, not the state —
		// unless the runtime shows the pod running again (a liveness kill it came back from).
		if (b.f.Kind == KindCrashLoop || b.f.Kind == KindOOMKilled) && (b.f.Cause == "" || !(rtUp && pod.view.Running())) {
			crashing = true
		}
	}
	if !pod.valid && !pod.e.orphan {
		return podview.Invalid
	}
	if cur[KindManifestInvalid] {
		return podview.Invalid
	}
	if crashing || kernelCrash(pod) || kubeletBackOff(pod.rep.Kubelet) {
		return podview.CrashLoop
	}
	delete(cur, KindPodNotStarted)
	if rtUp {
		if pod.view.Running() {
			return podview.Running
		}
		if !pod.view.Empty() || len(cur) > 0 {
			return podview.Pending
		}
		return podview.NotStarted
	}
	// No runtime: infer from the log. Something that blocks the start means Pending; else a
	// container start in the log means it ran (probe failures and restarts included).
	for k := range cur {
		if blockingKind(k) {
			return podview.Pending
		}
	}
	if !pod.lastStarted.IsZero() {
		return podview.Running
	}
	return podview.Unknown
}

// kubeletBackOff: the kubelet's own status (its /pods) has a container waiting with
// CrashLoopBackOff (kubecontainer.ErrCrashLoopBackOff, the reason generateAPIPodStatus gives a
// container it backs off restarting).
func kubeletBackOff(k *controlplane.KubeletPod) bool {
	if k == nil {
		return false
	}
	for _, c := range k.Containers {
		if c.State == "waiting" && c.Reason == crashLoopBackOff {
			return true
		}
	}
	return false
}
