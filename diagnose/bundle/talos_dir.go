package bundle

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// OpenTalosDir opens an unzipped talosctl support bundle (`unzip support.zip -d support`): the
// directory holding the node folders. The copy is as untrusted as the zip: it is read through an
// os.Root (no symlink or ".." leads out), symlinks and non-regular files are refused, and the
// zip's limits on entries, entry size and total size apply. ErrNotTalosBundle when no node folder
// is there.
func OpenTalosDir(dir string) (*TalosBundle, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("reading talosctl support bundle copy %q: %w", dir, err)
	}
	b := &TalosBundle{Path: dir, files: map[string][]talosEntry{}, budget: MaxExtractTotalBytes, close: root.Close}
	if err := b.walk(root); err != nil {
		root.Close()
		return nil, fmt.Errorf("talosctl support bundle copy %q: %w", dir, err)
	}
	if len(b.Nodes) == 0 {
		root.Close()
		return nil, fmt.Errorf("%q: %w (no <node>/service-logs, resources or kubernetes-logs folder)", dir, ErrNotTalosBundle)
	}
	return b, nil
}

func (b *TalosBundle) walk(root *os.Root) error {
	var total uint64
	n := 0
	nodes := map[string]bool{}
	err := fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n++; n > MaxExtractEntries {
			return fmt.Errorf("more than %d entries: %w", MaxExtractEntries, ErrUnsafe)
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%q is a symlink (talosctl writes none): %w", name, ErrUnsafe)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%q is not a regular file (%s): %w", name, d.Type(), ErrUnsafe)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		size := uint64(fi.Size())
		if size > MaxExtractEntryBytes {
			return fmt.Errorf("%q: %d bytes (at most %d): %w", name, size, int64(MaxExtractEntryBytes), ErrUnsafe)
		}
		if total += size; total > MaxExtractTotalBytes {
			return fmt.Errorf("more than %d bytes: %w", int64(MaxExtractTotalBytes), ErrUnsafe)
		}
		slash := path.Clean(filepath.ToSlash(name))
		b.files[slash] = append(b.files[slash], talosEntry{size: size, open: func() (io.ReadCloser, error) { return root.Open(name) }})
		if node, rest, ok := strings.Cut(slash, "/"); ok && isTalosNodeFile(rest) {
			nodes[node] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	for nd := range nodes {
		b.Nodes = append(b.Nodes, nd)
	}
	sort.Strings(b.Nodes)
	return nil
}

// TalosNodeDir reports whether dir is one node folder of an unzipped talosctl support bundle
// (it holds service-logs/kubelet.log or resources/staticpods…), rather than the folder of them.
func TalosNodeDir(dir string) bool {
	for _, p := range []string{TalosKubeletLog, TalosStaticPods} {
		if fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(p))); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// LooksLikeTalosDir reports whether dir is an unzipped talosctl support bundle: a folder of node
// folders (TalosNodeDir), and not a copied node filesystem (which has etc/ or var/).
func LooksLikeTalosDir(dir string) bool {
	for _, p := range []string{"etc", "var"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			return false
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && TalosNodeDir(filepath.Join(dir, e.Name())) {
			return true
		}
	}
	return false
}
