package bundle

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
)

// TestRoundTripKernelLog: the kernel log a diagnosis read (here --kernel-log, outside the copied
// node) travels in the bundle as var/log/dmesg, and the bundle read back gives the same kernel
// findings.
func TestRoundTripKernelLog(t *testing.T) {
	root := layNode(t)
	klog := filepath.Join(t.TempDir(), "dmesg.txt")
	if err := os.WriteFile(klog, []byte("[    0.000000] Linux version 6.12.40\n[ 5120.500000] nf_conntrack: nf_conntrack: table full, dropping packet\n[ 5121.000000] EXT4-fs (sda1): Remounting filesystem read-only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := node.NewLocal(node.LocalOptions{Root: root, NodeName: nodeName, KernelLog: klog})
	orig, err := c.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := Write(context.Background(), out, c, testOptions(root)); err != nil {
		t.Fatal(err)
	}
	back, dir := readBack(t, out)
	if _, err := os.Stat(filepath.Join(dir, KernelLogPath)); err != nil {
		t.Fatalf("bundle has no %s: %v", KernelLogPath, err)
	}
	if back.Kernel == nil || len(back.Kernel.Events) != len(orig.Kernel.Events) || len(orig.Kernel.Events) != 2 {
		t.Fatalf("kernel events %+v after the round trip, %+v before", back.Kernel, orig.Kernel)
	}
	kindsOf := func(s *node.Snapshot) map[diagnose.Kind]string {
		m := map[diagnose.Kind]string{}
		for _, f := range diagnose.Analyze(s, diagnose.Options{}).Node.Findings {
			m[f.Kind] = f.Subject
		}
		return m
	}
	want, got := kindsOf(orig), kindsOf(back)
	if want[diagnose.KindKernelDiskError] != "sda1" || want[diagnose.KindKernelNetworkError] != "nf_conntrack" {
		t.Fatalf("original report's kernel findings: %v", want)
	}
	for _, k := range []diagnose.Kind{diagnose.KindKernelDiskError, diagnose.KindKernelNetworkError} {
		if got[k] != want[k] {
			t.Errorf("%s about %q, after the round trip %q", k, want[k], got[k])
		}
	}
}
