package kubeletlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// seekSlack tolerates slightly out-of-order lines (goroutines racing to the log): the seek
	// lands this much before Since, and Scan's Since filter drops the extra lines.
	seekSlack = 5 * time.Second
	// probeBytes is how far a probe reads forward for a line with a timestamp.
	probeBytes = 256 << 10
	// seekLinear is the range size below which the search stops and the scan takes over.
	seekLinear = 64 << 10
)

// seekSince returns the offset of a line start at or before the first line with a timestamp at
// or after since, in a time-ordered file of size bytes, by binary search over byte offsets. Each
// probe reads forward from its offset to the first complete line that parses, so garbage lines
// near a probe point only cost a little more reading.
func seekSince(r io.ReaderAt, size int64, since time.Time, p *Parser) (int64, error) {
	target := since.Add(-seekSlack)
	buf := make([]byte, probeBytes)
	lo, hi := int64(0), size // invariant: lo is a line start at or before the answer
	for hi-lo > seekLinear {
		mid := lo + (hi-lo)/2
		ts, end, ok, err := probe(r, buf, mid, hi, p)
		if err != nil {
			return 0, err
		}
		if ok && ts.Before(target) {
			lo = end
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// probe finds the first complete line that starts after offset from (and before limit) and has a
// timestamp; it returns that timestamp and the offset just past the line.
func probe(r io.ReaderAt, buf []byte, from, limit int64, p *Parser) (time.Time, int64, bool, error) {
	n, err := r.ReadAt(buf, from)
	if err != nil && !errors.Is(err, io.EOF) {
		return time.Time{}, 0, false, err
	}
	b := buf[:n]
	// from is usually mid-line: the first full line starts after the next newline.
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return time.Time{}, 0, false, nil
	}
	pos := i + 1
	for pos < len(b) && from+int64(pos) < limit {
		j := bytes.IndexByte(b[pos:], '\n')
		if j < 0 {
			return time.Time{}, 0, false, nil // the line goes past the probe window
		}
		var rec Record
		if p.parseInto(&rec, trimEOL(b[pos:pos+j]), 0) && !rec.TS.IsZero() {
			end := from + int64(pos+j+1)
			if end > limit {
				return time.Time{}, 0, false, nil
			}
			return rec.TS, end, true, nil
		}
		pos += j + 1
	}
	return time.Time{}, 0, false, nil
}

// scanParallel scans [start, size) of f with two goroutines, one per half (split at a line
// boundary). Records reach fn in file order: the second half's batches wait in a small bounded
// channel until the first half is done, so memory stays bounded (the second worker blocks).
func scanParallel(ctx context.Context, f io.ReaderAt, start, size, firstLine int64, opts ScanOptions, fn func(*Record) error) (Stats, error) {
	split, err := lineBoundary(f, start+(size-start)/2, size)
	if err != nil {
		return Stats{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type half struct {
		lp    *lineProc
		batch chan []*Record
		err   error
	}
	secondLine := int64(0)
	if firstLine > 0 {
		secondLine = 1 // relative; rebased once the first half's line count is known
	}
	halves := [2]*half{
		{lp: newLineProc(opts, firstLine), batch: make(chan []*Record, 4)},
		{lp: newLineProc(opts, secondLine), batch: make(chan []*Record, 4)},
	}
	if t0, t1 := halves[0].lp.tail, halves[1].lp.tail; t0 != nil {
		var later atomic.Bool
		t0.later, t1.later, t1.isLater = &later, &later, true
		t0.src, t1.src = f, f
		t0.name, t1.name = halves[0].lp.sourceName(), halves[0].lp.sourceName()
	}
	bounds := [2][2]int64{{start, split}, {split, size}}
	var wg sync.WaitGroup
	for i, h := range halves {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(h.batch)
			var cur []*Record
			var curBytes int
			flush := func() error {
				if len(cur) == 0 {
					return nil
				}
				select {
				case h.batch <- cur:
				case <-ctx.Done():
					return ctx.Err()
				}
				cur, curBytes = nil, 0
				return nil
			}
			lo, hi := bounds[i][0], bounds[i][1]
			h.err = h.lp.scanRange(ctx, f, lo, hi, func(r *Record) error {
				cur = append(cur, r)
				curBytes += len(r.Raw) + len(r.Err) + len(r.Msg)
				if len(cur) >= 256 || curBytes >= 1<<20 {
					return flush()
				}
				return nil
			})
			if h.err == nil {
				h.err = flush()
			}
		}()
	}

	var ferr error
	for i, h := range halves {
		var base int64
		if i == 1 && firstLine > 0 {
			base = halves[0].lp.lineNo - 1
		}
		for batch := range h.batch {
			if ferr != nil {
				continue
			}
			for _, r := range batch {
				if base > 0 && r.Line > 0 {
					r.Line += base
				}
				if ferr = fn(r); ferr != nil {
					cancel()
					break
				}
			}
		}
	}
	wg.Wait()

	st := halves[0].lp.stats
	st.add(halves[1].lp.stats)
	if ferr != nil {
		return st, ferr
	}
	for _, h := range halves {
		if h.err != nil {
			return st, h.err
		}
	}
	if t0, t1 := halves[0].lp.tail, halves[1].lp.tail; t0 != nil {
		// Last: the second half's kept records, after as many of the first half's as fit.
		var base int64
		if firstLine > 0 {
			base = halves[0].lp.lineNo - 1
		}
		halves[0].lp.repeats, halves[1].lp.repeats = nil, nil // the pass is over: free them first
		if need := opts.Last - t1.len(); need > 0 {
			if err := t0.eachSkip(halves[0].lp, 0, max(t0.len()-need, 0), fn); err != nil {
				return st, err
			}
		}
		return st, t1.each(halves[1].lp, base, fn)
	}
	return st, nil
}

// lineBoundary returns the offset just past the first newline at or after off (or size).
func lineBoundary(r io.ReaderAt, off, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for off < size {
		n, err := r.ReadAt(buf, off)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return off + int64(i) + 1, nil
		}
		off += int64(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, err
		}
	}
	return size, nil
}
