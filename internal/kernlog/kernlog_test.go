package kernlog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	uid    = "5f3c2d7e9a1b4c6d8e0f1a2b3c4d5e6f"                                 // a static pod's UID (config hash)
	cid    = "3b1f0c9d2e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c" // a containerd container ID
	apiUID = "0c9b7a6e-1d2f-4e3a-9b8c-7d6e5f4a3b2c"                             // an API pod's UID
)

// OOM reports as each kernel generation prints them (mm/oom_kill.c, mm/memcontrol.c), with the
// kubelet's cgroup paths of each driver. Lines in between (call traces, Mem-Info, the task table)
// are the kernel's too and must not disturb the report.
var oomReports = []struct {
	name        string
	lines       []string
	wantProcess string
	wantPID     int
	wantMemcg   bool
	wantUID     string
	wantCID     string
	wantLimitKB int64
	wantService string
}{
	{
		name: "3.10 memcg, cgroupfs (Task in … killed as a result of limit of; Kill process … or sacrifice child)",
		lines: []string{
			"stress invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=-998",
			"stress cpuset=" + cid + " mems_allowed=0",
			"CPU: 1 PID: 4321 Comm: stress Not tainted 3.10.0-1160.el7.x86_64 #1",
			"Call Trace:",
			" [<ffffffff81781fba>] dump_stack+0x19/0x1b",
			"Task in /kubepods/burstable/pod" + uid + "/" + cid + " killed as a result of limit of /kubepods/burstable/pod" + uid + "/" + cid,
			"memory: usage 65536kB, limit 65536kB, failcnt 30",
			"memory+swap: usage 65536kB, limit 9007199254740988kB, failcnt 0",
			"[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
			"[ 4321]     0  4321    18000    16300      40        0          -998 stress",
			"Memory cgroup out of memory: Kill process 4321 (stress) score 1962 or sacrifice child",
			"Killed process 4321 (stress) total-vm:72000kB, anon-rss:65000kB, file-rss:200kB",
		},
		wantProcess: "stress", wantPID: 4321, wantMemcg: true, wantUID: uid, wantCID: cid, wantLimitKB: 65536,
	},
	{
		name: "4.15 memcg, systemd driver (shmem-rss, Task in)",
		lines: []string{
			"etcd invoked oom-killer: gfp_mask=0x14000c0(GFP_KERNEL), nodemask=(null), order=0, oom_score_adj=-997",
			"Task in /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(apiUID, "-", "_") + ".slice/cri-containerd-" + cid + ".scope killed as a result of limit of /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(apiUID, "-", "_") + ".slice",
			"memory: usage 524288kB, limit 524288kB, failcnt 1044",
			"Memory cgroup out of memory: Kill process 2345 (etcd) score 1998 or sacrifice child",
			"Killed process 2345 (etcd) total-vm:10932948kB, anon-rss:520112kB, file-rss:20404kB, shmem-rss:0kB",
			"oom_reaper: reaped process 2345 (etcd), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
		},
		wantProcess: "etcd", wantPID: 2345, wantMemcg: true, wantUID: apiUID, wantCID: cid, wantLimitKB: 524288,
	},
	{
		name: "5.4 memcg, cgroupfs (oom-kill summary with oom_memcg/task_memcg; UID:)",
		lines: []string{
			"kube-apiserver invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-997",
			"memory: usage 1048576kB, limit 1048576kB, failcnt 312",
			"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=" + cid + ",mems_allowed=0,oom_memcg=/kubepods/burstable/pod" + uid + "/" + cid + ",task_memcg=/kubepods/burstable/pod" + uid + "/" + cid + ",task=kube-apiserver,pid=3456,uid=0",
			"Memory cgroup out of memory: Killed process 3456 (kube-apiserver) total-vm:1432948kB, anon-rss:1040112kB, file-rss:60404kB, shmem-rss:0kB, UID:0",
		},
		wantProcess: "kube-apiserver", wantPID: 3456, wantMemcg: true, wantUID: uid, wantCID: cid, wantLimitKB: 1048576,
	},
	{
		name: "6.6 memcg, pod limit hit, cgroup v2 (pgtables, oom_score_adj; nodemask list with a comma)",
		lines: []string{
			"etcd invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-997",
			"CPU: 0 PID: 5678 Comm: etcd Not tainted 6.6.43-talos #1",
			"memory: usage 262144kB, limit 262144kB, failcnt 88",
			"swap: usage 0kB, limit 0kB, failcnt 0",
			"Memory cgroup stats for /kubepods/burstable/pod" + uid + ":",
			"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=0,2-3,cpuset=/,mems_allowed=0,oom_memcg=/kubepods/burstable/pod" + uid + ",task_memcg=/kubepods/burstable/pod" + uid + "/" + cid + ",task=etcd,pid=5678,uid=60",
			"Memory cgroup out of memory: Killed process 5678 (etcd) total-vm:11232948kB, anon-rss:258112kB, file-rss:0kB, shmem-rss:0kB, UID:60 pgtables:1204kB oom_score_adj:-997",
		},
		wantProcess: "etcd", wantPID: 5678, wantMemcg: true, wantUID: uid, wantCID: cid, wantLimitKB: 262144,
	},
	{
		name: "6.12 node out of memory (global_oom; the victim still named by its memcg)",
		lines: []string{
			"containerd invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=-999",
			"Mem-Info:",
			"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/kubepods/burstable/pod" + uid + "/" + cid + ",task=kube-controller,pid=7001,uid=0",
			"Out of memory: Killed process 7001 (kube-controller) total-vm:1832948kB, anon-rss:1640112kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:3400kB oom_score_adj:-997",
		},
		wantProcess: "kube-controller", wantPID: 7001, wantMemcg: false, wantUID: uid, wantCID: cid,
	},
	{
		name: "6.12 node out of memory, a Talos service",
		lines: []string{
			"apid invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=-998",
			"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/podruntime/kubelet,task=kubelet,pid=1900,uid=0",
			"Out of memory: Killed process 1900 (kubelet) total-vm:2832948kB, anon-rss:1240112kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:2400kB oom_score_adj:-999",
		},
		wantProcess: "kubelet", wantPID: 1900, wantService: "kubelet",
	},
	{
		// Captured from this machine's kernel (util-linux dmesg) under the real kubelet of
		// TestRootKubeletKernelOOM: containerd's own /k8s.io parent, cgroup v1.
		name: "6.18 memcg, containerd's /k8s.io/<id> (cgroupsPerQOS: false), as dmesg printed it",
		lines: []string{
			"[23597.505751] sh invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=999",
			"[23597.505900] CPU: 1 UID: 0 PID: 4474 Comm: sh Not tainted 6.18.44-fc-v857 #1 PREEMPT(none) ",
			"[23597.505962] Call Trace:",
			"[23597.506285]  <TASK>",
			"[23597.506304]  dump_stack_lvl+0x59/0x90",
			"[23597.507028]  dump_header+0x43/0x1c0",
			"[23597.507103]  oom_kill_process.cold+0x8/0x8a",
			"[23597.508822] memory: usage 24576kB, limit 24576kB, failcnt 0",
			"[23597.508828] Memory cgroup stats for /k8s.io/24a9cd288ce73751712f8a8a7d4559460f8c1a61589c832bf7e3b0a22bb7d423:",
			"[23597.509762] Tasks state (memory values in pages):",
			"[23597.509767] [   4474]     0  4474    10809     6455     6059      396         0    94208        0           999 sh",
			"[23597.509771] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=24a9cd288ce73751712f8a8a7d4559460f8c1a61589c832bf7e3b0a22bb7d423,mems_allowed=0,oom_memcg=/k8s.io/24a9cd288ce73751712f8a8a7d4559460f8c1a61589c832bf7e3b0a22bb7d423,task_memcg=/k8s.io/24a9cd288ce73751712f8a8a7d4559460f8c1a61589c832bf7e3b0a22bb7d423,task=sh,pid=4474,uid=0",
			"[23597.510095] Memory cgroup out of memory: Killed process 4474 (sh) total-vm:43236kB, anon-rss:24236kB, file-rss:1584kB, shmem-rss:0kB, UID:0 pgtables:92kB oom_score_adj:999",
		},
		wantProcess: "sh", wantPID: 4474, wantMemcg: true, wantCID: "24a9cd288ce73751712f8a8a7d4559460f8c1a61589c832bf7e3b0a22bb7d423", wantLimitKB: 24576,
	},
	{
		name:        "2.6.32 (RHEL 6) kill line without a report",
		lines:       []string{"Killed process 215701, UID 679, (java) total-vm:11017300kB, anon-rss:7152432kB, file-rss:1232kB"},
		wantProcess: "java", wantPID: 215701,
	},
}

