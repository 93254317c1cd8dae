package diagnose

import (
	"unsafe"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// classMemo classifies each distinct kubelet record once. The log's repeat cache gives every
// repeat of a line (the same record but for its time and raw line) the very strings and Fields
// map of the first, and classify reads nothing else of a record (Msg, Err, ContainerName, the
// Fields map), so records that share all four share their class: on an error-dense log, 20,000
// kept records are a few hundred distinct ones. Records that only look alike (parsed apart) get
// their own entry, which costs a lookup and is still right.
type classMemo map[classKey]classResult

type classKey struct {
	msg, err, container *byte
	nMsg, nErr, nCont   int
	fields              unsafe.Pointer
}

type classResult struct {
	c  class
	ok bool
}

// memoMax bounds the memo: past it, records are classified without it.
const memoMax = 1 << 14

func (m classMemo) classify(r *kubeletlog.Record) (class, bool) {
	k := classKey{
		msg: unsafe.StringData(r.Msg), err: unsafe.StringData(r.Err), container: unsafe.StringData(r.ContainerName),
		nMsg: len(r.Msg), nErr: len(r.Err), nCont: len(r.ContainerName),
		fields: *(*unsafe.Pointer)(unsafe.Pointer(&r.Fields)),
	}
	if res, ok := m[k]; ok {
		return res.c, res.ok
	}
	c, ok := classify(r)
	if m != nil && len(m) < memoMax {
		m[k] = classResult{c, ok}
	}
	return c, ok
}
