package kubeletlog

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"
)

// Shape names the way a kubelet log arrived: the prefix (if any) in front of the kubelet's own
// klog or JSON record. A file has one shape in practice; Stats.Shapes counts them per line.
type Shape string

const (
	ShapeKlog          Shape = "klog"            // bare klog text: a kubelet.log file, journalctl -o cat
	ShapeJSON          Shape = "json"            // --logging-format=json lines
	ShapeJournalJSON   Shape = "journal-json"    // journalctl -o json (MESSAGE holds the kubelet line)
	ShapeJournalExport Shape = "journal-export"  // journalctl -o export (MESSAGE=… lines)
	ShapeShort         Shape = "short"           // journalctl -o short, syslog RFC 3164: "Nov 24 21:55:04 host kubelet[1234]: "
	ShapeShortPrecise  Shape = "short-precise"   // "Nov 24 21:55:04.123456 host kubelet[1234]: "
	ShapeShortISO      Shape = "short-iso"       // "2024-11-24T21:55:04+0000 host kubelet[1234]: " (also -precise, rsyslog)
	ShapeShortFull     Shape = "short-full"      // "Sun 2024-11-24 21:55:04 UTC host kubelet[1234]: " (also with-unit)
	ShapeShortMono     Shape = "short-monotonic" // "[ 1234.567890] host kubelet[1234]: "
	ShapeShortUnix     Shape = "short-unix"      // "1732485304.123456 host kubelet[1234]: "
	ShapeRFC5424       Shape = "rfc5424"         // "<30>1 2024-11-24T21:55:04.1Z host kubelet 1234 - - "
	ShapeTag           Shape = "tag"             // "kubelet[1234]: " with no date or host
	ShapeTalos         Shape = "talosctl"        // "172.20.0.2: " node prefix of talosctl logs (-n a,b interleaves nodes)
	ShapeCRI           Shape = "cri"             // "2024-11-24T21:55:04.1Z stderr F " (a kubelet in a container, kubectl logs)
	ShapeDamaged       Shape = "damaged"         // a klog record whose header is cut (first characters missing)
)

// Damage marks a record read from a line that was not intact.
const (
	DamageHeadMissing = "head-missing" // the line's first characters are missing: level or time unknown
	DamageTruncated   = "truncated"    // cut at the end (pager '>', systemctl '…', a hard wrap); may be joined
	DamageJoined      = "joined"       // continuation lines were joined to this record
	DamageGlued       = "glued"        // two records were glued on one line; this is one of them
	DamagePrefix      = "prefix"       // an unknown prefix before the record was skipped
)

// hdr is what a line's prefix says, as offsets into the line (no allocation until fill).
type hdr struct {
	shape   Shape
	payload int // offset of what follows the prefix
	// time
	year, month, day, hh, mm, ss int
	ns                           int64
	hasDate                      bool // month and day
	hasYear                      bool
	unix                         bool // sec/nsec hold a unix time
	sec                          int64
	zone                         *time.Location
	// fields
	hostS, hostE int
	tagS, tagE   int
	nodeS, nodeE int
	pid          int
	lineNo       int64
	unstructured bool // the payload is no klog/JSON record (a plain message after a syslog tag)
	damage       string
	off          int // offset in the line of the prefix element being peeled
	// times are the [start, end) offsets in the line of the digits read as wall time (a repeat
	// cache may reuse a record for a line that differs from it only there)
	times [3][2]int
	nt    int
}

// timeSpan records b[s:e] of the element being peeled as read for the time.
func (h *hdr) timeSpan(s, e int) {
	if h.nt < len(h.times) {
		h.times[h.nt] = [2]int{h.off + s, h.off + e}
		h.nt++
	}
}

// maxPrefix bounds how far into a line a prefix may reach.
const maxPrefix = 512

