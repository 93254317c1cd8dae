package kubeletlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"

	"github.com/fsnotify/fsnotify"

	"github.com/spdoc/spdoc/internal/tailguard"
)

// followPoll is the slow poll that backs up fsnotify (missed events, inotify limits, NFS).
var followPoll = time.Second

// Follow tails the log file at path like `tail -F`: it starts at the end of the file (or, with
// opts.Since set, at the first line at or after Since) and calls fn for each new record that
// passes opts (Prefilter, Since, Until) until ctx is done (it then returns ctx.Err()) or fn fails.
// It survives rotation: when path is renamed away and recreated it drains the old file and
// continues with the new one from its start; when the file shrinks (copytruncate) it restarts at
// offset 0. It waits on fsnotify events with a slow poll as fallback, never a busy loop. A partial
// last line waits for its newline. Record.Line is 0 (unknown); Offset is the offset in the file
// being read.
func Follow(ctx context.Context, path string, opts ScanOptions, fn func(*Record) error) error {
	return FollowWith(ctx, path, opts, FollowOptions{}, fn)
}

// FollowOptions say where FollowWith starts and let its caller see its progress.
type FollowOptions struct {
	// FromStart reads the file from its start (with ScanOptions.Since, from the first line at or
	// after Since) like ScanFile, numbering its lines from 1 when nothing was skipped, before it
	// follows: a reader that keeps state from the records sees the whole file once, with no gap
	// between a read and the follow. Without it the follow starts at the end (or at Since).
	FromStart bool
	// CaughtUp, when set, is called each time the follower has read to the end of the file and
	// passed every record on, with the statistics of the whole follow so far (valid during the
	// call only). It runs on the follower's goroutine.
	CaughtUp func(*Stats)
	// Rotated, when set, is called when path was renamed away and recreated (old is the file the
	// follower read before, drained to its end) and before the new file is read.
	Rotated func(old os.FileInfo)
	// Truncated, when set, is called when the file was emptied in place (copytruncate): lines
	// written between the last read and the truncation are lost to the follower. A non-nil
	// error ends the follow with it.
	Truncated func() error
}

// FollowWith is Follow with FollowOptions.
func FollowWith(ctx context.Context, path string, opts ScanOptions, fo FollowOptions, fn func(*Record) error) error {
	if opts.Source == "" {
		opts.Source = path
	}
	f, err := safefs.Open(path)
	if err != nil {
		return fmt.Errorf("following kubelet log: %w", err)
	}
	t := &tailer{path: path, f: f, fn: fn, chunk: make([]byte, 256<<10), fo: fo}
	defer func() { t.f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("following kubelet log: %w", err)
	}
	if fo.FromStart && opts.RefTime.IsZero() && opts.RefYear == 0 {
		opts.RefTime, opts.refSource = fi.ModTime(), YearFromMtime // as ScanFile
	}
	firstLine := int64(0)
	t.off = fi.Size()
	if fo.FromStart {
		t.off, firstLine, t.numbered = 0, 1, true
	}
	if !opts.Since.IsZero() {
		p := Parser{Ref: opts.RefTime, Location: opts.Location}
		if t.off, err = seekSince(f, fi.Size(), opts.Since, &p); err != nil {
			return fmt.Errorf("following kubelet log %q: %w", path, err)
		}
		if t.off > 0 {
			firstLine = 0 // unknown
		}
	}
	t.lp = newLineProc(opts, firstLine)
	if _, err := f.Seek(t.off, io.SeekStart); err != nil {
		return fmt.Errorf("following kubelet log %q: %w", path, err)
	}

	var events <-chan fsnotify.Event
	var watchErrs <-chan error
	if w, err := fsnotify.NewWatcher(); err == nil {
		defer w.Close()
		// Watch the directory: it sees the file renamed away and recreated.
		if w.Add(filepath.Dir(path)) == nil {
			events, watchErrs = w.Events, w.Errors
		}
	}
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		if err := t.readMore(); err != nil {
			return err
		}
		if err := t.checkRotation(); err != nil {
			return err
		}
		if fo.CaughtUp != nil {
			fo.CaughtUp(&t.lp.stats)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-events:
		case <-watchErrs: // the poll carries on
		case <-tick.C:
		}
	}
}

