package kubeletlog

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// MaxRaw caps Record.Raw; longer lines keep their first MaxRaw bytes (cut at a rune boundary).
const MaxRaw = 64 << 10

// Parser parses kubelet log lines. Its only state is the year the klog text header leaves out:
// the zero Parser takes it from the current time, so it is ready to use.
type Parser struct {
	// Ref is the reference time for klog's missing year: a line gets the year that puts it at or
	// before Ref (with two days of slack for clock skew), so a December line read in January
	// belongs to the previous year. Zero means time.Now() at each line. ScanFile uses the file's
	// modification time, which is never before its last line.
	Ref time.Time
	// Year, when set, is the year of the first klog line; the parser then follows the log and
	// increments the year when the month goes from December to January.
	Year int
	// Location is the time zone of klog and syslog headers (the node's local zone). Nil: time.Local.
	Location *time.Location

	lastMonth time.Month

	// hdrTime is the full time of the current line's journald/syslog header, when it has a year.
	hdrTime time.Time
	// yearSrc says where the last klog year came from (YearFrom*).
	yearSrc string
	// RefSource names where Ref came from, for Stats.YearSource ("file mtime"); empty: now.
	RefSource string
	// lastTS is the time of the last record, for damaged lines whose time is cut.
	lastTS time.Time
	// glued is a second record found glued to the end of the line just parsed.
	glued []byte
	// export holds the journald export entry fields seen before its MESSAGE line.
	export exportEntry
	// absorbed is set when the last line was no record but fed the parser's state (a journald
	// export field): not a skipped line.
	absorbed bool
}

// ParseLine parses one kubelet log line in any supported format (JSON, klog text, journald export,
// a syslog-prefixed klog line), auto-detected. The trailing newline is optional. It returns false for
// a line in no known format. klog's missing year comes from the current time.
func ParseLine(line []byte) (Record, bool) {
	var p Parser
	return p.Parse(line)
}

// ParseLineRef is ParseLine with klog's missing year taken from ref (see Parser.Ref), and klog
// header times read in ref's time zone.
func ParseLineRef(line []byte, ref time.Time) (Record, bool) {
	p := Parser{Ref: ref, Location: ref.Location()}
	return p.Parse(line)
}

// Parse parses one line; see ParseLine.
func (p *Parser) Parse(line []byte) (Record, bool) {
	var r Record
	if !p.parseInto(&r, trimEOL(line), 0) {
		return Record{}, false
	}
	return r, true
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// parseInto detects the format of line and fills r. depth guards the recursion through journald
// MESSAGE and syslog prefixes.
func (p *Parser) parseInto(r *Record, line []byte, depth int) bool {
	if depth == 0 {
		p.absorbed = false
	}
	ok := p.parseAny(r, line, depth)
	if ok && depth == 0 {
		if !r.TS.IsZero() {
			p.lastTS = r.TS
		}
		if r.Shape == "" {
			switch r.Format {
			case FormatJSON:
				r.Shape = ShapeJSON
			case FormatKlog:
				r.Shape = ShapeKlog
			}
		}
	}
	return ok
}

func (p *Parser) parseAny(r *Record, line []byte, depth int) bool {
	line = bytes.TrimLeft(line, " \t")
	if len(line) == 0 || depth > 2 {
		return false
	}
	switch {
	case line[0] == '{':
		return p.parseJSON(r, line, depth)
	case isKlogHeader(line):
		return p.parseKlog(r, line)
	}
	return p.parseShaped(r, line, depth)
}

// capRaw returns at most MaxRaw bytes of b as a string, cut at a rune boundary.
func capRaw(b []byte) string {
	if len(b) <= MaxRaw {
		return string(b)
	}
	n := MaxRaw
	for n > MaxRaw-utf8.UTFMax && n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n])
}

// stripRuntime removes the runtime prefix of a container ID (containerd://, cri-o://, docker://).
func stripRuntime(id string) string {
	if i := strings.Index(id, "://"); i >= 0 {
		return id[i+3:]
	}
	return id
}

// setPod fills the pod name and namespace from klog's "ns/name" form (a bare name has no namespace).
func (r *Record) setPod(s string) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		r.PodNamespace, r.PodName = s[:i], s[i+1:]
		return
	}
	r.PodName = s
}

// setField routes a well-known key to its Record field and every other key into Fields.
func (r *Record) setField(key, val string) {
	switch key {
	case "err":
		r.Err = val
	case "path":
		r.Path = val
	case "pod":
		r.setPod(val)
	case "podUID":
		r.PodUID = val
	case "containerID":
		r.ContainerID = stripRuntime(val)
	case "containerName":
		r.ContainerName = val
	case "image":
		r.Image = val
	default:
		if r.Fields == nil {
			r.Fields = make(map[string]string, 4)
		}
		r.Fields[key] = val
	}
}

