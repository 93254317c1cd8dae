package node

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/controlplane/pkitest"
)

// kubeadmRoot lays out a copied kubeadm control-plane node: its four manifests, PKI and
// kubeconfigs, and etcd's data dir.
func kubeadmRoot(t *testing.T, alter map[string]func(*x509.Certificate)) string {
	t.Helper()
	root := t.TempDir()
	if _, err := pkitest.Write(root, pkitest.Options{Alter: alter}); err != nil {
		t.Fatal(err)
	}
	mdir := filepath.Join(root, "etc/kubernetes/manifests")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"etcd.yaml", "kube-apiserver.yaml", "kube-controller-manager.yaml", "kube-scheduler.yaml"} {
		data, err := os.ReadFile(filepath.Join("../controlplane/testdata/kubeadm", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mdir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "var/lib/etcd/member"), 0o700); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestSnapshotControlPlaneUnderRoot(t *testing.T) {
	root := kubeadmRoot(t, map[string]func(*x509.Certificate){
		"apiserver": func(c *x509.Certificate) { c.NotAfter = time.Now().Add(-48 * time.Hour) },
	})
	// A symlink in the copy that points outside it must not be followed.
	ca := filepath.Join(root, "etc/kubernetes/pki/front-proxy-ca.crt")
	if err := os.Remove(ca); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", ca); err != nil {
		t.Fatal(err)
	}
	// A FIFO where a certificate should be must not hang the read.
	fifo := filepath.Join(root, "etc/kubernetes/pki/etcd/ca.crt")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewLocal(LocalOptions{Root: root}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cp := s.ControlPlane
	if cp == nil || len(cp.Instances) != 4 {
		t.Fatalf("control plane = %+v", cp)
	}
	if cp.Mirror != nil || cp.Kubelet != nil || cp.PortsError == "" {
		t.Errorf("a copied node asked live sources: mirror %+v kubelet %+v portsError %q", cp.Mirror, cp.Kubelet, cp.PortsError)
	}
	var expired, escaped bool
	for _, f := range cp.Files {
		for _, p := range f.Problems {
			if f.Flag == "tls-cert-file" && f.Pod == "kube-system-kube-apiserver" && p.Kind == controlplane.ProblemExpired && f.Line == 40 {
				expired = true
			}
			if f.Flag == "requestheader-client-ca-file" && p.Kind == controlplane.ProblemUnreadable {
				escaped = true
			}
		}
		if f.Flag == "requestheader-client-ca-file" && len(f.Certs) > 0 {
			t.Errorf("read through a symlink out of the root: %+v", f)
		}
	}
	fifoSeen := false
	for _, f := range cp.Files {
		if f.HostPath == "/etc/kubernetes/pki/etcd/ca.crt" {
			fifoSeen = true
			if len(f.Problems) == 0 || f.Problems[0].Kind != controlplane.ProblemUnreadable {
				t.Errorf("FIFO CA: %+v", f)
			}
		}
	}
	if !fifoSeen {
		t.Error("the FIFO CA was not checked")
	}
	if !expired || !escaped {
		t.Errorf("expired=%v escaped=%v; files:\n%s", expired, escaped, fileProblems(cp.Files))
	}
	// The snapshot round-trips through JSON (the agent and the bundle carry it) without keys.
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "PRIVATE KEY") {
		t.Error("a private key in the snapshot")
	}
}

func TestSnapshotControlPlaneFromBundleFile(t *testing.T) {
	root := kubeadmRoot(t, nil)
	st := controlplane.State{
		Instances: []*controlplane.Instance{{Pod: "kube-system-etcd", Container: "etcd", Component: controlplane.Etcd}},
		Ports:     []controlplane.PortUse{{Pod: "kube-system-etcd", Container: "etcd", Port: 2379, Holders: []controlplane.PortHolder{{PID: 77, Comm: "etcd", Addr: "127.0.0.1:2379"}}}},
		Mirror:    &controlplane.MirrorState{Node: "node1", Reason: controlplane.ReasonUnreachable, Error: "the API server https://10.0.0.10:6443 is unreachable"},
	}
	data, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(root, ControlPlaneFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := NewLocal(LocalOptions{Root: root}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cp := s.ControlPlane
	if cp == nil || len(cp.Ports) != 1 || cp.Ports[0].Holders[0].PID != 77 || cp.Mirror == nil || cp.Mirror.Reason != controlplane.ReasonUnreachable {
		t.Fatalf("control plane = %+v", cp)
	}
	// A garbage file is a source error, and the files are checked instead.
	if err := os.WriteFile(filepath.Join(root, ControlPlaneFile), []byte("{nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ = NewLocal(LocalOptions{Root: root}).Snapshot(context.Background())
	if s.ControlPlane == nil || len(s.ControlPlane.Files) == 0 {
		t.Errorf("no file checks after a garbage %s", ControlPlaneFile)
	}
	found := false
	for _, e := range s.Errors {
		found = found || (e.Source == "control-plane" && strings.Contains(e.Error, ControlPlaneFile))
	}
	if !found {
		t.Errorf("errors = %+v", s.Errors)
	}
}

func fileProblems(files []controlplane.FileCheck) string {
	var b strings.Builder
	for _, f := range files {
		for _, p := range f.Problems {
			b.WriteString(f.Pod + " --" + f.Flag + " " + string(p.Kind) + ": " + p.Message + "\n")
		}
	}
	return b.String()
}

func TestFindKubeletPrefersTheNamedConfig(t *testing.T) {
	proc := t.TempDir()
	for pid, cmd := range map[string]string{
		"10": "/usr/bin/kubelet\x00--config=/a.yaml\x00--kubeconfig=/a.conf\x00",
		"20": "/usr/bin/kubelet\x00--config=/b.yaml\x00--kubeconfig=/b.conf\x00--cert-dir=/b/pki\x00",
	} {
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "cmdline"), []byte(cmd), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if k := findKubelet(proc, "/b.yaml"); k.PID != 20 || k.kubeconfigFlag != "/b.conf" || k.certDirFlag != "/b/pki" {
		t.Errorf("picked %+v", k)
	}
	if k := findKubelet(proc, "/a.yaml"); k.PID != 10 || k.kubeconfigFlag != "/a.conf" {
		t.Errorf("picked %+v", k)
	}
}
