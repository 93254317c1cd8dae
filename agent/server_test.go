package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/testtier"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
)

// syncBuffer collects slog output from the server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testAgent struct {
	a      *Agent
	cfg    string
	md     string
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// startAgent builds an agent on temp dirs, runs its loop and serves ln (if not nil).
func startAgent(t *testing.T, ln func(dir string) (net.Listener, error)) (*testAgent, string) {
	t.Helper()
	root := t.TempDir()
	md := filepath.Join(root, "manifests")
	if err := os.Mkdir(md, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "etc", "pods.yaml")
	if err := os.Mkdir(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"))), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	a, err := New(Options{ConfigPath: cfg, ManifestDir: md, Codec: testCodec{}, HandleSIGHUP: true, Version: "test",
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{a: a, cfg: cfg, md: md, logs: logs, cancel: cancel, done: make(chan error, 2)}
	go func() { ta.done <- a.Run(ctx) }()
	if ln != nil {
		l, err := ln(root)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		go func() { ta.done <- Serve(ctx, a, l) }()
	}
	t.Cleanup(func() {
		cancel()
		n := 1
		if ln != nil {
			n = 2
		}
		for range n {
			if err := <-ta.done; err != nil {
				t.Errorf("agent: %v", err)
			}
		}
	})
	return ta, root
}

// waitFor polls cond until it is true or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fileHas(path, s string) func() bool {
	return func() bool {
		b, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(b), s)
	}
}

func TestAgentFollowsConfig(t *testing.T) {
	ta, _ := startAgent(t, nil)
	web := filepath.Join(ta.md, "spdoc-default-web.yaml")
	waitFor(t, "initial manifest", fileHas(web, "busybox:1"))

	// An editor that replaces the file by rename.
	tmp := ta.cfg + ".swp"
	if err := os.WriteFile(tmp, []byte(config(podYAML("web", "busybox:2"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, ta.cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "manifest after rename-replace", fileHas(web, "busybox:2"))

	// In-place write.
	if err := os.WriteFile(ta.cfg, []byte(config(podYAML("web", "busybox:3"), podYAML("db", "busybox:1"))), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "manifest after in-place write", fileHas(web, "busybox:3"))
	waitFor(t, "second pod", fileHas(filepath.Join(ta.md, "spdoc-default-db.yaml"), "busybox:1"))
	waitFor(t, "resource versions", func() bool {
		pods := ta.a.StaticPods()
		return len(pods) == 2 && pods[1].ID == "default-web" && pods[1].Version == 3
	})

	// SIGHUP re-reads a config the watcher could not see: here it is written through a
	// second hard link in a directory the agent does not watch.
	outside := filepath.Join(t.TempDir(), "pods.yaml")
	if err := os.Link(ta.cfg, outside); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(outside, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(config(podYAML("web", "busybox:4"))); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "manifest after SIGHUP", fileHas(web, "busybox:4"))
	waitFor(t, "removed pod after SIGHUP", func() bool {
		_, err := os.Stat(filepath.Join(ta.md, "spdoc-default-db.yaml"))
		return errors.Is(err, os.ErrNotExist)
	})
}

func TestUnixSocketAPI(t *testing.T) {
	var sock string
	ta, _ := startAgent(t, func(dir string) (net.Listener, error) {
		sock = filepath.Join(dir, "run", "spdoc", "agent.sock")
		return Listen(ListenOptions{Addr: "unix://" + sock})
	})
	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Dir(sock)); dst.Mode().Perm() != 0o700 {
		t.Errorf("socket dir mode = %v, want 0700", dst.Mode().Perm())
	}
	r, err := node.DialRemote("unix://"+sock, node.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	waitFor(t, "first reconcile", func() bool { return len(ta.a.StaticPods()) == 1 })
	pods, err := r.StaticPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pods) != 1 || pods[0].ID != "default-web" || !pods[0].Written || pods[0].Version != 1 {
		t.Fatalf("staticpods = %+v", pods)
	}
	v, err := r.Version(ctx)
	if err != nil || v.APIVersion != "v1" || v.Version != "test" {
		t.Errorf("version = %+v, %v", v, err)
	}
	if _, err := r.Snapshot(ctx); err == nil || !strings.Contains(err.Error(), "no snapshot yet") || !errors.Is(err, node.ErrAgent) || !errors.Is(err, node.ErrUnavailable) {
		t.Errorf("snapshot without a node source: err = %v, want a 503 naming the reason", err)
	}
	var nf api.List[api.StaticPod]
	if err := r.GetJSON(ctx, "/v2/staticpods", &nf); !errors.Is(err, node.ErrNotFound) {
		t.Errorf("unknown path: err = %v, want 404", err)
	}

	// Watch, then apply over the socket (the test runs as root: uid 0 is admin).
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan api.Event[api.StaticPod], 16)
	go func() {
		_ = r.WatchStaticPods(wctx, func(ev api.Event[api.StaticPod]) error { events <- ev; return nil })
		close(events)
	}()
	expectEvent(t, events, api.Added, "default-web")
	expectEvent(t, events, api.Bookmark, "")

	// Admin over the socket: the peer is uid 0 only when the suite runs as root.
	t.Run("root is admin over the socket", func(t *testing.T) {
		testtier.Root(t)
		data, path, err := r.Config(ctx)
		if want, _ := os.ReadFile(ta.cfg); err != nil || !bytes.Equal(data, want) || path != ta.cfg {
			t.Errorf("config over the socket as uid 0: %q at %q, %v; want %q at %q", data, path, err, want, ta.cfg)
		}
		res, err := r.Apply(ctx, []byte(config(podYAML("web", "busybox:9"), podYAML("db", "busybox:1"))))
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		if data, _, err := r.Config(ctx); err != nil || !strings.Contains(string(data), "busybox:9") {
			t.Errorf("config after apply: %q, %v; want the applied config", data, err)
		}
		if len(res.Written) != 2 {
			t.Errorf("apply result = %+v, want 2 written", res)
		}
		expectEvents(t, events, "ADDED default-db", "MODIFIED default-web")
		b, _ := os.ReadFile(ta.cfg)
		if !strings.Contains(string(b), "busybox:9") {
			t.Errorf("apply did not write the config file:\n%s", b)
		}
		if !strings.Contains(ta.logs.String(), `"who":"uid:0"`) {
			t.Errorf("apply not logged with who did it:\n%s", ta.logs.String())
		}

		// A rejected apply changes neither the config nor the manifests.
		res, err = r.Apply(ctx, []byte(config(podYAML("web", ""))))
		if err == nil || res == nil || len(res.Invalid) != 1 {
			t.Fatalf("invalid apply: res %+v err %v; want rejected with the invalid pod", res, err)
		}
		if b2, _ := os.ReadFile(ta.cfg); !bytes.Equal(b, b2) {
			t.Error("rejected apply changed the config file")
		}
		if _, err := r.Apply(ctx, []byte("pods: [")); err == nil {
			t.Error("unparseable apply accepted")
		}

	})
}

func expectEvent(t *testing.T, ch <-chan api.Event[api.StaticPod], typ api.EventType, id string) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("watch ended, want %s %s", typ, id)
		}
		if ev.Type != typ || ev.Object.ID != id {
			t.Fatalf("event %s %s, want %s %s", ev.Type, ev.Object.ID, typ, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no event, want %s %s", typ, id)
	}
}

