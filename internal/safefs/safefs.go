// Package safefs opens node files for reading without being led astray by what it finds there.
//
// Two defences, one entry point:
//
//   - Only regular files are opened for reading. Open never blocks: it opens with O_NONBLOCK
//     (a FIFO opens at once instead of waiting for a writer), checks the open file, and refuses
//     FIFOs, devices (/dev/zero), sockets and directories with ErrNotRegular. What a FIFO or
//     /dev/zero would do to a reader — hang forever, or feed it without end — cannot happen.
//   - A copied node (`diagnose --root DIR`, an unpacked support bundle) is Confined: while it is,
//     every path under DIR is resolved through an os.Root on DIR, so no symlink — absolute,
//     "..", or a chain of links that each look local — can make a read leave DIR. Such a link
//     gives ErrEscapes. Paths outside every confined dir are opened as they are.
//
// Confinement is keyed by path, not passed around, so the parsers (manifests, kubelet log, pod
// logs) keep taking plain paths: node.Local confines its Root for the duration of each read.
package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// Sentinel errors, wrapped with the path.
var (
	// ErrNotRegular: a FIFO, device, socket or directory where a file is read.
	ErrNotRegular = errors.New("not a regular file")
	// ErrEscapes: a symlink under a confined root that resolves outside it.
	ErrEscapes = errors.New("resolves outside the node root")
)

type confined struct {
	dir  string
	root *os.Root
	refs int
}

var (
	mu    sync.RWMutex
	roots = map[string]*confined{}
)

// Confine makes every read of a path under dir (until release is called) resolve inside dir.
// Calls nest: dir stays confined until every release has been called.
func Confine(dir string) (release func(), err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("node root %q: %w", dir, err)
	}
	mu.Lock()
	defer mu.Unlock()
	c := roots[abs]
	if c == nil {
		r, err := os.OpenRoot(abs)
		if err != nil {
			return nil, fmt.Errorf("node root %q: %w", dir, err)
		}
		c = &confined{dir: abs, root: r}
		roots[abs] = c
	}
	c.refs++
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if c.refs--; c.refs == 0 {
				delete(roots, abs)
				c.root.Close()
			}
		})
	}, nil
}

// Confined reports whether path lies under a confined root.
func Confined(path string) bool {
	_, _, ok := lookup(path)
	return ok
}

// lookup returns the root confining path and path relative to it. The root's lock is not held
// on return: an os.Root stays usable until closed, and a release only closes it when no reader
// holds a reference (readers run inside Confine/release).
func lookup(path string) (*os.Root, string, bool) {
	mu.RLock()
	defer mu.RUnlock()
	if len(roots) == 0 {
		return nil, "", false
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", false
	}
	var best *confined
	for dir, c := range roots {
		if (abs == dir || strings.HasPrefix(abs, dir+string(filepath.Separator)) || dir == "/") && (best == nil || len(dir) > len(best.dir)) {
			best = c
		}
	}
	if best == nil {
		return nil, "", false
	}
	rel, err := filepath.Rel(best.dir, abs)
	if err != nil {
		return nil, "", false
	}
	return best.root, rel, true
}

// wrap turns os.Root's escape error into ErrEscapes with the caller's path.
func wrap(op, path string, err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		return &fs.PathError{Op: op, Path: path, Err: fmt.Errorf("a symlink %w (not followed)", ErrEscapes)}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: op, Path: path, Err: pe.Err}
	}
	return err
}

// openFlags: never block in open(2) (FIFOs), never make a terminal ours.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// Open opens the regular file at path for reading. It never blocks on a FIFO and refuses
// anything that is not a regular file with ErrNotRegular.
func Open(path string) (*os.File, error) {
	var f *os.File
	var err error
	if root, rel, ok := lookup(path); ok {
		f, err = root.OpenFile(rel, openFlags, 0)
		err = wrap("open", path, err)
	} else {
		f, err = os.OpenFile(path, openFlags, 0)
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, notRegular("open", path, st.Mode())
	}
	// Reads of a regular file ignore O_NONBLOCK; clear it anyway so the descriptor is plain.
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _ = syscall.SetNonblock(int(fd), false) })
	}
	return f, nil
}

func notRegular(op, path string, mode fs.FileMode) error {
	what := "a " + describe(mode)
	return &fs.PathError{Op: op, Path: path, Err: fmt.Errorf("%w (%s): not read", ErrNotRegular, what)}
}

// describe names a file type for messages.
func describe(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "file of mode " + m.Type().String()
}

// ReadFile reads the regular file at path; more than max bytes (max > 0) is an error that
// wraps ErrTooLarge.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := io.Reader(f)
	if max > 0 {
		r = io.LimitReader(f, max+1)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if max > 0 && int64(len(data)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
	}
	return data, nil
}

// ErrTooLarge is wrapped by ReadFile when a file is over its cap.
var ErrTooLarge = errors.New("file too large")

// Stat is os.Stat, confined.
func Stat(path string) (fs.FileInfo, error) {
	if root, rel, ok := lookup(path); ok {
		st, err := root.Stat(rel)
		return st, wrap("stat", path, err)
	}
	return os.Stat(path)
}

// Lstat is os.Lstat, confined.
func Lstat(path string) (fs.FileInfo, error) {
	if root, rel, ok := lookup(path); ok {
		st, err := root.Lstat(rel)
		return st, wrap("lstat", path, err)
	}
	return os.Lstat(path)
}

// Readlink is os.Readlink, confined (the link itself must lie inside the root; its target is
// returned as written, not followed).
func Readlink(path string) (string, error) {
	if root, rel, ok := lookup(path); ok {
		t, err := root.Readlink(rel)
		return t, wrap("readlink", path, err)
	}
	return os.Readlink(path)
}

// ReadDir is os.ReadDir, confined; it never blocks on a FIFO where a directory was expected.
// Like os.ReadDir it returns the entries read before an error, sorted by name.
func ReadDir(path string) ([]fs.DirEntry, error) {
	var d *os.File
	var err error
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_DIRECTORY
	if root, rel, ok := lookup(path); ok {
		d, err = root.OpenFile(rel, flags, 0)
		err = wrap("open", path, err)
	} else {
		d, err = os.OpenFile(path, flags, 0)
	}
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	sortEntries(ents)
	return ents, err
}

func sortEntries(ents []fs.DirEntry) {
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}