// scanHeader peels known prefixes off line (syslog and journald dates, hosts and tags, talosctl
// node addresses, grep -n line numbers, RFC 5424, CRI log prefixes) until the kubelet's own record
// starts. ok is false when no prefix was recognised and no record start was found.
func scanHeader(line []byte) (h hdr, ok bool) {
	i := skipSpace(line, 0)
	for step := 0; step < 5; step++ {
		rest := line[i:]
		if len(rest) == 0 {
			return h, false
		}
		if rest[0] == '{' || isKlogHeader(rest) {
			h.payload = i
			return h, step > 0
		}
		h.off = i
		n := h.peel(rest)
		if n <= 0 {
			break
		}
		i = skipSpace(line, i+n)
		if h.tagE > 0 && h.shape != ShapeCRI && h.shape != ShapeTalos {
			// after a tag comes the message, whatever it is
			rest = line[i:]
			if len(rest) > 0 && (rest[0] == '{' || isKlogHeader(rest)) {
				h.payload = i
				return h, true
			}
			if j := findRecordStart(rest); j > 0 {
				h.payload, h.damage = i+j, DamagePrefix
				return h, true
			}
			h.payload, h.unstructured = i, true
			return h, true
		}
	}
	// An unknown prefix (a file name from grep -r, a timestamp of some collector): find the record.
	if j := findRecordStart(line[i:]); j > 0 {
		h.payload = i + j
		if h.shape == "" {
			h.damage = DamagePrefix
		}
		return h, true
	}
	return h, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// findRecordStart finds a klog header or a JSON object start `{"` within maxPrefix bytes, after a
// space, tab, colon or '>' (never in the middle of a word); -1 if none.
func findRecordStart(b []byte) int {
	lim := min(len(b), maxPrefix)
	for i := 1; i < lim; i++ {
		switch c := b[i]; c {
		case 'I', 'W', 'E', 'F':
			if isBoundary(b[i-1]) && isKlogHeader(b[i:]) {
				return i
			}
		case '{':
			if i+1 < len(b) && b[i+1] == '"' && isBoundary(b[i-1]) {
				return i
			}
		}
	}
	return -1
}

func isBoundary(c byte) bool {
	return c == ' ' || c == '\t' || c == ':' || c == '>' || c == '|' || c == ']' || c == '='
}

// peel consumes one prefix element at the start of b and returns its length (0: none).
func (h *hdr) peel(b []byte) int {
	switch {
	case b[0] == '<':
		return h.peelPRI(b)
	case b[0] == '[':
		return h.peelMonotonic(b)
	case isISODate(b):
		return h.peelISO(b)
	}
	if n := h.peelUnix(b); n > 0 {
		return n
	}
	if n := h.peelFull(b); n > 0 {
		return n
	}
	if n := h.peelMonthDay(b); n > 0 {
		return n
	}
	if n := h.peelLineNo(b); n > 0 {
		return n
	}
	return h.peelToken(b)
}

// isISODate: "2024-11-24" followed by 'T' or ' '.
func isISODate(b []byte) bool {
	return len(b) >= 19 && isDigits(b[:4]) && b[4] == '-' && isDigits(b[5:7]) && b[7] == '-' && isDigits(b[8:10]) &&
		(b[10] == 'T' || b[10] == ' ') && isDigits(b[11:13]) && b[13] == ':' && isDigits(b[14:16]) && b[16] == ':' && isDigits(b[17:19])
}

// readISO reads "2024-11-24T21:55:04[.frac][Z|±hh:mm|±hhmm]" and returns its length.
func (h *hdr) readISO(b []byte, at int) int {
	n := h.readISOTime(b)
	h.timeSpan(at, at+n)
	return n
}

func (h *hdr) readISOTime(b []byte) int {
	h.year, h.month, h.day = atoi4(b), atoi2(b[5:7]), atoi2(b[8:10])
	h.hh, h.mm, h.ss = atoi2(b[11:13]), atoi2(b[14:16]), atoi2(b[17:19])
	h.hasDate, h.hasYear = true, true
	i := 19
	i = h.readFrac(b, i)
	switch {
	case i < len(b) && b[i] == 'Z':
		h.zone = time.UTC
		i++
	case i+5 <= len(b) && (b[i] == '+' || b[i] == '-') && isDigits(b[i+1:i+3]):
		sign := 1
		if b[i] == '-' {
			sign = -1
		}
		hh := atoi2(b[i+1 : i+3])
		j := i + 3
		if j < len(b) && b[j] == ':' {
			j++
		}
		if j+2 <= len(b) && isDigits(b[j:j+2]) {
			h.zone = fixedZone(sign * (hh*3600 + atoi2(b[j:j+2])*60))
			i = j + 2
		}
	}
	return i
}

func (h *hdr) readFrac(b []byte, i int) int {
	if i < len(b) && b[i] == '.' {
		i++
		scale := int64(100000000)
		for ; i < len(b) && isDigit(b[i]); i++ {
			h.ns += int64(b[i]-'0') * scale
			scale /= 10
		}
	}
	return i
}

func fixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone("", off)
}

func atoi4(b []byte) int { return atoi2(b)*100 + atoi2(b[2:4]) }

