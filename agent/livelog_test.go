package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/testlog"
)

const crashManifest = `apiVersion: v1
kind: Pod
metadata:
  name: crashloop
  namespace: default
spec:
  containers:
    - name: app
      image: spdoc.local/busybox:1
      command: ["sh", "-c", "exit 3"]
      livenessProbe:
        exec: {command: ["cat", "/tmp/healthy"]}
`

// TestAgentLiveKubeletLogReport: the agent follows a kubelet log that a crash loop keeps
// writing (and that is rotated in the middle); the report it serves is the one a one-shot
// diagnosis of the same files gives, and it never re-reads the log to build it.
func TestAgentLiveKubeletLogReport(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "manifests")
	logPath := filepath.Join(dir, "kubelet.log")
	if err := os.MkdirAll(md, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(md, "crashloop.yaml"), []byte(crashManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := testlog.Pod{Name: "crashloop-node1", Namespace: "default", UID: "68b63cf0b10a92f44b6ea7d3ab3baf54", Container: "app"}
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	next, crashLines := 0, 0
	write := func(n int) {
		t.Helper()
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for range n {
			line := pod.Line(next, base.Add(time.Duration(next)*50*time.Millisecond))
			if strings.Contains(line, "CrashLoopBackOff") {
				crashLines++
			}
			b.WriteString(line + "\n")
			next++
		}
		if _, err := f.WriteString(b.String()); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	write(100)
	lopts := node.LocalOptions{ManifestDir: md, PodLogsDir: filepath.Join(dir, "pods"), ContainerLogsDir: filepath.Join(dir, "containers"),
		KubeletLog: logPath, KubeletConfig: filepath.Join(dir, "none.yaml"), NoRuntime: true, NoAPI: true, NodeName: "node1", Since: time.Hour}
	local := node.NewLocal(lopts)
	analyze := func(s *node.Snapshot) *diagnose.Report { // one-shot, as spdoc diagnose: no memo
		return diagnose.Analyze(s, diagnose.Options{NodeName: "node1"})
	}
	memo := diagnose.NewMemo(0)
	a, err := New(Options{
		ConfigPath: filepath.Join(dir, "pods.yaml"), ManifestDir: md, Codec: StaticPodCodec{}, Node: local, ObserveOnly: true,
		Analyze: func(s *node.Snapshot) *diagnose.Report { // as spdoc agent: with a memo
			return diagnose.Analyze(s, diagnose.Options{NodeName: "node1", Memo: memo})
		},
		KubeletLog:      local.(LiveKubeletLog),
		RefreshInterval: time.Hour, FullRefresh: time.Hour, MinRefreshGap: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}()

	// sameAsOneShot waits until the agent's report has the newest record, then compares it with
	// a one-shot analysis of a fresh read of the same files at the same time.
	sameAsOneShot := func(what string) *diagnose.Report {
		t.Helper()
		last := base.Add(time.Duration(next-1) * 50 * time.Millisecond)
		var snap *node.Snapshot
		waitFor(t, what, func() bool {
			snap = a.Snapshot()
			if snap == nil || snap.KubeletLog == nil || len(snap.KubeletLog.Records) == 0 {
				return false
			}
			return snap.KubeletLog.Records[len(snap.KubeletLog.Records)-1].TS.Equal(last)
		})
		var rep *diagnose.Report
		a.mu.RLock() // a snapshot and its report, set together
		snap, rep = a.snap, a.report
		a.mu.RUnlock()
		fresh, err := node.NewLocal(lopts).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fresh.Taken, fresh.Kubelet = snap.Taken, snap.Kubelet // the clock and the process table are not the log
		want, _ := json.MarshalIndent(analyze(fresh), "", " ")
		got, _ := json.MarshalIndent(rep, "", " ")
		if string(got) != string(want) {
			t.Fatalf("%s: the agent's report differs from a one-shot diagnosis of the same files:\nagent %s\none-shot %s", what, got, want)
		}
		return rep
	}
	rep := sameAsOneShot("the first read")
	a.mu.RLock()
	firstRead := a.lastRefresh
	a.mu.RUnlock()
	// From the moment the follow has caught up, every new record is counted once.
	waitFor(t, "the follow to catch up", func() bool {
		_, ok := local.(LiveKubeletLog).Relog(a.Snapshot())
		return ok
	})
	crashLines = 0
	for range 3 {
		write(250)
		rep = sameAsOneShot("appended crash loop records")
	}
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	write(120)
	rep = sameAsOneShot("after a rename rotation")

	a.mu.RLock()
	reads, analyzed := a.lastRefresh, a.lastAnalysis
	a.mu.RUnlock()
	if !reads.Equal(firstRead) || !analyzed.After(reads) {
		t.Errorf("node read at %v then %v, last analysis %v: want the new records analyzed without reading the node again", firstRead, reads, analyzed)
	}

	fams := scrape(t, a.MetricsHandler())
	if v, _ := value(fams, MetricKubeletLogRecords, map[string]string{"kind": string(diagnose.KindCrashLoop)}); v != float64(crashLines) {
		t.Errorf("%s records counted = %v, want the %d appended since the follow caught up", MetricKubeletLogRecords, v, crashLines)
	}

	var crash *diagnose.Finding
	for _, p := range rep.Pods {
		for i := range p.Findings {
			if p.Findings[i].Kind == diagnose.KindCrashLoop {
				crash = &p.Findings[i]
			}
		}
	}
	if crash == nil {
		t.Fatalf("no %s finding in the agent's report", diagnose.KindCrashLoop)
	}
	total := 0
	for _, e := range crash.Evidence {
		total += e.Count
	}
	if total < 100 {
		t.Errorf("crash loop evidence counts %d records, want the repeats collapsed with their count (hundreds)", total)
	}
}
