package podlog

import (
	"bytes"
	"fmt"
	"io"

	"github.com/spdoc/spdoc/internal/safefs"
)

// tailBlock is how much Tail reads per step from the end of the file.
const tailBlock = 64 << 10

// Tail returns the last n logical lines of the file at path, reading backwards from the end in
// blocks (never the whole file). An unterminated last line is being written right now and is left
// out (Follow picks it up once complete). n < 0 returns every line.
func Tail(path string, n int) ([]Line, error) {
	lines, _, err := TailEnd(path, n)
	return lines, err
}

// TailEnd is Tail that also returns the offset just after the last complete line, where a
// Follow continuing the tail starts.
func TailEnd(path string, n int) ([]Line, int64, error) {
	f, err := safefs.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("opening container log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("container log %q: %w", path, err)
	}
	raw, end, err := tailRaw(f, st.Size(), n)
	if err != nil {
		return nil, 0, fmt.Errorf("reading container log %q: %w", path, err)
	}
	if n == 0 {
		return nil, end, nil
	}
	var out []Line
	r := NewReader(bytes.NewReader(raw))
	for {
		l, err := r.Next()
		if err != nil {
			break // bytes.Reader only ends with io.EOF
		}
		out = append(out, l)
	}
	if n > 0 && len(out) > n {
		out = out[len(out)-n:]
	}
	return out, end, nil
}

// tailRaw returns the complete physical lines that make up the last n logical lines, and the
// offset after the last complete line. It walks back line by line until it has n F lines, then
// on over the P parts that precede them (per stream, as stdout and stderr interleave), until each
// stream meets an F line that ends an older logical line, or the start of the file.
//
// Lines are found by searching backwards for newlines in blocks, and a line longer than
// maxRawLine is read only up to that cap (as the forward Reader cuts it): a single huge line
// costs time linear in its size and a bounded amount of memory.
func tailRaw(r io.ReaderAt, size int64, n int) ([]byte, int64, error) {
	b := &backReader{r: r}
	eol, err := b.lastNewlineBefore(size)
	if err != nil || eol < 0 {
		return nil, 0, err
	}
	end := eol + 1
	if n == 0 {
		return nil, end, nil
	}
	t := tailState{n: n, open: map[string]bool{}}
	var keep [][]byte
	for lineEnd := end; lineEnd > 0; {
		prev, err := b.lastNewlineBefore(lineEnd - 1)
		if err != nil {
			return nil, 0, err
		}
		start := prev + 1
		raw, err := readCapped(r, start, lineEnd)
		if err != nil {
			return nil, 0, err
		}
		lineEnd = start
		k, done := t.add(raw)
		if k {
			keep = append(keep, raw)
		}
		if done {
			break
		}
	}
	var out []byte
	for i := len(keep) - 1; i >= 0; i-- {
		out = append(out, keep[i]...)
	}
	return out, end, nil
}

// readCapped reads the physical line [start, end) (its newline included), cut to its first
// maxRawLine bytes plus a newline.
func readCapped(r io.ReaderAt, start, end int64) ([]byte, error) {
	cut := end-start > maxRawLine
	if cut {
		end = start + maxRawLine
	}
	raw := make([]byte, end-start, end-start+1)
	if _, err := r.ReadAt(raw, start); err != nil && err != io.EOF {
		return nil, err
	}
	if cut {
		raw = append(raw, '\n')
	}
	return raw, nil
}

// backReader finds newlines backwards from an offset, one cached block at a time.
type backReader struct {
	r    io.ReaderAt
	buf  []byte // the file's bytes [bpos, bpos+len(buf))
	bpos int64
}

// lastNewlineBefore returns the offset of the last '\n' before off, or -1 if there is none.
func (b *backReader) lastNewlineBefore(off int64) (int64, error) {
	for off > 0 {
		if off > b.bpos && off <= b.bpos+int64(len(b.buf)) {
			if i := bytes.LastIndexByte(b.buf[:off-b.bpos], '\n'); i >= 0 {
				return b.bpos + int64(i), nil
			}
			off = b.bpos
			continue
		}
		s := min(int64(tailBlock), off)
		if cap(b.buf) < tailBlock {
			b.buf = make([]byte, tailBlock)
		}
		b.buf = b.buf[:s]
		if _, err := b.r.ReadAt(b.buf, off-s); err != nil && err != io.EOF {
			return 0, err
		}
		b.bpos = off - s
	}
	return -1, nil
}

// tailState decides, line by line from the end, which physical lines make up the last n
// logical lines (n < 0: all of them).
type tailState struct {
	n     int
	fulls int
	open  map[string]bool // streams whose earliest kept line may continue P parts before it
}

// add takes the next physical line back; keep says whether it is part of the tail, done that
// no older line is.
func (t *tailState) add(raw []byte) (keep, done bool) {
	l, partial, err := ParseLine(raw)
	if err != nil {
		return false, false
	}
	if t.n < 0 {
		return true, false
	}
	if t.fulls < t.n {
		if !partial {
			t.fulls++
		}
		t.open[l.Stream] = true
		return true, false
	}
	if !t.open[l.Stream] {
		return false, false
	}
	if !partial {
		t.open[l.Stream] = false // ends an older logical line of this stream
		return false, !t.open[Stdout] && !t.open[Stderr]
	}
	return true, false
}