// peelISO: short-iso / short-iso-precise / rsyslog, a CRI log line, or RFC 3339 with a space.
func (h *hdr) peelISO(b []byte) int {
	i := h.readISO(b, 0)
	if i < len(b) && b[i] != ' ' {
		return 0
	}
	h.shape = ShapeShortISO
	// CRI container log: "<ts> stdout|stderr F|P "
	if j := i + 1; j+9 <= len(b) && (string(b[j:j+7]) == "stdout " || string(b[j:j+7]) == "stderr ") && (b[j+7] == 'F' || b[j+7] == 'P') && b[j+8] == ' ' {
		h.shape = ShapeCRI
		h.tagS, h.tagE = j, j+6
		return j + 9
	}
	return i + h.peelHostTag(b[i:], i)
}

// peelFull: "Sun 2024-11-24 21:55:04 UTC host tag[pid]: " (short-full, with-unit); the day name
// is in the node's locale.
func (h *hdr) peelFull(b []byte) int {
	sp := bytes.IndexByte(b, ' ')
	if sp <= 0 || sp > 24 || !isISODate(b[sp+1:]) || b[sp+11] != ' ' {
		return 0
	}
	i := sp + 1
	i += h.readISO(b[i:], i)
	if i >= len(b) || b[i] != ' ' {
		return 0
	}
	// the zone abbreviation
	j := skipSpace(b, i)
	k := j
	for k < len(b) && b[k] != ' ' {
		k++
	}
	if tz := string(b[j:k]); tz == "UTC" || tz == "GMT" || tz == "Z" {
		h.zone = time.UTC
	}
	h.shape = ShapeShortFull
	return k + h.peelHostTag(b[k:], k)
}

// peelMonotonic: "[ 1234.567890] host tag[pid]: " (short-monotonic, no wall time).
func (h *hdr) peelMonotonic(b []byte) int {
	end := bytes.IndexByte(b, ']')
	if end < 3 || end > 24 {
		return 0
	}
	in := bytes.TrimSpace(b[1:end])
	dot := bytes.IndexByte(in, '.')
	if dot <= 0 || !isDigits(in[:dot]) || !isDigits(in[dot+1:]) {
		return 0
	}
	h.shape = ShapeShortMono
	i := end + 1
	return i + h.peelHostTag(b[i:], i)
}

// peelUnix: "1732485304.123456 host tag[pid]: " (short-unix).
func (h *hdr) peelUnix(b []byte) int {
	i := 0
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	if i < 9 || i > 11 || i >= len(b) || b[i] != '.' {
		return 0
	}
	j := i + 1
	for j < len(b) && isDigit(b[j]) {
		j++
	}
	if j == i+1 || j >= len(b) || b[j] != ' ' {
		return 0
	}
	sec, err := strconv.ParseInt(string(b[:i]), 10, 64)
	if err != nil {
		return 0
	}
	h.sec, h.unix, h.hasYear = sec, true, true
	h.readFrac(b, i)
	h.timeSpan(0, j)
	h.shape = ShapeShortUnix
	return j + h.peelHostTag(b[j:], j)
}

// peelMonthDay: "<month> <day> hh:mm:ss[.frac] host tag[pid]: " with the month as strftime %b
// prints it in the node's locale ("Nov", "Mär", "janv.", "11月", " 3月"), the day zero- or
// space-padded (journald: %d, rsyslog: %e).
func (h *hdr) peelMonthDay(b []byte) int {
	// the time: first "dd:dd:dd" within the first 40 bytes
	lim := min(len(b), 48)
	t := -1
	for i := 3; i+8 <= lim; i++ {
		if b[i] == ':' && b[i+3] == ':' && isDigits(b[i-2:i]) && isDigits(b[i+1:i+3]) && isDigits(b[i+4:i+6]) {
			t = i - 2
			break
		}
	}
	if t < 4 || b[t-1] != ' ' {
		return 0
	}
	// the day before it
	d := t - 1
	for d > 0 && b[d-1] == ' ' {
		d--
	}
	ds := d
	for ds > 0 && isDigit(b[ds-1]) {
		ds--
	}
	if ds == d || d-ds > 2 || ds == 0 {
		return 0
	}
	day, _ := strconv.Atoi(string(b[ds:d]))
	mon := bytes.TrimRight(b[:ds], " ")
	// Some locales put a suffix after the day ("24日"): not in %b %d, so not here.
	m := lookupMonth(mon)
	if m == 0 || day < 1 || day > 31 {
		return 0
	}
	h.month, h.day, h.hasDate = m, day, true
	h.hh, h.mm, h.ss = atoi2(b[t:t+2]), atoi2(b[t+3:t+5]), atoi2(b[t+6:t+8])
	i := h.readFrac(b, t+8)
	h.timeSpan(ds, d)
	h.timeSpan(t, i)
	h.shape = ShapeShort
	if i > t+8 {
		h.shape = ShapeShortPrecise
	}
	if i < len(b) && b[i] != ' ' {
		return 0
	}
	return i + h.peelHostTag(b[i:], i)
}

