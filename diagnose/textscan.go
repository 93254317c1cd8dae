package diagnose

import "strings"

// Hand-written scanners for the IDs inside kubelet message text. They replace regular
// expressions on the hot path (every record is scanned once or twice): a byte loop that jumps to
// the next '(' or hex run is many times faster than backtracking from every offset.

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func isLowerHexOrDash(c byte) bool { return isHex(c) || c == '-' }

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// isUID reports whether s is a pod UID: 32 hex digits (a static pod's config hash) or a UUID.
func isUID(s string) bool {
	switch len(s) {
	case 32:
		for i := 0; i < len(s); i++ {
			if !isHex(s[i]) {
				return false
			}
		}
		return true
	case 36:
		for i := 0; i < len(s); i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if s[i] != '-' {
					return false
				}
			} else if !isHex(s[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// podMention is a pod named in message text as the kubelet's format.Pod: name_ns(uid).
type podMention struct{ name, ns, uid string }

// nameNSUIDs finds every "<name>_<ns>(<uid>)" in s.
func nameNSUIDs(s string) []podMention {
	var out []podMention
	off := 0
	for {
		i := strings.IndexByte(s[off:], '(')
		if i < 0 {
			return out
		}
		open := off + i
		off = open + 1
		end := strings.IndexByte(s[off:], ')')
		if end < 0 {
			return out
		}
		uid := strings.ToLower(s[off : off+end])
		if !isUID(uid) {
			continue
		}
		// walk back over "<name>_<ns>"
		j := open
		for j > 0 && isNameByte(s[j-1]) {
			j--
		}
		ns := s[j:open]
		if j == 0 || s[j-1] != '_' || ns == "" {
			continue
		}
		k := j - 1
		for k > 0 && isNameByte(s[k-1]) {
			k--
		}
		if name := s[k : j-1]; name != "" {
			out = append(out, podMention{name: name, ns: ns, uid: uid})
		}
	}
}

// podUIDTexts finds `pod "<name>" (UID: "<uid>")` (the volume manager's format), quotes
// possibly escaped.
func podUIDTexts(s string) []podMention {
	var out []podMention
	const key = "(UID: "
	off := 0
	for {
		i := strings.Index(s[off:], key)
		if i < 0 {
			return out
		}
		at := off + i
		off = at + len(key)
		uid := strings.TrimLeft(s[off:], `\"`)
		if n := strings.IndexAny(uid, `\")`); n >= 0 {
			uid = uid[:n]
		}
		if !isUID(strings.ToLower(uid)) {
			continue
		}
		before := strings.TrimRight(s[:at], ` \"`)
		p := strings.LastIndex(before, `pod `)
		if p < 0 {
			continue
		}
		name := strings.Trim(before[p+len("pod "):], `\" `)
		if name != "" && !strings.ContainsAny(name, " ") {
			out = append(out, podMention{name: name, uid: strings.ToLower(uid)})
		}
	}
}

// hexRuns returns the maximal runs of [0-9a-f-] in s that are pod UIDs (32 hex, UUID) or
// container IDs (64 hex), in order; a "podName:<uid>" key is one of them.
func hexRuns(s string) (uids, cids []string) {
	for i := 0; i < len(s); {
		if !isLowerHexOrDash(s[i]) || (i > 0 && isWordByte(s[i-1])) {
			i++
			continue
		}
		j := i
		for j < len(s) && isLowerHexOrDash(s[j]) {
			j++
		}
		if j < len(s) && isWordByte(s[j]) {
			i = j
			continue
		}
		run := strings.Trim(s[i:j], "-")
		switch {
		case isUID(run):
			uids = append(uids, run)
		case len(run) == 64 && strings.IndexByte(run, '-') < 0:
			cids = append(cids, run)
		}
		i = j
	}
	return uids, cids
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// normalize maps lines that differ only in IDs, durations, counters and timestamps to one key,
// so repeats (back-off 10s, 20s, 40s…) collapse: hex runs of 8+ become <id>, numbers (with a
// fraction and a duration unit) become <n>.
func normalize(line string) string {
	var b strings.Builder
	b.Grow(len(line))
	for i := 0; i < len(line); {
		c := line[i]
		if isHex(c) || c >= 'A' && c <= 'F' {
			j := i
			for j < len(line) && (isHex(line[j]) || line[j] >= 'A' && line[j] <= 'F' || line[j] == '-') {
				j++
			}
			if j-i >= 8 && (i == 0 || !isWordByte(line[i-1]) || isDigitByte(line[i-1])) {
				b.WriteString("<id>")
				i = j
				continue
			}
		}
		if isDigitByte(c) {
			j := i
			// a number with a fraction and a unit, repeated for durations like 2m40.5s
			for j < len(line) && isDigitByte(line[j]) {
				for j < len(line) && (isDigitByte(line[j]) || line[j] == '.') {
					j++
				}
				for _, u := range []string{"ms", "µs", "ns", "s", "m", "h"} {
					if strings.HasPrefix(line[j:], u) {
						j += len(u)
						break
					}
				}
			}
			b.WriteString("<n>")
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }
