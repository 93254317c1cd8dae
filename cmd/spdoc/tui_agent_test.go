package main

import (
	"bytes"
	"context"
	"github.com/spdoc/spdoc/internal/testtier"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/spdoc/spdoc/agent"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
	"github.com/spdoc/spdoc/tui"
)

const editAgentConfig = `pods:
- apiVersion: v1
  kind: Pod
  metadata:
    name: web
  spec:
    containers:
    - name: web
      image: busybox:1
`

const kubeadmManifest = `apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
spec:
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.34.0
`

// startEditAgent serves an in-process agent on a unix socket (or, with certs, on TCP with mutual
// TLS) whose manifest dir is the one its node reader scans (root/etc/kubernetes/manifests, with a
// kubeadm manifest in it). It returns the agent's address, the config path and the manifest dir.
func startEditAgent(t *testing.T, certs string) (string, string, string) {
	t.Helper()
	root := t.TempDir()
	md := filepath.Join(root, "etc", "kubernetes", "manifests")
	if err := os.MkdirAll(md, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(md, "kube-apiserver.yaml"), []byte(kubeadmManifest), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "etc", "spdoc", "pods.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(editAgentConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Options{
		ConfigPath: cfg, ManifestDir: md, Codec: agent.StaticPodCodec{},
		Node:            node.NewLocal(node.LocalOptions{Root: root, NoRuntime: true, NodeName: "node1"}),
		Analyze:         func(s *node.Snapshot) *diagnose.Report { return diagnose.Analyze(s, diagnose.Options{}) },
		RefreshInterval: 100 * time.Millisecond, MinRefreshGap: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sock := filepath.Join(root, "agent.sock")
	addr := "unix://" + sock
	var ln net.Listener
	if certs == "" {
		ln, err = net.Listen("unix", sock)
	} else {
		ln, err = agent.Listen(agent.ListenOptions{Addr: "tcp://127.0.0.1:0", TLSCert: filepath.Join(certs, "server.crt"),
			TLSKey: filepath.Join(certs, "server.key"), ClientCA: filepath.Join(certs, "ca.crt")})
		if err == nil {
			addr = "https://" + ln.Addr().String()
		}
	}
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = a.Run(ctx); done <- struct{}{} }()
	go func() { _ = agent.Serve(ctx, a, ln); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	waitUntil(t, "the agent wrote its pod and read the node", func() bool {
		s := a.Snapshot()
		return s != nil && s.Manifests != nil && len(s.Manifests.Pods()) == 2
	})
	return addr, cfg, md
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitScreen(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	var seen bytes.Buffer
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		seen.Write(b)
		for _, w := range want {
			if !bytes.Contains(seen.Bytes(), []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// TestRootTUIEditsThroughAgent drives the TUI over a real agent on a unix socket (the test runs as
// root: uid 0 is admin): e on the agent's pod edits the agent's config with a scripted $EDITOR
// and the agent rewrites the manifest; e on kubeadm's pod is refused.
func TestRootTUIEditsThroughAgent(t *testing.T) {
	testtier.Root(t)
	addr, cfg, md := startEditAgent(t, "")
	r, err := node.DialRemote(addr, node.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	editor := filepath.Join(t.TempDir(), "editor.sh")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/busybox:1/busybox:2/' \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := tui.New(agentTUIEnv(t, r, editor), nil)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(160, 40))
	t.Cleanup(func() { m.Pods().StopStreams() })
	waitScreen(t, tm, "default-web", "kube-system-kube-apiserver")

	// The list is sorted by ID: default-web, then kubeadm's kube-system-kube-apiserver.
	tm.Type("je")
	waitScreen(t, tm, "not managed by the agent: edit it on the node")
	manifest := filepath.Join(md, "spdoc-default-web.yaml")
	before, err := os.ReadFile(manifest)
	if err != nil || !strings.Contains(string(before), "busybox:1") {
		t.Fatalf("agent manifest before the edit: %q, %v", before, err)
	}
	tm.Type("ke")
	waitScreen(t, tm, "agent applied")
	waitUntil(t, "the agent rewrote "+manifest, func() bool {
		b, err := os.ReadFile(manifest)
		return err == nil && strings.Contains(string(b), "busybox:2")
	})
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*tui.Model)
	if st := fm.Status(); st.Err || !strings.Contains(st.Text, "agent applied "+cfg+": wrote spdoc-default-web.yaml") {
		t.Errorf("status %+v, want what the agent wrote", st)
	}
	if b, _ := os.ReadFile(cfg); !strings.Contains(string(b), "busybox:2") {
		t.Errorf("agent config not replaced:\n%s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(md, "kube-apiserver.yaml")); string(b) != kubeadmManifest {
		t.Errorf("kubeadm's manifest changed:\n%s", b)
	}
}

func agentTUIEnv(t *testing.T, r *node.Remote, editor string) tui.Env {
	return tui.Env{
		Client:  r,
		Agent:   r,
		Analyze: func(s *node.Snapshot) *diagnose.Report { return diagnose.Analyze(s, diagnose.Options{}) },
		Render: func(w io.Writer, rep *diagnose.Report, format string) error {
			return diagnose.Render(w, rep, format, diagnose.RenderOptions{})
		},
		Decode:  staticpod.DecodeFile,
		Editor:  editor,
		Dir:     t.TempDir(),
		Refresh: time.Hour,
	}
}

// TestTUIEditWithReaderCert: a reader certificate over mutual TLS sees the TUI, but e on the
// agent's pod shows the agent's 403 and opens no editor.
func TestTUIEditWithReaderCert(t *testing.T) {
	certs := t.TempDir()
	if err := agent.GenerateCerts(agent.CertOptions{Dir: certs}); err != nil {
		t.Fatal(err)
	}
	addr, cfg, _ := startEditAgent(t, certs)
	r, err := node.DialRemote(addr, node.RemoteOptions{CA: filepath.Join(certs, "ca.crt"),
		Cert: filepath.Join(certs, "reader.crt"), Key: filepath.Join(certs, "reader.key")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ran := filepath.Join(t.TempDir(), "editor-ran")
	editor := filepath.Join(t.TempDir(), "editor.sh")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(cfg)
	m := tui.New(agentTUIEnv(t, r, editor), nil)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(300, 40))
	t.Cleanup(func() { m.Pods().StopStreams() })
	waitScreen(t, tm, "default-web", "kube-system-kube-apiserver")
	tm.Type("e")
	waitScreen(t, tm, "needs an admin certificate")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*tui.Model)
	st := fm.Status()
	for _, want := range []string{"reading the agent config", "needs an admin certificate (spdoc:admin)", "HTTP 403", "may hold secrets"} {
		if !st.Err || !strings.Contains(st.Text, want) {
			t.Errorf("status %+v, want it to say %q", st, want)
		}
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the editor ran for a reader")
	}
	if after, _ := os.ReadFile(cfg); !bytes.Equal(before, after) {
		t.Error("the config changed")
	}
}