func lookupMonth(b []byte) int {
	if len(b) == 0 || len(b) > 24 {
		return 0
	}
	if len(b) == 3 { // English first: no map lookup on the common path
		for i, m := range months {
			if string(b) == m {
				return i + 1
			}
		}
	}
	if m := localeMonths[string(b)]; m != 0 {
		return int(m)
	}
	return 0
}

// peelHostTag reads " host tag[pid]: " after a timestamp; it returns the length consumed (0 and
// no host/tag when the shape does not match: then only the timestamp was a prefix).
func (h *hdr) peelHostTag(b []byte, base int) int {
	i := skipSpace(b, 0)
	hs := i
	for i < len(b) && b[i] != ' ' {
		i++
	}
	if i == hs || i >= len(b) {
		return 0
	}
	he := i
	i = skipSpace(b, i)
	ts := i
	// the tag: up to ": " or ":" at the end, no spaces, at most 128 bytes
	for i < len(b) && b[i] != ' ' && i-ts < 128 {
		i++
	}
	if i == ts || b[i-1] != ':' {
		// A host followed directly by the record (some relays drop the tag).
		return 0
	}
	tagEnd := i - 1
	h.hostS, h.hostE = h.off+base+hs, h.off+base+he
	h.setTag(b[ts:tagEnd], base+ts)
	return i
}

// setTag records "name[pid]" or "name" at offset off.
func (h *hdr) setTag(tag []byte, off int) {
	if j := bytes.IndexByte(tag, '['); j > 0 && tag[len(tag)-1] == ']' {
		if pid, err := strconv.Atoi(string(tag[j+1 : len(tag)-1])); err == nil {
			h.pid = pid
		}
		tag = tag[:j]
	}
	h.tagS, h.tagE = h.off+off, h.off+off+len(tag)
}

// peelPRI: "<30>" of a syslog line sent over the wire; "<30>1 " starts RFC 5424:
// "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG".
func (h *hdr) peelPRI(b []byte) int {
	end := bytes.IndexByte(b, '>')
	if end < 2 || end > 4 || !isDigits(b[1:end]) {
		return 0
	}
	i := end + 1
	if !(i+2 <= len(b) && b[i] == '1' && b[i+1] == ' ') {
		return i // RFC 3164 with its PRI: the date follows
	}
	i += 2
	var fields [5][2]int // timestamp host app procid msgid
	for f := range fields {
		i = skipSpace(b, i)
		s := i
		for i < len(b) && b[i] != ' ' {
			i++
		}
		if i == s {
			return 0
		}
		fields[f] = [2]int{s, i}
	}
	if ts := b[fields[0][0]:fields[0][1]]; isISODate(ts) {
		h.readISO(ts, fields[0][0])
	}
	i = skipSpace(b, i)
	// structured data: "-" or one or more [..] elements
	if i < len(b) && b[i] == '-' {
		i++
	} else {
		for i < len(b) && b[i] == '[' {
			j := bytes.IndexByte(b[i:], ']')
			if j < 0 {
				return 0
			}
			i += j + 1
		}
	}
	h.shape = ShapeRFC5424
	h.hostS, h.hostE = h.off+fields[1][0], h.off+fields[1][1]
	h.tagS, h.tagE = h.off+fields[2][0], h.off+fields[2][1]
	if pid, err := strconv.Atoi(string(b[fields[3][0]:fields[3][1]])); err == nil {
		h.pid = pid
	}
	if i < len(b) && b[i] == ' ' {
		i++
	}
	// a UTF-8 BOM may start MSG
	if bytes.HasPrefix(b[i:], []byte("\xef\xbb\xbf")) {
		i += 3
	}
	return i
}