type tailer struct {
	path       string
	f          *os.File
	off        int64  // offset in f of pending[0]
	pending    []byte // bytes read but not yet a complete line
	discarding bool   // inside a line longer than MaxLine
	chunk      []byte
	lp         *lineProc
	fn         func(*Record) error
	// guard notices a copytruncate that grew back past the read position before we looked.
	guard tailguard.Guard
	fo    FollowOptions
	// numbered: lines are numbered from the start of each file (FromStart), so a new or
	// emptied file starts again at line 1.
	numbered bool
}

// restartLines numbers the lines of a file read from its start again from 1.
func (t *tailer) restartLines() {
	if t.numbered {
		t.lp.lineNo = 1
	}
}

// rewound restarts at 0 when the file was rewritten in place since the last read.
func (t *tailer) rewound() error {
	if t.discarding || !t.guard.Rewritten(t.f, t.off+int64(len(t.pending))) {
		return nil // inside an over-long line the position is not tracked
	}
	if _, err := t.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("following kubelet log %q: %w", t.path, err)
	}
	t.off, t.pending = 0, t.pending[:0]
	t.guard.Reset()
	t.restartLines()
	if t.fo.Truncated != nil {
		return t.fo.Truncated()
	}
	return nil
}

// readMore reads f to its current end and hands complete lines to the parser.
func (t *tailer) readMore() error {
	if err := t.rewound(); err != nil {
		return err
	}
	for {
		n, err := t.f.Read(t.chunk)
		if n > 0 {
			t.guard.Remember(t.chunk[:n])
			if perr := t.consume(t.chunk[:n]); perr != nil {
				return perr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				// Caught up: the last record has no continuation line yet; it goes out now.
				return t.lp.release(t.fn)
			}
			return fmt.Errorf("following kubelet log %q: %w", t.path, err)
		}
		if n == 0 {
			return t.lp.release(t.fn)
		}
	}
}

func (t *tailer) consume(b []byte) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if t.discarding {
				t.lp.stats.Bytes += int64(len(b))
				t.off += int64(len(b))
				return nil
			}
			t.pending = append(t.pending, b...)
			if len(t.pending) > MaxLine {
				t.off += int64(len(t.pending))
				t.pending, t.discarding = t.pending[:0], true
			}
			return nil
		}
		line := b[:i+1]
		b = b[i+1:]
		if t.discarding {
			t.lp.skipLong(int64(len(line)))
			t.off += int64(len(line))
			t.discarding = false
			continue
		}
		if len(t.pending) > 0 {
			t.pending = append(t.pending, line...)
			line = t.pending
		}
		if err := t.lp.line(line, t.off, t.fn); err != nil {
			return err
		}
		t.off += int64(len(line))
		t.pending = t.pending[:0]
	}
	return nil
}

// flush hands a final line without newline to the parser (the file is finished).
func (t *tailer) flush() error {
	if len(t.pending) == 0 || t.discarding {
		t.pending, t.discarding = t.pending[:0], false
		return nil
	}
	err := t.lp.line(t.pending, t.off, t.fn)
	t.pending = t.pending[:0]
	return err
}

// checkRotation switches to a recreated file or restarts a truncated one.
func (t *tailer) checkRotation() error {
	now, err := safefs.Stat(t.path)
	if err != nil {
		return nil // renamed away and not yet recreated: keep reading the old file
	}
	cur, err := t.f.Stat()
	if err != nil {
		return fmt.Errorf("following kubelet log %q: %w", t.path, err)
	}
	if !os.SameFile(cur, now) {
		// Rotated by rename: drain what the old file got since the last read, then switch.
		if err := t.readMore(); err != nil {
			return err
		}
		if err := t.flush(); err != nil {
			return err
		}
		nf, err := safefs.Open(t.path)
		if err != nil {
			return nil // gone again: retry on the next event or poll
		}
		if t.fo.Rotated != nil {
			t.fo.Rotated(cur)
		}
		t.f.Close()
		t.f, t.off = nf, 0
		t.guard.Reset()
		t.restartLines()
		return t.readMore()
	}
	if now.Size() < t.off+int64(len(t.pending)) {
		// copytruncate: the file was emptied in place.
		if _, err := t.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("following kubelet log %q: %w", t.path, err)
		}
		t.off, t.pending, t.discarding = 0, t.pending[:0], false
		t.guard.Reset()
		t.restartLines()
		if t.fo.Truncated != nil {
			if err := t.fo.Truncated(); err != nil {
				return err
			}
		}
		return t.readMore()
	}
	return nil
}
