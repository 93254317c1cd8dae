package controlplane

import (
	"context"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/spdoc/spdoc/internal/staticpod"
)

// State is what spdoc found about the control-plane components a node's static pods run: the
// files their flags name, the ports they need and who holds them, the API server's mirror pods
// and the kubelet's own view of the pods. It is part of node.Snapshot and of a support bundle
// (controlplane.json) — certificate metadata only, never a key.
type State struct {
	Instances []*Instance `json:"instances"`
	Files     []FileCheck `json:"files,omitempty"`
	Ports     []PortUse   `json:"ports,omitempty"`
	// PortsError says why ports could not be read (--root without a capture, /proc unreadable).
	PortsError string       `json:"portsError,omitempty"`
	Mirror     *MirrorState `json:"mirror,omitempty"`
	Kubelet    *KubeletPods `json:"kubelet,omitempty"`
}

// Instance finds the instance of a pod's container.
func (s *State) Instance(pod, container string) *Instance {
	if s == nil {
		return nil
	}
	for _, in := range s.Instances {
		if in.Pod == pod && (container == "" || in.Container == container) {
			return in
		}
	}
	return nil
}

// ServedBy finds the instance that listens on port (the static pod behind an address a
// component dials).
func (s *State) ServedBy(port int) *Instance {
	if s == nil || port <= 0 {
		return nil
	}
	for _, in := range s.Instances {
		for _, e := range in.Endpoints {
			if e.Port == port {
				return in
			}
		}
	}
	return nil
}

// FromScan finds the instances of every pod of a manifest dir scan; read returns a manifest's
// bytes (for the flags' lines) and may fail (lines are then 0).
func FromScan(scan *staticpod.DirScan, read func(path string) ([]byte, error)) []*Instance {
	if scan == nil {
		return nil
	}
	var out []*Instance
	for _, f := range scan.Files {
		if f == nil || (f.Kind != staticpod.KindManifest && f.Kind != "") {
			continue
		}
		var lines func(string) int
		for _, p := range f.Pods {
			if p == nil || p.Pod == nil {
				continue
			}
			if lines == nil {
				lines = func(string) int { return 0 }
				if data, err := read(f.Path); err == nil {
					lines = staticpod.FieldLines(data)
				}
			}
			for _, in := range Instances(p.ID, f.Path, p.Pod, lines) {
				in.Endpoints = in.Serves()
				out = append(out, in)
			}
		}
	}
	return out
}

// LiveOptions say how to reach the live parts of a node (the API server and the kubelet).
type LiveOptions struct {
	Mirror  MirrorOptions
	Kubelet KubeletOptions
	// ProcDir is /proc.
	ProcDir string
	// Cache, when set, reuses recent API server and kubelet answers.
	Cache *LiveCache
}

// Read fills a State: file checks from fsys, and with live set, the ports from /proc, the mirror
// pods and the kubelet's pods (both bounded by their timeouts, read concurrently).
func Read(ctx context.Context, fsys fs.FS, instances []*Instance, now time.Time, live *LiveOptions) *State {
	st := &State{Instances: instances}
	st.Files = Check(fsys, instances, CheckOptions{Now: now})
	if live == nil {
		return st
	}
	cached := live.Cache.get(live, now)
	var wg sync.WaitGroup
	if cached == nil {
		wg.Add(2)
		go func() {
			defer wg.Done()
			st.Mirror = ReadMirrorPods(ctx, live.Mirror)
		}()
		go func() {
			defer wg.Done()
			st.Kubelet = ReadKubeletPods(ctx, live.Kubelet)
		}()
	} else {
		st.Mirror, st.Kubelet = cached.mirror, cached.kubelet
	}
	ports, err := Ports(live.ProcDir, instances)
	st.Ports = ports
	if err != nil {
		st.PortsError = err.Error()
	}
	wg.Wait()
	if cached == nil {
		live.Cache.put(live, now, st.Mirror, st.Kubelet)
	}
	return st
}

// LiveCache keeps the API server's and the kubelet's answers for TTL, so a client that takes a
// snapshot every 2 s (the TUI, the agent) does not ask them — or wait on a hanging API server —
// every time. A nil cache keeps nothing.
type LiveCache struct {
	TTL time.Duration

	mu      sync.Mutex
	key     string
	at      time.Time
	mirror  *MirrorState
	kubelet *KubeletPods
}

type liveAnswers struct {
	mirror  *MirrorState
	kubelet *KubeletPods
}

func cacheKey(o *LiveOptions) string {
	return fmt.Sprintf("%s|%s|%s|%d|%d|%s", o.Mirror.Kubeconfig, o.Mirror.Node, o.Kubelet.Host, o.Kubelet.Port, o.Kubelet.ReadOnlyPort, o.Kubelet.ClientCert)
}

func (c *LiveCache) get(o *LiveOptions, now time.Time) *liveAnswers {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != cacheKey(o) || c.at.IsZero() || now.Sub(c.at) >= c.TTL || now.Before(c.at) {
		return nil
	}
	return &liveAnswers{c.mirror, c.kubelet}
}

func (c *LiveCache) put(o *LiveOptions, now time.Time, m *MirrorState, k *KubeletPods) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.key, c.at, c.mirror, c.kubelet = cacheKey(o), now, m, k
}
