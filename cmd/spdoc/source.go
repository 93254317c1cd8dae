package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/diagnose/bundle"
	"github.com/spdoc/spdoc/internal/nextstep"
)

// tempDirs are the directories --bundle-in unpacked into, and tempClosers the talosctl bundles
// it opened; runLifecycle removes and closes them when the command ends.
var (
	tempMu      sync.Mutex
	tempDirs    []string
	tempClosers []func()
)

func removeTempDirs() {
	tempMu.Lock()
	defer tempMu.Unlock()
	for _, c := range tempClosers {
		c()
	}
	tempClosers = nil
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	tempDirs = nil
}

// closeAtEnd has runLifecycle call c when the command ends.
func closeAtEnd(c func()) {
	tempMu.Lock()
	tempClosers = append(tempClosers, c)
	tempMu.Unlock()
}

// openBundle opens --bundle-in as diagnose does (bundleIn): a spdoc bundle is unpacked into a
// temp dir and read as --root from then on; a talosctl support bundle gives one node client per
// node folder (--bundle-node: that one), read in place.
func (f *nodeFlags) openBundle(ctx context.Context) error {
	if f.root != "" && f.bundleIn == "" && f.unpacked == "" && len(f.preset) == 0 {
		// --root of an unzipped talosctl support bundle reads like the zip.
		closeIn, _, err := talosRoot(ctx, f, f.root, f.bundleNode)
		closeAtEnd(closeIn)
		if err != nil {
			return userError(fmt.Errorf("--root: %w", err))
		}
		return nil
	}
	if f.bundleIn == "" || f.unpacked != "" || len(f.preset) > 0 {
		return nil
	}
	closeIn, err := bundleIn(ctx, f, f.bundleIn, f.bundleNode, func(p string) error {
		dir, err := os.MkdirTemp("", "spdoc-bundle-")
		if err != nil {
			return err
		}
		tempMu.Lock()
		tempDirs = append(tempDirs, dir)
		tempMu.Unlock()
		if err := bundle.Extract(ctx, p, dir); err != nil {
			return err
		}
		f.unpacked, f.root = dir, dir
		return nil
	})
	closeAtEnd(closeIn)
	if err != nil {
		return userError(fmt.Errorf("--bundle-in: %w", err))
	}
	return nil
}

// validateBundleIn checks --bundle-in against the other source flags.
func (f *nodeFlags) validateBundleIn() error {
	if f.bundleIn == "" || f.unpacked != "" || len(f.preset) > 0 {
		return nil
	}
	switch {
	case len(f.agent.targets) > 0:
		return errors.New("--bundle-in and --agent both name the node: use one")
	case f.root != "":
		return errors.New("--bundle-in and --root both name the node: use one")
	}
	if _, err := os.Stat(f.bundleIn); err != nil {
		return fmt.Errorf("--bundle-in: %w", err)
	}
	return nil
}

// source says where this command read the node, for the next steps a report prints: t is the
// target the report came from (its agent, or its node folder of a talosctl support bundle).
func (f *nodeFlags) source(t nodeTarget) nextstep.Source {
	s := nextstep.Source{Root: f.root, BundleIn: f.bundleIn, Unpacked: f.unpacked != "", BundleNode: f.bundleNode,
		Manifests: f.manifests, KubeletLog: f.kubeletLog, KernelLog: f.kernelLog, KubeletConfig: f.kubeletConfig, PodLogsDir: f.podLogsDir,
		ContainerLogsDir: f.containerLogsDir, RuntimeEndpoint: f.runtimeEndpoint, NodeName: f.nodeName, NoRuntime: f.noRuntime}
	if t.BundleNode != "" {
		s.BundleNode = t.BundleNode
	}
	if t.Addr != "" {
		s.Agent, s.CA, s.Cert, s.Key = t.Addr, f.agent.creds.ca, f.agent.creds.cert, f.agent.creds.key
	}
	return s
}

// pasteable returns the rewrite that makes a report read from a copy (--root, --bundle-in) or
// an agent say what a user can paste (nextstep.Source.Rewriter); nil when there is nothing to
// rewrite.
func (f *nodeFlags) pasteable(t nodeTarget) func(string) string { return f.source(t).Rewriter() }

// pasteableReport applies pasteable to the report's texts, paths and next steps.
func (f *nodeFlags) pasteableReport(r *diagnose.Report, t nodeTarget) {
	if fn := f.pasteable(t); fn != nil {
		r.Redact(fn)
	}
}
