package safefs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// within fails the test when fn does not return in time (an open that blocks on a FIFO).
func within[T any](t *testing.T, what string, fn func() (T, error)) (T, error) {
	t.Helper()
	type res struct {
		v   T
		err error
	}
	done := make(chan res, 1)
	go func() { v, err := fn(); done <- res{v, err} }()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s blocked", what)
	}
	var zero T
	return zero, nil
}

func TestOpenRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "link-to-zero")
	if err := os.Symlink("/dev/zero", sock); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero", sock, dir} {
		f, err := within(t, "Open("+p+")", func() (*os.File, error) { return Open(p) })
		if err == nil {
			f.Close()
			t.Errorf("Open(%s) succeeded", p)
			continue
		}
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), p) {
			t.Errorf("Open(%s): %v, want ErrNotRegular naming the path", p, err)
		}
		if _, err := within(t, "ReadFile("+p+")", func() ([]byte, error) { return ReadFile(p, 1<<20) }); !errors.Is(err, ErrNotRegular) {
			t.Errorf("ReadFile(%s): %v", p, err)
		}
	}
	if _, err := within(t, "ReadDir(fifo)", func() ([]os.DirEntry, error) { return ReadDir(fifo) }); err == nil {
		t.Errorf("ReadDir of a FIFO succeeded")
	}
	reg := filepath.Join(dir, "f")
	write(t, reg, "hello")
	if b, err := ReadFile(reg, 5); err != nil || string(b) != "hello" {
		t.Errorf("ReadFile: %q, %v", b, err)
	}
	if _, err := ReadFile(reg, 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile over the cap: %v", err)
	}
}

// TestConfine: under a confined root no symlink leads out, whether absolute, "..", or a chain
// of links that each look local (a → ., a/b → .., c → b/..).
func TestConfine(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	write(t, filepath.Join(parent, "secret"), "host secret")
	write(t, filepath.Join(root, "in", "file"), "inside")
	for _, l := range []struct{ name, target string }{
		{"abs", filepath.Join(parent, "secret")},
		{"up", "../secret"},
		{"a", "."},
		{"b", ".."}, // created as a/b through a → .
		{"c", "b/.."},
		{"good", "in/file"},
	} {
		if err := os.Symlink(l.target, filepath.Join(root, l.name)); err != nil {
			t.Fatal(err)
		}
	}
	viaC := filepath.Join("c", filepath.Base(parent), "secret") // c → b/.. → the parent's parent
	escapes := []string{"abs", "up", viaC, "a/b/secret", "b/secret"}
	// Unconfined, the links lead out (this is what a bundle could do before).
	if b, err := os.ReadFile(filepath.Join(root, viaC)); err != nil || string(b) != "host secret" {
		t.Fatalf("test setup: the chain does not lead out: %q %v", b, err)
	}
	release, err := Confine(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range escapes {
		p := filepath.Join(root, e)
		if b, err := ReadFile(p, 0); err == nil || !errors.Is(err, ErrEscapes) {
			t.Errorf("ReadFile(%s) = %q, %v; want ErrEscapes", e, b, err)
		}
		if _, err := Stat(p); err == nil {
			t.Errorf("Stat(%s) followed the link out", e)
		}
	}
	if _, err := ReadDir(filepath.Join(root, "c")); err == nil {
		t.Errorf("ReadDir(c) listed a directory outside the root")
	}
	if b, err := ReadFile(filepath.Join(root, "good"), 0); err != nil || string(b) != "inside" {
		t.Errorf("in-root link: %q %v", b, err)
	}
	if tgt, err := Readlink(filepath.Join(root, "abs")); err != nil || tgt != filepath.Join(parent, "secret") {
		t.Errorf("Readlink: %q %v", tgt, err)
	}
	if ents, err := ReadDir(root); err != nil || len(ents) != 7 || ents[0].Name() != "a" {
		t.Errorf("ReadDir(root): %v %v", ents, err)
	}
	if !Confined(filepath.Join(root, "x")) || Confined(parent) {
		t.Errorf("Confined is wrong")
	}
	// Nested confinement: released only by the last release.
	release2, err := Confine(root + "/")
	if err != nil {
		t.Fatal(err)
	}
	release()
	release() // twice is harmless
	if _, err := ReadFile(filepath.Join(root, "abs"), 0); !errors.Is(err, ErrEscapes) {
		t.Errorf("released too early: %v", err)
	}
	release2()
	if b, err := ReadFile(filepath.Join(root, "abs"), 0); err != nil || string(b) != "host secret" {
		t.Errorf("after release: %q %v", b, err)
	}
}
