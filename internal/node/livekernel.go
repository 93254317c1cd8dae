package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spdoc/spdoc/internal/kernlog"
	"github.com/spdoc/spdoc/internal/safefs"
)

// ErrNoKernelLog is returned by FollowKernelLog when LocalOptions.KernelLog names none.
var ErrNoKernelLog = errors.New("no kernel log to follow (--kernel-log is not set)")

// KernelLogPoll is how often a followed kernel log is checked for new records: /dev/kmsg is
// read (non-blocking) until its end, a file from where the last read stopped. A read costs a
// syscall or two when nothing was logged.
const KernelLogPoll = 250 * time.Millisecond

// liveKernel is the kernel log part of a snapshot kept current as the kernel logs: the newest
// MaxKernelEvents events (as a full read keeps them), the statistics of everything read. Memory
// is bounded by that cap however long the log grows; the lines themselves are not kept.
type liveKernel struct {
	source string
	max    int

	mu        sync.Mutex
	ready     bool
	events    []kernlog.Event
	truncated bool
	stats     kernlog.Stats
}

func newLiveKernel(source string, max int) *liveKernel {
	return &liveKernel{source: source, max: max}
}

func (lk *liveKernel) add(ev kernlog.Event, st kernlog.Stats) {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if len(lk.events) >= lk.max {
		n := copy(lk.events, lk.events[1:])
		lk.events = lk.events[:n]
		lk.truncated = true
	}
	lk.events = append(lk.events, ev)
	lk.stats = st
}

func (lk *liveKernel) caughtUp(st kernlog.Stats) {
	lk.mu.Lock()
	lk.stats, lk.ready = st, true
	lk.mu.Unlock()
}

// reset forgets what was read (a file replaced or truncated is read again from its start).
func (lk *liveKernel) reset() {
	lk.mu.Lock()
	lk.events, lk.truncated, lk.stats = nil, false, kernlog.Stats{}
	lk.mu.Unlock()
}

func (lk *liveKernel) isReady() bool {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	return lk.ready
}

// state is the KernelLogState a full read now would give, in slices of its own.
func (lk *liveKernel) state() *KernelLogState {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	return &KernelLogState{Source: lk.source, Stats: lk.stats, Events: append([]kernlog.Event(nil), lk.events...), Truncated: lk.truncated}
}

// liveKernelState is the kernel log follow that has caught up, nil when none.
func (l *Local) liveKernelState() *liveKernel {
	lk := l.kernelFollowed.Load()
	if lk == nil || !lk.isReady() {
		return nil
	}
	return lk
}

// FollowKernelLog reads LocalOptions.KernelLog like a snapshot does and then follows it: the
// records /dev/kmsg gets as the kernel logs them, or the lines appended to a file (a file
// replaced or truncated is read again from its start). From the moment it has caught up,
// snapshots and Relog take the kernel log from memory; onEvent, when not nil, sees each new
// event after that moment. It returns when ctx ends or the log cannot be read (the snapshots
// then read it themselves, and say why they cannot). A live node only.
func (l *Local) FollowKernelLog(ctx context.Context, onEvent func(kernlog.Event)) error {
	switch {
	case l.opts.Root != "":
		return ErrNotLive
	case l.opts.KernelLog == "":
		return ErrNoKernelLog
	case l.opts.KernelLog == KernelDevice:
		return l.followKmsg(ctx, onEvent)
	}
	return l.followKernelFile(ctx, l.opts.KernelLog, onEvent)
}

// kernelFollower feeds a live kernel log's lines and publishes its state once caught up.
type kernelFollower struct {
	l       *Local
	lk      *liveKernel
	f       kernlog.Feeder
	onEvent func(kernlog.Event)
	// withdraw takes the state back from the snapshots when the follow ends.
	withdraw func()
}

func (l *Local) newKernelFollower(source string, boot time.Time, onEvent func(kernlog.Event)) *kernelFollower {
	return &kernelFollower{l: l, lk: newLiveKernel(source, MaxKernelEvents), f: kernlog.Feeder{Boot: boot}, onEvent: onEvent, withdraw: func() {}}
}

