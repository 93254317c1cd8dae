package main

import (
	"context"
	"fmt"
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
	dirs := tb.Nodes
	if only != "" {
		dirs = nil
		for _, d := range tb.Nodes {
			if d == only {
				dirs = []string{d}
			}
		}
		if dirs == nil {
			return close, fmt.Errorf("--bundle-node %s: the bundle has nodes %s", only, strings.Join(tb.Nodes, ", "))
		}
	}
	for _, d := range dirs {
		tn, err := tb.TalosSnapshot(ctx, d)
		if err != nil {
			return close, err
		}
		label := d
		if n := tn.Snapshot.Node.Name; n != "" && n != d {
			label = d + " (" + n + ")"
		}
		f.preset = append(f.preset, nodeTarget{Label: label, Client: bundle.NewTalosClient(tb, tn)})
	}
	return close, nil
}

// addBundleLimits puts what a talosctl bundle cannot show into the report, as one node-level
// info finding, so every output format carries it.
func addBundleLimits(snap *node.Snapshot, r *diagnose.Report, targets []nodeTarget) {
	for _, t := range targets {
		tc, ok := t.Client.(*bundle.TalosClient)
		if !ok || tc.Node().Snapshot.Paths.Root != snap.Paths.Root || len(tc.Node().Limits) == 0 {
			continue
		}
		f := diagnose.Finding{Kind: diagnose.KindSourceError, Severity: diagnose.SeverityInfo,
			Title:  "what this talosctl support bundle cannot show about node " + t.Label,
			Detail: "A talosctl support bundle is not a copy of the node: spdoc read the kubelet's service log, the static pods Talos serves the kubelet, their StaticPodStatus and the kube-system container logs. The rest is out of reach.",
			Hint:   "for what is missing, run spdoc diagnose on the node (or talosctl logs kubelet / talosctl get staticpodstatus)"}
		for _, l := range tc.Node().Limits {
			f.Evidence = append(f.Evidence, diagnose.Evidence{Source: "talos-bundle:" + tc.Node().Dir, Line: l, Count: 1})
		}
		r.Node.Findings = append(r.Node.Findings, f)
	}
}
