package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
)

var updateTalos = flag.Bool("update", false, "rewrite the golden reports of the talosctl bundle fixture")

// talosFixture is a talosctl support bundle built by hack/capture-talos from a real kubelet
// v1.34.4 whose static pods came from its staticPodURL: 10.5.0.2 a control plane, 10.5.0.3 the
// same data as a worker (no staticpodstatuses).
const talosFixture = "../../testdata/talos/support.zip"

type zipEntry struct {
	name string
	data []byte
	mode os.FileMode
	// declared overrides the uncompressed size in the header (0: the real one).
	method uint16
}

func writeZip(t *testing.T, entries []zipEntry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "support.zip")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenTalosRefusesHostileZips(t *testing.T) {
	ok := zipEntry{name: "n1/service-logs/kubelet.log", data: []byte("{}\n")}
	tests := []struct {
		name    string
		entries []zipEntry
		want    error
		text    string
	}{
		{"dot-dot name", []zipEntry{ok, {name: "n1/../../etc/passwd", data: []byte("x")}}, ErrUnsafe, "leaves the bundle"},
		{"absolute name", []zipEntry{ok, {name: "/etc/cron.d/x", data: []byte("x")}}, ErrUnsafe, "leaves the bundle"},
		{"backslash name", []zipEntry{ok, {name: `n1\..\..\x`, data: []byte("x")}}, ErrUnsafe, "backslash"},
		{"symlink", []zipEntry{ok, {name: "n1/service-logs/kubelet2.log", data: []byte("/etc/shadow"), mode: os.ModeSymlink | 0o777}}, ErrUnsafe, "symlink"},
		{"device", []zipEntry{ok, {name: "n1/dev", data: nil, mode: os.ModeDevice | 0o600}}, ErrUnsafe, "not a regular file"},
		{"zip bomb", []zipEntry{ok, {name: "n1/dmesg.log", data: make([]byte, 64<<20)}}, ErrUnsafe, "zip bomb"},
		{"no node folder", []zipEntry{{name: "readme.txt", data: []byte("hi")}}, ErrNotTalosBundle, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := OpenTalos(writeZip(t, tt.entries))
			if err == nil {
				b.Close()
				t.Fatal("opened a hostile bundle")
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.want, tt.text)
			}
		})
	}
}

func TestOpenTalosHugeDeclaredEntry(t *testing.T) {
	// A header that claims more than the per-entry cap is refused before anything is read.
	p := writeZip(t, []zipEntry{{name: "n1/service-logs/kubelet.log", data: []byte("{}\n")}})
	data, _ := os.ReadFile(p)
	// Patch the central directory's uncompressed size (offset 24 in the central header).
	i := bytes.LastIndex(data, []byte("PK\x01\x02"))
	copy(data[i+24:], []byte{0xff, 0xff, 0xff, 0x7f})
	os.WriteFile(p, data, 0o600)
	if b, err := OpenTalos(p); err == nil {
		b.Close()
		t.Fatal("opened a bundle whose entry claims 2 GiB")
	} else if !errors.Is(err, ErrUnsafe) && !strings.Contains(err.Error(), "zip") {
		t.Fatalf("err = %v", err)
	}
}