func TestOOMReports(t *testing.T) {
	for _, tc := range oomReports {
		t.Run(tc.name, func(t *testing.T) {
			var p Parser
			var got []Event
			for i, s := range tc.lines {
				l := Line{Text: s}
				if pl, ok := Parse(s); ok {
					l = pl // a sample as dmesg printed it
				}
				if ev, ok := p.Line(i+1, l); ok {
					got = append(got, ev)
				}
			}
			if len(got) != 1 {
				t.Fatalf("%d events, want 1: %+v", len(got), got)
			}
			ev := got[0]
			if ev.Kind != KindOOMKill || ev.Process != tc.wantProcess || ev.PID != tc.wantPID || ev.Memcg != tc.wantMemcg {
				t.Errorf("event %s %q pid %d memcg %v, want oom-kill %q pid %d memcg %v", ev.Kind, ev.Process, ev.PID, ev.Memcg, tc.wantProcess, tc.wantPID, tc.wantMemcg)
			}
			if ev.PodUID != tc.wantUID || ev.ContainerID != tc.wantCID || ev.Service != tc.wantService {
				t.Errorf("attributed to pod %q container %q service %q, want %q %q %q (cgroup %q)", ev.PodUID, ev.ContainerID, ev.Service, tc.wantUID, tc.wantCID, tc.wantService, ev.Cgroup)
			}
			if ev.LimitKB != tc.wantLimitKB {
				t.Errorf("limit %d kB, want %d", ev.LimitKB, tc.wantLimitKB)
			}
			if ev.Line != len(tc.lines) && !strings.Contains(tc.lines[ev.Line-1], "Killed process") {
				t.Errorf("event at line %d (%q), want the kill line", ev.Line, tc.lines[ev.Line-1])
			}
			if ev.AnonRSSKB == 0 {
				t.Errorf("anon-rss not read from %q", ev.Text)
			}
		})
	}
}

