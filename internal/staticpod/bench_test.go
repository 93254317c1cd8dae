package staticpod

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// apiserverManifest is shaped like kubeadm's kube-apiserver.yaml (about 3.5 KiB).
func apiserverManifest(name string) string {
	var flags strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&flags, "    - --flag-%d=/etc/kubernetes/pki/value-%d.crt\n", i, i)
	}
	return `apiVersion: v1
kind: Pod
metadata:
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 10.0.0.1:6443
  labels:
    component: ` + name + `
    tier: control-plane
  name: ` + name + `
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-apiserver
` + flags.String() + `    image: registry.k8s.io/kube-apiserver:v1.34.4
    imagePullPolicy: IfNotPresent
    livenessProbe:
      failureThreshold: 8
      httpGet: {host: 10.0.0.1, path: /livez, port: 6443, scheme: HTTPS}
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
    name: kube-apiserver
    readinessProbe:
      failureThreshold: 3
      httpGet: {host: 10.0.0.1, path: /readyz, port: 6443, scheme: HTTPS}
      periodSeconds: 1
      timeoutSeconds: 15
    resources:
      requests: {cpu: 250m}
    volumeMounts:
    - {mountPath: /etc/ssl/certs, name: ca-certs, readOnly: true}
    - {mountPath: /etc/kubernetes/pki, name: k8s-certs, readOnly: true}
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile: {type: RuntimeDefault}
  volumes:
  - hostPath: {path: /etc/ssl/certs, type: DirectoryOrCreate}
    name: ca-certs
  - hostPath: {path: /etc/kubernetes/pki, type: DirectoryOrCreate}
    name: k8s-certs
`
}

func BenchmarkDecodeFile(b *testing.B) {
	data := []byte(apiserverManifest("kube-apiserver"))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f := DecodeFile("kube-apiserver.yaml", data)
		if f.Parse != nil || !f.Pods[0].Valid() {
			b.Fatalf("parse %v issues %v", f.Parse, f.Pods[0].Issues)
		}
	}
}

func BenchmarkScanDir100(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("pod-%03d", i)
		writeFile(b, filepath.Join(dir, name+".yaml"), apiserverManifest(name))
	}
	for b.Loop() {
		if s := ScanDir(dir); len(s.Pods()) != 100 {
			b.Fatalf("%d pods", len(s.Pods()))
		}
	}
}

func BenchmarkLoadConfig100(b *testing.B) {
	var cfg strings.Builder
	cfg.WriteString("pods:\n")
	for i := 0; i < 100; i++ {
		for _, line := range strings.Split(strings.TrimSuffix(apiserverManifest(fmt.Sprintf("pod-%03d", i)), "\n"), "\n") {
			if strings.HasPrefix(line, "apiVersion") {
				cfg.WriteString("- " + line + "\n")
			} else {
				cfg.WriteString("  " + line + "\n")
			}
		}
	}
	data := []byte(cfg.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c, err := LoadConfig("pods.yaml", data)
		if err != nil || len(c.Pods) != 100 {
			b.Fatalf("%v", err)
		}
	}
}
