// Runtime phase: CRI sandboxes and containers give each pod its current instances, exits and restarts.

package diagnose

import (
	"fmt"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/podview"
)

// runtimeRules attributes CRI sandboxes and containers: current state, exits, OOM kills, restarts.
func (a *analyzer) runtimeRules() {
	rt := a.s.Runtime
	for _, id := range a.ix.order {
		pod := a.pods[id]
		e := pod.e
		if len(e.pods) > 0 && e.pods[0].Pod != nil {
			pod.hostNetwork = e.pods[0].Pod.Spec.HostNetwork
		}
		pod.valid = len(e.pods) > 0
		for _, p := range e.pods {
			if !p.Valid() {
				pod.valid = false
			}
		}
		if rt == nil || !rt.Reachable {
			continue
		}
		var order, expected []string
		if len(e.pods) > 0 && e.pods[0].Pod != nil {
			for _, c := range e.pods[0].Pod.Spec.Containers {
				expected = append(expected, c.Name)
			}
		}
		pod.view = podview.New(e.sandboxes, e.containers, order, expected)
		if pod.view.Sandbox != nil && pod.view.Sandbox.HostNetwork {
			pod.hostNetwork = true
		}
		for _, c := range pod.view.Containers {
			a.containerFacts(pod, c)
		}
	}
}

// failed is the instance whose exit explains the container: the current one when it exited,
// else the newest previous instance the runtime still lists.
func (a *analyzer) containerFacts(pod *podState, c podview.Container) {
	cur, failed := c.Current, c.Current
	running := c.Running()
	if running || cur.State == cri.ContainerCreated {
		if last := c.Last(); last == nil || last.State != cri.ContainerExited {
			if running && cur.RestartCount > 0 {
				b := pod.fs.get(KindContainerRestarted, cur.Name)
				b.pre = append(b.pre, criEvidence(a.s.Runtime.Endpoint, cur))
				b.f.History = a.stable(cur.StartedAt)
			}
			return
		}
		failed = *c.Last()
	}
	if failed.State != cri.ContainerExited {
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
	if sb := pod.view.Sandbox; sb != nil && sb.State == cri.SandboxNotReady && failed.Reason != "OOMKilled" && pod.fs.find(KindCrashLoop) == nil {
		// The kubelet stopped the whole pod (removed, replaced, invalid manifest): its containers
		// were killed, they did not crash.
		return
	}
	b := pod.fs.get(kind, cur.Name)
	code := failed.ExitCode
	b.f.ExitCode = &code
	b.pre = append(b.pre, criEvidence(a.s.Runtime.Endpoint, failed))
	if running {
		b.pre = append(b.pre, criEvidence(a.s.Runtime.Endpoint, cur))
	}
	b.post = a.tailEvidence(pod, cur.Name, running)
	if running && b.last.Before(cur.StartedAt) && a.stable(cur.StartedAt) {
		// Up again for a while: this exit is history unless the log shows it failing after this start.
		b.f.History = true
	}
}

func criEvidence(endpoint string, c cri.Container) Evidence {
	line := fmt.Sprintf("container %s %s (id %s, restart %d)", c.Name, c.State.Short(), shortID(c.ID), c.RestartCount)
	ts := c.StartedAt
	if c.State == cri.ContainerExited {
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
func (a *analyzer) tailEvidence(pod *podState, container string, previous bool) []Evidence {
	for _, t := range pod.e.tails {
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
			src = "pod-log:" + from // a talosctl bundle's kubernetes-logs/<ns>/<container>[-exited].log
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
