package podlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"

	"github.com/fsnotify/fsnotify"

	"github.com/spdoc/spdoc/internal/tailguard"
)

// FollowOptions tune FollowWith.
type FollowOptions struct {
	// Offset is where reading starts in the file; < 0 starts at its current end. TailEnd returns
	// the offset that continues a tail.
	Offset int64
	// Poll is the fallback re-check interval (default 2s, 250ms when fsnotify is unavailable). New
	// data is normally noticed through fsnotify events on the file's directory.
	Poll time.Duration
	// Next, if set, is asked whenever the current file has no new data. A non-empty path other than
	// the current one makes FollowWith finish the current file and continue at the start of that
	// one — how a restarted container's <n+1>.log is followed.
	Next func() string
}

// Follow calls fn for every logical line of the file at path from its start, then for each line
// appended to it until ctx is done (which ends Follow with a nil error). See FollowWith.
func Follow(ctx context.Context, path string, fn func(Line) error) error {
	return FollowWith(ctx, path, FollowOptions{}, fn)
}

// FollowWith follows a container log that the kubelet may rotate: on rotation the kubelet renames
// 0.log to 0.log.<timestamp> and the runtime reopens a new 0.log; FollowWith drains the renamed
// file and continues at the start of the new one. A file truncated in place is read again from
// its start. An error from fn stops following and is returned.
func FollowWith(ctx context.Context, path string, opts FollowOptions, fn func(Line) error) error {
	f, err := safefs.Open(path)
	if err != nil {
		return fmt.Errorf("opening container log: %w", err)
	}
	fl := &follower{path: path, f: f, fn: fn}
	defer func() { fl.f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("container log %q: %w", path, err)
	}
	switch {
	case opts.Offset < 0 || opts.Offset > st.Size():
		fl.off = st.Size()
	default:
		fl.off = opts.Offset
	}
	fl.guard.Load(f, fl.off)

	poll := opts.Poll
	var events <-chan fsnotify.Event
	var werrs <-chan error
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer w.Close()
		if err := w.Add(filepath.Dir(path)); err == nil {
			events, werrs = w.Events, w.Errors
		}
	}
	if poll <= 0 {
		poll = 2 * time.Second
		if events == nil {
			poll = 250 * time.Millisecond
		}
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()

	for {
		if ctx.Err() != nil {
			return nil // also when the file never stops growing
		}
		n, err := fl.read(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		switched, err := fl.checkRotation(ctx, opts.Next)
		if err != nil {
			return err
		}
		if switched {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-events:
		case <-werrs:
		case <-tick.C:
		}
	}
}

type follower struct {
	path string
	f    *os.File
	off  int64
	rest []byte // bytes of an unterminated line read so far
	j    joiner
	fn   func(Line) error
	buf  []byte
	// guard notices a copytruncate that grew back past off before we looked.
	guard tailguard.Guard
}

// rewound rewinds to the start of a file that was rewritten in place since the last read.
func (fl *follower) rewound() {
	if fl.guard.Rewritten(fl.f, fl.off) {
		fl.off, fl.rest = 0, nil
		fl.guard.Reset()
	}
}

// read consumes what is available in the current file (until ctx ends) and returns how many
// bytes it read.
func (fl *follower) read(ctx context.Context) (int, error) {
	if fl.buf == nil {
		fl.buf = make([]byte, 64<<10)
	}
	total := 0
	fl.rewound()
	for {
		n, err := fl.f.ReadAt(fl.buf, fl.off)
		if n > 0 {
			total += n
			fl.off += int64(n)
			fl.guard.Remember(fl.buf[:n])
			if err := fl.feed(fl.buf[:n]); err != nil {
				return total, err
			}
		}
		if errors.Is(err, io.EOF) || n == 0 || ctx.Err() != nil {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("reading container log %q: %w", fl.path, err)
		}
	}
}

// feed splits data into lines, keeping an unterminated end for the next read.
func (fl *follower) feed(data []byte) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if room := maxRawLine - len(fl.rest); room > 0 {
				fl.rest = append(fl.rest, data[:min(room, len(data))]...)
			}
			return nil
		}
		var raw []byte
		if len(fl.rest) > 0 {
			if room := maxRawLine - len(fl.rest); room > 0 {
				fl.rest = append(fl.rest, data[:min(room, i)]...)
			}
			raw, fl.rest = fl.rest, fl.rest[:0:0]
		} else {
			raw = data[:i]
		}
		data = data[i+1:]
		if err := fl.line(raw); err != nil {
			return err
		}
	}
	return nil
}

func (fl *follower) line(raw []byte) error {
	l, partial, err := ParseLine(raw)
	if err != nil {
		return nil // not a CRI log line: skipped like Reader does
	}
	if out, ok := fl.j.add(l, partial); ok {
		return fl.fn(out)
	}
	return nil
}

// finish ends the current file: an unterminated last line and pending P parts are emitted.
func (fl *follower) finish() error {
	if len(fl.rest) > 0 {
		raw := fl.rest
		fl.rest = nil
		if err := fl.line(raw); err != nil {
			return err
		}
	}
	for _, l := range fl.j.flush() {
		if err := fl.fn(l); err != nil {
			return err
		}
	}
	return nil
}

// checkRotation switches to a new file when path now names another file (rotation) or when
// next names one (container restart), and rewinds a truncated file.
func (fl *follower) checkRotation(ctx context.Context, next func() string) (bool, error) {
	cur, err := fl.f.Stat()
	if err != nil {
		return false, fmt.Errorf("container log %q: %w", fl.path, err)
	}
	st, err := safefs.Stat(fl.path)
	switch {
	case err == nil && !os.SameFile(st, cur):
		// Rotated: the runtime reopened path. Drain what the old file got before the reopen.
		if _, err := fl.read(ctx); err != nil {
			return false, err
		}
		return true, fl.reopen(fl.path, false)
	case err == nil && cur.Size() < fl.off:
		fl.off, fl.rest = 0, nil
		fl.guard.Reset()
		return true, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("container log %q: %w", fl.path, err)
	}
	if next == nil {
		return false, nil
	}
	p := next()
	if p == "" || p == fl.path {
		return false, nil
	}
	if _, err := safefs.Stat(p); err != nil {
		return false, nil
	}
	if _, err := fl.read(ctx); err != nil {
		return false, err
	}
	return true, fl.reopen(p, true)
}

// reopen continues at the start of path. A new container instance starts with fresh P/F state;
// a rotated file of the same instance keeps it (a P part may be completed in the new file).
func (fl *follower) reopen(path string, newInstance bool) error {
	if newInstance {
		if err := fl.finish(); err != nil {
			return err
		}
	} else if len(fl.rest) > 0 {
		raw := fl.rest
		fl.rest = nil
		if err := fl.line(raw); err != nil {
			return err
		}
	}
	f, err := safefs.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // gone again between stat and open: keep the old file, retry later
		}
		return fmt.Errorf("opening container log: %w", err)
	}
	fl.f.Close()
	fl.f, fl.path, fl.off = f, path, 0
	fl.guard.Reset()
	return nil
}
