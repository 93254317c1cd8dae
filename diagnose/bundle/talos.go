package bundle

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// A talosctl support bundle (`talosctl support`, github.com/siderolabs/go-talos-support) is a
// zip with one folder per node, named as the node was given to talosctl (an address or a name):
//
//	<node>/dmesg.log                       kernel log
//	<node>/controller-runtime.log          machined's controllers
//	<node>/service-logs/<svc>.log          service output: kubelet.log is the kubelet's log
//	<node>/service-logs/<svc>.state        service state (text)
//	<node>/kubernetes-logs/<ns>/<container>[-exited].log
//	                                       CRI log lines of every non-sandbox container of
//	                                       kube-system only, named by container name alone
//	                                       ("-exited" when the container has no process)
//	<node>/resources/<resource definition id>.yaml
//	                                       every COSI resource as YAML documents of
//	                                       metadata + spec (sensitive specs are "<REDACTED>"):
//	                                       staticpods.kubernetes.talos.dev.yaml (spec = the Pod),
//	                                       staticpodstatuses.kubernetes.talos.dev.yaml (spec =
//	                                       the PodStatus, control planes only), …
//	<node>/summary, processes, mounts, devices, io, dependencies.dot
//	kubernetesResources/nodes.yaml, systemPods.yaml   (cluster-wide, when the API answered)
//
// Entries are written with zip.Writer.Create, so two containers with the same name (or two
// exited instances) give two entries with the same name: nothing is overwritten, but the names
// do not say which is which.

// Talos bundle paths inside a node folder.
const (
	TalosKubeletLog       = "service-logs/kubelet.log"
	TalosDmesg            = "dmesg.log"
	TalosStaticPods       = "resources/staticpods.kubernetes.talos.dev.yaml"
	TalosStaticPodStatus  = "resources/staticpodstatuses.kubernetes.talos.dev.yaml"
	TalosKubeletSpecs     = "resources/kubeletspecs.kubernetes.talos.dev.yaml"
	TalosNodenames        = "resources/nodenames.kubernetes.talos.dev.yaml"
	TalosKubernetesLogs   = "kubernetes-logs"
	talosExitedSuffix     = "-exited.log"
	maxTalosCompressRatio = 1000 // a log compresses 10-30×; far more is a zip bomb
)

// ErrEncrypted is returned for an age-encrypted bundle (talosctl support can encrypt for Sidero
// support's keys).
var ErrEncrypted = errors.New("the bundle is age-encrypted")

// ErrNotTalosBundle is returned for a zip that has no node folder of a talosctl support bundle.
var ErrNotTalosBundle = errors.New("not a talosctl support bundle")

// Format of a bundle file, from its first bytes.
type Format string

const (
	FormatTarGz Format = "tar.gz" // spdoc diagnose --bundle
	FormatZip   Format = "zip"    // talosctl support
	FormatAge   Format = "age"    // an encrypted talosctl support bundle
)

// DetectFormat reads the first bytes of a bundle file.
func DetectFormat(p string) (Format, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("opening bundle: %w", err)
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("age-encryption.org/")) || bytes.HasPrefix(head, []byte("-----BEGIN AGE ENCRYPTED FILE-----")):
		return FormatAge, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return FormatZip, nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return FormatTarGz, nil
	}
	return "", fmt.Errorf("bundle %q: neither a spdoc bundle (tar.gz) nor a talosctl support bundle (zip)", p)
}

// EncryptedError says how to decrypt an age-encrypted bundle.
func EncryptedError(p string) error {
	out := strings.TrimSuffix(p, ".age")
	if out == p {
		out = p + ".zip"
	}
	return fmt.Errorf("%s: %w: decrypt it first (age -d -i key.txt -o %s %s), then pass the .zip", p, ErrEncrypted, out, p)
}

// TalosBundle is an opened talosctl support bundle. Entries are read on demand, each capped.
type TalosBundle struct {
	Path  string
	Nodes []string                // node folders, sorted
	files map[string][]talosEntry // by cleaned name; duplicates kept in archive order
	// budget is what is left of MaxExtractTotalBytes for reads.
	budget int64
	close  func() error
}

// talosEntry is one file of the bundle: a zip entry, or a file of an unzipped copy.
type talosEntry struct {
	size uint64
	open func() (io.ReadCloser, error)
}

