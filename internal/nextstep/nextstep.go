// Package nextstep makes the next-step commands a report prints pasteable: a report read from a
// copy of a node (--root, --bundle-in, one node folder of a talosctl support bundle) or from an
// agent names spdoc commands that must read the same copy, node folder or agent, and paths as
// they are on the node rather than in the copy (or a temp dir that is gone when the report is
// read).
//
// A command meant for the live node itself is written after LiveNode ("on the node: spdoc
// diagnose") and is left as it is.
package nextstep

import (
	"path/filepath"
	"regexp"
	"strings"
)

// LiveNode prefixes a command that is to be run on the node itself, not against the copy the
// report was read from: the rewrite leaves it alone.
const LiveNode = "on the node: "

// Source names where a command read the node, as a user would type it again.
type Source struct {
	// Root is --root: a copied node, an unzipped talosctl bundle or one of its node folders.
	Root string
	// BundleIn is --bundle-in: a spdoc bundle (tar.gz) or a talosctl support bundle (zip).
	BundleIn string
	// Unpacked: Root is the temp dir BundleIn was extracted to (not named again).
	Unpacked bool
	// BundleNode is the node folder of a talosctl support bundle the report is about: every
	// command of a report on one node of a multi-node bundle must name it.
	BundleNode string
	// Agent is the one agent the report came from, with its credentials.
	Agent, CA, Cert, Key string
	// The source overrides, as given.
	Manifests, KubeletLog, KernelLog, KubeletConfig, PodLogsDir, ContainerLogsDir, RuntimeEndpoint, NodeName string
	NoRuntime                                                                                                bool
}

// Args are the flags that name the source, shell-quoted.
func (s Source) Args() []string {
	var args []string
	add := func(flag, v string) {
		if v != "" {
			args = append(args, flag, ShellWord(v))
		}
	}
	switch {
	case s.BundleIn != "":
		add("--bundle-in", s.BundleIn)
	case !s.Unpacked:
		add("--root", s.Root)
	}
	add("--bundle-node", s.BundleNode)
	if s.Agent != "" {
		add("--agent", s.Agent)
		add("--ca", s.CA)
		add("--cert", s.Cert)
		add("--key", s.Key)
	}
	add("--manifests", s.Manifests)
	add("--kubelet-log", s.KubeletLog)
	add("--kernel-log", s.KernelLog)
	add("--kubelet-config", s.KubeletConfig)
	add("--pod-logs-dir", s.PodLogsDir)
	add("--container-logs-dir", s.ContainerLogsDir)
	add("--runtime-endpoint", s.RuntimeEndpoint)
	add("--node-name", s.NodeName)
	if s.NoRuntime {
		args = append(args, "--no-runtime")
	}
	return args
}

// command finds the spdoc commands that read a node (their source flags must follow them).
var command = regexp.MustCompile(`\bspdoc (logs|get|containers|diagnose|tui)\b`)

// Rewriter returns the rewrite that makes a text of the report pasteable: the copy's root cut
// from paths (/etc/kubernetes/manifests/x.yaml, not copy/etc/…), and the source flags after
// every spdoc command that reads a node (but those after LiveNode). nil when there is nothing to
// rewrite (the live node, default sources).
func (s Source) Rewriter() func(string) string {
	var roots []string
	if s.Root != "" {
		for _, r := range []string{s.Root, absPath(s.Root), evalPath(s.Root)} {
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
	flags := strings.Join(s.Args(), " ")
	if rootRE == nil && flags == "" {
		return nil
	}
	return func(t string) string {
		if rootRE != nil {
			t = rootRE.ReplaceAllString(t, "$1/")
		}
		if flags == "" {
			return t
		}
		var b strings.Builder
		last := 0
		for _, m := range command.FindAllStringIndex(t, -1) {
			b.WriteString(t[last:m[1]])
			last = m[1]
			if !strings.HasSuffix(t[:m[0]], LiveNode) {
				b.WriteString(" " + flags)
			}
		}
		b.WriteString(t[last:])
		return b.String()
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

// ShellWord quotes s for a POSIX shell when it needs it.
func ShellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
