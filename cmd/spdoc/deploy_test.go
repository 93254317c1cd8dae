package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/spdoc/spdoc/internal/testtier"
)

var updateDeploy = flag.Bool("update-deploy", false, "regenerate deploy/kustomize/base/prometheusrule.yaml from deploy/prometheus/spdoc-rules.yaml")

const deployDir = "../../deploy"

func readDeploy(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDeployDaemonSet decodes the DaemonSet strictly and runs its arguments through the agent's
// own command: every flag must exist and validate, the probes must hit the plain loopback
// listener it opens, and every host path but the agent's socket dir is read-only.
func TestDeployDaemonSet(t *testing.T) {
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(readDeploy(t, "kustomize/base/daemonset.yaml"), &ds); err != nil {
		t.Fatalf("daemonset.yaml: %v", err)
	}
	spec := ds.Spec.Template.Spec
	if !spec.HostNetwork || !spec.HostPID || spec.PriorityClassName != "system-node-critical" || spec.ServiceAccountName != "spdoc-agent" {
		t.Errorf("pod spec: hostNetwork %v hostPID %v priority %q sa %q", spec.HostNetwork, spec.HostPID, spec.PriorityClassName, spec.ServiceAccountName)
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != corev1.TolerationOpExists || spec.Tolerations[0].Key != "" {
		t.Errorf("tolerations %+v: want one that tolerates every taint (control-plane nodes)", spec.Tolerations)
	}
	if ds.Spec.Selector == nil || !reflect.DeepEqual(ds.Spec.Selector.MatchLabels, map[string]string{"app.kubernetes.io/name": "spdoc-agent"}) {
		t.Errorf("selector %+v", ds.Spec.Selector)
	}
	c := spec.Containers[0]
	if c.Args[0] != "agent" {
		t.Fatalf("args %v: want the agent subcommand first", c.Args)
	}
	o := &agentOptions{}
	if err := newAgentCmdWith(o).ParseFlags(c.Args[1:]); err != nil {
		t.Fatalf("the agent does not accept the DaemonSet's args: %v", err)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("the agent refuses the DaemonSet's args: %v", err)
	}
	if !o.observeOnly {
		t.Error("the base DaemonSet must observe only (its manifest dir mount is read-only)")
	}
	if !slices.Contains(o.metricsListen, "http://127.0.0.1:9708") || !slices.Contains(o.metricsListen, "tcp://0.0.0.0:9707") {
		t.Errorf("--metrics-listen %v: want the mTLS port 9707 and the probes' loopback 9708", o.metricsListen)
	}
	for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Host != "127.0.0.1" || p.HTTPGet.Port.IntValue() != 9708 || p.HTTPGet.Path != "/healthz" {
			t.Errorf("probe %+v: want GET http://127.0.0.1:9708/healthz", p)
		}
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 9707 || c.Ports[0].Name != "metrics" {
		t.Errorf("ports %+v", c.Ports)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu/memory requests and a memory limit", c.Resources)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			t.Errorf("mount %s has no volume", m.Name)
			continue
		}
		if v.HostPath != nil && !m.ReadOnly && v.HostPath.Path != "/run/spdoc" {
			t.Errorf("host path %s is mounted read-write; only /run/spdoc (the API socket) may be", v.HostPath.Path)
		}
	}
	for _, path := range []string{"/etc/kubernetes", "/var/log", "/var/lib/kubelet", "/run/containerd/containerd.sock"} {
		found := false
		for _, v := range spec.Volumes {
			found = found || (v.HostPath != nil && v.HostPath.Path == path)
		}
		if !found {
			t.Errorf("host path %s not mounted", path)
		}
	}
}

// TestDeployRBAC: the ClusterRole grants exactly what the reporter calls.
func TestDeployRBAC(t *testing.T) {
	docs := splitYAML(t, readDeploy(t, "kustomize/base/rbac.yaml"))
	var role rbacv1.ClusterRole
	for _, d := range docs {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(d, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Kind == "ClusterRole" {
			if err := yaml.UnmarshalStrict(d, &role); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(role.Rules) == 0 {
		t.Fatal("rbac.yaml has no ClusterRole rules")
	}
	can := func(res, verb string) bool {
		for _, r := range role.Rules {
			if slices.Contains(r.Resources, res) && slices.Contains(r.Verbs, verb) {
				return true
			}
		}
		return false
	}
	for _, need := range [][2]string{{"nodes/status", "patch"}, {"events", "create"}, {"pods", "get"}, {"nodes", "get"}} {
		if !can(need[0], need[1]) {
			t.Errorf("ClusterRole lacks %s on %s", need[1], need[0])
		}
	}
	if can("nodes", "patch") || can("pods", "delete") || can("secrets", "get") {
		t.Error("ClusterRole grants more than the agent uses")
	}
}

// TestDeployPrometheusRule keeps the PrometheusRule object identical to the rules file promtool
// tests (go test ./cmd/spdoc -run TestDeployPrometheusRule -update-deploy rewrites it).
func TestDeployPrometheusRule(t *testing.T) {
	var rules struct {
		Groups []any `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(readDeploy(t, "prometheus/spdoc-rules.yaml"), &rules); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "monitoring.coreos.com/v1",
		"kind":       "PrometheusRule",
		"metadata": map[string]any{"name": "spdoc-agent", "namespace": "spdoc-system",
			"labels": map[string]any{"app.kubernetes.io/name": "spdoc-agent"}},
		"spec": map[string]any{"groups": rules.Groups},
	}
	path := filepath.Join(deployDir, "kustomize/base/prometheusrule.yaml")
	if *updateDeploy {
		out, err := yaml.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		out = append([]byte("# Generated from deploy/prometheus/spdoc-rules.yaml by\n#   go test ./cmd/spdoc -run TestDeployPrometheusRule -update-deploy\n"), out...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got map[string]any
	if err := yaml.Unmarshal(readDeploy(t, "kustomize/base/prometheusrule.yaml"), &got); err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := yaml.Marshal(want)
	gotJSON, _ := yaml.Marshal(got)
	if !bytes.Equal(wantJSON, gotJSON) {
		t.Errorf("prometheusrule.yaml differs from spdoc-rules.yaml; rerun with -update-deploy")
	}
}

// TestToolPromtoolRules checks and unit-tests the alert rules with Prometheus's own promtool.
func TestToolPromtoolRules(t *testing.T) {
	promtool := testtier.Tool(t, "promtool")
	dir := filepath.Join(deployDir, "prometheus")
	for _, args := range [][]string{{"check", "rules", "spdoc-rules.yaml"}, {"test", "rules", "spdoc-rules.test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestToolKustomizeBuild builds the base and the manage-pods component with kubectl's kustomize
// and decodes every object strictly.
func TestToolKustomizeBuild(t *testing.T) {
	kubectl := testtier.Tool(t, "kubectl")
	build := func(dir string) []byte {
		out, err := exec.Command(kubectl, "kustomize", dir).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, ee.Stderr)
			}
			t.Fatal(err)
		}
		return out
	}
	kinds := map[string]int{}
	for _, d := range splitYAML(t, build(filepath.Join(deployDir, "kustomize/base"))) {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(d, &meta); err != nil {
			t.Fatal(err)
		}
		kinds[meta.Kind]++
		var obj any
		switch meta.Kind {
		case "DaemonSet":
			obj = &appsv1.DaemonSet{}
		case "Service":
			obj = &corev1.Service{}
		case "ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "Namespace":
			obj = &corev1.Namespace{}
		case "ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "ClusterRoleBinding":
			obj = &rbacv1.ClusterRoleBinding{}
		default:
			continue // CRDs (ServiceMonitor, PrometheusRule): checked by their own tests
		}
		if err := yaml.UnmarshalStrict(d, obj); err != nil {
			t.Errorf("%s: %v", meta.Kind, err)
		}
	}
	for _, k := range []string{"DaemonSet", "Service", "ServiceMonitor", "PrometheusRule", "ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Namespace"} {
		if kinds[k] != 1 {
			t.Errorf("base builds %d %s, want 1", kinds[k], k)
		}
	}
	// The manage-pods component: the agent renders pods, the manifest dir is writable.
	overlay := t.TempDir()
	base, _ := filepath.Abs(filepath.Join(deployDir, "kustomize/base"))
	comp, _ := filepath.Abs(filepath.Join(deployDir, "kustomize/components/manage-pods"))
	relBase, _ := filepath.Rel(overlay, base)
	relComp, _ := filepath.Rel(overlay, comp)
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [" + relBase + "]\ncomponents: [" + relComp + "]\n"
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range splitYAML(t, build(overlay)) {
		if !strings.Contains(string(d), "kind: DaemonSet") {
			continue
		}
		var ds appsv1.DaemonSet
		if err := yaml.UnmarshalStrict(d, &ds); err != nil {
			t.Fatal(err)
		}
		c := ds.Spec.Template.Spec.Containers[0]
		if slices.Contains(c.Args, "--observe-only") || !slices.Contains(c.Args, "--config=/etc/spdoc/config/pods.yaml") {
			t.Errorf("manage-pods args %v", c.Args)
		}
		rw := false
		for _, m := range c.VolumeMounts {
			rw = rw || (m.MountPath == "/etc/kubernetes/manifests" && !m.ReadOnly)
		}
		if !rw {
			t.Error("manage-pods: /etc/kubernetes/manifests is not writable")
		}
		o := &agentOptions{}
		if err := newAgentCmdWith(o).ParseFlags(c.Args[1:]); err != nil {
			t.Errorf("manage-pods args do not parse: %v", err)
		} else if err := o.Validate(); err != nil || o.observeOnly {
			t.Errorf("manage-pods: the agent refuses its args (%v) or still observes only", err)
		}
	}
}

func splitYAML(t *testing.T, data []byte) [][]byte {
	t.Helper()
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var out [][]byte
	for {
		var n yamlv3.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatal(err)
		}
		b, err := yamlv3.Marshal(&n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}
