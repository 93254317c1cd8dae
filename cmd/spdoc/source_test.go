package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/diagnose/bundle"
	"github.com/spdoc/spdoc/internal/node"
)

// TestNextStepsArePasteable: a report read from a copy names node paths, carries the source
// flags in every spdoc command it suggests, and is dated when the copy was captured.
func TestNextStepsArePasteable(t *testing.T) {
	abs, err := filepath.Abs(capturedRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{capturedRoot, abs} {
		out, _ := runCmd(t, "diagnose", "--root", root, "-o", "json")
		var r diagnose.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if got := r.Taken.UTC().Format("2006-01-02 15:04"); got != "2026-11-24 22:26" {
			t.Errorf("--root %s: report taken %s, want the capture time 2026-11-24 22:26", root, got)
		}
		var hints []string
		for _, p := range r.Pods {
			if strings.Contains(p.Manifest, "testdata") || !strings.HasPrefix(p.Manifest, "/etc/kubernetes/manifests/") {
				t.Errorf("--root %s: pod %s manifest %q is not the node path", root, p.ID, p.Manifest)
			}
			for _, f := range p.Findings {
				hints = append(hints, f.Hint)
				for _, e := range f.Evidence {
					if strings.Contains(e.Source, "testdata/") {
						t.Errorf("evidence source %q names the copy", e.Source)
					}
				}
			}
		}
		all := strings.Join(hints, "\n")
		want := "spdoc logs --root " + root + " default/crashloop:app"
		if !strings.Contains(all, want) {
			t.Errorf("--root %s: no %q in the hints:\n%s", root, want, all)
		}
		if strings.Contains(strings.ReplaceAll(all, "--root "+root, ""), "testdata/nodes") {
			t.Errorf("--root %s: a hint names the copy's path:\n%s", root, all)
		}
	}

	// --bundle-in: the temp dir it unpacks to is gone when the report is read; the hints name
	// the bundle, and every command reads it.
	b := filepath.Join(t.TempDir(), "node1.tar.gz")
	if _, err := bundle.Write(t.Context(), b, node.NewLocal(node.LocalOptions{Root: capturedRoot}), bundle.Options{}); err != nil {
		t.Fatal(err)
	}
	out, _ := runCmd(t, "diagnose", "--bundle-in", b)
	if strings.Contains(out, os.TempDir()+"/spdoc-bundle-") {
		t.Errorf("the report names the temp dir of the unpacked bundle:\n%s", out)
	}
	if !strings.Contains(out, "spdoc logs --bundle-in "+b+" default/crashloop:app") {
		t.Errorf("no next step with --bundle-in:\n%s", out)
	}
	for _, args := range [][]string{{"logs", "default/crashloop:app"}, {"get", "sps"}, {"containers"}} {
		out, err := runCmd(t, append(args, "--bundle-in", b)...)
		if err != nil || out == "" {
			t.Errorf("%v --bundle-in: %v\n%s", args, err, out)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(os.TempDir(), "spdoc-bundle-*")); len(m) > 0 {
		for _, d := range m {
			if fi, err := os.Stat(d); err == nil && fi.ModTime().After(startTime) {
				t.Errorf("unpacked bundle left behind: %s", d)
			}
		}
	}
}

var startTime = time.Now()
