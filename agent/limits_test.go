package agent

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/api"
)

// limitedAgent serves an agent with small limits on a unix socket and returns its path.
func limitedAgent(t *testing.T, opts Options, maxConns int) string {
	t.Helper()
	dir := t.TempDir()
	opts.ConfigPath = filepath.Join(dir, "pods.yaml")
	opts.ManifestDir = filepath.Join(dir, "manifests")
	opts.Codec = testCodec{}
	must(t, os.Mkdir(opts.ManifestDir, 0o755))
	must(t, os.WriteFile(opts.ConfigPath, []byte(config(podYAML("web", "busybox:1"))), 0o600))
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "run", "agent.sock")
	ln, err := Listen(ListenOptions{Addr: "unix://" + sock, MaxConnections: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- a.Run(ctx) }()
	go func() { done <- Serve(ctx, a, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
	})
	return sock
}

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
}

// TestConnectionLimits: idle and header-less connections are closed, connections beyond the cap
// wait instead of costing memory, and one identity cannot hold more than its share of streams.
func TestConnectionLimits(t *testing.T) {
	sock := limitedAgent(t, Options{MaxStreamsPerIdentity: 2,
		IdleTimeout: 300 * time.Millisecond, ReadHeaderTimeout: 300 * time.Millisecond}, 4)

	// A connection that never sends a request is closed after the header timeout.
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("a silent connection was not closed by the agent: %v", err)
	}
	c.Close()

	// An idle keep-alive connection is closed after the idle timeout.
	c, err = net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("GET /version HTTP/1.1\r\nHost: x\r\n\r\n"))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("version: %v %v", resp, err)
	}
	resp.Body.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("an idle keep-alive connection was not closed: %v", err)
	}
	c.Close()

	// Streams per identity: the third watch of the same peer is refused with 429.
	hc := unixClient(sock)
	var bodies []*http.Response
	for i := 0; i < 2; i++ {
		r, err := hc.Get("http://agent" + api.PathStaticPods + "?watch=1")
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("watch %d: %v %v", i, r, err)
		}
		bodies = append(bodies, r)
	}
	r, err := hc.Get("http://agent" + api.PathStaticPods + "?watch=1")
	if err != nil || r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("third watch: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	bodies[0].Body.Close()
	waitFor(t, "a stream slot freed", func() bool {
		r, err := hc.Get("http://agent" + api.PathStaticPods + "?watch=1")
		if err != nil {
			return false
		}
		defer r.Body.Close()
		return r.StatusCode == 200
	})
	bodies[1].Body.Close()

	// The connection cap: with 4 connections held open (watches, on an agent whose timeouts do
	// not close them meanwhile), a fifth is not served until one closes.
	sock = limitedAgent(t, Options{MaxStreamsPerIdentity: 8}, 4)
	var held []net.Conn
	for i := 0; i < 4; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET " + api.PathStaticPods + "?watch=1 HTTP/1.1\r\nHost: x\r\n\r\n"))
		held = append(held, c)
	}
	time.Sleep(100 * time.Millisecond)
	c5, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c5.Close()
	c5.Write([]byte("GET /version HTTP/1.1\r\nHost: x\r\n\r\n"))
	c5.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c5.Read(make([]byte, 1)); err == nil {
		t.Errorf("a connection over the cap was served")
	}
	for _, c := range held {
		c.Close()
	}
	c5.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err = http.ReadResponse(bufio.NewReader(c5), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("the waiting connection was not served once others closed: %v %v", resp, err)
	}
}
