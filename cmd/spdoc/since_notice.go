package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
)

// sinceNotice says when --since left no kubelet record to read, and when the newest one is,
// so an empty report is not taken for a healthy kubelet. "" when there is nothing to say.
func sinceNotice(snap *node.Snapshot, since time.Duration) string {
	kl := snap.KubeletLog
	if since <= 0 || kl == nil || kl.Error != "" || kl.Stats.Relevant > 0 {
		return ""
	}
	msg := fmt.Sprintf("no kubelet records in the last %s", shortDuration(since))
	t := kl.Stats.Last
	if t.IsZero() {
		t = newestRecord(snap.Paths.KubeletLog)
	}
	if !t.IsZero() {
		msg += fmt.Sprintf("; newest %s UTC", t.UTC().Format("2006-01-02 15:04:05"))
	}
	return msg + " (a longer --since reads further back)"
}

// newestRecord is the time of the last record of a kubelet log file, read from its end; zero
// for journald, stdin or a file without one near its end.
func newestRecord(path string) time.Time {
	if path == "" || path == "-" || path == node.KubeletLogJournal {
		return time.Time{}
	}
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return time.Time{}
	}
	const tail = 256 << 10
	off := max(fi.Size()-tail, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return time.Time{}
	}
	lines := bytes.Split(buf, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if r, ok := kubeletlog.ParseLine(lines[i]); ok && !r.TS.IsZero() {
			return r.TS
		}
	}
	return time.Time{}
}

// shortDuration prints 10m, 2h, 1d rather than 10m0s.
func shortDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
