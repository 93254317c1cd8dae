package manifestdir

import (
	"bytes"
	"errors"
	"github.com/spdoc/spdoc/internal/testtier"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name        string
		existing    []byte // nil: no file
		mode        os.FileMode
		existMode   os.FileMode
		data        []byte
		wantChanged bool
		wantMode    os.FileMode
	}{
		{name: "new file", data: []byte("a: 1\n"), wantChanged: true, wantMode: 0o600},
		{name: "identical content", existing: []byte("a: 1\n"), existMode: 0o600, data: []byte("a: 1\n"), wantChanged: false, wantMode: 0o600},
		{name: "different content", existing: []byte("a: 1\n"), existMode: 0o600, data: []byte("a: 2\n"), wantChanged: true, wantMode: 0o600},
		{name: "same content wrong mode", existing: []byte("a: 1\n"), existMode: 0o644, data: []byte("a: 1\n"), wantChanged: true, wantMode: 0o600},
		{name: "explicit mode", data: []byte("x"), mode: 0o640, wantChanged: true, wantMode: 0o640},
		{name: "empty data", existing: []byte("old"), existMode: 0o600, data: []byte{}, wantChanged: true, wantMode: 0o600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "spdoc-default-web.yaml")
			var before time.Time
			if tc.existing != nil {
				if err := os.WriteFile(target, tc.existing, tc.existMode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(target, tc.existMode); err != nil {
					t.Fatal(err)
				}
				old := time.Now().Add(-time.Hour).Truncate(time.Second)
				if err := os.Chtimes(target, old, old); err != nil {
					t.Fatal(err)
				}
				before = old
			}
			changed, err := Write(dir, "spdoc-default-web.yaml", tc.data, tc.mode)
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			got, err := os.ReadFile(target)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.data) {
				t.Errorf("content = %q, want %q", got, tc.data)
			}
			st, err := os.Stat(target)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tc.wantMode {
				t.Errorf("mode = %v, want %v", st.Mode().Perm(), tc.wantMode)
			}
			if !tc.wantChanged && !st.ModTime().Equal(before) {
				t.Errorf("unchanged file was rewritten: mtime %v, want %v", st.ModTime(), before)
			}
			assertNoTemp(t, dir)
		})
	}
}

func TestWriteRejectsBadNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", ".hidden.yaml", "a/b.yaml", "../x.yaml"} {
		if _, err := Write(dir, name, []byte("x"), 0); err == nil {
			t.Errorf("Write(%q) succeeded, want error", name)
		}
		if err := Remove(dir, name); err == nil {
			t.Errorf("Remove(%q) succeeded, want error", name)
		}
	}
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, "spdoc-a.yaml", []byte("old"), 0); err != nil {
		t.Fatal(err)
	}
	// The target name is taken by a non-empty directory: rename must fail, and nothing else
	// may change.
	if err := os.Mkdir(filepath.Join(dir, "spdoc-b.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spdoc-b.yaml", "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Write(dir, "spdoc-b.yaml", []byte("new"), 0)
	if err == nil || !strings.Contains(err.Error(), "spdoc-b.yaml") {
		t.Fatalf("Write onto a directory: err = %v, want an error naming the file", err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "spdoc-a.yaml"))
	if string(got) != "old" {
		t.Errorf("unrelated manifest changed: %q", got)
	}
	assertNoTemp(t, dir)
}

func TestWriteMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	_, err := Write(dir, "spdoc-a.yaml", []byte("x"), 0)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func TestRemoveAndList(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"spdoc-a.yaml", "spdoc-b.yaml", "kube-apiserver.yaml", ".spdoc-c.yaml.tmp-123"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "spdoc-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := List(dir, "spdoc-")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"spdoc-a.yaml", "spdoc-b.yaml"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("List = %v, want %v", got, want)
	}
	if err := Remove(dir, "spdoc-a.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir, "spdoc-a.yaml"); err != nil {
		t.Errorf("second Remove: %v, want nil for a missing file", err)
	}
	got, _ = List(dir, "spdoc-")
	if strings.Join(got, ",") != "spdoc-b.yaml" {
		t.Errorf("after Remove, List = %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver.yaml")); err != nil {
		t.Errorf("foreign file touched: %v", err)
	}
	n, err := CleanTemp(dir)
	if err != nil || n != 1 {
		t.Errorf("CleanTemp = %d, %v; want 1, nil", n, err)
	}
	assertNoTemp(t, dir)
	missing, err := List(filepath.Join(dir, "nope"), "")
	if err != nil || len(missing) != 0 {
		t.Errorf("List(missing) = %v, %v; want empty, nil", missing, err)
	}
}

// TestRootFullDisk fills a 64 KiB tmpfs: the write of a bigger manifest must fail with an error
// that names the file, the previous manifest must stay intact and no temp file may remain.
// Needs root (mount).
func TestRootFullDisk(t *testing.T) {
	testtier.Root(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	old := []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n")
	if _, err := Write(dir, "spdoc-default-web.yaml", old, 0); err != nil {
		t.Fatal(err)
	}
	// Fill the rest of the filesystem.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{'x'}, 4096)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()

	big := bytes.Repeat([]byte("# padding line for a large manifest\n"), 4096)
	changed, err := Write(dir, "spdoc-default-web.yaml", big, 0)
	if err == nil {
		t.Fatal("Write on a full disk succeeded, want an error")
	}
	if changed {
		t.Error("changed = true on a failed write")
	}
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "spdoc-default-web.yaml") {
		t.Errorf("err = %v, want ENOSPC naming the manifest", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "spdoc-default-web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, old) {
		t.Errorf("old manifest changed on a full disk: %q", got)
	}
	assertNoTemp(t, dir)
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if IsTemp(e.Name()) {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}
