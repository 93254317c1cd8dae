package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
)

// TestErrorClassesSurviveTheAPI: the same request fails with the same error class on this node
// (node.Local) and through a real agent (node.Remote over its unix socket), so callers decide with
// errors.Is, never by reading "HTTP 403" in a message.
func TestErrorClassesSurviveTheAPI(t *testing.T) {
	root := t.TempDir()
	md, logs, cfg := filepath.Join(root, "manifests"), filepath.Join(root, "pods"), filepath.Join(root, "pods.yaml")
	for _, d := range []string{md, logs} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"))), 0o600); err != nil {
		t.Fatal(err)
	}
	klog := filepath.Join(root, "kubelet.log")
	if err := os.WriteFile(klog, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	local := node.NewLocal(node.LocalOptions{ManifestDir: md, PodLogsDir: logs, KubeletLog: klog, NoRuntime: true})
	defer local.Close()
	a, err := New(Options{ConfigPath: cfg, ManifestDir: md, Codec: testCodec{}, Node: local,
		Analyze: func(s *node.Snapshot) *diagnose.Report { return diagnose.Analyze(s, diagnose.Options{}) },
		Logger:  slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(root, "run", "agent.sock")
	ln, err := Listen(ListenOptions{Addr: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- a.Run(ctx) }()
	go func() { done <- Serve(ctx, a, ln) }()
	t.Cleanup(func() { cancel(); <-done; <-done })
	remote, err := node.DialRemote("unix://"+sock, node.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	waitFor(t, "first reconcile", func() bool { return len(a.StaticPods()) == 1 })

	drain := func(podlog.Line) error { return nil }
	for _, c := range []struct {
		name string
		want error
		call func(node.Client) error
	}{
		{"logs of a pod that does not exist", node.ErrNotFound, func(c node.Client) error {
			return c.ContainerLog(ctx, node.LogRequest{Pod: "no-such-pod", Tail: -1}, drain)
		}},
		{"logs of a container of a pod without logs", node.ErrNotFound, func(c node.Client) error {
			return c.ContainerLog(ctx, node.LogRequest{Pod: "web", Container: "nope", Tail: -1}, drain)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			lerr, rerr := c.call(local), c.call(remote)
			if !errors.Is(lerr, c.want) {
				t.Errorf("local: %v, want %v", lerr, c.want)
			}
			if !errors.Is(rerr, c.want) || !errors.Is(rerr, node.ErrAgent) {
				t.Errorf("remote: %v, want %v from the agent", rerr, c.want)
			}
		})
	}

	// Classes only the API has.
	var out api.List[api.StaticPod]
	if err := remote.GetJSON(ctx, "/v1/no-such-path", &out); !errors.Is(err, node.ErrNotFound) {
		t.Errorf("unknown API path: %v, want ErrNotFound", err)
	}
	if err := remote.GetJSON(ctx, api.PathLogs+"?tail=abc&pod=web", &out); !errors.Is(err, node.ErrInvalid) {
		t.Errorf("tail=abc: %v, want ErrInvalid", err)
	}
	bare, _ := New(Options{ConfigPath: cfg, ManifestDir: md, Codec: testCodec{}, Logger: slog.New(slog.DiscardHandler)})
	sock2 := filepath.Join(root, "run2", "agent.sock")
	ln2, err := Listen(ListenOptions{Addr: "unix://" + sock2})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(ctx)
	done2 := make(chan error, 1)
	go func() { done2 <- Serve(ctx2, bare, ln2) }()
	defer func() { cancel2(); <-done2 }()
	r2, err := node.DialRemote("unix://"+sock2, node.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if _, err := r2.Snapshot(ctx); !errors.Is(err, node.ErrUnavailable) {
		t.Errorf("snapshot of an agent without a node source: %v, want ErrUnavailable", err)
	}
}
