// History phase: findings followed by a healthy run become history; log-only facts fill crash findings.

package diagnose

import (
	"strings"
	"time"
)

// halfWritten turns a short burst of "invalid pod" records for a manifest that validates now into
// a TransientParseError on the file: a file read while it was being written in place looks
// invalid (or unparseable) for a moment, then fine.
func (a *analyzer) halfWritten(pod *podState) {
	const burst = 5 * time.Second
	for _, b := range pod.fs.list {
		if b.f.Kind != KindManifestInvalid || !b.f.History || len(b.pre) > 0 || b.last.Sub(b.first) > burst || b.f.File == "" {
			continue
		}
		t := a.file(b.f.File).fs.get(KindTransientParseError, "")
		t.recs = append(t.recs, b.recs...)
		t.first, t.last = b.first, b.last
		pod.fs.remove(b)
		return
	}
}

// logOnlyFacts completes crash findings from the kubelet log and pod log files when the runtime
// could not say: the last exit code, the failed instance's last lines, the restart count.
func (a *analyzer) logOnlyFacts(pod *podState, rtUp bool) {
	for _, b := range pod.fs.list {
		if b.f.Kind != KindCrashLoop && b.f.Kind != KindOOMKilled {
			continue
		}
		if b.f.ExitCode == nil && pod.lastExit != nil {
			code := *pod.lastExit
			b.f.ExitCode = &code
		}
		c := b.f.Container
		if c == "" && len(pod.e.tails) == 1 {
			c = pod.e.tails[0].Container
		}
		for _, t := range pod.e.tails {
			if t.Container == c && t.Instance > b.restarts {
				b.restarts = t.Instance
			}
		}
		if len(b.post) == 0 && !rtUp {
			// Without the runtime the newest instance is the one the kubelet reported failing.
			b.post = a.tailEvidence(pod, c, false)
		}
	}
}

// history marks log findings followed by a healthy run: the container (or, for pod-level
// findings, every container) started after the finding's last record.
func (a *analyzer) history(pod *podState, rtUp bool) {
	for _, b := range pod.fs.list {
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
				started := pod.lastStarted
				for _, c := range pod.view.Containers {
					if c.Current.StartedAt.After(started) {
						started = c.Current.StartedAt
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
		case KindMirrorPodFailed:
			if a.mirrorHistory(pod, b) {
				continue
			}
		case KindProbeFailed:
			if readyNow(pod, b) {
				b.f.History = true
				continue
			}
		}
		var healthySince time.Time
		if rtUp {
			healthySince = pod.view.HealthySince(b.f.Container)
		} else if pod.lastStarted.After(b.last) && b.f.Kind != KindCrashLoop && b.f.Kind != KindOOMKilled {
			healthySince = pod.lastStarted
		}
		crashy := b.f.Kind == KindCrashLoop || b.f.Kind == KindOOMKilled || b.f.Kind == KindProbeFailed ||
			b.f.Kind == KindKernelOOMKill || b.f.Kind == KindKernelSegfault
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

// mirrorHistory decides a MirrorPodFailed finding the mirror pod's own facts can decide, and
// says whether it did. The API server refuses mirror pods for a moment on every fresh control
// plane (its system PriorityClasses and namespaces appear after it starts answering): a refusal
// is history once the mirror pod exists — the API server lists it for the manifest that runs now,
// or a later kubelet record shows the kubelet got through (mirrorSynced). While the API server
// says the mirror pod is missing it stays current, whatever else happened since.
func (a *analyzer) mirrorHistory(pod *podState, b *findingBuilder) bool {
	if pod.fs.find(KindMirrorPodMissing) != nil {
		return true
	}
	if pod.rep.Mirror != nil && pod.fs.find(KindMirrorPodOutdated) == nil {
		b.f.History, b.variant = true, "exists"
		return true
	}
	if pod.mirrorSynced.After(b.last) {
		b.f.History, b.variant = true, "synced"
		return true
	}
	// The kubelet retries on every sync of the pod (syncPod → tryReconcileMirrorPods, requeued
	// every syncFrequency with jitter 0.5: 90 s at most by default) and logs each failure at V0.
	// A log that goes on long after the last failure with no other one: it stopped failing. This
	// is what tells on kubelets that log no attempt at V0 (1.33 and older).
	if !pod.e.orphan && !a.logEnd.IsZero() && a.logEnd.Sub(b.last) > mirrorQuiet {
		b.f.History, b.variant = true, "quiet"
		return true
	}
	return false
}

// mirrorQuiet is how long a log must go on after the last mirror pod failure, with no other one,
// for it to count as over: more than three default pod resyncs.
const mirrorQuiet = 5 * time.Minute

// readyNow: readiness (or startup) probe failures of a container the kubelet itself reports
// Ready and running now (its /pods): the probe passes now, so they are history. A container
// waits unready after every start until its readiness probe passes — a kube-scheduler answers
// 500 on /readyz until its informers have synced — which is not a problem once it is Ready.
// Liveness failures are left to the restart-based rule: Ready says nothing about them.
func readyNow(pod *podState, b *findingBuilder) bool {
	kp := pod.rep.Kubelet
	if kp == nil || b.f.Container == "" || len(b.recs) == 0 {
		return false
	}
	ready := false
	for _, c := range kp.Containers {
		if c.Name == b.f.Container {
			ready = c.Ready && c.State == "running"
		}
	}
	if !ready {
		return false
	}
	for _, r := range b.recs {
		pt := strings.ToLower(r.Fields["probeType"])
		if pt == "" {
			switch t := strings.ToLower(r.Msg + " " + r.Err); {
			case strings.Contains(t, "failed readiness probe"):
				pt = "readiness"
			case strings.Contains(t, "failed startup probe"):
				pt = "startup"
			}
		}
		if pt != "readiness" && pt != "startup" {
			return false
		}
	}
	return true
}
