// Package kernlog reads the kernel's log (the printk ring buffer) as the tools that copy it write
// it, and picks out what the kernel did to a node's processes: OOM kills, segfaults, hung tasks,
// disk I/O errors and full network tables, with the pod UID and container ID the kernel names
// (the victim's memory cgroup) so they can be put on the static pod they concern.
//
// Line formats (one record a line; a record whose text has a newline continues on lines of its
// own, and /dev/kmsg's " KEY=value" dictionary lines follow their record):
//
//	talos    machined's Dmesg API, as `talosctl support` writes <node>/dmesg.log and `talosctl
//	         dmesg` prints it (with "<node>: " in front): fmt "%s: %7s: [%s]: %s" of facility,
//	         priority, RFC 3339 nano wall time and text (siderolabs/talos v1alpha1_server.go;
//	         go-kmsg names the facilities and priorities)
//	             kern:     err: [2026-12-02T06:46:37.123456789Z]: Out of memory: Killed process …
//	dmesg    util-linux dmesg: "[   12.345678] text" (seconds since boot)
//	ctime    dmesg -T: "[Wed Dec  2 06:46:37 2026] text" (local time of the machine that ran it)
//	iso      dmesg --time-format iso: "2026-12-02T06:46:37,123456+00:00 text"
//	decode   dmesg -x: "kern  :err   : [   12.345678] text"
//	kmsg     /dev/kmsg read raw: "3,1234,12345678,-;text" (syslog prefix, sequence, µs since boot)
//	syslog   /var/log/kern.log: "Dec  2 06:46:37 host kernel: [   12.345678] text", and
//	         journalctl -k (-o short, short-precise): "Dec 02 06:46:37.123456 host kernel: text"
//	         (short-iso and short-iso-precise are read as iso)
package kernlog

import (
	"strconv"
	"strings"
	"time"
)

// Format names a line format (see the package comment).
type Format string

const (
	FormatTalos  Format = "talos"
	FormatDmesg  Format = "dmesg"
	FormatCtime  Format = "ctime"
	FormatISO    Format = "iso"
	FormatDecode Format = "decode"
	FormatKmsg   Format = "kmsg"
	FormatSyslog Format = "syslog"
)

// Line is one kernel log record.
type Line struct {
	// TS is the wall time of the record; zero when the format has only the time since boot.
	TS time.Time
	// SinceBoot is the time since boot, when the format has it (HasBoot).
	SinceBoot time.Duration
	HasBoot   bool
	// Facility and Priority as go-kmsg and dmesg name them ("kern", "err"); empty when the
	// format does not say.
	Facility, Priority string
	Format             Format
	Text               string
}

// facilities and priorities by syslog number (<sys/syslog.h>, the names go-kmsg prints).
var (
	facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	priorities = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
)

