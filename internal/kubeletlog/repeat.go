package kubeletlog

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"
)

// A broken node's kubelet repeats itself: the same "Error syncing pod" every back-off, the same
// sandbox failure, image pull, watch event, for hours. The lines of such a record differ only in
// their digits — the timestamp, and counters such as a back-off delay or a gRPC subchannel
// number. repeatCache parses each distinct record once: a line's shape is the line with every
// digit masked, and for each shape the cache keeps a few variants (the first line seen, its
// parsed record, and which of its digits are known to be "time only"). A line of a known shape
// whose digits differ from a variant's only where they are known to be time only costs a hash,
// a word-wise compare and a timestamp parse; it gets a copy of the variant's record (the strings
// and the Fields map are shared between these records) with its own TS and Raw.
//
// Nothing here knows a line format: a variant learns which digits are time only by parsing a
// second line of its shape in full and finding the record identical except for TS and Raw; it
// uses the fast path only where liteTime agrees with the full parser on its lines, and Raw only
// when the record's Raw is the tail of its line. Every other case is parsed in full, as before.
// The cache is bounded (repeatBudget bytes per scan goroutine, then it starts over) and steps
// aside on a log where lines rarely repeat, so an all-distinct log costs what it did without it.

const (
	repeatMaxLine  = 4 << 10 // longer lines are parsed, never cached
	repeatBudget   = 4 << 20 // bytes of cached lines and records per cache
	repeatVariants = 8       // variants kept per shape (back-off delays: 10s … 5m0s)
	repeatWindow   = 4096    // lookups per hit-rate window
	repeatBypass   = 1 << 16 // lines parsed without the cache after a window of few hits
)

type repeatCache struct {
	shapes map[uint64]*shape
	bytes  int

	window, windowHits int
	bypass             int

	// set by find for miss: the line's shape (0: not cached) and a variant it nearly matched
	shape uint64
	near  *variant

	// counters for tests and benchmarks
	hits, misses, learned int64
}

type shape struct {
	vs   []*variant
	next int // the variant to replace when full
	// adds and hits count new variants and repeats: a shape whose lines keep differing in more
	// than time (a retry deadline inside the message) stops taking variants
	adds, hits int
}

// volatile reports whether a shape's lines rarely repeat: then they are parsed, not cached.
func (sh *shape) volatile() bool { return sh.adds > 4*repeatVariants && sh.hits < sh.adds }

type variant struct {
	line   []byte   // the line this variant was first parsed from
	vary   []uint64 // one word per 8 bytes of line: 0xff bytes where a digit may differ
	runs   []int    // the time-only runs of line as [start, end) pairs, from vary
	rec    Record   // the parsed record without TS, Raw, Source, Line, Offset
	echoes []echo   // digit runs the record copies into a string field (see echo)
	rawOff int      // Raw is line[rawOff:]; -1 when it is not (no fast path)
	lite   bool     // liteTime agreed with the full parse on this variant's lines
	read   liteRead // liteTime's reading of line: a hit must read the same way
}

// liteRead is how liteTime read a line: a hash of its prefixes (where each ends, its shape and
// damage, the non-time values it gives a record) and where the digits it read as time are. Only
// digits there are learned as time only: elsewhere two lines may parse alike by accident (a
// duplicate JSON key, a PID that overflows) and a third not.
type liteRead struct {
	sig   uint64
	spans [8][2]int
	n     int
}

func (r *liteRead) span(s, e int) {
	if r.n < len(r.spans) {
		r.spans[r.n] = [2]int{s, e}
		r.n++
	}
}

// covers reports whether [s, e) lies in one span.
func (r *liteRead) covers(s, e int) bool {
	for _, sp := range r.spans[:r.n] {
		if s >= sp[0] && e <= sp[1] {
			return true
		}
	}
	return false
}

func newRepeatCache() *repeatCache { return &repeatCache{shapes: map[uint64]*shape{}} }

// parse parses line (without its newline) into a fresh record, through the cache.
func (c *repeatCache) parse(p *Parser, line []byte) (*Record, bool) {
	if v, ts, ok := c.find(p, line); ok {
		p.hitState(ts)
		return v.record(line, ts), true
	}
	return c.miss(p, line)
}

