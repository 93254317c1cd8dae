package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/diagnose/bundle"
	"github.com/spdoc/spdoc/internal/node"
)

// bundleIn opens --bundle-in: a spdoc bundle (tar.gz) is unpacked as the node root (unpack), a
// talosctl support bundle (zip) gives one node client per node folder (only: one folder), an
// age-encrypted one is refused with how to decrypt it. close releases what was opened.
func bundleIn(ctx context.Context, f *nodeFlags, p, only string, unpack func(string) error) (close func(), err error) {
	close = func() {}
	format, err := bundle.DetectFormat(p)
	if err != nil {
		return close, err
	}
	switch format {
	case bundle.FormatAge:
		return close, bundle.EncryptedError(p)
	case bundle.FormatTarGz:
		if only != "" {
			return close, fmt.Errorf("--bundle-node %s: a spdoc bundle holds one node", only)
		}
		return close, unpack(p)
	}
	tb, err := bundle.OpenTalos(p)
	if err != nil {
		return close, err
	}
	close = func() { tb.Close() }
	return close, presetTalos(ctx, f, tb, only)
}

// talosRoot opens --root DIR when DIR is an unzipped talosctl support bundle (the folder of node
// folders, or one node folder: then only that node), as --bundle-in opens the zip. ok is false
// (and nothing is opened) when DIR is not one: a copied node filesystem.
func talosRoot(ctx context.Context, f *nodeFlags, dir, only string) (close func(), ok bool, err error) {
	close = func() {}
	if bundle.TalosNodeDir(dir) {
		if only != "" && only != filepath.Base(dir) {
			return close, true, fmt.Errorf("--bundle-node %s: --root %s is the node folder %s", only, dir, filepath.Base(dir))
		}
		dir, only = filepath.Dir(filepath.Clean(dir)), filepath.Base(filepath.Clean(dir))
	} else if !bundle.LooksLikeTalosDir(dir) {
		if only != "" {
			return close, false, fmt.Errorf("--bundle-node %s: %s is not a talosctl support bundle (no node folder with service-logs/kubelet.log or resources/)", only, dir)
		}
		return close, false, nil
	}
	tb, err := bundle.OpenTalosDir(dir)
	if err != nil {
		return close, true, err
	}
	close = func() { tb.Close() }
	return close, true, presetTalos(ctx, f, tb, only)
}

// presetTalos gives f one node client per node folder of tb (only: that one).
func presetTalos(ctx context.Context, f *nodeFlags, tb *bundle.TalosBundle, only string) error {
	dirs := tb.Nodes
	if only != "" {
		dirs = nil
		for _, d := range tb.Nodes {
			if d == only {
				dirs = []string{d}
			}
		}
		if dirs == nil {
			return fmt.Errorf("--bundle-node %s: the bundle has nodes %s", only, strings.Join(tb.Nodes, ", "))
		}
	}
	for _, d := range dirs {
		tn, err := tb.TalosSnapshot(ctx, d)
		if err != nil {
			return err
		}
		label := d
		if n := tn.Snapshot.Node.Name; n != "" && n != d {
			label = d + " (" + n + ")"
		}
		f.preset = append(f.preset, nodeTarget{Label: label, BundleNode: d, Client: bundle.NewTalosClient(tb, tn)})
	}
	return nil
}

// addBundleLimits puts what a talosctl bundle cannot show into the report of its node.
func addBundleLimits(snap *node.Snapshot, r *diagnose.Report, targets []nodeTarget) {
	for _, t := range targets {
		tc, ok := t.Client.(*bundle.TalosClient)
		if !ok || tc.Node().Snapshot.Paths.Root != snap.Paths.Root {
			continue
		}
		if f, ok := tc.Node().LimitsFinding(); ok {
			r.Node.Findings = append(r.Node.Findings, f)
		}
	}
}

// talosLimit says why a talosctl bundle's node folder has no container state, when snap was read
// from one (ok false otherwise): the limit the bundle reader noted (no StaticPodStatus on a worker).
func talosLimit(targets []nodeTarget, snap *node.Snapshot) (limit string, ok bool) {
	for _, t := range targets {
		tc, isTalos := t.Client.(*bundle.TalosClient)
		if !isTalos || tc.Node().Snapshot.Paths.Root != snap.Paths.Root {
			continue
		}
		for _, l := range tc.Node().Limits {
			if strings.Contains(l, bundle.TalosStaticPodStatus) {
				return l, true
			}
		}
		return "no " + bundle.TalosStaticPodStatus, true
	}
	return "", false
}

// labelOf is the target label of snap's node (a talosctl node folder, an agent), else its name.
func labelOf(targets []nodeTarget, snap *node.Snapshot) string {
	for _, t := range targets {
		if tc, ok := t.Client.(*bundle.TalosClient); ok && tc.Node().Snapshot.Paths.Root == snap.Paths.Root && t.Label != "" {
			return t.Label
		}
	}
	return snap.Node.Name
}

// talosRootOf is the snapshot root of a talosctl node folder target ("" for another target).
func talosRootOf(t nodeTarget) string {
	if tc, ok := t.Client.(*bundle.TalosClient); ok {
		return tc.Node().Snapshot.Paths.Root
	}
	return ""
}
