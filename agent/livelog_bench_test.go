package agent

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/testlog"
)

// BenchmarkKubeletLogRefresh: what the agent does with a crash loop's records once a second, on
// a log holding 20,000 of them (the record cap). live: the last snapshot re-analyzed with the
// live records (Relog + Analyze), what the agent does now; reread: a node read that reads the
// log again (Snapshot + Analyze), what it did per relevant record before.
func BenchmarkKubeletLogRefresh(b *testing.B) {
	dir := b.TempDir()
	md := filepath.Join(dir, "manifests")
	if err := os.MkdirAll(md, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(md, "crashloop.yaml"), []byte(crashManifest), 0o644); err != nil {
		b.Fatal(err)
	}
	logPath := filepath.Join(dir, "kubelet.log")
	f, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	pod := testlog.Pod{Name: "crashloop-node1", Namespace: "default", UID: "68b63cf0b10a92f44b6ea7d3ab3baf54", Container: "app"}
	start := time.Now().Add(-30 * time.Minute)
	for i := range 20000 {
		w.WriteString(pod.Line(i, start.Add(time.Duration(i)*50*time.Millisecond)) + "\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	lopts := node.LocalOptions{ManifestDir: md, PodLogsDir: filepath.Join(dir, "pods"), ContainerLogsDir: filepath.Join(dir, "containers"),
		KubeletLog: logPath, KubeletConfig: filepath.Join(dir, "none.yaml"), NoRuntime: true, NoAPI: true, NodeName: "node1", Since: time.Hour}
	memo := diagnose.NewMemo(0)
	analyze := func(s *node.Snapshot) *diagnose.Report {
		return diagnose.Analyze(s, diagnose.Options{NodeName: "node1", Memo: memo})
	}
	ctx := context.Background()

	b.Run("live", func(b *testing.B) {
		local := node.NewLocal(lopts)
		live := local.(LiveKubeletLog)
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- live.FollowKubeletLog(fctx, nil) }()
		defer func() { cancel(); <-done }()
		snap, err := local.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			if _, ok := live.Relog(snap); ok {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("the follow did not catch up")
			}
			time.Sleep(10 * time.Millisecond)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			s, _ := live.Relog(snap)
			if rep := analyze(s); len(rep.Pods) == 0 {
				b.Fatal("no pods in the report")
			}
		}
	})
	b.Run("reread", func(b *testing.B) {
		local := node.NewLocal(lopts)
		b.ReportAllocs()
		for b.Loop() {
			s, err := local.Snapshot(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if rep := analyze(s); len(rep.Pods) == 0 {
				b.Fatal("no pods in the report")
			}
		}
	})
}
