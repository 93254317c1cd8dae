package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/canary"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/redact"
)

// The canary node is shared with the CLI's and the agent API's corpus tests.
var (
	fixedNow = canary.Now
	canaries = canary.Secrets
)

const (
	nodeName = canary.NodeName
	webUID   = canary.WebUID
)

func c(k string) string           { return canary.Get(k) }
func layNode(t *testing.T) string { return canary.LayNode(t) }

func localClient(root string) node.Client {
	return node.NewLocal(node.LocalOptions{Root: root, NodeName: nodeName})
}

func testOptions(root string) Options {
	return Options{Now: func() time.Time { return fixedNow }, Version: "test", AgentConfig: "/etc/spdoc/pods.yaml", Since: 1000 * time.Hour}
}

// readBundle returns every entry of a bundle: files by name (symlinks as "-> target").
func readBundle(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(entryTime) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: header not fixed: %v uid=%d gid=%d uname=%q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[h.Name] = b
		case tar.TypeSymlink:
			out[h.Name] = []byte("-> " + h.Linkname)
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("entries not sorted: %v", names)
	}
	return out
}

func TestCanary(t *testing.T) {
	root := layNode(t)
	out := filepath.Join(t.TempDir(), "bundle.tar.gz")
	res, err := Write(context.Background(), out, localClient(root), testOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	files := readBundle(t, out)

	// The canaries are really in the sources (else the test proves nothing)…
	var planted bytes.Buffer
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			planted.Write(b)
		}
		return nil
	})
	// …and none survives anywhere: not in a file, a name, a link, or the raw tar stream.
	gz, _ := gzip.NewReader(bytes.NewReader(raw))
	stream, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range canaries {
		if !bytes.Contains(planted.Bytes(), []byte(v)) {
			t.Errorf("canary %s was not planted", k)
		}
		if bytes.Contains(stream, []byte(v)) {
			for name, b := range files {
				if bytes.Contains(b, []byte(v)) || strings.Contains(name, v) {
					t.Errorf("canary %s (%q) survived in %s", k, v, name)
				}
			}
			t.Errorf("canary %s survived in the tar stream", k)
		}
	}

	for _, want := range []string{"report.txt", "report.md", "report.json", "etc/kubernetes/manifests/web.yaml",
		"etc/kubernetes/manifests/invalid.yaml", "etc/spdoc/pods.yaml", "var/log/kubelet.log", node.RuntimeFile,
		"var/log/pods/default_web-node1_" + webUID + "/app/0.log", "var/log/pods/default_web-node1_" + webUID + "/app/1.log",
		"var/log/containers/web-node1_default_app-" + strings.Repeat("ab", 32) + ".log",
		NodePath, VersionsPath, ErrorsPath, RedactionsPath, ManifestPath} {
		if _, ok := files[want]; !ok {
			t.Errorf("bundle lacks %s", want)
		}
	}
	if !bytes.Contains(files["report.txt"], []byte("invalid")) {
		t.Errorf("report.txt does not mention the invalid pod:\n%s", files["report.txt"])
	}
	if !bytes.Contains(files["etc/kubernetes/manifests/web.yaml"], []byte("[REDACTED-")) {
		t.Errorf("manifest has no token:\n%s", files["etc/kubernetes/manifests/web.yaml"])
	}

	var red redactionsFile
	if err := json.Unmarshal(files[RedactionsPath], &red); err != nil {
		t.Fatal(err)
	}
	where := map[string]int{}
	for _, r := range red.Counts {
		where[r.Where] += r.Count
	}
	for _, w := range []string{"etc/kubernetes/manifests/web.yaml", "var/log/kubelet.log", "etc/spdoc/pods.yaml", node.RuntimeFile,
		"var/log/pods/default_web-node1_" + webUID + "/app/0.log"} {
		if where[w] == 0 {
			t.Errorf("redactions.json has no count for %s: %+v", w, red.Counts)
		}
	}
	if !red.Enabled || res.Redactions == 0 {
		t.Errorf("redactions: enabled=%v total=%d", red.Enabled, res.Redactions)
	}

	// manifest.json lists every other file with its true size and sha256.
	var mf manifestFile
	if err := json.Unmarshal(files[ManifestPath], &mf); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, e := range mf.Files {
		listed[e.Path] = true
		sum := sha256.Sum256(files[e.Path])
		if hex.EncodeToString(sum[:]) != e.SHA256 || int64(len(files[e.Path])) != e.Size {
			t.Errorf("manifest.json entry %s does not match the file", e.Path)
		}
	}
	for name, b := range files {
		if name != ManifestPath && !bytes.HasPrefix(b, []byte("-> ")) && !listed[name] {
			t.Errorf("manifest.json does not list %s", name)
		}
	}
	if res.Files != len(mf.Files)+1 {
		t.Errorf("Result.Files = %d, manifest lists %d (+1 itself)", res.Files, len(mf.Files))
	}
}