// TestOOMReportOfAnotherVictim: a summary naming another pid does not lend its cgroup to a kill.
func TestOOMReportOfAnotherVictim(t *testing.T) {
	var p Parser
	p.Line(1, Line{Text: "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod" + uid + ",task_memcg=/kubepods/pod" + uid + "/" + cid + ",task=a,pid=10,uid=0"})
	ev, ok := p.Line(2, Line{Text: "Memory cgroup out of memory: Killed process 11 (b) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0"})
	if !ok || ev.PodUID != "" || ev.ContainerID != "" || !ev.Memcg {
		t.Fatalf("got %+v (ok %v), want an unattributed memcg kill", ev, ok)
	}
}

func TestOtherEvents(t *testing.T) {
	for _, tc := range []struct {
		line                string
		kind                Kind
		process, subj, what string
		pid                 int
	}{
		// arch/x86/mm/fault.c, 4.x–6.0 and 6.1+ (likely on CPU …)
		{line: "kube-scheduler[2211]: segfault at 0 ip 000000000046b3c1 sp 000000c000147e58 error 4 in kube-scheduler[400000+1a5e000]", kind: KindSegfault, process: "kube-scheduler", pid: 2211, what: "segfault"},
		{line: "etcd[812]: segfault at 18 ip 00007f3a8c1b2e10 sp 00007ffd2a4b8c40 error 4 in libc.so.6[7f3a8c080000+195000] likely on CPU 3 (core 3, socket 0)", kind: KindSegfault, process: "etcd", pid: 812, what: "segfault"},
		// arch/x86/kernel/traps.c (pr_fmt "traps: ")
		{line: "traps: app[4242] general protection fault ip:7f1e2a3b4c5d sp:7ffc1d2e3f40 error:0 in libfoo.so[7f1e2a300000+20000]", kind: KindSegfault, process: "app", pid: 4242, what: "general protection fault"},
		{line: "traps: my worker[77] trap invalid opcode ip:55d0c1a2b3c4 sp:7ffe01020304 error:0 in app[55d0c1a00000+300000]", kind: KindSegfault, process: "my worker", pid: 77, what: "invalid opcode"},
		// arm64: arch/arm64/kernel/traps.c arm64_show_signal (5.x–), arch/arm64/mm/fault.c (4.x)
		{line: "kube-apiserver[3021]: unhandled exception: EL0 PC alignment exception, ESR 0x8a000000, in kube-apiserver[400000+2e5a000]", kind: KindSegfault, process: "kube-apiserver", pid: 3021, what: "unhandled exception"},
		{line: "etcd[812]: unhandled level 2 translation fault (11) at 0x00000018, esr 0x92000006", kind: KindSegfault, process: "etcd", pid: 812, what: "unhandled exception"},
		// kernel/hung_task.c
		{line: "INFO: task etcd:1234 blocked for more than 120 seconds.", kind: KindHungTask, process: "etcd", pid: 1234, what: "blocked for more than 120 seconds"},
		{line: "INFO: task jbd2/sda1-8:301 blocked for more than 245 seconds.", kind: KindHungTask, process: "jbd2/sda1-8", pid: 301, what: "blocked for more than 245 seconds"},
		// block/blk-core.c: 4.x, 5.x, 6.x
		{line: "blk_update_request: I/O error, dev sda, sector 12345", kind: KindDiskError, subj: "sda", what: "I/O error"},
		{line: "blk_update_request: I/O error, dev nvme0n1, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0", kind: KindDiskError, subj: "nvme0n1", what: "I/O error"},
		{line: "I/O error, dev vda, sector 4196352 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2", kind: KindDiskError, subj: "vda", what: "I/O error"},
		{line: "critical medium error, dev sdb, sector 9000 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 0", kind: KindDiskError, subj: "sdb", what: "critical medium error"},
		// fs/buffer.c, fs/ext4, jbd2, xfs, nvme
		{line: "Buffer I/O error on dev sda1, logical block 0, lost async page write", kind: KindDiskError, subj: "sda1", what: "buffer I/O error"},
		{line: "Buffer I/O error on device sda1, logical block 1234", kind: KindDiskError, subj: "sda1", what: "buffer I/O error"},
		{line: "EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm etcd: reading directory lblock 0", kind: KindDiskError, subj: "sda1", what: "ext4 error"},
		{line: "EXT4-fs (sda1): Remounting filesystem read-only", kind: KindDiskError, subj: "sda1", what: "remounted read-only"},
		{line: "Aborting journal on device sda1-8.", kind: KindDiskError, subj: "sda1", what: "journal aborted"},
		{line: "XFS (nvme0n1p6): metadata I/O error in \"xfs_buf_ioend+0x1a0/0x4e0\" at daddr 0x1f400 len 8 error 5", kind: KindDiskError, subj: "nvme0n1p6", what: "xfs error"},
		{line: "XFS (sda4): Corruption of in-memory data (0x8) detected at xfs_trans_cancel+0x1f3/0x240 (fs/xfs/xfs_trans.c:1104).  Shutting down filesystem.", kind: KindDiskError, subj: "sda4", what: "filesystem shut down"},
		{line: "nvme nvme0: I/O 123 QID 4 timeout, aborting", kind: KindDiskError, subj: "nvme0", what: "I/O timeout"},
		// net/netfilter/nf_conntrack_core.c (old and pr_fmt'd), net/core/neighbour.c, net/sched/sch_generic.c
		{line: "nf_conntrack: table full, dropping packet", kind: KindNetworkTable, subj: "nf_conntrack", what: "table full, dropping packets"},
		{line: "nf_conntrack: nf_conntrack: table full, dropping packet", kind: KindNetworkTable, subj: "nf_conntrack", what: "table full, dropping packets"},
		{line: "neighbour: arp_cache: neighbor table overflow!", kind: KindNetworkTable, subj: "arp_cache", what: "neighbour table overflow"},
		{line: "NETDEV WATCHDOG: eth0 (ixgbe): transmit queue 3 timed out", kind: KindNetworkTable, subj: "eth0", what: "transmit queue timed out"},
		{line: "virtio_net virtio1 eth0: NETDEV WATCHDOG: CPU: 2: transmit queue 0 timed out 5120 ms", kind: KindNetworkTable, subj: "eth0", what: "transmit queue timed out"},
	} {
		var p Parser
		ev, ok := p.Line(7, Line{Text: tc.line})
		if !ok || ev.Kind != tc.kind || ev.Process != tc.process || ev.PID != tc.pid || ev.Subject != tc.subj || ev.What != tc.what || ev.Line != 7 {
			t.Errorf("%q:\n got %s process %q pid %d subject %q what %q (ok %v)\nwant %s process %q pid %d subject %q what %q",
				tc.line, ev.Kind, ev.Process, ev.PID, ev.Subject, ev.What, ok, tc.kind, tc.process, tc.pid, tc.subj, tc.what)
		}
	}
}

