// Runtime phase: CRI sandboxes and containers give each pod its current instances, exits and restarts.

package diagnose

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/podlog"
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
		// The current sandbox is the newest; its containers are the pod's current instances.
		for i := range e.sandboxes {
			sb := &e.sandboxes[i]
			if pod.sandbox == nil || sb.CreatedAt.After(pod.sandbox.CreatedAt) || (sb.CreatedAt.Equal(pod.sandbox.CreatedAt) && sb.Attempt > pod.sandbox.Attempt) {
				pod.sandbox = sb
			}
		}
		if pod.sandbox != nil && pod.sandbox.HostNetwork {
			pod.hostNetwork = true
		}
		byName := map[string][]cri.Container{}
		var names []string
		for _, c := range e.containers {
			if pod.sandbox != nil && c.SandboxID != "" && c.SandboxID != pod.sandbox.ID && c.PodUID != pod.sandbox.UID {
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
			pod.current = append(pod.current, cur)
			a.containerFacts(pod, cur, cs[1:])
		}
	}
}

// failed is the instance whose exit explains the container: the current one when it exited,
// else the newest previous instance the runtime still lists.
func (a *analyzer) containerFacts(pod *podState, cur cri.Container, prev []cri.Container) {
	failed := cur
	running := cur.State == "CONTAINER_RUNNING"
	if running || cur.State == "CONTAINER_CREATED" {
		if len(prev) == 0 || prev[0].State != "CONTAINER_EXITED" {
			if running && cur.RestartCount > 0 {
				b := pod.fs.get(KindContainerRestarted, cur.Name)
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
	if pod.sandbox != nil && pod.sandbox.State == "SANDBOX_NOTREADY" && failed.Reason != "OOMKilled" && pod.fs.find(KindCrashLoop) == nil {
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
func (a *analyzer) tailEvidence(pod *podState, container string, previous bool) []Evidence {
	for _, t := range pod.e.tails {
		if t.Container != container {
			continue
		}
		lines, inst := t.Current, t.Instance
		if previous || len(lines) == 0 {
			if len(t.Previous) > 0 {
				lines, inst = t.Previous, t.Instance-1
			}
		}
		if len(lines) > a.opts.TailLines {
			lines = lines[len(lines)-a.opts.TailLines:]
		}
		src := fmt.Sprintf("pod-log:%s/%s/%d.log", strings.ReplaceAll(t.Pod, "/", "_"), container, inst)
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
