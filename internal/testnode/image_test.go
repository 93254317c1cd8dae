package testnode

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readArchive returns the files of a tar archive by name.
func readArchive(t *testing.T, data []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		out[h.Name] = h
	}
}

func TestBuildLayer(t *testing.T) {
	files := []layerFile{
		{Name: "bin/sh", Mode: 0o777, Linkname: "busybox"},
		{Name: "bin", Mode: 0o755, Dir: true},
		{Name: "bin/busybox", Mode: 0o755, Data: []byte("ELF")},
	}
	a, err := buildLayer(files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := buildLayer(files)
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(a) != digestOf(b) {
		t.Errorf("layer digest not reproducible: %s vs %s", digestOf(a), digestOf(b))
	}
	got := readArchive(t, a)
	tests := []struct {
		name     string
		typeflag byte
		link     string
		size     int64
	}{
		{"bin/", tar.TypeDir, "", 0},
		{"bin/busybox", tar.TypeReg, "", 3},
		{"bin/sh", tar.TypeSymlink, "busybox", 0},
	}
	for _, tt := range tests {
		h, ok := got[tt.name]
		if !ok {
			t.Errorf("entry %q missing; have %v", tt.name, got)
			continue
		}
		if h.Typeflag != tt.typeflag || h.Linkname != tt.link || h.Size != tt.size {
			t.Errorf("entry %q: type %c link %q size %d, want %c %q %d", tt.name, h.Typeflag, h.Linkname, h.Size, tt.typeflag, tt.link, tt.size)
		}
	}
	// Parents come before children, or extraction of a strict unpacker fails.
	tr := tar.NewReader(bytes.NewReader(a))
	first, err := tr.Next()
	if err != nil || first.Name != "bin/" {
		t.Errorf("first entry %v (err %v), want bin/", first, err)
	}
}

func TestWriteOCIArchive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img.tar")
	spec := imageSpec{
		Ref:        "spdoc.local/test:7",
		Entrypoint: []string{"/pause"},
		Files:      append(baseFiles(), layerFile{Name: "pause", Mode: 0o755, Data: []byte("x")}),
	}
	if err := writeOCIArchive(path, spec); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blobs := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		blobs[h.Name] = b
	}
	if string(blobs["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", blobs["oci-layout"])
	}
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Size        int               `json:"size"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(blobs["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json %s: %v", blobs["index.json"], err)
	}
	m := index.Manifests[0]
	if m.Annotations["io.containerd.image.name"] != spec.Ref || m.Annotations["org.opencontainers.image.ref.name"] != "7" {
		t.Errorf("annotations %v, want name %s and ref.name 7", m.Annotations, spec.Ref)
	}
	// Every descriptor must point at a blob with that digest and size.
	blob := func(digest string, size int) []byte {
		t.Helper()
		b, ok := blobs["blobs/sha256/"+strings.TrimPrefix(digest, "sha256:")]
		if !ok {
			t.Fatalf("blob %s missing", digest)
		}
		if digestOf(b) != digest || len(b) != size {
			t.Fatalf("blob %s: digest %s size %d, want size %d", digest, digestOf(b), len(b), size)
		}
		return b
	}
	var manifest struct {
		Config struct {
			Digest string `json:"digest"`
			Size   int    `json:"size"`
		} `json:"config"`
		Layers []struct {
			Digest string `json:"digest"`
			Size   int    `json:"size"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(blob(m.Digest, m.Size), &manifest); err != nil || len(manifest.Layers) != 1 {
		t.Fatalf("manifest: %v (%d layers)", err, len(manifest.Layers))
	}
	var config struct {
		OS     string `json:"os"`
		Config struct {
			Entrypoint []string `json:"Entrypoint"`
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(blob(manifest.Config.Digest, manifest.Config.Size), &config); err != nil {
		t.Fatal(err)
	}
	blob(manifest.Layers[0].Digest, manifest.Layers[0].Size)
	if config.OS != "linux" || len(config.Config.Entrypoint) != 1 || config.Config.Entrypoint[0] != "/pause" {
		t.Errorf("config %+v", config)
	}
	if len(config.RootFS.DiffIDs) != 1 || config.RootFS.DiffIDs[0] != manifest.Layers[0].Digest {
		t.Errorf("diff_ids %v, want the uncompressed layer digest %s", config.RootFS.DiffIDs, manifest.Layers[0].Digest)
	}
}

func TestBusyboxSpecLinksApplets(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Fatalf("needs busybox-static (hack/setup-node.sh): %v", err)
	}
	spec, err := busyboxSpec("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, f := range spec.Files {
		if f.Linkname != "" {
			links[f.Name] = f.Linkname
		}
	}
	for _, applet := range []string{"sh", "sleep", "echo", "cat"} {
		if links["bin/"+applet] != "busybox" {
			t.Errorf("bin/%s -> %q, want busybox", applet, links["bin/"+applet])
		}
	}
	if spec.Ref != BusyboxImage {
		t.Errorf("ref %s, want %s", spec.Ref, BusyboxImage)
	}
}

func TestBusyboxSpecMissingBinary(t *testing.T) {
	_, err := busyboxSpec(filepath.Join(t.TempDir(), "busybox"))
	if err == nil || !strings.Contains(err.Error(), "busybox-static") {
		t.Errorf("err = %v, want one naming the busybox-static package", err)
	}
}
