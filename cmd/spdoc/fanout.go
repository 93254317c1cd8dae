package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/spf13/pflag"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
)

// agentFlags name the spdoc agents a command reads instead of this machine. Several agents fan
// out: each is read at once and every row or line says which node it came from.
type agentFlags struct {
	targets []string
	creds   agentClientFlags
}

// AddFlags registers --agent (repeatable or comma-separated) and the client credentials.
func (a *agentFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&a.targets, "agent", nil, "read spdoc agents instead of this machine: unix:///path or https://host:port; several (repeat or comma-separate) are read at once, output prefixed with the node")
	a.creds.AddFlags(fs)
}

// nodeTarget is one node a command reads: this machine (or --root), or one agent.
type nodeTarget struct {
	// Label names the node in fanned-out output: the agent's node name, else its address.
	Label string
	Addr  string // the --agent address; empty for this machine or --root
	// BundleNode is the node folder of a talosctl support bundle the client reads.
	BundleNode string
	Client     node.Client
}

// targetOf returns the target the snapshot was read from: its talosctl node folder (by the
// folder's root: the folders of one bundle may share a node name), else its agent (agentOf).
func targetOf(ts []nodeTarget, s *node.Snapshot) nodeTarget {
	for _, t := range ts {
		if t.BundleNode != "" && s.Paths.Root != "" && talosRootOf(t) == s.Paths.Root {
			return t
		}
	}
	return nodeTarget{Addr: agentOf(ts, s)}
}

// agentOf returns the --agent address the snapshot was read from ("" for this machine).
func agentOf(ts []nodeTarget, s *node.Snapshot) string {
	if len(ts) == 1 {
		return ts[0].Addr
	}
	for _, t := range ts {
		if t.Label == s.Node.Name {
			return t.Addr
		}
	}
	return ""
}

// Targets returns the node clients the flags name: the local node unless --agent is given.
func (f *nodeFlags) Targets(ctx context.Context) ([]nodeTarget, error) {
	if len(f.preset) == 0 && (f.bundleIn != "" || f.root != "") && len(f.agent.targets) == 0 {
		// A talosctl bundle (zip or unzipped) gives one target per node folder.
		if err := f.Validate(); err != nil {
			return nil, userError(err)
		}
		if err := f.openBundle(ctx); err != nil {
			return nil, err
		}
	}
	if len(f.preset) > 0 {
		return f.preset, nil
	}
	if len(f.agent.targets) == 0 {
		c, err := f.Client(ctx)
		if err != nil {
			return nil, err
		}
		return []nodeTarget{{Client: c}}, nil
	}
	if f.root != "" {
		return nil, errors.New("--agent and --root name two different sources: pick one")
	}
	var ts []nodeTarget
	for _, t := range f.agent.targets {
		c, err := newClientForAgent(t, f.agent.creds)
		if err != nil {
			closeTargets(ts)
			return nil, fmt.Errorf("agent %s: %w", t, err)
		}
		ts = append(ts, nodeTarget{Label: t, Addr: t, Client: c})
	}
	// Label each agent by its node name when it says (one cheap /version call each, at once).
	var wg sync.WaitGroup
	for i := range ts {
		v, ok := ts[i].Client.(interface {
			Version(context.Context) (*api.VersionInfo, error)
		})
		if !ok {
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if info, err := v.Version(ctx); err == nil && info.Node != "" {
				ts[i].Label = info.Node
			}
		}(i)
	}
	wg.Wait()
	return ts, nil
}

func closeTargets(ts []nodeTarget) {
	for _, t := range ts {
		t.Client.Close()
	}
}

// snapshotAll reads every target at once. A node that can't be read is reported on stderr and
// left out; the error returned says how many failed (nil when all were read).
func snapshotAll(ctx context.Context, ts []nodeTarget, stderr io.Writer) ([]*node.Snapshot, error) {
	snaps := make([]*node.Snapshot, len(ts))
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := t.Client.Snapshot(ctx)
			if errors.Is(err, node.ErrAgentUnreachable) {
				errs[i] = err // it says which agent and what to do
				return
			}
			if err != nil {
				errs[i] = fmt.Errorf("reading the node (%s): %w", t.Client.Describe(), err)
				return
			}
			if s.Node.Name == "" {
				s.Node.Name = t.Label
			}
			snaps[i] = s
		}()
	}
	wg.Wait()
	var ok []*node.Snapshot
	failed := 0
	for i, s := range snaps {
		if errs[i] != nil {
			failed++
			if len(ts) == 1 {
				return nil, errs[i]
			}
			fmt.Fprintf(stderr, "spdoc: %s: %v\n", ts[i].Label, errs[i])
			continue
		}
		ok = append(ok, s)
	}
	if failed > 0 {
		return ok, fmt.Errorf("%d of %d nodes could not be read", failed, len(ts))
	}
	return ok, nil
}

// prefixWriter writes whole lines to w, each prefixed; safe for concurrent use by several
// nodes' streams sharing w (one mutex per destination).
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
}

func (p prefixWriter) line(s string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := io.WriteString(p.w, p.prefix+s+"\n")
	return err
}

// stderrOr returns os.Stderr unless w is set (tests).
func stderrOr(w io.Writer) io.Writer {
	if w != nil {
		return w
	}
	return os.Stderr
}
