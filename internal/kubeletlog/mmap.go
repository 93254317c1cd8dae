//go:build linux

package kubeletlog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
	"unsafe"
)

// A file is scanned through read-only memory maps of mapWindow bytes, one after the other: read(2)
// copies every byte out of the page cache first, and that copy was a quarter of the CPU time of a
// quiet log's scan. Each window is populated in one call (MAP_POPULATE) and unmapped before the
// next, so the scan holds at most a window (or one long line) of the file resident. Records never
// point into a window: the parser copies what it keeps, as it must with a reused read buffer.
//
// A file truncated while it is mapped (logrotate's copytruncate) makes the pages past its new end
// fault (SIGBUS): the scan turns the fault into ErrChangedWhileRead (debug.SetPanicOnFault)
// instead of crashing.
var mapWindow int64 = 1 << 20 // a variable for tests

// mapped is a window onto [0, hi) of a file.
type mapped struct {
	fd     int
	hi     int64 // the end of what is scanned
	win    []byte
	winOff int64 // file offset of win[0]
}

var pageSize = int64(os.Getpagesize())

// mapAt maps at least n bytes from off (fewer at hi), from the page off is in.
func (m *mapped) mapAt(off int64, n int64) error {
	m.unmap()
	start := off &^ (pageSize - 1)
	length := min(off+n, m.hi) - start
	b, err := syscall.Mmap(m.fd, start, int(length), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return err
	}
	m.win, m.winOff = b, start
	return nil
}

func (m *mapped) unmap() {
	if m.win != nil {
		syscall.Munmap(m.win)
		m.win = nil
	}
}

func (m *mapped) end() int64 { return m.winOff + int64(len(m.win)) }

// holds reports whether addr is in the window.
func (m *mapped) holds(addr uintptr) bool {
	if len(m.win) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(&m.win[0]))
	return addr >= start && addr < start+uintptr(len(m.win))
}

// scanMapped is scan over [lo, hi) of f through memory maps, with scan's semantics line for line:
// the same lines reach line, the same long lines are skipped, the same records come out.
func (lp *lineProc) scanMapped(ctx context.Context, f *os.File, lo, hi int64, fn func(*Record) error) (err error) {
	if lo >= hi {
		return lp.release(fn)
	}
	m := &mapped{fd: int(f.Fd()), hi: hi}
	if err := m.mapAt(lo, mapWindow); err != nil {
		return errNoMap
	}
	defer m.unmap()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			// only a fault on the window is the file's doing; any other is a bug to crash on
			if f, ok := r.(interface{ Addr() uintptr }); !ok || !m.holds(f.Addr()) {
				panic(r)
			}
			err = fmt.Errorf("reading %s: %w: it ended before offset %d while it was read (truncated by copytruncate?)", lp.sourceName(), ErrChangedWhileRead, hi)
		}
	}()
	off := lo
	for n := 0; off < hi; n++ {
		if n&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if off < m.winOff || off >= m.end() {
			if err := m.mapAt(off, mapWindow); err != nil {
				return fmt.Errorf("reading %s: %w", lp.sourceName(), err)
			}
		}
		rel := off - m.winOff
		i := int64(bytes.IndexByte(m.win[rel:], '\n'))
		if i < 0 && m.end() < hi && m.winOff != off&^(pageSize-1) {
			// the line goes on past the window: map again from its start
			if err := m.mapAt(off, mapWindow); err != nil {
				return fmt.Errorf("reading %s: %w", lp.sourceName(), err)
			}
			rel = off - m.winOff
			i = int64(bytes.IndexByte(m.win[rel:], '\n'))
		}
		var content, size int64 // the line without and with its newline
		switch {
		case i >= 0:
			content, size = i, i+1
		case m.end() >= hi:
			content, size = hi-off, hi-off // the last line, without a newline
		default:
			// longer than a window: find where it ends
			nl, err := lp.lineEnd(ctx, m, off)
			if err != nil {
				return err
			}
			if nl < 0 {
				content, size = hi-off, hi-off
			} else {
				content, size = nl-off, nl-off+1
			}
		}
		if content >= MaxLine {
			lp.skipLong(size)
			off += size
			continue
		}
		if off < m.winOff || off+size > m.end() {
			if err := m.mapAt(off, size); err != nil {
				return fmt.Errorf("reading %s: %w", lp.sourceName(), err)
			}
		}
		rel = off - m.winOff
		if err := lp.line(m.win[rel:rel+size], off, fn); err != nil {
			return err
		}
		off += size
	}
	return lp.release(fn)
}

// lineEnd finds the newline ending the line at off, window by window past m's (-1: the line
// ends the file). Like scan, it gives up on a line longer than MaxSkippedLine.
func (lp *lineProc) lineEnd(ctx context.Context, m *mapped, off int64) (int64, error) {
	pos := m.end()
	for pos < m.hi {
		if pos-off > MaxSkippedLine {
			return 0, fmt.Errorf("reading %s: no newline in %d bytes from offset %d: not a text log (a binary file or a device?)", lp.sourceName(), pos-off, off)
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := m.mapAt(pos, mapWindow); err != nil {
			return 0, fmt.Errorf("reading %s: %w", lp.sourceName(), err)
		}
		if i := bytes.IndexByte(m.win[pos-m.winOff:], '\n'); i >= 0 {
			return pos + int64(i), nil
		}
		pos = m.end()
	}
	return -1, nil
}
