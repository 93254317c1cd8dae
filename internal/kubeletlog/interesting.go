package kubeletlog

import (
	"bytes"
	"hash/maphash"
	"reflect"
	"strings"
	"sync/atomic"
	"unsafe"
)

// InterestingMsgs are the kubelet messages, besides errors and warnings, that diagnosis and
// correlation use. Interesting is true for a line whose message (the JSON "msg", the quoted klog
// message, or an unstructured klog line) contains one of them; the match is case-sensitive.
// Error lines are always interesting: a JSON "err" key (except on v>=2 info lines, where the JSON
// logger's "v" right after "msg" marks debug detail), klog E/W/F lines, a klog err= key.
//
// Keep entries at least 8 bytes long where possible: the matcher skips ahead by up to the
// shortest entry's length, so one short entry slows every line.
//
// Packages may append to it from an init function (never while a scan runs):
//
//	func init() { kubeletlog.InterestingMsgs = append(kubeletlog.InterestingMsgs, "Some message") }
var InterestingMsgs = []string{
	// static pod sources and the manifest directory
	"Adding static pod path",
	"Watching path",
	"Could not process manifest file",
	"Unable to process watch event",
	"Unable to read config path",
	"Generated UID",
	"Generated pod name",
	// the URL source (staticPodURL, Talos): its failures are Info records with an err key, and
	// the success after a rejected list is misleading (podurl documents the vocabulary)
	"Adding pod URL with HTTP header",
	"Watching URL",
	"read pods from URL",
	// pod lifecycle the correlation follows
	"SyncLoop ADD",
	"SyncLoop REMOVE",
	"SyncLoop DELETE",
	"SyncLoop UPDATE",
	"SyncLoop (PLEG)",
	"Generic (PLEG): container finished",
	"Killing container",
	"Killing unwanted pod",
	"Probe failed",
	"back-off",
	"Back-off",
	"Started container",
	"Container exited",
	"Error syncing pod",
	"CrashLoopBackOff",
	"System OOM",
	"OOMKilled",
	"ErrImageNeverPull",
	"Container image",
	// mirror pods and admission
	"mirror pod",
	"Mirror pod",
	"Pod admission",
	"Predicate failed",
	// the runtime and the node
	"Container runtime network not ready",
	"cni plugin not initialized",
	"Kubelet version",
	"Starting kubelet",
	"Attempting to register node",
	"Failed to",
	"Unable to",
	"for pod failed",
	"Container start failed",
	// klog.Errorf lines that carry no "err" key in JSON format (the volume manager's
	// "Operation for … failed … MountVolume.SetUp failed"), and the runtime's own outages
	"MountVolume.SetUp failed",
	"MountVolume.MountDevice failed",
	"Unable to attach or mount volumes",
	"hostPath type check failed",
	"Skipping pod synchronization",
	"container runtime is down",
	"CreatePodSandbox",
	"RunPodSandbox",
	"ErrImagePull",
	"ImagePullBackOff",
	// decisions logged at info level (the kubelet restarts a container because a probe failed)
	"Message for Container of pod",
	"will be restarted",
	"failed liveness probe",
	"failed startup probe",
	"Pod admission denied",
	// pre-1.21 unstructured sentences at info level (see Vocabulary)
	"Adding pod path",
	" probe for \"",
	"SyncLoop (ADD",
	"SyncLoop (UPDATE",
	"SyncLoop (REMOVE",
	"SyncLoop (DELETE",
	"Version: v",
	// the kubelet process and its unit (journald/syslog lines from systemd)
	"command failed",
	"failed to run Kubelet",
	"Main process exited",
	"restart counter is at",
	"Failed with result",
}

// Interesting is a fast byte-level relevance check: true for every line the diagnosis needs
// (error and warning lines, and messages in InterestingMsgs), false for the bulk of a kubelet log
// (v=2..4 info noise), so that Scan parses only a small fraction of the lines. It never allocates
// and is safe for concurrent use. False positives are fine; the parser decides.
func Interesting(line []byte) bool {
	return currentMatcher().interesting(line, 0, nil)
}