func TestDetectFormatAge(t *testing.T) {
	dir := t.TempDir()
	for name, head := range map[string]string{
		"support.zip.age": "age-encryption.org/v1\n-> X25519 abc\n",
		"armored.age":     "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(head), 0o600)
		f, err := DetectFormat(p)
		if err != nil || f != FormatAge {
			t.Fatalf("%s: %v %v", name, f, err)
		}
		err = EncryptedError(p)
		if !errors.Is(err, ErrEncrypted) || !strings.Contains(err.Error(), "decrypt it first (age -d -i key.txt -o ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	p := filepath.Join(dir, "garbage")
	os.WriteFile(p, []byte("hello"), 0o600)
	if _, err := DetectFormat(p); err == nil {
		t.Error("garbage detected as a bundle")
	}
}

func TestTalosSnapshotDuplicateNames(t *testing.T) {
	crash := "2026-12-02T00:54:00.000000000Z stderr F boom %s\n"
	pods := "metadata:\n  id: kube-system-a\nspec:\n  apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: kube-system}\n  spec:\n    containers: [{name: app, image: x:1}]\n" +
		"---\nmetadata:\n  id: kube-system-b\nspec:\n  apiVersion: v1\n  kind: Pod\n  metadata: {name: b, namespace: kube-system}\n  spec:\n    containers: [{name: solo, image: x:1}]\n"
	p := writeZip(t, []zipEntry{
		{name: "n1/service-logs/kubelet.log", data: []byte("")},
		{name: "n1/resources/staticpods.kubernetes.talos.dev.yaml", data: []byte(pods)},
		{name: "n1/resources/nodenames.kubernetes.talos.dev.yaml", data: []byte("metadata: {id: nodename}\nspec: {nodename: n1}\n")},
		{name: "n1/kubernetes-logs/kube-system/solo-exited.log", data: []byte(strings.ReplaceAll(crash, "%s", "first"))},
		{name: "n1/kubernetes-logs/kube-system/solo-exited.log", data: []byte(strings.ReplaceAll(crash, "%s", "second"))},
		{name: "n1/kubernetes-logs/kube-system/app.log", data: []byte(strings.ReplaceAll(crash, "%s", "app"))},
		{name: "n1/kubernetes-logs/kube-system/app.log", data: []byte(strings.ReplaceAll(crash, "%s", "app of another pod"))},
	})
	b, err := OpenTalos(p)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tn, err := b.TalosSnapshot(context.Background(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	s := tn.Snapshot
	if s.Node.Name != "n1" || len(s.StaticPods()) != 2 || s.StaticPodURL.Rejected() {
		t.Fatalf("node %q pods %d rejected %v", s.Node.Name, len(s.StaticPods()), s.StaticPodURL.Rejected())
	}
	limits := strings.Join(tn.Limits, "\n")
	for _, want := range []string{"2 exited instances share this name", `container name "app": 2 log entries`, "only on control-plane nodes"} {
		if !strings.Contains(limits, want) {
			t.Errorf("limits do not say %q:\n%s", want, limits)
		}
	}
	if len(s.LogTails) != 1 || s.LogTails[0].Container != "solo" || s.LogTails[0].Current[0].Msg != "boom second" {
		t.Errorf("log tails %+v: want only solo, from its last exited entry", s.LogTails)
	}
}

func TestTalosFixtureGolden(t *testing.T) {
	b, err := OpenTalos(talosFixture)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := strings.Join(b.Nodes, ","); got != "10.5.0.2,10.5.0.3" {
		t.Fatalf("nodes %s", got)
	}
	for _, tc := range []struct{ dir, golden string }{{"10.5.0.2", "talos-controlplane"}, {"10.5.0.3", "talos-worker"}} {
		tn, err := b.TalosSnapshot(context.Background(), tc.dir)
		if err != nil {
			t.Fatal(err)
		}
		s := tn.Snapshot
		if s.Node.Name != "talos-cp-1" || s.StaticPodURL == nil || s.StaticPodURL.List.BlockingPod() == nil || s.StaticPodURL.List.BlockingPod().ID != "kube-system-bad" {
			t.Fatalf("%s: node %q, blocking %+v", tc.dir, s.Node.Name, s.StaticPodURL)
		}
		rep := diagnose.Analyze(s, diagnose.Options{})
		if f, ok := tn.LimitsFinding(); ok { // as spdoc diagnose --bundle-in adds it
			rep.Node.Findings = append(rep.Node.Findings, f)
		}
		var rejected *diagnose.Finding
		for i, f := range rep.Node.Findings {
			if f.Kind == diagnose.KindStaticPodListRejected {
				rejected = &rep.Node.Findings[i]
			}
		}
		if rejected == nil || !strings.Contains(rejected.Title, "item 1 (kube-system/bad)") {
			t.Fatalf("%s: no StaticPodListRejected naming the item: %+v", tc.dir, rep.Node.Findings)
		}
		var crash bool
		for _, p := range rep.Pods {
			for _, f := range p.Findings {
				if p.Name == "crashloop" && f.Kind == diagnose.KindCrashLoop {
					crash = true
				}
				if p.Name == "crashloop" && tc.dir == "10.5.0.2" && !strings.Contains(p.StatusSource, "Talos StaticPodStatus") {
					t.Errorf("the control plane's status source is %q, not Talos's StaticPodStatus", p.StatusSource)
				}
			}
		}
		if !crash {
			t.Errorf("%s: the crash loop of kube-system/crashloop is not found", tc.dir)
		}
		if strings.Contains(mustJSON(t, rep), "capture-secret-token") {
			t.Errorf("%s: the staticPodURL header value leaked into the report", tc.dir)
		}
		for _, format := range []string{"text", "markdown", "json"} {
			var buf bytes.Buffer
			if err := diagnose.Render(&buf, rep, format, diagnose.RenderOptions{Width: 100}); err != nil {
				t.Fatal(err)
			}
			ext := map[string]string{"text": "txt", "markdown": "md", "json": "json"}[format]
			golden := filepath.Join("..", "..", "testdata", "golden", tc.golden+"."+ext)
			if *updateTalos {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden (go test ./diagnose/bundle -run TestTalosFixtureGolden -update): %v", err)
			}
			if buf.String() != string(want) {
				t.Errorf("%s %s differs from %s (run with -update after an intended change)", tc.dir, format, golden)
			}
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
