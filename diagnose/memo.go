package diagnose

import (
	"sync"
	"unsafe"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// DefaultMemoSize bounds a Memo: more distinct records than this between two analyses only cost
// the work a Memo saves, never memory.
const DefaultMemoSize = 1 << 16

// Memo keeps what Analyze works out for one kubelet record on its own — its class and its
// evidence line — across analyses of records that overlap: the agent analyzes its live records
// (internal/node livelog.go) at most once a second, nearly all of them ones it classified the
// second before, and a crash loop's repeats share their parsed content (the kubeletlog repeat
// cache). The key is the record's parsed content (message, error, pod, container, image,
// level, caller, shape and its Fields map): never its time, place or raw line, which no record
// rule reads. Attribution to pods and files is not kept: it depends on the snapshot. A Memo is
// bounded (it is emptied when full) and safe for concurrent use; the report is the same with or
// without one.
type Memo struct {
	mu  sync.Mutex
	max int
	m   map[memoKey]*memoVal
}

// NewMemo returns a Memo of at most max records (DefaultMemoSize when max <= 0).
func NewMemo(max int) *Memo {
	if max <= 0 {
		max = DefaultMemoSize
	}
	return &Memo{max: max}
}

type memoKey struct {
	msg, err, path, pod, ns, uid, cid, ctr, image, level, caller string
	v                                                            int
	format                                                       kubeletlog.Format
	shape                                                        kubeletlog.Shape
	unit, damage, vocab                                          string
	// fields is the record's Fields map itself: records share one only when the repeat cache
	// parsed them from the same line but for its time (a pointer, so the map stays alive and
	// is never confused with another one allocated in its place).
	fields unsafe.Pointer
}

type memoVal struct {
	class    class
	ok, done bool
	line     string // evidence line and its normalized key, once asked for
	key      string
	lined    bool
}

func keyOf(r *kubeletlog.Record) memoKey {
	return memoKey{
		msg: r.Msg, err: r.Err, path: r.Path, pod: r.PodName, ns: r.PodNamespace, uid: r.PodUID, cid: r.ContainerID,
		ctr: r.ContainerName, image: r.Image, level: r.Level, caller: r.Caller, v: r.V, format: r.Format, shape: r.Shape,
		unit: r.Unit, damage: r.Damage, vocab: r.Vocab, fields: *(*unsafe.Pointer)(unsafe.Pointer(&r.Fields)),
	}
}

// val is the entry of r, created when missing (the map emptied when full). m.mu is held.
func (m *Memo) val(r *kubeletlog.Record) *memoVal {
	k := keyOf(r)
	if v, ok := m.m[k]; ok {
		return v
	}
	if m.m == nil || len(m.m) >= m.max {
		m.m = make(map[memoKey]*memoVal, min(m.max, 1024))
	}
	v := &memoVal{}
	m.m[k] = v
	return v
}

// classify is classify(r), remembered.
func (m *Memo) classify(r *kubeletlog.Record) (class, bool) {
	if m == nil {
		return classify(r)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.val(r)
	if !v.done {
		v.class, v.ok = classify(r)
		v.done = true
	}
	return v.class, v.ok
}

// evidence is evidenceLine(r) and its normalized key, remembered. A record whose line falls back
// to its raw text (no message, error or keys) is not: the raw line holds its time.
func (m *Memo) evidence(r *kubeletlog.Record) (line, key string) {
	if m == nil || (r.Msg == "" && r.Err == "") {
		line = evidenceLine(r)
		return line, normalize(line)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.val(r)
	if !v.lined {
		v.line = evidenceLine(r)
		v.key = normalize(v.line)
		v.lined = true
	}
	return v.line, v.key
}
