package podlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"
)

// maxRawLine caps one physical line read from a file; the kubelet writes at most 16 KiB of
// message per line, anything longer is not a CRI log and is cut.
const maxRawLine = 64 << 10

// Reader reads logical lines from a CRI log stream, joining P parts until F (per stream).
// Lines that are not CRI log lines are counted in Skipped, never fatal.
type Reader struct {
	br      *bufio.Reader
	j       joiner
	ready   []Line
	lineNo  int64
	skipped int64
	firstEr error
	eof     bool
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Skipped is the number of physical lines that were not CRI log lines.
func (r *Reader) Skipped() int64 { return r.skipped }

// FirstError describes the first skipped line (with its line number), nil if none.
func (r *Reader) FirstError() error { return r.firstEr }

// Next returns the next logical line, or io.EOF. At the end of the stream lines still waiting
// for their F part are returned as they are.
func (r *Reader) Next() (Line, error) {
	for {
		if len(r.ready) > 0 {
			l := r.ready[0]
			r.ready = r.ready[1:]
			return l, nil
		}
		if r.eof {
			return Line{}, io.EOF
		}
		raw, err := readLine(r.br)
		if len(raw) > 0 {
			r.lineNo++
			l, partial, perr := ParseLine(raw)
			if perr != nil {
				r.skipped++
				if r.firstEr == nil {
					r.firstEr = fmt.Errorf("line %d: %w", r.lineNo, perr)
				}
			} else if out, ok := r.j.add(l, partial); ok {
				return out, nil
			}
		}
		if err == io.EOF {
			r.eof = true
			r.ready = r.j.flush()
			continue
		}
		if err != nil {
			return Line{}, err
		}
	}
}

// readLine reads one physical line (with its '\n' if present), cutting it at maxRawLine and
// discarding the rest of an over-long line. The result is only valid until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	chunk, err := br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return chunk, err // the common case: the line fits the buffer, no copy
	}
	buf := append([]byte(nil), chunk...)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) <= maxRawLine {
			buf = append(buf, chunk...)
		} else if len(buf) < maxRawLine {
			buf = append(buf, chunk[:maxRawLine-len(buf)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, err
	}
}

// ReadAll reads every logical line of the file at path. Use Scan or Tail for files that may be
// large.
func ReadAll(path string) ([]Line, error) {
	var out []Line
	err := Scan(context.Background(), path, time.Time{}, func(l Line) error {
		out = append(out, l)
		return nil
	})
	return out, err
}

// Scan calls fn for every logical line of the file at path whose timestamp is not before since
// (zero: all). Container logs are written in time order, so Scan seeks to since by binary search
// over byte offsets instead of reading the whole file. An error from fn stops the scan and is
// returned.
func Scan(ctx context.Context, path string, since time.Time, fn func(Line) error) error {
	f, err := safefs.Open(path)
	if err != nil {
		return fmt.Errorf("opening container log: %w", err)
	}
	defer f.Close()
	var start int64
	if !since.IsZero() {
		if start, err = seekSince(f, since); err != nil {
			return fmt.Errorf("container log %q: %w", path, err)
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("container log %q: %w", path, err)
	}
	r := NewReader(f)
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		l, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading container log %q: %w", path, err)
		}
		if !since.IsZero() && l.TS.Before(since) {
			continue
		}
		if err := fn(l); err != nil {
			return err
		}
	}
}

// seekSince returns an offset at or before the first line with a timestamp >= since, found by
// binary search over line starts. Lines that don't parse are skipped while probing.
func seekSince(f *os.File, since time.Time) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	lo, hi := int64(0), st.Size() // invariant: the answer is a line start in [lo, hi]
	for hi-lo > 64<<10 {
		mid := lo + (hi-lo)/2
		ts, lineStart, ok, err := firstTSAfter(f, mid, hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = mid
			continue
		}
		if ts.Before(since) {
			lo = lineStart
		} else {
			hi = mid
		}
	}
	// Back to the start of the line lo is in: lo is either 0 or a line start already.
	return lo, nil
}

// firstTSAfter finds the first parseable line starting after off (and before limit).
func firstTSAfter(f *os.File, off, limit int64) (time.Time, int64, bool, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, limit-off), 64<<10)
	pos := off
	skip := off > 0 // the first (partial) line belongs to the previous line start
	for pos < limit {
		raw, err := readLine(br)
		start := pos
		pos += int64(len(raw))
		if !skip && len(raw) > 0 && raw[len(raw)-1] == '\n' {
			if l, _, perr := ParseLine(raw); perr == nil {
				return l.TS, start, true, nil
			}
		}
		skip = false
		if err == io.EOF {
			break
		}
		if err != nil {
			return time.Time{}, 0, false, err
		}
		if len(raw) >= maxRawLine {
			// readLine discarded the rest of the line: pos is no longer exact, stop probing here.
			break
		}
	}
	return time.Time{}, 0, false, nil
}