func TestErrorsJSONEmpty(t *testing.T) {
	root := layNode(t)
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	res, err := Write(context.Background(), out, localClient(root), testOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(readBundle(t, out)[ErrorsPath])); got != "[]" || len(res.Errors) != 0 {
		t.Errorf("errors.json of a healthy collection = %s (Result.Errors %v), want []", got, res.Errors)
	}
}

func TestNoRedact(t *testing.T) {
	root := layNode(t)
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	opts := testOptions(root)
	opts.Redact.Disabled = true
	if _, err := Write(context.Background(), out, localClient(root), opts); err != nil {
		t.Fatal(err)
	}
	files := readBundle(t, out)
	if !bytes.Contains(files["etc/kubernetes/manifests/web.yaml"], []byte(c("envSecret"))) {
		t.Errorf("--no-redact still redacted the manifest")
	}
	var red redactionsFile
	if err := json.Unmarshal(files[RedactionsPath], &red); err != nil || red.Enabled {
		t.Errorf("redactions.json with --no-redact: %s (%v)", files[RedactionsPath], err)
	}
}

func TestExtraPattern(t *testing.T) {
	root := layNode(t)
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	opts := testOptions(root)
	opts.Redact.Extra = []*regexp.Regexp{regexp.MustCompile(`busybox:[0-9.]+`)}
	if _, err := Write(context.Background(), out, localClient(root), opts); err != nil {
		t.Fatal(err)
	}
	for name, b := range readBundle(t, out) {
		if bytes.Contains(b, []byte("busybox:1.36")) {
			t.Errorf("--redact-pattern match survived in %s", name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	root := layNode(t)
	dir := t.TempDir()
	var sums []string
	for i := 0; i < 2; i++ {
		out := filepath.Join(dir, fmt.Sprintf("b%d.tar.gz", i))
		res, err := Write(context.Background(), out, localClient(root), testOptions(root))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, res.SHA256)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "b0.tar.gz"))
	b, _ := os.ReadFile(filepath.Join(dir, "b1.tar.gz"))
	if !bytes.Equal(a, b) || sums[0] != sums[1] {
		t.Fatalf("same node state gave different bundles (%s vs %s)", sums[0], sums[1])
	}
	// A different secret changes the bundle (and so the derived key and every token).
	p := filepath.Join(root, "etc/kubernetes/manifests/web.yaml")
	data, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.ReplaceAll(data, []byte(c("envSecret")), []byte("other-secret-value")), 0o644)
	res, err := Write(context.Background(), filepath.Join(dir, "b2.tar.gz"), localClient(root), testOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 == sums[0] {
		t.Errorf("a changed secret gave the same bundle")
	}
}

// kinds returns "<scope>: sorted finding kinds" for every pod and file of a report.
func kinds(r *diagnose.Report) map[string]string {
	out := map[string]string{}
	add := func(scope string, fs []diagnose.Finding) {
		var ks []string
		for _, f := range fs {
			k := string(f.Kind)
			if f.History {
				k += "(history)"
			}
			ks = append(ks, k)
		}
		sort.Strings(ks)
		out[scope] = strings.Join(ks, ",")
	}
	for _, p := range r.Pods {
		add("pod "+p.ID+" "+string(p.State), p.Findings)
	}
	for _, f := range r.Files {
		add("file "+filepath.Base(f.Path), f.Findings)
	}
	return out
}

// readBack unpacks a bundle and snapshots it as --root does; it returns the unpacked dir too.
func readBack(t *testing.T, bundlePath string) (*node.Snapshot, string) {
	t.Helper()
	unpacked := filepath.Join(t.TempDir(), "node")
	if err := Extract(context.Background(), bundlePath, unpacked); err != nil {
		t.Fatal(err)
	}
	back, err := node.NewLocal(node.LocalOptions{Root: unpacked}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return back, unpacked
}

// titles lists every finding title of a report (the node root removed), sorted.
func titles(r *diagnose.Report, root string) []string {
	var out []string
	add := func(fs []diagnose.Finding) {
		for _, f := range fs {
			out = append(out, strings.ReplaceAll(string(f.Kind)+": "+f.Title, root, "<root>"))
		}
	}
	for _, p := range r.Pods {
		add(p.Findings)
	}
	for _, f := range r.Files {
		add(f.Findings)
	}
	sort.Strings(out)
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct{ name, root string }{
		{"planted", ""},
		{"captured-json", "../../testdata/nodes/broken"},
		{"captured-klog", "../../testdata/nodes/broken-text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.root
			if root == "" {
				root = layNode(t)
			}
			if _, err := os.Stat(root); err != nil {
				t.Fatalf("test node %s: %v", root, err)
			}
			orig, err := node.NewLocal(node.LocalOptions{Root: root}).Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := diagnose.Analyze(orig, diagnose.Options{})

			out := filepath.Join(t.TempDir(), "b.tar.gz")
			opts := testOptions(root)
			opts.Now = time.Now
			if _, err := Write(context.Background(), out, node.NewLocal(node.LocalOptions{Root: root}), opts); err != nil {
				t.Fatal(err)
			}
			back, _ := readBack(t, out)
			got := diagnose.Analyze(back, diagnose.Options{})
			if back.Node.Name != orig.Node.Name {
				t.Errorf("node name %q → %q", orig.Node.Name, back.Node.Name)
			}
			// Titles carry the manifest line numbers of validation and parse errors: the
			// redacted copies must keep them.
			wt, gt := titles(want, root), titles(got, back.Paths.Root)
			if strings.Join(wt, "\n") != strings.Join(gt, "\n") {
				t.Errorf("finding titles differ after the round trip:\n%s\n---\n%s", strings.Join(wt, "\n"), strings.Join(gt, "\n"))
			}
			wk, gk := kinds(want), kinds(got)
			if len(wk) == 0 {
				t.Fatalf("original report has no pods or files")
			}
			for scope, k := range wk {
				if gk[scope] != k {
					t.Errorf("%s: findings %q, after the round trip %q", scope, k, gk[scope])
				}
			}
			for scope := range gk {
				if _, ok := wk[scope]; !ok {
					t.Errorf("%s appears only after the round trip: %q", scope, gk[scope])
				}
			}
		})
	}
}

// failingLog is a node whose kubelet log cannot be read.
type failingLog struct{ node.Client }

func (failingLog) KubeletLog(context.Context, node.KubeletLogRequest, func(kubeletlog.Record) error) error {
	return errors.New("open /var/log/kubelet.log: permission denied")
}

// stuckLogs never answers container log requests until its context ends... and then not either.
type stuckLogs struct {
	node.Client
	release chan struct{}
}

func (s stuckLogs) ContainerLog(ctx context.Context, _ node.LogRequest, _ func(podlog.Line) error) error {
	<-s.release
	return nil
}

func TestFailingSource(t *testing.T) {
	root := layNode(t)
	// The kubelet log as a directory: unreadable for real, not just in a fake.
	badRoot := layNode(t)
	os.Remove(filepath.Join(badRoot, "var/log/kubelet.log"))
	os.MkdirAll(filepath.Join(badRoot, "var/log/kubelet.log"), 0o755)

	release := make(chan struct{})
	defer close(release)
	snap, err := localClient(root).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		client node.Client
		opts   func(*Options)
		source string
	}{
		{"kubelet log fails", failingLog{localClient(root)}, nil, "kubelet-log"},
		{"kubelet log is a dir", localClient(badRoot), nil, "kubelet-log"},
		// The snapshot is taken beforehand so only the hanging logs meet the timeouts, which are
		// generous enough for a loaded CI machine to read the small files in time.
		{"container logs hang", stuckLogs{localClient(root), release}, func(o *Options) {
			o.Snapshot, o.SourceTimeout = snap, 500*time.Millisecond
		}, "container-log default/web-node1/app"},
		{"whole collection too slow", stuckLogs{localClient(root), release}, func(o *Options) {
			o.Snapshot, o.SourceTimeout, o.TotalTimeout = snap, time.Hour, 2*time.Second
		}, "container-log default/web-node1/app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(root)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			out := filepath.Join(t.TempDir(), "b.tar.gz")
			res, err := Write(context.Background(), out, tc.client, opts)
			if err != nil {
				t.Fatalf("a failing source failed the bundle: %v", err)
			}
			files := readBundle(t, out)
			var errs []SourceError
			if err := json.Unmarshal(files[ErrorsPath], &errs); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range errs {
				found = found || strings.HasPrefix(e.Source, tc.source) && e.Error != ""
			}
			if !found {
				t.Errorf("errors.json does not record %q: %+v", tc.source, errs)
			}
			if len(res.Errors) != len(errs) {
				t.Errorf("Result.Errors %d, errors.json %d", len(res.Errors), len(errs))
			}
			for _, want := range []string{"report.json", "etc/kubernetes/manifests/web.yaml", node.RuntimeFile} {
				if _, ok := files[want]; !ok {
					t.Errorf("the rest was not collected: no %s", want)
				}
			}
		})
	}
}