// expectEvents waits for len(want) events and compares them as a set ("TYPE id").
func expectEvents(t *testing.T, ch <-chan api.Event[api.StaticPod], want ...string) {
	t.Helper()
	var got []string
	for range want {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch ended after %v, want %v", got, want)
			}
			got = append(got, string(ev.Type)+" "+ev.Object.ID)
		case <-time.After(10 * time.Second):
			t.Fatalf("got events %v, want %v", got, want)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestListenRefusesTCPWithoutMTLS(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateCerts(CertOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []ListenOptions{
		{Addr: "tcp://127.0.0.1:0"},
		{Addr: "tcp://127.0.0.1:0", TLSCert: filepath.Join(dir, "server.crt"), TLSKey: filepath.Join(dir, "server.key")},
		{Addr: "tcp://127.0.0.1:0", ClientCA: filepath.Join(dir, "ca.crt")},
	} {
		ln, err := Listen(tc)
		if err == nil {
			ln.Close()
			t.Errorf("Listen(%+v) succeeded, want refusal", tc)
		} else if !strings.Contains(err.Error(), "mutual TLS") {
			t.Errorf("Listen(%+v): %v, want it to say mutual TLS is required", tc, err)
		}
	}
	if _, err := Listen(ListenOptions{Addr: "http://127.0.0.1:0"}); err == nil {
		t.Error("http:// accepted")
	}
}

func TestMTLSRoles(t *testing.T) {
	certs := t.TempDir()
	if err := GenerateCerts(CertOptions{Dir: certs}); err != nil {
		t.Fatal(err)
	}
	if err := GenerateCerts(CertOptions{Dir: certs}); err == nil {
		t.Error("GenerateCerts overwrote an existing CA without Overwrite")
	}
	if err := clientCert(certs, "norole", []string{"other"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.key", "server.key", "admin.key", "reader.key"} {
		if st, _ := os.Stat(filepath.Join(certs, f)); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	var addr string
	ta, _ := startAgent(t, func(string) (net.Listener, error) {
		ln, err := Listen(ListenOptions{Addr: "tcp://127.0.0.1:0", TLSCert: filepath.Join(certs, "server.crt"),
			TLSKey: filepath.Join(certs, "server.key"), ClientCA: filepath.Join(certs, "ca.crt")})
		if err == nil {
			addr = ln.Addr().String()
		}
		return ln, err
	})
	ctx := context.Background()
	waitFor(t, "first reconcile", func() bool { return len(ta.a.StaticPods()) == 1 })
	client := func(name string) *node.Remote {
		t.Helper()
		opts := node.RemoteOptions{CA: filepath.Join(certs, "ca.crt")}
		if name != "" {
			opts.Cert, opts.Key = filepath.Join(certs, name+".crt"), filepath.Join(certs, name+".key")
		}
		r, err := node.DialRemote("https://"+addr, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}

	t.Run("no client cert: handshake fails", func(t *testing.T) {
		if _, err := client("").StaticPods(ctx); err == nil {
			t.Fatal("request without a client certificate succeeded")
		}
		// And at the TLS level: the server aborts the handshake.
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		if err == nil {
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Errorf("handshake without a client cert: %v, want a certificate-required alert", err)
		}
	})
	t.Run("TLS 1.2 refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
		if err == nil {
			conn.Close()
			t.Error("TLS 1.2 handshake succeeded")
		}
	})
	t.Run("cert from another CA refused", func(t *testing.T) {
		other := t.TempDir()
		if err := GenerateCerts(CertOptions{Dir: other}); err != nil {
			t.Fatal(err)
		}
		r, err := node.DialRemote("https://"+addr, node.RemoteOptions{CA: filepath.Join(certs, "ca.crt"),
			Cert: filepath.Join(other, "admin.crt"), Key: filepath.Join(other, "admin.key")})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Apply(ctx, []byte(config())); err == nil {
			t.Error("admin cert of a foreign CA could apply")
		}
	})
	t.Run("no role: 403", func(t *testing.T) {
		_, err := client("norole").StaticPods(ctx)
		if !errors.Is(err, node.ErrForbidden) || !strings.Contains(err.Error(), "no spdoc role") {
			t.Errorf("err = %v, want 403 no spdoc role", err)
		}
	})
	t.Run("reader reads but cannot apply", func(t *testing.T) {
		r := client("reader")
		pods, err := r.StaticPods(ctx)
		if err != nil || len(pods) != 1 {
			t.Fatalf("reader list: %v %v", pods, err)
		}
		before, _ := os.ReadFile(ta.cfg)
		_, err = r.Apply(ctx, []byte(config(podYAML("evil", "busybox:1"))))
		if !errors.Is(err, node.ErrForbidden) || !strings.Contains(err.Error(), api.RoleAdmin) {
			t.Errorf("reader apply: err = %v, want 403 naming the admin role", err)
		}
		if after, _ := os.ReadFile(ta.cfg); !bytes.Equal(before, after) {
			t.Error("reader apply changed the config")
		}
		if _, err := os.Stat(filepath.Join(ta.md, "spdoc-default-evil.yaml")); err == nil {
			t.Error("reader apply wrote a manifest")
		}
	})
	t.Run("reader cannot read the config", func(t *testing.T) {
		data, path, err := client("reader").Config(ctx)
		if err == nil || data != nil || path != "" {
			t.Fatalf("reader config: %q %q %v, want refused", data, path, err)
		}
		for _, want := range []string{api.RoleAdmin, "may hold secrets"} {
			if !strings.Contains(err.Error(), want) || !errors.Is(err, node.ErrAgent) || !errors.Is(err, node.ErrForbidden) {
				t.Errorf("reader config: err = %v, want an agent error saying %q", err, want)
			}
		}
	})
	t.Run("admin reads the config", func(t *testing.T) {
		data, path, err := client("admin").Config(ctx)
		want, _ := os.ReadFile(ta.cfg)
		if err != nil || !bytes.Equal(data, want) || path != ta.cfg {
			t.Errorf("admin config: %q at %q, %v; want %q at %q", data, path, err, want, ta.cfg)
		}
	})
	t.Run("admin applies", func(t *testing.T) {
		res, err := client("admin").Apply(ctx, []byte(config(podYAML("web", "busybox:7"))))
		if err != nil || !res.OK() {
			t.Fatalf("admin apply: %+v %v", res, err)
		}
		if !fileHas(filepath.Join(ta.md, "spdoc-default-web.yaml"), "busybox:7")() {
			t.Error("admin apply did not reach the manifest")
		}
		var entry map[string]any
		found := false
		for _, l := range strings.Split(ta.logs.String(), "\n") {
			if json.Unmarshal([]byte(l), &entry) == nil && entry["msg"] == "apply" && entry["who"] == "admin" && entry["role"] == api.RoleAdmin {
				found = true
			}
		}
		if !found {
			t.Errorf("apply by admin not logged with CN and role:\n%s", ta.logs.String())
		}
	})
}
