package kubeletlog

import (
	"bytes"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
)

// parseShaped parses a line that does not start with a record: a journald/syslog/talosctl/grep
// prefix in front of one, a journald export field, or a klog line whose first characters are
// missing.
func (p *Parser) parseShaped(r *Record, line []byte, depth int) bool {
	if c := line[0]; c == '_' || c == 'M' || c == 'S' || c == 'P' {
		if handled, ok := p.parseExport(r, line, depth); handled {
			return ok
		}
	}
	h, ok := scanHeader(line)
	if !ok {
		return p.parseDamaged(r, line)
	}
	payload := line[h.payload:]
	prev := p.hdrTime
	if t, ok := h.time(p.Location); ok {
		p.hdrTime = t
	} else {
		p.hdrTime = time.Time{}
	}
	defer func() { p.hdrTime = prev }()
	switch {
	case h.unstructured:
		if !p.parseDamaged(r, payload) {
			p.parseText(r, &h, payload)
		}
	case !p.parseInto(r, payload, depth+1):
		return false
	}
	h.fill(r, line)
	return true
}

// parseText makes a record of a plain message after a syslog/journald header (the kubelet's
// unformatted output, systemd's lines about the kubelet unit).
func (p *Parser) parseText(r *Record, h *hdr, msg []byte) {
	if cut, ok := cutMarker(msg); ok {
		msg = cut
		r.addDamage(DamageTruncated)
	}
	r.Format = FormatText
	r.Level = "I"
	r.Msg = validString(bytes.TrimRight(msg, " \t"))
	r.Raw = capRaw(msg)
	switch {
	case !p.hdrTime.IsZero():
		r.TS = p.hdrTime
	case h.hasDate:
		r.TS = p.klogTime(time.Month(h.month), h.day, h.hh, h.mm, h.ss, h.ns)
	default:
		r.TS = p.lastTS
	}
	p.vocab(r)
}

// parseDamaged reads a klog line whose start is missing ("124 21:55:04.100165 1234 file.go:187] …"
// or only ":04.1 1234 file.go:187] …"): the caller "file.go:N]" anchors it; what is left of the
// header gives the time, else the previous record's time is kept.
func (p *Parser) parseDamaged(r *Record, line []byte) bool {
	lim := min(len(line), 320)
	k := bytes.Index(line[:lim], []byte(".go:"))
	if k <= 0 {
		return false
	}
	j := k + 4
	for j < len(line) && isDigit(line[j]) {
		j++
	}
	if j == k+4 || j >= len(line) || line[j] != ']' {
		return false
	}
	cs := k
	for cs > 0 && line[cs-1] != ' ' && line[cs-1] != '\t' {
		cs--
	}
	pre := bytes.TrimSpace(line[:cs])
	r.Format = FormatKlog
	r.Shape = ShapeDamaged
	r.addDamage(DamageHeadMissing)
	r.Caller = string(line[cs:j])
	r.Raw = capRaw(line)
	// what is left of "Lmmdd hh:mm:ss.uuuuuu pid"
	fields := bytes.Fields(pre)
	if n := len(fields); n > 0 && isDigits(fields[n-1]) && (n > 1 || !bytes.Contains(fields[n-1], []byte(":"))) {
		if pid, err := strconv.Atoi(string(fields[n-1])); err == nil && n > 1 {
			r.PID = pid
		}
	}
	r.TS = p.lastTS
	for fi, f := range fields {
		c := bytes.IndexByte(f, ':')
		if c < 0 {
			continue
		}
		hh, mm, ss, ns, ok := damagedClock(f)
		if !ok {
			continue
		}
		month, day := time.Month(0), 0
		var alt time.Month // "124": the month's first digit is gone, 1 or 11
		if fi > 0 {
			d := fields[fi-1]
			if len(d) == 3 && isDigits(d) {
				month, day = time.Month(d[0]-'0'), atoi2(d[1:])
				if month <= 2 {
					alt = month + 10
				}
			}
			if len(d) >= 4 && isDigits(d[len(d)-4:]) {
				month, day = time.Month(atoi2(d[len(d)-4:])), atoi2(d[len(d)-2:])
				if len(d) == 5 {
					switch d[0] {
					case 'I', 'W', 'E', 'F':
						r.Level = string(d[0])
					}
				}
			}
		}
		switch {
		case month >= 1 && month <= 12 && day >= 1 && day <= 31:
			r.TS = p.klogTime(month, day, hh, mm, ss, ns)
			if alt != 0 {
				// the candidate nearest the previous record (else the reference) wins
				near := p.lastTS
				if near.IsZero() {
					near = p.Ref
				}
				if t := p.klogTime(alt, day, hh, mm, ss, ns); !near.IsZero() && absDur(t.Sub(near)) < absDur(r.TS.Sub(near)) {
					r.TS = t
				}
			}
		case !p.lastTS.IsZero() && hh >= 0:
			l := p.lastTS
			r.TS = time.Date(l.Year(), l.Month(), l.Day(), hh, mm, ss, int(ns), l.Location())
		}
		break
	}
	p.klogBody(r, bytes.TrimPrefix(line[j+1:], []byte(" ")))
	if r.Level == "" {
		r.Level = "I"
		if r.Err != "" {
			r.Level = "E"
		}
	}
	return true
}

