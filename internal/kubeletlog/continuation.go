package kubeletlog

import (
	"bytes"
	"strings"
)

// heldRecord is the last record of a pass with the line it came from, kept until the next line
// shows whether it continues it: a multi-line record (klog's `key=<` blocks, a file's content
// inside an error, journald's indented continuation lines) or a line hard-wrapped by a terminal,
// an editor or a mail client.
type heldRecord struct {
	rec   *Record
	line  []byte // the original line(s), joined
	lines int    // continuation lines joined so far
	klog  int8   // line is a klog record (maybe after a journald/syslog prefix): 1 yes, -1 no, 0 not known yet
	stale bool   // line holds continuation lines rec was not parsed from yet (see join)
}

const (
	maxJoinBytes = 2 * MaxRaw // a held record stops taking continuations beyond this
	maxJoinLines = 200
)

// hold keeps rec (parsed from line) until the next line.
func (lp *lineProc) hold(rec *Record, line []byte) {
	lp.held.rec = rec
	lp.held.line = append(lp.held.line[:0], line...)
	lp.held.lines = 0
	lp.held.klog = 0
	lp.held.stale = false
}

// release passes the held record on.
func (lp *lineProc) release(fn func(*Record) error) error {
	rec := lp.held.rec
	if rec == nil {
		return nil
	}
	if lp.held.stale {
		lp.settle()
		rec = lp.held.rec
	}
	lp.held.rec = nil
	if cap(lp.held.line) > 1<<20 {
		lp.held.line = nil
	}
	return lp.emit(rec, fn)
}

// join appends b to the held record when b continues it, and reports whether it did. A line
// continues a record when it is no record of its own and either starts with white space (a
// continuation line) or follows a record that was cut short (a hard wrap).
func (lp *lineProc) join(b []byte) bool {
	h := &lp.held
	if len(b) == 0 || h.lines >= maxJoinLines || len(h.line)+len(b) > maxJoinBytes {
		return false
	}
	indented := b[0] == ' ' || b[0] == '\t'
	t := b // every line of a log comes here: trim only what starts with white space
	if indented {
		t = bytes.TrimLeft(b, " \t")
	}
	if len(t) == 0 || t[0] == '{' || isKlogHeader(t) {
		return false
	}
	var sep []byte
	wrapped := false
	if indented && h.rec.Damage == "" && h.klogRecord() {
		// A klog block (key=< … >, a file's content in an error): parseKlog accepts any text
		// after a header it accepted, and an undamaged record takes no "joined" mark, so the
		// block is parsed once, when it is complete (settle), instead of once per line — a
		// 200-line block cost 200 parses of a growing block, 100× a plain line per byte.
		h.line = append(append(h.line, '\n'), bytes.TrimLeft(b, " ")...)
		h.stale = true
		h.lines++
		lp.stats.Joined++
		return true
	}
	if h.stale {
		lp.settle() // a decision below needs the record of the whole block
	}
	switch {
	case indented:
		// journald indents continuation lines to the message column; klog's block lines
		// start with a tab, which stays.
		sep = []byte{'\n'}
		b = bytes.TrimLeft(b, " ")
	case bytes.Contains([]byte(h.rec.Damage), []byte(DamageTruncated)):
		if _, ok := scanHeader(t); ok {
			return false // a line of its own with a prefix
		}
		if _, ok := cutMarker(h.line); ok {
			return false // cut on purpose by a pager: nothing follows
		}
		wrapped = true
	default:
		return false
	}
	joined := append(append(append([]byte(nil), h.line...), sep...), b...)
	rec := new(Record)
	saved := lp.p
	if !lp.p.parseInto(rec, joined, 0) {
		lp.p = saved
		return false
	}
	lp.p.glued = nil
	h.adopt(rec)
	if wrapped || h.rec.Damage != "" {
		// a hard wrap repaired (a multi-line record is whole, not damaged)
		rec.addDamage(DamageJoined)
	}
	h.rec, h.line = rec, joined
	h.lines++
	lp.stats.Joined++
	return true
}

// adopt gives rec, parsed from the held line with continuation lines, what the held record got
// from its line: where it is, and for the second record of a glued line the mark and the
// prefix (node, host, unit) of the first.
func (h *heldRecord) adopt(rec *Record) {
	rec.Source, rec.Line, rec.Offset = h.rec.Source, h.rec.Line, h.rec.Offset
	if strings.Contains(h.rec.Damage, DamageGlued) && !strings.Contains(rec.Damage, DamageGlued) {
		rec.addDamage(DamageGlued)
		if rec.Node == "" {
			rec.Node, rec.Host, rec.Unit, rec.PastedLine = h.rec.Node, h.rec.Host, h.rec.Unit, h.rec.PastedLine
		}
	}
}

// klogRecord reports whether the held line is a klog record, alone or after a journald/syslog/
// talosctl prefix: then every block it starts parses, and as klog. A prefix is read from its
// first bytes (each peeler stops at a space or within a fixed window, and the klog header after
// it has spaces), so a block reads its prefix as its first line does.
func (h *heldRecord) klogRecord() bool {
	if h.klog == 0 {
		h.klog = -1
		line := bytes.TrimLeft(h.line, " \t")
		switch {
		case isKlogHeader(line):
			h.klog = 1
		case len(line) > 0 && !strings.ContainsRune("{_MSP", rune(line[0])):
			// (journald export fields and JSON are no prefixes)
			if hd, ok := scanHeader(line); ok && !hd.unstructured && hd.damage == "" && isKlogHeader(line[hd.payload:]) {
				h.klog = 1
			}
		}
	}
	return h.klog > 0
}

// settle parses a block join left stale: the klog record of every line joined so far. A block
// damaged as a whole (a quote left open, a cut) is marked joined, as join marks a record joined
// onto a damaged one; its parser state is the one parsing it line by line leaves, as every parse
// of a klog block reads the same header (year, time) and join drops what a block glues on.
func (lp *lineProc) settle() {
	h := &lp.held
	h.stale = false
	rec := new(Record)
	saved := lp.p
	if !lp.p.parseInto(rec, h.line, 0) {
		lp.p = saved // not for a klog header; the last record stays
		return
	}
	lp.p.glued = nil
	h.adopt(rec)
	if rec.Damage != "" {
		rec.addDamage(DamageJoined)
	}
	h.rec = rec
}
