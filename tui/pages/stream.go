package pages

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/tui/components/logview"
)

type streamKind int

const (
	containerStream streamKind = iota
	kubeletStream
)

// logBatchMsg delivers the lines a stream collected since the last batch.
type logBatchMsg struct {
	id      int
	kind    streamKind
	lines   []logview.Line
	dropped int
	status  string
	changed bool // status changed
}

// streamFunc runs one log request, calling emit per line, until the end or ctx is done. since is
// the timestamp of the last line already delivered (zero on the first run): a reconnect asks
// from there instead of the tail.
type streamFunc func(ctx context.Context, since time.Time, emit func(logview.Line)) error

// stream reads a log in goroutines and hands the lines to the event loop in batches, at most one
// batch per interval, so a container writing 50,000 lines/s costs 20 messages/s. Lines waiting
// for a slow event loop are bounded (the oldest are dropped and counted).
type stream struct {
	id     int
	kind   streamKind
	ch     chan logBatchMsg
	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	pending   []logview.Line
	dropped   int
	status    string
	statusNew bool
}

type streamOptions struct {
	follow     bool // reconnect (with backoff) when the stream ends
	maxPending int
	interval   time.Duration
	maxBackoff time.Duration
	// why says why a pod may have no log (its top finding: "image … is not on the node"); a
	// log that does not exist shows it instead of a reconnect loop.
	why string
	// copy: the source is a copied node (--root, --bundle-in): nothing will appear later, so a
	// missing log is final, not retried.
	copy bool
}

func startStream(id int, kind streamKind, run streamFunc, o streamOptions) *stream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stream{id: id, kind: kind, ch: make(chan logBatchMsg), ctx: ctx, cancel: cancel}
	go s.read(run, o)
	go s.flush(o.interval)
	return s
}

func (s *stream) emit(l logview.Line, max int) {
	s.mu.Lock()
	if len(s.pending) >= max {
		// Drop the oldest half at once: amortised O(1) per line even when nobody reads.
		n := copy(s.pending, s.pending[len(s.pending)/2:])
		s.dropped += len(s.pending) - n
		s.pending = s.pending[:n]
	}
	s.pending = append(s.pending, l)
	s.mu.Unlock()
}

func (s *stream) setStatus(st string) {
	s.mu.Lock()
	if s.status != st {
		s.status, s.statusNew = st, true
	}
	s.mu.Unlock()
}

func (s *stream) read(run streamFunc, o streamOptions) {
	var last time.Time
	backoff := time.Second
	for {
		started, reconnect := time.Now(), !last.IsZero()
		cleared := false
		err := run(s.ctx, last, func(l logview.Line) {
			if reconnect && !l.TS.After(last) {
				return // already delivered before the reconnect
			}
			if !cleared {
				s.setStatus("")
				cleared = true
			}
			if l.TS.After(last) {
				last = l.TS
			}
			s.emit(l, o.maxPending)
		})
		if s.ctx.Err() != nil {
			return
		}
		if !o.follow {
			if err != nil {
				s.setStatus("error: " + err.Error())
			}
			return
		}
		if time.Since(started) > 10*time.Second {
			backoff = time.Second
		}
		why := "stream ended"
		if err != nil {
			why = err.Error()
		}
		if errors.Is(err, node.ErrNotFound) {
			msg := "no log: the container never started"
			if o.why != "" {
				msg += " (" + o.why + ")"
			}
			if o.copy {
				s.setStatus(msg)
				return // a copied node does not change
			}
			s.setStatus(fmt.Sprintf("%s; looking again in %s", msg, backoff))
		} else {
			s.setStatus(fmt.Sprintf("reconnecting in %s: %s", backoff, why))
		}
		select {
		case <-time.After(backoff):
		case <-s.ctx.Done():
			return
		}
		backoff = min(backoff*2, o.maxBackoff)
	}
}

func (s *stream) flush(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		msg := logBatchMsg{id: s.id, kind: s.kind, lines: s.pending, dropped: s.dropped, status: s.status, changed: s.statusNew}
		if len(s.pending) > 0 {
			s.pending = make([]logview.Line, 0, min(cap(s.pending), 4096))
		}
		s.dropped, s.statusNew = 0, false
		s.mu.Unlock()
		if len(msg.lines) == 0 && !msg.changed && msg.dropped == 0 {
			continue
		}
		select {
		case s.ch <- msg:
		case <-s.ctx.Done():
			return
		}
	}
}

// next waits for the stream's next batch.
func (s *stream) next() tea.Cmd {
	return func() tea.Msg {
		select {
		case m := <-s.ch:
			return m
		case <-s.ctx.Done():
			return nil
		}
	}
}

func (s *stream) stop() {
	if s != nil {
		s.cancel()
	}
}
