package common

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSaveFile(t *testing.T) {
	dir := t.TempDir()
	manifests := filepath.Join(dir, "manifests")
	if err := os.Mkdir(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(manifests, link); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state", "spdoc")

	got, err := SaveFile(state, "a.log", manifests, []byte("x\n"))
	if err != nil || got != filepath.Join(state, "a.log") {
		t.Fatalf("SaveFile = %q, %v", got, err)
	}
	if b, _ := os.ReadFile(got); string(b) != "x\n" {
		t.Fatalf("content %q", b)
	}
	if fi, _ := os.Stat(state); fi.Mode().Perm() != 0o700 {
		t.Errorf("save dir mode %v, want 0700", fi.Mode().Perm())
	}
	if _, err := SaveFile(state, "a.log", manifests, []byte("y")); err == nil {
		t.Error("an existing file was overwritten")
	}
	for _, bad := range []string{filepath.Join(manifests, "x.log"), filepath.Join(link, "x.log"), manifests + "/../manifests/y.log"} {
		if _, err := SaveFile(state, bad, manifests, []byte("x")); !errors.Is(err, ErrManifestDir) {
			t.Errorf("SaveFile(%s) = %v, want ErrManifestDir", bad, err)
		}
		if _, err := os.Stat(bad); err == nil {
			t.Errorf("%s was written", bad)
		}
	}
	// A relative path typed while the working directory is the manifest dir is taken in the
	// save dir, not the working directory.
	t.Chdir(manifests)
	if got, err := SaveFile(state, "rel.log", manifests, []byte("x")); err != nil || filepath.Dir(got) != state {
		t.Errorf("relative save went to %q, %v", got, err)
	}
	if _, err := SaveFile(state, state, manifests, []byte("x")); err == nil {
		t.Error("saving onto a directory succeeded")
	}
}

func TestDefaultSaveDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/state")
	if d := DefaultSaveDir(); d != "/var/state/spdoc" {
		t.Errorf("with XDG_STATE_HOME: %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "relative") // the spec says to ignore a relative path
	t.Setenv("HOME", "/home/op")
	if d := DefaultSaveDir(); d != "/home/op/.local/state/spdoc" {
		t.Errorf("with HOME: %s", d)
	}
	t.Setenv("HOME", "/")
	t.Setenv("TMPDIR", "/scratch")
	if d := DefaultSaveDir(); d != "/scratch/spdoc" {
		t.Errorf("without a home: %s", d)
	}
}

func TestMiddleEllipsis(t *testing.T) {
	a, b := MiddleEllipsis("default-missing-hostpath", 16), MiddleEllipsis("default-missing-image", 16)
	if a == b || len([]rune(a)) != 16 || len([]rune(b)) != 16 {
		t.Errorf("%q and %q", a, b)
	}
	if got := MiddleEllipsis("short", 16); got != "short" {
		t.Errorf("short: %q", got)
	}
	if got := MiddleEllipsis("default-missing-image", 16); got != "defau…sing-image" {
		t.Errorf("cut %q, want the end kept: defau…sing-image", got)
	}
}
