package agent

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListenUnixLeavesExistingDirs: only a directory the agent creates is restricted to 0700; an
// existing one (/run, /tmp) keeps its mode, and one anybody may write without the sticky bit is
// refused with a message that says why.
func TestListenUnixLeavesExistingDirs(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode fs.FileMode) string {
		t.Helper()
		d := filepath.Join(base, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		return d
	}
	modeOf := func(d string) fs.FileMode {
		st, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode() & (fs.ModePerm | fs.ModeSticky)
	}
	for _, tt := range []struct {
		name   string
		mode   fs.FileMode
		refuse string
	}{
		{"run-like", 0o755, ""},
		{"tmp-like", 0o777 | fs.ModeSticky, ""},
		{"world-writable", 0o777, "writable by group or others"},
		{"group-writable", 0o775, "writable by group or others"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := mk(tt.name, tt.mode)
			ln, err := Listen(ListenOptions{Addr: "unix://" + filepath.Join(d, "agent.sock")})
			if tt.refuse != "" {
				if err == nil {
					ln.Close()
					t.Fatalf("listening in a %s dir succeeded", tt.name)
				}
				if !strings.Contains(err.Error(), tt.refuse) || !strings.Contains(err.Error(), d) {
					t.Errorf("error %q does not say why or where", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				ln.Close()
			}
			if got := modeOf(d); got != tt.mode {
				t.Errorf("the existing dir's mode changed from %v to %v", tt.mode, got)
			}
		})
	}
	// A directory the agent creates is 0700.
	created := filepath.Join(base, "new", "spdoc")
	ln, err := Listen(ListenOptions{Addr: "unix://" + filepath.Join(created, "agent.sock")})
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if got := modeOf(created); got != 0o700 {
		t.Errorf("created socket dir mode %v, want 0700", got)
	}
}
