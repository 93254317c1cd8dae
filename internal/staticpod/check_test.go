package staticpod

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckPaths(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "manifests")
	must(t, os.Mkdir(m, 0o755))
	writeFile(t, filepath.Join(m, "a.yaml"), podYAML("default", "a"))
	writeFile(t, filepath.Join(m, "a.yaml.orig"), podYAML("default", "a"))
	writeFile(t, filepath.Join(m, ".a.yaml.swp"), "binary junk")
	writeFile(t, filepath.Join(m, "noimage.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: noimage\nspec:\n  containers:\n  - name: c\n    resources: {requests: {cpu: 1}}\n")
	must(t, os.Mkdir(filepath.Join(m, "sub"), 0o755))
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  - y\n")
	cfg := filepath.Join(dir, "pods.yaml")
	writeFile(t, cfg, "pods:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: web}\n  spec:\n    containers:\n    - name: web\n      image: nginx\n      resources: {requests: {cpu: 1}}\n")

	tests := []struct {
		name     string
		paths    []string
		opts     CheckOptions
		want     []string // text lines, with dir replaced by DIR
		errs     int
		warnings int
	}{
		{"manifest dir", []string{m}, CheckOptions{}, []string{
			"DIR/manifests/a.yaml.orig: Backup file: the kubelet loads backup and editor files like any manifest; move it out of the manifest directory (warning)",
			"DIR/manifests/noimage.yaml:7: spec.containers[0].image: Required value (error)",
			"DIR/manifests/sub: Directory: the kubelet does not read manifests in subdirectories (warning)",
			`DIR/manifests/a.yaml: metadata.name: Duplicate pod: "default/a": defined in a.yaml, a.yaml.orig: the kubelet runs only one of them and the pod flaps between the files (error)`,
			`DIR/manifests/a.yaml.orig: metadata.name: Duplicate pod: "default/a": defined in a.yaml, a.yaml.orig: the kubelet runs only one of them and the pod flaps between the files (error)`,
			"3 files, 3 pods: 3 errors, 2 warnings",
		}, 3, 2},
		{"explicit file", []string{bad}, CheckOptions{}, []string{
			// go-yaml v2, like the kubelet, names line 4 for the stray "- y" on line 5.
			"DIR/bad.yaml:4: Parse error: couldn't parse as pod(yaml: line 4: did not find expected key) (error)",
			"1 files, 0 pods: 1 errors, 0 warnings",
		}, 1, 0},
		{"agent config", []string{cfg}, CheckOptions{Config: true}, []string{
			`DIR/pods.yaml:8: spec.containers[0].image: Not recommended: "nginx": imagePullPolicy is Always (explicitly or because the tag is :latest or missing): the kubelet pulls on every container start, so the pod cannot restart while the registry is unreachable; pin a tag and use IfNotPresent (warning)`,
			"1 files, 1 pods: 0 errors, 1 warnings",
		}, 0, 1},
		{"manifest read as config", []string{filepath.Join(m, "a.yaml")}, CheckOptions{Config: true}, []string{
			"DIR/manifests/a.yaml:1: Parse error: document 1 is a Pod manifest, not a config: list it under `pods:` (error)",
			"1 files, 0 pods: 1 errors, 0 warnings",
		}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := CheckPaths(tt.paths, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			must(t, r.WriteText(&buf))
			got := strings.Split(strings.TrimSuffix(strings.ReplaceAll(buf.String(), dir, "DIR"), "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("text:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if r.Errors != tt.errs || r.Warnings != tt.warnings {
				t.Errorf("errors %d warnings %d, want %d %d", r.Errors, r.Warnings, tt.errs, tt.warnings)
			}
			buf.Reset()
			must(t, r.WriteJSON(&buf))
			var back struct {
				Errors   int `json:"errors"`
				Problems []struct {
					Path, Field, Type, Severity string
					Line                        int
				} `json:"problems"`
			}
			must(t, json.Unmarshal(buf.Bytes(), &back))
			if back.Errors != tt.errs || len(back.Problems) != len(tt.want)-1 {
				t.Errorf("JSON: %s", buf.String())
			}
		})
	}
}

func TestCheckPathsFailures(t *testing.T) {
	dir := t.TempDir()
	if _, err := CheckPaths([]string{filepath.Join(dir, "missing")}, CheckOptions{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing path: err = %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o600))
	r, err := CheckPaths([]string{fifo}, CheckOptions{})
	if err != nil || r.Errors != 1 || !strings.Contains(r.Problems[0].Detail, "is a FIFO") {
		t.Errorf("FIFO argument (must not block): %+v, %v", r, err)
	}
	loop := filepath.Join(dir, "loop")
	must(t, os.Symlink(loop, loop))
	if _, err := CheckPaths([]string{loop}, CheckOptions{}); err == nil {
		t.Error("symlink loop as argument: no error")
	}
}