// msgMemo remembers, for one scan goroutine, which messages matched InterestingMsgs. A kubelet's
// noise is a few dozen messages said over and over ("Probe succeeded", "SyncPod enter", a volume
// reconciled for each pod): a repeat costs a hash and a compare instead of the matcher's probes
// through the message, which were a quarter of a quiet log's scan. Only JSON "msg" values and
// klog quoted messages are remembered (what follows them still decides an err key); a log whose
// messages rarely repeat turns the memo off for a while, as the repeat cache does.
type msgMemo struct {
	seed   maphash.Seed
	slots  [msgMemoSlots]memoSlot
	window int // lookups in this window
	hits   int
	bypass int // lookups left to make without the memo
	asides int // times it stepped aside (for tests)
}

type memoSlot struct {
	msg   []byte
	match bool
	used  bool
}

const (
	msgMemoSlots  = 512
	msgMemoMaxLen = 512
	msgMemoWindow = 4096
	msgMemoBypass = 1 << 16
)

func newMsgMemo() *msgMemo { return &msgMemo{seed: maphash.MakeSeed()} }

// matchMemo is m.match(msg) through the memo (mm may be nil).
func (m *matcher) matchMemo(msg []byte, mm *msgMemo) bool {
	if mm == nil || len(msg) > msgMemoMaxLen {
		return m.match(msg)
	}
	if mm.bypass > 0 {
		mm.bypass--
		return m.match(msg)
	}
	mm.window++
	if mm.window == msgMemoWindow {
		if mm.hits < msgMemoWindow/2 {
			mm.bypass = msgMemoBypass
			mm.asides++
		}
		mm.window, mm.hits = 0, 0
	}
	s := &mm.slots[maphash.Bytes(mm.seed, msg)&(msgMemoSlots-1)]
	if s.used && bytes.Equal(s.msg, msg) {
		mm.hits++
		return s.match
	}
	res := m.match(msg)
	s.msg, s.match, s.used = append(s.msg[:0], msg...), res, true
	return res
}

var (
	jsonMsgKey    = []byte(`"msg":"`)
	jsonErrKey    = []byte(`"err":`)
	journalMsgKey = []byte(`"MESSAGE":`)
	escErrKey     = []byte(`\"err\":`)
	klogErrKey    = []byte(` err=`)
)

func (m *matcher) interesting(line []byte, depth int, mm *msgMemo) bool {
	for len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		line = line[1:]
	}
	if len(line) == 0 || depth > 2 {
		return false
	}
	if line[0] == '{' {
		if i := indexMsgKey(line); i >= 0 {
			msg := line[i+len(jsonMsgKey):]
			end := jsonStringEnd(msg)
			if m.matchMemo(msg[:end], mm) {
				return true
			}
			// The JSON logger writes "v" right after "msg" on info lines, and only there. At v>=2
			// (debug noise) an "err" key is detail, not an error: skip the search for it.
			if rest := msg[end:]; len(rest) > 7 && string(rest[:6]) == `","v":` && (rest[6] >= '2' && rest[6] <= '9' || isDigit(rest[7])) {
				return false
			}
			return hasKey(msg[end:], jsonErrKey)
		}
		if i := bytes.Index(line, journalMsgKey); i >= 0 {
			v := bytes.TrimLeft(line[i+len(journalMsgKey):], " ")
			if len(v) == 0 || v[0] != '"' {
				return true // MESSAGE as a byte array: rare, let the parser look
			}
			v = v[1:]
			v = v[:jsonStringEnd(v)]
			if len(v) > 0 && v[0] == '{' {
				return bytes.Contains(v, escErrKey) || m.match(v)
			}
			return m.interesting(v, depth+1, mm)
		}
		return bytes.Contains(line, jsonErrKey) || m.match(line)
	}
	if isKlogHeader(line) {
		switch line[0] {
		case 'E', 'W', 'F':
			return true
		}
		end := bytes.IndexByte(line, ']')
		if end < 0 {
			return false
		}
		rest := line[end+1:]
		if len(rest) > 1 && rest[0] == ' ' && rest[1] == '"' {
			// structured: the quoted message decides, like JSON's "msg", then an err= key
			msg := rest[2:]
			q := jsonStringEnd(msg)
			return m.matchMemo(msg[:q], mm) || bytes.Contains(msg[q:], klogErrKey)
		}
		return m.match(rest) || bytes.Contains(rest, klogErrKey)
	}
	// journald/syslog with a pid in the tag, the usual case: "… kubelet[1234]: <record>"
	if i := bytes.Index(line[:min(len(line), 200)], tagEnd); i > 0 {
		if p := line[i+len(tagEnd):]; len(p) > 0 && (p[0] == '{' || isKlogHeader(p)) {
			return m.interesting(p, depth+1, mm)
		}
	}
	return m.shaped(line, depth, mm)
}

