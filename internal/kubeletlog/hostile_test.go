package kubeletlog

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// zeros is /dev/zero: bytes without end and never a newline.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestScanEndlessLine: a source that never sends a newline (/dev/zero piped to --kubelet-log -)
// neither spins past Ctrl-C nor forever: the context is checked while a long line is skipped, and
// a skipped line is capped.
func TestScanEndlessLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := Scan(ctx, zeros{}, ScanOptions{}, func(*Record) error { return nil })
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) && (err == nil || !strings.Contains(err.Error(), "newline")) {
			t.Errorf("Scan of an endless line: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Scan ignored its context while skipping an endless line")
	}

	start := time.Now()
	_, err := Scan(context.Background(), zeros{}, ScanOptions{Source: "stdin"}, func(*Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "newline") || !strings.Contains(err.Error(), "stdin") {
		t.Errorf("Scan of an endless line without a deadline: %v", err)
	}
	t.Logf("gave up after %v", time.Since(start))
}
