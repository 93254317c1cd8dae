// Command agentlog benchmarks `spdoc agent` while a static pod crash-loops and the kubelet logs
// RATE records a second into the log the agent follows (issue 14), side by side with the same
// agent on a quiet log, and prints a markdown section for BENCHMARKS.md:
//
//   - config change → manifest on disk, p50/p99 (a loop rewrites the config by rename, like an
//     editor, and waits for the manifest with fsnotify), idle vs under the crash loop;
//   - the agent's CPU (utime+stime from /proc/<pid>/stat) and RSS (VmRSS sampled every 100 ms,
//     and VmHWM) over each phase;
//   - how far behind the log the report the agent serves is (newest crash loop record in
//     /v1/report vs the time it was written), so a cheap agent is not one that stopped reading.
//
// The records are the kubelet's own wording (internal/testlog: "Error syncing pod, skipping"
// with CrashLoopBackOff and its back-off, PLEG died/started, "Probe failed", "Killing
// container"), written in 10 ms batches. With -baseline-ref, an spdoc built from that git
// revision runs the same phases in the same run (the agent before issue 14 read the node and
// its log again per relevant record, at most once a second).
//
//	go run ./bench/agentlog                                  # prints the section
//	go run ./bench/agentlog -baseline-ref bacc48e -write BENCHMARKS.md
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/benchproc"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/testlog"
)

const (
	nodeName = "bench-node"
	heading  = "## Agent under a crash loop (issue 14)"
)

type options struct {
	spdoc, baselineRef string
	pods, changes      int
	gap, warm          time.Duration
	rate               int
	history            time.Duration
	write              string
}

func main() {
	var o options
	flag.StringVar(&o.spdoc, "spdoc", "", "spdoc binary (default: built from this module)")
	flag.StringVar(&o.baselineRef, "baseline-ref", "", "also run an spdoc built from this git revision (e.g. the commit before the live kubelet log)")
	flag.IntVar(&o.pods, "pods", 10, "static pods in the agent config (p1 is the crash-looping one)")
	flag.IntVar(&o.changes, "n", 200, "config changes timed per phase")
	flag.DurationVar(&o.gap, "gap", 250*time.Millisecond, "pause between config changes")
	flag.DurationVar(&o.warm, "warm", 5*time.Second, "log traffic before a loaded phase is measured")
	flag.IntVar(&o.rate, "rate", 1000, "kubelet records per second in the loaded phase")
	flag.DurationVar(&o.history, "history", 2*time.Minute, "crash loop history in the log before the agent starts (at RATE)")
	flag.StringVar(&o.write, "write", "", "replace (or append) the section in this markdown file")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/agentlog:", err)
		os.Exit(2)
	}
}

// phase is what one measurement window gave.
type phase struct {
	name       string
	lat        []time.Duration
	cpuSec     float64
	wall       time.Duration
	rssMedKB   int64
	rssMaxKB   int64
	hwmKB      int64
	written    int64 // records the generator wrote during the window
	lagMax     time.Duration
	lagSamples []time.Duration
}

