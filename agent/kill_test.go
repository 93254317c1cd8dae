package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/testtier"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/spdoc/spdoc/internal/manifestdir"
)

const killTestEnvs = 300 // makes each manifest ~15 KiB, so a torn write would be visible

// killTestConfig is a config of n pods at sequence seq: every pod carries the sequence in an
// annotation and in its image tag, and killTestEnvs env vars, so a reader can tell a complete
// manifest from a partial one.
func killTestConfig(n, seq int) []byte {
	var b strings.Builder
	b.WriteString("pods:\n")
	for p := range n {
		fmt.Fprintf(&b, "  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: p%d\n      namespace: kill\n      annotations:\n        seq: %q\n", p, fmt.Sprint(seq))
		fmt.Fprintf(&b, "    spec:\n      hostNetwork: true\n      containers:\n        - name: c\n          image: busybox:%d\n          imagePullPolicy: Never\n", seq)
		b.WriteString("          resources:\n            requests:\n              cpu: 10m\n              memory: 8Mi\n            limits:\n              memory: 8Mi\n")
		b.WriteString("          env:\n")
		for e := range killTestEnvs {
			fmt.Fprintf(&b, "            - name: E%d\n              value: %q\n", e, strings.Repeat("v", 16))
		}
	}
	return []byte(b.String())
}

// checkManifest says why data is not a complete manifest of the kill test, or "".
func checkManifest(data []byte) string {
	var pod corev1.Pod
	if err := yaml.Unmarshal(data, &pod); err != nil {
		return "does not parse: " + err.Error()
	}
	if pod.Kind != "Pod" || pod.Name == "" || !pod.Spec.HostNetwork || len(pod.Spec.Containers) != 1 {
		return fmt.Sprintf("incomplete pod: kind %q name %q hostNetwork %v containers %d", pod.Kind, pod.Name, pod.Spec.HostNetwork, len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	if len(c.Env) != killTestEnvs {
		return fmt.Sprintf("%d env vars, want %d", len(c.Env), killTestEnvs)
	}
	if want := "busybox:" + pod.Annotations["seq"]; c.Image != want {
		return fmt.Sprintf("image %q does not match annotation seq (%s): mixed versions", c.Image, want)
	}
	return ""
}

var spdocBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// buildSpdoc builds the spdoc binary once per test run for tests that run the agent as a process.
func buildSpdoc(t *testing.T) string {
	t.Helper()
	spdocBin.once.Do(func() {
		spdocBin.dir, spdocBin.err = os.MkdirTemp("", "spdoc-agent-test-bin-")
		if spdocBin.err != nil {
			return
		}
		spdocBin.path = filepath.Join(spdocBin.dir, "spdoc")
		out, err := exec.Command("go", "build", "-o", spdocBin.path, "github.com/spdoc/spdoc/cmd/spdoc").CombinedOutput()
		if err != nil {
			spdocBin.err = fmt.Errorf("building spdoc: %v\n%s", err, out)
		}
	})
	if spdocBin.err != nil {
		t.Fatal(spdocBin.err)
	}
	return spdocBin.path
}

func TestMain(m *testing.M) {
	if os.Getenv(agentProcEnv) != "" {
		os.Exit(runAgentProcess())
	}
	code := m.Run()
	if spdocBin.dir != "" {
		os.RemoveAll(spdocBin.dir)
	}
	os.Exit(code)
}

// TestKill9NeverLeavesPartialManifest runs an agent process (agentProcess) while its config changes
// constantly and a concurrent reader parses every non-dot file of the manifest dir, kills it
// with SIGKILL mid-loop (several times) and checks that no reader ever saw a partial manifest and
// that no non-dot temp file is ever left.
func TestKill9NeverLeavesPartialManifest(t *testing.T) {
	root := t.TempDir()
	md := filepath.Join(root, "manifests")
	etc := filepath.Join(root, "etc")
	for _, d := range []string{md, etc} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(etc, "pods.yaml")
	const pods = 8
	var seq atomic.Int64
	writeCfg := func() {
		s := int(seq.Add(1))
		tmp := cfg + ".new"
		if err := os.WriteFile(tmp, killTestConfig(pods, s), 0o600); err != nil {
			t.Error(err)
			return
		}
		if err := os.Rename(tmp, cfg); err != nil {
			t.Error(err)
		}
	}
	writeCfg()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var reads, complete atomic.Int64
	var mu sync.Mutex
	var bad []string
	seen := map[string]bool{} // distinct (file, seq) pairs seen complete
	// Reader: parse every non-dot file, as the kubelet does.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			entries, err := os.ReadDir(md)
			if err != nil {
				continue
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					continue
				}
				data, err := os.ReadFile(filepath.Join(md, e.Name()))
				if err != nil {
					continue // removed between list and read: fine
				}
				reads.Add(1)
				mu.Lock()
				if why := checkManifest(data); why != "" {
					bad = append(bad, fmt.Sprintf("%s (%d bytes): %s", e.Name(), len(data), why))
				} else {
					complete.Add(1)
					var pod corev1.Pod
					_ = yaml.Unmarshal(data, &pod)
					seen[e.Name()+"@"+pod.Annotations["seq"]] = true
				}
				mu.Unlock()
			}
		}
	}()
	// Writer: change the config as fast as the agent can follow.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			writeCfg()
			time.Sleep(time.Millisecond)
		}
	}()

	sock := filepath.Join(root, "run", "agent.sock")
	for round := range 4 {
		agent := agentProcess(cfg, md, sock, filepath.Join(root, "kubelet.log"))
		var stderr strings.Builder
		agent.Stderr = &stderr
		if err := agent.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it write a good number of versions, then kill it mid-loop.
		mu.Lock()
		start := len(seen)
		mu.Unlock()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			n := len(seen)
			mu.Unlock()
			if n >= start+3*pods {
				break
			}
			if time.Now().After(deadline) {
				agent.Process.Kill()
				agent.Wait()
				t.Fatalf("round %d: the agent wrote only %d new versions in 30s\n%s", round, n-start, stderr.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := agent.Wait()
		if ws, ok := agent.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: agent did not die from SIGKILL: %v\n%s", round, err, stderr.String())
		}
		// No non-dot temp file may be left, ever.
		for _, e := range mustReadDir(t, md) {
			if !strings.HasPrefix(e, ".") && !strings.HasPrefix(e, "spdoc-kill-p") {
				t.Errorf("round %d: unexpected non-dot file after kill -9: %s", round, e)
			}
		}
	}
	cancel()
	wg.Wait()

	if len(bad) > 0 {
		t.Errorf("the reader saw %d partial or mixed manifests (of %d reads), first: %s", len(bad), reads.Load(), bad[0])
	}
	if complete.Load() < 100 {
		t.Errorf("only %d complete reads: the reader did not race the writer enough", complete.Load())
	}
	// A restarted agent removes the dot temp files a kill may have left.
	var leftovers int
	for _, e := range mustReadDir(t, md) {
		if manifestdir.IsTemp(e) {
			leftovers++
		}
	}
	agent := agentProcess(cfg, md, sock, filepath.Join(root, "kubelet.log"))
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		agent.Process.Signal(syscall.SIGTERM)
		agent.Wait()
	}()
	waitFor(t, "temp files cleaned and the last config applied", func() bool {
		names := mustReadDir(t, md)
		for _, e := range names {
			if manifestdir.IsTemp(e) {
				return false
			}
		}
		b, err := os.ReadFile(filepath.Join(md, "spdoc-kill-p0.yaml"))
		return err == nil && strings.Contains(string(b), fmt.Sprintf("busybox:%d", seq.Load()))
	})
	t.Logf("%d reads, %d complete, %d versions seen, %d temp files left by kills (cleaned on restart)", reads.Load(), complete.Load(), len(seen), leftovers)
}

