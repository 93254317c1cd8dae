package kubeletlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
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

// TestGzipBombCapped: a rotated .gz that inflates far beyond any log (a bomb of newlines) is
// cut at its cap; the other files are still read and the error says what happened.
func TestGzipBombCapped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kubelet.log")
	line := `E1124 21:55:04.100165 1234 file.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/x.yaml" err="invalid pod"` + "\n"
	if err := os.WriteFile(path, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	nl := bytes.Repeat([]byte("\n"), 1<<20)
	for i := 0; i < 40; i++ { // 40 MiB of newlines
		zw.Write(nl)
	}
	zw.Close()
	if err := os.WriteFile(path+".1.gz", gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var recs int
	// With the prefilter diagnose uses, as a real run has.
	st, err := ScanHistory(context.Background(), path, ScanOptions{Prefilter: Interesting}, func(*Record) error { recs++; return nil })
	if err == nil || !strings.Contains(err.Error(), "kubelet.log.1.gz") || !strings.Contains(err.Error(), "decompress") {
		t.Errorf("ScanHistory of a gzip bomb: %v", err)
	}
	if recs != 1 {
		t.Errorf("records of the plain file: %d, want 1", recs)
	}
	if st.Bytes > 2*MaxDecompressedMin {
		t.Errorf("read %d bytes of the bomb, the cap is %d", st.Bytes, MaxDecompressedMin)
	}
}
