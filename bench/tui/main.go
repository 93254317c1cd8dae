// Command tui-bench measures the TUI under a log flood: a fake node whose container writes
// -rate lines/s (default 50,000) until -lines lines (default 10 million), delivered through the
// real stream batching into the real model, which renders a frame after every message like
// bubbletea does. Every -key-every a key is pressed; its latency is the time from the press to
// the end of the frame that shows it (queueing behind log batches included). At the end it
// prints keypress latency percentiles and the process RSS.
//
// -store ring is the TUI as shipped (bounded ring buffers); -store slice is the baseline with an
// unbounded slice. Run both with bench/tui/run.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/staticpod"
	"github.com/spdoc/spdoc/tui"
	"github.com/spdoc/spdoc/tui/components/logview"
	"github.com/spdoc/spdoc/tui/fakeclient"
)

// sliceStore is the baseline: every line kept.
type sliceStore struct{ lines []logview.Line }

func (s *sliceStore) Append(l logview.Line) { s.lines = append(s.lines, l) }
func (s *sliceStore) Len() int              { return len(s.lines) }
func (s *sliceStore) At(i int) logview.Line { return s.lines[i] }
func (s *sliceStore) Reset()                { s.lines = nil }

type keyPress struct {
	msg  tea.KeyMsg
	sent time.Time
}

