package agent

import (
	"sort"
	"strings"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// Statuses derives a StaticPodStatus for every pod of every manifest in the snapshot's manifest
// dir (ours and foreign) from the runtime's sandboxes and containers.
func Statuses(snap *node.Snapshot) []api.StaticPodStatus {
	if snap == nil || snap.Manifests == nil {
		return nil
	}
	var out []api.StaticPodStatus
	seen := map[string]bool{}
	for _, p := range snap.Manifests.Pods() {
		id := podID(p)
		if seen[id] { // a duplicate definition: the kubelet runs one pod, report it once
			continue
		}
		seen[id] = true
		out = append(out, podStatus(snap, p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func podStatus(snap *node.Snapshot, p *staticpod.StaticPod) api.StaticPodStatus {
	ns := namespaceOf(p)
	st := api.StaticPodStatus{ID: podID(p), Namespace: ns, Name: p.Name, Manifest: p.Source, UID: p.UID, Phase: "NotStarted"}
	if snap.Node.Name != "" {
		st.KubeletName = staticpod.PodName(p.Name, snap.Node.Name)
	}
	rt := snap.Runtime
	if rt == nil {
		st.Phase = "Unknown"
		st.RuntimeError = "runtime not consulted"
		return st
	}
	if !rt.Reachable {
		st.Phase = "Unknown"
		st.RuntimeError = rt.Error
		if st.RuntimeError == "" {
			st.RuntimeError = "runtime unreachable"
		}
		return st
	}
	sb := findSandbox(rt.Sandboxes, ns, p.Name, st.KubeletName, p.UID)
	if sb == nil {
		return st
	}
	st.SandboxID, st.SandboxState, st.IP = sb.ID, sb.State, sb.IP
	if st.UID == "" {
		st.UID = sb.UID
	}
	if st.KubeletName == "" {
		st.KubeletName = sb.Name
	}
	latest := map[string]cri.Container{}
	for _, c := range rt.Containers {
		if c.SandboxID != sb.ID {
			continue
		}
		if prev, ok := latest[c.Name]; !ok || c.Attempt > prev.Attempt || (c.Attempt == prev.Attempt && c.CreatedAt.After(prev.CreatedAt)) {
			latest[c.Name] = c
		}
	}
	names := make([]string, 0, len(latest))
	for n := range latest {
		names = append(names, n)
	}
	// Manifest order first, then anything else the runtime has.
	order := map[string]int{}
	if p.Pod != nil {
		for i, c := range p.Pod.Spec.Containers {
			order[c.Name] = i + 1
		}
	}
	sort.Slice(names, func(i, j int) bool {
		oi, oj := order[names[i]], order[names[j]]
		if oi != oj {
			if oi == 0 || oj == 0 {
				return oi != 0
			}
			return oi < oj
		}
		return names[i] < names[j]
	})
	running, failed := 0, false
	for _, n := range names {
		c := latest[n]
		cs := api.ContainerStatus{
			Name: c.Name, ID: c.ID, Image: c.Image, State: containerState(c.State), RestartCount: c.RestartCount,
			ExitCode: c.ExitCode, Reason: c.Reason, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt, PID: c.PID,
		}
		cs.Ready = cs.State == "running"
		if cs.Ready {
			running++
		}
		if cs.State == "exited" && c.ExitCode != 0 {
			failed = true
		}
		st.Containers = append(st.Containers, cs)
	}
	want := len(order)
	if want == 0 {
		want = len(names)
	}
	switch {
	case sb.State == "SANDBOX_READY" && want > 0 && running >= want:
		st.Phase, st.Ready = "Running", true
	case failed:
		st.Phase = "Failed"
	default:
		st.Phase = "Pending"
	}
	return st
}

// findSandbox picks the newest sandbox of the pod, a ready one over a not-ready one.
func findSandbox(sbs []cri.Sandbox, ns, name, kubeletName, uid string) *cri.Sandbox {
	var best *cri.Sandbox
	for i := range sbs {
		sb := &sbs[i]
		if sb.Namespace != ns {
			continue
		}
		match := (uid != "" && sb.UID == uid) || (kubeletName != "" && sb.Name == kubeletName) ||
			(kubeletName == "" && strings.HasPrefix(sb.Name, name+"-"))
		if !match {
			continue
		}
		if best == nil || better(sb, best) {
			best = sb
		}
	}
	return best
}

func better(a, b *cri.Sandbox) bool {
	ar, br := a.State == "SANDBOX_READY", b.State == "SANDBOX_READY"
	if ar != br {
		return ar
	}
	return a.CreatedAt.After(b.CreatedAt)
}

func containerState(s string) string {
	switch s {
	case "CONTAINER_RUNNING":
		return "running"
	case "CONTAINER_EXITED":
		return "exited"
	case "CONTAINER_CREATED":
		return "created"
	case "":
		return "unknown"
	}
	return strings.ToLower(strings.TrimPrefix(s, "CONTAINER_"))
}
