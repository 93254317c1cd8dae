package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

const capturedRoot = "../../testdata/nodes/broken"

// runCmd runs spdoc with args in-process and returns stdout.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestGetCapturedNode(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string // substrings, in order
		wantErr string
	}{
		{[]string{"get", "staticpods"}, []string{"NODE", "ID", "VERSION", "default-crashloop", "default-edited", "no: spec.containers[0].image: Required value", "(yaml-error.yaml)", "no: line 5"}, ""},
		{[]string{"get", "sps"}, []string{"READY", "STATE", "RESTARTS", "default-crashloop", "0/1", "CrashLoop", "default-healthy", "1/1", "Running"}, ""},
		{[]string{"get", "staticpodstatus", "default-healthy", "-o", "json"}, []string{`"items"`, `"node": "node1"`, `"id": "default-healthy"`}, ""},
		{[]string{"get", "staticpods", "default-late", "-o", "yaml"}, []string{"items:", "id: default-late", "valid: true"}, ""},
		{[]string{"get", "pods"}, nil, `unknown resource "pods"`},
		{[]string{"get", "staticpods", "-o", "wide"}, nil, `--output "wide"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := runCmd(t, append(tt.args, "--root", capturedRoot)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	out, err := runCmd(t, "get", "staticpods", "-o", "json", "--root", capturedRoot)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []staticPodItem `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 14 {
		t.Errorf("%d items, want 14 (13 pods + the file that does not parse)", len(list.Items))
	}
}

func TestContainersCapturedNode(t *testing.T) {
	out, err := runCmd(t, "containers", "--static", "--root", capturedRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"default/crashloop-node1 ",
		"└─ default/crashloop-node1:app:da6ee16e324e",
		"CONTAINER_EXITED (Error, exit 3)",
		"└─ default/liveness-node1:main:65da8ba9345c",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if _, err := runCmd(t, "containers", "--root", t.TempDir()); err == nil || !strings.Contains(err.Error(), "runtime.json") {
		t.Errorf("no runtime state: err = %v", err)
	}
}

func TestLogsCapturedNode(t *testing.T) {
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"logs", "crashloop"}, "starting app\nfatal: cannot open /etc/app/config.yaml: no such file or directory\n", ""},
		{[]string{"logs", "default/crashloop:app", "--tail", "1", "--timestamps"}, "2026-11-24T22:26:46.438719489Z stderr fatal: cannot open /etc/app/config.yaml: no such file or directory\n", ""},
		{[]string{"logs", "liveness", "--previous", "--tail", "1"}, "serving\n", ""},
		{[]string{"logs", "ghost"}, "", `static pod "ghost" not found`},
		{[]string{"logs"}, "", "name a pod"},
		{[]string{"logs", "a/b/c"}, "", "want [NAMESPACE/]POD[:CONTAINER]"},
		{[]string{"logs", "/x"}, "", "empty namespace"},
		{[]string{"logs", "web", "-p", "-f"}, "", "can't be followed"},
		{[]string{"logs", "--kubelet", "web"}, "", "use --pod web"},
		{[]string{"logs", "--pod", "web"}, "", "--pod only goes with --kubelet"},
		{[]string{"logs", "--kubelet", "--pod", "web:c"}, "", "not per container"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := runCmd(t, append(tt.args, "--root", capturedRoot)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.want {
				t.Errorf("got %q, want %q", out, tt.want)
			}
		})
	}
	out, err := runCmd(t, "logs", "--kubelet", "--pod", "default/crashloop", "--root", capturedRoot)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("kubelet records about crashloop: %q", out)
	}
	for _, l := range lines {
		if !strings.Contains(l, "crashloop") && !strings.Contains(l, "b4160e8401c65ddc378ffe827459a2ce") {
			t.Errorf("record not about crashloop: %s", l)
		}
	}
}