// TestRootUnixSocketPeers runs `spdoc apply` as an unprivileged user against a running agent:
// with the default socket mode it cannot even connect; when an operator opens the socket up,
// the peer (SO_PEERCRED uid != 0) is a reader and the apply is refused with 403.
func TestRootUnixSocketPeers(t *testing.T) {
	testtier.Root(t)
	bin := buildSpdoc(t)
	var sock string
	ta, root := startAgent(t, func(dir string) (net.Listener, error) {
		sock = filepath.Join(dir, "run", "agent.sock")
		return Listen(ListenOptions{Addr: "unix://" + sock})
	})
	// The binary and the config must be reachable for uid 65534 (only the test's own dirs are
	// opened up; their parent is the 1777 temp dir).
	for _, d := range []string{filepath.Dir(bin), root, filepath.Dir(root)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	newCfg := filepath.Join(root, "new.yaml")
	if err := os.WriteFile(newCfg, []byte(config()), 0o644); err != nil {
		t.Fatal(err)
	}
	apply := func() (string, int) {
		cmd := exec.Command(bin, "apply", newCfg, "--agent", "unix://"+sock)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := apply()
	if code != 2 || !strings.Contains(out, "permission denied") {
		t.Errorf("nobody on a 0600 socket in a 0700 dir: exit %d, %q; want exit 2, permission denied", code, out)
	}
	if err := os.Chmod(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	out, code = apply()
	if code != 2 || !strings.Contains(out, "HTTP 403") || !strings.Contains(out, "uid:65534") {
		t.Errorf("nobody on an open socket: exit %d, %q; want exit 2 with 403 naming uid:65534", code, out)
	}
	if _, err := os.Stat(filepath.Join(ta.md, "spdoc-default-web.yaml")); err != nil {
		t.Errorf("a refused apply removed the manifest: %v", err)
	}
}
