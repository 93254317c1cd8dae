package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/kernlog"
)

const (
	kernUID = "68b63cf0b10a92f44b6ea7d3ab3baf54"
	kernCID = "24a9cd288ce73751712f8a8a7d4559460f8c1a61589c832bf7e3b0a22bb7d423"
)

// kernOOM is a 6.x memcg OOM report of pod kernUID's container kernCID as dmesg prints it, at
// seconds since boot at.
func kernOOM(at float64, pid int) string {
	cg := "/kubepods/burstable/pod" + kernUID + "/" + kernCID
	lines := []string{
		"sh invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=999",
		"CPU: 1 UID: 0 PID: " + fmt.Sprint(pid) + " Comm: sh Not tainted 6.18.44 #1",
		"memory: usage 24576kB, limit 24576kB, failcnt 0",
		"oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=" + kernCID + ",mems_allowed=0,oom_memcg=" + cg + ",task_memcg=" + cg + ",task=sh,pid=" + fmt.Sprint(pid) + ",uid=0",
		"Memory cgroup out of memory: Killed process " + fmt.Sprint(pid) + " (sh) total-vm:43236kB, anon-rss:24236kB, file-rss:1584kB, shmem-rss:0kB, UID:0 pgtables:92kB oom_score_adj:999",
	}
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "[%12.6f] %s\n", at+float64(i)*0.0001, l)
	}
	return b.String()
}

