package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/spdoc/spdoc/agent"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/testnode"
	"github.com/spdoc/spdoc/internal/testtier"
)

// urlPod is a test node pod (YAML) in kube-system with a "rev" label: changing the label changes
// the pod (and its config hash), which the kubelet applies by recreating it.
func urlPod(t *testing.T, manifest, rev string) map[string]any {
	t.Helper()
	var p map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &p); err != nil {
		t.Fatalf("test pod: %v", err)
	}
	meta := p["metadata"].(map[string]any)
	meta["namespace"] = "kube-system"
	meta["labels"] = map[string]any{"rev": rev}
	return p
}

func podListJSON(t *testing.T, pods ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "PodList", "items": pods})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// listServer is a plain server of one body, like Talos's: it serves whatever it is given.
type listServer struct {
	mu   sync.Mutex
	body []byte
	hdr  string // the X-Node-Token the kubelet sent last
}

func (s *listServer) set(b []byte) { s.mu.Lock(); s.body = b; s.mu.Unlock() }

func (s *listServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hdr = r.Header.Get("X-Node-Token")
	w.Write(s.body)
}

// kubeletRev is the rev label of the kubelet's running pod name ("" when it does not run it).
func kubeletRev(n *testnode.Node, name string) string {
	p, err := n.Pod("kube-system", name)
	if err != nil || p == nil {
		return ""
	}
	return p.Labels["rev"]
}

// diagnoseURLNode runs spdoc diagnose on a node whose static pods come from its staticPodURL:
// no --manifests, the kubelet config says where the pods are.
func diagnoseURLNode(t *testing.T, n *testnode.Node) *diagnose.Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(spdocBin, "diagnose", "-o", "json", "--kubelet-config", n.KubeletConfig,
		"--pod-logs-dir", n.PodLogsDir, "--kubelet-log", n.KubeletLog, "--runtime-endpoint", n.RuntimeEndpoint, "--node-name", n.NodeName)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("spdoc diagnose: %v\n%s", err, stderr.String())
		}
	}
	var r diagnose.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("decoding report: %v\n%.2000s", err, stdout.String())
	}
	return &r
}

// TestRootKubeletURLSourceFreeze serves a node's static pods the way Talos does — a plain server
// of one PodList, no validation — adds one invalid pod to the list and changes another: the real
// kubelet rejects the whole list, so the changed pod stays at its old version (frozen), and
// logs a failure followed by a misleading success. spdoc must name the item that blocks the list.
func TestRootKubeletURLSourceFreeze(t *testing.T) {
	testtier.RealNode(t) // before building or checking anything: the fast tier skips at once
	requireSpdoc(t)
	srv := &listServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/pods"

	a := func(rev string) map[string]any { return urlPod(t, testnode.HealthyPod("url-a"), rev) }
	b := urlPod(t, testnode.HealthyPod("url-b"), "1")
	srv.set(podListJSON(t, a("1"), b))

	n := testnode.Start(t, testnode.Options{URLSource: &testnode.URLSource{
		URL: url, Header: map[string][]string{"X-Node-Token": {"sekrit-node-token"}}, NoManifestDir: true,
	}})
	const wait = 2 * time.Minute
	n.WaitFor(t, wait, "both URL pods run", func() (bool, string) {
		return kubeletRev(n, "url-a") == "1" && kubeletRev(n, "url-b") == "1", "url-a rev " + kubeletRev(n, "url-a")
	})
	srv.mu.Lock()
	if srv.hdr != "sekrit-node-token" {
		t.Errorf("the kubelet sent header %q", srv.hdr)
	}
	srv.mu.Unlock()

	// The good change alone is applied: the source works.
	srv.set(podListJSON(t, a("2"), b))
	n.WaitFor(t, wait, "url-a updated to rev 2", func() (bool, string) { return kubeletRev(n, "url-a") == "2", kubeletRev(n, "url-a") })

	// Now a change of url-a together with an invalid new pod: the whole list is rejected.
	bad := urlPod(t, testnode.NoContainersPod("url-bad"), "1")
	srv.set(podListJSON(t, a("3"), bad, b))
	n.WaitFor(t, wait, "the kubelet rejects the list and then logs a success", func() (bool, string) {
		log, _ := os.ReadFile(n.KubeletLog)
		i := bytes.Index(log, []byte("Failed to read pods from URL"))
		return i >= 0 && bytes.Contains(log[i:], []byte("Successfully read pods from URL")), "no failure+success yet"
	})
	// Several polls later (1 s each) url-a is still rev 2: frozen.
	time.Sleep(5 * time.Second)
	if rev := kubeletRev(n, "url-a"); rev != "2" {
		t.Fatalf("url-a rev %q: the kubelet applied a list with an invalid item (expected the freeze)", rev)
	}
	log, _ := os.ReadFile(n.KubeletLog)
	if !bytes.Contains(log, []byte("invalid pod: [spec.containers: Required value]")) {
		t.Errorf("the kubelet's failure does not carry the validation error:\n%s", n.Tail(n.KubeletLog, 30))
	}

	for _, l := range bytes.Split(log, []byte("\n")) {
		if bytes.Contains(l, []byte("URL")) {
			t.Logf("kubelet: %s", l)
		}
	}
	r := diagnoseURLNode(t, n)
	fs := find(r, diagnose.KindStaticPodListRejected, "", "")
	if len(fs) != 1 {
		t.Fatalf("want one %s finding, got %v", diagnose.KindStaticPodListRejected, allFindings(r))
	}
	f := fs[0]
	for _, want := range []string{"kube-system/url-bad", "item 1", "kube-system/url-a", "kube-system/url-b"} {
		if !strings.Contains(f.Title+" "+f.Detail, want) {
			t.Errorf("%s finding does not name %q: %s — %s", f.Kind, want, f.Title, f.Detail)
		}
	}
	var sawMisleading bool
	for _, ev := range f.Evidence {
		if strings.Contains(ev.Line, "Successfully read pods from URL") && strings.Contains(ev.Line, "nothing was applied") {
			sawMisleading = true
		}
	}
	if !sawMisleading {
		t.Errorf("the misleading success is not explained in the evidence: %+v", f.Evidence)
	}
	if p := podReport(r, "url-a"); p == nil || !strings.Contains(p.Manifest, "127.0.0.1") {
		t.Errorf("url-a not reported as a URL pod: %+v", p)
	}
	out, _ := json.Marshal(r)
	if bytes.Contains(out, []byte("sekrit-node-token")) {
		t.Error("the URL header value leaked into the report")
	}
}

