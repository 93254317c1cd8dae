package tui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/staticpod"
	"github.com/spdoc/spdoc/tui/fakeclient"
	corev1 "k8s.io/api/core/v1"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

var (
	t0       = time.Date(2026, 11, 24, 21, 55, 4, 0, time.UTC)
	manifest = "/etc/kubernetes/manifests/"
)

func i32(v int32) *int32 { return &v }

func podSpec(ns, name string, containers ...string) *staticpod.StaticPod {
	p := &corev1.Pod{}
	p.Namespace, p.Name = ns, name
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "busybox"})
	}
	return &staticpod.StaticPod{ID: staticpod.ID(ns, name), Namespace: ns, Name: name, Source: manifest + name + ".yaml", Pod: p}
}

func fixtureSnapshot() *node.Snapshot {
	return &node.Snapshot{Taken: t0, Node: node.NodeInfo{Name: "node1"}, Manifests: &staticpod.DirScan{
		Dir: manifest, Exists: true, Files: []*staticpod.File{
			{Path: manifest + "web.yaml", Name: "web.yaml", Pods: []*staticpod.StaticPod{podSpec("default", "web", "web")}},
			{Path: manifest + "etcd.yaml", Name: "etcd.yaml", Pods: []*staticpod.StaticPod{podSpec("kube-system", "etcd", "etcd", "sidecar")}},
		}}}
}

func fixtureReport() *diagnose.Report {
	crash := diagnose.Finding{
		Kind: diagnose.KindCrashLoop, Severity: diagnose.SeverityError, Pod: "kube-system-etcd", Container: "etcd",
		Title:  "Container etcd keeps crashing (exit code 1)",
		Detail: "The container exited with code 1 five times; the kubelet is backing off before restarting it.",
		Hint:   "read the failed instance: spdoc logs kube-system/etcd --previous",
		Evidence: []diagnose.Evidence{
			{Source: "kubelet-log:/var/log/kubelet.log:120", TS: t0, Line: `"Error syncing pod, skipping" err="back-off 40s restarting failed container=etcd"`, Count: 4},
			{Source: "pod-log:/var/log/pods/x/etcd/4.log", TS: t0, Line: "stderr: open /var/lib/etcd: permission denied", Count: 1},
		},
		ExitCode: i32(1),
	}
	invalid := diagnose.Finding{
		Kind: diagnose.KindManifestInvalid, Severity: diagnose.SeverityError, Pod: "default-broken", File: manifest + "broken.yaml",
		Title:    "Manifest rejected by the kubelet: spec.containers: Required value",
		Detail:   "The kubelet could not process the manifest and does not run the pod.",
		Hint:     "add at least one container, then check with spdoc validate " + manifest + "broken.yaml",
		Evidence: []diagnose.Evidence{{Source: "kubelet-log:/var/log/kubelet.log:7", TS: t0, Line: `"Could not process manifest file" err="invalid pod: [spec.containers: Required value]"`, Count: 12}},
	}
	unparse := diagnose.Finding{
		Kind: diagnose.KindManifestUnparseable, Severity: diagnose.SeverityError, File: manifest + "bad.yaml",
		Title: "Manifest does not parse: line 4: mapping values are not allowed", Hint: "fix the YAML at line 4",
	}
	return &diagnose.Report{
		Taken: t0,
		Node:  diagnose.NodeReport{Name: "node1", ManifestDir: manifest, Runtime: "containerd 1.6.20", KubeletLog: "/var/log/kubelet.log"},
		Pods: []diagnose.PodReport{
			{ID: "default-web", Namespace: "default", Name: "web", KubeletName: "web-node1", Manifest: manifest + "web.yaml", State: "Running",
				Containers: []diagnose.ContainerReport{{Name: "web", State: "running", Ready: true}}},
			{ID: "kube-system-etcd", Namespace: "kube-system", Name: "etcd", KubeletName: "etcd-node1", Manifest: manifest + "etcd.yaml",
				State: "CrashLoop", Restarts: 5, Findings: []diagnose.Finding{crash},
				Containers: []diagnose.ContainerReport{{Name: "etcd", State: "exited", RestartCount: 5, ExitCode: i32(1), Reason: "Error"},
					{Name: "sidecar", State: "running", Ready: true}}},
			{ID: "default-broken", Namespace: "default", Name: "broken", Manifest: manifest + "broken.yaml", State: "Invalid",
				Findings: []diagnose.Finding{invalid}},
		},
		Files:   []diagnose.FileReport{{Path: manifest + "bad.yaml", Findings: []diagnose.Finding{unparse}}},
		Summary: diagnose.Summary{Pods: 3, Healthy: 1, Errors: 3},
	}
}

