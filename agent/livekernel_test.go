package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/testlog"
)

// kernelOOM is a memcg OOM report of pod uid as dmesg prints it (6.x wording), seconds after boot.
func kernelOOM(at float64, uid string, pid int) string {
	cg := "/kubepods/burstable/pod" + uid + "/3b1f0c9d2e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"
	lines := []string{
		"sh invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=999",
		"memory: usage 24576kB, limit 24576kB, failcnt 0",
		fmt.Sprintf("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=%s,task_memcg=%s,task=sh,pid=%d,uid=0", cg, cg, pid),
		fmt.Sprintf("Memory cgroup out of memory: Killed process %d (sh) total-vm:43236kB, anon-rss:24236kB, file-rss:1584kB, shmem-rss:0kB, UID:0 pgtables:92kB oom_score_adj:999", pid),
	}
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "[%12.6f] %s\n", at+float64(i)*0.0001, l)
	}
	return b.String()
}

// TestAgentLiveKernelLogReport: an agent following a kubelet log of a crash loop and a kernel
// log file; an OOM kill of the crash-looping pod's memory cgroup appended to the kernel log
// reaches the agent's report without a node read (a re-analysis), as a KernelOOMKill on the pod,
// and the report is the one a one-shot diagnosis of the same files gives.
func TestAgentLiveKernelLogReport(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "manifests")
	logPath := filepath.Join(dir, "kubelet.log")
	kernPath := filepath.Join(dir, "kern.log")
	if err := os.MkdirAll(md, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(md, "crashloop.yaml"), []byte(crashManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := testlog.Pod{Name: "crashloop-node1", Namespace: "default", UID: "68b63cf0b10a92f44b6ea7d3ab3baf54", Container: "app"}
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	var b strings.Builder
	for i := range 100 {
		b.WriteString(pod.Line(i, base.Add(time.Duration(i)*50*time.Millisecond)) + "\n")
	}
	if err := os.WriteFile(logPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kernPath, []byte("[    1.000000] Linux version 6.18.44 (gcc 14) #1 SMP\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lopts := node.LocalOptions{ManifestDir: md, PodLogsDir: filepath.Join(dir, "pods"), ContainerLogsDir: filepath.Join(dir, "containers"),
		KubeletLog: logPath, KernelLog: kernPath, KubeletConfig: filepath.Join(dir, "none.yaml"), NoRuntime: true, NoAPI: true, NodeName: "node1", Since: time.Hour}
	local := node.NewLocal(lopts)
	a, err := New(Options{
		ConfigPath: filepath.Join(dir, "pods.yaml"), ManifestDir: md, Codec: StaticPodCodec{}, Node: local, ObserveOnly: true,
		Analyze: func(s *node.Snapshot) *diagnose.Report {
			return diagnose.Analyze(s, diagnose.Options{NodeName: "node1"})
		},
		KubeletLog: local.(LiveKubeletLog), KernelLog: local.(LiveKernelLog),
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
	// Both follows have caught up (a kernel follow that has not would be read by the node read).
	waitFor(t, "the follows to catch up", func() bool {
		s, ok := local.(LiveKubeletLog).Relog(a.Snapshot())
		return ok && s.Kernel != nil && s.Kernel.Stats.Lines == 1
	})
	a.mu.RLock()
	firstRead := a.lastRefresh
	a.mu.RUnlock()

	f, err := os.OpenFile(kernPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(kernelOOM(500, pod.UID, 4474)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var kill *diagnose.Finding
	waitFor(t, "the OOM kill in the agent's report", func() bool {
		r := a.Report()
		kill = nil
		for _, p := range r.Pods {
			for i := range p.Findings {
				if p.Findings[i].Kind == diagnose.KindKernelOOMKill {
					kill = &p.Findings[i]
				}
			}
		}
		return kill != nil
	})
	if !strings.Contains(kill.Title, "24 MiB") || len(kill.Evidence) == 0 || !strings.HasPrefix(kill.Evidence[0].Source, "kernel-log:"+kernPath+":") {
		t.Errorf("KernelOOMKill %+v, want the 24 MiB memory cgroup limit with evidence from %s", kill, kernPath)
	}
	// The crash loop of the pod is explained by the kill.
	var explained bool
	for _, p := range a.Report().Pods {
		for _, f := range p.Findings {
			if f.Kind == diagnose.KindCrashLoop && !f.History {
				explained = f.Cause == diagnose.KindKernelOOMKill
				if !explained {
					t.Errorf("CrashLoop %+v: cause %q, want %s", f, f.Cause, diagnose.KindKernelOOMKill)
				}
			}
		}
	}
	if !explained {
		t.Error("no current CrashLoop finding explained by the OOM kill")
	}
	var snap *node.Snapshot
	var rep *diagnose.Report
	a.mu.RLock()
	snap, rep, reads := a.snap, a.report, a.lastRefresh
	a.mu.RUnlock()
	if !reads.Equal(firstRead) {
		t.Errorf("node read at %v then %v: want the kernel event analyzed without reading the node again", firstRead, reads)
	}
	fresh, err := node.NewLocal(lopts).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fresh.Taken, fresh.Kubelet = snap.Taken, snap.Kubelet
	want, _ := json.MarshalIndent(diagnose.Analyze(fresh, diagnose.Options{NodeName: "node1"}), "", " ")
	got, _ := json.MarshalIndent(rep, "", " ")
	if string(got) != string(want) {
		t.Fatalf("the agent's report differs from a one-shot diagnosis of the same files:\nagent %s\none-shot %s", got, want)
	}
}

// TestAgentKernelLogUnreadable: an agent whose kernel log cannot be read runs on and reports why.
func TestAgentKernelLogUnreadable(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "manifests")
	if err := os.MkdirAll(md, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such-kern.log")
	local := node.NewLocal(node.LocalOptions{ManifestDir: md, PodLogsDir: filepath.Join(dir, "pods"), KubeletLog: filepath.Join(dir, "kubelet.log"),
		KernelLog: missing, KubeletConfig: filepath.Join(dir, "none.yaml"), NoRuntime: true, NoAPI: true, NodeName: "node1"})
	a, err := New(Options{
		ConfigPath: filepath.Join(dir, "pods.yaml"), ManifestDir: md, Codec: StaticPodCodec{}, Node: local, ObserveOnly: true,
		Analyze: func(s *node.Snapshot) *diagnose.Report {
			return diagnose.Analyze(s, diagnose.Options{NodeName: "node1"})
		},
		KernelLog: local.(LiveKernelLog), KubeletLogRetry: 20 * time.Millisecond,
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
	waitFor(t, "a SourceError finding naming the kernel log", func() bool {
		r := a.Report()
		if r == nil {
			return false
		}
		for _, f := range r.Node.Findings {
			if f.Kind == diagnose.KindSourceError && strings.Contains(f.Title+f.Detail, missing) {
				return true
			}
		}
		return false
	})
	// Written later, it is followed.
	if err := os.WriteFile(missing, []byte(kernelOOM(5, "0c9b7a6e-1d2f-4e3a-9b8c-7d6e5f4a3b2c", 9)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the kernel log followed once it exists", func() bool {
		s := a.Snapshot()
		return s != nil && s.Kernel != nil && len(s.Kernel.Events) == 1 && s.Kernel.Error == ""
	})
}