func (kf *kernelFollower) line(line string, long bool) {
	ev, ok := kf.f.Line(line, long)
	if !ok {
		return
	}
	kf.lk.add(ev, kf.f.Stats)
	if kf.onEvent != nil && kf.lk.isReady() {
		kf.onEvent(ev)
	}
}

func (kf *kernelFollower) caughtUp() {
	first := !kf.lk.isReady()
	kf.lk.caughtUp(kf.f.Stats)
	if first {
		kf.l.kernelFollowed.Store(kf.lk)
		lk := kf.lk
		kf.withdraw = func() { kf.l.kernelFollowed.CompareAndSwap(lk, nil) }
	}
}

// lineSplitter cuts the bytes of a growing file into lines; an unfinished last line waits for
// its newline. A line longer than kernlog.MaxLine is cut there, the rest skipped.
type lineSplitter struct {
	pending []byte
	long    bool
}

func (s *lineSplitter) write(b []byte, fn func(string, bool)) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i]
		}
		if room := kernlog.MaxLine - len(s.pending); len(chunk) > room {
			chunk, s.long = chunk[:max(room, 0)], true
		}
		s.pending = append(s.pending, chunk...)
		if i < 0 {
			return
		}
		fn(string(s.pending), s.long)
		s.pending, s.long = s.pending[:0], false
		b = b[i+1:]
	}
}

func (s *lineSplitter) reset() { s.pending, s.long = s.pending[:0], false }

// followKernelFile follows a kernel log file (a dmesg dump, rsyslog's kern.log) by polling it.
func (l *Local) followKernelFile(ctx context.Context, path string, onEvent func(kernlog.Event)) error {
	kf := l.newKernelFollower(path, time.Time{}, onEvent)
	defer func() { kf.withdraw() }()
	var (
		f    *os.File
		fi   os.FileInfo
		off  int64
		sp   lineSplitter
		tail readTail
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		cur, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("kernel log %s: %w", path, err)
		}
		if f == nil || !os.SameFile(fi, cur) || cur.Size() < off || !tail.still(f, off) {
			// First read, or the file was replaced, truncated or written again from its start
			// (what was read last is no longer there): read it again from its start.
			if f != nil {
				f.Close()
				kf.lk.reset()
				kf.f = kernlog.Feeder{}
				sp.reset()
				tail.reset()
			}
			if f, err = safefs.Open(path); err != nil {
				return fmt.Errorf("kernel log %s: %w", path, err)
			}
			if fi, err = f.Stat(); err != nil {
				return fmt.Errorf("kernel log %s: %w", path, err)
			}
			off = 0
		}
		for off < maxKernelFile {
			n, err := f.Read(buf[:min(int64(len(buf)), maxKernelFile-off)])
			off += int64(n)
			sp.write(buf[:n], kf.line)
			tail.keep(buf[:n])
			if errors.Is(err, io.EOF) || n == 0 {
				break
			}
			if err != nil {
				return fmt.Errorf("kernel log %s: %w", path, err)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if err := kf.f.Check(path); err != nil {
			return err
		}
		kf.caughtUp()
		if !sleepCtx(ctx, KernelLogPoll) {
			return ctx.Err()
		}
	}
}

// readTail is the last bytes read from a followed file: a file written again from its start
// with more than was read (dmesg > file) is told from one appended to by them no longer being
// where they were.
type readTail struct {
	b   [64]byte
	n   int
	buf [64]byte
}

func (t *readTail) keep(p []byte) {
	if len(p) >= len(t.b) {
		t.n = copy(t.b[:], p[len(p)-len(t.b):])
		return
	}
	keep := min(t.n, len(t.b)-len(p))
	copy(t.b[:], t.b[t.n-keep:t.n])
	t.n = keep + copy(t.b[keep:], p)
}

func (t *readTail) reset() { t.n = 0 }

// still says whether the bytes kept are still those before off in f.
func (t *readTail) still(f *os.File, off int64) bool {
	if t.n == 0 {
		return true
	}
	n, _ := f.ReadAt(t.buf[:t.n], off-int64(t.n))
	return n == t.n && bytes.Equal(t.buf[:n], t.b[:t.n])
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
