package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/testnode"
)

// diagnoseControlPlane runs `spdoc diagnose -o json` on a control-plane node the way an operator
// on that node would: inside its mount namespace, so /etc/kubernetes is the node's and the
// report names the paths kubeadm wrote.
func diagnoseControlPlane(c *testnode.ControlPlane, extra ...string) (*diagnose.Report, int, error) {
	if buildErr != nil {
		return nil, 0, buildErr
	}
	args := append([]string{"diagnose", "-o", "json",
		"--manifests", testnode.KubernetesDir + "/manifests",
		"--pod-logs-dir", c.PodLogsDir,
		"--kubelet-log", c.KubeletLog,
		"--runtime-endpoint", c.RuntimeEndpoint,
		"--node-name", c.NodeName,
	}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := c.Command(ctx, spdocBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			return nil, 0, fmt.Errorf("spdoc %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
		}
		code = 1
	}
	var r diagnose.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return nil, code, fmt.Errorf("decoding spdoc diagnose JSON: %v\nstdout: %.2000s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	return &r, code, nil
}

// waitControlPlaneReport polls spdoc diagnose on c until expect is met or timeout passes.
func waitControlPlaneReport(t *testing.T, c *testnode.ControlPlane, timeout time.Duration, desc string, expect expectation) *diagnose.Report {
	t.Helper()
	var last *diagnose.Report
	c.WaitFor(t, timeout, desc, func() (bool, string) {
		r, _, err := diagnoseControlPlane(c)
		if err != nil {
			return false, err.Error()
		}
		last = r
		if why := expect(r); why != "" {
			return false, why + "\nreport:\n" + summary(r)
		}
		return true, ""
	})
	return last
}

// systemPod returns the report of kube-system pod name (metadata.name, e.g. kube-apiserver).
func systemPod(r *diagnose.Report, name string) *diagnose.PodReport {
	for i := range r.Pods {
		if r.Pods[i].Namespace == "kube-system" && r.Pods[i].Name == name {
			return &r.Pods[i]
		}
	}
	return nil
}

// componentsRunning expects each control-plane static pod in the report, Running (from CRI) or
// Ready (when the kubelet's own status says so).
func componentsRunning(r *diagnose.Report) string {
	for _, comp := range testnode.ControlPlaneComponents {
		p := systemPod(r, comp)
		if p == nil {
			return "pod kube-system/" + comp + " not in report"
		}
		if p.State != "Running" && p.State != "Ready" {
			return fmt.Sprintf("pod %s state %q, want Running or Ready", p.ID, p.State)
		}
	}
	return ""
}

// noCurrentErrors expects no current error finding anywhere in the report.
func noCurrentErrors(r *diagnose.Report) string {
	for _, l := range allFindings(r) {
		if l.Severity == diagnose.SeverityError && !l.History {
			return "current error finding: " + l.String() + "\n" + l.text()
		}
	}
	return ""
}

// TestRootKubeletControlPlane runs a kubeadm-made control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler as static pods of a kubelet registered with that API
// server) and checks spdoc's diagnosis of it, healthy first.
func TestRootKubeletControlPlane(t *testing.T) {
	requireSpdoc(t)
	c := testnode.StartControlPlane(t, testnode.ControlPlaneOptions{})
	ctx := context.Background()

	t.Run("healthy", func(t *testing.T) {
		r := waitControlPlaneReport(t, c, 2*time.Minute, "four running control-plane pods, no error", all(componentsRunning, noCurrentErrors))
		if len(r.Pods) != len(testnode.ControlPlaneComponents) {
			t.Errorf("report has %d pods, want the %d components:\n%s", len(r.Pods), len(testnode.ControlPlaneComponents), summary(r))
		}
		for _, comp := range testnode.ControlPlaneComponents {
			p := systemPod(r, comp)
			if want := "/etc/kubernetes/manifests/" + comp + ".yaml"; p.Manifest != want {
				t.Errorf("pod %s manifest %q, want %q", p.ID, p.Manifest, want)
			}
			if p.KubeletName != c.PodName(comp) {
				t.Errorf("pod %s kubelet name %q, want %q", p.ID, p.KubeletName, c.PodName(comp))
			}
		}
		mirrors, err := c.MirrorPods(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(mirrors) != len(testnode.ControlPlaneComponents) {
			t.Errorf("%d mirror pods in the API, want %d", len(mirrors), len(testnode.ControlPlaneComponents))
		}
		for _, m := range mirrors {
			hash := m.Annotations["kubernetes.io/config.hash"]
			if p := systemPod(r, strings.TrimSuffix(m.Name, "-"+c.NodeName)); p == nil || p.UID != hash {
				t.Errorf("mirror pod %s (config.hash %s) has no pod of that UID in the report:\n%s", m.Name, hash, summary(r))
			}
		}
	})
}
