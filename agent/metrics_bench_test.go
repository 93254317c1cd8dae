package agent

import (
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/podview"
)

// benchAgent is an agent whose last report holds n static pods, each with two containers and a
// few findings (a busy node: every fifth pod crash-looping, every tenth with a rejected manifest).
func benchAgent(b *testing.B, n int) *Agent {
	b.Helper()
	a, err := New(Options{ConfigPath: filepath.Join(b.TempDir(), "none.yaml"), ManifestDir: b.TempDir(), Codec: testCodec{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	rep := &diagnose.Report{Node: diagnose.NodeReport{Name: "n1"}}
	for i := range n {
		p := diagnose.PodReport{Namespace: "kube-system", Name: fmt.Sprintf("pod-%03d", i), State: podview.Running,
			Containers: []diagnose.ContainerReport{{Name: "main", Ready: true, RestartCount: i % 7}, {Name: "sidecar", Ready: true}}}
		p.Findings = []diagnose.Finding{{Kind: diagnose.KindManifestWarning, Severity: diagnose.SeverityInfo}}
		if i%5 == 0 {
			p.State = podview.CrashLoop
			p.Findings = append(p.Findings, diagnose.Finding{Kind: diagnose.KindCrashLoop, Severity: diagnose.SeverityError})
		}
		if i%10 == 0 {
			p.Findings = append(p.Findings, diagnose.Finding{Kind: diagnose.KindManifestInvalid, Severity: diagnose.SeverityError})
		}
		rep.Pods = append(rep.Pods, p)
	}
	a.mu.Lock()
	a.report, a.lastRefresh = rep, time.Now()
	a.mu.Unlock()
	return a
}

// BenchmarkScrape100Pods measures one /metrics scrape of an agent with 100 static pods: latency
// percentiles, bytes per scrape and CPU per scrape (what a Prometheus scraping every 15 s costs).
func BenchmarkScrape100Pods(b *testing.B) {
	a := benchAgent(b, 100)
	h := a.MetricsHandler()
	lat := make([]time.Duration, 0, b.N)
	var bytes int
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		lat = append(lat, time.Since(start))
		bytes = rec.Body.Len()
		_, _ = io.Copy(io.Discard, rec.Body)
	}
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) / time.Duration(b.N)
	b.ReportMetric(float64(cpu.Microseconds()), "cpu-µs/scrape")
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(bytes), "bytes/scrape")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}
