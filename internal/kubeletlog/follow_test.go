package kubeletlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// follower runs Follow in the background and hands its records to the test.
type follower struct {
	recs chan *Record
	done chan error
}

func startFollow(t *testing.T, path string, opts ScanOptions) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fl := &follower{recs: make(chan *Record, 1000), done: make(chan error, 1)}
	go func() {
		fl.done <- Follow(ctx, path, opts, func(r *Record) error {
			fl.recs <- r
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-fl.done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Follow returned %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Follow did not stop after cancel")
		}
	})
	return fl
}

// expect waits (with a deadline) for records with the given n values in order.
func (fl *follower) expect(t *testing.T, ns ...int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for _, n := range ns {
		select {
		case r := <-fl.recs:
			if want := t0.Add(time.Duration(n) * time.Second); !r.TS.Equal(want) {
				t.Fatalf("got record at %v, want line %d at %v", r.TS, n, want)
			}
		case err := <-fl.done:
			t.Fatalf("Follow ended early: %v", err)
		case <-deadline:
			t.Fatalf("timed out waiting for line %d", n)
		}
	}
}

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := from; i < to; i++ {
		if _, err := f.WriteString(jsonLine(t0.Add(time.Duration(i)*time.Second), i, true) + "\n"); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFollowing makes sure Follow has opened the file and reached its end: it appends marker
// lines n, n+1, … (a marker written before Follow opened the file is never seen) until one comes
// back, then waits for the last one written. It returns the number after the last marker.
func waitFollowing(t *testing.T, fl *follower, path string, n int) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := n
	appendLines(t, path, last, last+1)
	for time.Now().Before(deadline) {
		select {
		case r := <-fl.recs:
			if r.TS.Equal(t0.Add(time.Duration(last) * time.Second)) {
				return last + 1
			}
		case err := <-fl.done:
			t.Fatalf("Follow ended early: %v", err)
		case <-time.After(200 * time.Millisecond):
			last++
			appendLines(t, path, last, last+1)
		}
	}
	t.Fatal("Follow never picked up appended lines")
	return 0
}

func TestFollowGrowsAndPartialLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubelet.log")
	appendLines(t, path, 0, 5) // history: not replayed without Since
	fl := startFollow(t, path, ScanOptions{Prefilter: Interesting})
	n := waitFollowing(t, fl, path, 100)
	appendLines(t, path, n, n+3)
	fl.expect(t, n, n+1, n+2)

	line := jsonLine(t0.Add(time.Duration(n+3)*time.Second), n+3, true) + "\n"
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(line[:40])
	f.Sync()
	appendLines(t, path, 0, 0)
	f.WriteString(line[40:])
	f.Close()
	fl.expect(t, n+3)
}

func TestFollowSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubelet.log")
	appendLines(t, path, 0, 50)
	fl := startFollow(t, path, ScanOptions{Since: t0.Add(47 * time.Second)})
	fl.expect(t, 47, 48, 49)
	appendLines(t, path, 50, 51)
	fl.expect(t, 50)
}

func TestFollowRenameRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kubelet.log")
	appendLines(t, path, 0, 1)
	fl := startFollow(t, path, ScanOptions{})
	waitFollowing(t, fl, path, 1000)
	appendLines(t, path, 2, 3) // written just before rotation: must not be lost
	if err := os.Rename(path, filepath.Join(dir, "kubelet.log.1")); err != nil {
		t.Fatal(err)
	}
	appendLines(t, filepath.Join(dir, "kubelet.log.1"), 3, 4) // the writer still had the old file open
	appendLines(t, path, 10, 12)
	fl.expect(t, 2, 3, 10, 11)
	appendLines(t, path, 12, 13)
	fl.expect(t, 12)
}

func TestFollowCopyTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubelet.log")
	appendLines(t, path, 0, 20)
	fl := startFollow(t, path, ScanOptions{})
	waitFollowing(t, fl, path, 2000)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, 30, 32)
	fl.expect(t, 30, 31)
}

func TestFollowMissing(t *testing.T) {
	err := Follow(context.Background(), filepath.Join(t.TempDir(), "nope.log"), ScanOptions{}, func(*Record) error { return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want not exist", err)
	}
}

func TestFollowStopsOnCallbackError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubelet.log")
	appendLines(t, path, 0, 3)
	stop := errors.New("stop")
	err := Follow(context.Background(), path, ScanOptions{Since: t0}, func(*Record) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("err = %v, want the callback's error", err)
	}
}

// TestFollowTruncatedAndRegrown: a copytruncate followed by writes that grow the file past the
// follower's position before it looks. Only the changed bytes before the position show it.
func TestFollowTruncatedAndRegrown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubelet.log")
	first := `{"ts":1795557304100.165,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/m/a.yaml","err":"x"}` + "\n"
	if err := os.WriteFile(path, []byte(first), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	tl := &tailer{path: path, f: f, lp: newLineProc(ScanOptions{Source: path}, 0), chunk: make([]byte, 4096),
		fn: func(r *Record) error { got = append(got, r.Path); return nil }}
	defer func() { tl.f.Close() }()
	if err := tl.readMore(); err != nil {
		t.Fatal(err)
	}
	second := `{"ts":1795557305100.165,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/m/after-copytruncate.yaml","err":"longer than the first line"}` + "\n"
	if err := os.WriteFile(path, []byte(second), 0o644); err != nil { // O_TRUNC: same inode, emptied and rewritten
		t.Fatal(err)
	}
	if err := tl.readMore(); err != nil {
		t.Fatal(err)
	}
	if err := tl.checkRotation(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "/m/a.yaml|/m/after-copytruncate.yaml" {
		t.Fatalf("records %q: the rewritten file was not read from its start", got)
	}
}
