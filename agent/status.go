package agent

import (
	"sort"
	"strings"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podview"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// Statuses derives a StaticPodStatus for every pod of every manifest in the snapshot's manifest
// dir (ours and foreign) from the runtime's sandboxes and containers.
func Statuses(snap *node.Snapshot) []api.StaticPodStatus {
	if snap == nil {
		return nil
	}
	var out []api.StaticPodStatus
	seen := map[string]bool{}
	for _, p := range snap.StaticPods() { // the manifests' and the kubelet's staticPodURL's
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
	st := api.StaticPodStatus{ID: podID(p), Namespace: ns, Name: p.Name, Manifest: p.Source, UID: p.UID, Phase: podview.NotStarted}
	if snap.Node.Name != "" {
		st.KubeletName = staticpod.PodName(p.Name, snap.Node.Name)
	}
	rt := snap.Runtime
	if rt == nil {
		st.Phase = podview.Unknown
		st.RuntimeError = "runtime not consulted"
		return st
	}
	if !rt.Reachable {
		st.Phase = podview.Unknown
		st.RuntimeError = rt.Error
		if st.RuntimeError == "" {
			st.RuntimeError = "runtime unreachable"
		}
		return st
	}
	kname := st.KubeletName
	if kname == "" {
		kname = guessKubeletName(rt.Sandboxes, ns, p.Name)
	}
	var spec []string
	if p.Pod != nil {
		for _, c := range p.Pod.Spec.Containers {
			spec = append(spec, c.Name)
		}
	}
	sbs, cs := podview.Select(rt.Sandboxes, rt.Containers, ns, kname, p.UID)
	view := podview.New(sbs, cs, spec, spec)
	if sb := view.Sandbox; sb != nil {
		st.SandboxID, st.SandboxState, st.IP = sb.ID, string(sb.State), sb.IP
		if st.UID == "" {
			st.UID = sb.UID
		}
		if st.KubeletName == "" {
			st.KubeletName = sb.Name
		}
	}
	for _, vc := range view.Containers {
		c := vc.Current
		st.Containers = append(st.Containers, api.ContainerStatus{
			Name: c.Name, ID: c.ID, Image: c.Image, State: c.State.Short(), Ready: vc.Running(), RestartCount: c.RestartCount,
			ExitCode: c.ExitCode, Reason: c.Reason, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt, PID: c.PID,
		})
	}
	st.Phase = view.State()
	st.Ready = st.Phase == podview.Running
	return st
}

// guessKubeletName: without the node name, the pod's kubelet name is that of its newest sandbox
// named <name>-<something> in its namespace.
func guessKubeletName(sbs []cri.Sandbox, ns, name string) string {
	var best *cri.Sandbox
	for i := range sbs {
		sb := &sbs[i]
		if sb.Namespace == ns && strings.HasPrefix(sb.Name, name+"-") && (best == nil || podview.Newer(sb, best)) {
			best = sb
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}
