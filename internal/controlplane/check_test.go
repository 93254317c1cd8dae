package controlplane

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/controlplane/pkitest"
	"github.com/spdoc/spdoc/internal/staticpod"
)

var kubeadmManifests = []string{"etcd.yaml", "kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml"}

// kubeadmNode writes a kubeadm-shaped node (PKI, kubeconfigs, etcd data dir, the four manifests)
// under a temp root and returns the root and the instances of its manifests.
func kubeadmNode(t *testing.T, o pkitest.Options) (string, []*Instance, *pkitest.PKI) {
	t.Helper()
	root := t.TempDir()
	p, err := pkitest.Write(root, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "var/lib/etcd/member"), 0o700); err != nil {
		t.Fatal(err)
	}
	return root, loadInstances(t, root, kubeadmManifests...), p
}

// loadInstancesB lays a kubeadm node under root for a benchmark.
func loadInstancesB(b *testing.B, root string) []*Instance {
	b.Helper()
	if _, err := pkitest.Write(root, pkitest.Options{}); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "var/lib/etcd/member"), 0o700); err != nil {
		b.Fatal(err)
	}
	ins := loadInstances(b, root, kubeadmManifests...)
	if len(ins) != 4 {
		b.Fatalf("kubeadm node: %d instances", len(ins))
	}
	return ins
}

func loadInstances(t testing.TB, root string, names ...string) []*Instance {
	t.Helper()
	var out []*Instance
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join("testdata/kubeadm", name))
		if err != nil {
			t.Fatal(err)
		}
		mpath := filepath.Join(root, "etc/kubernetes/manifests", name)
		if err := os.MkdirAll(filepath.Dir(mpath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mpath, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f := staticpod.DecodeFile("/etc/kubernetes/manifests/"+name, data)
		if f.Parse != nil || len(f.Pods) != 1 {
			t.Fatalf("%s: %+v", name, f.Parse)
		}
		sp := f.Pods[0]
		out = append(out, Instances(sp.ID, sp.Source, sp.Pod, staticpod.FieldLines(data))...)
	}
	return out
}

func problems(files []FileCheck) []string {
	var out []string
	for _, f := range files {
		for _, p := range f.Problems {
			out = append(out, f.Pod+" "+f.FlagRef()+" "+string(p.Kind)+": "+p.Message)
		}
	}
	return out
}

func findProblem(t *testing.T, files []FileCheck, flag string, kind ProblemKind) (FileCheck, Problem) {
	t.Helper()
	for _, f := range files {
		if f.Flag != flag {
			continue
		}
		for _, p := range f.Problems {
			if p.Kind == kind {
				return f, p
			}
		}
	}
	t.Fatalf("no %s problem on --%s; problems:\n%s", kind, flag, strings.Join(problems(files), "\n"))
	return FileCheck{}, Problem{}
}

func TestCheckHealthyKubeadmNode(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	root, ins, _ := kubeadmNode(t, pkitest.Options{Now: now})
	if len(ins) != 4 {
		t.Fatalf("instances = %d, want 4", len(ins))
	}
	files := Check(os.DirFS(root), ins, CheckOptions{Now: now})
	if ps := problems(files); len(ps) > 0 {
		t.Fatalf("healthy node has problems:\n%s", strings.Join(ps, "\n"))
	}
	// Every file flag of the kubeadm manifests was found and read.
	want := map[string]bool{
		"kube-system-kube-apiserver --tls-cert-file": false, "kube-system-kube-apiserver --etcd-keyfile": false,
		"kube-system-etcd --data-dir": false, "kube-system-etcd --peer-trusted-ca-file": false,
		"kube-system-kube-controller-manager --kubeconfig": false, "kube-system-kube-scheduler --kubeconfig": false,
		"kube-system-kube-apiserver --service-account-key-file": false,
	}
	for _, f := range files {
		k := f.Pod + " " + f.FlagRef()
		if _, ok := want[k]; ok {
			want[k] = true
			if !f.Exists || !f.Readable || f.Line == 0 {
				t.Errorf("%s: exists=%v readable=%v line=%d", k, f.Exists, f.Readable, f.Line)
			}
		}
		if f.Kind == FileKey && f.Key != nil && f.Key.Matches != nil && !*f.Key.Matches {
			t.Errorf("%s: key does not match", k)
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("no check for %s", k)
		}
	}
	// The apiserver's tls-cert-file is on line 40 of the manifest.
	for _, f := range files {
		if f.Pod == "kube-system-kube-apiserver" && f.Flag == "tls-cert-file" {
			if f.Line != 40 || f.HostPath != "/etc/kubernetes/pki/apiserver.crt" || f.Volume != "k8s-certs" || len(f.Certs) != 1 {
				t.Errorf("tls-cert-file check = line %d host %s volume %s certs %d", f.Line, f.HostPath, f.Volume, len(f.Certs))
			}
			if f.Key == nil && f.Certs[0].Subject != "CN=kube-apiserver" {
				t.Errorf("subject %q", f.Certs[0].Subject)
			}
		}
	}
}

