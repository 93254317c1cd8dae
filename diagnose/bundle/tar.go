package bundle

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// entryTime is the modification time of every entry: fixed, so bundles are reproducible.
var entryTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

type entryType int

const (
	typeFile entryType = iota
	typeDir
	typeSymlink
)

// entry is one member of the bundle (a slash path without leading slash).
type entry struct {
	name string
	typ  entryType
	data []byte
	link string // symlink target (relative)
}

// addDirs returns entries plus every parent directory they need, sorted by name.
func addDirs(entries []entry) []entry {
	seen := map[string]bool{}
	for _, e := range entries {
		if e.typ == typeDir {
			seen[e.name] = true
		}
	}
	out := append([]entry(nil), entries...)
	for _, e := range entries {
		for d := path.Dir(e.name); d != "." && d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			out = append(out, entry{name: d, typ: typeDir})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// writeTarGz writes entries (already sorted, with their directories) as a reproducible tar.gz.
func writeTarGz(w io.Writer, entries []entry) error {
	gz, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	// No name, no time: the gzip header is the same for the same content.
	gz.Header = gzip.Header{OS: 255}
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name,
			ModTime: entryTime,
			Format:  tar.FormatPAX,
		}
		switch e.typ {
		case typeDir:
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, e.name+"/", 0o755
		case typeSymlink:
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", e.name, err)
		}
		if e.typ == typeFile {
			if _, err := tw.Write(e.data); err != nil {
				return fmt.Errorf("%s: %w", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

type countWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	return n, err
}

// Limits of Extract: a bundle is untrusted input.
const (
	MaxExtractEntryBytes = 512 << 20
	MaxExtractTotalBytes = 2 << 30
	MaxExtractEntries    = 200000
)

// ErrUnsafe is wrapped when a bundle entry would escape the target directory or is of a kind
// a bundle never holds (hard links, devices, absolute or escaping symlinks).
var ErrUnsafe = errors.New("unsafe bundle entry")

// Extract unpacks the bundle at bundlePath into dir (created if missing) for
// `spdoc diagnose --root dir`. Every write goes through an os.Root on dir, so no entry — by
// "..", an absolute name or a symlink planted earlier — can touch anything outside it;
// symlinks must be relative and point inside dir; entry sizes, the total size and the entry
// count are capped.
//
// The only symlinks a bundle may hold are the ones Write makes:
// var/log/containers/<name>.log → ../pods/<pod dir>/<container>/<n>.log, each pointing at a
// regular file of the bundle itself. Every other symlink — however local it looks on its own, a
// chain of them can lead anywhere — is refused with ErrUnsafe: whoever opens a bundle attached to
// a ticket must not get their own machine's files read into the report.
func Extract(ctx context.Context, bundlePath, dir string) error {
	f, err := os.Open(bundlePath)
	if err != nil {
		return fmt.Errorf("opening bundle: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("reading bundle %q: not a gzip file: %w", bundlePath, err)
	}
	defer gz.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %q: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("opening %q: %w", dir, err)
	}
	defer root.Close()

	tr := tar.NewReader(gz)
	var total int64
	var links []link // made last, once their targets are known to be regular files
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return makeLinks(root, links)
		}
		if err != nil {
			return fmt.Errorf("reading bundle %q: %w", bundlePath, err)
		}
		if n >= MaxExtractEntries {
			return fmt.Errorf("bundle %q: more than %d entries", bundlePath, MaxExtractEntries)
		}
		name, err := safeName(h.Name)
		if err != nil {
			return fmt.Errorf("bundle %q: %w", bundlePath, err)
		}
		if name == "." {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("bundle entry %q: %w", h.Name, err)
			}
		case tar.TypeReg:
			if h.Size > MaxExtractEntryBytes {
				return fmt.Errorf("bundle entry %q: %d bytes is over the %d limit", h.Name, h.Size, MaxExtractEntryBytes)
			}
			if total += h.Size; total > MaxExtractTotalBytes {
				return fmt.Errorf("bundle %q: more than %d bytes unpacked", bundlePath, MaxExtractTotalBytes)
			}
			if err := extractFile(root, name, tr, h.Size); err != nil {
				return fmt.Errorf("bundle entry %q: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			target, err := containerLink(name, h.Linkname)
			if err != nil {
				return fmt.Errorf("bundle entry %q: %w", h.Name, err)
			}
			links = append(links, link{name: name, target: target, entry: h.Name})
		case tar.TypeXGlobalHeader:
			// PAX global header: metadata only.
		default:
			return fmt.Errorf("bundle entry %q: type %q is not allowed: %w", h.Name, string(h.Typeflag), ErrUnsafe)
		}
	}
}

// link is a symlink entry, made after every file was extracted.
type link struct{ name, target, entry string }

// containerLink checks that a symlink entry has the one form a bundle holds and returns its
// target: var/log/containers/<x>.log → ../pods/<pod dir>/<container>/<n>.log.
func containerLink(name, target string) (string, error) {
	slash := filepath.ToSlash(name)
	if path.Dir(slash) != ContainerLogsDir || !strings.HasSuffix(slash, ".log") {
		return "", fmt.Errorf("symlink to %q: a bundle holds symlinks only in %s/ (*.log): %w", target, ContainerLogsDir, ErrUnsafe)
	}
	parts := strings.Split(target, "/")
	if len(parts) != 5 || parts[0] != ".." || "var/log/"+parts[1] != PodLogsDir || !strings.HasSuffix(parts[4], ".log") {
		return "", fmt.Errorf("symlink to %q: want ../pods/<pod>/<container>/<n>.log: %w", target, ErrUnsafe)
	}
	for _, p := range parts[2:] {
		if p == "" || p == "." || p == ".." || strings.ContainsRune(p, '\\') {
			return "", fmt.Errorf("symlink to %q: want ../pods/<pod>/<container>/<n>.log: %w", target, ErrUnsafe)
		}
	}
	return target, nil
}

// makeLinks creates the container log links once their targets exist: each must be a regular
// file extracted from the bundle (no entry made the path's directories symlinks: links are
// only made here, and only in var/log/containers).
func makeLinks(root *os.Root, links []link) error {
	for _, l := range links {
		resolved := filepath.Join(filepath.Dir(l.name), filepath.FromSlash(l.target))
		st, err := root.Lstat(resolved)
		if err != nil {
			return fmt.Errorf("bundle entry %q: symlink to %q: its target is not in the bundle: %w", l.entry, l.target, ErrUnsafe)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("bundle entry %q: symlink to %q: its target is not a regular file: %w", l.entry, l.target, ErrUnsafe)
		}
		if err := mkParent(root, l.name); err != nil {
			return fmt.Errorf("bundle entry %q: %w", l.entry, err)
		}
		if err := root.Symlink(l.target, l.name); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("bundle entry %q: already exists: %w", l.entry, ErrUnsafe)
			}
			return fmt.Errorf("bundle entry %q: %w", l.entry, err)
		}
	}
	return nil
}

// safeName cleans a tar entry name to a local relative path.
func safeName(name string) (string, error) {
	clean := path.Clean(strings.TrimSuffix(name, "/"))
	if clean == "." {
		return ".", nil
	}
	local := filepath.FromSlash(clean)
	if strings.HasPrefix(name, "/") || !filepath.IsLocal(local) {
		return "", fmt.Errorf("entry %q leaves the bundle: %w", name, ErrUnsafe)
	}
	return local, nil
}

func mkParent(root *os.Root, name string) error {
	if d := filepath.Dir(name); d != "." {
		return root.MkdirAll(d, 0o755)
	}
	return nil
}

func extractFile(root *os.Root, name string, r io.Reader, size int64) error {
	if err := mkParent(root, name); err != nil {
		return err
	}
	// O_EXCL: an entry never overwrites (or writes through) anything already there.
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("already exists (a duplicate entry or a non-empty target dir): %w", ErrUnsafe)
	}
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = fmt.Errorf("truncated: %d of %d bytes", n, size)
	}
	return err
}
