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
// offset after the last complete line. It walks back block by block until it has n F lines, then
// on over the P parts that precede them (per stream, as stdout and stderr interleave), until each
// stream meets an F line that ends an older logical line, or the start of the file.
func tailRaw(r io.ReaderAt, size int64, n int) ([]byte, int64, error) {
	end := size
	var buf []byte // the bytes [pos, end) read so far
	pos := end
	terminated := false
	var keep [][]byte
	found := false
	step := int64(tailBlock) / 2
	for pos > 0 && !found {
		if step < 16*tailBlock {
			step *= 2 // grow, so a large n costs O(size) and not O(size²) re-scans
		}
		s := min(step, pos)
		block := make([]byte, s, int(s)+len(buf))
		if _, err := r.ReadAt(block, pos-s); err != nil && err != io.EOF {
			return nil, 0, err
		}
		pos -= s
		buf = append(block, buf...)
		if !terminated {
			// Find the last newline; everything after it is an unterminated line.
			i := bytes.LastIndexByte(buf, '\n')
			if i < 0 {
				continue
			}
			end = pos + int64(i) + 1
			buf = buf[:i+1]
			terminated = true
		}
		if n < 0 {
			continue
		}
		keep, found = tailLines(buf, pos == 0, n)
	}
	if !terminated {
		return nil, 0, nil
	}
	if n < 0 {
		return buf, end, nil
	}
	var out []byte
	for i := len(keep) - 1; i >= 0; i-- {
		out = append(out, keep[i]...)
	}
	return out, end, nil
}

// tailLines scans buf (complete lines; the first may be cut unless atStart) backwards and returns
// the physical lines to keep, last first. found is false when buf does not reach back far enough.
func tailLines(buf []byte, atStart bool, n int) (keep [][]byte, found bool) {
	fulls := 0
	open := map[string]bool{} // streams whose earliest kept line may continue P parts before it
	i := len(buf)
	for i > 0 {
		j := bytes.LastIndexByte(buf[:i-1], '\n') // end of the previous line
		if j < 0 && !atStart {
			return nil, false // the line at the start of buf may be cut: need more
		}
		start := j + 1
		raw := buf[start:i]
		i = start
		l, partial, err := ParseLine(raw)
		if err != nil {
			continue
		}
		if fulls < n {
			if !partial {
				fulls++
			}
			open[l.Stream] = true
			keep = append(keep, raw)
			continue
		}
		if !open[l.Stream] {
			continue
		}
		if !partial {
			open[l.Stream] = false // ends an older logical line of this stream
			if !open[Stdout] && !open[Stderr] {
				return keep, true
			}
			continue
		}
		keep = append(keep, raw)
	}
	return keep, atStart
}
