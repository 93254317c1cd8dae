package main

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// completionSnapshot reads the node the flags name for shell completion: bounded in time, the
// kubelet log barely read (names come from the manifests, pod log dirs and runtime).
func completionSnapshot(ctx context.Context, f *nodeFlags) *node.Snapshot {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	g := *f
	g.since, g.logTail, g.maxRecords = time.Second, 0, 1
	targets, err := g.Targets(ctx)
	if err != nil {
		return nil
	}
	defer closeTargets(targets)
	defer removeTempDirs()
	snaps, _ := snapshotAll(ctx, targets[:1], nil)
	if len(snaps) == 0 {
		return nil
	}
	return snaps[0]
}

// manifestPods calls fn with each static pod the kubelet reads (manifest dir, staticPodURL) and its namespace.
func manifestPods(s *node.Snapshot, fn func(ns string, p *staticpod.StaticPod)) {
	if s == nil {
		return
	}
	// Every source the kubelet reads: the manifest dir and its staticPodURL list (Talos).
	for _, p := range s.StaticPods() {
		if p == nil {
			continue
		}
		ns := p.Namespace
		if ns == "" {
			ns = "default"
		}
		fn(ns, p)
	}
}

// completePods lists the static pods as namespace/name (with containers: also
// namespace/name:container), each with its manifest file as the description.
func completePods(ctx context.Context, f *nodeFlags, containers bool) []string {
	var out []string
	manifestPods(completionSnapshot(ctx, f), func(ns string, p *staticpod.StaticPod) {
		if slices.ContainsFunc(out, func(s string) bool { return strings.HasPrefix(s, ns+"/"+p.Name+"\t") }) {
			return // one pod in two files
		}
		out = append(out, ns+"/"+p.Name+"\t"+filepath.Base(p.Source))
		if containers && p.Pod != nil {
			for _, c := range p.Pod.Spec.Containers {
				out = append(out, ns+"/"+p.Name+":"+c.Name+"\t"+c.Image)
			}
		}
	})
	return out
}

// completeNamespaces lists the namespaces of the static pods.
func completeNamespaces(ctx context.Context, f *nodeFlags) []string {
	var out []string
	manifestPods(completionSnapshot(ctx, f), func(ns string, _ *staticpod.StaticPod) {
		if !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	})
	return out
}