// TestRootKubeletAgentServeURL points a real kubelet's staticPodURL at `spdoc agent
// --serve-url`: a bad pod added to the agent's config never freezes the others — a change made
// in the same edit is applied — and the bad pod is a finding of the agent.
func TestRootKubeletAgentServeURL(t *testing.T) {
	testtier.RealNode(t) // before building or checking anything: the fast tier skips at once
	requireSpdoc(t)
	port, err := freeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	serve := fmt.Sprintf("127.0.0.1:%d", port)
	n := testnode.Start(t, testnode.Options{URLSource: &testnode.URLSource{URL: "http://" + serve + "/", NoManifestDir: true}})

	dir := t.TempDir()
	cfg := filepath.Join(dir, "pods.yaml")
	writeCfg := func(pods ...map[string]any) {
		t.Helper()
		b, err := yaml.Marshal(map[string]any{"pods": pods})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a := func(rev string) map[string]any { return urlPod(t, testnode.HealthyPod("srv-a"), rev) }
	b := urlPod(t, testnode.HealthyPod("srv-b"), "1")
	writeCfg(a("1"), b)

	sock := filepath.Join(dir, "agent.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agentLog := filepath.Join(dir, "agent.log")
	lf, err := os.Create(agentLog)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	cmd := exec.CommandContext(ctx, spdocBin, "agent", "--config", cfg, "--serve-url", serve, "--serve-dir", filepath.Join(dir, "served"),
		"--listen", "unix://"+sock, "--node-name", n.NodeName, "--kubelet-config", n.KubeletConfig, "--kubelet-log", n.KubeletLog,
		"--runtime-endpoint", n.RuntimeEndpoint, "--pod-logs-dir", n.PodLogsDir)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()

	const wait = 2 * time.Minute
	n.WaitFor(t, wait, "the kubelet runs both served pods", func() (bool, string) {
		return kubeletRev(n, "srv-a") == "1" && kubeletRev(n, "srv-b") == "1", tailString(agentLog)
	})
	// One edit: a changes, a bad pod is added. Served by Talos, this freezes a at rev 1.
	before, _ := os.ReadFile(n.KubeletLog)
	writeCfg(a("2"), urlPod(t, testnode.NoContainersPod("srv-bad"), "1"), b)
	n.WaitFor(t, wait, "srv-a updated to rev 2 despite the bad pod", func() (bool, string) {
		return kubeletRev(n, "srv-a") == "2", "srv-a rev " + kubeletRev(n, "srv-a") + "\n" + tailString(agentLog)
	})
	// (Before the agent listened, the kubelet's polls failed with connection refused: only what
	// came after the edit counts.)
	if log, _ := os.ReadFile(n.KubeletLog); len(log) > len(before) && bytes.Contains(log[len(before):], []byte("Failed to read pods from URL")) {
		t.Errorf("the kubelet rejected a list the agent served:\n%s", n.Tail(n.KubeletLog, 20))
	}
	// The agent reports the bad pod.
	rc, err := node.DialRemote("unix://"+sock, node.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	fs, err := node.List[agent.Finding](context.Background(), rc, api.PathFindings)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range fs {
		if f.Pod == "kube-system-srv-bad" && f.Kind == diagnose.KindManifestInvalid {
			found = true
		}
	}
	if !found {
		t.Errorf("the agent does not report the bad pod: %+v", fs)
	}
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tailString(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