// build fills dst with the record of line, for a line that stays in memory unchanged (a kept
// line in lastRecords' arena): a repeat's Raw points into it instead of being copied.
func (c *repeatCache) build(p *Parser, line []byte, dst *Record) bool {
	if v, ts, ok := c.find(p, line); ok {
		p.hitState(ts)
		*dst = v.rec
		v.fill(dst, line)
		dst.TS, dst.Raw = ts, ""
		if n := len(line) - v.rawOff; n > 0 {
			dst.Raw = unsafe.String(&line[v.rawOff], n)
		}
		return true
	}
	rec, ok := c.miss(p, line)
	if ok {
		*dst = *rec
	}
	return ok
}

// find returns the variant whose line line repeats but for time-only digits, and line's time.
// When it returns false the caller parses the line with miss.
func (c *repeatCache) find(p *Parser, line []byte) (*variant, time.Time, bool) {
	if c.bypass > 0 {
		// stepped aside (lines rarely repeat): a quiet log's every line comes here
		c.bypass--
		c.near, c.shape = nil, 0
		return nil, time.Time{}, false
	}
	return c.lookup(p, line)
}

func (c *repeatCache) lookup(p *Parser, line []byte) (*variant, time.Time, bool) {
	c.near, c.shape = nil, 0
	if len(line) > repeatMaxLine || len(line) == 0 {
		return nil, time.Time{}, false
	}
	c.window++
	if c.window == repeatWindow {
		if c.windowHits < repeatWindow/4 {
			c.bypass = repeatBypass
		}
		c.window, c.windowHits = 0, 0
	}
	c.shape = shapeHash(line)
	sh := c.shapes[c.shape]
	if sh == nil {
		return nil, time.Time{}, false
	}
	for _, v := range sh.vs {
		kind := v.match(line)
		if kind == matchNone {
			continue
		}
		if kind == matchDigits {
			if c.near == nil {
				c.near = v
			}
			continue
		}
		ts, ok := time.Time{}, v.lite && v.rawOff >= 0
		if ok {
			var rd liteRead
			year, month, src := p.Year, p.lastMonth, p.yearSrc
			ts, ok = p.liteTime(line, 0, 0, &rd)
			// time-only digits of a prefix (a journald day, a syslog hour) may, with other
			// values, make it no prefix at all: the line then reads differently, so parse it
			ok = ok && rd.sig == v.read.sig
			if !ok {
				// as if liteTime never ran: the line is parsed from the state before it, or
				// not at all (the prefilter may drop a line find saw first)
				p.Year, p.lastMonth, p.yearSrc = year, month, src
			}
		}
		if !ok {
			c.shape = 0 // a known line without a fast path: parse it, nothing to learn
			return nil, time.Time{}, false
		}
		c.hits++
		c.windowHits++
		sh.hits++
		return v, ts, true
	}
	return nil, time.Time{}, false
}

// miss parses line in full after find returned false, and learns from it: a new variant, or
// which digits of a near one are time only.
func (c *repeatCache) miss(p *Parser, line []byte) (*Record, bool) {
	rec, ok := parseFresh(p, line)
	if !ok || c.shape == 0 || p.glued != nil || rec.Damage != "" {
		// a damaged line was repaired with the parser's state (the last time, the next line)
		return rec, ok
	}
	c.misses++
	sh := c.shapes[c.shape]
	if sh != nil && sh.volatile() {
		return rec, true
	}
	if c.near != nil {
		// the line is one of sh's variants with new time-only digits, or a new variant
		for _, v := range sh.vs {
			if v.rawOff >= 0 && v.match(line) == matchDigits && c.learn(v, p, line, rec) {
				return rec, true
			}
		}
	}
	if sh == nil {
		sh = &shape{}
		c.shapes[c.shape] = sh
	}
	c.add(sh, p, line, rec)
	return rec, true
}

// parseFresh is the full parse.
func parseFresh(p *Parser, line []byte) (*Record, bool) {
	rec := new(Record)
	if !p.parseInto(rec, line, 0) {
		return rec, false
	}
	return rec, true
}

// record builds the record of a line that matches v but for its time-only digits.
func (v *variant) record(line []byte, ts time.Time) *Record {
	rec := new(Record)
	*rec = v.rec
	v.fill(rec, line)
	rec.TS = ts
	rec.Raw = string(line[v.rawOff:])
	return rec
}