// damagedClock reads "hh:mm:ss.frac" or its tail (":ss.frac" is not enough: -1 hour).
func damagedClock(f []byte) (hh, mm, ss int, ns int64, ok bool) {
	dot := bytes.IndexByte(f, '.')
	clock := f
	if dot >= 0 {
		clock = f[:dot]
		scale := int64(100000000)
		for _, c := range f[dot+1:] {
			if !isDigit(c) {
				break
			}
			ns += int64(c-'0') * scale
			scale /= 10
		}
	}
	if len(clock) == 8 && clock[2] == ':' && clock[5] == ':' && isDigits(clock[:2]) && isDigits(clock[3:5]) && isDigits(clock[6:8]) {
		return atoi2(clock), atoi2(clock[3:5]), atoi2(clock[6:8]), ns, true
	}
	return -1, 0, 0, 0, false
}

// cutMarker strips what a pager or systemctl leaves at the end of a line it cut: "…" (U+2026)
// or a '>' right after a non-space. ok reports a cut.
func cutMarker(b []byte) ([]byte, bool) {
	t := bytes.TrimRight(b, " \t")
	switch {
	case bytes.HasSuffix(t, []byte("…")):
		return t[:len(t)-len("…")], true
	case bytes.HasSuffix(t, []byte("...")) && len(t) > 3 && t[len(t)-4] != ' ' && unbalancedQuotes(t):
		return t[:len(t)-3], true
	case len(t) > 1 && t[len(t)-1] == '>' && t[len(t)-2] != ' ' && t[len(t)-2] != '\t' && unbalancedQuotes(t):
		return t[:len(t)-1], true
	}
	return b, false
}

// unbalancedQuotes: an odd number of unescaped double quotes (a quoted value was cut).
func unbalancedQuotes(b []byte) bool {
	n := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			n++
		}
	}
	return n%2 == 1
}

// gluedKlog finds a second klog record glued to the end of a klog record's body ("…err=\"x\"E1124
// 21:55:05.000001 1234 f.go:9] …"): a klog header followed by a pid and a Go caller. 0: none.
func gluedKlog(b []byte) int {
	off := 0
	for {
		k := bytes.Index(b[off:], []byte(".go:"))
		if k < 0 {
			return 0
		}
		k += off
		// the header must start within 60 bytes before the caller
		from := max(off, k-60)
		for i := from; i < k; i++ {
			switch b[i] {
			case 'I', 'W', 'E', 'F':
				if i > 0 && isKlogHeader(b[i:]) && bytes.IndexByte(b[i:k], ']') < 0 {
					return i
				}
			}
		}
		off = k + 4
	}
}

// repairJSON makes an invalid JSON line parseable: two objects glued ("}{"), the first is kept and
// the rest goes to p.glued; a line cut short is closed. It returns nil when nothing helps.
func (p *Parser) repairJSON(line []byte) ([]byte, string) {
	if i := bytes.Index(line, []byte(`}{"`)); i > 0 && gjson.ValidBytes(line[:i+1]) {
		p.glued = line[i+1:]
		return line[:i+1], DamageGlued
	}
	t, _ := cutMarker(line)
	if !bytes.Contains(t[:min(len(t), 64)], []byte(`":`)) {
		return nil, ""
	}
	for _, suffix := range []string{`"}`, `}`, `"]}`, `]}`, `"}}`, `}}`, `null}`} {
		fixed := append(append([]byte(nil), t...), suffix...)
		if gjson.ValidBytes(fixed) {
			return fixed, DamageTruncated
		}
	}
	// cut inside an escape or a number: drop the last few bytes
	for cut := 1; cut <= 4 && cut < len(t); cut++ {
		for _, suffix := range []string{`"}`, `}`} {
			fixed := append(append([]byte(nil), t[:len(t)-cut]...), suffix...)
			if gjson.ValidBytes(fixed) {
				return fixed, DamageTruncated
			}
		}
	}
	return nil, ""
}

