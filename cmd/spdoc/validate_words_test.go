package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateSaysWhatAFileIs: other kinds, agent configs, binary junk and bad quantities are
// named for what they are; host ports clash on the host network; nothing to validate, a
// missing path, and stdin.
func TestValidateSaysWhatAFileIs(t *testing.T) {
	dir := t.TempDir()
	pod := func(name string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec:\n  hostNetwork: true\n  containers:\n  - name: a\n    image: b:1\n    ports: [{containerPort: 6443}]\n"
	}
	files := map[string]string{
		"deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: b}]\n",
		"ns.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
		"junk.yaml":   "\x7fELF\x02\x01\x01\x00\x00\x00binary",
		"qty.yaml":    "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec:\n  containers:\n  - name: a\n    image: b:1\n    resources:\n      limits: {cpu: 1, memory: 12XB}\n",
		"agent.yaml":  "pods:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: x}\n  spec: {containers: [{name: a, image: b}]}\n",
		"api-a.yaml":  pod("api-a"),
		"api-b.yaml":  pod("api-b"),
		"empty/.keep": "",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"deploy.yaml"}, "Not a Pod: a static pod is `kind: Pod`; this is a Deployment (apps/v1); its pod is under spec.template", 1},
		// A workload was meant to run (error); another object is only misplaced (warning,
		// counted as one: exit 0 unless --strict).
		{[]string{"deploy.yaml"}, "1 files, 0 pods: 1 errors, 0 warnings", 1},
		{[]string{"ns.yaml"}, "this is a Namespace (v1); the kubelet runs only Pods from its manifest directory (warning)", 0},
		{[]string{"ns.yaml"}, "1 files, 0 pods: 0 errors, 1 warnings", 0},
		{[]string{"--strict", "ns.yaml"}, "(warning)", 1},
		{[]string{"junk.yaml"}, "Not a manifest: binary data", 1},
		{[]string{"qty.yaml"}, `qty.yaml:9: spec.containers[0].resources.limits.memory: Invalid quantity: "12XB"`, 1},
		{[]string{"agent.yaml"}, "this is an spdoc agent config, not a manifest: check it with spdoc validate --config", 1},
		{[]string{"api-a.yaml", "api-b.yaml"}, `api-b.yaml: spec.containers[0].ports[0]: Host port conflict: "TCP/6443": pod default/api-a`, 1},
		{[]string{"empty"}, "No manifests: nothing to validate", 1},
		{[]string{"--config", "agent.yaml"}, "1 files, 1 pods", 0},
	} {
		args := []string{"validate"}
		for _, a := range tt.args {
			if !strings.HasPrefix(a, "-") {
				a = filepath.Join(dir, a)
			}
			args = append(args, a)
		}
		out, err := runCmd(t, args...)
		if !strings.Contains(out, tt.want) || exitCode(err) != tt.code {
			t.Errorf("%v: exit %d (%v), want %d; output lacks %q:\n%s", tt.args, exitCode(err), err, tt.code, tt.want, out)
		}
	}
	if _, err := runCmd(t, "validate", filepath.Join(dir, "nope", "*.yaml")); err == nil || exitCode(err) != 1 {
		t.Errorf("a path that matches nothing: %v, exit %d; want exit 1", err, exitCode(err))
	}
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetIn(strings.NewReader(files["qty.yaml"]))
	cmd.SetArgs([]string{"validate", "-"})
	if err := cmd.Execute(); exitCode(err) != 1 || !strings.Contains(out.String(), "(stdin):9: spec.containers[0].resources.limits.memory") {
		t.Errorf("validate -: %v\n%s", err, out.String())
	}
}
