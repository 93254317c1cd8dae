package kubeletlog

import (
	"sync/atomic"
	"time"
)

// lastRecords keeps the last max relevant lines of a pass (ScanOptions.Last). A line the repeat
// cache recognised is kept as its bytes and time, in a slot whose buffer is reused when the ring
// wraps, so an error-dense log costs no allocation per line; the record is built when the pass
// is over. A line parsed in full keeps its record.
type lastRecords struct {
	max   int
	slots []lastSlot
	next  int   // slot to overwrite once the ring is full
	total int64 // lines kept so far

	// In a parallel scan: the second half sets later once it kept max records; the first half's
	// records are then never needed and it stops keeping them.
	later   *atomic.Bool
	isLater bool
}

type lastSlot struct {
	rec     *Record // parsed in full; nil when line holds the line
	line    []byte
	ts      time.Time
	no, off int64
}

func (t *lastRecords) keep(rec *Record, line []byte, ts time.Time, no, off int64) {
	if t.later != nil && !t.isLater && t.later.Load() {
		t.slots, t.next = nil, 0
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
	s.rec, s.ts, s.no, s.off = rec, ts, no, off
	s.line = s.line[:0]
	if rec == nil {
		s.line = append(s.line, line...)
	}
}

// each builds the kept records in order and calls fn for each; lineBase is added to known line
// numbers (the first half's line count, for the second half of a parallel scan). skip drops that
// many of the oldest kept records first.
func (t *lastRecords) each(lp *lineProc, lineBase int64, fn func(*Record) error) error {
	return t.eachSkip(lp, lineBase, 0, fn)
}

func (t *lastRecords) len() int { return len(t.slots) }

func (t *lastRecords) eachSkip(lp *lineProc, lineBase int64, skip int, fn func(*Record) error) error {
	c := newRepeatCache() // the kept lines repeat each other too
	for i := skip; i < len(t.slots); i++ {
		s := &t.slots[(t.next+i)%len(t.slots)]
		rec := s.rec
		if rec == nil {
			// The line parsed before (the cache matched it): parse it again, keeping the time
			// of the pass, where the klog year followed the log.
			p := lp.p
			var ok bool
			if rec, ok = c.parse(&p, s.line); !ok {
				continue
			}
			rec.TS = s.ts
		}
		rec.Source, rec.Line, rec.Offset = lp.opts.Source, s.no, s.off
		if lineBase > 0 && rec.Line > 0 {
			rec.Line += lineBase
		}
		s.rec, s.line = nil, nil
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}