func run(o options) error {
	loadStart := benchproc.LoadAvg()
	work, err := os.MkdirTemp("", "spdoc-bench-agentlog-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if o.spdoc == "" {
		o.spdoc = filepath.Join(work, "spdoc")
		if out, err := exec.Command("go", "build", "-o", o.spdoc, "github.com/spdoc/spdoc/cmd/spdoc").CombinedOutput(); err != nil {
			return fmt.Errorf("building spdoc: %v\n%s", err, out)
		}
	}
	type agentBin struct{ label, path string }
	bins := []agentBin{{"live kubelet log (this change)", o.spdoc}}
	if o.baselineRef != "" {
		p, err := buildRef(work, o.baselineRef)
		if err != nil {
			return err
		}
		bins = append(bins, agentBin{"baseline " + o.baselineRef + ": node re-read per record (≤ 1/s)", p})
	}
	results := map[string][]phase{}
	for _, b := range bins {
		ps, err := runAgent(o, b.path, filepath.Join(work, strconv.Itoa(len(results))))
		if err != nil {
			return fmt.Errorf("%s: %w", b.label, err)
		}
		results[b.label] = ps
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n\n", heading)
	fmt.Fprintf(&sb, "`go run ./bench/agentlog%s` (bench/agentlog/main.go) on %s, %d CPUs, %s. `spdoc agent` runs as a process "+
		"(%d static pods in its config, --no-runtime: the runtime is not the subject) and follows a kubelet JSON log that starts with %s of crash loop history; "+
		"in the loaded phase a generator appends %d records/s (10 ms batches) of one crash-looping pod in the kubelet's own wording "+
		"(`Error syncing pod, skipping` with CrashLoopBackOff and its back-off, PLEG died/started, `Probe failed`, `Killing container`). "+
		"Each phase times %d config changes %s apart (rename of the config, like an editor; fsnotify on the manifest). "+
		"CPU is utime+stime of the agent over the phase; RSS is VmRSS sampled every 100 ms; lag is how far the newest crash loop record in "+
		"`/v1/report` is behind the time it was written, sampled every 250 ms.\n\n",
		flagsOf(o), benchproc.HostInfo(), runtime.NumCPU(), runtime.Version(), o.pods, o.history, o.rate, o.changes, o.gap)
	fmt.Fprintf(&sb, "Machine load average (1 min) at start / end: %s / %s — other engineers' builds and tests share these 2 cores and show up in the tails.\n\n", loadStart, benchproc.LoadAvg())
	fmt.Fprintf(&sb, "| agent | phase | config→manifest p50 | p99 | max | agent CPU | RSS median / max (VmHWM) | records written | report lag median / max |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, b := range bins {
		for _, p := range results[b.label] {
			lag := "-"
			if p.written > 0 {
				lag = fmt.Sprintf("%s / %s", benchproc.Q(p.lagSamples, 50), round(p.lagMax))
			}
			fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %.2f s = %.1f%% of a core | %.1f / %.1f MB (%.1f) | %d | %s |\n",
				b.label, p.name, benchproc.Q(p.lat, 50), benchproc.Q(p.lat, 99), benchproc.Q(p.lat, 100),
				p.cpuSec, 100*p.cpuSec/p.wall.Seconds(), mb(p.rssMedKB), mb(p.rssMaxKB), mb(p.hwmKB), p.written, lag)
		}
	}
	sb.WriteString("\n")
	section := sb.String()
	fmt.Print(section)
	if o.write != "" {
		return benchproc.WriteSection(o.write, heading, section)
	}
	return nil
}

func flagsOf(o options) string {
	s := ""
	if o.baselineRef != "" {
		s += " -baseline-ref " + o.baselineRef
	}
	return s
}

func mb(kb int64) float64 { return float64(kb) / 1024 }

func round(d time.Duration) string {
	if d < time.Millisecond {
		return d.String()
	}
	return d.Round(time.Millisecond).String()
}

// buildRef builds spdoc from a git revision of this repository.
func buildRef(work, ref string) (string, error) {
	src := filepath.Join(work, "src-"+ref)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	// git archive REF | tar -x: the tree of that revision, without touching this worktree
	unpack := exec.Command("sh", "-c", `git archive "$1" | tar -x -C "$2"`, "sh", ref, src)
	if out, err := unpack.CombinedOutput(); err != nil {
		return "", fmt.Errorf("unpacking %s: %v %s", ref, err, out)
	}
	bin := filepath.Join(work, "spdoc-"+ref)
	build := exec.Command("go", "build", "-o", bin, "./cmd/spdoc")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", ref, err, out)
	}
	return bin, nil
}

var crashPod = testlog.Pod{Name: "p1-" + nodeName, Namespace: "bench", UID: "68b63cf0b10a92f44b6ea7d3ab3baf54", Container: "main"}

