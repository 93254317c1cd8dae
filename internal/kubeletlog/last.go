package kubeletlog

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// lastRecords keeps the last max relevant lines of a pass (ScanOptions.Last). A line the repeat
// cache recognised is kept as its time and where it is: in a file (src set), its offset, length
// and shape, read back when the pass is over; in a stream, its bytes (packed in arena chunks,
// freed oldest first as the ring wraps). An error-dense log so costs no allocation per line, and
// on a file no copy either: the kept lines of both halves of a parallel scan were 2 × 9 MB of
// live heap at its start. The record is built when the pass is over. A line parsed in full keeps
// its record.
type lastRecords struct {
	max   int
	slots []lastSlot
	next  int   // slot to overwrite once the ring is full
	total int64 // lines kept so far
	arena lineArena

	// In a parallel scan: the second half sets later once it kept max records; the first half's
	// records are then never needed and it stops keeping them.
	later   *atomic.Bool
	isLater bool

	// src is the file the pass reads, when it is one (ScanFile on an uncompressed file): kept
	// lines are read back from it by offset.
	src  io.ReaderAt
	name string // src's name, for errors
}

type lastSlot struct {
	rec   *Record // parsed in full; nil when line holds the line, or src has it at off
	line  []byte  // in chunk
	chunk *arenaChunk
	n     int    // with src: the line's length at off
	shape uint64 // with src: its shapeHash, checked when it is read back
	ts    time.Time
	no    int64
	off   int64
}

// lineArena packs kept lines into chunks; a chunk goes when no slot uses it any more. Slots are
// overwritten oldest first, so chunks are freed in order and the arena holds little beyond the
// lines themselves (per-line buffers would each keep the longest line their slot ever held).
type lineArena struct {
	chunks []*arenaChunk // oldest first; the last one takes new lines
	spare  *arenaChunk   // a chunk no slot uses any more, for the next one
}

type arenaChunk struct {
	buf  []byte
	live int // slots using it
}

const arenaChunkSize = 256 << 10

func (a *lineArena) put(line []byte) (*arenaChunk, []byte) {
	var c *arenaChunk
	if n := len(a.chunks); n > 0 && cap(a.chunks[n-1].buf)-len(a.chunks[n-1].buf) >= len(line) {
		c = a.chunks[n-1]
	} else {
		if c = a.spare; c != nil && cap(c.buf) >= len(line) {
			a.spare, c.buf = nil, c.buf[:0]
		} else {
			c = &arenaChunk{buf: make([]byte, 0, max(arenaChunkSize, len(line)))}
		}
		a.chunks = append(a.chunks, c)
	}
	start := len(c.buf)
	c.buf = append(c.buf, line...)
	c.live++
	return c, c.buf[start:len(c.buf):len(c.buf)]
}

func (a *lineArena) release(c *arenaChunk) {
	c.live--
	for len(a.chunks) > 1 && a.chunks[0].live == 0 {
		if cap(a.chunks[0].buf) == arenaChunkSize {
			a.spare = a.chunks[0] // its lines are gone: nothing points into it
		}
		a.chunks[0] = nil
		a.chunks = a.chunks[1:]
	}
}

func (t *lastRecords) keep(rec *Record, line []byte, shape uint64, ts time.Time, no, off int64) {
	if t.later != nil && !t.isLater && t.later.Load() {
		t.slots, t.next, t.arena = nil, 0, lineArena{}
		return
	}
	var s *lastSlot
	if len(t.slots) < t.max {
		t.slots = append(t.slots, lastSlot{})
		s = &t.slots[len(t.slots)-1]
	} else {
		s = &t.slots[t.next]
		t.next = (t.next + 1) % t.max
	}
	t.total++
	if t.isLater && t.total == int64(t.max) {
		t.later.Store(true)
	}
	if s.chunk != nil {
		t.arena.release(s.chunk)
	}
	s.rec, s.ts, s.no, s.off, s.chunk, s.line, s.n = rec, ts, no, off, nil, nil, 0
	if rec == nil {
		if t.src != nil {
			s.n, s.shape = len(line), shape
			return
		}
		s.chunk, s.line = t.arena.put(line)
	}
}