// add stores a new variant of sh for line and its record.
func (c *repeatCache) add(sh *shape, p *Parser, line []byte, rec *Record) {
	v := &variant{line: bytes.Clone(line), vary: make([]uint64, (len(line)+7)/8), rec: *rec, rawOff: -1}
	if raw := rec.Raw; len(raw) <= len(line) && string(line[len(line)-len(raw):]) == raw {
		v.rawOff = len(line) - len(raw)
	}
	v.rec.TS, v.rec.Raw, v.rec.Source, v.rec.Line, v.rec.Offset = time.Time{}, "", "", 0, 0
	q := *p // liteTime may advance the klog year state; the full parse already did
	ts, ok := q.liteTime(line, 0, 0, &v.read)
	v.lite = ok && ts.Equal(rec.TS)
	size := 2*len(line) + recordSize(&v.rec) + 128
	if c.bytes+size > repeatBudget {
		clear(c.shapes)
		c.bytes = 0
		sh = &shape{}
		c.shapes[c.shape] = sh
	}
	c.bytes += size
	sh.adds++
	if len(sh.vs) < repeatVariants {
		sh.vs = append(sh.vs, v)
		return
	}
	sh.vs[sh.next] = v
	sh.next = (sh.next + 1) % repeatVariants
}

// learn checks whether line, parsed in full into rec, is v's record but for TS and Raw and for
// digits it copies from the line; if so the digit runs in which line differs from v's line may
// differ from now on. A run both lines read as their time is time only. Any other run must be
// an echo: its digits are found, and changed, in exactly one string field of the record (the
// kubelet's volume manager says "No retries permitted until 2026-12-01 06:18:32.92715 +0000 UTC
// m=+96105792.927150011 (durationBeforeRetry 2m2s)" on every retry, and that wall clock in its
// message made every such line a full parse).
func (c *repeatCache) learn(v *variant, p *Parser, line []byte, rec *Record) bool {
	if string(line[v.rawOff:]) != rec.Raw {
		return false
	}
	q := *p
	var rd liteRead
	ts, ok := q.liteTime(line, 0, 0, &rd)
	if !ok || rd.sig != v.read.sig {
		return false
	}
	got := *rec
	got.TS, got.Raw, got.Source, got.Line, got.Offset = time.Time{}, "", "", 0, 0
	// mark every digit run that differs, whole
	vb := make([]byte, len(v.line))
	echoes := v.echoes
	for i := 0; i < len(v.line); i++ {
		if v.line[i] == line[i] {
			continue
		}
		s, e := i, i
		for s > 0 && isDigit(v.line[s-1]) {
			s--
		}
		for e < len(v.line) && isDigit(v.line[e]) {
			e++
		}
		i = e
		for j := s; j < e; j++ {
			vb[j] = 0xff
		}
		if rd.covers(s, e) && v.read.covers(s, e) || hasEcho(echoes, s, e) {
			continue
		}
		ec, ok := v.findEcho(s, e, line, &got)
		if !ok {
			return false
		}
		echoes = append(echoes[:len(echoes):len(echoes)], ec)
	}
	want := v.rec
	(&variant{echoes: echoes}).fill(&want, line)
	if !reflect.DeepEqual(&got, &want) {
		return false
	}
	v.echoes = echoes
	v.lite = v.lite && ts.Equal(rec.TS)
	for w := range v.vary {
		var word [8]byte
		copy(word[:], vb[w*8:])
		v.vary[w] |= binary.LittleEndian.Uint64(word[:])
	}
	v.runs = v.runs[:0]
	for i := 0; i < len(v.line); i++ {
		if v.vary[i/8]>>(8*(i%8))&0xff != 0 && (i == 0 || v.vary[(i-1)/8]>>(8*((i-1)%8))&0xff == 0) {
			v.runs = append(v.runs, i)
		}
		if v.vary[i/8]>>(8*(i%8))&0xff != 0 && (i+1 == len(v.line) || v.vary[(i+1)/8]>>(8*((i+1)%8))&0xff == 0) {
			v.runs = append(v.runs, i+1)
		}
	}
	c.learned++
	return true
}

// echo is a digit run [s, e) of a variant's line that its record copies, as is, into a string
// field at k.
type echo struct {
	s, e, k int
	field   int // index in echoFields
}

