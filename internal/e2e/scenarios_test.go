package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/testnode"
	"github.com/spdoc/spdoc/internal/testtier"
)

const crashLine = "fatal: cannot open /etc/app/config.yaml: no such file or directory"

// TestRootKubeletBrokenNode runs one real node (JSON kubelet log, no CNI) with a healthy pod and
// every kind of broken static pod, and checks spdoc's diagnosis of each; then edits a running
// pod's manifest invalid, writes a manifest non-atomically, and stops containerd.
func TestRootKubeletBrokenNode(t *testing.T) {
	testtier.RealNode(t) // before building or checking anything: the fast tier skips at once
	requireSpdoc(t)
	n := testnode.Start(t, testnode.Options{})
	manifests := map[string]string{
		"healthy.yaml":          testnode.HealthyPod("healthy"),
		"invalid.yaml":          testnode.NoContainersPod("invalid"),
		"yaml-error.yaml":       testnode.YAMLErrorPod("yaml-error"),
		"missing-image.yaml":    testnode.ImagePod("missing-image", "spdoc.local/not-imported:1", "Never"),
		"unpullable.yaml":       testnode.ImagePod("unpullable", "registry.spdoc.invalid/app:1", "IfNotPresent"),
		"crashloop.yaml":        testnode.CrashLoopPod("crashloop", crashLine, 3),
		"missing-hostpath.yaml": testnode.HostPathPod("missing-hostpath", "/srv/spdoc-missing-dir"),
		"no-cni.yaml":           testnode.PodNetworkPod("no-cni"),
		"liveness.yaml":         testnode.LivenessFailPod("liveness"),
		"dup-a.yaml":            testnode.HealthyPod("dup"),
		"dup-b.yaml":            testnode.HealthyPod("dup"),
		"edited.yaml":           testnode.HealthyPod("edited"),
	}
	for name, content := range manifests {
		if err := n.WriteManifest(name, content); err != nil {
			t.Fatal(err)
		}
	}
	const wait = 2 * time.Minute
	t.Cleanup(func() {
		// Broken pods are problems: exit code 1.
		if _, code, err := diagnoseExit(n); err != nil || code != 1 {
			t.Errorf("broken node: exit code %d (err %v), want 1", code, err)
		}
	})

	for _, tc := range []struct {
		name   string
		expect expectation
	}{
		{"healthy hostNetwork pod", healthy("healthy")},
		{"spec.containers Required value", hasFinding(diagnose.KindManifestInvalid, "invalid.yaml", "", nil, "spec.containers")},
		{"YAML syntax error with line", hasFinding(diagnose.KindManifestUnparseable, "yaml-error.yaml", "", nil, "line 5")},
		{"missing image with pull policy Never", hasFinding(diagnose.KindImageNotPresent, "missing-image.yaml", "missing-image", nil)},
		{"unpullable image", hasFinding(diagnose.KindImagePullFailed, "unpullable.yaml", "unpullable", nil)},
		{"container exiting 3", all(
			hasFinding(diagnose.KindCrashLoop, "crashloop.yaml", "crashloop", int32p(3)),
			evidenceHas(diagnose.KindCrashLoop, "crashloop.yaml", "crashloop", crashLine))},
		{"missing hostPath Directory", hasFinding(diagnose.KindVolumeMountFailed, "missing-hostpath.yaml", "missing-hostpath", nil)},
		{"pod network without CNI", hasFinding(diagnose.KindNetworkNotReady, "no-cni.yaml", "no-cni", nil)},
		{"failing liveness probe", hasFinding(diagnose.KindProbeFailed, "liveness.yaml", "liveness", nil)},
		{"two files define the same pod", all(
			hasFinding(diagnose.KindDuplicatePod, "dup-a.yaml", "dup", nil),
			hasFinding(diagnose.KindDuplicatePod, "dup-b.yaml", "dup", nil))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			waitReport(t, n, wait, tc.name, tc.expect)
		})
	}

	t.Run("running pod's manifest edited invalid", func(t *testing.T) {
		waitReport(t, n, wait, "edited pod healthy before the edit", healthy("edited"))
		if err := n.WriteManifest("edited.yaml", testnode.InvalidImagePod("edited")); err != nil {
			t.Fatal(err)
		}
		n.WaitFor(t, wait, "kubelet drops the edited pod", func() (bool, string) {
			p, err := n.Pod("default", "edited")
			if err != nil {
				return false, err.Error()
			}
			return p == nil, "still listed by the kubelet"
		})
		waitReport(t, n, wait, "edited manifest invalid and pod gone", all(
			hasFinding(diagnose.KindManifestInvalid, "edited.yaml", "", nil, "image"),
			podGone("edited")))
	})

	t.Run("manifest written non-atomically", func(t *testing.T) {
		if err := n.WriteManifestNonAtomic("late.yaml", testnode.HealthyPod("late"), 1500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		n.WaitFor(t, wait, "kubelet reports the half-written file", func() (bool, string) {
			data, err := os.ReadFile(n.KubeletLog)
			return err == nil && strings.Contains(string(data), "late.yaml"), "no kubelet record names late.yaml"
		})
		waitReport(t, n, wait, "transient parse error recognised and pod running", all(
			transientParseError("late.yaml"), healthy("late")))
	})

	t.Run("containerd stopped", func(t *testing.T) {
		if err := n.StopContainerd(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := n.StartContainerd(); err != nil {
				t.Errorf("restarting containerd: %v", err)
			}
		})
		waitReport(t, n, wait, "runtime unreachable while manifest findings still show", all(
			hasFinding(diagnose.KindRuntimeUnreachable, "", "", nil),
			nodeLevel(diagnose.KindRuntimeUnreachable),
			hasFinding(diagnose.KindManifestInvalid, "invalid.yaml", "", nil, "spec.containers"),
			hasFinding(diagnose.KindManifestUnparseable, "yaml-error.yaml", "", nil)))
	})
}

