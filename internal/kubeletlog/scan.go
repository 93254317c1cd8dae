package kubeletlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"
)

// MaxLine is the longest line Scan and Follow parse; longer lines are skipped and counted.
const MaxLine = 2 << 20

// A compressed history file may inflate to MaxDecompressionRatio times its size, and at least
// MaxDecompressedMin: kubelet logs compress 10–20×, a gzip bomb of newlines a thousandfold.
const (
	MaxDecompressionRatio = 100
	MaxDecompressedMin    = 32 << 20
)

// ErrDecompressedTooLarge is wrapped when a compressed log inflates past its cap.
var ErrDecompressedTooLarge = errors.New("decompresses to too much")

// capReader ends a decompressed stream with ErrDecompressedTooLarge past left bytes.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, ErrDecompressedTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// MaxSkippedLine caps how far a scan skips through one over-long line looking for its newline:
// a source without newlines (/dev/zero, a binary file) is an error, not an endless read.
const MaxSkippedLine = 256 << 20

// ScanOptions configure a pass over a log source.
type ScanOptions struct {
	// Source names the source in every Record (file path, "stdin", "journal").
	Source string
	// Since and Until bound the records passed to fn (inclusive Since, exclusive Until); zero
	// means unbounded. ScanFile seeks to Since on an uncompressed time-ordered file.
	Since, Until time.Time
	// Prefilter, when set, sees every raw line first; only lines it accepts are parsed. Use
	// Interesting to parse just what diagnosis needs. It must be safe for concurrent use.
	Prefilter func(line []byte) bool
	// RefYear is the year of the first klog text line (klog headers have no year); the year
	// then follows Dec→Jan rollovers. Zero: the year that puts each line at or before RefTime.
	RefYear int
	// RefTime is the reference time for klog's missing year when RefYear is zero. Zero: now
	// (ScanFile: the file's modification time).
	RefTime time.Time
	// Location is the time zone of klog headers; nil means time.Local.
	Location *time.Location
	// Last, when > 0, passes only the last Last records in [Since, Until) to fn, in order, after
	// the whole pass; the others are only counted in Stats (like a bounded buffer of the newest
	// records, without building a record for every line of an error-dense log). With Last, fn's
	// record may be reused once fn returns: copy it to keep it.
	Last int
	// NoRepeatCache parses every line in full. By default a line that repeats an earlier one but
	// for its timestamp gets a copy of that line's record (see repeat.go): the records are the
	// same, but such records share their strings and Fields map, which must not be modified.
	NoRepeatCache bool

	refSource string // where RefTime came from (YearFromMtime), for Stats.YearSource
}

func (o *ScanOptions) parser() Parser {
	return Parser{Ref: o.RefTime, Year: o.RefYear, Location: o.Location, RefSource: o.refSource}
}