var tagEnd = []byte("]: ")

var (
	exportMsgKey = []byte("MESSAGE=")
	goCaller     = []byte(".go:")
)

// shaped decides a line that does not start with a record: a journald/syslog/talosctl/grep
// prefix (the record after it decides), a journald export field, or a damaged klog line.
func (m *matcher) shaped(line []byte, depth int, mm *msgMemo) bool {
	switch line[0] {
	case 'M':
		if bytes.HasPrefix(line, exportMsgKey) {
			return m.interesting(line[len(exportMsgKey):], depth+1, mm) || m.vocabMatch(line)
		}
	case '_', 'S', 'P':
		// journald export fields the entry's MESSAGE line needs (time, host, identifier)
		if isExportField(line) {
			return true
		}
	}
	h, ok := scanHeader(line)
	if !ok {
		// a klog line missing its first characters: let the parser look (rare)
		return bytes.Contains(line[:min(len(line), 320)], goCaller)
	}
	payload := line[h.payload:]
	if h.unstructured {
		return m.match(payload) || m.vocabMatch(payload) || bytes.Contains(payload[:min(len(payload), 320)], goCaller)
	}
	return m.interesting(payload, depth+1, mm)
}

// vocabMatch: an unstructured line that a Vocabulary phrase may map (its literal is in it).
func (m *matcher) vocabMatch(b []byte) bool {
	for _, lit := range m.vocabLits {
		if bytes.Contains(b, lit) {
			return true
		}
	}
	return false
}

// indexMsgKey finds `"msg":"`; it searches for `msg":"` (a rarer first byte than the quote, which
// is everywhere in JSON) and checks the quote before it.
func indexMsgKey(line []byte) int {
	if i := kubeletMsgKey(line); i >= 0 {
		return i
	}
	return searchMsgKey(line)
}

func searchMsgKey(line []byte) int {
	off := 0
	for {
		i := bytes.Index(line[off:], jsonMsgKey[1:])
		if i < 0 {
			return -1
		}
		i += off
		if i > 0 && line[i-1] == '"' {
			return i - 1
		}
		off = i + 1
	}
}

var (
	jsonCallerKey = []byte(`,"caller":"`)
	jsonMsgAfter  = []byte(`","msg":"`)
)

// kubeletMsgKey finds `"msg":"` where the kubelet's JSON logger puts it — {"ts":…,"caller":"…",
// "msg":" — by stepping over the time and the caller (file:line, never an escaped quote) instead
// of searching for it; -1 on any other layout.
func kubeletMsgKey(line []byte) int {
	n := len(jsonTSKey)
	if len(line) < n || string(line[:n]) != jsonTSKey {
		return -1
	}
	c := bytes.IndexByte(line[n:min(len(line), n+40)], ',') // the end of the time
	if c < 0 {
		return -1
	}
	n += c
	if !bytes.HasPrefix(line[n:], jsonCallerKey) {
		return -1
	}
	n += len(jsonCallerKey)
	q := bytes.IndexByte(line[n:], '"')
	if q < 0 || !bytes.HasPrefix(line[n+q:], jsonMsgAfter) {
		return -1
	}
	return n + q + 2 // after `",`
}

// hasKey reports whether b contains key (`"name":`) as a key, not as escaped text in a value.
func hasKey(b, key []byte) bool {
	for {
		i := bytes.Index(b, key)
		if i < 0 {
			return false
		}
		if i == 0 || b[i-1] != '\\' {
			return true
		}
		b = b[i+len(key):]
	}
}

// jsonStringEnd returns the index of the closing quote of a JSON string body (len(b) if none).
func jsonStringEnd(b []byte) int {
	off := 0
	for {
		i := bytes.IndexByte(b[off:], '"')
		if i < 0 {
			return len(b)
		}
		i += off
		// count the backslashes before the quote
		n := 0
		for j := i - 1; j >= 0 && b[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return i
		}
		off = i + 1
	}
}

