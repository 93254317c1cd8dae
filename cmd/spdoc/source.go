package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/diagnose/bundle"
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

// sourceArgs are the flags that name where this command read the node, as a user would type
// them again: a next step printed from a copy or an agent must read the same copy or agent.
// agent is the one agent a report came from (fan-out prints one report per agent).
func (f *nodeFlags) sourceArgs(agent string) []string {
	var args []string
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag, shellWord(v))
		}
	}
	switch {
	case f.bundleIn != "":
		add("--bundle-in", f.bundleIn)
	case f.unpacked == "":
		add("--root", f.root)
	}
	add("--bundle-node", f.bundleNode)
	if agent != "" {
		add("--agent", agent)
		add("--ca", f.agent.creds.ca)
		add("--cert", f.agent.creds.cert)
		add("--key", f.agent.creds.key)
	}
	add("--manifests", f.manifests)
	add("--kubelet-log", f.kubeletLog)
	add("--kernel-log", f.kernelLog)
	add("--kubelet-config", f.kubeletConfig)
	add("--pod-logs-dir", f.podLogsDir)
	add("--container-logs-dir", f.containerLogsDir)
	add("--runtime-endpoint", f.runtimeEndpoint)
	add("--node-name", f.nodeName)
	if f.noRuntime {
		args = append(args, "--no-runtime")
	}
	return args
}

// nodeCommand finds the spdoc commands of next steps that read a node (their source flags
// must follow them).
var nodeCommand = regexp.MustCompile(`\bspdoc (logs|get|containers|diagnose|tui)\b`)

// pasteable returns the rewrite that makes a report read from a copy (--root, --bundle-in) or
// an agent say what a user can paste: paths on the node (/etc/kubernetes/manifests/x.yaml, not
// the copy's or a temp dir's, which is gone when the report is read), and spdoc commands with
// the same source flags. nil when there is nothing to rewrite (the live node, default sources).
func (f *nodeFlags) pasteable(agent string) func(string) string {
	var roots []string
	if f.root != "" {
		for _, r := range []string{f.root, absPath(f.root), evalPath(f.root)} {
			r = strings.TrimSuffix(filepath.Clean(r), "/")
			if r != "" && r != "." && r != "/" {
				roots = append(roots, r)
			}
		}
	}
	// Longest first, so /abs/copy is cut before a relative copy inside it.
	for i := range roots {
		for j := i + 1; j < len(roots); j++ {
			if len(roots[j]) > len(roots[i]) {
				roots[i], roots[j] = roots[j], roots[i]
			}
		}
	}
	var rootRE *regexp.Regexp
	if len(roots) > 0 {
		alts := make([]string, len(roots))
		for i, r := range roots {
			alts[i] = regexp.QuoteMeta(r)
		}
		rootRE = regexp.MustCompile(`(^|[^\w.\-/])(?:` + strings.Join(alts, "|") + `)(/|$)`)
	}
	flags := strings.Join(f.sourceArgs(agent), " ")
	if rootRE == nil && flags == "" {
		return nil
	}
	return func(s string) string {
		if rootRE != nil {
			s = rootRE.ReplaceAllString(s, "$1/")
		}
		if flags != "" {
			s = nodeCommand.ReplaceAllStringFunc(s, func(m string) string { return m + " " + flags })
		}
		return s
	}
}

// pasteableReport applies pasteable to the report's texts, paths and next steps.
func (f *nodeFlags) pasteableReport(r *diagnose.Report, agent string) {
	if fn := f.pasteable(agent); fn != nil {
		r.Redact(fn)
	}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func evalPath(p string) string {
	if a, err := filepath.EvalSymlinks(absPath(p)); err == nil {
		return a
	}
	return p
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
