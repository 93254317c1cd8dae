package kubeletlog

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
