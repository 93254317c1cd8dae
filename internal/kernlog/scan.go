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
	f := Feeder{Boot: boot}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, long, err := readLine(br)
		if len(line) > 0 || err == nil {
			ev, ok := f.Line(line, long)
			if f.Stats.Lines%4096 == 0 && ctx.Err() != nil {
				return f.Stats, ctx.Err()
			}
			if ok {
				if err := fn(ev); err != nil {
					return f.Stats, err
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return f.Stats, fmt.Errorf("%s: line %d: %w", source, f.Stats.Lines+1, err)
		}
	}
	if err := f.Check(source); err != nil {
		return f.Stats, err
	}
	return f.Stats, nil
}

// Feeder is Scan one line at a time, for a log read as it grows (the agent follows /dev/kmsg or
// a file): the statistics, line numbers and the state of an OOM report carry over between
// lines. The zero Feeder reads a log whose records carry their wall time; Boot gives the others
// theirs (see ScanBooted).
type Feeder struct {
	Boot  time.Time
	Stats Stats
	p     Parser
}

// Line reads the next line (without its newline; long: it was cut at MaxLine) and returns the
// event it completes.
func (f *Feeder) Line(line string, long bool) (Event, bool) {
	st := &f.Stats
	st.Lines++
	if long {
		st.Long++
	}
	l, ok := Parse(line)
	if !ok {
		return Event{}, false
	}
	if l.TS.IsZero() && l.HasBoot && !f.Boot.IsZero() {
		l.TS = f.Boot.Add(l.SinceBoot)
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
	return f.p.Line(st.Lines, l)
}

// Check is ErrNotKernelLog (wrapped, naming source) when lines were read and none of them is a
// record of a known format.
func (f *Feeder) Check(source string) error {
	if st := f.Stats; st.Records == 0 && st.Lines > 0 {
		return fmt.Errorf("%s: %w: none of its %d lines is a record of talosctl's dmesg.log, dmesg, dmesg -T/-x/--time-format iso, /dev/kmsg or kern.log", source, ErrNotKernelLog, st.Lines)
	}
	return nil
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
