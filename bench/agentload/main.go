// Command agentload puts a bounded loopback load on `spdoc agent` (mTLS on 127.0.0.1) and reports
// the agent's resident memory after each phase, beside the idle agent's in the same run (the
// baseline), as a markdown table for BENCHMARKS.md:
//
//   - N raw TCP connections that never start a TLS handshake (an unauthenticated flood);
//   - N reader connections that make one request and then sit idle on keep-alive;
//   - S kubelet-log follow streams from one reader identity;
//
// then the same after the idle and header timeouts have closed what they should. Every client
// is in this process, on loopback; N and S are bounded by flags.
//
//	go run ./bench/agentload                     # N=5000, S=300
//	go run ./bench/agentload -conns 15000 -streams 300
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	spdoc := flag.String("spdoc", "", "spdoc binary (default: go build ./cmd/spdoc)")
	conns := flag.Int("conns", 5000, "connections per connection phase")
	streams := flag.Int("streams", 300, "follow streams from one identity")
	idle := flag.Duration("idle-timeout", 5*time.Second, "the agent's --idle-timeout for the run")
	flag.Parse()
	if err := run(*spdoc, *conns, *streams, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "agentload:", err)
		os.Exit(1)
	}
}

func run(spdoc string, conns, streams int, idle time.Duration) error {
	dir, err := os.MkdirTemp("", "spdoc-agentload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if spdoc == "" {
		spdoc = filepath.Join(dir, "spdoc")
		if out, err := exec.Command("go", "build", "-o", spdoc, "./cmd/spdoc").CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	pki := filepath.Join(dir, "pki")
	if out, err := exec.Command(spdoc, "certs", "--out", pki).CombinedOutput(); err != nil {
		return fmt.Errorf("spdoc certs: %v\n%s", err, out)
	}
	md := filepath.Join(dir, "manifests")
	cfg := filepath.Join(dir, "pods.yaml")
	klog := filepath.Join(dir, "kubelet.log")
	for _, f := range []struct{ p, data string }{{cfg, "pods: []\n"}, {klog, ""}} {
		if err := os.WriteFile(f.p, []byte(f.data), 0o600); err != nil {
			return err
		}
	}
	if err := os.Mkdir(md, 0o755); err != nil {
		return err
	}
	tlsCfg, err := clientTLS(pki)
	if err != nil {
		return err
	}
	ag, err := startAgent(spdoc, pki, cfg, md, klog, tlsCfg, "--idle-timeout", idle.String())
	if err != nil {
		return err
	}
	defer ag.stop()
	addr, pid := ag.addr, ag.pid
	type row struct {
		phase, note string
		rss, base   int64
	}
	var rows []row
	settle := func() { time.Sleep(2 * time.Second) }
	settle()
	base := rss(pid)
	rows = append(rows, row{"idle agent", "", base, base})

	// 1. raw connections, no handshake
	raw := dialMany(addr, conns)
	settle()
	rows = append(rows, row{fmt.Sprintf("%d raw TCP connections, no TLS handshake", conns), fmt.Sprintf("%d connected", len(raw)), rss(pid), base})
	closeAll(raw)
	settle()

	// 2. authenticated keep-alive connections, idle after one request
	kept, served := keepAlive(addr, tlsCfg, conns)
	settle()
	rows = append(rows, row{fmt.Sprintf("%d reader connections idle on keep-alive", conns), fmt.Sprintf("%d served before the cap", served), rss(pid), base})
	time.Sleep(idle + 2*time.Second)
	rows = append(rows, row{"after --idle-timeout", fmt.Sprintf("%d closed by the agent", closedCount(kept)), rss(pid), base})
	closeAll(kept)
	settle()

	// 3. follow streams from one identity
	ok, refused, bodies := follow(addr, tlsCfg, streams)
	settle()
	rows = append(rows, row{fmt.Sprintf("%d kubeletlog?follow=1 streams, one reader", streams), fmt.Sprintf("%d streaming, %d refused (429)", ok, refused), rss(pid), base})
	for _, b := range bodies {
		b.Close()
	}
	settle()
	rows = append(rows, row{"all closed", "", rss(pid), base})

	// The same keep-alive load on an agent without the limits (what it was before): the baseline.
	un, err := startAgent(spdoc, pki, cfg, md, klog, tlsCfg, "--idle-timeout", "1h", "--max-connections", "1000000", "--max-streams-per-client", "1000000")
	if err != nil {
		return err
	}
	ubase := rss(un.pid)
	ukept, userved := keepAlive(un.addr, tlsCfg, conns)
	settle()
	urss := rss(un.pid)
	closeAll(ukept)
	uok, _, ubodies := follow(un.addr, tlsCfg, streams)
	settle()
	ufollow := rss(un.pid)
	for _, b := range ubodies {
		b.Close()
	}
	un.stop()
	rows = append(rows,
		row{"baseline: agent without limits, idle", "", ubase, ubase},
		row{fmt.Sprintf("baseline: %d reader connections idle on keep-alive", conns), fmt.Sprintf("%d served", userved), urss, ubase},
		row{fmt.Sprintf("baseline: %d follow streams, one reader", streams), fmt.Sprintf("%d streaming", uok), ufollow, ubase})

	fmt.Printf("Agent under loopback load (`go run ./bench/agentload -conns %d -streams %d`; RSS of the agent process from /proc):\n\n", conns, streams)
	fmt.Println("| phase | clients | agent RSS | vs its idle RSS |")
	fmt.Println("|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %.1f MB | %+.1f MB |\n", r.phase, r.note, float64(r.rss)/1e6, float64(r.rss-r.base)/1e6)
	}
	return nil
}

