package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runSpdoc(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// healthyCopiedNode writes a copied node (--root layout) with one healthy hostNetwork pod and a
// kubelet log that saw it start.
func healthyCopiedNode(t *testing.T) string {
	t.Helper()
	healthy := t.TempDir()
	mdir := filepath.Join(healthy, "etc/kubernetes/manifests")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  hostNetwork: true\n  containers:\n  - name: app\n    image: busybox:1\n    resources: {requests: {cpu: 10m, memory: 16Mi}}\n"
	if err := os.WriteFile(filepath.Join(mdir, "web.yaml"), []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	log := `{"ts":1764021300000.1,"caller":"kubelet/kubelet.go:2546","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"web-node1","namespace":"default"},"event":{"ID":"2a1b3c4d5e6f708192a3b4c5d6e7f809","Type":"ContainerStarted","Data":"a1"}}` + "\n"
	if err := os.MkdirAll(filepath.Join(healthy, "var/log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(healthy, "var/log/kubelet.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	return healthy
}

func TestDiagnoseExitCodes(t *testing.T) {
	healthy := healthyCopiedNode(t)

	cases := []struct {
		name     string
		args     []string
		code     int // 0 ok, 1 problems, 2 tool failure
		contains string
	}{
		{"problems on the hand-made node", []string{"diagnose", "--root", "../../diagnose/testdata/handmade", "--node-name", "node1", "-o", "json"}, 1, `"kind": "CrashLoop"`},
		{"healthy node", []string{"diagnose", "--root", healthy, "--node-name", "node1"}, 0, "healthy"},
		{"markdown", []string{"diagnose", "--root", "../../diagnose/testdata/handmade", "--node-name", "node1", "-o", "markdown"}, 1, "## Pod `default/web` — CrashLoop"},
		{"bad format", []string{"diagnose", "--root", healthy, "-o", "yaml"}, 2, ""},
		{"missing root", []string{"diagnose", "--root", filepath.Join(healthy, "nope")}, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runSpdoc(t, tc.args...)
			code := 0
			var ec exitCodeError
			switch {
			case errors.As(err, &ec):
				code = ec.code
			case err != nil:
				code = 2
			}
			if code != tc.code {
				t.Fatalf("exit code %d (err %v), want %d; output:\n%s", code, err, tc.code, out)
			}
			if !strings.Contains(out, tc.contains) {
				t.Errorf("output lacks %q:\n%s", tc.contains, out)
			}
			if strings.Contains(tc.args[len(tc.args)-1], "json") {
				var v map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil {
					t.Errorf("-o json is not JSON: %v", err)
				}
			}
		})
	}
}

// TestDiagnoseRedactsByDefault: the hand-made node's container log holds a password and a bearer
// token; they are printed only with --no-redact.
func TestDiagnoseRedactsByDefault(t *testing.T) {
	args := []string{"diagnose", "--root", "../../diagnose/testdata/handmade", "--node-name", "node1"}
	out, _ := runSpdoc(t, args...)
	if strings.Contains(out, "hunter2-canary") || strings.Contains(out, "abcdef0123456789canary") {
		t.Errorf("secret printed without --no-redact:\n%s", out)
	}
	raw, _ := runSpdoc(t, append(args, "--no-redact")...)
	if !strings.Contains(raw, "hunter2-canary") {
		t.Errorf("--no-redact hides the value it should print")
	}
}
