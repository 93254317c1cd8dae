package staticpod

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/spdoc/spdoc/internal/safefs"
)

// backupSuffixes are editor, package manager and admin leftovers. The kubelet loads them like any
// other file, so a `kube-apiserver.yaml.bak` defines a second (usually duplicate) pod.
var backupSuffixes = []string{
	".bak", ".orig", ".old", "~", ".swp", ".swo", ".swx", ".tmp", ".save",
	".dpkg-old", ".dpkg-dist", ".dpkg-new", ".dpkg-bak", ".ucf-old", ".ucf-dist",
	".rpmnew", ".rpmsave", ".rpmorig", ".rej",
}

// IsBackupName reports whether a manifest file name looks like a backup or editor leftover
// (`*.bak *.orig *.old *~ *.swp *.dpkg-old *.rpmnew #*#`…), also with a suffix after it
// (`kube-apiserver.yaml.bak.1`, `etcd.yaml.old-2024`), but not `etcd.bak.yaml`.
func IsBackupName(name string) bool {
	if strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#") && len(name) > 1 {
		return true // emacs auto-save
	}
	lower := strings.ToLower(name)
	for _, s := range backupSuffixes {
		if strings.HasSuffix(lower, s) {
			return true
		}
		// foo.yaml.bak.1, foo.yaml.bak-20240101, foo.yaml.orig_x
		if s[0] == '.' {
			if i := strings.LastIndex(lower, s); i > 0 && i+len(s) < len(lower) {
				rest := lower[i+len(s):]
				if rest[0] == '-' || rest[0] == '_' || (rest[0] == '.' && isDigits(rest[1:])) {
					return true
				}
			}
		}
	}
	return false
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// ScanDir reads a manifest directory the way the kubelet's file source does: every entry whose
// name does not start with a dot, sorted by name, symlinks followed, no recursion. Directories are
// listed as KindDir, dotfiles as KindIgnored (the kubelet never reads them, but agent temp files
// are worth seeing), entries that cannot be stat'ed or read as KindUnreadable with Err. Regular
// files are read (at most MaxManifestSize bytes) and decoded with DecodeFile.
//
// A missing directory gives Exists=false and the kubelet's Err "path does not exist"; other
// failures to list it set Err. It never returns nil.
func ScanDir(dir string) *DirScan {
	s := &DirScan{Dir: dir, Files: []*File{}}
	st, err := safefs.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.Err = "path does not exist"
		return s
	case err != nil:
		s.Exists = true
		s.Err = fmt.Sprintf("reading manifest directory %q: %v", dir, err)
		return s
	}
	s.Exists = true
	if !st.IsDir() {
		s.Err = fmt.Sprintf("manifest path %q is not a directory", dir)
		return s
	}
	entries, err := safefs.ReadDir(dir)
	if err != nil {
		s.Err = fmt.Sprintf("reading manifest directory %q: %v", dir, err)
		// os.ReadDir returns what it read before the error; keep going with it.
	}
	for _, e := range entries {
		s.Files = append(s.Files, ScanFile(filepath.Join(dir, e.Name())))
	}
	sort.Slice(s.Files, func(i, j int) bool { return s.Files[i].Name < s.Files[j].Name })
	return s
}

