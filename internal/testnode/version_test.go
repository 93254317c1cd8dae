package testnode

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/testtier"
)

// TestKubeletSkew: the pairs the harness accepts are the version skew policy's: a kubelet never
// newer than the control plane, at most three minors older.
func TestKubeletSkew(t *testing.T) {
	for _, tc := range []struct {
		kubelet, cp string
		ok          bool
		say         string
	}{
		{"v1.34.4", "v1.34.4", true, ""},
		{"v1.34.1", "v1.34.4", true, ""},
		{"v1.31.0", "v1.34.4", true, ""},
		{"v1.37.2", "v1.34.4", false, "hack/build-kubelet.sh v1.34.4"},
		{"v1.35.0-alpha.1", "v1.34.4", false, "newer than the control plane"},
		{"v1.30.9", "v1.34.4", false, "v1.31 or newer"},
		{"v2.0.0", "v1.34.4", false, "newer"},
		{"garbage", "v1.34.4", false, "do not parse"},
	} {
		err := checkKubeletSkew(tc.kubelet, tc.cp)
		if tc.ok != (err == nil) {
			t.Errorf("kubelet %s, control plane %s: err %v, want ok=%v", tc.kubelet, tc.cp, err, tc.ok)
			continue
		}
		if err != nil && (!errors.Is(err, ErrVersionSkew) || !strings.Contains(err.Error(), tc.say)) {
			t.Errorf("kubelet %s, control plane %s: err %v, want ErrVersionSkew saying %q", tc.kubelet, tc.cp, err, tc.say)
		}
	}
}

// TestRootKubeletControlPlaneRefusesANewerKubelet: given the newest kubelet the CI builds (newer
// than the control plane builds), the harness says so at once, naming the kubelet to use, and
// starts nothing; the real binaries' versions are read, not assumed.
func TestRootKubeletControlPlaneRefusesANewerKubelet(t *testing.T) {
	testtier.RealNode(t)
	paths, err := runBuildScript("hack/build-kubelet.sh", "v1.37.2")
	if err != nil {
		t.Fatal(err)
	}
	kubelet := paths[len(paths)-1]
	if v, err := binaryVersion(context.Background(), "kubelet", kubelet); err != nil || v != "v1.37.2" {
		t.Fatalf("%s reports %q (%v), want v1.37.2", kubelet, v, err)
	}
	start := time.Now()
	c, err := NewControlPlane(context.Background(), ControlPlaneOptions{Options: Options{Kubelet: kubelet, Logf: t.Logf}})
	if err == nil {
		c.Close()
		t.Fatal("a control plane started with a kubelet newer than its API server")
	}
	if !errors.Is(err, ErrVersionSkew) || !strings.Contains(err.Error(), "kubelet v1.37.2 is newer than the control plane "+KubernetesVersion) {
		t.Errorf("err = %v, want ErrVersionSkew naming both versions", err)
	}
	t.Logf("refused in %s: %v", time.Since(start).Round(time.Millisecond), err)
}
