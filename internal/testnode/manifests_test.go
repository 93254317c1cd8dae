package testnode

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestManifestsDecode checks that every scenario manifest decodes to the pod it promises (the
// YAML error one must not decode).
func TestManifestsDecode(t *testing.T) {
	tests := []struct {
		name        string
		manifest    string
		hostNetwork bool
		containers  int
		image       string
		policy      corev1.PullPolicy
		check       func(p *corev1.Pod) string
	}{
		{"healthy", HealthyPod("a"), true, 1, BusyboxImage, corev1.PullNever, nil},
		{"pod network", PodNetworkPod("a"), false, 1, BusyboxImage, corev1.PullNever, nil},
		{"no containers", NoContainersPod("a"), true, 0, "", "", nil},
		{"crash loop", CrashLoopPod("a", "boom: bad", 3), true, 1, BusyboxImage, corev1.PullNever, func(p *corev1.Pod) string {
			if c := p.Spec.Containers[0]; c.Name != "app" || !strings.Contains(strings.Join(c.Command, " "), "echo 'boom: bad' >&2; exit 3") {
				return "container " + c.Name + " command " + strings.Join(c.Command, " ")
			}
			return ""
		}},
		{"image", ImagePod("a", "x.invalid/y:1", "IfNotPresent"), true, 1, "x.invalid/y:1", corev1.PullIfNotPresent, nil},
		{"hostPath", HostPathPod("a", "/srv/x"), true, 1, BusyboxImage, corev1.PullNever, func(p *corev1.Pod) string {
			v := p.Spec.Volumes
			if len(v) != 1 || v[0].HostPath == nil || v[0].HostPath.Path != "/srv/x" || *v[0].HostPath.Type != corev1.HostPathDirectory ||
				len(p.Spec.Containers[0].VolumeMounts) != 1 {
				return "volumes wrong"
			}
			return ""
		}},
		{"liveness", LivenessFailPod("a"), true, 1, BusyboxImage, corev1.PullNever, func(p *corev1.Pod) string {
			if lp := p.Spec.Containers[0].LivenessProbe; lp == nil || lp.Exec == nil || lp.FailureThreshold != 1 {
				return "no exec liveness probe with failureThreshold 1"
			}
			return ""
		}},
		{"invalid image", InvalidImagePod("a"), true, 1, "", corev1.PullNever, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p corev1.Pod
			if err := yaml.UnmarshalStrict([]byte(tt.manifest), &p); err != nil {
				t.Fatalf("decoding: %v\n%s", err, tt.manifest)
			}
			if p.Kind != "Pod" || p.Name != "a" || p.Namespace != "default" || p.Spec.HostNetwork != tt.hostNetwork {
				t.Errorf("kind %s name %s ns %s hostNetwork %v", p.Kind, p.Name, p.Namespace, p.Spec.HostNetwork)
			}
			if len(p.Spec.Containers) != tt.containers {
				t.Fatalf("%d containers, want %d", len(p.Spec.Containers), tt.containers)
			}
			if tt.containers > 0 {
				if c := p.Spec.Containers[0]; c.Image != tt.image || c.ImagePullPolicy != tt.policy {
					t.Errorf("image %q policy %q, want %q %q", c.Image, c.ImagePullPolicy, tt.image, tt.policy)
				}
			}
			if tt.check != nil {
				if why := tt.check(&p); why != "" {
					t.Error(why)
				}
			}
		})
	}
	var p corev1.Pod
	if err := yaml.Unmarshal([]byte(YAMLErrorPod("a")), &p); err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Errorf("YAMLErrorPod decodes (err %v), want a line 5 error", err)
	}
}
