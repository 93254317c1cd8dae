package pages

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/staticpod"
	"github.com/spdoc/spdoc/tui/components/logview"
)

// TestStreamBatches: a burst of lines reaches the event loop as a few batches, in order, and a
// reader that falls behind loses the oldest lines (counted), never the newest.
func TestStreamBatches(t *testing.T) {
	const total = 200000
	run := func(ctx context.Context, _ time.Time, emit func(logview.Line)) error {
		for i := 0; i < total; i++ {
			emit(logview.Line{TS: time.Unix(0, int64(i)), Text: fmt.Sprint(i)})
		}
		<-ctx.Done()
		return nil
	}
	s := startStream(1, containerStream, run, streamOptions{follow: true, maxPending: 10000, interval: 20 * time.Millisecond, maxBackoff: time.Second})
	defer s.stop()
	got, dropped, batches := 0, 0, 0
	last := ""
	for got+dropped < total {
		msg := s.next()().(logBatchMsg)
		batches++
		dropped += msg.dropped
		got += len(msg.lines)
		for i, l := range msg.lines {
			if i > 0 && !msg.lines[i-1].TS.Before(l.TS) {
				t.Fatalf("out of order: %s after %s", l.Text, msg.lines[i-1].Text)
			}
		}
		if len(msg.lines) > 0 {
			last = msg.lines[len(msg.lines)-1].Text
		}
		if len(msg.lines) > 10000 {
			t.Fatalf("batch of %d lines exceeds the bound", len(msg.lines))
		}
	}
	if last != fmt.Sprint(total-1) {
		t.Errorf("newest line lost: last %s", last)
	}
	if got+dropped != total {
		t.Errorf("got %d + dropped %d != %d", got, dropped, total)
	}
	if batches > total/1000 {
		t.Errorf("%d batches for %d lines: not batched", batches, total)
	}
}

// TestStreamReconnects: a stream that fails is retried from the last line it delivered, with
// the reconnect state reported, and no line is delivered twice.
func TestStreamReconnects(t *testing.T) {
	calls := 0
	var sinces []time.Time
	run := func(ctx context.Context, since time.Time, emit func(logview.Line)) error {
		calls++
		sinces = append(sinces, since)
		if calls == 1 {
			emit(logview.Line{TS: time.Unix(1, 0), Text: "a"})
			emit(logview.Line{TS: time.Unix(2, 0), Text: "b"})
			return errors.New("connection refused")
		}
		// The source replays from since: "b" again, then new lines.
		emit(logview.Line{TS: time.Unix(2, 0), Text: "b"})
		emit(logview.Line{TS: time.Unix(3, 0), Text: "c"})
		<-ctx.Done()
		return nil
	}
	s := startStream(1, containerStream, run, streamOptions{follow: true, maxPending: 100, interval: 5 * time.Millisecond, maxBackoff: time.Second})
	defer s.stop()
	var texts []string
	sawReconnect := false
	for len(texts) < 3 {
		msg := s.next()().(logBatchMsg)
		if msg.changed && strings.HasPrefix(msg.status, "reconnecting in 1s: connection refused") {
			sawReconnect = true
		}
		for _, l := range msg.lines {
			texts = append(texts, l.Text)
		}
	}
	if strings.Join(texts, "") != "abc" || !sawReconnect {
		t.Errorf("lines %v, reconnect reported %v", texts, sawReconnect)
	}
	if len(sinces) != 2 || !sinces[0].IsZero() || !sinces[1].Equal(time.Unix(2, 0)) {
		t.Errorf("since per run: %v", sinces)
	}
}

func TestFileProblems(t *testing.T) {
	pod := func(issues ...staticpod.Issue) *staticpod.StaticPod {
		return &staticpod.StaticPod{ID: "default-web", Issues: issues}
	}
	tests := []struct {
		name        string
		f           *staticpod.File
		errs, warns string
	}{
		{"nil", nil, "the file could not be decoded", ""},
		{"parse error", &staticpod.File{Parse: &staticpod.ParseError{Line: 4, Msg: "mapping values are not allowed"}},
			"line 4: mapping values are not allowed", ""},
		{"no pod", &staticpod.File{}, "the file defines no pod", ""},
		{"valid", &staticpod.File{Pods: []*staticpod.StaticPod{pod()}}, "", ""},
		{"field error and warning", &staticpod.File{Pods: []*staticpod.StaticPod{pod(
			staticpod.Issue{Field: "spec.containers[0].image", Type: "Required value", Severity: staticpod.SeverityError, Line: 7},
			staticpod.Issue{Field: "spec.foo", Type: "Unknown field", Severity: staticpod.SeverityWarning},
		)}}, "line 7: spec.containers[0].image: Required value", "spec.foo: Unknown field"},
		{"unreadable", &staticpod.File{Err: "permission denied"}, "permission denied", ""},
	}
	for _, tt := range tests {
		errs, warns := FileProblems(tt.f)
		if strings.Join(errs, ";") != tt.errs || strings.Join(warns, ";") != tt.warns {
			t.Errorf("%s: errs %q warns %q", tt.name, errs, warns)
		}
	}
}
