package diagnose

import (
	"strings"
	"testing"
)

// TestMirrorHintNamesTheField: an admission refusal of a mirror pod names the manifest field to
// change, from the API server's own words (kube-apiserver v1.34 NamespaceLifecycle and Priority).
func TestMirrorHintNamesTheField(t *testing.T) {
	const manifest = "/etc/kubernetes/manifests/x.yaml"
	for _, tc := range []struct {
		why  string
		want []string
	}{
		{`namespaces "monitoring" not found`, []string{"namespace monitoring does not exist", "kubectl create namespace monitoring", "metadata.namespace in " + manifest}},
		{`pods "x-node1" is forbidden: no PriorityClass with name gold was found`, []string{"PriorityClass gold does not exist", "spec.priorityClassName in " + manifest}},
		{`pods "x-node1" is forbidden: violates PodSecurity "restricted:latest": host namespaces`, []string{"PodSecurity"}},
		{`something else`, []string{"fix what the API server refuses in " + manifest}},
	} {
		got := mirrorHint(tc.why, manifest)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("mirrorHint(%q) = %q, want it to contain %q", tc.why, got, w)
			}
		}
	}
}
