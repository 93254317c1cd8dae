// Package manifestdir writes files into a kubelet manifest directory so that a concurrent reader
// (the kubelet) never sees a partial file: the content goes to a dotfile in the same directory
// (the kubelet ignores dotfiles), is fsynced, then renamed over the target and the directory is
// fsynced. On any error the temp file is removed and the previous manifest stays as it was.
package manifestdir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spdoc/spdoc/internal/safefs"
)

// DefaultMode is the mode of manifests written by spdoc: they may carry secrets in env values.
const DefaultMode fs.FileMode = 0o600

// tempInfix marks spdoc's temp files: .<name>.tmp-<rand>.
const tempInfix = ".tmp-"

// maxCompare caps how much of an existing file is read to decide "unchanged"; a larger existing
// file is simply rewritten.
const maxCompare = 16 << 20

// Write atomically replaces dir/name with data and mode. It returns changed=false (and touches
// nothing, not even the mtime) when the file already has exactly this content and mode.
func Write(dir, name string, data []byte, mode fs.FileMode) (changed bool, err error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	if mode == 0 {
		mode = DefaultMode
	}
	target := filepath.Join(dir, name)
	if same, err := sameContent(target, data, mode); err != nil {
		return false, err
	} else if same {
		return false, nil
	}

	tmp, err := os.CreateTemp(dir, "."+name+tempInfix+"*")
	if err != nil {
		return false, fmt.Errorf("creating temp file for manifest %q: %w", target, err)
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return false, fmt.Errorf("writing manifest %q: %w", target, err)
	}
	if err = tmp.Chmod(mode); err != nil {
		return false, fmt.Errorf("setting mode of manifest %q: %w", target, err)
	}
	if err = tmp.Sync(); err != nil {
		return false, fmt.Errorf("syncing manifest %q: %w", target, err)
	}
	if err = tmp.Close(); err != nil {
		return false, fmt.Errorf("closing manifest %q: %w", target, err)
	}
	if err = os.Rename(tmpName, target); err != nil {
		return false, fmt.Errorf("replacing manifest %q: %w", target, err)
	}
	if err := syncDir(dir); err != nil {
		// The rename happened: the new content is visible. Report the durability problem
		// without pretending the write did not take place.
		return true, err
	}
	return true, nil
}

// Remove deletes dir/name and fsyncs the directory. A file that does not exist is not an error.
func Remove(dir, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	target := filepath.Join(dir, name)
	if err := os.Remove(target); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("removing manifest %q: %w", target, err)
	}
	return syncDir(dir)
}

// List returns the names of regular, non-dot files in dir that start with prefix, sorted.
// A missing directory is an empty list.
func List(dir, prefix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing manifest dir %q: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasPrefix(n, prefix) || e.IsDir() {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// CleanTemp removes temp files left behind by a writer that was killed between create and
// rename (they are dotfiles, so the kubelet never read them). It returns how many it removed.
func CleanTemp(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("listing manifest dir %q: %w", dir, err)
	}
	n := 0
	for _, e := range entries {
		if IsTemp(e.Name()) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
				n++
			}
		}
	}
	return n, nil
}

// CleanTempOf removes the temp files Write left for name in dir (a writer killed between create
// and rename), leaving every other file alone: for a directory shared with other programs, like
// the agent config's. It returns how many it removed.
func CleanTempOf(dir, name string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("listing %q: %w", dir, err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "."+name+tempInfix) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
				n++
			}
		}
	}
	return n, nil
}

// IsTemp reports whether name is one of Write's temp files.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tempInfix)
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') || strings.HasPrefix(name, ".") {
		return fmt.Errorf("invalid manifest file name %q: must be a plain, non-dot file name", name)
	}
	return nil
}

func sameContent(path string, data []byte, mode fs.FileMode) (bool, error) {
	// Never blocks: a FIFO (or anything but a regular file) by that name is simply replaced.
	f, err := safefs.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, safefs.ErrNotRegular) {
			return false, nil
		}
		return false, fmt.Errorf("reading manifest %q: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("reading manifest %q: %w", path, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm() != mode.Perm() || st.Size() != int64(len(data)) || st.Size() > maxCompare {
		return false, nil
	}
	buf := make([]byte, st.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return false, nil // unreadable or shrunk meanwhile: rewrite
	}
	return bytes.Equal(buf, data), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing manifest dir %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing manifest dir %q: %w", dir, err)
	}
	return nil
}