// TestQuietLines: kernel lines that look alike but are no event (this machine's own boot log
// among them).
func TestQuietLines(t *testing.T) {
	for _, s := range []string{
		"Speculative Return Stack Overflow: IBPB-extending microcode not applied!",
		"oom_control is deprecated and will be removed. Please report your usecase to linux-mm-@kvack.org if you depend on this functionality.",
		"Memory cgroup out of memory: Kill process 4321 (stress) score 1962 or sacrifice child",
		"oom_reaper: reaped process 2345 (etcd), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
		"EXT4-fs (sda1): mounted filesystem with ordered data mode. Opts: (null)",
		"nf_conntrack: default automatic helper assignment has been turned off for security reasons",
		"eth0: Link is Up - 10Gbps/Full - flow control rx/tx",
		"ata1.00: error: { UNC }",
		"traps: probe reached trap handler",
		"[talos] task startAllServices (1/1): done",
	} {
		var p Parser
		if ev, ok := p.Line(1, Line{Text: s}); ok {
			t.Errorf("%q: event %+v, want none", s, ev)
		}
	}
	// Userspace writes to the kernel log (Talos's machined does) are not the kernel's word.
	var p Parser
	if ev, ok := p.Line(1, Line{Facility: "user", Text: "app[1]: segfault at 0 ip 0 sp 0 error 4"}); ok {
		t.Errorf("a user-facility record became %+v", ev)
	}
}

