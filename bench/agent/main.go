// Command agent benchmarks `spdoc agent` as a process, side by side with baselines, and prints a
// markdown section for BENCHMARKS.md:
//
//   - config change → manifest on disk, p50/p99, vs a plain os.WriteFile of the same bytes;
//   - idle CPU of the agent over a window (from /proc/<pid>/stat) and its RSS, with N static pods;
//   - listing N statuses over the unix socket, p50/p99.
//
// Run as root on a machine prepared by hack/setup-node.sh to give the agent a real containerd
// (and kubelet log) through internal/testnode; -node=false runs without a runtime.
//
//	go run ./bench/agent                 # prints the section
//	go run ./bench/agent -write BENCHMARKS.md
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spdoc/spdoc/internal/benchproc"
	"github.com/spdoc/spdoc/internal/manifestdir"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/testnode"
)

type options struct {
	spdoc      string
	pods       int
	iterations int
	gap        time.Duration
	lists      int
	idle       time.Duration
	useNode    bool
	write      string
}

func main() {
	var o options
	flag.StringVar(&o.spdoc, "spdoc", "", "spdoc binary (default: built from this module)")
	flag.IntVar(&o.pods, "pods", 100, "static pods in the agent config")
	flag.IntVar(&o.iterations, "n", 200, "config changes to time (twice: back to back and paced)")
	flag.DurationVar(&o.gap, "gap", 500*time.Millisecond, "pause between paced config changes")
	flag.IntVar(&o.lists, "lists", 500, "status lists to time")
	flag.DurationVar(&o.idle, "idle", 30*time.Second, "idle window for the CPU measurement")
	flag.BoolVar(&o.useNode, "node", true, "start containerd + kubelet (internal/testnode) so the agent polls a real runtime and follows a real kubelet log")
	flag.StringVar(&o.write, "write", "", "replace (or append) the \"## Agent\" section of this markdown file")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/agent:", err)
		os.Exit(2)
	}
}