// ---- JSON (--logging-format=json) and journald export ----

func (p *Parser) parseJSON(r *Record, line []byte, depth int) bool {
	if !gjson.ValidBytes(line) {
		fixed, damage := p.repairJSON(line)
		if fixed == nil {
			return false
		}
		line = fixed
		r.addDamage(damage)
	}
	doc := gjson.ParseBytes(line)
	if bytes.Contains(line, journalMsgKey) && doc.Get("MESSAGE").Exists() && (doc.Get("__REALTIME_TIMESTAMP").Exists() || doc.Get("_PID").Exists() || doc.Get("SYSLOG_IDENTIFIER").Exists()) {
		return p.parseJournal(r, doc, depth)
	}
	var hasTS, hasMsg bool
	doc.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "ts":
			if t, ok := parseJSONTime(v); ok {
				r.TS, hasTS = t, true
			}
		case "caller":
			r.Caller = v.String()
		case "msg":
			r.Msg, hasMsg = v.String(), true
		case "v":
			r.V = int(v.Int())
		case "pod":
			if v.IsObject() {
				r.PodName = v.Get("name").String()
				r.PodNamespace = v.Get("namespace").String()
			} else {
				r.setPod(v.String())
			}
		case "containerID":
			if v.IsObject() { // kubecontainer.ContainerID{Type, ID}
				r.ContainerID = v.Get("ID").String()
			} else {
				r.ContainerID = stripRuntime(v.String())
			}
		default:
			if v.Type == gjson.String {
				r.setField(k.Str, v.Str)
			} else {
				r.setField(k.Str, v.Raw)
			}
		}
		return true
	})
	if !hasTS && !hasMsg {
		return false
	}
	r.Format = FormatJSON
	r.Level = "I"
	if r.Err != "" {
		r.Level = "E"
	}
	r.Raw = capRaw(line)
	return true
}

// parseJSONTime reads the JSON "ts": float milliseconds since the epoch (parsed from the digits, so
// no float rounding), or an RFC 3339 string.
func parseJSONTime(v gjson.Result) (time.Time, bool) {
	switch v.Type {
	case gjson.Number:
		return parseEpochMillis(v.Raw)
	case gjson.String:
		if t, err := time.Parse(time.RFC3339Nano, v.Str); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseEpochMillis(s string) (time.Time, bool) {
	if strings.ContainsAny(s, "eE") || strings.HasPrefix(s, "-") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 {
			return time.Time{}, false
		}
		return time.UnixMicro(int64(f * 1000)), true
	}
	intPart, frac, _ := strings.Cut(s, ".")
	ms, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || ms > 1<<53 {
		return time.Time{}, false
	}
	var ns int64
	scale := int64(100000) // first fractional digit of a millisecond is 100 µs
	for i := 0; i < len(frac) && scale > 0; i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		ns += int64(c-'0') * scale
		scale /= 10
	}
	return time.UnixMilli(ms).Add(time.Duration(ns)), true
}

// parseJournal handles one `journalctl -o json` entry: the kubelet's own line is in MESSAGE (a
// string, or an array of byte values when it is not valid UTF-8).
func (p *Parser) parseJournal(r *Record, doc gjson.Result, depth int) bool {
	var msg []byte
	m := doc.Get("MESSAGE")
	switch {
	case m.Type == gjson.String:
		msg = []byte(m.Str)
	case m.IsArray():
		for _, b := range m.Array() {
			msg = append(msg, byte(b.Int()))
		}
	default:
		return false
	}
	msg = trimEOL(msg)
	var realtime time.Time
	if us, err := strconv.ParseInt(doc.Get("__REALTIME_TIMESTAMP").String(), 10, 64); err == nil && us > 0 {
		realtime = time.UnixMicro(us)
	}
	// The entry's own time gives klog's missing year.
	prev, prevSrc := p.hdrTime, p.yearSrc
	if !realtime.IsZero() {
		p.hdrTime, p.yearSrc = realtime, YearFromJournal
	}
	ok := p.parseInto(r, msg, depth+1)
	p.hdrTime = prev
	if ok {
		if r.TS.IsZero() {
			r.TS = realtime
		}
	} else {
		p.yearSrc = prevSrc
		// A line the kubelet wrote unformatted (startup flags, panics): keep it as a message.
		*r = Record{Msg: string(msg), TS: realtime, Raw: capRaw(msg)}
		switch doc.Get("PRIORITY").String() {
		case "0", "1", "2", "3":
			r.Level = "E"
		case "4":
			r.Level = "W"
		default:
			r.Level = "I"
		}
		if pid, err := strconv.Atoi(doc.Get("_PID").String()); err == nil {
			r.PID = pid
		}
		r.Format = FormatText
		p.vocab(r)
	}
	if r.Format != FormatText {
		r.Format = FormatJournal
	}
	r.Shape = ShapeJournalJSON
	if r.Host == "" {
		r.Host = doc.Get("_HOSTNAME").String()
	}
	if r.Unit == "" {
		r.Unit = doc.Get("SYSLOG_IDENTIFIER").String()
	}
	return true
}