// ErrChangedWhileRead is wrapped when a kept line read back from a log file is no longer the line
// the pass read there: the file was truncated or rewritten during the pass (copytruncate).
var ErrChangedWhileRead = errors.New("changed while it was read")

// readBack is the window kept lines are read back through: they are near each other, at the end
// of the file or of a half.
const readBack = 1 << 20

// reader reads kept lines back from src, window by window.
type reader struct {
	t      *lastRecords
	buf    []byte
	bufOff int64
}

// line reads s's line back into the arena and checks it is still the line the pass read.
func (r *reader) line(s *lastSlot) error {
	end := s.off + int64(s.n)
	if r.buf == nil || s.off < r.bufOff || end > r.bufOff+int64(len(r.buf)) {
		if cap(r.buf) < max(readBack, s.n) {
			r.buf = make([]byte, max(readBack, s.n))
		}
		r.buf = r.buf[:cap(r.buf)]
		n, err := r.t.src.ReadAt(r.buf, s.off)
		if n < s.n {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: it ends before offset %d (truncated?)", ErrChangedWhileRead, end)
			}
			return fmt.Errorf("reading back %s: %w", r.t.name, err)
		}
		r.buf, r.bufOff = r.buf[:n], s.off
	}
	b := r.buf[s.off-r.bufOff : end-r.bufOff]
	if shapeHash(b) != s.shape {
		return fmt.Errorf("reading back %s: %w: the line at offset %d is another one (rewritten by copytruncate?)", r.t.name, ErrChangedWhileRead, s.off)
	}
	s.chunk, s.line = r.t.arena.put(b)
	return nil
}

// each builds the kept records in order and calls fn for each; lineBase is added to known line
// numbers (the first half's line count, for the second half of a parallel scan). skip drops that
// many of the oldest kept records first.
func (t *lastRecords) each(lp *lineProc, lineBase int64, fn func(*Record) error) error {
	return t.eachSkip(lp, lineBase, 0, fn)
}

func (t *lastRecords) len() int { return len(t.slots) }

// BuildGCPercent, when > 0, is the Go GC target set when a pass starts to build the records it
// kept (Last); spdoc diagnose sets it. From there the live records grow to the peak of the whole
// run — the caller's analysis of them comes next — and every percent of headroom over them is
// resident memory at that peak, while during the scan a lower target would only cost collections.
// It is left set: a one-shot command's analysis peaks with those records. 0 leaves the GC alone.
var BuildGCPercent int

func (t *lastRecords) eachSkip(lp *lineProc, lineBase int64, skip int, fn func(*Record) error) error {
	if BuildGCPercent > 0 && skip < len(t.slots) {
		debug.SetGCPercent(BuildGCPercent)
	}
	c := newRepeatCache() // the kept lines repeat each other too
	var scratch Record
	back := reader{t: t}
	for i := skip; i < len(t.slots); i++ {
		s := &t.slots[(t.next+i)%len(t.slots)]
		rec := s.rec
		if rec == nil && s.n > 0 {
			if err := back.line(s); err != nil {
				return err
			}
		}
		if rec == nil {
			// The line parsed before (the cache matched it): parse it again, keeping the time
			// of the pass, where the klog year followed the log. Its Raw stays in the arena.
			p := lp.p
			if !c.build(&p, s.line, &scratch) {
				continue
			}
			rec = &scratch
			rec.TS = s.ts
		}
		rec.Source, rec.Line, rec.Offset = lp.opts.Source, s.no, s.off
		if lineBase > 0 && rec.Line > 0 {
			rec.Line += lineBase
		}
		s.rec, s.line, s.chunk = nil, nil, nil
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}
