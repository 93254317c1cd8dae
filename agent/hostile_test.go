package agent

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
)

// reconcileWithin runs Reconcile and fails the test if it blocks.
func reconcileWithin(t *testing.T, r *Reconciler) *api.ApplyResult {
	t.Helper()
	done := make(chan *api.ApplyResult, 1)
	go func() { done <- r.Reconcile() }()
	select {
	case res := <-done:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("Reconcile blocked on a FIFO (holding the reconciler lock)")
	}
	return nil
}

// TestReconcileFIFOs: a FIFO where the agent reads its config, or named like a manifest it
// writes, neither blocks the reconciler nor survives: the config is refused with a clear error
// and the manifest is written over the FIFO.
func TestReconcileFIFOs(t *testing.T) {
	r, cfg, md := newTestReconciler(t, nil)
	if err := os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"))), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(md, "spdoc-default-web.yaml")
	if err := syscall.Mkfifo(target, 0o644); err != nil {
		t.Fatal(err)
	}
	res := reconcileWithin(t, r)
	if st, err := os.Lstat(target); err != nil || !st.Mode().IsRegular() {
		t.Errorf("the manifest is still not a regular file: %v %v (result %+v)", st.Mode(), err, res)
	}

	if err := os.Remove(cfg); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	res = reconcileWithin(t, r)
	if res == nil || !strings.Contains(res.ParseError, "FIFO") || !strings.Contains(res.ParseError, cfg) {
		t.Errorf("a FIFO config: %+v", res)
	}
}

// stuckNode is a node whose snapshot never returns, whatever its context says (a read blocked
// in the kernel).
type stuckNode struct {
	node.Client
	block chan struct{}
}

func (s stuckNode) Snapshot(context.Context) (*node.Snapshot, error) {
	<-s.block
	return nil, errors.New("unblocked")
}

// TestHealthzStale: when the node has not been read for too long (a read hangs), /healthz says
// so with 503 instead of "ok"; and the agent still stops when asked.
func TestHealthzStale(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pods.yaml")
	if err := os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"))), 0o600); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "manifests")
	if err := os.Mkdir(md, 0o755); err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	defer close(block)
	a, err := New(Options{ConfigPath: cfg, ManifestDir: md, Codec: testCodec{}, Node: stuckNode{block: block},
		StaleAfter: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	h := NewHandler(a)
	admin := &Identity{Name: "uid:0", Role: api.RoleAdmin, Via: "unix"}
	waitFor(t, "a stale /healthz", func() bool {
		code, body := get(t, h, admin, api.PathHealthz)
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"stale"`) && strings.Contains(body, "not finished")
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not stop while a node read hung")
	}
}

// TestCleansConfigTemps: a kill during apply leaves .pods.yaml.tmp-* in the config dir; the
// agent removes its own leftovers there at start and leaves everyone else's files alone.
func TestCleansConfigTemps(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pods.yaml")
	md := filepath.Join(dir, "manifests")
	must(t, os.Mkdir(md, 0o755))
	must(t, os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"))), 0o600))
	ours := filepath.Join(dir, ".pods.yaml.tmp-12345")
	theirs := filepath.Join(dir, ".other.conf.tmp-1")
	must(t, os.WriteFile(ours, []byte("half"), 0o600))
	must(t, os.WriteFile(theirs, []byte("x"), 0o600))
	runAgent(t, cfg, md, testCodec{})
	waitFor(t, "the config temp removed", func() bool { _, err := os.Stat(ours); return os.IsNotExist(err) })
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("another program's temp file was removed: %v", err)
	}
}