func TestParseFormats(t *testing.T) {
	ts := time.Date(2026, 12, 2, 6, 46, 37, 123456789, time.UTC)
	for _, tc := range []struct {
		in        string
		format    Format
		ts        time.Time
		boot      time.Duration
		fac, prio string
		text      string
	}{
		// siderolabs/talos v1alpha1_server.go Dmesg: "%s: %7s: [%s]: %s"
		{in: "kern:     err: [2026-12-02T06:46:37.123456789Z]: Out of memory: Killed process 1 (x)", format: FormatTalos, ts: ts, fac: "kern", prio: "err", text: "Out of memory: Killed process 1 (x)"},
		{in: "kern: warning: [2026-12-02T06:46:37.123456789Z]: etcd invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-997", format: FormatTalos, ts: ts, fac: "kern", prio: "warning", text: "etcd invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-997"},
		{in: "user: warning: [2026-12-02T06:46:37.123456789Z]: [talos] service[kubelet](Running): Health check successful", format: FormatTalos, ts: ts, fac: "user", prio: "warning", text: "[talos] service[kubelet](Running): Health check successful"},
		{in: "10.5.0.2: kern:    info: [2026-12-02T06:46:37.123456789Z]: eth0: Link is Up", format: FormatTalos, ts: ts, fac: "kern", prio: "info", text: "eth0: Link is Up"},
		{in: "[20387.895785] spdocb59c5089: port 1(veth099d3396) entered forwarding state", format: FormatDmesg, boot: 20387895785 * time.Microsecond, text: "spdocb59c5089: port 1(veth099d3396) entered forwarding state"},
		{in: "[    0.258489] Speculative Return Stack Overflow: x", format: FormatDmesg, boot: 258489 * time.Microsecond, text: "Speculative Return Stack Overflow: x"},
		{in: "[Wed Dec  2 06:46:37 2026] eth0: Link is Up", format: FormatCtime, ts: ts.Truncate(time.Second), text: "eth0: Link is Up"},
		{in: "2026-12-02T06:46:37,123456+00:00 eth0: Link is Up", format: FormatISO, ts: ts.Truncate(time.Microsecond), text: "eth0: Link is Up"},
		{in: "kern  :err   : [   12.500000] EXT4-fs (sda1): Remounting filesystem read-only", format: FormatDecode, boot: 12500 * time.Millisecond, fac: "kern", prio: "err", text: "EXT4-fs (sda1): Remounting filesystem read-only"},
		{in: `3,1234,12500000,-;NET: family \x41 \\ ok`, format: FormatKmsg, boot: 12500 * time.Millisecond, fac: "kern", prio: "err", text: `NET: family A \ ok`},
		{in: "6,378,5140900,-,caller=T148;ata1: SATA max UDMA/133", format: FormatKmsg, boot: 5140900 * time.Microsecond, fac: "kern", prio: "info", text: "ata1: SATA max UDMA/133"},
		{in: "Dec  2 06:46:37 node1 kernel: [   12.500000] nf_conntrack: table full, dropping packet", format: FormatSyslog, boot: 12500 * time.Millisecond, fac: "kern", text: "nf_conntrack: table full, dropping packet"},
		// journalctl -k -o short-precise, short-iso, short-iso-precise
		{in: "Dec 02 06:46:37.123456 node1 kernel: nf_conntrack: table full, dropping packet", format: FormatSyslog, fac: "kern", text: "nf_conntrack: table full, dropping packet"},
		{in: "2026-12-02T06:46:37+0000 node1 kernel: EXT4-fs (sda1): Remounting filesystem read-only", format: FormatISO, ts: ts.Truncate(time.Second), fac: "kern", text: "EXT4-fs (sda1): Remounting filesystem read-only"},
		{in: "2026-12-02T06:46:37.123456+00:00 node1 kernel: eth0: Link is Up", format: FormatISO, ts: ts.Truncate(time.Microsecond), fac: "kern", text: "eth0: Link is Up"},
		{in: "2026-12-02T06:46:37+0000 node1 containerd[812]: app[1]: segfault at 0", format: FormatISO, ts: ts.Truncate(time.Second), fac: "user", text: "app[1]: segfault at 0"},
	} {
		l, ok := Parse(tc.in)
		if !ok || l.Format != tc.format || !l.TS.Equal(tc.ts) || l.SinceBoot != tc.boot || l.Facility != tc.fac || l.Priority != tc.prio || l.Text != tc.text {
			t.Errorf("%q:\n got %+v (ok %v)\nwant format %s ts %v boot %v %s/%s %q", tc.in, l, ok, tc.format, tc.ts, tc.boot, tc.fac, tc.prio, tc.text)
		}
		if tc.boot != 0 && !l.HasBoot {
			t.Errorf("%q: HasBoot not set", tc.in)
		}
	}
	for _, s := range []string{"", " SUBSYSTEM=acpi", "-- Boot 0c9b7a6e1d2f4e3a9b8c7d6e5f4a3b2c --", "-- No entries --", " DEVICE=+acpi:PNP0A03:00", "hello world", "[not a time] x", "kern: nope: [x]: y", "1,2;x"} {
		if l, ok := Parse(s); ok {
			t.Errorf("%q parsed as %+v", s, l)
		}
	}
}