func kernSegfault(at float64, pid int) string {
	return fmt.Sprintf("[%12.6f] kube-scheduler[%d]: segfault at 0 ip 000000000046b3c1 sp 000000c000147e58 error 4 in kube-scheduler[400000+1a5e000]\n", at, pid)
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// kernelFixture is a liveFixture whose Local also follows a kernel log file.
type kernelFixture struct {
	*liveFixture
	kpath  string
	events chan kernlog.Event
	kdone  chan error
}

func newKernelFixture(t *testing.T) *kernelFixture {
	t.Helper()
	dir := t.TempDir()
	kpath := filepath.Join(dir, "kern.log")
	f := &kernelFixture{liveFixture: newLiveFixture(t, LocalOptions{KernelLog: kpath}), kpath: kpath}
	return f
}

func (f *kernelFixture) startKernel() {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.events = make(chan kernlog.Event, 1<<14)
	f.kdone = make(chan error, 1)
	go func() {
		f.kdone <- f.l.FollowKernelLog(ctx, func(ev kernlog.Event) {
			select {
			case f.events <- ev:
			default:
			}
		})
	}()
	f.t.Cleanup(func() {
		cancel()
		select {
		case err := <-f.kdone:
			if err != nil && !errors.Is(err, context.Canceled) {
				f.t.Errorf("FollowKernelLog returned %v", err)
			}
		case <-time.After(10 * time.Second):
			f.t.Error("FollowKernelLog did not stop")
		}
	})
}

// kernelCaughtUp waits until the live kernel state has read the whole file as it is now.
func (f *kernelFixture) kernelCaughtUp() *KernelLogState {
	f.t.Helper()
	data, err := os.ReadFile(f.kpath)
	if err != nil {
		f.t.Fatal(err)
	}
	want := strings.Count(string(data), "\n")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if lk := f.l.liveKernelState(); lk != nil {
			if st := lk.state(); st.Stats.Lines == want {
				return st
			}
		}
		select {
		case err := <-f.kdone:
			f.t.Fatalf("the kernel log follow ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the live kernel state did not reach line %d", want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sameKernelState: the live state is what a full read of the file gives now.
func (f *kernelFixture) sameAsFullRead(live *KernelLogState) {
	f.t.Helper()
	full := newLocal(f.l.opts).kernelLog(context.Background())
	a, _ := json.Marshal(live)
	b, _ := json.Marshal(full)
	if string(a) != string(b) {
		f.t.Fatalf("the live kernel state differs from a full read:\nlive %s\nfull %s", a, b)
	}
}

// TestLiveKernelLogFileAppended: a kernel log file being appended to (an OOM report written in
// pieces, one line cut in the middle) is followed: each new event is seen once, the state is
// what a full read gives, and snapshots and Relog take it from memory.
func TestLiveKernelLogFileAppended(t *testing.T) {
	f := newKernelFixture(t)
	appendFile(t, f.kpath, kernSegfault(100, 2211))
	f.write(3, false)
	f.start()
	f.startKernel()
	f.caughtUp()
	st := f.kernelCaughtUp()
	if len(st.Events) != 1 || st.Events[0].Kind != kernlog.KindSegfault {
		t.Fatalf("first read: events %+v, want the segfault", st.Events)
	}
	f.sameAsFullRead(st)
	s, err := f.l.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Kernel == nil || len(s.Kernel.Events) != 1 {
		t.Fatalf("snapshot kernel %+v, want the followed segfault", s.Kernel)
	}

	// The report arrives in three writes, the second ending in the middle of the kill line.
	oom := kernOOM(200, 4474)
	cut := strings.Index(oom, "Killed process") + 5
	half := strings.LastIndex(oom[:strings.Index(oom, "oom-kill:")], "\n") + 1
	appendFile(t, f.kpath, oom[:half])
	appendFile(t, f.kpath, oom[half:cut])
	time.Sleep(3 * KernelLogPoll) // the follow reads the unfinished line and must wait for its end
	appendFile(t, f.kpath, oom[cut:])
	st = f.kernelCaughtUp()
	f.sameAsFullRead(st)
	if len(st.Events) != 2 {
		t.Fatalf("events %+v, want the segfault and the OOM kill", st.Events)
	}
	kill := st.Events[1]
	if kill.Kind != kernlog.KindOOMKill || kill.PID != 4474 || kill.PodUID != kernUID || kill.ContainerID != kernCID || kill.LimitKB != 24576 || !kill.Memcg {
		t.Errorf("OOM kill %+v, want pid 4474 of pod %s container %s at its 24 MiB memory cgroup limit", kill, kernUID, kernCID)
	}
	select {
	case ev := <-f.events:
		if ev.Kind != kernlog.KindOOMKill || ev.PID != 4474 {
			t.Errorf("onEvent saw %+v, want the OOM kill", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("onEvent did not see the OOM kill")
	}
	select {
	case ev := <-f.events:
		t.Errorf("onEvent saw %+v more (the first read's events are not new)", ev)
	default:
	}

	// Relog carries the kernel events that came after the snapshot it starts from.
	re, ok := f.l.Relog(s)
	if !ok || re.Kernel == nil || len(re.Kernel.Events) != 2 || len(s.Kernel.Events) != 1 {
		t.Errorf("Relog = %v: kernel %+v, want both events (the snapshot keeps its one)", ok, re.Kernel)
	}
	s2, err := f.l.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.Kernel.Events) != 2 || s2.Kernel.Events[1].PodUID != kernUID {
		t.Errorf("new snapshot kernel events %+v, want both from memory", s2.Kernel.Events)
	}
}

// TestLiveKernelLogFileRewritten: a file truncated and written again (a new dmesg dump) or
// replaced by another is read again from its start, never doubled.
func TestLiveKernelLogFileRewritten(t *testing.T) {
	f := newKernelFixture(t)
	appendFile(t, f.kpath, kernSegfault(100, 1)+kernSegfault(101, 2))
	f.startKernel()
	if st := f.kernelCaughtUp(); len(st.Events) != 2 {
		t.Fatalf("events %+v, want 2", st.Events)
	}
	// Truncated in place, then shorter content: the same file.
	if err := os.WriteFile(f.kpath, []byte(kernOOM(300, 7)), 0o644); err != nil {
		t.Fatal(err)
	}
	waitKernel(t, f, func(st *KernelLogState) bool { return len(st.Events) == 1 && st.Events[0].PID == 7 })
	f.sameAsFullRead(f.kernelCaughtUp())
	// Replaced by rename with a longer one.
	tmp := f.kpath + ".new"
	if err := os.WriteFile(tmp, []byte(kernSegfault(400, 8)+kernSegfault(401, 9)+kernOOM(402, 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.kpath); err != nil {
		t.Fatal(err)
	}
	waitKernel(t, f, func(st *KernelLogState) bool { return len(st.Events) == 3 && st.Events[0].PID == 8 })
	f.sameAsFullRead(f.kernelCaughtUp())
}

func waitKernel(t *testing.T, f *kernelFixture, ok func(*KernelLogState) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var st *KernelLogState
	for time.Now().Before(deadline) {
		if lk := f.l.liveKernelState(); lk != nil {
			if st = lk.state(); ok(st) {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the live kernel state did not get there: %+v", st)
}

// TestLiveKernelLogCap: however many events are appended, the newest MaxKernelEvents are kept,
// as a full read keeps them.
func TestLiveKernelLogCap(t *testing.T) {
	f := newKernelFixture(t)
	appendFile(t, f.kpath, kernSegfault(1, 1))
	f.startKernel()
	f.kernelCaughtUp()
	var b strings.Builder
	for i := range MaxKernelEvents + 50 {
		b.WriteString(kernSegfault(float64(10+i), 100+i))
	}
	appendFile(t, f.kpath, b.String())
	st := f.kernelCaughtUp()
	if len(st.Events) != MaxKernelEvents || !st.Truncated || st.Events[len(st.Events)-1].PID != 100+MaxKernelEvents+49 {
		t.Fatalf("%d events (truncated %v), want the newest %d", len(st.Events), st.Truncated, MaxKernelEvents)
	}
	f.sameAsFullRead(st)
}

// TestLiveKernelLogUnreadable: a source that cannot be followed ends the follow with an error
// naming it, at once; snapshots then read the source themselves and say why in a kernel-log
// source error.
func TestLiveKernelLogUnreadable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(path string) error
		want  error
		says  string
	}{
		{"missing file", func(string) error { return nil }, fs.ErrNotExist, "no such file"},
		{"not a kernel log", func(p string) error { return os.WriteFile(p, []byte("hello\nworld\n"), 0o644) }, kernlog.ErrNotKernelLog, "not a kernel log"},
		{"a directory", func(p string) error { return os.Mkdir(p, 0o755) }, nil, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newKernelFixture(t)
			if err := tc.setup(f.kpath); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := f.l.FollowKernelLog(ctx, nil)
			if err == nil || ctx.Err() != nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), f.kpath) {
				t.Fatalf("FollowKernelLog = %v, want an error naming %s (%v) at once", err, f.kpath, tc.want)
			}
			if f.l.liveKernelState() != nil {
				t.Error("a failed follow left its state published")
			}
			s, err := f.l.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, e := range s.Errors {
				found = found || (e.Source == "kernel-log" && strings.Contains(e.Error, tc.says))
			}
			if !found {
				t.Errorf("snapshot errors %+v, want a kernel-log error saying %q", s.Errors, tc.says)
			}
		})
	}
	t.Run("no kernel log", func(t *testing.T) {
		l := newLocal(LocalOptions{})
		if err := l.FollowKernelLog(context.Background(), nil); !errors.Is(err, ErrNoKernelLog) {
			t.Errorf("FollowKernelLog = %v, want ErrNoKernelLog", err)
		}
	})
}

// TestLineSplitter: lines cut across writes are joined, a line longer than kernlog.MaxLine is
// cut there and says so, an unfinished line waits.
func TestLineSplitter(t *testing.T) {
	var got []string
	var longs []bool
	var s lineSplitter
	fn := func(l string, long bool) { got, longs = append(got, l), append(longs, long) }
	s.write([]byte("ab"), fn)
	s.write([]byte("c\nde"), fn)
	s.write([]byte("\n\n"), fn)
	big := strings.Repeat("x", kernlog.MaxLine+10)
	s.write([]byte(big[:100]), fn)
	s.write([]byte(big[100:]+"\nlast"), fn)
	want := []string{"abc", "de", "", big[:kernlog.MaxLine]}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] || longs[i] != (i == 3) {
			t.Errorf("line %d = %.20q (long %v), want %.20q (long %v)", i, got[i], longs[i], want[i], i == 3)
		}
	}
}
