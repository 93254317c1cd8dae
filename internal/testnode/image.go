package testnode

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Image names the harness imports into every node's containerd (namespace k8s.io).
const (
	PauseImage   = "spdoc.local/pause:3.10"
	BusyboxImage = "spdoc.local/busybox:1"
)

// imageEpoch is the fixed mtime of every file in the built images, so digests are reproducible.
var imageEpoch = time.Unix(1700000000, 0).UTC()

// layerFile is one entry of an image layer.
type layerFile struct {
	Name     string // path inside the image, no leading slash
	Mode     int64
	Dir      bool
	Linkname string // symlink target when non-empty
	Data     []byte
}

// imageSpec describes a single-layer linux/amd64 image.
type imageSpec struct {
	Ref        string // full name, e.g. spdoc.local/pause:3.10
	Entrypoint []string
	Cmd        []string
	Env        []string
	Files      []layerFile
}

// buildLayer writes files into an uncompressed tar, parents first, with fixed metadata.
func buildLayer(files []layerFile) ([]byte, error) {
	sorted := append([]layerFile(nil), files...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range sorted {
		h := &tar.Header{Name: f.Name, Mode: f.Mode, ModTime: imageEpoch, Format: tar.FormatPAX}
		switch {
		case f.Dir:
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		case f.Linkname != "":
			h.Typeflag = tar.TypeSymlink
			h.Linkname = f.Linkname
		default:
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing layer entry %q: %w", f.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.Data); err != nil {
				return nil, fmt.Errorf("writing layer entry %q: %w", f.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing layer: %w", err)
	}
	return buf.Bytes(), nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// writeOCIArchive writes spec as an OCI image-layout tarball (oci-layout, index.json, blobs/sha256/…)
// that `ctr images import` understands; the image is named by the io.containerd.image.name
// annotation of the index entry.
func writeOCIArchive(path string, spec imageSpec) error {
	layer, err := buildLayer(spec.Files)
	if err != nil {
		return fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	layerDigest := digestOf(layer)
	config, err := json.Marshal(map[string]any{
		"created":      imageEpoch.Format(time.RFC3339),
		"architecture": "amd64",
		"os":           "linux",
		"config": map[string]any{
			"Entrypoint": spec.Entrypoint,
			"Cmd":        spec.Cmd,
			"Env":        spec.Env,
			"WorkingDir": "/",
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	})
	if err != nil {
		return fmt.Errorf("image %s config: %w", spec.Ref, err)
	}
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{
			"mediaType": "application/vnd.oci.image.config.v1+json",
			"digest":    digestOf(config),
			"size":      len(config),
		},
		"layers": []map[string]any{{
			"mediaType": "application/vnd.oci.image.layer.v1.tar",
			"digest":    layerDigest,
			"size":      len(layer),
		}},
	})
	if err != nil {
		return fmt.Errorf("image %s manifest: %w", spec.Ref, err)
	}
	tag := spec.Ref[strings.LastIndex(spec.Ref, ":")+1:]
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []map[string]any{{
			"mediaType": "application/vnd.oci.image.manifest.v1+json",
			"digest":    digestOf(manifest),
			"size":      len(manifest),
			"platform":  map[string]string{"architecture": "amd64", "os": "linux"},
			"annotations": map[string]string{
				"io.containerd.image.name":          spec.Ref,
				"org.opencontainers.image.ref.name": tag,
			},
		}},
	})
	if err != nil {
		return fmt.Errorf("image %s index: %w", spec.Ref, err)
	}

	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating image archive: %w", err)
	}
	tw := tar.NewWriter(out)
	add := func(name string, data []byte) error {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: imageEpoch, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	blob := func(b []byte) string { return "blobs/sha256/" + strings.TrimPrefix(digestOf(b), "sha256:") }
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", index},
		{blob(manifest), manifest},
		{blob(config), config},
		{blob(layer), layer},
	} {
		if err := add(e.name, e.data); err != nil {
			out.Close()
			return fmt.Errorf("writing %s into %s: %w", e.name, path, err)
		}
	}
	if err := tw.Close(); err != nil {
		out.Close()
		return fmt.Errorf("closing image archive %s: %w", path, err)
	}
	return out.Close()
}

// baseFiles is the skeleton every image gets: the directories runc and the kubelet mount onto,
// and a root user.
func baseFiles() []layerFile {
	var fs []layerFile
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "root", "var", "usr", "usr/bin"} {
		fs = append(fs, layerFile{Name: d, Mode: 0o755, Dir: true})
	}
	fs = append(fs,
		layerFile{Name: "tmp", Mode: 0o1777, Dir: true},
		layerFile{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
		layerFile{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnobody:x:65534:\n")},
	)
	return fs
}

// pauseSpec builds the pause binary from internal/testnode/pause with the go tool (static, no cgo).
func pauseSpec(workDir string) (imageSpec, error) {
	bin := filepath.Join(workDir, "pause")
	if err := goBuild(bin, "github.com/spdoc/spdoc/internal/testnode/pause"); err != nil {
		return imageSpec{}, fmt.Errorf("building the pause image: %w", err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return imageSpec{}, fmt.Errorf("reading pause binary: %w", err)
	}
	return imageSpec{
		Ref:        PauseImage,
		Entrypoint: []string{"/pause"},
		Files:      append(baseFiles(), layerFile{Name: "pause", Mode: 0o755, Data: data}),
	}, nil
}

// busyboxSpec packs the host's static busybox with a symlink for every applet it lists.
func busyboxSpec(busybox string) (imageSpec, error) {
	data, err := os.ReadFile(busybox)
	if err != nil {
		return imageSpec{}, fmt.Errorf("reading %s (install the busybox-static package: hack/setup-node.sh): %w", busybox, err)
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return imageSpec{}, fmt.Errorf("listing busybox applets (%s --list): %w", busybox, err)
	}
	files := append(baseFiles(), layerFile{Name: "bin/busybox", Mode: 0o755, Data: data})
	seen := map[string]bool{"busybox": true}
	for _, applet := range strings.Fields(string(list)) {
		if seen[applet] || strings.Contains(applet, "/") {
			continue
		}
		seen[applet] = true
		files = append(files, layerFile{Name: "bin/" + applet, Mode: 0o777, Linkname: "busybox"})
	}
	return imageSpec{
		Ref:   BusyboxImage,
		Cmd:   []string{"sh"},
		Env:   []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		Files: files,
	}, nil
}

// importControlPlaneImages imports an image of each control-plane binary under the name kubeadm's
// manifests use (registry.k8s.io/kube-apiserver:v1.34.4, registry.k8s.io/etcd:3.6.5-0, …), so
// the kubelet finds them present and nothing is pulled.
func (c *ControlPlane) importControlPlaneImages(ctx context.Context) error {
	for _, comp := range ControlPlaneComponents {
		archive, err := componentArchive(c.Images[comp], comp, c.binaries[comp], filepath.Join(c.Root, "images"))
		if err != nil {
			return err
		}
		if _, err := c.ctr(ctx, "images", "import", "--snapshotter", c.snapshotter, "--platform", "linux/amd64", archive); err != nil {
			return fmt.Errorf("importing %s: %w", c.Images[comp], err)
		}
	}
	return nil
}

// componentArchive returns an OCI archive of an image holding bin as /usr/local/bin/<name> (where
// the registry.k8s.io images have it, found through PATH as kubeadm's `command:` expects). It is
// cached beside the binaries ($SPDOC_CACHE, default /var/cache/spdoc), keyed by the binary's
// digest, since packing ~100 MB per node costs seconds; fallback is the node's own dir.
func componentArchive(ref, name, bin, fallbackDir string) (string, error) {
	f, err := os.Open(bin)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("image %s: reading %s: %w", ref, bin, err)
	}
	dir := os.Getenv("SPDOC_CACHE")
	if dir == "" {
		dir = "/var/cache/spdoc"
	}
	dir = filepath.Join(dir, "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		dir = fallbackDir
	}
	base := strings.NewReplacer("/", "_", ":", "_").Replace(ref) + "-" + hex.EncodeToString(h.Sum(nil))[:16] + ".tar"
	path := filepath.Join(dir, base)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	files := append(baseFiles(),
		layerFile{Name: "usr/local", Mode: 0o755, Dir: true},
		layerFile{Name: "usr/local/bin", Mode: 0o755, Dir: true},
		layerFile{Name: "usr/local/bin/" + name, Mode: 0o755, Data: data},
	)
	spec := imageSpec{
		Ref:   ref,
		Env:   []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Files: files,
	}
	// Concurrent tests may pack the same image: each writes its own temp file, the rename is atomic.
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := writeOCIArchive(tmp, spec); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("image %s: %w", ref, err)
	}
	return path, nil
}