// nodeLevel expects a current finding of kind among the node findings.
func nodeLevel(kind diagnose.Kind) expectation {
	return func(r *diagnose.Report) string {
		for _, f := range r.Node.Findings {
			if f.Kind == kind && !f.History {
				return ""
			}
		}
		return fmt.Sprintf("no current node-level %s finding", kind)
	}
}

// podGone expects the pod to have no running container: absent, or state Gone/Invalid/NotStarted.
func podGone(pod string) expectation {
	return func(r *diagnose.Report) string {
		p := podReport(r, pod)
		if p == nil {
			return ""
		}
		for _, c := range p.Containers {
			if c.State == "running" {
				return fmt.Sprintf("pod %s container %s still running (pod state %s)", pod, c.Name, p.State)
			}
		}
		switch p.State {
		case "Gone", "Invalid", "NotStarted":
			return ""
		}
		return fmt.Sprintf("pod %s state %q, want Gone, Invalid or NotStarted", pod, p.State)
	}
}

// transientParseError expects the half-written read of file to be recognised: a
// TransientParseError, or a parse/validation finding kept as history.
func transientParseError(file string) expectation {
	return func(r *diagnose.Report) string {
		if len(find(r, diagnose.KindTransientParseError, file, "")) > 0 {
			return ""
		}
		for _, kind := range []diagnose.Kind{diagnose.KindManifestUnparseable, diagnose.KindManifestInvalid} {
			for _, f := range find(r, kind, file, "") {
				if f.History {
					return ""
				}
			}
		}
		return "no TransientParseError (or history parse finding) about " + file
	}
}

// TestRootKubeletHealthyPodNetwork runs a pod that is not hostNetwork on a node with a bridge CNI
// config and expects spdoc to find nothing wrong with it.
func TestRootKubeletHealthyPodNetwork(t *testing.T) {
	testtier.RealNode(t) // before building or checking anything: the fast tier skips at once
	requireSpdoc(t)
	n := testnode.Start(t, testnode.Options{CNI: true})
	if err := n.WriteManifest("web.yaml", testnode.PodNetworkPod("web")); err != nil {
		t.Fatal(err)
	}
	r := waitReport(t, n, 2*time.Minute, "pod-network pod healthy", healthy("web"))
	if got := find(r, diagnose.KindNetworkNotReady, "", ""); len(got) > 0 {
		t.Errorf("NetworkNotReady on a node with CNI: %v", got)
	}
	// A node whose only pod is healthy has no problems: exit code 0 and Problems() false.
	r, code, err := diagnoseExit(n)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || r.Problems() {
		t.Errorf("healthy node: exit code %d, Problems() %v, want 0 and false\n%s", code, r.Problems(), summary(r))
	}
}

// TestRootKubeletTextLog checks live diagnosis from a klog text-format kubelet log, the default
// on kubeadm nodes.
func TestRootKubeletTextLog(t *testing.T) {
	testtier.RealNode(t) // before building or checking anything: the fast tier skips at once
	requireSpdoc(t)
	n := testnode.Start(t, testnode.Options{LogFormat: "text"})
	for name, content := range map[string]string{
		"healthy.yaml":   testnode.HealthyPod("healthy"),
		"invalid.yaml":   testnode.NoContainersPod("invalid"),
		"crashloop.yaml": testnode.CrashLoopPod("crashloop", crashLine, 3),
	} {
		if err := n.WriteManifest(name, content); err != nil {
			t.Fatal(err)
		}
	}
	waitReport(t, n, 2*time.Minute, "text-log findings", all(
		healthy("healthy"),
		hasFinding(diagnose.KindManifestInvalid, "invalid.yaml", "", nil, "spec.containers"),
		hasFinding(diagnose.KindCrashLoop, "crashloop.yaml", "crashloop", int32p(3)),
		evidenceHas(diagnose.KindCrashLoop, "crashloop.yaml", "crashloop", crashLine),
		logReadAs("klog", kubeletVersion(t))))
}

// kubeletVersion is what the kubelet under test says about itself ("v1.34.4"), from
// `kubelet --version` ("Kubernetes v1.34.4").
func kubeletVersion(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SPDOC_KUBELET")
	if bin == "" {
		t.Fatal("SPDOC_KUBELET is not set (hack/test.sh sets it)")
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", bin, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		t.Fatalf("%s --version printed %q", bin, out)
	}
	return f[len(f)-1]
}

// logReadAs: the report says how the kubelet log was read — its shape and the version the
// kubelet announced at start-up.
func logReadAs(shape, version string) expectation {
	return func(r *diagnose.Report) string {
		l := r.Node.Log
		if l == nil || l.Shape != shape || l.KubeletVersion != version {
			return fmt.Sprintf("log read as %+v, want shape %s, kubelet %s", l, shape, version)
		}
		return ""
	}
}
