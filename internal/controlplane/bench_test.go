package controlplane

import (
	"os"
	"os/exec"
	"testing"
)

// BenchmarkPorts finds who holds the ports kubeadm's four components need on this machine's real
// /proc, beside the baseline an operator would run: `ss -ltnp` (iproute2), which does the same
// inode → process walk for every listener.
func BenchmarkPorts(b *testing.B) {
	b.Run("spdoc", func(b *testing.B) {
		root := b.TempDir()
		ins := loadInstancesB(b, root)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Ports("/proc", ins); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-ss-ltnp", func(b *testing.B) {
		ss, err := exec.LookPath("ss")
		if err != nil {
			b.Skip("ss (iproute2) is not installed") // the baseline only; spdoc's row ran
		}
		for b.Loop() {
			if err := exec.Command(ss, "-ltnp").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheck checks every file of a kubeadm node (PKI, kubeconfigs, data dir) beside the
// baseline of parsing the same certificates with `openssl x509 -noout -enddate` once each.
func BenchmarkCheck(b *testing.B) {
	root := b.TempDir()
	ins := loadInstancesB(b, root)
	fsys := os.DirFS(root)
	b.Run("spdoc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Check(fsys, ins, CheckOptions{})
		}
	})
	b.Run("baseline-openssl-per-cert", func(b *testing.B) {
		openssl, err := exec.LookPath("openssl")
		if err != nil {
			b.Skip("openssl is not installed")
		}
		var certs []string
		for _, f := range Check(fsys, ins, CheckOptions{}) {
			if f.Kind == FileCert || f.Kind == FileCA {
				certs = append(certs, root+f.HostPath)
			}
		}
		for b.Loop() {
			for _, c := range certs {
				if err := exec.Command(openssl, "x509", "-noout", "-enddate", "-in", c).Run(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