func TestCheckBrokenFiles(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		alter map[string]func(*x509.Certificate)
		after func(t *testing.T, root string, p *pkitest.PKI)
		flag  string
		kind  ProblemKind
		want  string // in the message
	}{
		{name: "expired apiserver cert", flag: "tls-cert-file", kind: ProblemExpired, want: "expired on 2026-11-30",
			alter: map[string]func(*x509.Certificate){"apiserver": func(c *x509.Certificate) { c.NotAfter = now.Add(-24 * time.Hour) }}},
		{name: "expiring etcd server cert", flag: "cert-file", kind: ProblemExpiring, want: "in 10d",
			alter: map[string]func(*x509.Certificate){"etcd-server": func(c *x509.Certificate) { c.NotAfter = now.Add(10 * 24 * time.Hour) }}},
		{name: "expired kubeconfig client cert", flag: "kubeconfig", kind: ProblemExpired, want: "client-certificate-data of user system:kube-scheduler",
			alter: map[string]func(*x509.Certificate){"scheduler.conf": func(c *x509.Certificate) { c.NotAfter = now.Add(-time.Hour) }}},
		{name: "not yet valid", flag: "tls-cert-file", kind: ProblemNotYetValid, want: "clock",
			alter: map[string]func(*x509.Certificate){"apiserver": func(c *x509.Certificate) { c.NotBefore = now.Add(time.Hour) }}},
		{name: "SAN does not cover advertise address", flag: "tls-cert-file", kind: ProblemSAN, want: "served on 10.0.0.10",
			alter: map[string]func(*x509.Certificate){"apiserver": func(c *x509.Certificate) { c.IPAddresses = c.IPAddresses[:1] }}},
		{name: "etcd peer SAN", flag: "peer-cert-file", kind: ProblemSAN, want: "served on 10.0.0.10",
			alter: map[string]func(*x509.Certificate){"etcd-peer": func(c *x509.Certificate) { c.IPAddresses = c.IPAddresses[1:] }}},
		{name: "garbage cert", flag: "tls-cert-file", kind: ProblemGarbage, want: "not a valid certificate",
			after: func(t *testing.T, root string, p *pkitest.PKI) {
				must(t, p.WriteFile("etc/kubernetes/pki/apiserver.crt", []byte("this is not a certificate\n")))
			}},
		{name: "truncated PEM", flag: "etcd-cafile", kind: ProblemGarbage, want: "not a valid certificate",
			after: func(t *testing.T, root string, p *pkitest.PKI) {
				data, _ := os.ReadFile(filepath.Join(root, "etc/kubernetes/pki/etcd/ca.crt"))
				must(t, p.WriteFile("etc/kubernetes/pki/etcd/ca.crt", data[:len(data)/2]))
			}},
		{name: "key of another cert", flag: "tls-private-key-file", kind: ProblemKeyMismatch, want: "is not the key of /etc/kubernetes/pki/apiserver.crt",
			after: func(t *testing.T, root string, p *pkitest.PKI) {
				data, _ := os.ReadFile(filepath.Join(root, "etc/kubernetes/pki/front-proxy-client.key"))
				must(t, p.WriteFile("etc/kubernetes/pki/apiserver.key", data))
			}},
		{name: "missing CA", flag: "client-ca-file", kind: ProblemMissing, want: "/etc/kubernetes/pki/ca.crt does not exist",
			after: func(t *testing.T, root string, p *pkitest.PKI) {
				must(t, os.Remove(filepath.Join(root, "etc/kubernetes/pki/ca.crt")))
			}},
		{name: "kubeconfig emptied by FileOrCreate", flag: "kubeconfig", kind: ProblemEmpty, want: "FileOrCreate",
			after: func(t *testing.T, root string, p *pkitest.PKI) {
				must(t, p.WriteFile("etc/kubernetes/scheduler.conf", nil))
			}},
		{name: "kubeconfig garbage", flag: "kubeconfig", kind: ProblemGarbage, want: "not a valid kubeconfig",
			after: func(t *testing.T, root string, p *pkitest.PKI) {
				must(t, p.WriteFile("etc/kubernetes/controller-manager.conf", []byte("{{{ nope")))
			}},
		{name: "etcd client cert from another CA", flag: "etcd-certfile", kind: ProblemChain, want: "etcd verifies the API server's client certificate",
			after: func(t *testing.T, root string, p *pkitest.PKI) {
				for _, ext := range []string{".crt", ".key"} {
					data, _ := os.ReadFile(filepath.Join(root, "etc/kubernetes/pki/apiserver-kubelet-client"+ext))
					must(t, p.WriteFile("etc/kubernetes/pki/apiserver-etcd-client"+ext, data))
				}
			}},
		{name: "data dir is a file", flag: "data-dir", kind: ProblemWrongType, want: "not a directory",
			after: func(t *testing.T, root string, p *pkitest.PKI) {
				must(t, os.RemoveAll(filepath.Join(root, "var/lib/etcd")))
				must(t, p.WriteFile("var/lib/etcd", []byte("x")))
			}},
		{name: "service account key pair split", flag: "service-account-private-key-file", kind: ProblemChain, want: "not among the API server's --service-account-key-file keys",
			after: func(t *testing.T, root string, p *pkitest.PKI) {
				data, _ := os.ReadFile(filepath.Join(root, "etc/kubernetes/pki/front-proxy-client.key"))
				must(t, p.WriteFile("etc/kubernetes/pki/sa.key", data))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, ins, p := kubeadmNode(t, pkitest.Options{Now: now, Alter: tt.alter})
			if tt.after != nil {
				tt.after(t, root, p)
			}
			files := Check(os.DirFS(root), ins, CheckOptions{Now: now})
			f, pr := findProblem(t, files, tt.flag, tt.kind)
			if !strings.Contains(pr.Message, tt.want) {
				t.Errorf("message %q does not contain %q", pr.Message, tt.want)
			}
			if f.Line == 0 || f.Manifest == "" {
				t.Errorf("problem not placed: manifest %q line %d", f.Manifest, f.Line)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const kubeVIPManifest = `apiVersion: v1
kind: Pod
metadata:
  name: kube-vip
  namespace: kube-system
spec:
  containers:
  - args:
    - manager
    env:
    - name: vip_arp
      value: "true"
    - name: address
      value: 10.0.0.100
    - name: port
      value: "6443"
    image: ghcr.io/kube-vip/kube-vip:v0.8.9
    name: kube-vip
    volumeMounts:
    - mountPath: /etc/kubernetes/admin.conf
      name: kubeconfig
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/kubernetes/super-admin.conf
    name: kubeconfig
---
`

const haproxyManifest = `apiVersion: v1
kind: Pod
metadata:
  name: haproxy
  namespace: kube-system
spec:
  containers:
  - name: haproxy
    image: haproxy:2.8
    volumeMounts:
    - mountPath: /usr/local/etc/haproxy/haproxy.cfg
      name: cfg
      readOnly: true
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/haproxy/haproxy.cfg
      type: FileOrCreate
    name: cfg
`

// TestCheckLoadBalancerPods: kube-vip reads the kubeconfig mounted at its default path (here
// kubeadm's super-admin.conf, as kube-vip's docs have it for kubeadm init), haproxy its image's
// default config path.
func TestCheckLoadBalancerPods(t *testing.T) {
	root := t.TempDir()
	if _, err := pkitest.Write(root, pkitest.Options{}); err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(filepath.Join(root, "etc/haproxy"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "etc/haproxy/haproxy.cfg"), nil, 0o644))
	var ins []*Instance
	for name, y := range map[string]string{"kube-vip.yaml": kubeVIPManifest, "haproxy.yaml": haproxyManifest} {
		f := staticpod.DecodeFile("/etc/kubernetes/manifests/"+name, []byte(y))
		if f.Parse != nil || len(f.Pods) != 1 {
			t.Fatalf("%s: %+v", name, f.Parse)
		}
		ins = append(ins, Instances(f.Pods[0].ID, f.Path, f.Pods[0].Pod, staticpod.FieldLines([]byte(y)))...)
	}
	if len(ins) != 2 {
		t.Fatalf("instances: %d", len(ins))
	}
	files := Check(os.DirFS(root), ins, CheckOptions{})
	var vip, ha *FileCheck
	for i := range files {
		switch files[i].Component {
		case KubeVIP:
			vip = &files[i]
		case HAProxy:
			ha = &files[i]
		}
	}
	// super-admin.conf is not written by pkitest: missing, named by kube-vip's default.
	if vip == nil || !vip.Default || vip.HostPath != "/etc/kubernetes/super-admin.conf" || len(vip.Problems) == 0 || vip.Problems[0].Kind != ProblemMissing {
		t.Errorf("kube-vip = %+v", vip)
	}
	if ha == nil || len(ha.Problems) == 0 || ha.Problems[0].Kind != ProblemEmpty || !strings.Contains(ha.Problems[0].Message, "FileOrCreate") {
		t.Errorf("haproxy = %+v", ha)
	}
}