// echoFields are the string fields an echo may land in.
var echoFields = [...]func(*Record) *string{
	func(r *Record) *string { return &r.Msg },
	func(r *Record) *string { return &r.Err },
	func(r *Record) *string { return &r.Path },
	func(r *Record) *string { return &r.PodName },
	func(r *Record) *string { return &r.PodNamespace },
	func(r *Record) *string { return &r.PodUID },
	func(r *Record) *string { return &r.ContainerID },
	func(r *Record) *string { return &r.ContainerName },
	func(r *Record) *string { return &r.Image },
}

func hasEcho(echoes []echo, s, e int) bool {
	for _, ec := range echoes {
		if ec.s == s && ec.e == e {
			return true
		}
	}
	return false
}

// findEcho finds the one place of the record where the digit run [s, e) of v's line is copied:
// a field that has v.line's digits there in v's record and line's digits there in got, with no
// digit next to them. No place, or more than one, is no echo. A run just after a backslash may
// be an escape (\u00e9, \101) that the parser decodes: never an echo.
func (v *variant) findEcho(s, e int, line []byte, got *Record) (echo, bool) {
	for j := max(s-10, 0); j < s; j++ {
		if v.line[j] == '\\' {
			return echo{}, false
		}
	}
	old, cur := string(v.line[s:e]), string(line[s:e])
	found, n := echo{}, 0
	for f, field := range echoFields {
		vf, gf := *field(&v.rec), *field(got)
		if vf == gf || len(vf) != len(gf) {
			continue
		}
		for k := 0; ; {
			i := strings.Index(vf[k:], old)
			if i < 0 {
				break
			}
			k += i
			if gf[k:k+len(cur)] == cur && (k == 0 || !isDigit(vf[k-1])) && (k+len(old) == len(vf) || !isDigit(vf[k+len(old)])) {
				found, n = echo{s: s, e: e, k: k, field: f}, n+1
			}
			k++
		}
	}
	return found, n == 1
}

// fill writes line's digits of v's echoes into rec, a copy of v's record: a field that changes
// gets a new string, the others stay shared with v.
func (v *variant) fill(rec *Record, line []byte) {
	var bufs [len(echoFields)][]byte
	for _, ec := range v.echoes {
		f := echoFields[ec.field](rec)
		digits := line[ec.s:ec.e]
		if bufs[ec.field] == nil {
			if (*f)[ec.k:ec.k+len(digits)] == string(digits) {
				continue
			}
			bufs[ec.field] = []byte(*f)
		}
		copy(bufs[ec.field][ec.k:], digits)
	}
	for i, b := range bufs {
		if b != nil {
			*echoFields[i](rec) = unsafe.String(unsafe.SliceData(b), len(b))
		}
	}
}

func recordSize(r *Record) int {
	n := len(r.Caller) + len(r.Msg) + len(r.Err) + len(r.Path) + len(r.PodName) + len(r.PodNamespace) + len(r.PodUID) +
		len(r.ContainerID) + len(r.ContainerName) + len(r.Image) + 256
	for k, v := range r.Fields {
		n += len(k) + len(v) + 32
	}
	return n
}

// matchRuns reports whether line equals v.line outside the time-only runs and has digits in them.
func (v *variant) matchRuns(line []byte) bool {
	prev := 0
	for i := 0; i+1 < len(v.runs); i += 2 {
		s, e := v.runs[i], v.runs[i+1]
		if !bytes.Equal(line[prev:s], v.line[prev:s]) {
			return false
		}
		for _, c := range line[s:e] {
			if !isDigit(c) {
				return false
			}
		}
		prev = e
	}
	return bytes.Equal(line[prev:], v.line[prev:])
}

type matchKind int

const (
	matchNone   matchKind = iota // another shape (hash collision)
	matchDigits                  // same shape, a digit differs where it is not known to be time only
	matchExact                   // same but for time-only digits
)

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// digitMask returns 0xff in every byte of w that is an ASCII digit, 0 elsewhere (SWAR: no carry
// crosses a byte, as every byte is at most 0x7f after masking its high bit).
func digitMask(w uint64) uint64 {
	lo := w &^ highs
	ge0 := (lo + ones*(0x80-'0')) & highs
	gt9 := (lo + ones*(0x80-'9'-1)) & highs
	d := ge0 &^ gt9 &^ (w & highs)
	return (d >> 7) * 0xff
}