// TestScanTalosDmesg reads a dmesg.log as talosctl support writes it: Talos's own records, a
// record with /dev/kmsg dictionary lines after it, and an OOM report of a static pod's container.
func TestScanTalosDmesg(t *testing.T) {
	log := strings.Join([]string{
		"kern:  notice: [2026-12-02T06:40:00.000000000Z]: Linux version 6.12.40-talos (@buildkitsandbox) #1 SMP",
		"user: warning: [2026-12-02T06:40:05.000000000Z]: [talos] task startAllServices (1/1): done, 1.2s",
		"kern:    info: [2026-12-02T06:40:06.000000000Z]: pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7] (ignored)",
		" SUBSYSTEM=acpi",
		" DEVICE=+acpi:PNP0A03:00",
		"kern: warning: [2026-12-02T06:45:00.100000000Z]: etcd invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-997",
		"kern:    info: [2026-12-02T06:45:00.100100000Z]: memory: usage 262144kB, limit 262144kB, failcnt 88",
		"kern:    info: [2026-12-02T06:45:00.100200000Z]: oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/burstable/pod" + uid + "/" + cid + ",task_memcg=/kubepods/burstable/pod" + uid + "/" + cid + ",task=etcd,pid=5678,uid=60",
		"kern:     err: [2026-12-02T06:45:00.100300000Z]: Memory cgroup out of memory: Killed process 5678 (etcd) total-vm:11232948kB, anon-rss:258112kB, file-rss:0kB, shmem-rss:0kB, UID:60 pgtables:1204kB oom_score_adj:-997",
		"kern:    warn: this line is cut",
		"kern:     err: [2026-12-02T06:46:00.000000000Z]: nf_conntrack: nf_conntrack: table full, dropping packet",
	}, "\n") + "\n"
	var evs []Event
	st, err := Scan(context.Background(), strings.NewReader(log), "dmesg.log", func(e Event) error { evs = append(evs, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if st.Lines != 11 || st.Records != 8 || st.Format != FormatTalos {
		t.Errorf("stats %+v, want 11 lines, 8 records, talos", st)
	}
	if want := time.Date(2026, 12, 2, 6, 46, 0, 0, time.UTC); !st.Last.Equal(want) {
		t.Errorf("last %v, want %v", st.Last, want)
	}
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2: %+v", len(evs), evs)
	}
	oom := evs[0]
	if oom.Kind != KindOOMKill || oom.Line != 9 || oom.PodUID != uid || oom.ContainerID != cid || !oom.Memcg || oom.LimitKB != 262144 ||
		len(oom.Context) != 3 || oom.Context[0].Line != 6 || oom.Context[2].Line != 8 || !strings.HasPrefix(oom.Context[2].Text, "oom-kill:") {
		t.Errorf("oom event %+v", oom)
	}
	if want := time.Date(2026, 12, 2, 6, 45, 0, 100300000, time.UTC); !oom.TS.Equal(want) {
		t.Errorf("oom at %v, want %v", oom.TS, want)
	}
	if evs[1].Kind != KindNetworkTable || evs[1].Line != 11 {
		t.Errorf("second event %+v", evs[1])
	}
}

// TestScanBooted: records with only their time since boot get the wall time from the boot time.
func TestScanBooted(t *testing.T) {
	boot := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var ev Event
	st, err := ScanBooted(context.Background(), strings.NewReader("4,1,12500000,-;nf_conntrack: table full, dropping packet\n"), "/dev/kmsg", boot, func(e Event) error { ev = e; return nil })
	if want := boot.Add(12500 * time.Millisecond); err != nil || !ev.TS.Equal(want) || !st.Last.Equal(want) || !ev.HasBoot {
		t.Errorf("event at %v (stats last %v, err %v), want %v", ev.TS, st.Last, err, want)
	}
}

func TestScanErrors(t *testing.T) {
	_, err := Scan(context.Background(), strings.NewReader("not\na kernel\nlog\n"), "x.log", func(Event) error { return nil })
	if !errors.Is(err, ErrNotKernelLog) || !strings.Contains(err.Error(), "x.log") {
		t.Errorf("err %v, want ErrNotKernelLog naming x.log", err)
	}
	if _, err := Scan(context.Background(), strings.NewReader(""), "empty", func(Event) error { return nil }); err != nil {
		t.Errorf("empty log: %v", err)
	}
	// A line longer than MaxLine is cut, counted, and the next line still read.
	long := "[    1.000000] " + strings.Repeat("x", MaxLine+10) + "\n[    2.000000] nf_conntrack: table full, dropping packet\n"
	n := 0
	st, err := Scan(context.Background(), strings.NewReader(long), "long", func(Event) error { n++; return nil })
	if err != nil || st.Long != 1 || st.Lines != 2 || n != 1 {
		t.Errorf("long line: stats %+v, %d events, err %v", st, n, err)
	}
	stop := errors.New("stop")
	if _, err := Scan(context.Background(), strings.NewReader(long), "long", func(Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error not returned: %v", err)
	}
}

func TestFromCgroup(t *testing.T) {
	for _, tc := range []struct{ path, uid, cid, svc string }{
		{"/kubepods/burstable/pod" + uid + "/" + cid, uid, cid, ""},
		{"/kubepods/pod" + uid + "/" + cid, uid, cid, ""},
		{"/kubepods/besteffort/pod" + apiUID, apiUID, "", ""},
		{"/kubepods.slice/kubepods-pod" + strings.ReplaceAll(apiUID, "-", "_") + ".slice/cri-containerd-" + cid + ".scope", apiUID, cid, ""},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uid + ".slice/crio-" + cid + ".scope", uid, cid, ""},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid + ".slice/docker-" + cid + ".scope", uid, cid, ""},
		{"/system/etcd", "", "", "etcd"},
		{"/podruntime/kubelet", "", "", "kubelet"},
		{"/user.slice/user-1000.slice/session-2.scope", "", "", ""},
		{"/docker/" + cid, "", cid, ""},
		{"/k8s.io/" + cid, "", cid, ""}, // containerd's parent under a kubelet with cgroupsPerQOS: false
		{"/system.slice/docker-" + cid + ".scope", "", cid, ""},
		{"/k8s.io/abcdef012345", "", "", ""},
		{"/user.slice/user-1000.slice/" + strings.Repeat("g", 64), "", "", ""},
		{"/kubepods/burstable/podnot-a-uid/" + cid, "", "", ""},
		{"/", "", "", ""},
		{"", "", "", ""},
	} {
		u, c, s := FromCgroup(tc.path)
		if u != tc.uid || c != tc.cid || s != tc.svc {
			t.Errorf("%q: %q %q %q, want %q %q %q", tc.path, u, c, s, tc.uid, tc.cid, tc.svc)
		}
	}
}

// FuzzScan: any input is read without a panic, every event names a line that exists, and an
// attributed event's IDs are what FromCgroup reads from its own cgroup.
func FuzzScan(f *testing.F) {
	for _, r := range oomReports {
		f.Add(strings.Join(r.lines, "\n"))
	}
	f.Add("kern:     err: [2026-12-02T06:46:37.123456789Z]: etcd[1]: segfault at 0 ip 0 sp 0 error 4\n")
	f.Add("3,1,1,-;INFO: task a:1 blocked for more than 1 seconds.\n SUBSYSTEM=x\n")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := Scan(context.Background(), strings.NewReader(s), "fuzz", func(e Event) error {
			if e.Line < 1 || e.Kind == "" {
				t.Fatalf("event %+v", e)
			}
			if u, c, _ := FromCgroup(e.Cgroup); e.Kind == KindOOMKill && (u != e.PodUID || c != e.ContainerID) {
				t.Fatalf("event %+v: cgroup gives %q %q", e, u, c)
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotKernelLog) {
			t.Fatalf("scan: %v", err)
		}
		if st.Records > st.Lines {
			t.Fatalf("stats %+v", st)
		}
	})
}
