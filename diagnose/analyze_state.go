// State phase: per pod, removals, network pinning, cause folding (causes.go) and the pod state.

package diagnose

import (
	"fmt"

	"github.com/spdoc/spdoc/internal/cri"
)

// podRules: history, root-cause folding, pinning node network problems, not-started pods, state.
func (a *analyzer) podRules() {
	rtUp := a.s.Runtime != nil && a.s.Runtime.Reachable
	netDown := a.node.find(KindNetworkNotReady)
	for _, id := range a.ix.order {
		pod := a.pods[id]
		a.logOnlyFacts(pod, rtUp)
		a.history(pod, rtUp)
		a.halfWritten(pod)
		inv := pod.fs.find(KindManifestInvalid)
		if inv != nil && inv.f.History {
			inv = nil
		}
		// A removed pod: its manifest is gone (orphan) or became invalid; a plain replace is routine.
		if rm := pod.fs.find(KindPodRemoved); rm != nil && !pod.e.orphan && inv == nil && pod.fs.find(KindDuplicatePod) == nil {
			rm.f.Severity = SeverityInfo
			rm.f.History = true
		}
		if pod.e.orphan {
			if rm := pod.fs.find(KindPodRemoved); rm == nil {
				pod.fs.get(KindPodRemoved, "", SeverityInfo)
			}
			for _, b := range pod.fs.list {
				if b.f.Kind == KindPodRemoved {
					b.f.Severity = SeverityInfo
					b.f.History = false
				}
			}
		}
		// Network: a pod without hostNetwork that does not run is blocked by CNI.
		notUp := !a.running(pod)
		if !rtUp {
			notUp = pod.lastStarted.IsZero() // no runtime: the log is all we know
		}
		if netDown != nil && pod.valid && !pod.hostNetwork && notUp && !netDown.f.History {
			b := pod.fs.get(KindNetworkNotReady, "", SeverityError)
			if len(b.recs) == 0 && len(b.pre) == 0 {
				b.pre = append(b.pre, Evidence{Source: "manifest:" + pod.e.manifest, Line: "spec.hostNetwork is not true: the sandbox needs the CNI network", Count: 1})
			}
			for _, o := range pod.fs.list {
				if o.f.Kind == KindSandboxFailed && !o.f.History {
					o.f.Cause = KindNetworkNotReady
				}
			}
			a.netBlocks = true
			netDown.pre = append(netDown.pre, Evidence{Source: "manifest:" + pod.e.manifest,
				Line: fmt.Sprintf("blocks pod %s/%s (not hostNetwork)", pod.e.ns, pod.e.name), Count: 1})
		}
		// A container killed by its liveness probe exits 137/143: the probe explains the restart.
		for _, o := range pod.fs.list {
			if (o.f.Kind != KindCrashLoop && o.f.Kind != KindContainerRestarted) || o.f.Cause != "" || o.f.ExitCode == nil {
				continue
			}
			if code := *o.f.ExitCode; code != 137 && code != 143 {
				continue
			}
			for _, p := range pod.fs.list {
				if p.f.Kind == KindProbeFailed && p.f.Container == o.f.Container && probeType(p) != "Readiness" {
					o.f.Cause = KindProbeFailed
				}
			}
		}
		// Two manifests for one pod: the kubelet flaps between them (ADD/REMOVE, kill, recreate).
		if dup := pod.fs.find(KindDuplicatePod); dup != nil && inv == nil {
			for _, o := range pod.fs.list {
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
			for _, o := range pod.fs.list {
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
		for _, o := range pod.fs.list {
			if o.f.Cause != "" || o.f.History {
				o.f.Severity = SeverityInfo
			}
		}
		if rtUp && pod.valid && !pod.e.orphan && pod.sandbox == nil && len(pod.current) == 0 && !a.hasCurrent(pod) {
			b := pod.fs.get(KindPodNotStarted, "", SeverityWarning)
			b.pre = append(b.pre, Evidence{Source: criSource(a.s.Runtime.Endpoint), Line: "no sandbox and no container for this pod", Count: 1})
			if k := a.node.find(KindKubeletNotRunning); k != nil && k.f.Severity == SeverityError {
				b.f.Cause, b.f.Severity = KindKubeletNotRunning, SeverityInfo
			}
		}
		pod.rep.State = a.state(pod, rtUp)
	}
}

func probeType(b *findingBuilder) string {
	for _, r := range b.recs {
		if v := r.Fields["probeType"]; v != "" {
			return v
		}
	}
	return ""
}

// running: at least one container runs and every other one completed (an init container that
// exited 0 without restarts is done, not down).
func (a *analyzer) running(pod *podState) bool {
	n := 0
	for _, c := range pod.current {
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

func (a *analyzer) hasCurrent(pod *podState) bool {
	for _, b := range pod.fs.list {
		if !b.f.History && b.f.Severity != SeverityInfo && b.f.Kind != KindManifestWarning {
			return true
		}
	}
	return false
}

// blockingKinds keep a pod from starting.
var blockingKinds = map[Kind]bool{KindSandboxFailed: true, KindNetworkNotReady: true, KindVolumeMountFailed: true,
	KindImageNotPresent: true, KindImagePullFailed: true, KindContainerFailed: true, KindPodNotStarted: true,
	KindRuntimeUnreachable: true}

func (a *analyzer) state(pod *podState, rtUp bool) string {
	if pod.e.orphan && !a.running(pod) {
		return "Gone"
	}
	cur := map[Kind]bool{}
	for _, b := range pod.fs.list {
		if !b.f.History && b.f.Cause == "" {
			cur[b.f.Kind] = true
		}
	}
	if !pod.valid && !pod.e.orphan {
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
		if a.running(pod) {
			return "Running"
		}
		if len(pod.current) > 0 || pod.sandbox != nil || len(cur) > 0 {
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
	if !pod.lastStarted.IsZero() {
		return "Running"
	}
	return "Unknown"
}