func run(o options) error {
	loadStart := benchproc.LoadAvg()
	root, err := os.MkdirTemp("", "spdoc-bench-agent-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	if o.spdoc == "" {
		o.spdoc = filepath.Join(root, "spdoc")
		out, err := exec.Command("go", "build", "-o", o.spdoc, "github.com/spdoc/spdoc/cmd/spdoc").CombinedOutput()
		if err != nil {
			return fmt.Errorf("building spdoc: %v\n%s", err, out)
		}
	}
	md := filepath.Join(root, "manifests")
	base := filepath.Join(root, "baseline")
	for _, d := range []string{md, base, filepath.Join(root, "etc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	cfg := filepath.Join(root, "etc", "pods.yaml")
	sock := filepath.Join(root, "run", "agent.sock")
	args := []string{"agent", "--config", cfg, "--manifests", md, "--listen", "unix://" + sock, "--log-level", "warn"}
	setup := "no runtime (--no-runtime), no kubelet log"
	if o.useNode {
		if err := testnode.Requirements(); err != nil {
			return fmt.Errorf("%w (or run with -node=false)", err)
		}
		n, err := testnode.New(context.Background(), testnode.Options{Logf: func(string, ...any) {}})
		if err != nil {
			return fmt.Errorf("starting the test node: %w", err)
		}
		defer n.Close()
		// The kubelet watches its own manifest dir; the agent's stays private, so the numbers
		// measure the agent, not 100 containers starting on 2 cores.
		args = append(args, "--runtime-endpoint", n.RuntimeEndpoint, "--kubelet-log", n.KubeletLog, "--node-name", n.NodeName,
			"--pod-logs-dir", n.PodLogsDir, "--kubelet-config", n.KubeletConfig)
		setup = "real containerd (no containers) and a live kubelet log, via internal/testnode"
	} else {
		args = append(args, "--no-runtime", "--kubelet-log", filepath.Join(root, "kubelet.log"))
	}
	if err := os.WriteFile(cfg, benchConfig(o.pods, 0), 0o600); err != nil {
		return err
	}
	agent := exec.Command(o.spdoc, args...)
	var stderr bytes.Buffer
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		return err
	}
	defer func() {
		agent.Process.Signal(syscall.SIGTERM)
		agent.Wait()
	}()
	remote, err := node.DialRemote("unix://"+sock, node.RemoteOptions{})
	if err != nil {
		return err
	}
	defer remote.Close()
	ctx := context.Background()
	if err := benchproc.Poll(30*time.Second, func() bool {
		sts, err := remote.StaticPodStatuses(ctx)
		return err == nil && len(sts) == o.pods
	}); err != nil {
		return fmt.Errorf("agent did not come up with %d statuses: %w\n%s", o.pods, err, stderr.String())
	}

	// 1. config change → manifest on disk: back to back (the next change as soon as the last
	// one is on disk, so it competes with the status refresh the last one caused), then paced
	// like a person or a config management run would change it.
	lat, err := measureApply(cfg, md, o, 1, 0)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, stderr.String())
	}
	paced, err := measureApply(cfg, md, o, o.iterations+1, o.gap)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, stderr.String())
	}
	// A typical node has a handful of static pods: the same, paced, with a 10-pod config.
	small := o
	small.pods = 10
	pacedSmall, err := measureApply(cfg, md, small, 2*o.iterations+1, o.gap)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, stderr.String())
	}
	if err := os.WriteFile(cfg, benchConfig(o.pods, 0), 0o600); err != nil {
		return err
	}
	if err := benchproc.Poll(30*time.Second, func() bool {
		sts, err := remote.StaticPodStatuses(ctx)
		return err == nil && len(sts) == o.pods
	}); err != nil {
		return fmt.Errorf("agent did not return to %d statuses: %w\n%s", o.pods, err, stderr.String())
	}
	sample, err := os.ReadFile(filepath.Join(md, "spdoc-bench-p0.yaml"))
	if err != nil {
		return err
	}
	var plain, atomic []time.Duration
	for i := range o.iterations {
		data := bytes.Replace(sample, []byte("seq:"), []byte(fmt.Sprintf("seq%d:", i)), 1)
		t0 := time.Now()
		if err := os.WriteFile(filepath.Join(base, "plain.yaml"), data, 0o600); err != nil {
			return err
		}
		plain = append(plain, time.Since(t0))
		t0 = time.Now()
		if _, err := manifestdir.Write(base, "atomic.yaml", data, 0o600); err != nil {
			return err
		}
		atomic = append(atomic, time.Since(t0))
	}

	// 2. listing statuses over the socket.
	var lists []time.Duration
	for range o.lists {
		t0 := time.Now()
		sts, err := remote.StaticPodStatuses(ctx)
		d := time.Since(t0)
		if err != nil || len(sts) != o.pods {
			return fmt.Errorf("listing statuses: %d items, %v", len(sts), err)
		}
		lists = append(lists, d)
	}

	// 3. idle CPU and RSS.
	time.Sleep(2 * time.Second) // let the last change settle before the idle window
	pid := agent.Process.Pid
	c0, err := benchproc.CPUTicks(pid)
	if err != nil {
		return err
	}
	t0 := time.Now()
	time.Sleep(o.idle)
	c1, err := benchproc.CPUTicks(pid)
	if err != nil {
		return err
	}
	wall := time.Since(t0)
	rss, hwm, err := benchproc.Memory(pid)
	if err != nil {
		return err
	}
	cpuSec := float64(c1-c0) / benchproc.ClockTicks
	cpuPct := 100 * cpuSec / wall.Seconds()

	var b strings.Builder
	fmt.Fprintf(&b, "## Agent\n\n")
	fmt.Fprintf(&b, "`go run ./bench/agent` (bench/agent/main.go) on %s, %d CPUs, %s; the agent runs as a process with %d static pods in its config; %s.\n\n",
		benchproc.HostInfo(), runtime.NumCPU(), runtime.Version(), o.pods, setup)
	fmt.Fprintf(&b, "Machine load average (1 min) at start / end: %s / %s — other work on the machine shows up in the tails.\n\n", loadStart, benchproc.LoadAvg())
	fmt.Fprintf(&b, "| measurement | p50 | p99 | max | target |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| config change → manifest on disk, changes %s apart (agent: fsnotify, parse+validate+render %d pods, atomic write), n=%d | %s | %s | %s | p99 < 50 ms |\n", o.gap, o.pods, len(paced), benchproc.Q(paced, 50), benchproc.Q(paced, 99), benchproc.Q(paced, 100))
	fmt.Fprintf(&b, "| same with a 10-pod config, n=%d | %s | %s | %s | p99 < 50 ms |\n", len(pacedSmall), benchproc.Q(pacedSmall, 50), benchproc.Q(pacedSmall, 99), benchproc.Q(pacedSmall, 100))
	fmt.Fprintf(&b, "| same with %d pods, back to back (each change races the status refresh of the previous one), n=%d | %s | %s | %s | |\n", o.pods, len(lat), benchproc.Q(lat, 50), benchproc.Q(lat, 99), benchproc.Q(lat, 100))
	fmt.Fprintf(&b, "| baseline: plain `os.WriteFile` of the same manifest bytes | %s | %s | %s | |\n", benchproc.Q(plain, 50), benchproc.Q(plain, 99), benchproc.Q(plain, 100))
	fmt.Fprintf(&b, "| reference: `manifestdir.Write` alone (dotfile, fsync, rename, fsync dir) | %s | %s | %s | |\n", benchproc.Q(atomic, 50), benchproc.Q(atomic, 99), benchproc.Q(atomic, 100))
	fmt.Fprintf(&b, "| list %d statuses over the unix socket (node.Remote), n=%d | %s | %s | %s | < 10 ms |\n\n", o.pods, len(lists), benchproc.Q(lists, 50), benchproc.Q(lists, 99), benchproc.Q(lists, 100))
	fmt.Fprintf(&b, "| resource | value | target |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| idle CPU over %s (utime+stime from /proc/<pid>/stat) | %.2f s CPU = %.2f%% of one core | near 0 |\n", wall.Round(time.Second), cpuSec, cpuPct)
	fmt.Fprintf(&b, "| RSS after the run (VmRSS) / peak (VmHWM) | %.1f MB / %.1f MB | < 40 MB |\n\n", float64(rss)/1024, float64(hwm)/1024)
	section := b.String()
	fmt.Print(section)
	if o.write != "" {
		return benchproc.WriteSection(o.write, "## Agent", section)
	}
	return nil
}

