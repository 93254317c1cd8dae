//go:build unix

package styles

import (
	"bytes"
	"os"
	"time"

	"github.com/charmbracelet/x/term"
	"golang.org/x/sys/unix"
)

// queryDarkBackground asks the terminal on in/out for its background colour (OSC 11) followed
// by a cursor-position request (DSR 6) that every terminal answers, so a terminal that ignores
// OSC 11 ends the wait at once; one that answers nothing ends it after timeout. ok is false
// when there was no usable answer (not a terminal, in the background, no answer, garbage).
func queryDarkBackground(in, out *os.File, timeout time.Duration) (dark, ok bool) {
	if !term.IsTerminal(in.Fd()) || !term.IsTerminal(out.Fd()) {
		return false, false
	}
	if os.Getenv("TERM") == "dumb" {
		return false, false
	}
	fd := int(in.Fd())
	if pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err != nil || pgrp != unix.Getpgrp() {
		return false, false // in the background: the answer would go to someone else
	}
	state, err := term.MakeRaw(in.Fd())
	if err != nil {
		return false, false
	}
	defer term.Restore(in.Fd(), state)
	if _, err := out.WriteString("\x1b]11;?\x1b\\\x1b[6n"); err != nil {
		return false, false
	}
	deadline := time.Now().Add(timeout)
	var buf []byte
	chunk := make([]byte, 256)
	for len(buf) < 4096 {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		var fds unix.FdSet
		fds.Set(fd)
		tv := unix.NsecToTimeval(left.Nanoseconds())
		n, err := unix.Select(fd+1, &fds, nil, nil, &tv)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break
		}
		m, err := unix.Read(fd, chunk)
		if err != nil || m <= 0 {
			break
		}
		buf = append(buf, chunk[:m]...)
		if cursorReportEnd(buf) >= 0 {
			break // the DSR answer comes last: everything the terminal will say is here
		}
	}
	return parseBackground(buf)
}

// cursorReportEnd finds the end of a cursor-position report ESC [ row ; col R, or -1.
func cursorReportEnd(b []byte) int {
	for i := bytes.Index(b, []byte("\x1b[")); i >= 0; {
		j := i + 2
		for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == ';') {
			j++
		}
		if j < len(b) && b[j] == 'R' && j > i+2 {
			return j
		}
		k := bytes.Index(b[i+2:], []byte("\x1b["))
		if k < 0 {
			return -1
		}
		i += 2 + k
	}
	return -1
}
