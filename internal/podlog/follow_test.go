package podlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// collector gathers followed lines for polling assertions.
type collector struct {
	mu    sync.Mutex
	lines []string
}

func (c *collector) add(l Line) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l.Msg)
	return nil
}

func (c *collector) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// waitFor polls until the collected lines equal want, failing after a deadline.
func (c *collector) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := c.get()
		if strings.Join(got, "|") == strings.Join(want, "|") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("followed lines %q, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, l := range lines {
		if _, err := f.WriteString(l); err != nil {
			t.Fatal(err)
		}
	}
}

func cri(stream, tag, msg string) string {
	return fmt.Sprintf("%s %s %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), stream, tag, msg)
}

// startFollow runs FollowWith in the background and returns its collector and a stop func that
// returns Follow's error.
func startFollow(t *testing.T, path string, opts FollowOptions) (*collector, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{}
	done := make(chan error, 1)
	go func() { done <- FollowWith(ctx, path, opts, c.add) }()
	var once sync.Once
	var ferr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case ferr = <-done:
			case <-time.After(10 * time.Second):
				ferr = fmt.Errorf("Follow did not return after cancel")
			}
		})
		return ferr
	}
	t.Cleanup(func() { _ = stop() })
	return c, stop
}

func TestFollowRotation(t *testing.T) {
	for _, poll := range []time.Duration{0, 20 * time.Millisecond} {
		t.Run(fmt.Sprint("poll=", poll), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "0.log")
			appendLines(t, path, cri("stdout", "F", "one"), cri("stdout", "P", "par"))
			c, stop := startFollow(t, path, FollowOptions{Poll: poll})
			c.waitFor(t, "one")

			appendLines(t, path, cri("stdout", "F", "t"))
			c.waitFor(t, "one", "part")

			// An unterminated write is held until its newline arrives.
			two := cri("stdout", "F", "two")
			appendLines(t, path, two[:20])
			appendLines(t, path, two[20:])
			c.waitFor(t, "one", "part", "two")

			// Rotation: the kubelet renames, the runtime writes on into the renamed file until it
			// reopens 0.log. A P part before the rotation is completed after it.
			appendLines(t, path, cri("stdout", "F", "three"))
			rotated := path + ".20240101-120000"
			if err := os.Rename(path, rotated); err != nil {
				t.Fatal(err)
			}
			appendLines(t, rotated, cri("stdout", "F", "four"), cri("stderr", "P", "fi"))
			appendLines(t, path, cri("stderr", "F", "ve"))
			c.waitFor(t, "one", "part", "two", "three", "four", "five")

			// Truncation in place (copytruncate): read again from the start.
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			appendLines(t, path, cri("stdout", "F", "6"))
			c.waitFor(t, "one", "part", "two", "three", "four", "five", "6")
			if err := stop(); err != nil {
				t.Fatalf("Follow returned %v after cancel, want nil", err)
			}
		})
	}
}

func TestFollowNextInstance(t *testing.T) {
	dir := t.TempDir()
	p0, p1 := filepath.Join(dir, "0.log"), filepath.Join(dir, "1.log")
	appendLines(t, p0, cri("stdout", "F", "a"))
	next := func() string {
		if _, err := os.Stat(p1); err == nil {
			return p1
		}
		return ""
	}
	c, _ := startFollow(t, p0, FollowOptions{Offset: 0, Next: next})
	c.waitFor(t, "a")
	appendLines(t, p0, cri("stdout", "P", "cut off by the crash"))
	appendLines(t, p1, cri("stdout", "F", "b"))
	c.waitFor(t, "a", "cut off by the crash", "b")
	appendLines(t, p1, cri("stdout", "F", "c"))
	c.waitFor(t, "a", "cut off by the crash", "b", "c")
}

func TestFollowFromEndAndTailOffset(t *testing.T) {
	content, all := genLog(3000)
	path := writeFile(t, content+"2026-11-24T21:00:00Z stdout F unterm")
	lines, end, err := TailEnd(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(msgs(lines), "|") != strings.Join(all[len(all)-2:], "|") {
		t.Fatalf("tail %q", msgs(lines))
	}
	c, _ := startFollow(t, path, FollowOptions{Offset: end})
	appendLines(t, path, "inated\n")
	c.waitFor(t, "unterminated")

	// From the end: nothing already in the file is delivered. Follow may open the file after any
	// of the appends below, so keep appending until one arrives.
	c2, _ := startFollow(t, path, FollowOptions{Offset: -1})
	deadline := time.Now().Add(10 * time.Second)
	for len(c2.get()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing followed from the end")
		}
		appendLines(t, path, cri("stdout", "F", "new"))
		time.Sleep(20 * time.Millisecond)
	}
	for _, m := range c2.get() {
		if m != "new" {
			t.Fatalf("following from the end delivered old line %q", m)
		}
	}
}

func TestFollowCallbackErrorAndMissingFile(t *testing.T) {
	path := writeFile(t, cri("stdout", "F", "x"))
	boom := fmt.Errorf("boom")
	err := Follow(context.Background(), path, func(Line) error { return boom })
	if err != boom {
		t.Fatalf("err = %v, want boom", err)
	}
	err = Follow(context.Background(), filepath.Join(t.TempDir(), "none.log"), func(Line) error { return nil })
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

// TestFollowStopsOnBusyFile: cancel ends Follow even while the file grows without pause.
func TestFollowStopsOnBusyFile(t *testing.T) {
	path := writeFile(t, "")
	stopWriter := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return
		}
		defer f.Close()
		line := []byte(cri("stdout", "F", strings.Repeat("x", 1000)))
		for {
			select {
			case <-stopWriter:
				return
			default:
			}
			f.Write(line)
		}
	}()
	defer func() { close(stopWriter); <-writerDone }()
	c, stop := startFollow(t, path, FollowOptions{Offset: 0})
	deadline := time.Now().Add(10 * time.Second)
	for len(c.get()) < 1000 {
		if time.Now().After(deadline) {
			t.Fatal("nothing followed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestFollowTruncatedAndRegrown is the copytruncate race made deterministic: the file is truncated
// and written again past the follower's offset before the follower looks, so its size never
// looks smaller. The bytes before the offset changed, and that is what the follower notices.
func TestFollowTruncatedAndRegrown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	appendLines(t, path, "2026-11-24T21:00:00Z stdout F one\n")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	fl := &follower{path: path, f: f, fn: func(l Line) error { got = append(got, l.Msg); return nil }}
	if _, err := fl.read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, "2026-11-24T21:00:01.123456789Z stdout F after copytruncate, longer than before\n")
	if _, err := fl.read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "one|after copytruncate, longer than before" {
		t.Fatalf("lines %q: the rewritten file was not read from its start", got)
	}
}