// ScanFile classifies and, when the kubelet would read it, decodes one manifest dir entry.
func ScanFile(path string) *File {
	name := filepath.Base(path)
	f := &File{Path: path, Name: name, Backup: IsBackupName(name)}
	if strings.HasPrefix(name, ".") {
		f.Kind = KindIgnored
		f.Backup = false // Backup means "loaded anyway"; the kubelet never reads dotfiles (.x.swp)
		if lst, err := safefs.Lstat(path); err == nil {
			f.Size, f.ModTime = lst.Size(), lst.ModTime()
		}
		return f
	}
	st, err := safefs.Stat(path) // follows symlinks, like the kubelet
	f.Link = link(path)
	if err != nil {
		f.Kind = KindUnreadable
		f.Err = statError(path, err)
		if lst, lerr := safefs.Lstat(path); lerr == nil {
			f.ModTime = lst.ModTime()
		}
		return f
	}
	f.Size, f.ModTime = st.Size(), st.ModTime()
	switch {
	case st.IsDir():
		f.Kind = KindDir
		return f
	case st.Mode()&fs.ModeNamedPipe != 0:
		// Never open it here: opening a FIFO for reading blocks until a writer comes.
		f.Kind = KindUnreadable
		f.Err = fmt.Sprintf("%s is a FIFO, not a directory or regular file: the kubelet skips it when it re-lists the directory, "+
			"but when the FIFO appears (inotify) it opens it and blocks, and its manifest source then picks up no change at all "+
			"until something writes to the FIFO or the kubelet restarts", path)
		return f
	case !st.Mode().IsRegular():
		// The kubelet logs "Manifest path is not a directory or file" when it re-lists.
		f.Kind = KindUnreadable
		f.Err = fmt.Sprintf("%s is not a directory or regular file (mode %s): the kubelet skips it", path, st.Mode().Type())
		return f
	}
	data, err := readCapped(path)
	if err != nil {
		f.Kind = KindUnreadable
		f.Err = err.Error()
		if errors.Is(err, ErrTooLarge) {
			// Still a manifest the kubelet tries to read; it fails with the read limit.
			f.Kind = KindManifest
			f.Err = ""
			f.Parse = &ParseError{Msg: err.Error()}
		}
		return f
	}
	d := DecodeFile(path, data)
	d.ModTime = f.ModTime
	d.Link = link(path)
	return d
}

// link is the target of path when it is a symlink, else "".
func link(path string) string {
	if lst, err := safefs.Lstat(path); err != nil || lst.Mode()&fs.ModeSymlink == 0 {
		return ""
	}
	t, _ := safefs.Readlink(path)
	return t
}

func statError(path string, err error) string {
	switch {
	case errors.Is(err, syscall.ELOOP):
		return fmt.Sprintf("%s: symlink loop (too many levels of symbolic links): the kubelet skips it", path)
	case errors.Is(err, fs.ErrNotExist):
		if target, lerr := safefs.Readlink(path); lerr == nil {
			return fmt.Sprintf("%s: dangling symlink to %q: the kubelet skips it", path, target)
		}
		return fmt.Sprintf("%s: disappeared while scanning", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("%s: permission denied: the kubelet (usually root) may still read it", path)
	}
	return fmt.Sprintf("%s: %v", path, err)
}

// readCapped reads at most MaxManifestSize bytes, like the kubelet's utilio.ReadAtMost.
func readCapped(path string) ([]byte, error) {
	fh, err := safefs.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("reading manifest %q: permission denied", path)
		}
		return nil, fmt.Errorf("reading manifest %q: %w", path, err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading manifest %q: %w", path, err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("reading manifest %q: %w (the kubelet reads at most %d bytes)", path, ErrTooLarge, MaxManifestSize)
	}
	return data, nil
}

// Duplicates returns, per "<namespace>/<name>", the pods defined by more than one file of the
// scan. The kubelet keeps only one of them (the file read last wins), so all but one are silently
// dropped. Files that do not parse are not counted; invalid pods are, since the kubelet keys the
// file by the pod only after validation, so callers may filter on Valid().
func Duplicates(scan *DirScan) map[string][]*StaticPod {
	by := map[string][]*StaticPod{}
	for _, f := range scan.Files {
		if f.Kind != KindManifest || f.Parse != nil {
			continue
		}
		for _, p := range f.Pods {
			k := p.Namespace + "/" + p.Name
			by[k] = append(by[k], p)
		}
	}
	for k, ps := range by {
		if len(ps) < 2 {
			delete(by, k)
		}
	}
	return by
}