// Open opens a log file for reading, transparently gunzipping it when it starts with the gzip
// magic bytes (whatever its name).
func Open(path string) (io.ReadCloser, error) {
	f, err := safefs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening kubelet log: %w", err)
	}
	r, err := Uncompress(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading kubelet log %q: %w", path, err)
	}
	return readCloser{r, f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

var gzipMagic = []byte{0x1f, 0x8b}

// Uncompress returns r itself, or a gunzipping reader when r starts with the gzip magic bytes.
func Uncompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if !bytes.Equal(head, gzipMagic) {
		return br, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return zr, nil
}

// Scan streams r line by line with a bounded buffer, parses each line (only those opts.Prefilter
// accepts, when set) and calls fn for every record in [Since, Until). A line in no known format,
// or longer than MaxLine, is counted in Stats.Skipped, never fatal. fn's error stops the scan and
// is returned. Records are fresh for each call; fn may keep them.
func Scan(ctx context.Context, r io.Reader, opts ScanOptions, fn func(*Record) error) (Stats, error) {
	lp := newLineProc(opts, 1)
	err := lp.scan(ctx, r, 0, fn)
	if err == nil {
		err = lp.flush(fn)
	}
	return lp.stats, err
}

// lineProc parses lines for one sequential pass.
type lineProc struct {
	opts   ScanOptions
	p      Parser
	stats  Stats
	lineNo int64 // number of the next line; 0 when unknown (after a seek)
	// held is the last record, kept until the next line shows whether it continues it (see
	// continuation.go).
	held heldRecord

	repeats *repeatCache // nil: every line is parsed in full
	// findFirst looks a line up in the repeat cache before the prefilter, which then runs only
	// on a miss: set when the prefilter is Interesting, whose answer no time-only digit changes
	// (see digitBlind).
	findFirst bool
	// with findFirst: Interesting's matcher, and its memo of this pass's messages
	matcher *matcher
	memo    *msgMemo
	tail    *lastRecords // with Last: the last records, passed to fn by flush
	// scratch is the record of a repeat with Last: it is counted, its line kept, and reused;
	// scratchShape is its line's shapeHash.
	scratch      Record
	scratchShape uint64
}

func newLineProc(opts ScanOptions, firstLine int64) *lineProc {
	lp := &lineProc{opts: opts, p: opts.parser(), lineNo: firstLine}
	if !opts.NoRepeatCache {
		lp.repeats = newRepeatCache()
		lp.findFirst = opts.Prefilter != nil && isInteresting(opts.Prefilter) && currentMatcher().digitBlind()
		if lp.findFirst {
			lp.matcher, lp.memo = currentMatcher(), newMsgMemo()
		}
		if opts.Last > 0 {
			lp.tail = &lastRecords{max: opts.Last}
		}
	}
	return lp
}

// parse parses one line (without its newline) through the repeat cache: a fresh record, or with
// Last the scratch record for a repeat.
func (lp *lineProc) parse(b []byte) (*Record, bool) {
	if lp.repeats == nil {
		return parseFresh(&lp.p, b)
	}
	v, ts, hit := lp.repeats.find(&lp.p, b)
	return lp.parseFound(b, v, ts, hit)
}

// parseFound is parse after the cache's find.
func (lp *lineProc) parseFound(b []byte, v *variant, ts time.Time, hit bool) (*Record, bool) {
	if !hit {
		return lp.repeats.miss(&lp.p, b)
	}
	lp.p.hitState(ts)
	if lp.tail == nil {
		return v.record(b, ts), true
	}
	r := &lp.scratch
	*r = v.rec
	v.fill(r, b)
	r.TS = ts
	lp.scratchShape = lp.repeats.shape
	if IsFatal(r) { // Stats keeps a copy of the kubelet's last fatal records
		r.Raw = string(b[v.rawOff:])
	}
	return r, true
}

// line handles one line (with or without its newline) that starts at byte offset off.
func (lp *lineProc) line(b []byte, off int64, fn func(*Record) error) error {
	lp.stats.Lines++
	lp.stats.Bytes += int64(len(b))
	no := lp.lineNo
	if lp.lineNo > 0 {
		lp.lineNo++
	}
	b = trimEOL(b)
	if lp.held.rec != nil {
		if lp.join(b) {
			return nil
		}
		if err := lp.release(fn); err != nil {
			return err
		}
	}
	if lp.stats.Lines == 1 {
		lp.stats.FirstLine = validString(b[:min(len(b), maxFirstLine)])
	}
	var rec *Record
	var ok bool
	if lp.findFirst {
		// A repeat of a line the prefilter passed passes it too: skip it on a hit.
		v, ts, hit := lp.repeats.find(&lp.p, b)
		if !hit && !lp.matcher.interesting(b, 0, lp.memo) {
			lp.sniff(b, off)
			return nil
		}
		rec, ok = lp.parseFound(b, v, ts, hit)
	} else {
		if lp.opts.Prefilter != nil && !lp.opts.Prefilter(b) {
			lp.sniff(b, off)
			return nil
		}
		rec, ok = lp.parse(b)
	}
	if !ok {
		if !lp.p.absorbed {
			lp.stats.Skipped++
		}
		return nil
	}
	rec.Source, rec.Line, rec.Offset = lp.opts.Source, no, off
	src := b // the bytes rec was parsed from: a continuation line is joined to them
	for lp.p.glued != nil {
		// two records on one line: the first goes out, the second is parsed like a line
		rest := lp.p.glued
		lp.p.glued = nil
		next := new(Record)
		if !lp.p.parseInto(next, rest, 0) {
			break
		}
		next.Source, next.Line, next.Offset = rec.Source, rec.Line, rec.Offset
		next.addDamage(DamageGlued)
		if next.Node == "" {
			next.Node, next.Host, next.Unit, next.PastedLine = rec.Node, rec.Host, rec.Unit, rec.PastedLine
		}
		if err := lp.emit(rec, fn); err != nil {
			return err
		}
		rec, src = next, rest
	}
	lp.hold(rec, src)
	return nil
}

// emit counts a finished record and passes it to fn when it is in [Since, Until).
func (lp *lineProc) emit(rec *Record, fn func(*Record) error) error {
	lp.stats.Parsed++
	lp.stats.note(rec, lp.p.yearSrc)
	if !rec.TS.IsZero() {
		if lp.stats.First.IsZero() {
			lp.stats.First = rec.TS
		}
		lp.stats.Last = rec.TS
	}
	if !lp.opts.Since.IsZero() && rec.TS.Before(lp.opts.Since) {
		return nil
	}
	if !lp.opts.Until.IsZero() && !rec.TS.Before(lp.opts.Until) {
		return nil
	}
	lp.stats.Relevant++
	if lp.tail != nil {
		if rec == &lp.scratch {
			lp.tail.keep(nil, lp.held.line, lp.scratchShape, rec.TS, rec.Line, rec.Offset)
		} else {
			lp.tail.keep(rec, nil, 0, rec.TS, rec.Line, rec.Offset)
		}
		return nil
	}
	return fn(rec)
}

// flush passes the records Last kept to fn, in order.
func (lp *lineProc) flush(fn func(*Record) error) error {
	if lp.tail == nil {
		return nil
	}
	lp.repeats = nil // the pass is over: free it before the records are built
	return lp.tail.each(lp, 0, fn)
}

// skipLong counts a line longer than MaxLine.
func (lp *lineProc) skipLong(n int64) {
	lp.stats.Lines++
	lp.stats.Skipped++
	lp.stats.Bytes += n
	if lp.lineNo > 0 {
		lp.lineNo++
	}
}

// scan reads r (whose first byte is at offset base in the source) to EOF.
func (lp *lineProc) scan(ctx context.Context, r io.Reader, base int64, fn func(*Record) error) error {
	br := bufio.NewReaderSize(smallReads{r}, readBuffer)
	off := base
	var gather []byte // a line longer than the read buffer, up to MaxLine
	for n := 0; ; n++ {
		if n&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long := int64(len(line))
			gather = append(gather[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				// Each step is MaxLine bytes: check Ctrl-C, and give up on a source that never
				// sends a newline (/dev/zero, a binary file) instead of reading it forever.
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
				if long > MaxSkippedLine {
					return fmt.Errorf("reading %s: no newline in %d bytes from offset %d: not a text log (a binary file or a device?)", lp.sourceName(), long, off)
				}
				line, err = br.ReadSlice('\n')
				long += int64(len(line))
				if len(gather) <= MaxLine {
					gather = append(gather, line...)
				}
			}
			content := long
			if len(line) > 0 && line[len(line)-1] == '\n' {
				content--
			}
			if content < MaxLine {
				line = gather
			} else {
				lp.skipLong(long)
				off += long
				if err == nil {
					continue
				}
				line = nil
			}
			if cap(gather) > 2*readBuffer && content >= MaxLine {
				gather = nil
			}
		}
		if len(line) > 0 {
			if ferr := lp.line(line, off, fn); ferr != nil {
				return ferr
			}
			off += int64(len(line))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return lp.release(fn)
			}
			return fmt.Errorf("reading %s: %w", lp.sourceName(), err)
		}
	}
}

