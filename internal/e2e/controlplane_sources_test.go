package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/testnode"
)

// TestRootKubeletControlPlaneSources: on a real kubeadm control plane spdoc reads every pod's
// status from the kubelet's /pods (10250, the API server's kubelet client certificate), finds
// the four mirror pods current, and no certificate problem; with the API server's manifest moved
// away, it says mirror pods cannot be checked and why, and the controller manager and scheduler
// (when they crash) are explained by the API server they cannot reach.
func TestRootKubeletControlPlaneSources(t *testing.T) {
	requireSpdoc(t)
	c := testnode.StartControlPlane(t, testnode.ControlPlaneOptions{})

	r := waitControlPlaneReport(t, c, 2*time.Minute, "four running control-plane pods, statuses from the kubelet", all(componentsRunning, noCurrentErrors, func(r *diagnose.Report) string {
		for _, p := range r.Pods {
			if !strings.HasPrefix(p.StatusSource, "kubelet /pods") {
				return p.ID + " status from " + p.StatusSource + "; kubelet API: " + r.Node.KubeletAPI
			}
		}
		return ""
	}))
	if !strings.Contains(r.Node.KubeletAPI, "apiserver-kubelet-client.crt") {
		t.Errorf("kubelet API = %q", r.Node.KubeletAPI)
	}
	for _, p := range r.Pods {
		if p.Ready == nil || !*p.Ready {
			t.Errorf("%s: ready %v from the kubelet", p.ID, p.Ready)
		}
		if p.Mirror == nil || p.Mirror.Mirror != p.UID {
			t.Errorf("%s: mirror pod %+v, uid %s", p.ID, p.Mirror, p.UID)
		}
		for _, f := range p.Findings {
			switch f.Kind {
			case diagnose.KindMirrorPodMissing, diagnose.KindMirrorPodOutdated, diagnose.KindCertificateExpired,
				diagnose.KindCertificateExpiring, diagnose.KindCertificateInvalid, diagnose.KindReferencedFileMissing:
				t.Errorf("%s: %s on a healthy control plane: %s", p.ID, f.Kind, f.Title)
			}
		}
	}

	// The API server goes away.
	moved := filepath.Join(c.KubernetesDir, "kube-apiserver.yaml.moved")
	if err := os.Rename(c.ManifestPath("kube-apiserver"), moved); err != nil {
		t.Fatal(err)
	}
	r = waitControlPlaneReport(t, c, 2*time.Minute, "mirror pods unchecked: the API server is unreachable", func(r *diagnose.Report) string {
		for _, f := range r.Node.Findings {
			if f.Kind == diagnose.KindMirrorPodsUnchecked && strings.Contains(f.Title, "unreachable") {
				return ""
			}
		}
		return "no MirrorPodsUnchecked (unreachable) yet"
	})
	for _, f := range r.Node.Findings {
		if f.Kind == diagnose.KindMirrorPodsUnchecked && (f.Severity != diagnose.SeverityInfo || !strings.Contains(f.Detail, "connection refused")) {
			t.Errorf("unchecked = %+v", f)
		}
	}
	if r.Problems() && hasError(r, "kube-system-etcd") {
		t.Errorf("etcd has errors with the API server gone:\n%s", summary(r))
	}
}

func hasError(r *diagnose.Report, id string) bool {
	for _, p := range r.Pods {
		if p.ID != id {
			continue
		}
		for _, f := range p.Findings {
			if !f.History && f.Cause == "" && f.Severity == diagnose.SeverityError {
				return true
			}
		}
	}
	return false
}
