// Command capture starts a real test node (internal/testnode: containerd + standalone kubelet),
// applies a set of broken and healthy static pods, waits until the kubelet has logged what each
// one provokes, and copies the node's files into a directory laid out like a node:
//
//	etc/kubernetes/manifests/          the manifests as the kubelet saw them
//	etc/kubernetes/kubelet-config.json the KubeletConfiguration it ran with
//	var/log/kubelet.log                the kubelet's log (JSON or klog text)
//	var/log/pods/…                     container logs (small files only)
//	var/log/containers/…               the kubelet's links, made relative
//	runtime.json                       the CRI view: sandboxes and container statuses
//	kubelet-pods.json                  the kubelet's /pods (read-only port)
//
// Absolute paths of the temporary node are rewritten to node-layout paths (the node's temp root
// prefix is removed), so `spdoc diagnose --root DIR` reads the copy like a real node.
//
// Usage (as root): go run ./hack/capture -out testdata/nodes/broken [-format text]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/testnode"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	out := flag.String("out", "", "directory to write the captured node into (replaced)")
	format := flag.String("format", "json", "kubelet log format: json or text")
	nodeName := flag.String("node-name", "node1", "node name (--hostname-override) of the captured kubelet")
	timeout := flag.Duration("timeout", 4*time.Minute, "how long to wait for the kubelet to log every scenario")
	maxFile := flag.Int64("max-file", 64<<10, "skip pod log files larger than this many bytes")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "capture: -out DIR is required")
		os.Exit(2)
	}
	if _, err := run(*out, *format, *nodeName, *timeout, *maxFile); err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		os.Exit(1)
	}
}

// check is one thing the kubelet must have done before the capture is complete.
type check struct {
	desc string
	// all substrings must appear on one kubelet log line (on at least min lines, default 1)
	line []string
	min  int
	// or, when set, the kubelet's /pods must report the pod ready
	readyPod string
}

// run captures a node into out and returns the temp root the node ran under (gone by then).
func run(out, format, nodeName string, timeout time.Duration, maxFile int64) (string, error) {
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	n, err := testnode.New(context.Background(), testnode.Options{LogFormat: format, NodeName: nodeName, Logf: logf})
	if err != nil {
		return "", err
	}
	defer func() {
		if err := n.Close(); err != nil {
			logf("stopping node: %v", err)
		}
	}()

	files := map[string]string{
		"healthy.yaml":          testnode.HealthyPod("healthy"),
		"invalid.yaml":          testnode.NoContainersPod("invalid"),
		"yaml-error.yaml":       testnode.YAMLErrorPod("yaml-error"),
		"crashloop.yaml":        testnode.CrashLoopPod("crashloop", "fatal: cannot open /etc/app/config.yaml: no such file or directory", 3),
		"missing-image.yaml":    testnode.ImagePod("missing-image", "spdoc.local/not-imported:1", "Never"),
		"unpullable.yaml":       testnode.ImagePod("unpullable", "registry.spdoc.invalid/app:1", "IfNotPresent"),
		"missing-hostpath.yaml": testnode.HostPathPod("missing-hostpath", "/srv/spdoc-missing-dir"),
		"no-cni.yaml":           testnode.PodNetworkPod("no-cni"),
		"liveness.yaml":         testnode.LivenessFailPod("liveness"),
		"dup-a.yaml":            testnode.HealthyPod("dup"),
		"dup-b.yaml":            testnode.HealthyPod("dup"),
		"old-sidecar.yaml.bak":  testnode.HealthyPod("old-sidecar"),
		"edited.yaml":           testnode.HealthyPod("edited"),
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := n.WriteManifest(name, files[name]); err != nil {
			return n.Root, err
		}
	}
	// A careless writer: the kubelet may read this file half-written.
	if err := n.WriteManifestNonAtomic("late.yaml", testnode.HealthyPod("late"), 1500*time.Millisecond); err != nil {
		return n.Root, err
	}

	if err := waitAll(n, timeout, logf, []check{
		{desc: "healthy pod ready", readyPod: "healthy"},
		{desc: "edited pod ready before the edit", readyPod: "edited"},
		{desc: "late pod ready", readyPod: "late"},
		{desc: "backup file pod ready", readyPod: "old-sidecar"},
	}); err != nil {
		return n.Root, err
	}
	if err := n.WriteManifest("edited.yaml", testnode.InvalidImagePod("edited")); err != nil {
		return n.Root, err
	}
	if err := waitAll(n, timeout, logf, []check{
		{desc: "invalid manifest", line: []string{"invalid.yaml", "spec.containers: Required value"}},
		{desc: "YAML error", line: []string{"yaml-error.yaml", "couldn't parse as pod"}},
		{desc: "crash loop back-off twice", line: []string{"crashloop", "CrashLoopBackOff"}, min: 2},
		{desc: "image never pulled", line: []string{"missing-image", "ErrImageNeverPull"}},
		{desc: "image pull failure", line: []string{"unpullable", "ErrImagePull"}},
		{desc: "hostPath type check", line: []string{"missing-hostpath", "hostPath type check failed"}},
		{desc: "no CNI", line: []string{"no-cni", "cni plugin not initialized"}},
		{desc: "liveness probe failure", line: []string{"liveness", "Probe failed"}},
		{desc: "liveness restart twice", line: []string{"liveness", "failed liveness probe"}, min: 2},
		{desc: "edited manifest rejected", line: []string{"edited.yaml", "spec.containers[0].image: Required value"}},
		{desc: "edited pod killed", line: []string{"edited", "Killing container"}},
	}); err != nil {
		return n.Root, err
	}
	return n.Root, copyNode(n, out, maxFile)
}

