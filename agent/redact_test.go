package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/canary"
	"github.com/spdoc/spdoc/internal/node"
)

// canaryAgent is an agent over the canary node whose own config also holds a secret env value.
func canaryAgent(t *testing.T) (*Agent, string) {
	t.Helper()
	root := canary.LayNode(t)
	const cfgSecret = "cnry-agent-config-env-7Pp7"
	cfg := filepath.Join(t.TempDir(), "pods.yaml")
	pod := "  - metadata:\n      name: db\n    spec:\n      containers:\n        - name: c\n          image: busybox:1\n" +
		"          env:\n            - name: DB_PASSWORD\n              value: " + cfgSecret + "\n" +
		"          args: [\"--token\", \"" + cfgSecret + "\"]\n"
	if err := os.WriteFile(cfg, []byte(config(pod)), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{ConfigPath: cfg, ManifestDir: filepath.Join(root, "etc/kubernetes/manifests"), Codec: StaticPodCodec{},
		Node:    node.NewLocal(node.LocalOptions{Root: root, NodeName: canary.NodeName, Since: 100000 * 3600e9}),
		Analyze: func(s *node.Snapshot) *diagnose.Report { return diagnose.Analyze(s, diagnose.Options{}) }})
	if err != nil {
		t.Fatal(err)
	}
	a.reconcile()
	a.refresh(context.Background())
	if a.Snapshot() == nil || a.Report() == nil {
		t.Fatal("no snapshot or report")
	}
	return a, cfgSecret
}

func get(t *testing.T, h http.Handler, id *Identity, path string) (int, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req = req.WithContext(context.WithValue(req.Context(), identityKey{}, id))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestReaderGetsRedacted: everything a reader receives goes through the redactor the CLI and the
// bundle use; an admin may ask for raw data, a reader may not.
func TestReaderGetsRedacted(t *testing.T) {
	a, cfgSecret := canaryAgent(t)
	h := NewHandler(a)
	reader := &Identity{Name: "uid:1000", Role: api.RoleReader, Via: "unix"}
	admin := &Identity{Name: "uid:0", Role: api.RoleAdmin, Via: "unix"}
	pod := "web-" + canary.NodeName
	paths := []string{
		api.PathSnapshot, api.PathReport, api.PathFindings, api.PathStaticPods, api.PathStaticPodStatus,
		api.PathLogs + "?pod=" + pod + "&container=app",
		api.PathLogs + "?pod=" + pod + "&container=app&previous=1",
		api.PathKubeletLog + "?since=100000h",
	}
	for _, p := range paths {
		code, body := get(t, h, reader, p)
		if code != http.StatusOK {
			t.Errorf("reader GET %s: %d %s", p, code, body)
			continue
		}
		if left := canary.Survivors([]byte(body)); len(left) > 0 || strings.Contains(body, cfgSecret) {
			t.Errorf("reader GET %s: canaries %v survived (config secret: %v):\n%.2000s", p, left, strings.Contains(body, cfgSecret), body)
		}
		// Static pods and statuses carry no secret text (names, paths, states): the rest must show tokens.
		if p != api.PathStaticPods && p != api.PathStaticPodStatus && !strings.Contains(body, "[REDACTED-") {
			t.Errorf("reader GET %s: no token at all:\n%.2000s", p, body)
		}
	}
	// Tokens are stable across requests, so a reader can still compare.
	_, s1 := get(t, h, reader, api.PathSnapshot)
	_, s2 := get(t, h, reader, api.PathSnapshot)
	if s1 != s2 {
		t.Errorf("two redacted snapshots differ")
	}
	// Admins get the same redacted view by default, the raw data when they ask.
	if _, body := get(t, h, admin, api.PathSnapshot); len(canary.Survivors([]byte(body))) > 0 {
		t.Errorf("admin without raw=1 got secrets")
	}
	if code, body := get(t, h, admin, api.PathSnapshot+"?raw=1"); code != http.StatusOK || !strings.Contains(body, canary.Get("envPassword")) {
		t.Errorf("admin raw=1: %d, secret present %v", code, strings.Contains(body, canary.Get("envPassword")))
	}
	if code, body := get(t, h, reader, api.PathSnapshot+"?raw=1"); code != http.StatusForbidden || !strings.Contains(body, "admin") {
		t.Errorf("reader raw=1: %d %s", code, body)
	}
}
