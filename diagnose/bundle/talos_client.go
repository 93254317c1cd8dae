package bundle

import (
	"context"
	"fmt"
	"strings"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/nextstep"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// TalosClient is a node.Client over one node folder of a talosctl support bundle: a fixed
// snapshot, the kube-system container logs by container name and the kubelet's service log.
type TalosClient struct {
	b  *TalosBundle
	tn *TalosNode
}

var _ node.Client = (*TalosClient)(nil)

// NewTalosClient serves tn from b (b stays open until Close of the bundle).
func NewTalosClient(b *TalosBundle, tn *TalosNode) *TalosClient { return &TalosClient{b: b, tn: tn} }

// LimitsFinding is what the bundle cannot show about this node, as one node-level info
// finding (so every output format carries it); false when there is nothing to say.
func (tn *TalosNode) LimitsFinding() (diagnose.Finding, bool) {
	if len(tn.Limits) == 0 {
		return diagnose.Finding{}, false
	}
	name := tn.Dir
	if n := tn.Snapshot.Node.Name; n != "" && n != name {
		name += " (" + n + ")"
	}
	f := diagnose.Finding{Kind: diagnose.KindSourceError, Severity: diagnose.SeverityInfo,
		Title:  "what this talosctl support bundle cannot show about node " + name,
		Detail: "A talosctl support bundle is not a copy of the node: spdoc read the kubelet's service log, the static pods Talos serves the kubelet, their StaticPodStatus and the kube-system container logs. The rest is out of reach.",
		Hint:   "for what is missing, run " + nextstep.LiveNode + "spdoc diagnose (or talosctl logs kubelet / talosctl get staticpodstatus)"}
	for _, l := range tn.Limits {
		f.Evidence = append(f.Evidence, diagnose.Evidence{Source: "talos-bundle:" + tn.Dir, Line: l, Count: 1})
	}
	return f, true
}

// Node is the node folder and its limits.
func (c *TalosClient) Node() *TalosNode { return c.tn }

func (c *TalosClient) Snapshot(context.Context) (*node.Snapshot, error) {
	s := *c.tn.Snapshot
	return &s, nil
}

func (c *TalosClient) Describe() string { return "talosctl bundle " + c.b.Path + " node " + c.tn.Dir }

// Close is a no-op: the bundle is closed by whoever opened it.
func (c *TalosClient) Close() error { return nil }

// ContainerLog streams kubernetes-logs/<ns>/<container>[-exited].log: the current instance, or
// with Previous the last exited one. Talos names the files by container name only.
func (c *TalosClient) ContainerLog(ctx context.Context, req node.LogRequest, fn func(podlog.Line) error) error {
	ns := req.Namespace
	if ns == "" {
		ns = "kube-system"
	}
	container := req.Container
	if container == "" {
		for _, p := range c.tn.Snapshot.StaticPods() {
			if p.Pod != nil && p.Namespace == ns && (p.Name == req.Pod || p.ID == req.Pod || staticpod.PodName(p.Name, c.tn.Snapshot.Node.Name) == req.Pod) && len(p.Pod.Spec.Containers) > 0 {
				container = p.Pod.Spec.Containers[0].Name
			}
		}
	}
	if container == "" {
		return fmt.Errorf("pod %s/%s: no such static pod in the bundle: %w", ns, req.Pod, node.ErrNotFound)
	}
	name := c.tn.Dir + "/" + TalosKubernetesLogs + "/" + ns + "/" + container + ".log"
	idx := 0
	previous := req.Previous
	if req.ContainerID != "" {
		exited, err := c.instanceByID(ns, req.Pod, container, req.ContainerID)
		if err != nil {
			return err
		}
		previous = exited
	}
	if previous || c.b.Count(name) == 0 {
		name = strings.TrimSuffix(name, ".log") + talosExitedSuffix
		idx = c.b.Count(name) - 1
	}
	if c.b.Count(name) == 0 {
		return fmt.Errorf("container %s of %s/%s: the bundle has no %s (talosctl collects kube-system only): %w", container, ns, req.Pod, strings.TrimPrefix(name, c.tn.Dir+"/"), node.ErrNotFound)
	}
	lines := c.b.tailN(name, idx, req.Tail)
	for _, l := range lines {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return waitIfFollow(ctx, req.Follow)
}

// instanceByID finds which file holds the instance of container whose ID is id (or starts with
// it): the bundle's StaticPodStatus names the running instance (<container>.log) and the last
// exited one (<container>-exited.log). exited says which; an ID it does not name is an error
// that names the IDs it does.
func (c *TalosClient) instanceByID(ns, pod, container, id string) (exited bool, err error) {
	id = strings.ToLower(strings.TrimSpace(trimRuntime(id)))
	var known []string
	found := 0
	kubeletName := pod
	for _, p := range c.tn.Snapshot.StaticPods() {
		if p.Namespace == ns && (p.Name == pod || p.ID == pod) {
			kubeletName = staticpod.PodName(p.Name, c.tn.Snapshot.Node.Name)
		}
	}
	if rt := c.tn.Snapshot.Runtime; rt != nil {
		for _, k := range rt.Containers {
			if k.Name != container || k.PodNamespace != ns || k.PodName != kubeletName {
				continue
			}
			known = append(known, k.ID)
			if id != "" && strings.HasPrefix(k.ID, id) {
				found++
				exited = k.State == cri.ContainerExited
			}
		}
	}
	switch {
	case found == 1:
		return exited, nil
	case found > 1:
		return false, fmt.Errorf("container ID %s of %s/%s:%s is ambiguous: give more of it", id, ns, pod, container)
	}
	names := "the bundle's StaticPodStatus names none"
	if len(known) > 0 {
		names = "the bundle's StaticPodStatus names " + strings.Join(known, ", ")
	}
	return false, fmt.Errorf("container %s of %s/%s has no instance with ID %s in the bundle (%s): %w", container, ns, pod, id, names, node.ErrNotFound)
}

// waitIfFollow: a bundle never grows, so following it is waiting until the reader is done (the
// way following an unchanged file of a copied node behaves), not ending the stream early.
func waitIfFollow(ctx context.Context, follow bool) error {
	if !follow {
		return nil
	}
	<-ctx.Done()
	return nil
}

// KubeletLog streams the kubelet's service log, only records about req.Pod when it is set.
func (c *TalosClient) KubeletLog(ctx context.Context, req node.KubeletLogRequest, fn func(kubeletlog.Record) error) error {
	name := c.tn.Dir + "/" + TalosKubeletLog
	if c.b.Count(name) == 0 {
		return fmt.Errorf("the bundle has no %s: %w", TalosKubeletLog, node.ErrNotFound)
	}
	rc, err := c.b.Open(name, 0)
	if err != nil {
		return err
	}
	defer rc.Close()
	var kname string
	if req.Pod != "" {
		kname = req.Pod
		if !strings.HasSuffix(kname, "-"+strings.ToLower(c.tn.Snapshot.Node.Name)) {
			kname = staticpod.PodName(req.Pod, c.tn.Snapshot.Node.Name)
		}
	}
	var ring []kubeletlog.Record
	_, err = kubeletlog.Scan(ctx, rc, kubeletlog.ScanOptions{Source: name}, func(r *kubeletlog.Record) error {
		if kname != "" && !node.MatchesPod(r, req.Namespace, kname, "", "") {
			return nil
		}
		if req.Tail > 0 {
			ring = append(ring, *r)
			if len(ring) > req.Tail {
				ring = ring[1:]
			}
			return nil
		}
		return fn(*r)
	})
	if err != nil {
		return err
	}
	for _, r := range ring {
		if err := fn(r); err != nil {
			return err
		}
	}
	return waitIfFollow(ctx, req.Follow)
}

// tailN is the last n CRI lines of an entry (n <= 0: all of it, up to the entry's cap).
func (b *TalosBundle) tailN(name string, i, n int) []podlog.Line {
	var out []podlog.Line
	var part strings.Builder
	_ = b.lines(name, i, func(l []byte) {
		line, partial, err := podlog.ParseLine(l)
		if err != nil {
			return
		}
		if partial {
			if part.Len() < podlog.MaxLineBytes {
				part.WriteString(line.Msg)
			}
			return
		}
		if part.Len() > 0 {
			line.Msg = part.String() + line.Msg
			part.Reset()
		}
		out = append(out, line)
		if n > 0 && len(out) > n {
			out = out[1:]
		}
	})
	return out
}
