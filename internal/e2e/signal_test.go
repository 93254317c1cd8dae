package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSignalStopsDiagnose: Ctrl-C (SIGINT) and SIGTERM stop `spdoc diagnose` even while it waits
// on a read that never returns (a kubelet log piped from a command that hangs).
func TestSignalStopsDiagnose(t *testing.T) {
	bin := spdocBin
	if _, err := os.Stat(bin); err != nil {
		// The fast tier builds nothing in TestMain; this test needs no root, so it builds its own.
		bin = filepath.Join(t.TempDir(), "spdoc")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/spdoc/spdoc/cmd/spdoc").CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/spdoc: %v\n%s", err, out)
		}
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/kubernetes/manifests"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pw.Close() // the writer stays open and silent: stdin never ends
			cmd := exec.Command(bin, "diagnose", "--root", root, "--kubelet-log", "-")
			cmd.Stdin = pr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			time.Sleep(500 * time.Millisecond)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("exit status 0 after %v", sig)
				}
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill() // ours, by PID
				<-done
				t.Fatalf("spdoc diagnose ignored %v", sig)
			}
		})
	}
}
