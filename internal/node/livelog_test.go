package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/testlog"
)

var crashPod = testlog.Pod{Name: "crashloop-node1", Namespace: "default", UID: "68b63cf0b10a92f44b6ea7d3ab3baf54", Container: "app"}

// liveFixture is a kubelet log file being written, a Local following it and a clock.
type liveFixture struct {
	t      *testing.T
	dir    string
	path   string
	l      *Local
	now    time.Time
	base   time.Time // time of record 0
	next   int       // number of the next crash loop record
	recs   chan *kubeletlog.Record
	done   chan error
	cancel context.CancelFunc
}

func newLiveFixture(t *testing.T, opts LocalOptions) *liveFixture {
	t.Helper()
	dir := t.TempDir()
	f := &liveFixture{t: t, dir: dir, path: filepath.Join(dir, "kubelet.log"), now: time.Now().Truncate(time.Second)}
	f.base = f.now.Add(-time.Hour)
	opts.KubeletLog = f.path
	opts.ManifestDir = filepath.Join(dir, "manifests")
	opts.PodLogsDir = filepath.Join(dir, "pods")
	opts.ContainerLogsDir = filepath.Join(dir, "containers")
	opts.KubeletConfig = filepath.Join(dir, "config.yaml")
	opts.NoRuntime, opts.NoAPI, opts.NodeName = true, true, "node1"
	if err := os.MkdirAll(opts.ManifestDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(opts.KubeletConfig, []byte("staticPodPath: "+opts.ManifestDir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.l = newLocal(opts)
	f.l.now = func() time.Time { return f.now }
	return f
}

// ts is the time of record i: one every 10 ms from an hour before the start.
func (f *liveFixture) ts(i int) time.Time {
	return f.base.Add(time.Duration(i) * 10 * time.Millisecond)
}

// write appends n crash loop records (or distinct ones) to name (the log by default).
func (f *liveFixture) write(n int, distinct bool) {
	f.t.Helper()
	fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		f.t.Fatal(err)
	}
	var b strings.Builder
	for range n {
		if distinct {
			b.WriteString(crashPod.Distinct(f.next, f.ts(f.next)))
		} else {
			b.WriteString(crashPod.Line(f.next, f.ts(f.next)))
		}
		b.WriteByte('\n')
		f.next++
	}
	if _, err := fh.WriteString(b.String()); err != nil {
		f.t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		f.t.Fatal(err)
	}
}

func (f *liveFixture) start() {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.recs = make(chan *kubeletlog.Record, 1<<16)
	f.done = make(chan error, 1)
	go func() {
		f.done <- f.l.FollowKubeletLog(ctx, func(r *kubeletlog.Record) {
			select {
			case f.recs <- r:
			default:
			}
		})
	}()
	f.t.Cleanup(func() {
		cancel()
		select {
		case err := <-f.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				f.t.Errorf("FollowKubeletLog returned %v", err)
			}
		case <-time.After(10 * time.Second):
			f.t.Error("FollowKubeletLog did not stop")
		}
	})
}

// caughtUp waits until the live state holds the last record written.
func (f *liveFixture) caughtUp() *KubeletLogState {
	f.t.Helper()
	want := f.ts(f.next - 1)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if lv := f.l.liveState(); lv != nil {
			st := lv.state(f.now)
			// the records are added as they are parsed, the statistics when the follow has
			// caught up with the file: wait for both (a snapshot in between shows stats a moment
			// old, which a comparison with a full read calls a difference)
			if n := len(st.Records); n > 0 && st.Records[n-1].TS.Equal(want) && st.Stats.Last.Equal(want) {
				return st
			}
		}
		select {
		case err := <-f.done:
			f.t.Fatalf("the follow ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the live state did not reach record %d (%v)", f.next-1, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// full is what a snapshot reads from the files now.
func (f *liveFixture) full() *KubeletLogState {
	f.t.Helper()
	fresh := newLocal(f.l.opts)
	fresh.now = f.l.now
	return fresh.kubeletLog(context.Background(), fresh.resolve())
}

func sameState(t *testing.T, live, full *KubeletLogState) { sameStateExcept(t, live, full, false) }

// sameStateExcept compares, but not the Stats when the window moved since the follow started:
// they count what the follow read (from the window's start at the time it started).
func sameStateExcept(t *testing.T, live, full *KubeletLogState, windowMoved bool) {
	t.Helper()
	if len(live.Records) != len(full.Records) {
		t.Fatalf("live state has %d records, a full read %d", len(live.Records), len(full.Records))
	}
	for i := range live.Records {
		a, _ := json.Marshal(live.Records[i])
		b, _ := json.Marshal(full.Records[i])
		if string(a) != string(b) {
			t.Fatalf("record %d differs:\nlive %s\nfull %s", i, a, b)
		}
	}
	a, _ := json.Marshal(live.Stats)
	b, _ := json.Marshal(full.Stats)
	if windowMoved {
		if !live.Stats.Last.Equal(full.Stats.Last) || live.Stats.Relevant < full.Stats.Relevant {
			t.Errorf("stats of a moved window: live last %v relevant %d, full %v %d", live.Stats.Last, live.Stats.Relevant, full.Stats.Last, full.Stats.Relevant)
		}
	} else if string(a) != string(b) {
		t.Errorf("stats differ:\nlive %s\nfull %s", a, b)
	}
	if live.Truncated != full.Truncated || live.Source != full.Source || live.Error != full.Error {
		t.Errorf("live truncated=%v source=%q error=%q, full %v %q %q", live.Truncated, live.Source, live.Error, full.Truncated, full.Source, full.Error)
	}
}

func TestLiveKubeletLogMatchesFullRead(t *testing.T) {
	tests := []struct {
		name string
		opts LocalOptions
		run  func(f *liveFixture)
	}{
		{"repeats appended", LocalOptions{}, func(f *liveFixture) {
			f.write(40, false)
			f.start()
			sameState(t, f.caughtUp(), f.full())
			for range 5 {
				f.write(73, false)
				sameState(t, f.caughtUp(), f.full())
			}
		}},
		{"rename rotation in the middle", LocalOptions{}, func(f *liveFixture) {
			f.write(50, false)
			f.start()
			f.caughtUp()
			f.write(30, false)
			if err := os.Rename(f.path, f.path+".1"); err != nil {
				t.Fatal(err)
			}
			f.write(45, false)
			st := f.caughtUp()
			sameState(t, st, f.full())
			if st.Records[0].Source != f.path+".1" || st.Records[len(st.Records)-1].Source != f.path {
				t.Errorf("sources %q … %q, want the rotated file's name, then the log's", st.Records[0].Source, st.Records[len(st.Records)-1].Source)
			}
			// and a second rotation: kubelet.log.1 becomes .2
			if err := os.Rename(f.path+".1", f.path+".2"); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(f.path, f.path+".1"); err != nil {
				t.Fatal(err)
			}
			f.write(20, false)
			sameState(t, f.caughtUp(), f.full())
		}},
		{"rotated siblings before the start", LocalOptions{}, func(f *liveFixture) {
			f.write(60, false)
			if err := os.Rename(f.path, f.path+".1"); err != nil {
				t.Fatal(err)
			}
			f.write(25, false)
			f.start()
			sameState(t, f.caughtUp(), f.full())
			f.write(25, false)
			sameState(t, f.caughtUp(), f.full())
		}},
		{"all distinct beyond the cap", LocalOptions{MaxRecords: 64}, func(f *liveFixture) {
			f.write(100, true)
			f.start()
			sameState(t, f.caughtUp(), f.full())
			f.write(300, true)
			st := f.caughtUp()
			sameState(t, st, f.full())
			if len(st.Records) != 64 || !st.Truncated {
				t.Errorf("%d records, truncated %v: want the newest 64, truncated", len(st.Records), st.Truncated)
			}
		}},
		{"window", LocalOptions{Since: 30 * time.Minute}, func(f *liveFixture) {
			f.write(400, false) // an hour old: outside the window, more than a seek skips
			f.next = 200000     // 26m40s old
			f.write(100, false)
			f.start()
			st := f.caughtUp()
			sameState(t, st, f.full())
			if len(st.Records) != 100 {
				t.Errorf("%d records, want the 100 of the window", len(st.Records))
			}
			f.now = f.now.Add(10 * time.Minute) // the window moves past the second batch
			f.next = 300000
			f.write(50, false)
			st = f.caughtUp()
			sameStateExcept(t, st, f.full(), true)
			if len(st.Records) != 50 {
				t.Errorf("%d records, want the 50 of the moved window", len(st.Records))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(newLiveFixture(t, tt.opts))
		})
	}
}

func TestLiveKubeletLogSnapshotFromMemory(t *testing.T) {
	f := newLiveFixture(t, LocalOptions{})
	f.write(30, false)
	f.start()
	f.caughtUp()
	s, err := f.l.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The file is gone: a snapshot that read it would have no records and an error.
	if err := os.Remove(f.path); err != nil {
		t.Fatal(err)
	}
	s2, err := f.l.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s2.KubeletLog.Records) != 30 || len(s.KubeletLog.Records) != 30 || s2.KubeletLog.Error != "" {
		t.Errorf("snapshots have %d and %d records (error %q), want 30 from memory", len(s.KubeletLog.Records), len(s2.KubeletLog.Records), s2.KubeletLog.Error)
	}
	re, ok := f.l.Relog(s)
	if !ok || len(re.KubeletLog.Records) != 30 || re == s || re.Manifests != s.Manifests {
		t.Errorf("Relog = %v, %v: want a copy with the live records", re, ok)
	}
}

func TestLiveKubeletLogTruncatedInPlace(t *testing.T) {
	f := newLiveFixture(t, LocalOptions{})
	f.write(30, false)
	f.start()
	f.caughtUp()
	// copytruncate: the follow cannot know what it missed; it ends, and snapshots read the files.
	if err := os.Truncate(f.path, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-f.done:
		if !errors.Is(err, ErrRotationGap) {
			t.Errorf("follow ended with %v, want ErrRotationGap", err)
		}
		f.done <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("the follow did not notice the truncation")
	}
	if f.l.liveState() != nil {
		t.Error("the live state is still published after the follow ended")
	}
}

// TestLiveKubeletLogJournal: the journal is read once for the window and then followed from the
// cursor of the last entry read, so no entry is missed or read twice in between; the live state
// is what a full read of the journal gives. journalctl is a script that checks its arguments.
func TestLiveKubeletLogJournal(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Truncate(time.Second)
	entry := func(cursor string, ts time.Time, msg string) string {
		level := msg[:1]
		msg = msg[1:]
		line := map[string]string{"__CURSOR": cursor, "__REALTIME_TIMESTAMP": fmt.Sprint(ts.UnixMicro()), "_PID": "1234",
			"SYSLOG_IDENTIFIER": "kubelet", "MESSAGE": level + ts.Local().Format("0102 15:04:05.000000") + "    1234 " + msg}
		b, _ := json.Marshal(line)
		return string(b)
	}
	e1 := entry("c1", now.Add(-3*time.Minute), `Efile.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/x.yaml" err="invalid pod: [spec.containers: Required value]"`)
	e2 := entry("c2", now.Add(-2*time.Minute), `Ikubelet_node_status.go:645] "Recording event message for node" node="node1" event="NodeHasSufficientPID"`)
	e3 := entry("c3", now.Add(-time.Minute), `Epod_workers.go:1324] "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 10s restarting failed container=app pod=crashloop-node1_default(68b63cf0b10a92f44b6ea7d3ab3baf54)\"" pod="default/crashloop-node1" podUID="68b63cf0b10a92f44b6ea7d3ab3baf54"`)
	for i, e := range []string{e1, e2, e3} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("e%d", i+1)), []byte(e+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := `#!/bin/sh
d=` + dir + `
case "$*" in
"-u kubelet -o json --no-pager --since "*)
	cat $d/e1 $d/e2
	[ -e $d/followed ] && cat $d/e3
	exit 0 ;;
"-u kubelet -o json --no-pager -f --after-cursor c2")
	touch $d/followed
	cat $d/e3
	exec sleep 3600 ;;
*)
	echo "bad args: $*" >&2; exit 3 ;;
esac
`
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	opts := LocalOptions{KubeletLog: KubeletLogJournal, ManifestDir: filepath.Join(dir, "m"), PodLogsDir: filepath.Join(dir, "p"),
		KubeletConfig: filepath.Join(dir, "none.yaml"), NoRuntime: true, NoAPI: true, NodeName: "node1", Since: time.Hour}
	l := newLocal(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	seen := make(chan *kubeletlog.Record, 10)
	go func() { done <- l.FollowKubeletLog(ctx, func(r *kubeletlog.Record) { seen <- r }) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("follow ended with %v", err)
		}
	}()
	select {
	case r := <-seen:
		if !strings.Contains(r.Err, "CrashLoopBackOff") {
			t.Errorf("new record %q, want the crash loop entry after the cursor", r.Err)
		}
	case err := <-done:
		t.Fatalf("follow ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the entry after the cursor was not seen")
	}
	var live *KubeletLogState
	deadline := time.Now().Add(20 * time.Second)
	for live == nil || len(live.Records) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("live state %+v", live)
		}
		if lv := l.liveState(); lv != nil {
			live = lv.state(l.now())
		}
		time.Sleep(5 * time.Millisecond)
	}
	fresh := newLocal(opts)
	full := fresh.kubeletLog(context.Background(), fresh.resolve())
	if len(live.Records) != 2 || live.Source != KubeletLogJournal {
		t.Fatalf("live state has %d records from %q, want the 2 relevant entries of the journal", len(live.Records), live.Source)
	}
	sameState(t, live, full)
}
