// Package tailguard tells a log follower that the file it reads was rewritten in place.
//
// logrotate's copytruncate empties a log in place and the writer carries on. A follower that
// compares the file's size with its read position misses the truncation when the file has grown
// back past that position before it looks, and then reads on from the middle of new lines. A
// Guard keeps the last bytes read before the position; if they are no longer there, the file
// was rewritten and the follower must start again at 0.
package tailguard

import (
	"bytes"
	"io"
)

// Len is how many bytes before the read position are kept and compared.
const Len = 64

// Guard holds the last Len bytes read, ending at the read position. The zero value is ready.
type Guard struct{ b []byte }

// Remember records data just read (it ends at the new read position).
func (g *Guard) Remember(data []byte) {
	if len(data) >= Len {
		g.b = append(g.b[:0], data[len(data)-Len:]...)
		return
	}
	g.b = append(g.b, data...)
	if extra := len(g.b) - Len; extra > 0 {
		g.b = append(g.b[:0], g.b[extra:]...)
	}
}

// Load reads the bytes before pos of r, for a follower that starts mid-file.
func (g *Guard) Load(r io.ReaderAt, pos int64) {
	g.Reset()
	n := min(int64(Len), pos)
	if n == 0 {
		return
	}
	b := make([]byte, n)
	if k, _ := r.ReadAt(b, pos-n); int64(k) == n {
		g.b = b
	}
}

// Reset forgets what was read (a new file, or a rewind to 0).
func (g *Guard) Reset() { g.b = g.b[:0] }

// Rewritten reports whether the bytes before pos in r differ from the ones read there (or the
// file is now shorter than pos). With nothing remembered it is false.
func (g *Guard) Rewritten(r io.ReaderAt, pos int64) bool {
	if len(g.b) == 0 {
		return false
	}
	var buf [Len]byte
	k, _ := r.ReadAt(buf[:len(g.b)], pos-int64(len(g.b)))
	return k != len(g.b) || !bytes.Equal(buf[:k], g.b)
}
