package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/testnode"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
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

// readyFromKubelet expects each control-plane pod Ready by the kubelet's own /pods (its probes),
// which spdoc reads on the kubelet's authenticated port.
func readyFromKubelet(r *diagnose.Report) string {
	for _, comp := range testnode.ControlPlaneComponents {
		p := systemPod(r, comp)
		if p == nil || p.Ready == nil || !*p.Ready || !strings.HasPrefix(p.StatusSource, "kubelet /pods") {
			node, _ := json.Marshal(r.Node)
			return fmt.Sprintf("pod kube-system/%s not Ready from the kubelet's /pods: %+v\nnode: %s", comp, p, node)
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

// noCurrentWarnings expects no current finding of severity warning or above anywhere: a healthy
// node's report has only history and context.
func noCurrentWarnings(r *diagnose.Report) string {
	for _, l := range allFindings(r) {
		if (l.Severity == diagnose.SeverityError || l.Severity == diagnose.SeverityWarning) && !l.History {
			return "current " + string(l.Severity) + " finding on a healthy node: " + l.String() + "\n" + l.text()
		}
	}
	return ""
}

// TestRootKubeletControlPlane runs a kubeadm-made control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler as static pods of a kubelet registered with that API
// server) and checks spdoc's diagnosis of it, healthy first.
func TestRootKubeletControlPlane(t *testing.T) {
	requireSpdoc(t)
	t.Parallel()
	c := testnode.StartControlPlane(t, testnode.ControlPlaneOptions{})
	ctx := context.Background()

	t.Run("healthy", func(t *testing.T) {
		r := waitControlPlaneReport(t, c, 2*time.Minute, "four running control-plane pods, no error", all(componentsRunning, readyFromKubelet, noCurrentErrors, noKind(diagnose.KindMirrorPodMissing)))
		// The kubelet's startup refusals to create mirror pods (the API server was still coming up:
		// "no PriorityClass with name system-node-critical was found") are history once the mirror
		// pods exist: a healthy control plane has no current warning and no current MirrorPodFailed.
		for _, e := range []expectation{noCurrentWarnings, noKind(diagnose.KindMirrorPodFailed)} {
			if why := e(r); why != "" {
				t.Errorf("healthy control plane: %s\nreport:\n%s", why, summary(r))
			}
		}
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
	if t.Failed() {
		return
	}
	controlPlaneScenarios(t, c)
}

// noKind expects no current finding of kind anywhere.
func noKind(kind diagnose.Kind) expectation {
	return func(r *diagnose.Report) string {
		for _, l := range allFindings(r) {
			if l.Kind == kind && !l.History {
				return "unexpected finding " + l.String() + "\n" + l.text()
			}
		}
		return ""
	}
}

// cpFinding expects a current finding of kind about pod namespace/name (a kube-system component
// when namespace is empty) whose text contains each of contains.
func cpFinding(kind diagnose.Kind, namespace, name string, contains ...string) expectation {
	if namespace == "" {
		namespace = "kube-system"
	}
	id := namespace + "-" + name
	return func(r *diagnose.Report) string {
		var seen []string
	next:
		for _, l := range allFindings(r) {
			if l.Kind != kind || l.History || (l.Pod != id && (l.pod == nil || l.pod.ID != id)) {
				continue
			}
			for _, c := range contains {
				if !strings.Contains(l.text(), c) {
					seen = append(seen, l.text())
					continue next
				}
			}
			return ""
		}
		if len(seen) > 0 {
			return fmt.Sprintf("%s findings about %s lack %q:\n%s", kind, id, contains, strings.Join(seen, "\n---\n"))
		}
		return fmt.Sprintf("no current %s finding about %s", kind, id)
	}
}

// foldedUnder expects every current failure finding (crash loop, failed or restarted container,
// failing probe) of kube-system pod name to name cause as its cause, and at least one to exist.
func foldedUnder(name string, cause diagnose.Kind) expectation {
	return func(r *diagnose.Report) string {
		p := systemPod(r, name)
		if p == nil {
			return "pod kube-system/" + name + " not in report"
		}
		n := 0
		for _, f := range p.Findings {
			switch f.Kind {
			case diagnose.KindCrashLoop, diagnose.KindContainerFailed, diagnose.KindContainerRestarted, diagnose.KindProbeFailed:
			default:
				continue
			}
			if f.History {
				continue
			}
			if f.Cause != cause {
				return fmt.Sprintf("%s of %s has cause %q, want it folded under %s", f.Kind, p.ID, f.Cause, cause)
			}
			n++
		}
		if n == 0 {
			return "no current failure finding of " + p.ID + " (its crash loop) folded under " + string(cause)
		}
		return ""
	}
}

// nodeFinding expects a current node-level finding of kind whose text contains each of contains.
func nodeFinding(kind diagnose.Kind, contains ...string) expectation {
	return func(r *diagnose.Report) string {
	next:
		for _, f := range r.Node.Findings {
			if f.Kind != kind || f.History {
				continue
			}
			l := located{Finding: f}
			for _, c := range contains {
				if !strings.Contains(l.text(), c) {
					continue next
				}
			}
			return ""
		}
		return fmt.Sprintf("no current node-level %s finding with %q", kind, contains)
	}
}

// stateIs expects pod namespace/name in the report with state.
func stateIs(namespace, name string, states ...string) expectation {
	return func(r *diagnose.Report) string {
		for _, p := range r.Pods {
			if p.Namespace == namespace && p.Name == name {
				for _, s := range states {
					if string(p.State) == s {
						return ""
					}
				}
				return fmt.Sprintf("pod %s state %q, want one of %v", p.ID, p.State, states)
			}
		}
		return "pod " + namespace + "/" + name + " not in report"
	}
}

// statusIs expects pod namespace/name in the report with kubectl's STATUS status.
func statusIs(namespace, name, status string) expectation {
	return func(r *diagnose.Report) string {
		for _, p := range r.Pods {
			if p.Namespace == namespace && p.Name == name {
				if got := p.KubectlStatus(); got != status {
					return fmt.Sprintf("pod %s STATUS %q, want %q", p.ID, got, status)
				}
				return ""
			}
		}
		return "pod " + namespace + "/" + name + " not in report"
	}
}

// lineOf returns the 1-based line of the manifest of comp that contains text, or fails t.
func lineOf(t *testing.T, c *testnode.ControlPlane, comp, text string) int {
	t.Helper()
	data, err := os.ReadFile(c.ManifestPath(comp))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	t.Fatalf("%s manifest has no line with %q:\n%s", comp, text, data)
	return 0
}

// editManifest rewrites comp's manifest with edit applied and returns a function that puts the
// original back.
func editManifest(t *testing.T, c *testnode.ControlPlane, comp string, edit func(string) string) (restore func()) {
	t.Helper()
	path := c.ManifestPath(comp)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := edit(string(orig))
	if changed == string(orig) {
		t.Fatalf("editing %s changed nothing", path)
	}
	if err := c.WriteManifest(comp+".yaml", changed); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := c.WriteManifest(comp+".yaml", string(orig)); err != nil {
			t.Errorf("restoring %s: %v", path, err)
		}
	}
}

// moveManifestAway moves comp's manifest out of the manifest dir (as an operator stopping a
// static pod does) and returns the function that moves it back.
func moveManifestAway(t *testing.T, c *testnode.ControlPlane, comp string) (restore func()) {
	t.Helper()
	parked := filepath.Join(c.Root, comp+".yaml.parked")
	if err := os.Rename(c.ManifestPath(comp), parked); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Rename(parked, c.ManifestPath(comp)); err != nil {
			t.Errorf("moving %s back: %v", comp, err)
		}
	}
}

// waitNoContainer waits until the node runs no container of the kubelet pod name.
func waitNoContainer(t *testing.T, c *testnode.ControlPlane, namespace, name string) {
	t.Helper()
	c.WaitFor(t, 2*time.Minute, "no running container of "+name, func() (bool, string) {
		rs, conn, err := c.RuntimeClient()
		if err != nil {
			return false, err.Error()
		}
		defer conn.Close()
		list, err := rs.ListContainers(context.Background(), &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
			State:         &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
			LabelSelector: map[string]string{"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace},
		}})
		if err != nil {
			return false, err.Error()
		}
		return len(list.Containers) == 0, fmt.Sprintf("%d running", len(list.Containers))
	})
}

// recover restarts the kubelet (which forgets crash-loop back-off, as `systemctl restart kubelet`
// does) and waits until the control plane is healthy again, so the next scenario starts clean.
func recoverControlPlane(t *testing.T, c *testnode.ControlPlane) {
	t.Helper()
	if err := c.RestartKubelet(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(context.Background(), 4*time.Minute); err != nil {
		t.Fatal(err)
	}
}

// busyboxHostPod is a hostNetwork busybox static pod running sh -c script.
func busyboxHostPod(namespace, name, script string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  hostNetwork: true
  containers:
  - name: main
    image: %s
    imagePullPolicy: Never
    command: ["sh", "-c", %q]
`, name, namespace, testnode.BusyboxImage, script)
}

// controlPlaneScenarios run one after another on one control plane, each leaving it healthy.
func controlPlaneScenarios(t *testing.T, c *testnode.ControlPlane) {
	const wait = 4 * time.Minute

	t.Run("mirror pod refused", func(t *testing.T) {
		// A static pod in a namespace that does not exist runs, but the API server refuses its
		// mirror pod: invisible to kubectl.
		if err := c.WriteManifest("refused.yaml", busyboxHostPod("spdoc-absent", "refused", "echo up; exec sleep 3600")); err != nil {
			t.Fatal(err)
		}
		waitControlPlaneReport(t, c, wait, "mirror pod refused, pod running", all(
			stateIs("spdoc-absent", "refused", "Running", "Ready"),
			cpFinding(diagnose.KindMirrorPodMissing, "spdoc-absent", "refused",
				"invisible to kubectl", `namespaces "spdoc-absent" not found`, "metadata.namespace")))
		if err := c.RemoveManifest("refused.yaml"); err != nil {
			t.Fatal(err)
		}
		waitNoContainer(t, c, "spdoc-absent", "refused-"+c.NodeName)
	})

	t.Run("expired certificate", func(t *testing.T) {
		// The API server reloads its serving certificate from disk: re-issued with NotAfter in
		// the past, every client's TLS to it fails while the file sits there.
		now := time.Now()
		if err := c.ReissueCertificate("apiserver", now.Add(-48*time.Hour), now.Add(-24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		line := lineOf(t, c, testnode.KubeAPIServer, "--tls-cert-file=")
		waitControlPlaneReport(t, c, wait, "CertificateExpired naming file, flag, line and renewal", cpFinding(diagnose.KindCertificateExpired, "", testnode.KubeAPIServer,
			"/etc/kubernetes/pki/apiserver.crt", "--tls-cert-file", fmt.Sprintf("kube-apiserver.yaml line %d", line), "expired on", "kubeadm certs renew apiserver"))
		// The way out spdoc names.
		if _, err := c.Kubeadm(context.Background(), "certs", "renew", "apiserver", "--config", c.KubeadmConfig); err != nil {
			t.Fatal(err)
		}
		recoverControlPlane(t, c)
	})

	t.Run("unknown flag", func(t *testing.T) {
		// --insecure-port was removed in v1.24: v1.34 exits with "unknown flag: --insecure-port".
		restore := editManifest(t, c, testnode.KubeAPIServer, func(m string) string {
			return strings.Replace(m, "    - kube-apiserver\n", "    - kube-apiserver\n    - --insecure-port=0\n", 1)
		})
		line := lineOf(t, c, testnode.KubeAPIServer, "--insecure-port=0")
		waitControlPlaneReport(t, c, wait, "UnknownFlag with its manifest line; mirror pods unchecked", all(
			cpFinding(diagnose.KindUnknownFlag, "", testnode.KubeAPIServer, "--insecure-port", fmt.Sprintf("kube-apiserver.yaml line %d", line)),
			foldedUnder(testnode.KubeAPIServer, diagnose.KindUnknownFlag),
			// Explained, the crash loop is still what the kubelet reports.
			stateIs("kube-system", testnode.KubeAPIServer, "CrashLoop"),
			statusIs("kube-system", testnode.KubeAPIServer, "CrashLoopBackOff"),
			nodeFinding(diagnose.KindMirrorPodsUnchecked, "mirror pods cannot be checked", c.APIServerURL)))
		restore()
		recoverControlPlane(t, c)
	})

	t.Run("missing mounted kubeconfig", func(t *testing.T) {
		// scheduler.conf comes from a FileOrCreate hostPath: deleted and the pod restarted, the
		// kubelet creates it empty and the scheduler cannot load it.
		conf := c.HostPath(c.Files.Scheduler)
		orig, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(conf); err != nil {
			t.Fatal(err)
		}
		back := moveManifestAway(t, c, testnode.KubeScheduler)
		waitNoContainer(t, c, "kube-system", c.PodName(testnode.KubeScheduler))
		back()
		waitControlPlaneReport(t, c, wait, "ReferencedFileMissing naming the kubeconfig and its hostPath type", all(
			cpFinding(diagnose.KindReferencedFileMissing, "", testnode.KubeScheduler, "/etc/kubernetes/scheduler.conf", "--kubeconfig", "FileOrCreate"),
			foldedUnder(testnode.KubeScheduler, diagnose.KindReferencedFileMissing)))
		if err := os.WriteFile(conf, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		back = moveManifestAway(t, c, testnode.KubeScheduler)
		waitNoContainer(t, c, "kube-system", c.PodName(testnode.KubeScheduler))
		back()
		recoverControlPlane(t, c)
	})

	t.Run("port held by another pod", func(t *testing.T) {
		// The API server stopped, a hostNetwork pod takes its port, the API server comes back
		// and cannot bind: the finding names the holder's process and pod.
		back := moveManifestAway(t, c, testnode.KubeAPIServer)
		waitNoContainer(t, c, "kube-system", c.PodName(testnode.KubeAPIServer))
		holder := busyboxHostPod("default", "port-holder", fmt.Sprintf("exec httpd -f -p 0.0.0.0:%d -h /tmp", c.Ports.APIServer))
		if err := c.WriteManifest("port-holder.yaml", holder); err != nil {
			t.Fatal(err)
		}
		c.WaitFor(t, 2*time.Minute, "port holder listening", func() (bool, string) {
			conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.Ports.APIServer), time.Second)
			if err != nil {
				return false, err.Error()
			}
			conn.Close()
			return true, ""
		})
		back()
		waitControlPlaneReport(t, c, wait, "PortInUse naming the holding process and pod", all(
			cpFinding(diagnose.KindPortInUse, "", testnode.KubeAPIServer, fmt.Sprint(c.Ports.APIServer), "httpd", "port-holder"),
			foldedUnder(testnode.KubeAPIServer, diagnose.KindPortInUse)))
		if err := c.RemoveManifest("port-holder.yaml"); err != nil {
			t.Fatal(err)
		}
		waitNoContainer(t, c, "default", "port-holder-"+c.NodeName)
		recoverControlPlane(t, c)
	})
}

// TestRootKubeletControlPlaneEtcdDown stops etcd on a control plane (its manifest moved away):
// the API server crash-loops on connection refused and spdoc names etcd as the root cause. Then,
// with the API server down, the scheduler's manifest changes and the kubelet restarts: the
// kubelet does not delete the old instance (its API source is not ready), and the new one cannot
// bind the port the old one holds — a stale instance.
func TestRootKubeletControlPlaneEtcdDown(t *testing.T) {
	requireSpdoc(t)
	t.Parallel()
	c := testnode.StartControlPlane(t, testnode.ControlPlaneOptions{})
	const wait = 5 * time.Minute

	t.Run("etcd not running", func(t *testing.T) {
		etcdBack := moveManifestAway(t, c, testnode.Etcd)
		waitControlPlaneReport(t, c, wait, "etcd named as the root cause, the API server's crash loop folded under it", all(
			cpFinding(diagnose.KindDependencyUnreachable, "", testnode.KubeAPIServer, "etcd", fmt.Sprintf("127.0.0.1:%d", c.Ports.EtcdClient)),
			foldedUnder(testnode.KubeAPIServer, diagnose.KindDependencyUnreachable),
			nodeFinding(diagnose.KindMirrorPodsUnchecked, "mirror pods cannot be checked")))
		etcdBack()
		recoverControlPlane(t, c)
	})

	t.Run("stale instance after a manifest change and a kubelet restart", func(t *testing.T) {
		// A scheduler without leader election keeps running while the API server is away (with
		// it, losing the lease ends the process), as a single-node cluster may run it.
		restoreScheduler := editManifest(t, c, testnode.KubeScheduler, func(m string) string {
			return strings.Replace(m, "    - --leader-elect=true\n", "    - --leader-elect=false\n", 1)
		})
		if err := c.WaitHealthy(context.Background(), wait); err != nil {
			t.Fatal(err)
		}
		apiBack := moveManifestAway(t, c, testnode.KubeAPIServer)
		waitNoContainer(t, c, "kube-system", c.PodName(testnode.KubeAPIServer))
		// The API server down, the manifest changes while the kubelet is stopped.
		if err := c.StopKubelet(); err != nil {
			t.Fatal(err)
		}
		editManifest(t, c, testnode.KubeScheduler, func(m string) string {
			return strings.Replace(m, "    - kube-scheduler\n", "    - kube-scheduler\n    - --v=2\n", 1)
		})
		if err := c.RestartKubelet(); err != nil {
			t.Fatal(err)
		}
		waitControlPlaneReport(t, c, wait, "StaleInstance: the old scheduler fights the new one for its port", all(
			cpFinding(diagnose.KindStaleInstance, "", testnode.KubeScheduler, "old instance", "crictl stopp"),
			cpFinding(diagnose.KindPortInUse, "", testnode.KubeScheduler, fmt.Sprint(c.Ports.Scheduler)),
			nodeFinding(diagnose.KindMirrorPodsUnchecked, "mirror pods cannot be checked", c.APIServerURL)))
		restoreScheduler()
		apiBack()
		recoverControlPlane(t, c)
	})
}
