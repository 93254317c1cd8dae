package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestGetStaticPodStatusTalosShape: --talos prints what `talosctl get staticpodstatus -o yaml`
// prints (node, metadata with id <ns>/<kubelet pod name>, spec a PodStatus), one document per
// pod, from the captured node's runtime view; an invalid pod has no status.
func TestGetStaticPodStatusTalosShape(t *testing.T) {
	out, err := runCmd(t, "get", "staticpodstatus", "-o", "yaml", "--talos", "--root", capturedRoot, "--node-name", "node1")
	if err != nil {
		t.Fatal(err)
	}
	dec := yamlv3.NewDecoder(strings.NewReader(out))
	byID := map[string]corev1.PodStatus{}
	for {
		var doc struct {
			Node     string         `yaml:"node"`
			Metadata map[string]any `yaml:"metadata"`
			Spec     map[string]any `yaml:"spec"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("not YAML documents: %v\n%s", err, out)
		}
		if doc.Node != "node1" || doc.Metadata["type"] != "StaticPodStatuses.kubernetes.talos.dev" || doc.Metadata["namespace"] != "k8s" {
			t.Errorf("document %+v", doc)
		}
		// The spec must decode as a v1 PodStatus, strictly.
		b, _ := yaml.Marshal(doc.Spec)
		var st corev1.PodStatus
		if err := yaml.UnmarshalStrict(b, &st); err != nil {
			t.Errorf("spec of %v is not a PodStatus: %v", doc.Metadata["id"], err)
		}
		byID[doc.Metadata["id"].(string)] = st
	}
	crash, ok := byID["default/crashloop-node1"]
	if !ok {
		t.Fatalf("no default/crashloop-node1 in %v", keys(byID))
	}
	if crash.Phase != corev1.PodRunning || len(crash.ContainerStatuses) != 1 {
		t.Fatalf("crashloop status %+v", crash)
	}
	cs := crash.ContainerStatuses[0]
	if cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 3 || cs.RestartCount < 1 {
		t.Errorf("crashloop container %+v", cs)
	}
	if _, ok := byID["default/invalid-node1"]; ok {
		t.Error("an invalid pod (the kubelet runs nothing) has a status")
	}
	if _, err := runCmd(t, "get", "staticpods", "--talos", "-o", "yaml", "--root", capturedRoot); err == nil {
		t.Error("--talos accepted for staticpods")
	}
	var buf bytes.Buffer
	if err := printTalos(&buf, "json", talosStatuses(nil)); err != nil || buf.Len() != 0 {
		t.Errorf("no pods: %q %v", buf.String(), err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