// runAgent starts one agent in dir and measures its phases: idle, then under the crash loop.
func runAgent(o options, bin, dir string) ([]phase, error) {
	md := filepath.Join(dir, "manifests")
	for _, d := range []string{md, filepath.Join(dir, "etc"), filepath.Join(dir, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	cfg := filepath.Join(dir, "etc", "pods.yaml")
	sock := filepath.Join(dir, "run", "agent.sock")
	logPath := filepath.Join(dir, "kubelet.log")
	gen := &generator{path: logPath}
	if err := gen.history(o.history, o.rate); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cfg, benchConfig(o.pods, 0), 0o600); err != nil {
		return nil, err
	}
	agent := exec.Command(bin, "agent", "--config", cfg, "--manifests", md, "--listen", "unix://"+sock, "--log-level", "warn",
		"--no-runtime", "--kubelet-log", logPath, "--node-name", nodeName, "--pod-logs-dir", filepath.Join(dir, "pods"),
		"--kubelet-config", filepath.Join(dir, "none.yaml"))
	var stderr bytes.Buffer
	agent.Stderr = &stderr
	if err := agent.Start(); err != nil {
		return nil, err
	}
	defer func() {
		agent.Process.Signal(syscall.SIGTERM)
		agent.Wait()
	}()
	remote, err := node.DialRemote("unix://"+sock, node.RemoteOptions{})
	if err != nil {
		return nil, err
	}
	defer remote.Close()
	ctx := context.Background()
	if err := benchproc.Poll(60*time.Second, func() bool {
		var rep diagnose.Report
		return remote.GetJSON(ctx, api.PathReport, &rep) == nil && newestCrash(&rep) != (time.Time{})
	}); err != nil {
		return nil, fmt.Errorf("the agent did not come up with a crash loop report: %w\n%s", err, stderr.String())
	}
	time.Sleep(2 * time.Second) // let the first read settle
	seq := 1
	idle, err := measure(o, agent.Process.Pid, cfg, md, remote, &seq, nil)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	idle.name = "idle (quiet log)"

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var genErr error
	go func() {
		defer wg.Done()
		genErr = gen.run(o.rate, stop)
	}()
	time.Sleep(o.warm)
	loaded, err := measure(o, agent.Process.Pid, cfg, md, remote, &seq, gen)
	close(stop)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	if genErr != nil {
		return nil, genErr
	}
	loaded.name = fmt.Sprintf("%d kubelet records/s (crash loop)", o.rate)
	return []phase{idle, loaded}, nil
}

// measure times o.changes config changes while sampling the agent's RSS (and, with gen, how far
// its report is behind the log).
func measure(o options, pid int, cfg, md string, remote *node.Remote, seq *int, gen *generator) (phase, error) {
	var p phase
	c0, err := benchproc.CPUTicks(pid)
	if err != nil {
		return p, err
	}
	var w0 int64
	if gen != nil {
		w0 = gen.written.Load()
	}
	t0 := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var rss []int64
	var lags []time.Duration
	var lagMax time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if kb, _, err := benchproc.Memory(pid); err == nil {
				rss = append(rss, kb)
			}
			if gen != nil && n%5 == 0 { // every 500 ms
				var rep diagnose.Report
				asked := time.Now()
				if remote.GetJSON(context.Background(), api.PathReport, &rep) == nil {
					if newest := newestCrash(&rep); !newest.IsZero() {
						lag := asked.Sub(gen.writtenAt(newest))
						lags = append(lags, lag)
						lagMax = max(lagMax, lag)
					}
				}
			}
		}
	}()
	p.lat, err = measureApply(cfg, md, o, seq)
	close(stop)
	wg.Wait()
	if err != nil {
		return p, err
	}
	p.wall = time.Since(t0)
	c1, err := benchproc.CPUTicks(pid)
	if err != nil {
		return p, err
	}
	p.cpuSec = float64(c1-c0) / benchproc.ClockTicks
	_, p.hwmKB, _ = benchproc.Memory(pid)
	slices.Sort(rss)
	if len(rss) > 0 {
		p.rssMedKB, p.rssMaxKB = rss[len(rss)/2], rss[len(rss)-1]
	}
	if gen != nil {
		p.written = gen.written.Load() - w0
	}
	p.lagSamples, p.lagMax = lags, lagMax
	return p, nil
}