// measureApply rewrites the config (by rename, like an editor) changing one pod and waits, with
// fsnotify, until that pod's manifest carries the change.
func measureApply(cfg, md string, o options, first int, gap time.Duration) ([]time.Duration, error) {
	aw, err := benchproc.WatchApply(cfg, md, "spdoc-bench-p0.yaml")
	if err != nil {
		return nil, err
	}
	defer aw.Close()
	var out []time.Duration
	for i := first; i < first+o.iterations; i++ {
		if gap > 0 {
			time.Sleep(gap)
		}
		d, err := aw.Change(benchConfig(o.pods, i), []byte(fmt.Sprintf("seq: %q", strconv.Itoa(i))))
		if err != nil {
			return nil, fmt.Errorf("change %d: %w", i, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// benchConfig is n hostNetwork pods; pod p0 carries seq in an annotation.
func benchConfig(n, seq int) []byte {
	var b strings.Builder
	b.WriteString("pods:\n")
	for p := range n {
		s := 0
		if p == 0 {
			s = seq
		}
		fmt.Fprintf(&b, `  - apiVersion: v1
    kind: Pod
    metadata:
      name: p%d
      namespace: bench
      annotations:
        seq: "%d"
    spec:
      hostNetwork: true
      containers:
        - name: main
          image: %s
          imagePullPolicy: Never
          command: ["sh", "-c", "exec sleep 3600"]
          resources:
            requests: {cpu: 10m, memory: 16Mi}
            limits: {memory: 16Mi}
`, p, s, testnode.BusyboxImage)
	}
	return []byte(b.String())
}
