package diagnose

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/redact"
	"github.com/spdoc/spdoc/internal/staticpod"
)

func renderAll(t testing.TB, r *Report) map[string]string {
	out := map[string]string{}
	for _, format := range Formats {
		var buf bytes.Buffer
		if err := Render(&buf, r, format, RenderOptions{Width: 80}); err != nil {
			t.Fatalf("Render %s: %v", format, err)
		}
		out[format] = buf.String()
	}
	return out
}

// TestAnalyzeGarbage feeds a copied node full of bad input through the real node client:
// Analyze and every renderer must still produce a report, with the problems as findings.
func TestAnalyzeGarbage(t *testing.T) {
	root := t.TempDir()
	mdir := filepath.Join(root, "etc/kubernetes/manifests")
	logs := filepath.Join(root, "var/log")
	for _, d := range []string{mdir, filepath.Join(logs, "pods/default_x-node1_0123456789abcdef0123456789abcdef/c"), filepath.Join(logs, "containers")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(mdir, "empty.yaml"), nil)
	write(filepath.Join(mdir, "binary.yaml"), []byte("\x00\x01\x02\xff\xfe garbage \x89PNG"))
	write(filepath.Join(mdir, "list.yaml"), []byte("apiVersion: v1\nkind: PodList\nitems: [{}]\n"))
	if err := os.Symlink("loop-b.yaml", filepath.Join(mdir, "loop-a.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop-a.yaml", filepath.Join(mdir, "loop-b.yaml")); err != nil {
		t.Fatal(err)
	}
	var klog bytes.Buffer
	klog.Write([]byte("\x00\x00\x7fELF\x02\x01\x01 binary junk\n"))
	klog.WriteString(`{"ts":1764021300000,"msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/empty.yaml","err":"truncat` + "\n")
	klog.WriteString(`{"ts":"not a number","msg":"Probe failed","pod":{"name":123}}` + "\n")
	klog.WriteString("E1124 21:55:04.100165 1234 file.go:187] \"Could not process manifest file\" path=\"/etc/kubernetes/manifests/binary.yaml\" err=\"\xff\xfe invalid utf-8\"\n")
	klog.WriteString(`{"ts":1764021301000,"msg":"Error syncing pod, skipping","err":"` + strings.Repeat("CrashLoopBackOff x_y(", 300000) + `"}` + "\n")
	klog.WriteString(`{"ts":1764021302000,"msg":"SyncLoop REMOVE","source":"file","pods":[{"name":"","namespace":""},{"name":"-node1"}]}` + "\n")
	write(filepath.Join(logs, "kubelet.log"), klog.Bytes())
	write(filepath.Join(logs, "pods/default_x-node1_0123456789abcdef0123456789abcdef/c/0.log"), []byte("not a cri line\n\x00\x01\n2025-11-24T21:55:00Z stderr P part"))

	c := node.NewLocal(node.LocalOptions{Root: root, NodeName: "node1", NoRuntime: true})
	defer c.Close()
	snap, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatalf("Snapshot of a garbage node: %v", err)
	}
	r := Analyze(snap, Options{})
	out := renderAll(t, r)
	kinds := map[string]bool{}
	for _, f := range r.Files {
		for _, fd := range f.Findings {
			kinds[filepath.Base(f.Path)+":"+string(fd.Kind)] = true
		}
	}
	for _, want := range []string{"empty.yaml:ManifestUnparseable", "binary.yaml:ManifestUnparseable", "loop-a.yaml:FileUnreadable"} {
		if !kinds[want] {
			t.Errorf("missing finding %s; got %v", want, kinds)
		}
	}
	if !strings.Contains(out["text"], "loop-a.yaml") {
		t.Errorf("text report does not mention the symlink loop:\n%s", out["text"])
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(out["json"]), &back); err != nil {
		t.Errorf("JSON output does not parse: %v", err)
	}
}

