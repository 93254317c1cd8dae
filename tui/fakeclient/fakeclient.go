// Package fakeclient is an in-memory node.Client for TUI tests and the TUI benchmark: a settable
// snapshot (or error), fixed log lines per container and per pod, and lines pushed to followers.
package fakeclient

import (
	"context"
	"errors"
	"sync"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
)

// Client is a fake node.Client. The zero value is not usable; use New.
type Client struct {
	mu        sync.Mutex
	snap      *node.Snapshot
	snapErr   error
	snapCalls int
	ctr       map[string][]podlog.Line // ns/pod/container
	kub       map[string][]kubeletlog.Record
	followers map[string][]chan any
	requests  []node.LogRequest

	// ContainerLogFunc, when set, replaces ContainerLog (the benchmark's line generator).
	ContainerLogFunc func(ctx context.Context, req node.LogRequest, fn func(podlog.Line) error) error
	Source           string
}

var _ node.Client = (*Client)(nil)

// New returns a client serving snap.
func New(snap *node.Snapshot) *Client {
	return &Client{snap: snap, ctr: map[string][]podlog.Line{}, kub: map[string][]kubeletlog.Record{},
		followers: map[string][]chan any{}, Source: "fake node"}
}

// SetSnapshot replaces the snapshot; err non-nil makes Snapshot fail (the source went away).
func (c *Client) SetSnapshot(snap *node.Snapshot, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snap, c.snapErr = snap, err
}

// SnapshotCalls counts Snapshot calls.
func (c *Client) SnapshotCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapCalls
}

// LogRequests returns the container log requests made so far.
func (c *Client) LogRequests() []node.LogRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]node.LogRequest(nil), c.requests...)
}

// Snapshot returns the snapshot set last.
func (c *Client) Snapshot(context.Context) (*node.Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.snapCalls++
	return c.snap, c.snapErr
}

func ctrKey(ns, pod, ctr string) string { return ns + "/" + pod + "/" + ctr }

// AddContainerLines adds lines to a container's log; followers get them too.
func (c *Client) AddContainerLines(ns, pod, ctr string, lines ...podlog.Line) {
	c.add("c:"+ctrKey(ns, pod, ctr), func() { c.ctr[ctrKey(ns, pod, ctr)] = append(c.ctr[ctrKey(ns, pod, ctr)], lines...) }, lines)
}

// AddKubeletRecords adds records about a pod; followers get them too.
func (c *Client) AddKubeletRecords(ns, pod string, recs ...kubeletlog.Record) {
	c.add("k:"+ns+"/"+pod, func() { c.kub[ns+"/"+pod] = append(c.kub[ns+"/"+pod], recs...) }, recs)
}

func (c *Client) add(key string, store func(), items any) {
	c.mu.Lock()
	store()
	fs := append([]chan any(nil), c.followers[key]...)
	c.mu.Unlock()
	for _, f := range fs {
		select {
		case f <- items:
		default: // a follower that is not reading loses lines, like a slow reader of a rotated file
		}
	}
}

func (c *Client) follow(ctx context.Context, key string, deliver func(any) error) error {
	ch := make(chan any, 64)
	c.mu.Lock()
	c.followers[key] = append(c.followers[key], ch)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		fs := c.followers[key]
		for i, f := range fs {
			if f == ch {
				c.followers[key] = append(fs[:i:i], fs[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case items := <-ch:
			if err := deliver(items); err != nil {
				return err
			}
		}
	}
}

func tail[T any](xs []T, n int) []T {
	if n >= 0 && len(xs) > n {
		return xs[len(xs)-n:]
	}
	return xs
}

// ContainerLog sends the container's lines (Pod is the manifest name), then follows.
func (c *Client) ContainerLog(ctx context.Context, req node.LogRequest, fn func(podlog.Line) error) error {
	c.mu.Lock()
	c.requests = append(c.requests, req)
	lines := append([]podlog.Line(nil), tail(c.ctr[ctrKey(req.Namespace, req.Pod, req.Container)], req.Tail)...)
	c.mu.Unlock()
	if c.ContainerLogFunc != nil {
		return c.ContainerLogFunc(ctx, req, fn)
	}
	if req.Previous {
		return errors.New("previous instance: no log")
	}
	for _, l := range lines {
		if err := fn(l); err != nil {
			return err
		}
	}
	if !req.Follow {
		return nil
	}
	return c.follow(ctx, "c:"+ctrKey(req.Namespace, req.Pod, req.Container), func(items any) error {
		for _, l := range items.([]podlog.Line) {
			if err := fn(l); err != nil {
				return err
			}
		}
		return nil
	})
}

// KubeletLog sends the records about the pod, then follows.
func (c *Client) KubeletLog(ctx context.Context, req node.KubeletLogRequest, fn func(kubeletlog.Record) error) error {
	c.mu.Lock()
	recs := append([]kubeletlog.Record(nil), tail(c.kub[req.Namespace+"/"+req.Pod], req.Tail)...)
	c.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	if !req.Follow {
		return nil
	}
	return c.follow(ctx, "k:"+req.Namespace+"/"+req.Pod, func(items any) error {
		for _, r := range items.([]kubeletlog.Record) {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Describe says "fake node" (or Source).
func (c *Client) Describe() string { return c.Source }

// Close does nothing.
func (c *Client) Close() error { return nil }