type agentProc struct {
	cmd  *exec.Cmd
	addr string
	pid  int
}

func (a *agentProc) stop() {
	_ = a.cmd.Process.Signal(os.Interrupt) // ours, by PID
	_ = a.cmd.Wait()
}

// startAgent runs spdoc agent on a free loopback port with mTLS and waits until it answers.
func startAgent(spdoc, pki, cfg, md, klog string, tlsCfg *tls.Config, extra ...string) (*agentProc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := append([]string{"agent", "--config", cfg, "--manifest-dir", md, "--no-runtime", "--kubelet-log", klog,
		"--listen", "tcp://" + addr, "--tls-cert", filepath.Join(pki, "server.crt"), "--tls-key", filepath.Join(pki, "server.key"),
		"--client-ca", filepath.Join(pki, "ca.crt"), "--log-level", "error"}, extra...)
	cmd := exec.Command(spdoc, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &agentProc{cmd: cmd, addr: addr, pid: cmd.Process.Pid}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := hc.Get("https://" + addr + "/healthz")
		if err == nil {
			r.Body.Close()
			return a, nil
		}
		if time.Now().After(deadline) {
			a.stop()
			return nil, fmt.Errorf("agent did not come up: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func clientTLS(pki string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "reader.crt"), filepath.Join(pki, "reader.key"))
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13}, nil
}

// rss is the resident set of pid in bytes.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func dialMany(addr string, n int) []net.Conn {
	var mu sync.Mutex
	var out []net.Conn
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return
			}
			mu.Lock()
			out = append(out, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// keepAlive opens n TLS connections, each sending one GET /version and keeping the connection;
// served counts the answers (connections over the agent's cap wait and get none in time).
func keepAlive(addr string, cfg *tls.Config, n int) ([]net.Conn, int) {
	var mu sync.Mutex
	var out []net.Conn
	served := 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return
			}
			tc := tls.Client(c, cfg)
			tc.SetDeadline(time.Now().Add(3 * time.Second))
			ok := false
			if tc.Handshake() == nil {
				fmt.Fprintf(tc, "GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
				if r, err := http.ReadResponse(bufio.NewReader(tc), nil); err == nil {
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
					ok = r.StatusCode == 200
				}
			}
			tc.SetDeadline(time.Time{})
			mu.Lock()
			out = append(out, tc)
			if ok {
				served++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, served
}

// closedCount is how many of cs the other side has closed.
func closedCount(cs []net.Conn) int {
	n := 0
	for _, c := range cs {
		c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				n++
			}
		}
	}
	return n
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		c.Close()
	}
}

// follow opens n kubelet log follow streams as one reader identity, each on its own TLS
// connection; a stream the agent refuses answers 429 at once, an accepted one stays silent (no
// new kubelet records).
func follow(addr string, cfg *tls.Config, n int) (ok, refused int, conns []io.Closer) {
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			continue
		}
		tc := tls.Client(c, cfg)
		tc.SetDeadline(time.Now().Add(time.Second))
		if tc.Handshake() != nil {
			tc.Close()
			continue
		}
		fmt.Fprintf(tc, "GET /v1/kubeletlog?follow=1&tail=0 HTTP/1.1\r\nHost: x\r\n\r\n")
		tc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		head := make([]byte, 12)
		if n, _ := io.ReadFull(tc, head); n == 12 && string(head[9:12]) == "429" {
			refused++
			tc.Close()
			continue
		}
		tc.SetDeadline(time.Time{})
		ok++
		conns = append(conns, tc)
	}
	return ok, refused, conns
}
