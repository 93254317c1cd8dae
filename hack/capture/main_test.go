package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/testtier"
)

// TestRootKubeletCaptureNode captures a real node and checks the copy: node layout, no temp
// paths left, relative container log links that resolve inside the copy, and a CRI view.
func TestRootKubeletCaptureNode(t *testing.T) {
	testtier.RealNode(t)
	out := filepath.Join(t.TempDir(), "node")
	root, err := run(out, "json", "capture-test", 4*time.Minute, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{
		"etc/kubernetes/manifests/healthy.yaml",
		"etc/kubernetes/manifests/old-sidecar.yaml.bak",
		"etc/kubernetes/kubelet-config.json",
		"var/log/kubelet.log",
		"runtime.json",
		"kubelet-pods.json",
	} {
		if _, err := os.Stat(filepath.Join(out, rel)); err != nil {
			t.Errorf("capture lacks %s: %v", rel, err)
		}
	}
	var links int
	// Only this node's temp root is rewritten: the kubelet may also log paths of other nodes
	// running on the machine at the same time (mounts it sees), which stay as they are.
	err = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			links++
			target, _ := os.Readlink(path)
			if !strings.HasPrefix(target, "../pods/") {
				t.Errorf("link %s -> %s, want relative ../pods/…", path, target)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("link %s does not resolve inside the copy: %v", path, err)
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), root) {
			t.Errorf("%s still holds the node's temp root %s", path, root)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if links == 0 {
		t.Error("no var/log/containers links captured")
	}
	var cfg struct {
		StaticPodPath string `json:"staticPodPath"`
		PodLogsDir    string `json:"podLogsDir"`
	}
	data, _ := os.ReadFile(filepath.Join(out, "etc/kubernetes/kubelet-config.json"))
	if err := json.Unmarshal(data, &cfg); err != nil || cfg.StaticPodPath != "/etc/kubernetes/manifests" || cfg.PodLogsDir != "/var/log/pods" {
		t.Errorf("kubelet config paths %+v (err %v), want node-layout paths", cfg, err)
	}
	var rt struct {
		Containers []struct {
			ExitCode int32 `json:"exit_code"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"containers"`
	}
	data, _ = os.ReadFile(filepath.Join(out, "runtime.json"))
	if err := json.Unmarshal(data, &rt); err != nil {
		t.Fatalf("runtime.json: %v", err)
	}
	crashed := false
	for _, c := range rt.Containers {
		if c.Metadata.Name == "app" && c.ExitCode == 3 {
			crashed = true
		}
	}
	if !crashed {
		t.Errorf("runtime.json has no exited app container with exit code 3: %s", data[:min(len(data), 500)])
	}
}
