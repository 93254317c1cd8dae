package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestObserveOnly: the fleet DaemonSet's agent has no config and must never touch the manifest
// dir — not even the prefixed files or temp files a managing agent would remove — and refuses apply.
func TestObserveOnly(t *testing.T) {
	md := t.TempDir()
	files := map[string]string{"spdoc-default-old.yaml": "kind: Pod\n", ".spdoc-default-x.yaml.tmp-123": "partial", "kube-apiserver.yaml": "kind: Pod\n"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(md, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, err := New(Options{ConfigPath: filepath.Join(t.TempDir(), "missing.yaml"), ManifestDir: md, Codec: testCodec{},
		ObserveOnly: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	a.Reconcile()
	time.Sleep(100 * time.Millisecond)
	if _, err := a.Apply([]byte(config(podYAML("web", "busybox:1")))); !errors.Is(err, ErrObserveOnly) {
		t.Errorf("Apply: %v, want ErrObserveOnly", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(md)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(files) {
		t.Errorf("manifest dir has %d entries, want the %d it had", len(entries), len(files))
	}
	for name, body := range files {
		if b, err := os.ReadFile(filepath.Join(md, name)); err != nil || string(b) != body {
			t.Errorf("%s changed: %q %v", name, b, err)
		}
	}
	if fs := a.Findings(); len(fs) != 0 {
		t.Errorf("observe-only agent reports config findings: %+v", fs)
	}
}
