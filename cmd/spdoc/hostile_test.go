package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/internal/canary"
)

// TestDiagnoseRootStaysInside: a copied node (or an unpacked bundle) whose files are symlinks
// out of it — absolute, "..", or a chain of local-looking links — never gets the host's files
// read into the report; the report says the link leaves the root instead.
func TestDiagnoseRootStaysInside(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "node")
	host := filepath.Join(parent, "host")
	mustWrite := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustLink := func(target, p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	const canary = "hostcanary7q"
	mustWrite(filepath.Join(host, "pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: "+canary+"\nspec:\n  containers:\n  - name: c\n    image: busybox:1\n")
	mustWrite(filepath.Join(host, "shadow"), "root:$6$"+canary+"$x:19000:0:99999:7:::\n")
	mustWrite(filepath.Join(host, "kubelet.log"), `E1124 21:55:04.100165 1234 file.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/`+canary+`.yaml" err="invalid pod"`+"\n")
	mustWrite(filepath.Join(root, "etc/kubernetes/manifests/web.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: busybox:1\n")
	mustLink(filepath.Join(host, "pod.yaml"), filepath.Join(root, "etc/kubernetes/manifests/abs.yaml"))
	mustLink("../../../../host/shadow", filepath.Join(root, "etc/kubernetes/manifests/up.yaml"))
	// a → ., a/b → .., c → b/..: c/host is the parent's host dir.
	mustLink(".", filepath.Join(root, "a"))
	mustLink("..", filepath.Join(root, "b"))
	mustLink("b/..", filepath.Join(root, "c"))
	mustLink("../../c/host/pod.yaml", filepath.Join(root, "etc/kubernetes/manifests/chain.yaml"))
	mustLink("../../"+"b/host/kubelet.log", filepath.Join(root, "var/log/kubelet.log"))

	for _, format := range []string{"text", "json"} {
		out, _ := runSpdoc(t, "diagnose", "--root", root, "-o", format)
		if strings.Contains(out, canary) {
			t.Fatalf("-o %s: the host's file was read through a symlink:\n%s", format, out)
		}
		if !strings.Contains(out, "outside the node root") {
			t.Errorf("-o %s: the report does not say the links leave the root:\n%s", format, out)
		}
	}
}

// TestDiagnoseCanaryCorpus: no planted secret survives in any report format, and the report
// still shows the container log evidence the secrets sat beside.
func TestDiagnoseCanaryCorpus(t *testing.T) {
	root := canary.LayNode(t)
	for _, format := range []string{"text", "markdown", "json"} {
		out, _, _ := runSpdocSplit(t, "diagnose", "--root", root, "--node-name", canary.NodeName, "--since", "100000h", "-o", format)
		if left := canary.Survivors([]byte(out)); len(left) > 0 {
			t.Errorf("-o %s: canaries %v survived:\n%s", format, left, out)
		}
		if !strings.Contains(out, "boom") || !strings.Contains(out, "[REDACTED-") {
			t.Errorf("-o %s: the report lacks the log evidence or any token:\n%s", format, out)
		}
	}
}
