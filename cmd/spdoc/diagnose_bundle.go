package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/diagnose/bundle"
	"github.com/spdoc/spdoc/internal/node"
)

func init() { diagnoseHooks = append(diagnoseHooks, addBundleFlags) }

// bundleOptions are the support bundle flags of `spdoc diagnose`.
type bundleOptions struct {
	out      string   // --bundle
	in       string   // --bundle-in
	patterns []string // --redact-pattern

	node     string // --bundle-node
	stderr   io.Writer
	unpacked string // temp dir --bundle-in was extracted to
	closeIn  func() // releases a talosctl bundle
}

// addBundleFlags adds --bundle, --bundle-in and --redact-pattern to diagnose and hooks them in.
func addBundleFlags(cmd *cobra.Command, o *diagnoseOptions) {
	b := &bundleOptions{}
	fs := cmd.Flags()
	fs.StringVar(&b.out, "bundle", "", "also write a redacted support bundle (tar.gz) to FILE; unpacked, it is a node copy for --root")
	fs.StringVar(&b.in, "bundle-in", "", "diagnose a support bundle: a spdoc bundle (tar.gz, written by --bundle) or a talosctl support bundle (zip; one report per node)")
	fs.StringVar(&b.node, "bundle-node", "", "with a talosctl support bundle: only this node folder")
	fs.StringArrayVar(&b.patterns, "redact-pattern", nil, "also redact matches of this Go regexp (its first group, if it has one); repeatable")
	cmd.Example += `
  spdoc diagnose --bundle /tmp/node1-support.tar.gz
  spdoc diagnose --bundle-in node1-support.tar.gz -o markdown
  spdoc diagnose --bundle-in support.zip               # talosctl support: one report per node`

	run := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		b.stderr = cmd.ErrOrStderr()
		defer b.cleanup()
		return run(cmd, args)
	}
	o.beforeSnapshot = func(ctx context.Context) error { return b.before(ctx, o) }
	o.afterReport = func(ctx context.Context, snap *node.Snapshot, r *diagnose.Report) error {
		addBundleLimits(snap, r, o.node.preset)
		return b.after(ctx, o, snap)
	}
}

// before validates the flags, compiles the patterns and unpacks --bundle-in as the node root.
func (b *bundleOptions) before(ctx context.Context, o *diagnoseOptions) error {
	for _, p := range b.patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Errorf("--redact-pattern %q: %w", p, err)
		}
		if re.MatchString("") {
			return fmt.Errorf("--redact-pattern %q matches the empty string: it would redact nothing useful", p)
		}
		o.redact.Extra = append(o.redact.Extra, re)
	}
	o.node.bundleNode = b.node // also for --root of an unzipped talosctl bundle
	if b.out != "" && len(o.node.agent.targets) > 0 {
		return errors.New("--bundle collects this machine's files (manifests, logs, runtime): run it on the node itself, not with --agent")
	}
	if b.in == "" {
		return nil
	}
	if len(o.node.agent.targets) > 0 {
		return errors.New("--bundle-in and --agent both name the node: use one")
	}
	if o.node.root != "" {
		return errors.New("--bundle-in and --root both name the node: use one")
	}
	closeIn, err := bundleIn(ctx, &o.node, b.in, b.node, func(p string) error {
		dir, err := os.MkdirTemp("", "spdoc-bundle-")
		if err != nil {
			return err
		}
		b.unpacked = dir
		if err := bundle.Extract(ctx, p, dir); err != nil {
			return err
		}
		o.node.root = dir
		return nil
	})
	// The next steps name the bundle, not the temp dir it was unpacked to (source.go).
	o.node.bundleIn, o.node.unpacked, o.node.bundleNode = b.in, "bundle", b.node
	b.closeIn = closeIn
	if err != nil {
		return fmt.Errorf("--bundle-in: %w", err)
	}
	return nil
}

// after writes --bundle from the snapshot the report was built from.
func (b *bundleOptions) after(ctx context.Context, o *diagnoseOptions, snap *node.Snapshot) error {
	if b.out == "" {
		return nil
	}
	client, err := o.node.Client(ctx)
	if err != nil {
		return fmt.Errorf("--bundle: %w", err)
	}
	defer client.Close()
	opts := bundle.Options{
		Redact:   o.redact,
		Since:    o.node.since,
		Snapshot: snap,
		Version:  agentVersion,
	}
	opts.Redact.Key = nil // derived from the bundle's data, not the printed report's
	res, err := bundle.Write(ctx, b.out, client, opts)
	if err != nil {
		return fmt.Errorf("--bundle: %w", err)
	}
	msg := fmt.Sprintf("spdoc: wrote support bundle %s (%d files, %d bytes, %d redactions", res.Path, res.Files, res.Bytes, res.Redactions)
	if o.redact.Disabled {
		msg += ", NOT REDACTED (--no-redact)"
	}
	if n := len(res.Errors); n > 0 {
		msg += fmt.Sprintf(", %d sources failed or were cut: see %s in the bundle", n, bundle.ErrorsPath)
	}
	fmt.Fprintln(b.stderr, msg+")")
	return nil
}

func (b *bundleOptions) cleanup() {
	if b.closeIn != nil {
		b.closeIn()
		b.closeIn = nil
	}
	if b.unpacked != "" {
		os.RemoveAll(b.unpacked)
		b.unpacked = ""
	}
}