// OpenTalos opens and checks a talosctl support bundle. Hostile archives are refused with
// ErrUnsafe before anything is read: names that leave the archive ("../", absolute, drive or
// backslash tricks), symlinks and other non-regular entries, entries over MaxExtractEntryBytes,
// more than MaxExtractEntries entries or MaxExtractTotalBytes in all, and compression ratios no
// log reaches (zip bombs). Reads are capped again, so lying headers gain nothing.
func OpenTalos(p string) (*TalosBundle, error) {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, fmt.Errorf("reading talosctl support bundle %q: %w", p, err)
	}
	b := &TalosBundle{Path: p, files: map[string][]talosEntry{}, budget: MaxExtractTotalBytes, close: zr.Close}
	if err := b.check(zr); err != nil {
		zr.Close()
		return nil, fmt.Errorf("talosctl support bundle %q: %w", p, err)
	}
	if len(b.Nodes) == 0 {
		zr.Close()
		return nil, fmt.Errorf("%q: %w (no <node>/service-logs, resources or kubernetes-logs folder)", p, ErrNotTalosBundle)
	}
	return b, nil
}

func (b *TalosBundle) check(zr *zip.ReadCloser) error {
	if len(zr.File) > MaxExtractEntries {
		return fmt.Errorf("%d entries (at most %d): %w", len(zr.File), MaxExtractEntries, ErrUnsafe)
	}
	var total uint64
	nodes := map[string]bool{}
	for _, f := range zr.File {
		if strings.ContainsRune(f.Name, '\\') || strings.ContainsRune(f.Name, 0) {
			return fmt.Errorf("entry %q: backslash or NUL in the name: %w", f.Name, ErrUnsafe)
		}
		name, err := safeName(f.Name)
		if err != nil {
			return err
		}
		mode := f.Mode()
		if mode&os.ModeSymlink != 0 {
			return fmt.Errorf("entry %q is a symlink (talosctl writes none): %w", f.Name, ErrUnsafe)
		}
		if mode.IsDir() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if !mode.IsRegular() {
			return fmt.Errorf("entry %q is not a regular file (%s): %w", f.Name, mode.Type(), ErrUnsafe)
		}
		if f.UncompressedSize64 > MaxExtractEntryBytes {
			return fmt.Errorf("entry %q: %d bytes (at most %d): %w", f.Name, f.UncompressedSize64, int64(MaxExtractEntryBytes), ErrUnsafe)
		}
		if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64 > maxTalosCompressRatio*(f.CompressedSize64+1) {
			return fmt.Errorf("entry %q: %d bytes from %d compressed, a zip bomb's ratio: %w", f.Name, f.UncompressedSize64, f.CompressedSize64, ErrUnsafe)
		}
		total += f.UncompressedSize64
		if total > MaxExtractTotalBytes {
			return fmt.Errorf("more than %d bytes uncompressed: %w", int64(MaxExtractTotalBytes), ErrUnsafe)
		}
		slash := path.Clean(strings.ReplaceAll(name, string(os.PathSeparator), "/"))
		b.files[slash] = append(b.files[slash], talosEntry{size: f.UncompressedSize64, open: f.Open})
		if node, rest, ok := strings.Cut(slash, "/"); ok && isTalosNodeFile(rest) {
			nodes[node] = true
		}
	}
	for n := range nodes {
		b.Nodes = append(b.Nodes, n)
	}
	sort.Strings(b.Nodes)
	return nil
}

func isTalosNodeFile(rest string) bool {
	return rest == TalosDmesg || strings.HasPrefix(rest, "service-logs/") || strings.HasPrefix(rest, "resources/") || strings.HasPrefix(rest, TalosKubernetesLogs+"/")
}

// Close releases the archive.
func (b *TalosBundle) Close() error { return b.close() }

// Count is how many entries have this name (duplicates are possible).
func (b *TalosBundle) Count(name string) int { return len(b.files[name]) }

// List returns the entry names under a folder prefix ("10.5.0.2/kubernetes-logs/"), sorted.
func (b *TalosBundle) List(prefix string) []string {
	var out []string
	for n := range b.files {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Open opens the i-th entry of that name, capped at its declared size and the bundle's budget.
func (b *TalosBundle) Open(name string, i int) (io.ReadCloser, error) {
	fs := b.files[name]
	if i < 0 || i >= len(fs) {
		return nil, fmt.Errorf("%s: %w", name, os.ErrNotExist)
	}
	f := fs[i]
	if int64(f.size) > b.budget {
		return nil, fmt.Errorf("%s: the bundle's read budget (%d bytes) is spent: %w", name, int64(MaxExtractTotalBytes), ErrUnsafe)
	}
	b.budget -= int64(f.size)
	rc, err := f.open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, int64(f.size)), rc}, nil
}

// ReadFile reads the i-th entry of that name whole (capped at max bytes).
func (b *TalosBundle) ReadFile(name string, i int, max int64) ([]byte, error) {
	rc, err := b.Open(name, i)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, max)
	}
	return data, nil
}

// lines calls fn for each line of the i-th entry (bounded line length).
func (b *TalosBundle) lines(name string, i int, fn func([]byte)) error {
	rc, err := b.Open(name, i)
	if err != nil {
		return err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 2<<20)
	for sc.Scan() {
		fn(sc.Bytes())
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