// cancelling cancels the bundle's context while a source is being read.
type cancelling struct {
	node.Client
	cancel context.CancelFunc
}

func (c cancelling) KubeletLog(ctx context.Context, req node.KubeletLogRequest, fn func(kubeletlog.Record) error) error {
	c.cancel()
	<-ctx.Done()
	return ctx.Err()
}

func TestNoPartialBundle(t *testing.T) {
	root := layNode(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "b.tar.gz")
	if err := os.WriteFile(out, []byte("previous bundle"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := Write(ctx, out, cancelling{localClient(root), cancel}, testOptions(root)); err == nil {
		t.Fatal("Write succeeded with its context cancelled")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("leftovers after a failed Write: %v", ents)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous bundle" {
		t.Errorf("a failed Write replaced the existing file")
	}

	// Unwritable target: an error naming the path, nothing created.
	_, err := Write(context.Background(), filepath.Join(dir, "missing", "b.tar.gz"), localClient(root), testOptions(root))
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Write into a missing dir: %v", err)
	}

	// A failure while writing (the target is a directory): the temp file is removed.
	target := filepath.Join(dir, "isdir")
	os.Mkdir(target, 0o755)
	if _, err := Write(context.Background(), target, localClient(root), testOptions(root)); err == nil {
		t.Errorf("Write over a directory succeeded")
	}
	ents, _ = os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

func TestWriteKeepsRedactKey(t *testing.T) {
	root := layNode(t)
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	opts := testOptions(root)
	opts.Redact = redact.Options{Key: []byte("fixed")}
	if _, err := Write(context.Background(), out, localClient(root), opts); err != nil {
		t.Fatal(err)
	}
	want := redact.New(redact.Options{Key: []byte("fixed")}).Token(c("envPassword"))
	if !bytes.Contains(readBundle(t, out)["etc/kubernetes/manifests/web.yaml"], []byte(want)) {
		t.Errorf("an explicit key was not used: want token %s", want)
	}
}

// snapshotFails is a node that cannot be read at all.
type snapshotFails struct {
	node.Client
	err error
}

func (s snapshotFails) Snapshot(context.Context) (*node.Snapshot, error) { return nil, s.err }

func TestNothingReadable(t *testing.T) {
	root := layNode(t)
	for _, tc := range []struct {
		name   string
		client node.Client
		want   string
	}{
		{"snapshot error", snapshotFails{localClient(root), errors.New("agent unreachable")}, "agent unreachable"},
		{"nil snapshot", snapshotFails{localClient(root), nil}, "no snapshot"},
		{"no client", nil, "no node client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Write(context.Background(), filepath.Join(dir, "b.tar.gz"), tc.client, testOptions(root))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write: %v, want an error with %q", err, tc.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("files left: %v", ents)
			}
		})
	}
}
