package agent

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/staticpod"
	"github.com/spdoc/spdoc/internal/testtier"
)

// runAgent starts an agent on cfg and md (already laid out) and stops it at the end of the test.
func runAgent(t *testing.T, cfg, md string, codec Codec) (*Agent, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	a, err := New(Options{ConfigPath: cfg, ManifestDir: md, Codec: codec, Logger: slogJSON(logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return a, logs
}

func writeFailed(a *Agent, pod string) *diagnose.Finding {
	for _, f := range a.Findings() {
		if f.Kind == diagnose.KindManifestWriteFailed && f.Pod == pod {
			return &f.Finding
		}
	}
	return nil
}

// TestWriteFailureIsAFinding: a manifest that cannot be written is logged and is a
// ManifestWriteFailed finding until the write succeeds, which the agent retries by itself.
func TestWriteFailureIsAFinding(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "manifests")
	cfg := filepath.Join(dir, "pods.yaml")
	must(t, os.MkdirAll(filepath.Join(md, "spdoc-default-web.yaml", "in-the-way"), 0o755))
	must(t, os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"))), 0o600))
	a, logs := runAgent(t, cfg, md, testCodec{})
	waitFor(t, "a ManifestWriteFailed finding", func() bool { return writeFailed(a, "default-web") != nil })
	f := writeFailed(a, "default-web")
	if f.Severity != diagnose.SeverityError || !strings.Contains(f.Title, "default-web") || f.Detail == "" {
		t.Errorf("finding: %+v", f)
	}
	waitFor(t, "the failure in the log", func() bool {
		return strings.Contains(logs.String(), "spdoc-default-web.yaml") && strings.Contains(logs.String(), `"level":"ERROR"`)
	})
	// The obstacle goes: the agent writes the manifest without being asked, and the finding goes.
	must(t, os.RemoveAll(filepath.Join(md, "spdoc-default-web.yaml")))
	waitFor(t, "the manifest written on retry", func() bool {
		st, err := os.Stat(filepath.Join(md, "spdoc-default-web.yaml"))
		return err == nil && st.Mode().IsRegular()
	})
	waitFor(t, "the finding gone", func() bool { return writeFailed(a, "default-web") == nil })
}

// refusedName is a codec whose file names the writer refuses (no prefix).
type refusedName struct{ testCodec }

func (refusedName) FileName(_ string, p *staticpod.StaticPod) string {
	return "other-" + p.Name + ".yaml"
}

// TestRefusedNameIsAFinding: a name the writer refuses is logged and a finding too.
func TestRefusedNameIsAFinding(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "manifests")
	cfg := filepath.Join(dir, "pods.yaml")
	must(t, os.Mkdir(md, 0o755))
	must(t, os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"))), 0o600))
	a, logs := runAgent(t, cfg, md, refusedName{})
	waitFor(t, "a ManifestWriteFailed finding", func() bool { return writeFailed(a, "default-web") != nil })
	waitFor(t, "the refusal in the log", func() bool { return strings.Contains(logs.String(), "other-web.yaml") })
}

// TestRootRemovalFailureIsAFinding: a pod removed from the config while the manifest dir is
// read-only leaves its manifest in place (the kubelet keeps running it): that is logged and a
// finding until the dir is writable again, when the agent removes it by itself.
func TestRootRemovalFailureIsAFinding(t *testing.T) {
	testtier.Root(t)
	dir := t.TempDir()
	md := filepath.Join(dir, "manifests")
	cfg := filepath.Join(dir, "pods.yaml")
	must(t, os.Mkdir(md, 0o755))
	must(t, os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"), podYAML("db", "busybox:1"))), 0o600))
	a, logs := runAgent(t, cfg, md, testCodec{})
	web := filepath.Join(md, "spdoc-default-web.yaml")
	waitFor(t, "web written", fileHas(web, "web"))
	mount := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			t.Fatalf("mount %v: %v\n%s", args, err, out)
		}
	}
	mount("--bind", md, md)
	t.Cleanup(func() { _ = exec.Command("umount", md).Run() })
	mount("-o", "remount,ro,bind", md)
	must(t, os.WriteFile(cfg, []byte(config(podYAML("db", "busybox:1"))), 0o600))
	waitFor(t, "a ManifestWriteFailed finding for the removal", func() bool { return writeFailed(a, "default-web") != nil })
	if f := writeFailed(a, "default-web"); !strings.Contains(f.Title, "remove") {
		t.Errorf("finding title %q does not say a removal failed", f.Title)
	}
	waitFor(t, "the failure in the log", func() bool { return strings.Contains(logs.String(), "read-only") })
	mount("-o", "remount,rw,bind", md)
	waitFor(t, "the manifest removed on retry", func() bool { _, err := os.Stat(web); return os.IsNotExist(err) })
	waitFor(t, "the finding gone", func() bool { return writeFailed(a, "default-web") == nil })
}

func slogJSON(w *syncBuffer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