// ---- klog text ----

// isKlogHeader reports whether line starts like "E1124 21:55:04.100165".
func isKlogHeader(b []byte) bool {
	if len(b) < 21 {
		return false
	}
	switch b[0] {
	case 'I', 'W', 'E', 'F':
	default:
		return false
	}
	return isDigits(b[1:5]) && b[5] == ' ' && isDigits(b[6:8]) && b[8] == ':' && isDigits(b[9:11]) &&
		b[11] == ':' && isDigits(b[12:14]) && b[14] == '.' && isDigit(b[15])
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

func atoi2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }

func (p *Parser) parseKlog(r *Record, line []byte) bool {
	month, day := time.Month(atoi2(line[1:3])), atoi2(line[3:5])
	hh, mm, ss := atoi2(line[6:8]), atoi2(line[9:11]), atoi2(line[12:14])
	if month < 1 || month > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return false
	}
	i := 15
	var ns, scale int64 = 0, 100000000
	for ; i < len(line) && isDigit(line[i]); i++ {
		if scale > 0 {
			ns += int64(line[i]-'0') * scale
			scale /= 10
		}
	}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	pidStart := i
	for i < len(line) && isDigit(line[i]) {
		i++
	}
	pid, _ := strconv.Atoi(string(line[pidStart:i]))
	for i < len(line) && line[i] == ' ' {
		i++
	}
	end := bytes.IndexByte(line[i:], ']')
	if end < 0 || bytes.IndexByte(line[i:i+end], ' ') >= 0 {
		return false
	}
	r.Caller = string(line[i : i+end])
	i += end + 1
	if i < len(line) && line[i] == ' ' {
		i++
	}
	r.Format = FormatKlog
	r.Level = string(line[0])
	r.PID = pid
	r.TS = p.klogTime(month, day, hh, mm, ss, ns)
	if p.yearSrc == YearFromNow {
		if y := contentYear(line, month, day); y != 0 {
			p.Year, p.lastMonth, p.yearSrc = y, month, YearFromContent
			r.TS = time.Date(y, month, day, hh, mm, ss, int(ns), r.TS.Location())
		}
	}
	r.Raw = capRaw(line)
	p.klogBody(r, line[i:])
	return true
}

// klogBody reads what follows the klog header: a quoted message and key=value pairs (structured
// logging), or an unstructured sentence. A cut line keeps what it has, marked truncated; a second
// record glued to the end is left in p.glued.
func (p *Parser) klogBody(r *Record, rest []byte) {
	if j := gluedKlog(rest); j > 0 {
		p.glued = rest[j:]
		rest = rest[:j]
		r.addDamage(DamageGlued)
		r.Raw = r.Raw[:max(0, len(r.Raw)-(len(p.glued)))]
	}
	if cut, ok := cutMarker(rest); ok {
		rest = cut
		r.addDamage(DamageTruncated)
	}
	if len(rest) > 0 && rest[0] == '"' {
		msg, n, ok := readQuoted(rest)
		if ok {
			r.Msg = msg
			parseKlogKVs(r, rest[n:])
			return
		}
		r.addDamage(DamageTruncated)
		r.Msg = string(bytes.TrimRight(rest[1:], " \t"))
		return
	}
	r.Msg = string(bytes.TrimRight(rest, " \t"))
	p.vocab(r)
}

// Where klog's missing year came from (Stats.YearSource).
const (
	YearFromHeader  = "journal/syslog header" // the line's own header has the year
	YearFromJournal = "journal entry"         // journalctl -o json/export __REALTIME_TIMESTAMP
	YearFromGiven   = "given"                 // ScanOptions.RefYear
	YearFromMtime   = "file mtime"            // the newest year that puts the line at or before the file's mtime
	YearFromContent = "log content"           // a full date of the same day inside a record
	YearFromNow     = "current time"          // nothing better: the newest plausible year
)