// smallReads caps each read at readChunk bytes: filling a large buffer at once copies the file out
// of the page cache into memory beyond the CPU caches, and then reads it back; small reads keep
// the working set cache-sized.
type smallReads struct{ r io.Reader }

const (
	readChunk  = 128 << 10
	readBuffer = 256 << 10 // lines up to MaxLine are gathered beyond it
)

func (s smallReads) Read(p []byte) (int, error) {
	if len(p) > readChunk {
		p = p[:readChunk]
	}
	return s.r.Read(p)
}

func (lp *lineProc) sourceName() string {
	if lp.opts.Source == "" {
		return "kubelet log"
	}
	return fmt.Sprintf("%q", lp.opts.Source)
}

// parallelMin is the smallest uncompressed range ScanFile splits across two CPUs.
var parallelMin int64 = 32 << 20

// ScanFile scans the log file at path like Scan (Source defaults to path). A gzip file is
// streamed. On an uncompressed file with Since set, it binary-searches the byte offset of the
// first line at or after Since (the kubelet writes its log in time order) instead of reading
// everything before it; a large remainder is scanned by two goroutines, records still reach fn in
// file order.
func ScanFile(ctx context.Context, path string, opts ScanOptions, fn func(*Record) error) (Stats, error) {
	if opts.Source == "" {
		opts.Source = path
	}
	f, err := safefs.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("opening kubelet log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("opening kubelet log: %w", err)
	}
	if opts.RefTime.IsZero() && opts.RefYear == 0 {
		opts.RefTime, opts.refSource = fi.ModTime(), YearFromMtime
	}
	var head [2]byte
	n, _ := f.ReadAt(head[:], 0)
	if !fi.Mode().IsRegular() || bytes.Equal(head[:n], gzipMagic) {
		r, err := Uncompress(f)
		if err != nil {
			return Stats{}, fmt.Errorf("reading kubelet log %q: %w", path, err)
		}
		limit := max(MaxDecompressedMin, MaxDecompressionRatio*fi.Size())
		st, err := Scan(ctx, &capReader{r: r, left: limit}, opts, fn)
		if errors.Is(err, ErrDecompressedTooLarge) {
			err = fmt.Errorf("reading kubelet log %q: %w: more than %d bytes from %d compressed (a gzip bomb?); the rest is left out", path, ErrDecompressedTooLarge, limit, fi.Size())
		}
		return st, err
	}
	size := fi.Size()
	var start int64
	firstLine := int64(1)
	if !opts.Since.IsZero() {
		p := Parser{Ref: opts.RefTime, Location: opts.Location}
		if p.Ref.IsZero() {
			p.Ref = fi.ModTime()
		}
		start, err = seekSince(f, size, opts.Since, &p)
		if err != nil {
			return Stats{}, fmt.Errorf("seeking kubelet log %q: %w", path, err)
		}
		if start > 0 {
			firstLine = 0 // unknown
		}
	}
	if size-start >= parallelMin && runtime.GOMAXPROCS(0) > 1 && opts.RefYear == 0 {
		return scanParallel(ctx, f, start, size, firstLine, opts, fn)
	}
	lp := newLineProc(opts, firstLine)
	if lp.tail != nil {
		lp.tail.src, lp.tail.name = f, lp.sourceName()
	}
	err = lp.scanRange(ctx, f, start, size, fn)
	if err == nil {
		err = lp.flush(fn)
	}
	return lp.stats, err
}

// errNoMap: the file cannot be memory-mapped (a file system without mmap, another OS); it is read.
var errNoMap = errors.New("kubelet log cannot be memory-mapped")

// mapFiles is false in tests that compare the two ways of reading a file.
var mapFiles = true

// scanRange scans [lo, hi) of a file: through memory maps when it can (mmap.go), read otherwise.
func (lp *lineProc) scanRange(ctx context.Context, f io.ReaderAt, lo, hi int64, fn func(*Record) error) error {
	if osf, ok := f.(*os.File); ok && mapFiles {
		if err := lp.scanMapped(ctx, osf, lo, hi, fn); !errors.Is(err, errNoMap) {
			return err
		}
	}
	return lp.scan(ctx, io.NewSectionReader(f, lo, hi-lo), lo, fn)
}
