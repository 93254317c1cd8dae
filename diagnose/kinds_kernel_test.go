package diagnose

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/node"
)

// kernel gives the snapshot a kernel log: lines as talosctl support writes dmesg.log at the
// time t0+sec, read through the real parser; later calls append to the log.
func (f *fixture) kernel(sec float64, lines ...string) *fixture {
	ts := t0.Add(time.Duration(sec * float64(time.Second))).Format(time.RFC3339Nano)
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "kern: %7s: [%s]: %s\n", "err", ts, l)
	}
	k := node.ReadKernelLog(context.Background(), strings.NewReader(b.String()), "10.5.0.2/dmesg.log")
	if k.Error != "" {
		f.t.Fatalf("kernel log: %s", k.Error)
	}
	if prev := f.s.Kernel; prev != nil {
		for _, e := range k.Events {
			e.Line += prev.Stats.Lines
			for i := range e.Context {
				e.Context[i].Line += prev.Stats.Lines
			}
			prev.Events = append(prev.Events, e)
		}
		prev.Stats.Lines += k.Stats.Lines
		return f
	}
	f.s.Kernel = k
	return f
}

// memcgOOM is a 6.x memory cgroup OOM report of the container cid of pod uid (mm/oom_kill.c).
func memcgOOM(uid, cid, comm string, pid int, limitKB int) []string {
	cg := "/kubepods/burstable/pod" + uid + "/" + cid
	return []string{
		fmt.Sprintf("%s invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=-997", comm),
		fmt.Sprintf("memory: usage %dkB, limit %dkB, failcnt 88", limitKB, limitKB),
		fmt.Sprintf("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=%s,task_memcg=%s,task=%s,pid=%d,uid=0", cg, cg, comm, pid),
		fmt.Sprintf("Memory cgroup out of memory: Killed process %d (%s) total-vm:1232948kB, anon-rss:%dkB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1204kB oom_score_adj:-997", pid, comm, limitKB-100),
	}
}