func loadWord(b []byte, i int) uint64 {
	if i+8 <= len(b) {
		return binary.LittleEndian.Uint64(b[i:])
	}
	var w [8]byte
	copy(w[:], b[i:])
	return binary.LittleEndian.Uint64(w[:])
}

// shapeHash hashes the shape of line — its length and bytes, every digit as '0' — from its first
// 32 bytes, its last 24 and every fourth word between: it only picks the bucket, variant.match
// compares the whole line.
func shapeHash(line []byte) uint64 {
	h := uint64(len(line)) * 0x9e3779b97f4a7c15
	mix := func(w uint64) {
		m := digitMask(w)
		h = (h ^ (w&^m | ones*'0'&m)) * 0xbf58476d1ce4e5b9
		h ^= h >> 29
	}
	n := len(line)
	if n < 64 {
		for i := 0; i < n; i += 8 {
			mix(loadWord(line, i))
		}
		return h
	}
	for i := 0; i < 32; i += 8 {
		mix(binary.LittleEndian.Uint64(line[i : i+8]))
	}
	for i := 32; i+8 <= n-24; i += 32 {
		mix(binary.LittleEndian.Uint64(line[i : i+8]))
	}
	for i := n - 24; i < n; i += 8 {
		mix(binary.LittleEndian.Uint64(line[i : i+8]))
	}
	return h
}

// epochMillis is parseEpochMillis for digits with an optional fraction, without its allocations.
func epochMillis(b []byte) (time.Time, bool) {
	i := 0
	var ms int64
	for ; i < len(b) && isDigit(b[i]); i++ {
		ms = ms*10 + int64(b[i]-'0')
	}
	if i == 0 || i > 15 || (i < len(b) && b[i] != '.') {
		return parseEpochMillis(unsafe.String(&b[0], len(b)))
	}
	var ns int64
	scale := int64(100000)
	for i++; i < len(b) && scale > 0; i++ {
		if !isDigit(b[i]) {
			return time.Time{}, false
		}
		ns += int64(b[i]-'0') * scale
		scale /= 10
	}
	for ; i < len(b); i++ {
		if !isDigit(b[i]) {
			return time.Time{}, false
		}
	}
	return time.UnixMilli(ms).Add(time.Duration(ns)), true
}

// match compares line with v.line: bytes may differ only where both are digits, and for an
// exact match only where v knows the digits to be time only. The usual case — a repeat — is a
// few memequal calls around the time-only runs; anything else is compared word by word.
func (v *variant) match(line []byte) matchKind {
	if len(line) != len(v.line) {
		return matchNone
	}
	if v.matchRuns(line) {
		return matchExact
	}
	kind := matchExact
	cmp := func(a, b, vary uint64) bool {
		d := a ^ b
		if d == 0 {
			return true
		}
		// bytes that differ, as 0xff masks
		db := (((d &^ highs) + ones*0x7f) | d) & highs
		db = (db >> 7) * 0xff
		if db&^(digitMask(a)&digitMask(b)) != 0 {
			return false
		}
		if db&^vary != 0 {
			kind = matchDigits
		}
		return true
	}
	ref, vary := v.line, v.vary
	i, w := 0, 0
	for ; i+8 <= len(line) && w < len(vary); i, w = i+8, w+1 {
		if !cmp(binary.LittleEndian.Uint64(line[i:i+8]), binary.LittleEndian.Uint64(ref[i:i+8]), vary[w]) {
			return matchNone
		}
	}
	if i < len(line) && w < len(vary) && !cmp(loadWord(line, i), loadWord(ref, i), vary[w]) {
		return matchNone
	}
	return kind
}

const jsonTSKey = `{"ts":`

