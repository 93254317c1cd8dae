package testnode

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrVersionSkew: the kubelet and the control plane it would join are outside Kubernetes' version
// skew policy (https://kubernetes.io/releases/version-skew-policy/#kubelet): a kubelet must not be
// newer than the API server, nor more than three minor versions older.
var ErrVersionSkew = errors.New("kubelet and control plane outside the version skew policy")

var reVersion = regexp.MustCompile(`\bv(\d+)\.(\d+)\.(\d+)\S*`)

// binaryVersion asks a Kubernetes binary for its version: `--version` ("Kubernetes v1.34.4"), or
// for kubeadm, which has no such flag, `version -o short` ("v1.34.4").
func binaryVersion(ctx context.Context, component, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := []string{"--version"}
	if component == "kubeadm" {
		args = []string{"version", "-o", "short"}
	}
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", path, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	v := reVersion.FindString(string(out))
	if v == "" {
		return "", fmt.Errorf("%s %s printed no version: %q", path, strings.Join(args, " "), strings.TrimSpace(string(out)))
	}
	return v, nil
}

// minorOf returns the minor version of vX.Y.Z.
func minorOf(v string) (major, minor int, ok bool) {
	m := reVersion.FindStringSubmatch(v)
	if m == nil {
		return 0, 0, false
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	return major, minor, true
}

// checkKubeletSkew says whether a kubelet of version kubelet may join a control plane of version
// controlPlane, and what to run instead when it may not.
func checkKubeletSkew(kubelet, controlPlane string) error {
	kmaj, kmin, ok1 := minorOf(kubelet)
	cmaj, cmin, ok2 := minorOf(controlPlane)
	if !ok1 || !ok2 {
		return fmt.Errorf("kubelet %q, control plane %q: %w (versions do not parse)", kubelet, controlPlane, ErrVersionSkew)
	}
	switch {
	case kmaj != cmaj || kmin > cmin:
		return fmt.Errorf("kubelet %s is newer than the control plane %s (kube-apiserver, kube-controller-manager, kube-scheduler, kubeadm): %w; "+
			"run the control-plane tests with SPDOC_KUBELET=$(hack/build-kubelet.sh %s) (test.sh runs the newest kubelet with -skip ControlPlane)",
			kubelet, controlPlane, ErrVersionSkew, controlPlane)
	case cmin-kmin > 3:
		return fmt.Errorf("kubelet %s is more than three minor versions older than the control plane %s: %w; use a kubelet of v1.%d or newer",
			kubelet, controlPlane, ErrVersionSkew, cmin-3)
	}
	return nil
}
