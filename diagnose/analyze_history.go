// History phase: findings followed by a healthy run become history; log-only facts fill crash findings.

package diagnose

import (
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
		}
		var healthySince time.Time
		if rtUp {
			healthySince = pod.view.HealthySince(b.f.Container)
		} else if pod.lastStarted.After(b.last) && b.f.Kind != KindCrashLoop && b.f.Kind != KindOOMKilled {
			healthySince = pod.lastStarted
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