// newestCrash is the latest time of the crash loop evidence in a report.
func newestCrash(rep *diagnose.Report) time.Time {
	var t time.Time
	for _, pod := range rep.Pods {
		for _, f := range pod.Findings {
			if f.Kind != diagnose.KindCrashLoop {
				continue
			}
			for _, e := range f.Evidence {
				for _, x := range []time.Time{e.TS, e.Last} {
					if x.After(t) {
						t = x
					}
				}
			}
		}
	}
	return t
}

// measureApply rewrites the config (by rename, like an editor) changing one pod and waits, with
// fsnotify, until that pod's manifest carries the change.
func measureApply(cfg, md string, o options, seq *int) ([]time.Duration, error) {
	aw, err := benchproc.WatchApply(cfg, md, "spdoc-bench-p0.yaml")
	if err != nil {
		return nil, err
	}
	defer aw.Close()
	var out []time.Duration
	for range o.changes {
		time.Sleep(o.gap)
		*seq++
		i := *seq
		d, err := aw.Change(benchConfig(o.pods, i), []byte(fmt.Sprintf("seq: %q", strconv.Itoa(i))))
		if err != nil {
			return nil, fmt.Errorf("change %d: %w", i, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// benchConfig is n hostNetwork pods; pod p0 carries seq in an annotation, p1 is the one whose
// crash loop the log tells.
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
          image: spdoc.local/busybox:1
          imagePullPolicy: Never
          command: ["sh", "-c", "exec sleep 3600"]
          livenessProbe:
            exec: {command: ["cat", "/tmp/healthy"]}
`, p, s)
	}
	return []byte(b.String())
}

// generator appends crash loop records to the kubelet log.
type generator struct {
	path    string
	n       int // next record number
	written atomic.Int64
	// at maps a record's timestamp (ms) to when it was written, for the lag.
	mu sync.Mutex
	at map[int64]time.Time
}

// history writes d of records at rate, ending now, before the agent starts.
func (g *generator) history(d time.Duration, rate int) error {
	f, err := os.OpenFile(g.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	total := int(d.Seconds() * float64(rate))
	start := time.Now().Add(-d)
	for i := range total {
		ts := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		bw.WriteString(crashPod.Line(g.n, ts))
		bw.WriteByte('\n')
		g.n++
	}
	return bw.Flush()
}

// run writes rate records a second in 10 ms batches until stop is closed.
func (g *generator) run(rate int, stop <-chan struct{}) error {
	f, err := os.OpenFile(g.path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var buf []byte
	for {
		select {
		case <-stop:
			return nil
		case now := <-tick.C:
			// catch up after a late tick: the rate is kept over the run
			due := now.Sub(start).Seconds() * float64(rate)
			buf = buf[:0]
			var last time.Time
			for float64(g.written.Load()) < due {
				last = now
				buf = append(buf, crashPod.Line(g.n, now)...)
				buf = append(buf, '\n')
				g.n++
				g.written.Add(1)
			}
			if len(buf) == 0 {
				continue
			}
			if _, err := f.Write(buf); err != nil {
				return err
			}
			g.mu.Lock()
			if g.at == nil {
				g.at = map[int64]time.Time{}
			}
			g.at[last.UnixMilli()] = time.Now()
			if len(g.at) > 100000 {
				g.at = map[int64]time.Time{}
			}
			g.mu.Unlock()
		}
	}
}

// writtenAt is when the record with timestamp ts reached the file (ts itself when unknown).
func (g *generator) writtenAt(ts time.Time) time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.at[ts.UnixMilli()]; ok {
		return t
	}
	return ts
}
