package diagnose

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/node"
)

var update = flag.Bool("update", false, "rewrite the golden reports under testdata/golden")

// loadLocal reads a copied node with the real node client, as `spdoc diagnose --root` does. The
// runtime view is left out (NoRuntime) so the golden reports show the log-only inference; the
// snapshot time is pinned to a minute after the last kubelet record.
func loadLocal(t *testing.T, root, nodeName string) *node.Snapshot {
	return loadLocalWith(t, node.LocalOptions{Root: root, NodeName: nodeName, NoRuntime: true})
}

// loadLocalCRI also loads the captured runtime view (runtime.json), as --root does by default.
func loadLocalCRI(t *testing.T, root, nodeName string) *node.Snapshot {
	return loadLocalWith(t, node.LocalOptions{Root: root, NodeName: nodeName})
}

func loadLocalWith(t *testing.T, opts node.LocalOptions) *node.Snapshot {
	t.Helper()
	root := opts.Root
	c := node.NewLocal(opts)
	defer c.Close()
	s, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("snapshot of %s: %v", root, err)
	}
	if s.KubeletLog != nil && !s.KubeletLog.Stats.Last.IsZero() {
		s.Taken = s.KubeletLog.Stats.Last.Add(time.Minute).UTC()
	}
	return s
}

// withLog loads a node whose kubelet log is another file (the same log in another shape), its
// modification time pinned (klog's year comes from it when the shape has none).
func withLog(log string, mtime time.Time) func(*testing.T, string, string) *node.Snapshot {
	return func(t *testing.T, root, nodeName string) *node.Snapshot {
		pin(t, log, mtime)
		return loadLocalWith(t, node.LocalOptions{Root: root, NodeName: nodeName, NoRuntime: true, KubeletLog: log})
	}
}

// pinned loads a node with its var/log/kubelet.log modification time pinned, so that klog's
// year (from the mtime) does not depend on when the repository was checked out.
func pinned(mtime time.Time) func(*testing.T, string, string) *node.Snapshot {
	return func(t *testing.T, root, nodeName string) *node.Snapshot {
		pin(t, filepath.Join(root, "var/log/kubelet.log"), mtime)
		return loadLocal(t, root, nodeName)
	}
}

func pin(t *testing.T, path string, mtime time.Time) {
	t.Helper()
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestGoldenReports(t *testing.T) {
	captured := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC) // the day of the captures
	nodes := []struct {
		name, root, node string
		load             func(*testing.T, string, string) *node.Snapshot
	}{
		{"handmade", "testdata/handmade", "node1", loadLocal},
		// captured from a real kubelet v1.34.4 + containerd 1.6 (see testdata/nodes/README.md)
		{"broken", "../testdata/nodes/broken", "node1", loadLocal},
		{"broken-text", "../testdata/nodes/broken-text", "node1", pinned(captured)},
		{"broken-cri", "../testdata/nodes/broken", "node1", loadLocalCRI},
		// the broken-text capture as journalctl -o short-precise prints it under a French locale
		// (hack/reshape): the same findings, read from another shape
		{"journald-fr", "../testdata/nodes/broken-text", "node1", withLog("../testdata/shapes/broken-text.short-precise-fr.log", captured)},
		// captured from a real kubelet v1.37.2 (node2): the newest kubelet the module proxy serves
		{"broken-v1.37", "../testdata/nodes/broken-v1.37", "node2", loadLocal},
		// talosctl logs kubelet -n 172.20.0.2,172.20.0.3 of both captures (hack/reshape): node1's
		// report must not take node2's errors
		{"talosctl-two-nodes", "../testdata/nodes/broken", "node1", withLog("../testdata/shapes/talosctl-two-nodes.log", captured)},
		// a kubelet 1.20 log (unstructured sentences, built from v1.20.15's format strings) from 2021
		{"v1.20-text", "../testdata/shapes/v1.20-text", "node1", pinned(time.Date(2021, 3, 3, 10, 5, 0, 0, time.UTC))},
	}
	for _, n := range nodes {
		snap := n.load(t, n.root, n.node)
		rep := Analyze(snap, Options{})
		for _, format := range []string{"text", "markdown", "json"} {
			t.Run(n.name+"/"+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Render(&buf, rep, format, RenderOptions{Width: 100}); err != nil {
					t.Fatalf("Render %s: %v", format, err)
				}
				ext := map[string]string{"text": "txt", "markdown": "md", "json": "json"}[format]
				golden := filepath.Join("..", "testdata", "golden", n.name+"."+ext)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("reading golden file (run go test ./diagnose -run TestGoldenReports -update): %v", err)
				}
				if got := buf.String(); got != string(want) {
					t.Errorf("%s report differs from %s (run with -update and review the diff):\n%s", format, golden, firstDiff(got, string(want)))
				}
			})
		}
	}
}

// firstDiff shows the first differing line with some context.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "(no line differs)"
}

func itoa(i int) string { return strconv.Itoa(i) }
