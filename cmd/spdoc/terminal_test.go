package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// spdocBinary builds cmd/spdoc once per test run: these tests run the real process on a real
// pseudo-terminal, where package init and terminal handling happen as a user sees them.
func spdocBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spdoc-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "spdoc")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{err: err, out: string(out)}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build ./cmd/spdoc: " + e.err.Error() + "\n" + e.out }

// terminalQueries are the requests a program sends to make the terminal answer: OSC 10/11/4
// colour queries, cursor-position and device-attribute requests. A command that writes one
// on a terminal that never answers (serial console, script, expect) waits for nothing.
var terminalQueries = []string{"\x1b]11;?", "\x1b]10;?", "\x1b]4;", "\x1b[6n", "\x1b[c", "\x1b[>c", "\x1b[?u"}

// TestCommandsDoNotQueryTheTerminal runs every quick-look command on a real pseudo-terminal
// under script(1), which, like a serial console, answers no query: none may write a terminal
// query, and each must finish well before a query's 5 s wait would have ended.
func TestCommandsDoNotQueryTheTerminal(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatal("script(1) is not installed (bsdutils)")
	}
	bin := spdocBinary(t)
	root, err := filepath.Abs(capturedRoot)
	if err != nil {
		t.Fatal(err)
	}
	manifests := filepath.Join(root, "etc/kubernetes/manifests")
	for _, args := range [][]string{
		{"--help"},
		{"version"},
		{"get", "staticpodstatus", "--root", root},
		{"get", "staticpods", "--root", root, "-o", "yaml"},
		{"validate", manifests},
		{"diagnose", "--root", root},
		{"logs", "default/crashloop", "--root", root},
		{"containers", "--root", root},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			for _, env := range [][]string{{"TERM=xterm-256color"}, {"TERM=xterm-256color", "NO_COLOR=1"}} {
				typescript := filepath.Join(t.TempDir(), "typescript")
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
				defer cancel()
				// -e: script exits with the command's status; -q: no banner in the output.
				cmd := exec.CommandContext(ctx, "script", "-qec", shellQuote(append([]string{bin}, args...)), typescript)
				cmd.Env = append(os.Environ(), env...)
				cmd.Stdin = strings.NewReader("") // like a console nobody types on
				start := time.Now()
				out, err := cmd.CombinedOutput()
				if ctx.Err() != nil {
					t.Fatalf("%v: still running after %s: it waits for the terminal", env, time.Since(start).Round(time.Millisecond))
				}
				var ee *exec.ExitError
				if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
					t.Fatalf("%v: %v\n%s", env, err, out)
				}
				rec, err := os.ReadFile(typescript)
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range terminalQueries {
					if i := bytes.Index(rec, []byte(q)); i >= 0 {
						t.Fatalf("%v: wrote the terminal query %q at byte %d of its output", env, q, i)
					}
				}
				if len(bytes.TrimSpace(rec)) == 0 {
					t.Fatalf("%v: printed nothing", env)
				}
			}
		})
	}
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
