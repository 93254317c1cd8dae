package bundle

import (
	"archive/zip"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
)

// fixtureEntries are the entries of the talosctl bundle fixture, to build variants of it.
func fixtureEntries(t *testing.T) []zipEntry {
	t.Helper()
	zr, err := zip.OpenReader(talosFixture)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var out []zipEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, zipEntry{name: f.Name, data: data})
	}
	return out
}

// TestTalosDmesgExplainsCrashLoop: the fixture's control plane with a dmesg.log as talosctl
// support writes it (machined's "%s: %7s: [%s]: %s" records, Talos's own among the kernel's):
// the kernel's OOM kill of kube-system/crashloop's container, named by its pod UID (the kubelet's
// records give it) in the memory cgroup path, lands on container app and explains its crash
// loop; a full conntrack table is the node's.
func TestTalosDmesgExplainsCrashLoop(t *testing.T) {
	const (
		podUID = "b6aad725f88f16a9a686f39a75cbc307"                                 // the kubelet's records of crashloop-talos-cp-1
		oldCID = "3b9a183191846a68e41a4fe9fd3497bdaaa265b0bd8170e4f3e5a9a510e0c259" // its previous instance (lastState)
	)
	cg := "/kubepods/burstable/pod" + podUID + "/" + oldCID
	dmesg := strings.Join([]string{
		"kern:  notice: [2026-12-02T00:40:00.000000000Z]: Linux version 6.12.40-talos (@buildkitsandbox) #1 SMP",
		"user: warning: [2026-12-02T00:40:05.000000000Z]: [talos] service[kubelet](Running): Health check successful",
		"kern: warning: [2026-12-02T00:54:08.900000000Z]: app invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-997",
		"kern:    info: [2026-12-02T00:54:08.900100000Z]: memory: usage 32768kB, limit 32768kB, failcnt 12",
		"kern:    info: [2026-12-02T00:54:08.900200000Z]: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=" + cg + ",task_memcg=" + cg + ",task=app,pid=3133,uid=0",
		"kern:     err: [2026-12-02T00:54:08.900300000Z]: Memory cgroup out of memory: Killed process 3133 (app) total-vm:40212kB, anon-rss:32012kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:96kB oom_score_adj:-997",
		"kern: warning: [2026-12-02T00:54:20.000000000Z]: nf_conntrack: nf_conntrack: table full, dropping packet",
	}, "\n") + "\n"
	entries := append(fixtureEntries(t), zipEntry{name: "10.5.0.2/" + TalosDmesg, data: []byte(dmesg)})
	b, err := OpenTalos(writeZip(t, entries))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tn, err := b.TalosSnapshot(context.Background(), "10.5.0.2")
	if err != nil {
		t.Fatal(err)
	}
	k := tn.Snapshot.Kernel
	if k == nil || k.Error != "" || k.Source != "10.5.0.2/dmesg.log" || len(k.Events) != 2 || k.Stats.Lines != 7 {
		t.Fatalf("kernel log %+v", k)
	}
	for _, l := range tn.Limits {
		if strings.Contains(l, TalosDmesg) {
			t.Errorf("limit %q although the bundle has dmesg.log", l)
		}
	}
	rep := diagnose.Analyze(tn.Snapshot, diagnose.Options{})
	var oom, crash *diagnose.Finding
	for _, p := range rep.Pods {
		for i, f := range p.Findings {
			if p.Name != "crashloop" {
				if strings.HasPrefix(string(f.Kind), "Kernel") {
					t.Errorf("%s has %s", p.ID, f.Kind)
				}
				continue
			}
			switch f.Kind {
			case diagnose.KindKernelOOMKill:
				oom = &p.Findings[i]
			case diagnose.KindCrashLoop:
				crash = &p.Findings[i]
			}
		}
	}
	if oom == nil || crash == nil {
		t.Fatalf("crashloop: OOM kill %v, crash loop %v", oom, crash)
	}
	if oom.Container != "app" || oom.History || oom.Severity != diagnose.SeverityError || !strings.Contains(oom.Title, "32 MiB") ||
		oom.Evidence[0].Source != "kernel-log:10.5.0.2/dmesg.log:6" {
		t.Errorf("OOM finding %+v", oom)
	}
	if crash.Cause != diagnose.KindKernelOOMKill || !strings.Contains(crash.Title, "after the kernel's OOM killer killed a process of it") {
		t.Errorf("crash loop not explained by the kill: cause %q, title %q", crash.Cause, crash.Title)
	}
	var conntrack bool
	for _, f := range rep.Node.Findings {
		conntrack = conntrack || (f.Kind == diagnose.KindKernelNetworkError && f.Subject == "nf_conntrack")
	}
	if !conntrack {
		t.Errorf("no node-level KernelNetworkError for the conntrack table: %+v", rep.Node.Findings)
	}
}

// TestTalosDmesgGarbage: a dmesg.log that is no kernel log is a source error, the rest of the
// report stands.
func TestTalosDmesgGarbage(t *testing.T) {
	entries := append(fixtureEntries(t), zipEntry{name: "10.5.0.3/" + TalosDmesg, data: []byte("\x00\x01garbage\nmore garbage\n")})
	b, err := OpenTalos(writeZip(t, entries))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tn, err := b.TalosSnapshot(context.Background(), "10.5.0.3")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range tn.Snapshot.Errors {
		found = found || (e.Source == "kernel-log" && strings.Contains(e.Error, "10.5.0.3/dmesg.log") && strings.Contains(e.Error, "not a kernel log"))
	}
	if !found || tn.Snapshot.StaticPodURL == nil {
		t.Errorf("errors %+v, want a kernel-log error naming the file and the rest of the snapshot", tn.Snapshot.Errors)
	}
}