func known(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Parse reads one line in any of the formats. ok is false for a line that is none of them (a
// continuation of the record before it).
func Parse(s string) (Line, bool) {
	s = strings.TrimRight(s, "\r\n")
	if l, ok := parseTalos(s); ok {
		return l, true
	}
	// talosctl dmesg puts the node in front: "10.5.0.2: kern:    info: [...]: text".
	if node, rest, ok := strings.Cut(s, ": "); ok && node != "" && !strings.ContainsAny(node, " [") {
		if l, ok := parseTalos(rest); ok {
			return l, true
		}
	}
	if l, ok := parseBracket(s); ok {
		return l, true
	}
	if l, ok := parseKmsg(s); ok {
		return l, true
	}
	if l, ok := parseDecode(s); ok {
		return l, true
	}
	if l, ok := parseISO(s); ok {
		return l, true
	}
	return parseSyslog(s)
}

// parseTalos: "<facility>: <%7s priority>: [<RFC3339Nano>]: <text>".
func parseTalos(s string) (Line, bool) {
	fac, rest, ok := strings.Cut(s, ": ")
	if !ok || !known(facilities, fac) {
		return Line{}, false
	}
	prio, rest, ok := strings.Cut(rest, ": [")
	prio = strings.TrimLeft(prio, " ")
	if !ok || !known(priorities, prio) {
		return Line{}, false
	}
	ts, text, ok := strings.Cut(rest, "]: ")
	if !ok {
		ts, ok = strings.CutSuffix(rest, "]:")
		if !ok {
			return Line{}, false
		}
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Line{}, false
	}
	return Line{TS: t, Facility: fac, Priority: prio, Format: FormatTalos, Text: text}, true
}

// parseBracket: "[  12.345678] text" (dmesg) or "[Wed Dec  2 06:46:37 2026] text" (dmesg -T).
func parseBracket(s string) (Line, bool) {
	if !strings.HasPrefix(s, "[") {
		return Line{}, false
	}
	in, text, ok := strings.Cut(s[1:], "]")
	if !ok {
		return Line{}, false
	}
	text = strings.TrimPrefix(text, " ")
	if d, ok := sinceBoot(in); ok {
		return Line{SinceBoot: d, HasBoot: true, Format: FormatDmesg, Text: text}, true
	}
	if t, err := time.Parse(time.ANSIC, in); err == nil {
		return Line{TS: t, Format: FormatCtime, Text: text}, true
	}
	return Line{}, false
}

// sinceBoot parses "   12.345678" (seconds since boot, as printk prints them).
func sinceBoot(s string) (time.Duration, bool) {
	s = strings.TrimLeft(s, " ")
	sec, frac, ok := strings.Cut(s, ".")
	if !ok || sec == "" || frac == "" || len(frac) > 9 || !digits(sec) || !digits(frac) || len(sec) > 10 {
		return 0, false
	}
	n, _ := strconv.ParseInt(sec, 10, 64)
	f, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	return time.Duration(n)*time.Second + time.Duration(f), true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseKmsg: "<prefix>,<seq>,<µs since boot>,<flags>[,caller=…];text" (Documentation/ABI/testing/dev-kmsg).
func parseKmsg(s string) (Line, bool) {
	head, text, ok := strings.Cut(s, ";")
	if !ok {
		return Line{}, false
	}
	f := strings.Split(head, ",")
	if len(f) < 4 || !digits(f[0]) || !digits(f[1]) || !digits(f[2]) || len(f[0]) > 4 || len(f[2]) > 18 {
		return Line{}, false
	}
	pfx, _ := strconv.Atoi(f[0])
	us, _ := strconv.ParseInt(f[2], 10, 64)
	l := Line{SinceBoot: time.Duration(us) * time.Microsecond, HasBoot: true, Format: FormatKmsg, Text: unescape(text),
		Priority: priorities[pfx&7]}
	if fac := pfx >> 3; fac < len(facilities) {
		l.Facility = facilities[fac]
	}
	return l, true
}

// unescape undoes /dev/kmsg's \xNN escapes of unprintable bytes (and "\\").
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '\\' {
			b.WriteByte('\\')
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseDecode: "kern  :err   : [   12.345678] text" (dmesg -x).
func parseDecode(s string) (Line, bool) {
	fac, rest, ok := strings.Cut(s, ":")
	fac = strings.TrimRight(fac, " ")
	if !ok || !known(facilities, fac) {
		return Line{}, false
	}
	prio, rest, ok := strings.Cut(rest, ":")
	prio = strings.TrimRight(prio, " ")
	if !ok || !known(priorities, prio) {
		return Line{}, false
	}
	rest = strings.TrimPrefix(rest, " ")
	l, ok := parseBracket(rest)
	if !ok {
		l = Line{Format: FormatDecode, Text: rest}
	}
	l.Facility, l.Priority, l.Format = fac, prio, FormatDecode
	return l, true
}

// isoLayouts: dmesg --time-format iso, RFC 3339, and journalctl -o short-iso[-precise] (+0000).
var isoLayouts = []string{"2006-01-02T15:04:05,999999999Z07:00", time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700"}

// parseISO: "2026-12-02T06:46:37,123456+00:00 text" (dmesg --time-format iso), or journalctl -k
// -o short-iso[-precise]: "2026-12-02T06:46:37.123456+0000 host kernel: text".
func parseISO(s string) (Line, bool) {
	ts, text, ok := strings.Cut(s, " ")
	if !ok || len(ts) < 20 || ts[4] != '-' || ts[10] != 'T' {
		return Line{}, false
	}
	for _, layout := range isoLayouts {
		t, err := time.Parse(layout, ts)
		if err != nil {
			continue
		}
		l := Line{TS: t, Format: FormatISO, Text: text}
		if strings.Contains(ts, ",") {
			return l, true // dmesg's own (a comma before the fraction): the text is the kernel's
		}
		// journalctl: "<host> <identifier>[<pid>]: text"; only the identifier "kernel" is the
		// kernel's word, the rest is userspace's (with -k there is no other).
		host, rest, ok := strings.Cut(text, " ")
		ident, msg, ok2 := strings.Cut(rest, ": ")
		if ok && ok2 && host != "" && ident != "" && !strings.ContainsAny(ident, " ") {
			l.Text, l.Facility = msg, "kern"
			if ident != "kernel" {
				l.Facility = "user"
			}
		}
		return l, true
	}
	return Line{}, false
}

// parseSyslog: "Dec  2 06:46:37 host kernel: [   12.345678] text" (rsyslog's kern.log; the year
// is not written, so only the time since boot, when printk added it, is kept).
func parseSyslog(s string) (Line, bool) {
	if len(s) < 16 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':' {
		return Line{}, false
	}
	if _, err := time.Parse(time.Stamp, s[:15]); err != nil {
		return Line{}, false
	}
	i := strings.Index(s[15:], " kernel: ")
	if i < 0 {
		return Line{}, false
	}
	text := s[15+i+len(" kernel: "):]
	if l, ok := parseBracket(text); ok {
		l.Format, l.Facility = FormatSyslog, "kern"
		return l, true
	}
	return Line{Format: FormatSyslog, Facility: "kern", Text: text}, true
}

// Kernel reports whether the record comes from the kernel: Talos writes its own messages to the
// kernel log too ("user: warning: … [talos] …"), and userspace can write any text there.
func (l Line) Kernel() bool { return l.Facility == "" || l.Facility == "kern" }