// peelLineNo: a line number in front ("123:", "123-" from grep -n, "   123\t" from cat -n,
// "123|" from editors and pastebins).
func (h *hdr) peelLineNo(b []byte) int {
	i := 0
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	if i == 0 || i > 9 || i >= len(b) {
		return 0
	}
	switch b[i] {
	case ':', '-', '\t', '|', ' ':
		if b[i] == ':' && i+1 < len(b) && isDigit(b[i+1]) {
			return 0
		}
	default:
		return 0
	}
	n, _ := strconv.ParseInt(string(b[:i]), 10, 64)
	if h.lineNo == 0 {
		h.lineNo = n
	}
	// an editor's gutter: "42 | …", "42 │ …"
	j := skipSpace(b, i+1)
	switch {
	case j < len(b) && b[j] == '|':
		return j + 1
	case bytes.HasPrefix(b[j:], []byte("│")):
		return j + len("│")
	}
	return i + 1
}

// peelToken: "kubelet[1234]: " (a bare tag), a talosctl node prefix ("172.20.0.2: ",
// "node-1: ") or a known tag without pid ("kubelet: ").
func (h *hdr) peelToken(b []byte) int {
	lim := min(len(b), 256)
	i := 0
	for i < lim && b[i] != ' ' && b[i] != '\t' {
		i++
	}
	if i < 2 || b[i-1] != ':' || (i < len(b) && b[i] != ' ') {
		return 0
	}
	tok := b[:i-1]
	switch {
	case tok[len(tok)-1] == ']' && bytes.IndexByte(tok, '[') > 0:
		h.setTag(tok, 0)
		h.shape = ShapeTag
	case isIP(tok) || (isHostname(tok) && !knownTag(tok) && startsRecord(b[skipSpace(b, i):])):
		h.nodeS, h.nodeE = h.off, h.off+len(tok)
		h.shape = ShapeTalos
	case knownTag(tok) && !bytes.HasSuffix(tok, []byte(".service")):
		// (systemd's own messages start "kubelet.service: …": that is text, not a tag)
		h.setTag(tok, 0)
		h.shape = ShapeTag
	default:
		return 0
	}
	return i
}

// startsRecord: a klog header or a JSON object, maybe after Talos's own "[talos] " marker.
func startsRecord(b []byte) bool {
	return len(b) > 0 && (b[0] == '{' || isKlogHeader(b) || bytes.HasPrefix(b, []byte("[talos]")))
}

func isIP(b []byte) bool {
	dots, colons := 0, 0
	for _, c := range b {
		switch {
		case c == '.':
			dots++
		case c == ':':
			colons++
		case isDigit(c), c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return (dots == 3 && colons == 0) || colons >= 2
}

func isHostname(b []byte) bool {
	if len(b) == 0 || len(b) > 253 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// knownTags are syslog identifiers a kubelet's lines come under.
var knownTags = []string{"kubelet", "kubelet-wrapper", "hyperkube", "k3s", "k3s-agent", "k3s-server", "rke2", "rke2-agent", "rke2-server",
	"k0s", "k0sworker", "microk8s", "kubelite", "docker", "dockerd", "containerd", "crio", "systemd", "kernel", "snap.microk8s.daemon-kubelite"}

func knownTag(b []byte) bool {
	s := string(bytes.TrimSuffix(b, []byte(".service")))
	for _, t := range knownTags {
		if s == t {
			return true
		}
	}
	return false
}

// time returns the header's wall time and whether it has one.
func (h *hdr) time(loc *time.Location) (time.Time, bool) {
	switch {
	case h.unix:
		return time.Unix(h.sec, h.ns), true
	case h.hasYear:
		if h.zone != nil {
			loc = h.zone
		}
		if loc == nil {
			loc = time.Local
		}
		return time.Date(h.year, time.Month(h.month), h.day, h.hh, h.mm, h.ss, int(h.ns), loc), true
	}
	return time.Time{}, false
}

// fill copies the header's fields into r.
func (h *hdr) fill(r *Record, line []byte) {
	if h.shape != "" {
		r.Shape = h.shape
	}
	if h.hostE > h.hostS {
		r.Host = validString(line[h.hostS:h.hostE])
	}
	if h.tagE > h.tagS && h.shape != ShapeCRI {
		r.Unit = validString(line[h.tagS:h.tagE])
	}
	if h.nodeE > h.nodeS {
		r.Node = validString(line[h.nodeS:h.nodeE])
	}
	if r.PID == 0 {
		r.PID = h.pid
	}
	if h.lineNo > 0 {
		r.PastedLine = h.lineNo
	}
	r.addDamage(h.damage)
}

func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

func (r *Record) addDamage(d string) {
	switch {
	case d == "":
	case r.Damage == "":
		r.Damage = d
	case !bytes.Contains([]byte(r.Damage), []byte(d)):
		r.Damage += "," + d
	}
}