// TestAnalyzeOddSnapshots: nil and half-filled snapshots never panic.
func TestAnalyzeOddSnapshots(t *testing.T) {
	snaps := []*node.Snapshot{
		nil,
		{},
		{Manifests: &staticpod.DirScan{Files: []*staticpod.File{nil, {Path: "/x", Pods: []*staticpod.StaticPod{nil, {ID: "default-a", Name: "a"}}}}}},
		{Runtime: &node.RuntimeState{Reachable: true}, KubeletLog: &node.KubeletLogState{Records: []kubeletlog.Record{{}, {Msg: "Probe failed"}, {Msg: "SyncLoop REMOVE", Fields: map[string]string{"source": "file", "pods": "[/]"}}}}},
		{Node: node.NodeInfo{Name: "n"}, LogTails: []node.ContainerLogTail{{Pod: "no-slash"}}, ContainerIDs: map[string]string{"abc": ""}},
	}
	for i, s := range snaps {
		r := Analyze(s, Options{})
		if r == nil {
			t.Fatalf("snapshot %d: nil report", i)
		}
		renderAll(t, r)
	}
}

func TestRenderJSONContract(t *testing.T) {
	r := Analyze(&node.Snapshot{Manifests: &staticpod.DirScan{Dir: "/m", Exists: true}, KubeletLog: &node.KubeletLogState{Stats: kubeletlog.Stats{Parsed: 1}}}, Options{})
	var buf bytes.Buffer
	if err := Render(&buf, r, "json", RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"pods": []`, `"files": []`, `"findings": []`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("JSON lacks %s (empty lists must be [] not null):\n%s", want, buf.String())
		}
	}
	r = Analyze(&node.Snapshot{}, Options{})
	buf.Reset()
	if err := Render(&buf, r, "json", RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Node struct {
			Name     string
			Findings []map[string]any
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range doc.Node.Findings {
		for _, k := range []string{"kind", "severity", "title", "detail", "hint", "evidence"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding lacks %q: %v", k, f)
			}
		}
	}
	if err := Render(&buf, r, "yaml", RenderOptions{}); err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("unknown format: err = %v, want one naming it", err)
	}
}

func TestRenderTextColor(t *testing.T) {
	r := Analyze(&node.Snapshot{}, Options{})
	var plain, color bytes.Buffer
	if err := Render(&plain, r, "text", RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Render(&color, r, "text", RenderOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("uncoloured output has ANSI escapes")
	}
	if !strings.Contains(color.String(), "\x1b[") {
		t.Errorf("coloured output has no ANSI escapes")
	}
}

// TestSecretsNeverRendered plants secrets where a report can pick them up (container log tails,
// kubelet error text, probe output) and checks that none survives redaction in any format.
func TestSecretsNeverRendered(t *testing.T) {
	secrets := []string{"hunter2-canary", "tok-canary-77", "abcdef0123456789canary", "MIIEcanaryPEMbody", "pw-canary-9"}
	f := newFixture(t).manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
		container(uidWeb, "app", cidWeb, "CONTAINER_EXITED", 3, 1, "Error", 100).
		tail("default", "web-node1", uidWeb, "app", 3, []string{
			"stderr DB_PASSWORD=hunter2-canary",
			"stderr Authorization: Bearer abcdef0123456789canary",
			"stderr -----BEGIN RSA PRIVATE KEY----- MIIEcanaryPEMbody -----END RSA PRIVATE KEY-----",
		}, nil).
		log(101, errSync(`"failed to \"StartContainer\" for \"app\" with RunContainerError: \"exec: \\\"/bin/app --password=pw-canary-9 --token=tok-canary-77\\\": stat /bin/app: no such file or directory\""`)).
		log(102, `{"ts":%T,"caller":"prober/prober.go:107","msg":"Probe failed","v":1,"probeType":"Liveness","pod":{"name":"web-node1","namespace":"default"},"podUID":"`+uidWeb+`","containerName":"app","probeResult":"failure","output":"curl: (22) https://user:pw-canary-9@api/ --token tok-canary-77"}`)
	raw := Analyze(f.s, Options{})
	joined := strings.Join(mapValues(renderAll(t, raw)), "\n")
	for _, s := range secrets {
		if !strings.Contains(joined, s) {
			t.Fatalf("test is vacuous: %q does not reach the unredacted report", s)
		}
	}
	r := Analyze(f.s, Options{})
	r.Redact(redact.New(redact.Options{}).String)
	for format, out := range renderAll(t, r) {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains secret %q", format, s)
			}
		}
		// npd is one line about the first root cause: it need not carry a secret-bearing text at all.
		if format != "npd" && !strings.Contains(out, "[REDACTED") {
			t.Errorf("%s output shows no [REDACTED marker", format)
		}
	}
}

func errSync(err string) string {
	return `{"ts":%T,"caller":"kubelet/pod_workers.go:1301","msg":"Error syncing pod, skipping","pod":{"name":"web-node1","namespace":"default"},"podUID":"` + uidWeb + `","err":` + err + `}`
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestRedactWalksEveryString(t *testing.T) {
	r := &Report{Node: NodeReport{Name: "s", Findings: []Finding{{Kind: KindCrashLoop, Severity: SeverityError, Title: "s", Detail: "s", Hint: "s", Evidence: []Evidence{{Source: "s", Line: "s"}}}}},
		Pods:  []PodReport{{ID: "s", Containers: []ContainerReport{{Name: "s", Image: "s"}}, Findings: []Finding{{Title: "s"}}}},
		Files: []FileReport{{Path: "s", Pods: []string{"s"}, Findings: []Finding{{Detail: "s"}}}}}
	n := 0
	r.Redact(func(s string) string {
		if s == "s" {
			n++
			return "x"
		}
		return s
	})
	out := renderAll(t, r)["json"]
	if strings.Contains(out, `"s"`) {
		t.Errorf("a string escaped Redact: %s", out)
	}
	if r.Node.Findings[0].Kind != KindCrashLoop || n != 13 {
		t.Errorf("Redact touched %d strings (want 13) or changed the Kind vocabulary (%s)", n, r.Node.Findings[0].Kind)
	}
}

// TestPrefilterKeepsRuleInput: every line shape a rule needs passes kubeletlog.Interesting, so
// the node client keeps it (a msg-only klog.Errorf JSON line has no "err" key to find).
func TestPrefilterKeepsRuleInput(t *testing.T) {
	lines := []string{
		`{"ts":1795559203398.924,"caller":"nestedpendingoperations/nestedpendingoperations.go:348","msg":"Operation for \"{volumeName:kubernetes.io/host-path/05f6-data podName:05f6 nodeName:}\" failed. No retries permitted until 2026-11-24 22:26:43.898854671 +0000 UTC m=+1.832543406 (durationBeforeRetry 500ms). Error: MountVolume.SetUp failed for volume \"data\" (UniqueName: \"kubernetes.io/host-path/05f6-data\") pod \"missing-hostpath-node1\" (UID: \"05f6\") : hostPath type check failed: /srv/spdoc-missing-dir is not a directory"}`,
		`{"ts":1795559203204.0007,"caller":"kubelet/kubelet.go:2525","msg":"SyncLoop REMOVE","v":2,"source":"file","pods":[{"name":"edited-node1","namespace":"default"}]}`,
		`{"ts":1795559206118.588,"caller":"kubelet/kubelet.go:2546","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"edited-node1","namespace":"default"},"event":{"ID":"2d98","Type":"ContainerStarted","Data":"f536"}}`,
		`{"ts":1795559206118.588,"caller":"pleg/generic.go:356","msg":"Generic (PLEG): container finished","v":4,"podID":"2d98","containerID":"f536","exitCode":3}`,
	}
	for _, l := range lines {
		if !kubeletlog.Interesting([]byte(l)) {
			t.Errorf("prefilter drops a line the rules need: %.120s", l)
		}
	}
}

// TestAnalyzeDeterministic: the same snapshot gives byte-identical reports (map iteration must
// never leak into the order of pods, findings or evidence).
func TestAnalyzeDeterministic(t *testing.T) {
	snap := loadLocalCRI(t, "../testdata/nodes/broken", "node1")
	first := renderAll(t, Analyze(snap, Options{}))["json"]
	for i := 0; i < 20; i++ {
		if got := renderAll(t, Analyze(snap, Options{}))["json"]; got != first {
			t.Fatalf("run %d differs from the first:\n%s", i, firstDiff(got, first))
		}
	}
}
