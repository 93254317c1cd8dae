package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/agent"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
)

// copyNodeAs copies the captured node src to a temp dir with every "node1" (file names and
// contents) renamed to name, so one capture stands for several nodes of a fleet.
func copyNodeAs(t *testing.T, src, name string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		out := filepath.Join(dst, strings.ReplaceAll(rel, "node1", name))
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(strings.ReplaceAll(target, "node1", name), out)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(out, []byte(strings.ReplaceAll(string(data), "node1", name)), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// startAgent serves an agent over a unix socket whose node is the copied node root.
func startAgent(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pods.yaml")
	if err := os.WriteFile(cfg, []byte("pods: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Options{
		ConfigPath: cfg, ManifestDir: filepath.Join(dir, "manifests"), Codec: agent.StaticPodCodec{},
		Node:    node.NewLocal(node.LocalOptions{Root: root}),
		Analyze: func(s *node.Snapshot) *diagnose.Report { return diagnose.Analyze(s, diagnose.Options{}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "manifests"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = a.Run(ctx); done <- struct{}{} }()
	go func() { _ = agent.Serve(ctx, a, ln); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	deadline := time.Now().Add(20 * time.Second)
	for a.Snapshot() == nil {
		if time.Now().After(deadline) {
			t.Fatal("agent took no snapshot within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "unix://" + sock
}

func TestFanOutOverAgents(t *testing.T) {
	a1 := startAgent(t, copyNodeAs(t, "../../testdata/nodes/broken", "node1"))
	a2 := startAgent(t, copyNodeAs(t, "../../testdata/nodes/broken", "node2"))
	agents := a1 + "," + a2

	t.Run("diagnose json is one report per node", func(t *testing.T) {
		out, err := runCmd(t, "diagnose", "--agent", agents, "-o", "json")
		if ec, ok := err.(exitCodeError); !ok || ec.code != 1 {
			t.Fatalf("exit: %v, want exitCodeError{1} (problems found)", err)
		}
		var reports []diagnose.Report
		if err := json.Unmarshal([]byte(out), &reports); err != nil {
			t.Fatalf("not a JSON array of reports: %v\n%s", err, out)
		}
		if len(reports) != 2 || reports[0].Node.Name != "node1" || reports[1].Node.Name != "node2" {
			t.Fatalf("nodes: %d reports, want node1 and node2", len(reports))
		}
		for _, r := range reports {
			var kinds []string
			for _, p := range r.Pods {
				if p.Name == "crashloop" {
					for _, f := range p.Findings {
						kinds = append(kinds, string(f.Kind))
					}
				}
			}
			if !strings.Contains(strings.Join(kinds, ","), "CrashLoop") {
				t.Errorf("%s: crashloop findings %v, want CrashLoop", r.Node.Name, kinds)
			}
		}
	})

	t.Run("get staticpodstatus lists both nodes", func(t *testing.T) {
		out, err := runCmd(t, "get", "staticpodstatus", "default-crashloop", "--agent", agents)
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			rows = append(rows, strings.Fields(l)[0])
		}
		if strings.Join(rows, " ") != "node1 node2" {
			t.Fatalf("rows by node %v, want node1 node2:\n%s", rows, out)
		}
	})

	t.Run("logs are prefixed with their node", func(t *testing.T) {
		out, err := runCmd(t, "logs", "default/crashloop:app", "--tail", "1", "--agent", agents)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("want one line per node, got:\n%s", out)
		}
		seen := map[string]bool{}
		for _, l := range lines {
			node, msg, _ := strings.Cut(l, ": ")
			seen[node] = true
			if !strings.Contains(msg, "config.yaml") {
				t.Errorf("line %q: want the crashed instance's last line", l)
			}
		}
		if !seen["node1"] || !seen["node2"] {
			t.Errorf("prefixes %v, want node1 and node2", seen)
		}
	})

	t.Run("an unreachable agent fails alone", func(t *testing.T) {
		out, err := runCmd(t, "get", "staticpods", "--agent", a1+",unix://"+filepath.Join(t.TempDir(), "none.sock"))
		if err == nil {
			t.Fatal("want an error for the unreachable agent")
		}
		if !strings.Contains(out, "node1   default     crashloop") {
			t.Errorf("the reachable node's pods are missing:\n%s", out)
		}
	})

	t.Run("agent and root exclude each other", func(t *testing.T) {
		_, err := runCmd(t, "diagnose", "--agent", a1, "--root", "../../testdata/nodes/broken")
		if err == nil || !strings.Contains(err.Error(), "--agent and --root") {
			t.Fatalf("err %v", err)
		}
	})
}

func TestBundleRefusesAgents(t *testing.T) {
	_, err := runCmd(t, "diagnose", "--agent", "unix:///nonexistent.sock", "--bundle", filepath.Join(t.TempDir(), "b.tar.gz"))
	if err == nil || !strings.Contains(err.Error(), "not with --agent") {
		t.Fatalf("err %v, want --bundle refused with --agent", err)
	}
}
