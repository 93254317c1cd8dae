package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"github.com/tidwall/gjson"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

var (
	errNoJournalctl    = errors.New("journalctl not found")
	errJournalUnusable = errors.New("the kubelet journal gave nothing")
)

// followJournalLive reads the kubelet unit's journal of the window like a snapshot does
// (`journalctl -o json --since`), then follows it from the cursor of the last entry read
// (`journalctl -f --after-cursor`): one pass over one log, with no entry missed or read twice
// between the read and the follow.
func (l *Local) followJournalLive(ctx context.Context, onRecord func(*kubeletlog.Record)) error {
	if _, err := exec.LookPath("journalctl"); err != nil {
		return fmt.Errorf("%w: %w", errNoJournalctl, err)
	}
	window := l.opts.Since
	if window <= 0 {
		window = DefaultJournalSince
	}
	since := l.logSince(KubeletLogJournal, l.opts.Since)
	lv := newLiveLog(KubeletLogJournal, "", l.opts.MaxRecords, window)
	feed := kubeletlog.NewFeeder(kubeletlog.ScanOptions{Source: KubeletLogJournal, Since: since, Prefilter: kubeletlog.Interesting})
	keep := func(rec *kubeletlog.Record) error {
		lv.add(rec)
		if onRecord != nil && lv.isReady() {
			onRecord(rec)
		}
		return nil
	}
	rc, err := kubeletlog.Journal(ctx, "kubelet", since)
	if err != nil {
		return err
	}
	cursor, lines, err := feedJournal(rc, feed, keep, nil)
	rc.Close()
	switch {
	case err == nil:
	case lines > 0 && errors.Is(err, kubeletlog.ErrNoJournalEntries):
	case lines == 0 && l.opts.KubeletLog == KubeletLogJournal && errors.Is(err, kubeletlog.ErrNoJournalEntries):
		// named explicitly and empty for now: follow it from the window's start
	case lines == 0:
		return fmt.Errorf("%w: %w", errJournalUnusable, err) // auto: the files are tried next
	default:
		return err
	}
	if err := feed.Flush(keep); err != nil {
		return err
	}
	lv.caughtUp(feed.Stats())
	defer l.publish(lv)()

	args := []string{"-u", "kubelet", "-o", "json", "--no-pager", "-f"}
	if cursor != "" {
		args = append(args, "--after-cursor", cursor)
	} else {
		args = append(args, "--since", since.Local().Format("2006-01-02 15:04:05"))
	}
	cmd := exec.CommandContext(ctx, "journalctl", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("following the kubelet journal: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("following the kubelet journal: starting journalctl: %w", err)
	}
	_, _, ferr := feedJournal(out, feed, keep, func() { lv.caughtUp(feed.Stats()) })
	if cmd.Process != nil {
		_ = cmd.Process.Kill() // ours, by PID
	}
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if ferr != nil && !errors.Is(ferr, io.EOF) {
		return fmt.Errorf("following the kubelet journal: %w", ferr)
	}
	return fmt.Errorf("following the kubelet journal: journalctl ended: %v", werr)
}

// feedJournal feeds the lines of a journalctl -o json stream to feed and returns the cursor of
// the last entry. idle, when set, runs (after the held record went out) whenever the stream
// has nothing more buffered: the follower has caught up.
func feedJournal(r io.Reader, feed *kubeletlog.Feeder, fn func(*kubeletlog.Record) error, idle func()) (cursor string, lines int64, err error) {
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte
	for {
		b, rerr := br.ReadSlice('\n')
		if errors.Is(rerr, bufio.ErrBufferFull) {
			if len(long) <= kubeletlog.MaxLine {
				long = append(long, b...)
			}
			continue
		}
		if len(long) > 0 {
			b = append(long, b...)
			long = long[:0]
			if cap(long) > 4<<20 {
				long = nil
			}
		}
		if len(b) > 0 {
			lines++
			if c := gjson.GetBytes(b, "__CURSOR"); c.Exists() {
				cursor = c.String()
			}
			if err := feed.Line(b, fn); err != nil {
				return cursor, lines, err
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return cursor, lines, nil
			}
			return cursor, lines, rerr
		}
		if idle != nil && br.Buffered() == 0 {
			if err := feed.Flush(fn); err != nil {
				return cursor, lines, err
			}
			idle()
		}
	}
}