// klogTime completes a klog header time with the year: from the line's journald/syslog header
// when it has one, else from Parser.Year (following Dec→Jan), else the year that puts it at or
// before Parser.Ref (see Parser.Ref).
func (p *Parser) klogTime(month time.Month, day, hh, mm, ss int, ns int64) time.Time {
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	if h := p.hdrTime; !h.IsZero() {
		best := time.Date(h.Year(), month, day, hh, mm, ss, int(ns), loc)
		for _, y := range [2]int{h.Year() - 1, h.Year() + 1} {
			if t := time.Date(y, month, day, hh, mm, ss, int(ns), loc); absDur(t.Sub(h)) < absDur(best.Sub(h)) {
				best = t
			}
		}
		if p.yearSrc != YearFromJournal {
			p.yearSrc = YearFromHeader
		}
		p.lastMonth = month
		return best
	}
	if p.Year != 0 {
		year := p.Year
		switch {
		case p.lastMonth == 12 && month == 1:
			p.Year++
			year = p.Year
		case p.lastMonth == 1 && month == 12: // a late line from just before New Year
			year--
		}
		if !(p.lastMonth == 1 && month == 12) {
			p.lastMonth = month
		}
		if p.yearSrc == "" {
			p.yearSrc = YearFromGiven
		}
		return time.Date(year, month, day, hh, mm, ss, int(ns), loc)
	}
	ref := p.Ref
	p.yearSrc = p.RefSource
	if ref.IsZero() {
		ref = time.Now()
		p.yearSrc = YearFromNow
	} else if p.yearSrc == "" {
		p.yearSrc = YearFromGiven
	}
	t := time.Date(ref.Year(), month, day, hh, mm, ss, int(ns), loc)
	if t.After(ref.Add(48 * time.Hour)) {
		t = time.Date(ref.Year()-1, month, day, hh, mm, ss, int(ns), loc)
	}
	return t
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// readQuoted reads a Go-quoted string (klog writes %q) at the start of b. It returns the unquoted
// value and the number of bytes consumed. An escape Go can't unquote keeps the raw text.
func readQuoted(b []byte) (string, int, bool) {
	escaped := false
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			if !escaped {
				return string(b[1:i]), i + 1, true
			}
			s, err := strconv.Unquote(string(b[:i+1]))
			if err != nil {
				s = string(b[1:i])
			}
			return s, i + 1, true
		}
	}
	return "", 0, false
}

// parseKlogKVs parses ` key=value` pairs. A value is a quoted string, a multi-line `<…>` block
// (here on one line), a bracketed [..] / {..} value, or a bare word.
func parseKlogKVs(r *Record, b []byte) {
	for {
		for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
			b = b[1:]
		}
		if len(b) == 0 {
			return
		}
		eq := bytes.IndexByte(b, '=')
		sp := bytes.IndexAny(b, " \t")
		if eq <= 0 || (sp >= 0 && sp < eq) {
			// Not key=value: keep the rest rather than dropping it.
			r.setField("_extra", string(bytes.TrimSpace(b)))
			return
		}
		key := string(b[:eq])
		b = b[eq+1:]
		var val string
		switch {
		case len(b) > 0 && b[0] == '"':
			s, n, ok := readQuoted(b)
			if !ok {
				val, b = string(b[1:]), nil
				r.addDamage(DamageTruncated)
				break
			}
			val, b = s, b[n:]
		case len(b) > 0 && b[0] == '<':
			// klog's multi-line form `key=<\n\tline\n >`; on one line, the rest up to the closing ">".
			s := bytes.TrimLeft(b[1:], "\n")
			if i := bytes.LastIndex(s, []byte("\n >")); i >= 0 {
				val, b = string(s[:i]), s[i+3:]
			} else if i := bytes.LastIndex(s, []byte("\n>")); i >= 0 {
				val, b = string(s[:i]), s[i+2:]
			} else {
				val, b = string(bytes.TrimSuffix(bytes.TrimRight(s, " "), []byte(">"))), nil
				val = strings.TrimRight(val, " \n")
			}
			// klog indents each line of the block with a tab
			if strings.HasPrefix(val, "\t") {
				val = strings.ReplaceAll(val[1:], "\n\t", "\n")
			}
		default:
			n := bareValueLen(b)
			val, b = string(b[:n]), b[n:]
		}
		r.setField(key, val)
	}
}

// bareValueLen returns the length of an unquoted value: up to a space outside brackets and quotes.
func bareValueLen(b []byte) int {
	depth, inQuote := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			if depth > 0 {
				depth--
			}
		case (c == ' ' || c == '\t') && depth == 0:
			return i
		}
	}
	return len(b)
}

// ---- syslog prefix ----

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