// liteTime reads just the timestamp of a line whose record is otherwise known — the JSON "ts"
// key, the klog header, behind any journald/syslog/talosctl header scanHeader knows — with the
// parser state a full parse would leave (klog's year, the header time). It returns false where it
// does not know the line; the cache uses it only where it agreed with the full parser. rd
// records how it read the line (see liteRead); base is line's offset in the whole line.
func (p *Parser) liteTime(line []byte, depth, base int, rd *liteRead) (time.Time, bool) {
	for len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		line = line[1:]
		base++
	}
	if len(line) == 0 || depth > 2 {
		return time.Time{}, false
	}
	switch {
	case line[0] == '{':
		if n := len(jsonTSKey); len(line) > n && string(line[:n]) == jsonTSKey && isDigit(line[n]) {
			// the kubelet's own layout: the time is the first key
			end := n
			for end < len(line) && (isDigit(line[end]) || line[end] == '.') {
				end++
			}
			if end < len(line) && (line[end] == ',' || line[end] == '}') && !(line[n] == '0' && end > n+1 && isDigit(line[n+1])) {
				rd.span(base+n, base+end)
				return epochMillis(line[n:end])
			}
		}
		// The line has the shape of one that parsed, and differs from it only in time-only
		// digits: it is valid JSON unless such a digit now starts a number with a 0.
		v := gjson.GetBytes(line, "ts")
		if v.Type == gjson.Number && len(v.Raw) > 1 && v.Raw[0] == '0' && isDigit(v.Raw[1]) {
			return time.Time{}, false
		}
		if v.Index > 0 {
			rd.span(base+v.Index, base+v.Index+len(v.Raw))
		}
		return parseJSONTime(v)
	case isKlogHeader(line):
		end := 15
		for end < len(line) && isDigit(line[end]) {
			end++
		}
		rd.span(base+1, base+end)
		return p.klogHeaderTime(line)
	}
	h, ok := scanHeader(line)
	if !ok || h.unstructured {
		return time.Time{}, false
	}
	prev := p.hdrTime
	t, timeOK := h.time(p.Location)
	if timeOK {
		p.hdrTime = t
	} else {
		p.hdrTime = time.Time{}
	}
	defer func() { p.hdrTime = prev }()
	rd.sig = hdrSig(rd.sig, &h, timeOK)
	for _, sp := range h.times[:h.nt] {
		rd.span(base+sp[0], base+sp[1])
	}
	return p.liteTime(line[h.payload:], depth+1, base+h.payload, rd)
}

// hdrSig mixes how a prefix was read into sig.
func hdrSig(sig uint64, h *hdr, timeOK bool) uint64 {
	mix := func(x uint64) {
		sig = (sig ^ x) * 0xbf58476d1ce4e5b9
		sig ^= sig >> 29
	}
	// where the prefix ends and the values it gives a record that are no time
	for _, x := range [...]int{h.payload, h.off, h.hostS, h.hostE, h.tagS, h.tagE, h.nodeS, h.nodeE, h.pid} {
		mix(uint64(x))
	}
	mix(uint64(h.lineNo))
	for _, s := range [...]string{string(h.shape), h.damage} {
		for i := 0; i < len(s); i++ {
			mix(uint64(s[i]))
		}
		mix(0xff)
	}
	flags := uint64(0)
	for i, b := range [...]bool{timeOK, h.hasDate, h.hasYear, h.unix, h.unstructured} {
		if b {
			flags |= 1 << i
		}
	}
	mix(flags | 1<<8)
	return sig
}

// klogHeaderTime is the time parseKlog gives a klog header (the same checks, the same year
// state), or false when parseKlog would also look at the line's content for the year.
func (p *Parser) klogHeaderTime(line []byte) (time.Time, bool) {
	month, day := time.Month(atoi2(line[1:3])), atoi2(line[3:5])
	hh, mm, ss := atoi2(line[6:8]), atoi2(line[9:11]), atoi2(line[12:14])
	if month < 1 || month > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	var ns, scale int64 = 0, 100000000
	for i := 15; i < len(line) && isDigit(line[i]); i++ {
		if scale > 0 {
			ns += int64(line[i]-'0') * scale
			scale /= 10
		}
	}
	t := p.klogTime(month, day, hh, mm, ss, ns)
	if p.yearSrc == YearFromNow {
		return time.Time{}, false
	}
	return t, true
}

// hitState leaves the parser as parsing a repeat of a cached line in full would: its time is
// the last one, nothing absorbed, nothing glued.
func (p *Parser) hitState(ts time.Time) {
	p.absorbed, p.glued = false, nil
	if !ts.IsZero() {
		p.lastTS = ts
	}
}