// waitAll polls the kubelet log and /pods until every check holds.
func waitAll(n *testnode.Node, timeout time.Duration, logf func(string, ...any), checks []check) error {
	done := make([]bool, len(checks))
	return testnode.Poll(timeout, func() (bool, string) {
		data, _ := os.ReadFile(n.KubeletLog)
		lines := strings.Split(string(data), "\n")
		var missing []string
		for i, c := range checks {
			if done[i] {
				continue
			}
			if c.readyPod != "" {
				p, err := n.Pod("default", c.readyPod)
				if err == nil && p != nil {
					for _, cond := range p.Status.Conditions {
						if cond.Type == "Ready" && cond.Status == "True" {
							done[i] = true
						}
					}
				}
			} else {
				seen := 0
				for _, l := range lines {
					if containsAll(l, c.line) {
						seen++
					}
				}
				done[i] = seen >= max(c.min, 1)
			}
			if done[i] {
				logf("capture: %s: seen", c.desc)
			} else {
				missing = append(missing, c.desc)
			}
		}
		return len(missing) == 0, "still missing: " + strings.Join(missing, ", ")
	})
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// copyNode copies the node's files into out, rewriting the temp root away.
func copyNode(n *testnode.Node, out string, maxFile int64) error {
	if err := os.RemoveAll(out); err != nil {
		return fmt.Errorf("clearing %s: %w", out, err)
	}
	rewrite := func(b []byte) []byte { return []byte(strings.ReplaceAll(string(b), n.Root, "")) }
	copyFile := func(src, rel string) error {
		data, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("reading %s: %w", src, err)
		}
		dst := filepath.Join(out, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, rewrite(data), 0o644)
	}
	// Manifests, including the dotfile-free leftovers the kubelet saw.
	entries, err := os.ReadDir(n.ManifestDir)
	if err != nil {
		return fmt.Errorf("reading manifest dir: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := copyFile(filepath.Join(n.ManifestDir, e.Name()), filepath.Join("etc/kubernetes/manifests", e.Name())); err != nil {
				return err
			}
		}
	}
	if err := copyFile(n.KubeletConfig, "etc/kubernetes/kubelet-config.json"); err != nil {
		return err
	}
	if err := copyFile(n.KubeletLog, "var/log/kubelet.log"); err != nil {
		return err
	}
	// Pod logs: small regular files only.
	err = filepath.WalkDir(n.PodLogsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil || info.Size() > maxFile {
			return err
		}
		rel, _ := filepath.Rel(n.Root, path)
		return copyFile(path, rel)
	})
	if err != nil {
		return fmt.Errorf("copying pod logs: %w", err)
	}
	// The kubelet's /var/log/containers links of this node, made relative to the copy.
	links, _ := os.ReadDir("/var/log/containers")
	for _, l := range links {
		target, err := os.Readlink(filepath.Join("/var/log/containers", l.Name()))
		if err != nil || !strings.HasPrefix(target, n.PodLogsDir+"/") {
			continue
		}
		rel := "../pods/" + strings.TrimPrefix(target, n.PodLogsDir+"/")
		dst := filepath.Join(out, "var/log/containers", l.Name())
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(rel, dst); err != nil {
			return fmt.Errorf("linking %s: %w", dst, err)
		}
	}
	pods, err := n.PodsFromReadOnlyPort()
	if err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(out, "kubelet-pods.json"), map[string]any{"kind": "PodList", "apiVersion": "v1", "items": pods}, rewrite); err != nil {
		return err
	}
	rt, err := captureRuntime(n)
	if err != nil {
		return err
	}
	return writeJSON(filepath.Join(out, "runtime.json"), rt, rewrite)
}

func writeJSON(path string, v any, rewrite func([]byte) []byte) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return os.WriteFile(path, append(rewrite(data), '\n'), 0o644)
}

// runtimeView is the CRI's answer for every sandbox and container, as the runtime gives it.
type runtimeView struct {
	Version    *runtimeapi.VersionResponse    `json:"version"`
	Status     *runtimeapi.RuntimeStatus      `json:"status"`
	Sandboxes  []*runtimeapi.PodSandboxStatus `json:"sandboxes"`
	Containers []*runtimeapi.ContainerStatus  `json:"containers"`
}

func captureRuntime(n *testnode.Node) (*runtimeView, error) {
	rs, conn, err := n.RuntimeClient()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var v runtimeView
	if v.Version, err = rs.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
		return nil, fmt.Errorf("CRI Version: %w", err)
	}
	st, err := rs.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return nil, fmt.Errorf("CRI Status: %w", err)
	}
	v.Status = st.Status
	sbs, err := rs.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil, fmt.Errorf("CRI ListPodSandbox: %w", err)
	}
	for _, sb := range sbs.Items {
		s, err := rs.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.Id})
		if err != nil {
			return nil, fmt.Errorf("CRI PodSandboxStatus %s: %w", sb.Id, err)
		}
		v.Sandboxes = append(v.Sandboxes, s.Status)
	}
	cs, err := rs.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, fmt.Errorf("CRI ListContainers: %w", err)
	}
	for _, c := range cs.Containers {
		s, err := rs.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id})
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, err
			}
			continue // removed meanwhile
		}
		v.Containers = append(v.Containers, s.Status)
	}
	return &v, nil
}
