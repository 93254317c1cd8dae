package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/internal/staticpod"
)

// TestDeployStaticPod checks the shipped static pod manifest of the agent: valid for the kubelet,
// node-critical, host network, and every host path the agent needs mounted the right way.
func TestDeployStaticPod(t *testing.T) {
	path := filepath.Join("..", "deploy", "static-pod", "spdoc-agent.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := staticpod.DecodeFile(path, data)
	if f.Parse != nil {
		t.Fatalf("%s does not parse: %v", path, f.Parse)
	}
	if len(f.Pods) != 1 {
		t.Fatalf("%s: %d pods, want 1", path, len(f.Pods))
	}
	sp := f.Pods[0]
	for _, i := range sp.Issues {
		if i.Severity == staticpod.SeverityError {
			t.Errorf("%s: kubelet would reject it: %s", path, i)
		}
	}
	pod := sp.Pod
	if !pod.Spec.HostNetwork || pod.Spec.PriorityClassName != "system-node-critical" {
		t.Errorf("hostNetwork %v priorityClassName %q; want true, system-node-critical", pod.Spec.HostNetwork, pod.Spec.PriorityClassName)
	}
	hostPaths := map[string]string{} // volume name → host path
	for _, v := range pod.Spec.Volumes {
		if v.HostPath != nil {
			hostPaths[v.Name] = v.HostPath.Path
		}
	}
	mounts := map[string]bool{} // host path → read-only
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		if hp, ok := hostPaths[m.Name]; ok {
			mounts[hp] = m.ReadOnly
		}
	}
	for hp, ro := range map[string]bool{
		"/etc/kubernetes/manifests":       false,
		"/etc/spdoc":                      false,
		"/run/spdoc":                      false,
		"/run/containerd/containerd.sock": false,
		"/var/log":                        true,
	} {
		got, ok := mounts[hp]
		if !ok {
			t.Errorf("host path %s not mounted", hp)
		} else if got != ro {
			t.Errorf("host path %s readOnly=%v, want %v", hp, got, ro)
		}
	}
	// The agent removes files with its prefix that are not in its config: its own manifest must
	// be installed under another name.
	if !strings.Contains(string(data), "/etc/kubernetes/manifests/00-spdoc-agent.yaml") || strings.HasPrefix("00-spdoc-agent.yaml", DefaultPrefix) {
		t.Errorf("%s must tell to install it under a name without the %q prefix", path, DefaultPrefix)
	}
}

// TestDeploySystemdUnit verifies the unit with systemd-analyze (with ExecStart pointed at a
// binary that exists) and that the hardening still lets the agent write what it must.
func TestDeploySystemdUnit(t *testing.T) {
	path := filepath.Join("..", "deploy", "systemd", "spdoc-agent.service")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	for _, want := range []string{
		"ProtectSystem=strict", "NoNewPrivileges=yes",
		"ReadWritePaths=/etc/kubernetes/manifests /etc/spdoc",
		"ReadOnlyPaths=/var/log /var/lib/kubelet",
		"RuntimeDirectory=spdoc", "RuntimeDirectoryMode=0700",
		"ExecReload=/bin/kill -HUP $MAINPID",
		"--listen unix:///run/spdoc/agent.sock",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("%s lacks %q", path, want)
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not found (Debian package systemd): %v", err)
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "spdoc")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	u := filepath.Join(dir, "spdoc-agent.service")
	if err := os.WriteFile(u, []byte(strings.ReplaceAll(unit, "/usr/local/bin/spdoc", fake)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", u).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
