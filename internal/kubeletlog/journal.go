package kubeletlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// ErrNoJournalEntries is returned (wrapped) by the Journal reader when the unit has no entries.
var ErrNoJournalEntries = errors.New("no journal entries")

// Journal runs `journalctl -u UNIT -o json --no-pager [--since]` and returns its output as a
// stream for Scan (Source "journal"); each line is a journald export entry whose MESSAGE holds the
// kubelet's line. Closing the reader stops journalctl. A missing journalctl is an error at once; a
// unit without entries (or a failing journalctl) is an error from Read at the end of the stream,
// naming the unit and carrying journalctl's stderr.
func Journal(ctx context.Context, unit string, since time.Time) (io.ReadCloser, error) {
	if unit == "" {
		unit = "kubelet"
	}
	bin, err := exec.LookPath("journalctl")
	if err != nil {
		return nil, fmt.Errorf("reading the kubelet journal: journalctl not found (is this a systemd node? use --kubelet-log FILE): %w", err)
	}
	args := []string{"-u", unit, "-o", "json", "--no-pager"}
	if !since.IsZero() {
		args = append(args, "--since", since.Local().Format("2006-01-02 15:04:05"))
	}
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 8 << 10}
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("reading the kubelet journal: %w", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("reading the kubelet journal: starting journalctl: %w", err)
	}
	return &journalReader{cmd: cmd, out: out, cancel: cancel, stderr: &stderr, unit: unit, since: since}, nil
}

type journalReader struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	cancel context.CancelFunc
	stderr *bytes.Buffer
	unit   string
	since  time.Time
	n      int64
	done   bool
	err    error
}

func (j *journalReader) Read(p []byte) (int, error) {
	if j.done {
		return 0, j.err
	}
	n, err := j.out.Read(p)
	j.n += int64(n)
	if err == nil {
		return n, nil
	}
	j.done = true
	j.err = err
	if errors.Is(err, io.EOF) {
		werr := j.cmd.Wait()
		msg := strings.TrimSpace(j.stderr.String())
		switch {
		case werr != nil:
			j.err = fmt.Errorf("journalctl -u %s: %w: %s", j.unit, werr, msg)
		case j.n == 0:
			when := ""
			if !j.since.IsZero() {
				when = " since " + j.since.Format(time.RFC3339)
			}
			j.err = fmt.Errorf("journal unit %q has no entries%s (is the kubelet logging elsewhere? use --kubelet-log FILE)%s: %w",
				j.unit, when, suffix(msg), ErrNoJournalEntries)
		}
	}
	return n, j.err
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return " [journalctl: " + msg + "]"
}

func (j *journalReader) Close() error {
	j.cancel()
	j.out.Close()
	if !j.done {
		j.done = true
		j.err = io.ErrClosedPipe
		j.cmd.Wait() // killed by cancel; its exit status is ours
	}
	return nil
}

// limitedWriter keeps the first n bytes written.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
