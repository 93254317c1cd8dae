package common

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// SaveRequest asks the root model to save Data: it prompts for the path (Name in Env.Dir
// offered), refuses the manifest directory and says in the status line where the file went.
type SaveRequest struct {
	What string // "log", "report"
	Name string // file name offered in Env.Dir
	Data []byte
}

// RequestSave is the command a page returns to save data.
func RequestSave(what, name string, data []byte) tea.Cmd {
	return func() tea.Msg { return SaveRequest{What: what, Name: name, Data: data} }
}

// ErrManifestDir is wrapped when a save would put a file in the kubelet's manifest directory,
// where the kubelet loads every file that does not start with a dot as a pod.
var ErrManifestDir = errors.New("the kubelet loads every file there as a static pod")

// DefaultSaveDir is where saved logs and reports go unless the user types a path:
// $XDG_STATE_HOME/spdoc, else ~/.local/state/spdoc (the XDG default), else the temp dir —
// never the working directory, which on a node is often the manifest directory.
func DefaultSaveDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "spdoc")
	}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) && h != "/" {
		return filepath.Join(h, ".local", "state", "spdoc")
	}
	return filepath.Join(os.TempDir(), "spdoc")
}

// SaveFile writes data to path (a relative path is taken in dir), creating its directory
// (0700), unless the file would land in the manifest directory manifestDir. It returns the
// absolute path written. An existing file is not overwritten.
func SaveFile(dir, path, manifestDir string, data []byte) (string, error) {
	path = strings.TrimSpace(path)
	if path == "" {
		return "", errors.New("no path given")
	}
	if strings.HasPrefix(path, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(h, path[2:])
		}
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	path = filepath.Clean(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return "", fmt.Errorf("%s is a directory: name the file", path)
	}
	parent := filepath.Dir(path)
	if manifestDir != "" && sameDir(parent, manifestDir) {
		return "", fmt.Errorf("not saving into %s: %w", parent, ErrManifestDir)
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, nil
}

// sameDir reports whether a and b name the same directory (symlinks resolved where they exist).
func sameDir(a, b string) bool {
	ra, b2 := resolve(a), resolve(b)
	if ra == b2 {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

func resolve(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}
