package agent

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

const (
	relevantLine = `{"ts":1795560066245.9062,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/x.yaml","err":"invalid pod: [spec.containers: Required value]"}`
	noiseLine    = `{"ts":1795560069850.391,"caller":"kubelet/kubelet_node_status.go:645","msg":"Recording event message for node","v":2,"node":{"name":"n"},"event":"NodeHasSufficientPID"}`
)

// runTrigger runs tr until the test ends and counts its fires.
func runTrigger(t *testing.T, tr Trigger) *atomic.Int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var fired atomic.Int64
	go func() {
		defer close(done)
		tr(ctx, func() { fired.Add(1) })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &fired
}

func TestKubeletLogFollowerFiresOnRelevantRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubelet.log")
	if err := os.WriteFile(path, []byte(relevantLine+"\n"), 0o600); err != nil { // history: not a change
		t.Fatal(err)
	}
	fired := runTrigger(t, KubeletLogFollower(path, 50*time.Millisecond, slog.New(slog.DiscardHandler), nil))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The follower starts at the end of the file at some point after runTrigger: append
	// relevant records until it has seen one.
	waitFor(t, "the follower to see an appended record", func() bool {
		f.WriteString(relevantLine + "\n")
		return fired.Load() >= 1
	})
	waitFor(t, "the follower to drain what was appended", func() bool {
		n := fired.Load()
		time.Sleep(20 * time.Millisecond)
		return fired.Load() == n
	})
	// Now noise, then one relevant record: exactly one more fire once that record is seen (the
	// follower reads in order, so any fire for the noise would have come before).
	n0 := fired.Load()
	for range 20 {
		f.WriteString(noiseLine + "\n")
	}
	f.WriteString(relevantLine + "\n")
	waitFor(t, "a fire for the relevant record", func() bool { return fired.Load() >= n0+1 })
	f.WriteString(relevantLine + "\n")
	waitFor(t, "a fire for the sentinel", func() bool { return fired.Load() >= n0+2 })
	if n := fired.Load(); n != n0+2 {
		t.Errorf("fired %d times for 20 noise and 2 relevant records, want 2", n-n0)
	}
}

func TestJournalFollowerFiresOnRelevantLines(t *testing.T) {
	// A fake journalctl that checks its arguments and prints what `-o cat -f` would.
	bin := t.TempDir()
	script := "#!/bin/sh\n" +
		"[ \"$*\" = \"-u kubelet -o cat -f -n 0 --no-pager\" ] || { echo \"bad args: $*\" >&2; exit 3; }\n" +
		"echo '" + noiseLine + "'\n" +
		"echo '" + relevantLine + "'\n" +
		"echo '" + relevantLine + "'\n" +
		"exec sleep 3600\n"
	if err := os.WriteFile(filepath.Join(bin, "journalctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	fired := runTrigger(t, JournalFollower("", time.Hour, slog.New(slog.DiscardHandler), nil))
	waitFor(t, "two fires for the two relevant lines", func() bool { return fired.Load() >= 2 })
	if n := fired.Load(); n != 2 {
		t.Errorf("fired %d times, want 2", n)
	}
}
