package node

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/internal/kernlog"
)

// TestSnapshotRootKernelLog: a copied node's var/log/dmesg (util-linux dmesg output, as Debian
// and Ubuntu write it at boot) or, without it, rsyslog's var/log/kern.log is the snapshot's
// kernel log; an unreadable one is a source error; a live read or a copy without either has none.
func TestSnapshotRootKernelLog(t *testing.T) {
	oom := "[ 5120.000123] Memory cgroup out of memory: Killed process 4242 (app) total-vm:72000kB, anon-rss:65000kB, file-rss:200kB, shmem-rss:0kB, UID:0 pgtables:180kB oom_score_adj:-998\n"
	summary := "[ 5120.000100] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/burstable/pod" + webUID + "/" + crashID + ",task_memcg=/kubepods/burstable/pod" + webUID + "/" + crashID + ",task=app,pid=4242,uid=0\n"

	t.Run("dmesg", func(t *testing.T) {
		n := newFakeNode(t)
		write(t, filepath.Join(n.root, "var/log/dmesg"), "[    0.000000] Linux version 6.1.0-18-amd64\n"+summary+oom)
		write(t, filepath.Join(n.root, "var/log/kern.log"), "Dec  2 06:46:37 node1 kernel: [   12.500000] nf_conntrack: table full, dropping packet\n")
		s, err := NewLocal(LocalOptions{Root: n.root}).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		k := s.Kernel
		if k == nil || k.Source != filepath.Join(n.root, "var/log/dmesg") || k.Stats.Format != kernlog.FormatDmesg || len(k.Events) != 1 {
			t.Fatalf("kernel %+v", k)
		}
		if e := k.Events[0]; e.Kind != kernlog.KindOOMKill || e.PodUID != webUID || e.ContainerID != crashID || e.Line != 3 || !e.HasBoot {
			t.Errorf("event %+v", e)
		}
	})
	t.Run("kern.log", func(t *testing.T) {
		n := newFakeNode(t)
		write(t, filepath.Join(n.root, "var/log/kern.log"), "Dec  2 06:46:37 node1 kernel: [   12.500000] nf_conntrack: table full, dropping packet\n")
		s, err := NewLocal(LocalOptions{Root: n.root}).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Kernel == nil || len(s.Kernel.Events) != 1 || s.Kernel.Events[0].Kind != kernlog.KindNetworkTable {
			t.Fatalf("kernel %+v", s.Kernel)
		}
	})
	t.Run("--kernel-log wins; a missing one is an error", func(t *testing.T) {
		n := newFakeNode(t)
		write(t, filepath.Join(n.root, "var/log/dmesg"), summary+oom)
		other := filepath.Join(t.TempDir(), "kmsg.txt")
		write(t, other, "4,1234,12500000,-;nf_conntrack: nf_conntrack: table full, dropping packet\n")
		s, err := NewLocal(LocalOptions{Root: n.root, KernelLog: other}).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Kernel == nil || s.Kernel.Source != other || len(s.Kernel.Events) != 1 || s.Kernel.Stats.Format != kernlog.FormatKmsg {
			t.Fatalf("kernel %+v", s.Kernel)
		}
		s, err = NewLocal(LocalOptions{Root: n.root, KernelLog: other + ".gone"}).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Kernel == nil || !strings.Contains(s.Kernel.Error, "kmsg.txt.gone") {
			t.Fatalf("kernel %+v, want an error naming the missing file", s.Kernel)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		n := newFakeNode(t)
		write(t, filepath.Join(n.root, "var/log/dmesg"), "this is\nnot a kernel log\n")
		s, err := NewLocal(LocalOptions{Root: n.root}).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, e := range s.Errors {
			found = found || (e.Source == "kernel-log" && strings.Contains(e.Error, "var/log/dmesg"))
		}
		if !found || len(s.KubeletLog.Records) == 0 {
			t.Errorf("errors %+v: want a kernel-log error naming the file, the rest read", s.Errors)
		}
	})
	t.Run("none", func(t *testing.T) {
		n := newFakeNode(t)
		s, err := NewLocal(LocalOptions{Root: n.root}).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Kernel != nil {
			t.Errorf("kernel %+v from a copy without a kernel log", s.Kernel)
		}
	})
}

// TestReadKernelLogCap: the newest MaxKernelEvents events are kept and the cut is said.
func TestReadKernelLogCap(t *testing.T) {
	var b strings.Builder
	for range MaxKernelEvents + 5 {
		b.WriteString("[   12.500000] nf_conntrack: table full, dropping packet\n")
	}
	k := ReadKernelLog(context.Background(), strings.NewReader(b.String()), "dmesg")
	if len(k.Events) != MaxKernelEvents || !k.Truncated || k.Events[0].Line != 6 || k.Error != "" {
		t.Errorf("%d events, truncated %v, first line %d, err %q", len(k.Events), k.Truncated, k.Events[0].Line, k.Error)
	}
}
