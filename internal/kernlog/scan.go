package kernlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxLine is the longest line read whole; a longer one is cut there (the kernel's records are
// at most 1 KiB of text; /dev/kmsg escapes make them up to 4×).
const MaxLine = 64 << 10

// Stats says what a scan read.
type Stats struct {
	Lines   int    `json:"lines"`
	Records int    `json:"records"` // lines in one of the formats
	Format  Format `json:"format,omitempty"`
	// First and Last are the wall times of the first and last record (zero without wall time).
	First time.Time `json:"first,omitzero"`
	Last  time.Time `json:"last,omitzero"`
	// Long counts lines cut at MaxLine.
	Long int `json:"long,omitempty"`
}

// ErrNotKernelLog is returned when nothing read is a kernel log record of a known format.
var ErrNotKernelLog = errors.New("not a kernel log")

// Scan reads a kernel log and calls fn for each event, in log order. source names the input in
// errors. A log in which no line is a record of a known format is ErrNotKernelLog (wrapped).
func Scan(ctx context.Context, r io.Reader, source string, fn func(Event) error) (Stats, error) {
	return ScanBooted(ctx, r, source, time.Time{}, fn)
}

// ScanBooted is Scan for a log of this boot read where it is kept (/dev/kmsg): records that have
// only their time since boot get the wall time boot plus it (zero boot: none).
func ScanBooted(ctx context.Context, r io.Reader, source string, boot time.Time, fn func(Event) error) (Stats, error) {
	var st Stats
	var p Parser
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, long, err := readLine(br)
		if len(line) > 0 || err == nil {
			st.Lines++
			if long {
				st.Long++
			}
			if st.Lines%4096 == 0 && ctx.Err() != nil {
				return st, ctx.Err()
			}
			if l, ok := Parse(line); ok {
				if l.TS.IsZero() && l.HasBoot && !boot.IsZero() {
					l.TS = boot.Add(l.SinceBoot)
				}
				st.Records++
				if st.Format == "" {
					st.Format = l.Format
				}
				if !l.TS.IsZero() {
					if st.First.IsZero() {
						st.First = l.TS
					}
					st.Last = l.TS
				}
				if ev, ok := p.Line(st.Lines, l); ok {
					if err := fn(ev); err != nil {
						return st, err
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("%s: line %d: %w", source, st.Lines+1, err)
		}
	}
	if st.Records == 0 && st.Lines > 0 {
		return st, fmt.Errorf("%s: %w: none of its %d lines is a record of talosctl's dmesg.log, dmesg, dmesg -T/-x/--time-format iso, /dev/kmsg or kern.log", source, ErrNotKernelLog, st.Lines)
	}
	return st, nil
}

// readLine reads one line without its newline, cut at MaxLine (the rest is skipped).
func readLine(br *bufio.Reader) (string, bool, error) {
	var buf []byte
	long := false
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) <= MaxLine {
			buf = append(buf, frag...)
		} else {
			if len(buf) < MaxLine {
				buf = append(buf, frag[:MaxLine-len(buf)]...)
			}
			long = true
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if n := len(buf); n > 0 && buf[n-1] == '\n' {
			buf = buf[:n-1]
		}
		return string(buf), long, err
	}
}
