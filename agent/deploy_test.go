package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestDeployNPDPluginMonitor checks the node-problem-detector config against the contract its
// custom plugin monitor reads: a permanent rule with a condition declared with a default, a
// max_output_length equal to the --width spdoc cuts at, and a rule timeout below the plugin's.
func TestDeployNPDPluginMonitor(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "deploy", "npd", "spdoc-plugin-monitor.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Plugin       string `json:"plugin"`
		PluginConfig struct {
			InvokeInterval  string `json:"invoke_interval"`
			Timeout         string `json:"timeout"`
			MaxOutputLength int    `json:"max_output_length"`
			Concurrency     int    `json:"concurrency"`
			MessageChange   bool   `json:"enable_message_change_based_condition_update"`
		} `json:"pluginConfig"`
		Source           string `json:"source"`
		MetricsReporting bool   `json:"metricsReporting"`
		Conditions       []struct{ Type, Reason, Message string }
		Rules            []struct {
			Type, Condition, Reason, Path, Timeout string
			Args                                   []string
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("spdoc-plugin-monitor.json: %v", err)
	}
	if cfg.Plugin != "custom" || cfg.Source == "" || len(cfg.Rules) != 1 || len(cfg.Conditions) != 1 {
		t.Fatalf("unexpected shape: %+v", cfg)
	}
	r, c := cfg.Rules[0], cfg.Conditions[0]
	if r.Type != "permanent" || r.Condition != c.Type || c.Type != "StaticPodProblem" || r.Reason == c.Reason {
		t.Errorf("rule %+v / condition %+v: want a permanent StaticPodProblem rule with its own reason", r, c)
	}
	width := ""
	for i, a := range r.Args {
		if a == "--width" && i+1 < len(r.Args) {
			width = r.Args[i+1]
		}
	}
	if !slices.Contains(r.Args, "--npd") || width != strconv.Itoa(cfg.PluginConfig.MaxOutputLength) {
		t.Errorf("args %v: want --npd and --width %d (max_output_length)", r.Args, cfg.PluginConfig.MaxOutputLength)
	}
	rt, err1 := time.ParseDuration(r.Timeout)
	pt, err2 := time.ParseDuration(cfg.PluginConfig.Timeout)
	iv, err3 := time.ParseDuration(cfg.PluginConfig.InvokeInterval)
	if err := errors.Join(err1, err2, err3); err != nil || rt > pt || pt > iv {
		t.Errorf("timeouts rule %s plugin %s interval %s (%v): want rule <= plugin <= interval", r.Timeout, cfg.PluginConfig.Timeout, cfg.PluginConfig.InvokeInterval, err)
	}
}