func main() {
	store := flag.String("store", "ring", "log pane store: ring (shipped) or slice (unbounded baseline)")
	total := flag.Int64("lines", 10_000_000, "lines the container writes")
	rate := flag.Int("rate", 50_000, "lines per second")
	keyEvery := flag.Duration("key-every", 50*time.Millisecond, "interval between key presses")
	width := flag.Int("width", 200, "terminal width")
	height := flag.Int("height", 50, "terminal height")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	lipgloss.SetColorProfile(termenv.ANSI256) // colour escapes cost too: measure them

	var written atomic.Int64
	client := fakeclient.New(snapshot())
	client.ContainerLogFunc = func(ctx context.Context, req node.LogRequest, fn func(podlog.Line) error) error {
		// Paced in 10 ms steps; a late step catches up, so the average rate is -rate.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		begin := time.Now()
		var i int64
		for i < *total {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			now := time.Now()
			due := min(int64(now.Sub(begin).Seconds()*float64(*rate)), *total)
			for i < due {
				msg := "level=info msg=\"handled request\" id=" + strconv.FormatInt(i, 10) +
					" path=/api/v1/namespaces/default/pods status=200 duration=1.234ms bytes=5120"
				if err := fn(podlog.Line{TS: now, Stream: "stdout", Msg: msg}); err != nil {
					return err
				}
				i++
				written.Store(i)
			}
		}
		<-ctx.Done()
		return nil
	}
	env := tui.Env{
		Client:  client,
		Analyze: func(*node.Snapshot) *diagnose.Report { return report() },
		Render: func(w io.Writer, r *diagnose.Report, f string) error {
			return diagnose.Render(w, r, f, diagnose.RenderOptions{})
		},
		Dir: os.TempDir(),
	}
	m := tui.New(env, nil)
	if *store == "slice" {
		m.Pods().SetLogStore(&sliceStore{}, &sliceStore{})
	} else if *store != "ring" {
		fmt.Fprintf(os.Stderr, "-store %q: want ring or slice\n", *store)
		os.Exit(2)
	}

	msgs := make(chan tea.Msg, 1024)
	var run func(tea.Cmd)
	run = func(cmd tea.Cmd) {
		if cmd == nil {
			return
		}
		go func() {
			msg := cmd()
			if b, ok := msg.(tea.BatchMsg); ok {
				for _, c := range b {
					run(c)
				}
				return
			}
			if msg != nil {
				msgs <- msg
			}
		}()
	}
	update := func(msg tea.Msg) time.Duration {
		start := time.Now()
		_, cmd := m.Update(msg)
		_ = m.View()
		d := time.Since(start)
		run(cmd)
		return d
	}
	update(tea.WindowSizeMsg{Width: *width, Height: *height})
	run(m.Init())

	keys := make(chan keyPress, 16)
	done := make(chan struct{})
	go func() {
		// enter focuses the container log; then scroll, toggle wrap and timestamps, back to bottom.
		seq := []string{"k", "k", "w", "t", "j", "w", "t", "G"}
		keys <- keyPress{tea.KeyMsg{Type: tea.KeyEnter}, time.Now()}
		t := time.NewTicker(*keyEvery)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-t.C:
			}
			keys <- keyPress{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(seq[i%len(seq)])}, time.Now()}
		}
	}()

	start := time.Now()
	var lat, service []time.Duration
	var frames int
	for delivered := false; !delivered; {
		select {
		case k := <-keys:
			service = append(service, update(k.msg))
			lat = append(lat, time.Since(k.sent))
		case msg := <-msgs:
			update(msg)
			frames++
		}
		delivered = written.Load() >= *total && len(msgs) == 0 && shownLast(m, *total)
	}
	close(done)
	elapsed := time.Since(start)
	rss, hwm := procStatus("VmRSS"), procStatus("VmHWM")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sort.Slice(service, func(i, j int) bool { return service[i] < service[j] })
	pctOf := func(xs []time.Duration, p float64) time.Duration { return xs[min(int(float64(len(xs))*p), len(xs)-1)] }
	pct := func(p float64) time.Duration { return pctOf(lat, p) }
	kept := m.Pods().ContainerLog().Store().Len()
	fmt.Printf("store=%s lines=%d rate=%d/s elapsed=%s (%.0f lines/s) frames=%d keys=%d\n", *store, *total, *rate,
		elapsed.Round(time.Millisecond), float64(*total)/elapsed.Seconds(), frames, len(lat))
	fmt.Printf("slowest keys: %v\n", lat[max(len(lat)-5, 0):])
	fmt.Printf("keypress-to-frame p50=%s p99=%s max=%s\n", pct(0.5).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	fmt.Printf("key Update+View alone p50=%s p99=%s max=%s\n", pctOf(service, 0.5).Round(time.Microsecond),
		pctOf(service, 0.99).Round(time.Microsecond), service[len(service)-1].Round(time.Microsecond))
	fmt.Printf("cpu=%s (%.0f%% of one core, fake generator included)\n", cpu.Round(time.Second), 100*cpu.Seconds()/elapsed.Seconds())
	fmt.Printf("rss=%d MB peak-rss=%d MB go-heap=%d MB lines-kept=%d\n", rss>>10, hwm>>10, ms.HeapAlloc>>20, kept)
}

// shownLast reports whether the newest line of the container pane is the last one written.
func shownLast(m *tui.Model, total int64) bool {
	s := m.Pods().ContainerLog().Store()
	if s.Len() == 0 {
		return false
	}
	return strings.Contains(s.At(s.Len()-1).Text, "id="+strconv.FormatInt(total-1, 10)+" ")
}

// procStatus returns a /proc/self/status field in KiB.
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return -1
}

func snapshot() *node.Snapshot {
	return &node.Snapshot{Taken: time.Now(), Node: node.NodeInfo{Name: "bench"}, Manifests: &staticpod.DirScan{Dir: "/etc/kubernetes/manifests", Exists: true}}
}

func report() *diagnose.Report {
	return &diagnose.Report{Taken: time.Now(), Node: diagnose.NodeReport{Name: "bench", ManifestDir: "/etc/kubernetes/manifests"},
		Pods: []diagnose.PodReport{{ID: "default-flood", Namespace: "default", Name: "flood", KubeletName: "flood-bench",
			Manifest: "/etc/kubernetes/manifests/flood.yaml", State: "Running",
			Containers: []diagnose.ContainerReport{{Name: "flood", State: "running", Ready: true}}}},
		Summary: diagnose.Summary{Pods: 1, Healthy: 1}}
}