// matcher finds any of a set of substrings with a Wu–Manber style skip table: it looks at the two
// bytes ending a window of the shortest pattern's length and jumps ahead as far as no pattern can
// match, so a typical message is rejected after a handful of probes instead of a check per byte.
type matcher struct {
	src   []string          // the InterestingMsgs it was built from
	m     int               // shortest pattern length (>= 2)
	shift [wmTable]uint8    // by hash of a 2-byte block
	cands [wmTable][][]byte // patterns whose first m bytes end with that block
	short [][]byte          // patterns shorter than two bytes
	// vocabLits are the literals of the Vocabulary phrases, for unstructured lines after a
	// syslog tag (systemd's lines about the unit carry none of InterestingMsgs).
	vocabLits [][]byte
}

const wmTable = 4096

func wmHash(a, b byte) int { return (int(a)<<4 ^ int(b)) & (wmTable - 1) }

var cached atomic.Pointer[matcher]

func currentMatcher() *matcher {
	m := cached.Load()
	msgs := InterestingMsgs
	if m != nil && sameSlice(m.src, msgs) {
		return m
	}
	m = newMatcher(msgs)
	cached.Store(m)
	return m
}

func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}

func newMatcher(msgs []string) *matcher {
	m := &matcher{src: msgs}
	for _, ph := range Vocabulary {
		if ph.lit != "" && ph.Source == "systemd" {
			m.vocabLits = append(m.vocabLits, []byte(ph.lit))
		}
	}
	var long [][]byte
	for _, s := range msgs {
		switch {
		case len(s) == 0:
		case len(s) < 2:
			m.short = append(m.short, []byte(s))
		default:
			long = append(long, []byte(s))
			if m.m == 0 || len(s) < m.m {
				m.m = len(s)
			}
		}
	}
	if m.m > 255 {
		m.m = 255
	}
	for i := range m.shift {
		m.shift[i] = uint8(max(m.m-1, 0))
	}
	for _, p := range long {
		for j := 0; j+1 < m.m; j++ {
			h := wmHash(p[j], p[j+1])
			if s := uint8(m.m - 2 - j); s < m.shift[h] {
				m.shift[h] = s
			}
		}
		h := wmHash(p[m.m-2], p[m.m-1])
		m.cands[h] = append(m.cands[h], p)
	}
	return m
}

func (m *matcher) match(b []byte) bool {
	for _, p := range m.short {
		if bytes.Contains(b, p) {
			return true
		}
	}
	if m.m == 0 {
		return false
	}
	for pos := m.m - 1; pos < len(b); {
		h := wmHash(b[pos-1], b[pos])
		if s := m.shift[h]; s != 0 {
			pos += int(s)
			continue
		}
		start := pos - m.m + 1
		for _, p := range m.cands[h] {
			if bytes.HasPrefix(b[start:], p) {
				return true
			}
		}
		pos++
	}
	return false
}

// isInteresting reports whether a prefilter is Interesting itself.
func isInteresting(f func([]byte) bool) bool {
	return reflect.ValueOf(f).Pointer() == reflect.ValueOf(Interesting).Pointer()
}

// digitBlind reports whether no pattern of m holds a digit. Then Interesting gives a line that
// repeats a line it passed, but for digits the repeat cache knows to be time only, the same
// answer, and a scan skips it on a cache hit: every key and marker it looks for is digit-free,
// so a digit becomes no other digit inside one of them; isKlogHeader asks only whether bytes
// are digits; the one digit value it reads, the JSON "v" just after "msg", is never a time; and
// the prefixes scanHeader reads (where a day or an hour could make one no header at all) are
// read the same way on every hit (liteRead's signature). FuzzRepeatCache checks it.
func (m *matcher) digitBlind() bool {
	digit := func(b []byte) bool { return bytes.ContainsAny(b, "0123456789") }
	for _, s := range m.src {
		if strings.ContainsAny(s, "0123456789") {
			return false
		}
	}
	for _, b := range m.vocabLits {
		if digit(b) {
			return false
		}
	}
	return true
}