func TestKernelRules(t *testing.T) {
	const otherUID = "0c9b7a6e-1d2f-4e3a-9b8c-7d6e5f4a3b2c"
	crashLoop := errSync(`"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 40s restarting failed container=app pod=web-node1_default(` + uidWeb + `)\""`)
	cases := []struct {
		name     string
		build    func(f *fixture)
		want     map[string][]string
		problems bool
		check    func(t *testing.T, r *Report)
	}{
		{
			name: "a memory cgroup OOM kill of the container explains its crash loop",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_EXITED", 3, 137, "Error", 100).
					log(101, crashLoop).
					kernel(100.5, memcgOOM(uidWeb, cidWeb, "app", 4242, 262144)...)
			},
			want:     map[string][]string{"pod:default-web": {"KernelOOMKill", "CrashLoop/cause=KernelOOMKill"}, "state:default-web": {"CrashLoop"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				k, c := r.Pods[0].Findings[0], r.Pods[0].Findings[1]
				if k.Container != "app" || k.Severity != SeverityError || !strings.Contains(k.Title, "256 MiB") || !strings.Contains(k.Title, "pid 4242") {
					t.Errorf("KernelOOMKill %+v", k)
				}
				if len(k.Evidence) != 3 || k.Evidence[0].Source != "kernel-log:10.5.0.2/dmesg.log:4" || !strings.Contains(k.Evidence[0].Line, "Killed process 4242") ||
					k.Evidence[1].Source != "kernel-log:10.5.0.2/dmesg.log:2" || !strings.HasPrefix(k.Evidence[1].Line, "memory: usage") ||
					k.Evidence[2].Source != "kernel-log:10.5.0.2/dmesg.log:3" || !strings.HasPrefix(k.Evidence[2].Line, "oom-kill:") {
					t.Errorf("evidence %+v, want the kill, the usage and the summary, each with its line", k.Evidence)
				}
				if !strings.Contains(c.Title, "OOM killer") || !strings.Contains(c.Title, "exit code 137") {
					t.Errorf("crash loop title %q does not say the kernel killed it", c.Title)
				}
			},
		},
		{
			name: "the runtime's OOMKilled folds under the kernel's report, found by pod UID",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_EXITED", 1, 137, "OOMKilled", 100).
					kernel(100.5, memcgOOM(uidWeb, cidWeb0, "app", 4242, 65536)...) // an instance the runtime no longer lists
			},
			want:     map[string][]string{"pod:default-web": {"KernelOOMKill", "OOMKilled/cause=KernelOOMKill"}, "state:default-web": {"CrashLoop"}},
			problems: true,
		},
		{
			name: "a segfault put on the container by its process name explains the crash loop",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_EXITED", 3, 139, "Error", 100).
					log(101, crashLoop).
					kernel(100.2, "app[812]: segfault at 18 ip 00007f3a8c1b2e10 sp 00007ffd2a4b8c40 error 4 in libc.so.6[7f3a8c080000+195000] likely on CPU 3 (core 3, socket 0)")
			},
			want:     map[string][]string{"pod:default-web": {"KernelSegfault", "CrashLoop/cause=KernelSegfault"}, "state:default-web": {"CrashLoop"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				if k := r.Pods[0].Findings[0]; !strings.Contains(k.Detail, "process name") {
					t.Errorf("a name match must say so: %q", k.Detail)
				}
			},
		},
		{
			name: "an OOM kill long before a stable run is history and explains nothing",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 1, 0, "", 60).
					kernel(20, memcgOOM(uidWeb, cidWeb0, "app", 4242, 65536)...)
			},
			want: map[string][]string{"pod:default-web": {"KernelOOMKill/history", "ContainerRestarted/history"}, "state:default-web": {"Running"}},
		},
		{
			name: "another pod's OOM kill and a node-wide one of a Talos service are node context",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					kernel(300, append(memcgOOM(otherUID, cidWeb0, "app", 77, 65536),
						"oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=/podruntime/kubelet,task=kubelet,pid=1900,uid=0",
						"Out of memory: Killed process 1900 (kubelet) total-vm:2832948kB, anon-rss:1240112kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:2400kB oom_score_adj:-999")...)
			},
			want:     map[string][]string{"node": {"KernelOOMKill", "KernelOOMKill"}, "state:default-web": {"Running"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				var subjects []string
				for _, f := range r.Node.Findings {
					subjects = append(subjects, f.Subject)
					if f.Severity != SeverityWarning {
						t.Errorf("%s about %q: severity %s, want warning", f.Kind, f.Subject, f.Severity)
					}
				}
				if !reflect.DeepEqual(subjects, []string{"app (pod uid " + otherUID + ")", "kubelet (Talos service kubelet)"}) &&
					!reflect.DeepEqual(subjects, []string{"kubelet (Talos service kubelet)", "app (pod uid " + otherUID + ")"}) {
					t.Errorf("subjects %q", subjects)
				}
			},
		},
		{
			name: "disk errors and a full conntrack table are the node's; repeats are counted",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					kernel(590, "blk_update_request: I/O error, dev sda, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0",
						"blk_update_request: I/O error, dev sda, sector 4096 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0",
						"nf_conntrack: nf_conntrack: table full, dropping packet")
			},
			want:     map[string][]string{"node": {"KernelDiskError", "KernelNetworkError"}, "state:default-web": {"Running"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				d := r.Node.Findings[0]
				if d.Subject != "sda" || len(d.Evidence) != 1 || d.Evidence[0].Count != 2 || !strings.Contains(d.Title, "I/O error on sda (2 times)") {
					t.Errorf("disk finding %+v", d)
				}
			},
		},
		{
			name: "a node-level report the kernel stopped making an hour before is history",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					kernel(-7200, "nf_conntrack: table full, dropping packet")
			},
			want: map[string][]string{"node": {"KernelNetworkError/history"}, "state:default-web": {"Running"}},
		},
		{
			name: "containerd's /k8s.io/<id> cgroup: a known container by its ID, an unknown one by name only while the kubelet logged",
			build: func(f *fixture) {
				f.s.KubeletLog.Stats.First = t0
				k8s := func(cid string, pid int) []string {
					cg := "/k8s.io/" + cid
					return []string{
						"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=" + cid + ",mems_allowed=0,oom_memcg=" + cg + ",task_memcg=" + cg + fmt.Sprintf(",task=app,pid=%d,uid=0", pid),
						fmt.Sprintf("Memory cgroup out of memory: Killed process %d (app) total-vm:43236kB, anon-rss:24236kB, file-rss:1584kB, shmem-rss:0kB, UID:0 pgtables:92kB oom_score_adj:999", pid),
					}
				}
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 595).
					kernel(-7200, k8s(cidWeb0, 10)...). // before this kubelet's log: anyone's
					kernel(500, k8s(cidWeb0, 11)...).   // an instance the runtime forgot, by name
					kernel(590, k8s(cidWeb, 12)...)     // by its ID
			},
			want:     map[string][]string{"node": {"KernelOOMKill/history"}, "pod:default-web": {"KernelOOMKill"}, "state:default-web": {"Running"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				k := r.Pods[0].Findings[0]
				if !strings.Contains(k.Title, "2 times") || !strings.Contains(k.Detail, "which is this static pod's") || k.Container != "app" {
					t.Errorf("pod finding %+v", k)
				}
			},
		},
		{
			name: "an instance the runtime removed is the pod's by the kubelet's PLEG record of it",
			build: func(f *fixture) {
				cg := "/k8s.io/" + cidWeb0
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 1, 0, "", 595).
					log(499, `{"ts":%T,"caller":"pleg/generic.go:356","msg":"Generic (PLEG): container finished","v":2,"podID":"`+uidWeb+`","containerID":"`+cidWeb0+`","exitCode":137}`).
					// the process is no container's name: only the cgroup, through the kubelet's record, names the pod
					kernel(498, "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset="+cidWeb0+",mems_allowed=0,oom_memcg="+cg+",task_memcg="+cg+",task=worker,pid=21,uid=0",
						"Memory cgroup out of memory: Killed process 21 (worker) total-vm:43236kB, anon-rss:24236kB, file-rss:1584kB, shmem-rss:0kB, UID:0 pgtables:92kB oom_score_adj:999")
			},
			want:     map[string][]string{"pod:default-web": {"KernelOOMKill", "ContainerRestarted/cause=KernelOOMKill"}, "state:default-web": {"Running"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				k := r.Pods[0].Findings[0]
				if !strings.Contains(k.Detail, "which is this static pod's") || k.Container != "app" {
					t.Errorf("pod finding %+v", k)
				}
			},
		},
		{
			name: "a process name two pods share is put on neither",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).manifest("web2.yaml", strings.Replace(webYAML, "name: web\n", "name: web2\n", 1)).
					kernel(300, "INFO: task app:1234 blocked for more than 120 seconds.")
			},
			want:     map[string][]string{"node": {"KernelHungTask"}, "state:default-web": {"Unknown"}, "state:default-web2": {"Unknown"}},
			problems: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.build(f)
			r := Analyze(f.s, Options{})
			if got := outline(r); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("findings:\n got %s\nwant %s", fmtOutline(got), fmtOutline(tc.want))
			}
			if p := r.Problems(); p != tc.problems {
				t.Errorf("Problems() = %v, want %v", p, tc.problems)
			}
			for _, fd := range r.Node.Findings {
				if fd.Title == "" || fd.Detail == "" || fd.Hint == "" {
					t.Errorf("node finding %s lacks title, detail or hint", fd.Kind)
				}
			}
			if tc.check != nil && !t.Failed() {
				tc.check(t, r)
			}
		})
	}
}

func init() {
	oom, fault := fbuild(KindKernelOOMKill, "app", during(100, 100)), fbuild(KindKernelSegfault, "app", during(100, 100))
	moreCauseCases["kernel OOM kill explains the container's exit and restarts"] = []causeCase{
		{"the crash loop it caused", oom, fbuild(KindCrashLoop, "app", exit(137), during(101, 300)), nil, true},
		{"the runtime's OOMKilled", fbuild(KindKernelOOMKill, "app"), fbuild(KindOOMKilled, "app", exit(137)), nil, true},
		{"a restart without times", fbuild(KindKernelOOMKill, "app"), fbuild(KindContainerRestarted, "app"), nil, true},
		{"another container", oom, fbuild(KindCrashLoop, "sidecar", during(101, 300)), nil, false},
		{"a kill the report could not put on a container", fbuild(KindKernelOOMKill, "", during(100, 100)), fbuild(KindCrashLoop, "app", during(101, 300)), nil, false},
		{"a kill long before the crash loop", fbuild(KindKernelOOMKill, "app", during(10, 10)), fbuild(KindCrashLoop, "app", during(3000, 3300)), nil, false},
		{"a kill after the trouble ended", fbuild(KindKernelOOMKill, "app", during(500, 500)), fbuild(KindCrashLoop, "app", during(100, 200)), nil, false},
		{"a past crash loop", oom, fbuild(KindCrashLoop, "app", during(101, 300), past), nil, false},
		{"a probe failure is not a kill", oom, fbuild(KindProbeFailed, "app", during(101, 300)), nil, false},
	}
	moreCauseCases["kernel-reported fault explains the container's crash"] = []causeCase{
		{"the crash loop", fault, fbuild(KindCrashLoop, "app", exit(139), during(101, 300)), nil, true},
		{"the runtime's OOMKilled is memory, not a fault", fault, fbuild(KindOOMKilled, "app", during(101, 300)), nil, false},
		{"another container", fault, fbuild(KindCrashLoop, "sidecar", during(101, 300)), nil, false},
	}
}
