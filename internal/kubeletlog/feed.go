package kubeletlog

import (
	"bytes"
	"io"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"
)

// Feeder parses lines a caller reads itself, one at a time (a `journalctl -f` pipe), with the
// state of one sequential pass: the repeat cache, multi-line records, klog's year, Stats. Lines
// are numbered from 1 in the order they are fed. It is not safe for concurrent use.
type Feeder struct {
	lp  *lineProc
	off int64
}

// NewFeeder starts a pass with opts (Source, Since, Until, Prefilter; Last is ignored).
func NewFeeder(opts ScanOptions) *Feeder {
	opts.Last = 0
	return &Feeder{lp: newLineProc(opts, 1)}
}

// Line parses one line (with or without its newline) and calls fn for each record it finishes:
// a record is held until the next line shows whether it continues it, or until Flush.
func (f *Feeder) Line(b []byte, fn func(*Record) error) error {
	off := f.off
	f.off += int64(len(b))
	if len(b) > MaxLine {
		f.lp.skipLong(int64(len(b)))
		return f.lp.release(fn)
	}
	return f.lp.line(b, off, fn)
}

// Flush passes the held record on: the stream has nothing more for now.
func (f *Feeder) Flush(fn func(*Record) error) error { return f.lp.release(fn) }

// Stats are the statistics of the pass so far (valid until the next call).
func (f *Feeder) Stats() *Stats { return &f.lp.stats }

// Merge adds the statistics of another pass over a later part of the same log (a rotated
// file, then the current one): counts are summed, First is the earliest, Last the latest, and
// the kubelet facts are combined. s shares nothing with o afterwards when s started empty.
func (s *Stats) Merge(o Stats) { s.add(o) }

// SeeksPastStart says whether ScanFile, given Since, starts a time-ordered file of size bytes
// whose first line is at first past the file's start (and so cannot number its lines): the file
// is longer than the stretch a seek scans linearly and begins before Since (less the seek's
// slack for out-of-order lines). It is exact except when the first line at or after Since lies
// within that first stretch, where ScanFile starts at 0.
func SeeksPastStart(size int64, first, since time.Time) bool {
	return !since.IsZero() && size > seekLinear && !first.IsZero() && first.Before(since.Add(-seekSlack))
}

// FirstTime is the time of the first record in the first 64 KiB of the log file at path (zero
// when there is none): what SeeksPastStart needs. Only that stretch is read.
func FirstTime(path string) time.Time {
	f, err := safefs.Open(path)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	buf := make([]byte, seekLinear)
	n, _ := io.ReadFull(f, buf)
	var p Parser
	if fi, err := f.Stat(); err == nil {
		p.Ref = fi.ModTime()
	}
	for b := buf[:n]; len(b) > 0; {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		var rec Record
		if p.parseInto(&rec, trimEOL(b[:i]), 0) && !rec.TS.IsZero() {
			return rec.TS
		}
		b = b[i+1:]
	}
	return time.Time{}
}
