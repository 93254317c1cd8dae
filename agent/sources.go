package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/safefs"
)

// Probe returns a cheap fingerprint of what a full snapshot would see. The agent polls it and
// re-reads the node only when it changes (or every Options.FullRefresh), so an idle node costs
// two CRI list calls and a directory read per poll.
type Probe func(ctx context.Context) string

// Trigger runs until ctx is done and calls fire when something on the node changed (a runtime
// event). It must not busy-loop. (Kubelet records are followed by Options.KubeletLog.)
type Trigger func(ctx context.Context, fire func())

// Runtime connects to the CRI runtime on first use and again after a failed connect, so an
// agent started before containerd (or across a containerd restart) recovers by itself.
type Runtime struct {
	Endpoint string

	mu sync.Mutex
	c  cri.Client
}

// Client returns the connection, dialing it if needed.
func (r *Runtime) Client(ctx context.Context) (cri.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c != nil {
		return r.c, nil
	}
	c, err := cri.New(ctx, r.Endpoint)
	if err != nil {
		return nil, err
	}
	r.c = c
	return c, nil
}

// Close closes the connection.
func (r *Runtime) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil {
		return nil
	}
	err := r.c.Close()
	r.c = nil
	return err
}

// NodeProbe fingerprints the manifest dir (names, sizes, mtimes) and, when rt is not nil, the
// runtime's sandboxes and containers (IDs, states, attempts).
func NodeProbe(manifestDir string, rtc *Runtime) Probe {
	return func(ctx context.Context) string {
		h := sha256.New()
		if entries, err := safefs.ReadDir(manifestDir); err != nil {
			fmt.Fprintf(h, "dir-err %v\n", err)
		} else {
			for _, e := range entries {
				fi, err := e.Info()
				if err != nil {
					fmt.Fprintf(h, "%s err\n", e.Name())
					continue
				}
				fmt.Fprintf(h, "%s %d %d %v\n", e.Name(), fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
			}
		}
		if rtc != nil {
			rt, err := rtc.Client(ctx)
			if err != nil {
				fmt.Fprintf(h, "runtime-err %v\n", err)
				return hex.EncodeToString(h.Sum(nil))
			}
			sbs, err := rt.ListSandboxes(ctx)
			if err != nil {
				fmt.Fprintf(h, "sandboxes-err %v\n", err)
			}
			lines := make([]string, 0, len(sbs))
			for _, s := range sbs {
				lines = append(lines, fmt.Sprintf("s %s %s %d", s.ID, s.State, s.Attempt))
			}
			cs, err := rt.ListContainers(ctx)
			if err != nil {
				fmt.Fprintf(h, "containers-err %v\n", err)
			}
			for _, c := range cs {
				lines = append(lines, fmt.Sprintf("c %s %s %d %d %d", c.ID, c.State, c.Attempt, c.RestartCount, c.ExitCode))
			}
			sort.Strings(lines)
			for _, l := range lines {
				fmt.Fprintln(h, l)
			}
		}
		return hex.EncodeToString(h.Sum(nil))
	}
}

// RuntimeEvents fires on every CRI container event. A runtime without GetContainerEvents
// (containerd 1.6) makes it log once and return: polling the probe covers it.
func RuntimeEvents(rtc *Runtime, log *slog.Logger) Trigger {
	return func(ctx context.Context, fire func()) {
		backoff := time.Second
		for ctx.Err() == nil {
			rt, err := rtc.Client(ctx)
			var ch <-chan cri.Event
			if err == nil {
				ch, err = rt.ContainerEvents(ctx)
			}
			if errors.Is(err, cri.ErrUnsupported) {
				log.Info("runtime has no container events; status follows by polling", "endpoint", rtc.Endpoint)
				return
			}
			if err != nil {
				log.Debug("container events unavailable, retrying", "err", err, "in", backoff)
				if !sleepCtx(ctx, backoff) {
					return
				}
				backoff = min(backoff*2, 30*time.Second)
				continue
			}
			backoff = time.Second
			for range ch {
				fire()
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
