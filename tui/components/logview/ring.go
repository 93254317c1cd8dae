package logview

import "time"

// Line is one log line as the panes show it: a container log line or a kubelet record.
type Line struct {
	TS     time.Time
	Stream string // stdout, stderr, kubelet
	Level  string // kubelet records: I, W, E, F
	Text   string
}

// Store holds the lines of a pane. Ring is the bounded one the TUI uses; the benchmark plugs an
// unbounded slice in to compare.
type Store interface {
	Append(Line)
	Len() int
	// At returns line i, 0 being the oldest kept.
	At(i int) Line
	Reset()
}

// Ring is a fixed-capacity Store: appending to a full ring overwrites the oldest line, so memory
// stays bounded however fast a container logs.
type Ring struct {
	buf     []Line
	start   int
	n       int
	dropped uint64
}

// NewRing returns a ring keeping the last capacity lines (at least 1).
func NewRing(capacity int) *Ring {
	return &Ring{buf: make([]Line, max(capacity, 1))}
}

// Append adds l, dropping the oldest line when full.
func (r *Ring) Append(l Line) {
	if r.n < len(r.buf) {
		r.buf[(r.start+r.n)%len(r.buf)] = l
		r.n++
		return
	}
	r.buf[r.start] = l
	r.start = (r.start + 1) % len(r.buf)
	r.dropped++
}

// Len is the number of lines kept.
func (r *Ring) Len() int { return r.n }

// Cap is the capacity.
func (r *Ring) Cap() int { return len(r.buf) }

// Dropped counts lines overwritten since the last Reset.
func (r *Ring) Dropped() uint64 { return r.dropped }

// At returns line i (0 = oldest kept); it panics on an index out of range like a slice would.
func (r *Ring) At(i int) Line {
	if i < 0 || i >= r.n {
		panic("logview: ring index out of range")
	}
	return r.buf[(r.start+i)%len(r.buf)]
}

// Reset empties the ring (keeping its memory).
func (r *Ring) Reset() {
	clear(r.buf)
	r.start, r.n, r.dropped = 0, 0, 0
}

// Merge appends the lines of a and b to dst in time order (stable: a first on equal times).
func Merge(dst Store, a, b Store) {
	i, j := 0, 0
	for i < a.Len() || j < b.Len() {
		if j >= b.Len() || (i < a.Len() && !b.At(j).TS.Before(a.At(i).TS)) {
			dst.Append(a.At(i))
			i++
		} else {
			dst.Append(b.At(j))
			j++
		}
	}
}