// exportEntry is what a journald export entry said before its MESSAGE field.
type exportEntry struct {
	realtime time.Time
	pid      int
	host     string
	unit     string
	priority byte
}

// exportFields are the journald export fields remembered for the entry's MESSAGE.
var exportFields = [][]byte{[]byte("__REALTIME_TIMESTAMP="), []byte("_HOSTNAME="), []byte("_PID="), []byte("SYSLOG_IDENTIFIER="), []byte("PRIORITY=")}

func isExportField(b []byte) bool {
	for _, f := range exportFields {
		if bytes.HasPrefix(b, f) {
			return true
		}
	}
	return false
}

// parseExport handles `journalctl -o export` fields: __REALTIME_TIMESTAMP, _PID, _HOSTNAME,
// SYSLOG_IDENTIFIER and PRIORITY are remembered for the entry's MESSAGE line, which is parsed as
// the kubelet's line. handled is false for a line that is no export field.
func (p *Parser) parseExport(r *Record, line []byte, depth int) (handled, ok bool) {
	eq := bytes.IndexByte(line, '=')
	if eq <= 0 || eq > 32 {
		return false, false
	}
	key, val := line[:eq], line[eq+1:]
	for _, c := range key {
		if !(c >= 'A' && c <= 'Z' || c == '_' || isDigit(c)) {
			return false, false
		}
	}
	switch string(key) {
	case "__REALTIME_TIMESTAMP":
		p.absorbed = true
		p.export = exportEntry{}
		if us, err := strconv.ParseInt(string(val), 10, 64); err == nil && us > 0 {
			p.export.realtime = time.UnixMicro(us)
		}
		return true, false
	case "_PID":
		p.absorbed = true
		p.export.pid, _ = strconv.Atoi(string(val))
		return true, false
	case "_HOSTNAME":
		p.absorbed = true
		p.export.host = string(val)
		return true, false
	case "SYSLOG_IDENTIFIER":
		p.absorbed = true
		p.export.unit = string(val)
		return true, false
	case "PRIORITY":
		p.absorbed = true
		if len(val) == 1 {
			p.export.priority = val[0]
		}
		return true, false
	case "MESSAGE":
	default:
		if key[0] == '_' || bytes.Equal(key, []byte("SYSLOG_FACILITY")) || bytes.Equal(key, []byte("SYSLOG_PID")) || bytes.Equal(key, []byte("SYSLOG_TIMESTAMP")) {
			p.absorbed = true
			return true, false
		}
		return false, false
	}
	e := p.export
	prev, prevSrc := p.hdrTime, p.yearSrc
	p.hdrTime = e.realtime
	if !e.realtime.IsZero() {
		p.yearSrc = YearFromJournal
	}
	defer func() { p.hdrTime = prev }()
	if !p.parseInto(r, val, depth+1) {
		p.yearSrc = prevSrc
		*r = Record{Format: FormatText, Msg: validString(val), TS: e.realtime, Raw: capRaw(val), PID: e.pid, Level: priorityLevel(e.priority)}
		p.vocab(r)
	}
	r.Shape = ShapeJournalExport
	if r.Format != FormatText {
		r.Format = FormatJournal
	}
	if r.Host == "" {
		r.Host = e.host
	}
	if r.Unit == "" {
		r.Unit = e.unit
	}
	return true, true
}

func priorityLevel(p byte) string {
	switch p {
	case '0', '1', '2', '3':
		return "E"
	case '4':
		return "W"
	}
	return "I"
}

// contentYear looks for a full date of the record's own day inside a klog line ("2024-11-24"), the
// best year when nothing else gives one (stdin, no header).
func contentYear(line []byte, month time.Month, day int) int {
	pat := []byte{'-', byte('0' + month/10), byte('0' + month%10), '-', byte('0' + day/10), byte('0' + day%10)}
	off := 0
	for {
		i := bytes.Index(line[off:], pat)
		if i < 0 {
			return 0
		}
		i += off
		if i >= 4 && isDigits(line[i-4:i]) && line[i-4] == '2' {
			if y := atoi4(line[i-4 : i]); y >= 2014 && y <= 2100 {
				return y
			}
		}
		off = i + len(pat)
	}
}