// renderFake stands in for diagnose.Render: a deterministic listing of the report.
func renderFake(w io.Writer, r *diagnose.Report, format string) error {
	var b bytes.Buffer
	if format == "markdown" {
		fmt.Fprintf(&b, "# spdoc report: node %s\n\n", r.Node.Name)
	} else {
		fmt.Fprintf(&b, "node %s (%s)\n\n", r.Node.Name, r.Node.Runtime)
	}
	for _, p := range r.Pods {
		fmt.Fprintf(&b, "%s  %s  restarts %d\n", p.ID, p.State, p.Restarts)
		for _, f := range p.Findings {
			fmt.Fprintf(&b, "  %s %s: %s\n    → %s\n", f.Severity, f.Kind, f.Title, f.Hint)
		}
	}
	for _, f := range r.Files {
		for _, fd := range f.Findings {
			fmt.Fprintf(&b, "%s  %s: %s\n", f.Path, fd.Kind, fd.Title)
		}
	}
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&b, "filler line %d of the report\n", i)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func fixtureClient() *fakeclient.Client {
	c := fakeclient.New(fixtureSnapshot())
	for i := 0; i < 5; i++ {
		c.AddContainerLines("default", "web", "web", podlog.Line{TS: t0.Add(time.Duration(i) * time.Second), Stream: "stdout",
			Msg: fmt.Sprintf("GET /healthz 200 request %d", i)})
	}
	c.AddContainerLines("default", "web", "web", podlog.Line{TS: t0.Add(5 * time.Second), Stream: "stderr", Msg: "warning: slow request 1.2s"})
	c.AddKubeletRecords("default", "web", kubeletlog.Record{TS: t0.Add(1500 * time.Millisecond), Level: "I", Msg: "SyncLoop ADD", Fields: map[string]string{}},
		kubeletlog.Record{TS: t0.Add(2500 * time.Millisecond), Level: "E", Msg: "Probe failed", ContainerName: "web", Err: "HTTP probe failed with statuscode: 500"})
	c.AddContainerLines("kube-system", "etcd", "etcd", podlog.Line{TS: t0, Stream: "stdout", Msg: "etcdmain: starting"},
		podlog.Line{TS: t0, Stream: "stderr", Msg: "etcdmain: open /var/lib/etcd/member: permission denied"})
	c.AddContainerLines("kube-system", "etcd", "sidecar", podlog.Line{TS: t0, Stream: "stdout", Msg: "sidecar up"})
	return c
}

type fakeStore struct {
	files  map[string][]byte
	writes int
}

func (f *fakeStore) Read(_ context.Context, path string) ([]byte, error) {
	d, ok := f.files[path]
	if !ok {
		return nil, fmt.Errorf("open %s: no such file", path)
	}
	return d, nil
}

func (f *fakeStore) Write(_ context.Context, path string, data []byte) error {
	f.files[path] = data
	f.writes++
	return nil
}

// decodeFake stands in for staticpod.DecodeFile: "containers:" missing is an error, a line
// "bad: [" a parse error.
func decodeFake(path string, data []byte) *staticpod.File {
	f := &staticpod.File{Path: path}
	s := string(data)
	if i := strings.Index(s, "bad: ["); i >= 0 {
		f.Parse = &staticpod.ParseError{Line: strings.Count(s[:i], "\n") + 1, Msg: "did not find expected node content"}
		return f
	}
	p := &staticpod.StaticPod{ID: "default-web", Namespace: "default", Name: "web"}
	if !strings.Contains(s, "containers:") {
		p.Issues = append(p.Issues, staticpod.Issue{Field: "spec.containers", Type: "Required value", Severity: staticpod.SeverityError, Line: 3})
	}
	f.Pods = []*staticpod.StaticPod{p}
	return f
}

func testEnv(t *testing.T, c node.Client) Env {
	t.Helper()
	return Env{
		Client:  c,
		Analyze: func(*node.Snapshot) *diagnose.Report { return fixtureReport() },
		Render:  renderFake,
		Decode:  decodeFake,
		Dir:     t.TempDir(),
		Now:     func() time.Time { return t0 },
		Refresh: time.Hour, // no ticker-driven refresh during a test: it would make frames differ
		LogTail: 100,
		Manifests: &fakeStore{files: map[string][]byte{
			manifest + "web.yaml": []byte("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: web\n"),
		}},
	}
}

func lipglossWidth(s string) int { return ansi.StringWidth(s) }

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
