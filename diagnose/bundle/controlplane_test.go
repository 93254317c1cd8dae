package bundle

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/controlplane/pkitest"
	"github.com/spdoc/spdoc/internal/node"
)

// TestRoundTripControlPlane: a copied kubeadm node with an expired serving certificate, a key
// that is not its certificate's and a missing CA; the bundle carries certificate metadata only
// (no key, no PEM), and --bundle-in gives the same control-plane findings.
func TestRoundTripControlPlane(t *testing.T) {
	root := t.TempDir()
	p, err := pkitest.Write(root, pkitest.Options{Alter: map[string]func(*x509.Certificate){
		"apiserver": func(c *x509.Certificate) { c.NotAfter = time.Now().Add(-72 * time.Hour) },
	}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(filepath.Join(root, "etc/kubernetes/pki/front-proxy-client.key"))
	if err := p.WriteFile("etc/kubernetes/pki/etcd/peer.key", other); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "etc/kubernetes/pki/etcd/ca.crt")); err != nil {
		t.Fatal(err)
	}
	mdir := filepath.Join(root, "etc/kubernetes/manifests")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"etcd.yaml", "kube-apiserver.yaml"} {
		data, err := os.ReadFile(filepath.Join("../../internal/controlplane/testdata/kubeadm", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mdir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	orig, err := node.NewLocal(node.LocalOptions{Root: root}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := diagnose.Analyze(orig, diagnose.Options{})
	wk := podKinds(want)
	for scope, k := range map[string]string{"kube-system-kube-apiserver": "CertificateExpired", "kube-system-etcd": "CertificateInvalid"} {
		if !strings.Contains(wk[scope], k) {
			t.Fatalf("%s: %q lacks %s", scope, wk[scope], k)
		}
	}
	if !strings.Contains(wk["kube-system-etcd"], "ReferencedFileMissing") {
		t.Fatalf("etcd: %q", wk["kube-system-etcd"])
	}

	out := filepath.Join(t.TempDir(), "b.tar.gz")
	opts := testOptions(root)
	opts.Now = time.Now
	if _, err := Write(context.Background(), out, node.NewLocal(node.LocalOptions{Root: root}), opts); err != nil {
		t.Fatal(err)
	}
	files := readBundle(t, out)
	cp, ok := files[ControlPlanePath]
	if !ok {
		t.Fatalf("no %s in the bundle", ControlPlanePath)
	}
	for name, data := range files {
		if strings.Contains(string(data), "PRIVATE KEY") || strings.Contains(string(data), "BEGIN CERTIFICATE") {
			t.Errorf("%s carries PEM material", name)
		}
	}
	if !strings.Contains(string(cp), `"notAfter"`) || !strings.Contains(string(cp), "CN=kube-apiserver") {
		t.Errorf("%s lacks certificate metadata", ControlPlanePath)
	}
	back, unpacked := readBack(t, out)
	got := diagnose.Analyze(back, diagnose.Options{})
	gk := podKinds(got)
	for _, scope := range []string{"kube-system-kube-apiserver", "kube-system-etcd"} {
		if gk[scope] != wk[scope] {
			t.Errorf("%s: %q, after the round trip %q", scope, wk[scope], gk[scope])
		}
	}
	wt, gt := titles(want, root), titles(got, unpacked)
	if strings.Join(wt, "\n") != strings.Join(gt, "\n") {
		t.Errorf("titles differ after the round trip:\n%s\n---\n%s", strings.Join(wt, "\n"), strings.Join(gt, "\n"))
	}
}

func podKinds(r *diagnose.Report) map[string]string {
	out := map[string]string{}
	for _, p := range r.Pods {
		var ks []string
		for _, f := range p.Findings {
			ks = append(ks, string(f.Kind))
		}
		out[p.ID] = strings.Join(ks, ",")
	}
	return out
}
