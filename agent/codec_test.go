package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
)

// TestReconcileTalosMachineConfig runs the reconciler with the real codec on a Talos machine
// config and --prefix talos-, like a Talos user pointing the agent at what they already have.
func TestReconcileTalosMachineConfig(t *testing.T) {
	r, cfg, md := newTestReconciler(t, StaticPodCodec{})
	r.opts.Prefix = "talos-"
	talos := `version: v1alpha1
machine:
  type: worker
  pods:
    - apiVersion: v1
      kind: Pod
      metadata:
        name: nginx
        namespace: kube-system
      spec:
        containers:
          - name: nginx
            image: nginx:1
            resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 16Mi}}
    - apiVersion: v1
      kind: Pod
      metadata:
        name: broken
      spec:
        containers: []
cluster:
  controlPlane:
    endpoint: https://1.2.3.4:6443
`
	if err := os.WriteFile(cfg, []byte(talos), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(md, "spdoc-default-old.yaml"), []byte("not ours under this prefix"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.Reconcile()
	if res.ParseError != "" {
		t.Fatalf("parse error: %s", res.ParseError)
	}
	b, err := os.ReadFile(filepath.Join(md, "talos-kube-system-nginx.yaml"))
	if err != nil {
		t.Fatalf("Talos-named manifest not written: %v (result %+v)", err, res)
	}
	if !strings.HasPrefix(string(b), "apiVersion: v1\n") || !strings.Contains(string(b), "kind: Pod") || !strings.Contains(string(b), "image: nginx:1") {
		t.Errorf("rendered manifest:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(md, "talos-default-broken.yaml")); err == nil {
		t.Error("invalid pod written")
	}
	if _, err := os.Stat(filepath.Join(md, "spdoc-default-old.yaml")); err != nil {
		t.Errorf("a file without the talos- prefix was touched: %v", err)
	}
	if len(res.Invalid) != 1 || res.Invalid[0].ID != "default-broken" {
		t.Fatalf("invalid = %+v, want default-broken", res.Invalid)
	}
	var found bool
	for _, f := range r.Findings() {
		if f.Kind != diagnose.KindManifestInvalid || f.Pod != "default-broken" {
			continue
		}
		found = true
		// The evidence points at the config file and the line of the pod (line 15+ here).
		if len(f.Evidence) == 0 || !strings.HasPrefix(f.Evidence[0].Source, "config:"+cfg+":") || !strings.Contains(f.Detail, "spec.containers") {
			t.Errorf("finding = %+v, want evidence config:%s:<line> about spec.containers", f, cfg)
		}
	}
	if !found {
		t.Errorf("no ManifestInvalid finding for default-broken: %+v", r.Findings())
	}
}
