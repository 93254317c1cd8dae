package kubeletlog

import "encoding/binary"

// The lines Interesting drops repeat too: a busy kubelet writes the same v=2..4 housekeeping —
// eviction manager, cAdvisor stats, probe results, volume reconciler — every few seconds, with
// only its time and counters changed. For a JSON line with a "msg" key, Interesting's answer is a
// function of the line with its digits masked and of one digit, the "v" value right after "msg":
// every key and marker it looks for is digit-free (a digit that becomes another digit makes or
// breaks none of them), its message table holds no digit (digitBlind), and apart from that "v"
// value it only asks whether a byte is a digit. So a line equal to a dropped one but for digits —
// both digits where they differ — and with the same "v" digit is dropped too, at the cost of a
// hash and a word-wise compare instead of the message search. rejectCache remembers such lines; a
// scan uses it only with Interesting as its prefilter (lineProc.findFirst).

const (
	rejectBudget   = 1 << 20 // bytes of remembered lines per cache
	rejectPerShape = 4
)

type rejectCache struct {
	lines map[uint64][]rejectLine
	bytes int

	window, windowHits int
	bypass             int

	hits int64 // for tests and benchmarks
}

type rejectLine struct {
	line []byte
	vpos int // index of the "v" digit Interesting reads, -1 when it reads none
	// runs are the digit runs of line, as [start, end) pairs, in which repeats were seen to
	// differ (the time, a counter): a repeat that differs only there is a few memequal calls.
	runs []int
	slow bool // more than rejectRuns runs: compared word-wise only
}

const rejectRuns = 8 // runs kept per line; a line whose repeats differ in more is compared word-wise

// dropped reports whether line, whose shape hash is h, is a remembered dropped line but for
// digits. It counts the lookup for the hit-rate window.
func (c *rejectCache) dropped(line []byte, h uint64) bool {
	if c.bypass > 0 {
		c.bypass--
		return false
	}
	c.window++
	if c.window == repeatWindow {
		if c.windowHits < repeatWindow/4 {
			c.bypass = repeatBypass
		}
		c.window, c.windowHits = 0, 0
	}
	rs := c.lines[h]
	for i := range rs {
		if rs[i].same(line) {
			c.hits++
			c.windowHits++
			return true
		}
	}
	return false
}

// add remembers line, which Interesting dropped, when its answer depends on nothing but the
// line's shape and its "v" digit.
func (c *rejectCache) add(line []byte, h uint64) {
	if c.bypass > 0 || len(line) > repeatMaxLine {
		return
	}
	vpos, ok := jsonMsgDigit(line)
	if !ok {
		return
	}
	if c.lines == nil {
		c.lines = map[uint64][]rejectLine{}
	}
	size := len(line) + 64
	if c.bytes+size > rejectBudget {
		clear(c.lines)
		c.bytes = 0
	}
	rs := c.lines[h]
	if len(rs) >= rejectPerShape {
		return
	}
	c.bytes += size
	c.lines[h] = append(rs, rejectLine{line: append([]byte(nil), line...), vpos: vpos})
}

// jsonMsgDigit finds, in a JSON line with a "msg" key, where Interesting reads the "v" digit
// (-1: it reads none); ok is false for any other line (its answer may depend on more: a
// prefix's date, a journald MESSAGE).
func jsonMsgDigit(line []byte) (int, bool) {
	t := 0
	for t < len(line) && (line[t] == ' ' || line[t] == '\t') {
		t++
	}
	if t == len(line) || line[t] != '{' {
		return 0, false
	}
	i := indexMsgKey(line[t:])
	if i < 0 {
		return 0, false
	}
	start := t + i + len(jsonMsgKey)
	end := start + jsonStringEnd(line[start:])
	if rest := line[end:]; len(rest) > 7 && string(rest[:6]) == `","v":` {
		return end + 6, true
	}
	return -1, true
}

// same reports whether line equals r.line but for digits (both digits where they differ) and has
// the same "v" digit.
func (r *rejectLine) same(line []byte) bool {
	ref := r.line
	if len(line) != len(ref) {
		return false
	}
	if r.vpos >= 0 && line[r.vpos] != ref[r.vpos] {
		return false
	}
	if !r.slow && r.sameRuns(line) {
		return true
	}
	if !sameDigits(line, ref) {
		return false
	}
	if !r.slow {
		r.learn(line)
	}
	return true
}

// sameRuns: line equals r.line outside r.runs and has digits inside them.
func (r *rejectLine) sameRuns(line []byte) bool {
	prev := 0
	for i := 0; i+1 < len(r.runs); i += 2 {
		s, e := r.runs[i], r.runs[i+1]
		if string(line[prev:s]) != string(r.line[prev:s]) {
			return false
		}
		for _, c := range line[s:e] {
			if !isDigit(c) {
				return false
			}
		}
		prev = e
	}
	return string(line[prev:]) == string(r.line[prev:])
}

// learn adds the digit runs of r.line in which line differs to r.runs (sameDigits(line, r.line)
// holds), or turns to word-wise compares past rejectRuns runs.
func (r *rejectLine) learn(line []byte) {
	ref := r.line
	mark := make([]bool, len(ref))
	for i := 0; i+1 < len(r.runs); i += 2 {
		for j := r.runs[i]; j < r.runs[i+1]; j++ {
			mark[j] = true
		}
	}
	for i := range ref {
		if ref[i] != line[i] && !mark[i] {
			s, e := i, i
			for s > 0 && isDigit(ref[s-1]) {
				s--
			}
			for e < len(ref) && isDigit(ref[e]) {
				e++
			}
			for j := s; j < e; j++ {
				mark[j] = true
			}
		}
	}
	runs := r.runs[:0:0]
	for i := 0; i < len(ref); i++ {
		if mark[i] && (i == 0 || !mark[i-1]) {
			runs = append(runs, i)
		}
		if mark[i] && (i+1 == len(ref) || !mark[i+1]) {
			runs = append(runs, i+1)
		}
	}
	if len(runs) > 2*rejectRuns {
		r.runs, r.slow = nil, true
		return
	}
	r.runs = runs
}

// sameDigits: line and ref (of one length) differ only where both hold a digit.
func sameDigits(line, ref []byte) bool {
	eq := func(a, b uint64) bool {
		d := a ^ b
		if d == 0 {
			return true
		}
		db := (((d &^ highs) + ones*0x7f) | d) & highs
		db = (db >> 7) * 0xff
		return db&^(digitMask(a)&digitMask(b)) == 0
	}
	i := 0
	for ; i+8 <= len(line); i += 8 {
		if !eq(binary.LittleEndian.Uint64(line[i:]), binary.LittleEndian.Uint64(ref[i:])) {
			return false
		}
	}
	return i == len(line) || eq(loadWord(line, i), loadWord(ref, i))
}
