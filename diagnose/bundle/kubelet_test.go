package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/testnode"
)

// TestRootKubeletBundle bundles a live node (containerd + a real kubelet, needs root): a static
// pod whose manifest, arguments and output carry canary secrets crash-loops; the bundle must
// hold the CRI view and both container instances, no canary, and read back to the same finding.
func TestRootKubeletBundle(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	const (
		envCanary = "cnry-live-env-token-4Fq9"
		argCanary = "cnry-live-arg-password-5Gw8"
		outCanary = "cnry-live-stdout-password-6Hv7"
		pemCanary = "cnryLivePEMbodyDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"
	)
	script := fmt.Sprintf("echo starting password=%s; echo -----BEGIN PRIVATE KEY-----; echo %s; echo -----END PRIVATE KEY-----; echo fatal >&2; exit 3", outCanary, pemCanary)
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: leaky
  namespace: default
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: %s
    imagePullPolicy: Never
    command: ["sh", "-c", %q, "--", "--password=%s"]
    env:
    - name: API_TOKEN
      value: %s
`, n.Busybox, script, argCanary, envCanary)
	if err := n.WriteManifest("leaky.yaml", manifest); err != nil {
		t.Fatal(err)
	}
	podDir := func() (podlog.PodDir, bool) {
		dirs, _ := podlog.ScanPodDirs(n.PodLogsDir)
		for _, d := range dirs {
			if d.Name == "leaky-"+n.NodeName {
				return d, true
			}
		}
		return podlog.PodDir{}, false
	}
	n.WaitFor(t, 3*time.Minute, "a restarted instance of leaky/app", func() (bool, string) {
		d, ok := podDir()
		if !ok || len(d.Containers) == 0 {
			return false, "no pod log dir yet"
		}
		cd := d.Containers[0]
		cur, _ := podlog.Current(cd)
		b, _ := os.ReadFile(cd.InstancePath(cur))
		// Two instances, the current one finished too: both logs have their output.
		return len(cd.Instances) >= 2 && bytes.Contains(b, []byte("fatal")), fmt.Sprintf("instances %v, current log %q", cd.Instances, b)
	})

	live := node.NewLocal(node.LocalOptions{
		ManifestDir: n.ManifestDir, PodLogsDir: n.PodLogsDir, KubeletLog: n.KubeletLog,
		KubeletConfig: n.KubeletConfig, RuntimeEndpoint: n.RuntimeEndpoint, NodeName: n.NodeName,
	})
	snap, err := live.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := diagnose.Analyze(snap, diagnose.Options{})
	out := filepath.Join(t.TempDir(), "live.tar.gz")
	res, err := Write(context.Background(), out, live, Options{Snapshot: snap, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	files := readBundle(t, out)

	for _, canary := range []string{envCanary, argCanary, outCanary, pemCanary} {
		for name, b := range files {
			if bytes.Contains(b, []byte(canary)) {
				t.Errorf("canary %q survived in %s", canary, name)
			}
		}
	}
	if res.Redactions == 0 {
		t.Errorf("no redactions counted")
	}

	var rt node.RuntimeState
	if err := json.Unmarshal(files[node.RuntimeFile], &rt); err != nil {
		t.Fatalf("runtime.json: %v", err)
	}
	found := false
	for _, c := range rt.Containers {
		found = found || c.PodName == "leaky-"+n.NodeName && c.Name == "app"
	}
	if !rt.Reachable || rt.Status == nil || !found {
		t.Errorf("runtime.json lacks the live CRI view of leaky/app: reachable=%v status=%v", rt.Reachable, rt.Status)
	}
	d, _ := podDir()
	cd := d.Containers[0]
	cur, _ := podlog.Current(cd)
	prev, _ := podlog.Previous(cd)
	for _, inst := range []int{cur, prev} {
		name := fmt.Sprintf("%s/%s/app/%d.log", PodLogsDir, filepath.Base(d.Path), inst)
		if !bytes.Contains(files[name], []byte("fatal")) || !bytes.Contains(files[name], []byte("[REDACTED-")) {
			t.Errorf("%s: want the instance's output, redacted; got %q", name, files[name])
		}
	}
	var v versionsFile
	if err := json.Unmarshal(files[VersionsPath], &v); err != nil || v.Runtime != "containerd" {
		t.Errorf("versions.json = %s (%v)", files[VersionsPath], err)
	}
	if _, ok := files[KubeletConfig]; !ok {
		t.Errorf("the kubelet config was not copied")
	}

	// Read back as --root: the crash loop is still what the report says about leaky.
	back, unpacked := readBack(t, out)
	got := diagnose.Analyze(back, diagnose.Options{})
	podKinds := func(r *diagnose.Report) string {
		for _, p := range r.Pods {
			if p.ID == "default-leaky" {
				var ks []string
				for _, f := range p.Findings {
					ks = append(ks, string(f.Kind))
				}
				return string(p.State) + " " + strings.Join(ks, ",")
			}
		}
		return "missing"
	}
	if w, g := podKinds(want), podKinds(got); w != g || !strings.Contains(w, string(diagnose.KindCrashLoop)) {
		t.Errorf("leaky live: %q, from the bundle: %q (want both with CrashLoop)", w, g)
	}
	if back.Node.Name != n.NodeName {
		t.Errorf("node name from the bundle %q, want %q", back.Node.Name, n.NodeName)
	}
	if _, err := os.Stat(filepath.Join(unpacked, node.RuntimeFile)); err != nil {
		t.Errorf("runtime.json not unpacked: %v", err)
	}
}
