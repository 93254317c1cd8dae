package testnode

import (
	"fmt"
	"strings"
)

// Manifests of the standard scenarios, shared by hack/capture and the e2e suite. Each is a
// complete single-container static pod in namespace default, named by the caller.

// podManifest renders one such pod; extra is appended to the container (indented 4), volumes to
// the spec (indented 2).
type podManifest struct {
	name, container, image, policy, command string
	podNetwork                              bool // not hostNetwork: needs CNI
	extra, volumes                          string
}

func (p podManifest) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\nspec:\n", p.name)
	if !p.podNetwork {
		b.WriteString("  hostNetwork: true\n")
	}
	b.WriteString("  terminationGracePeriodSeconds: 1\n  containers:\n")
	fmt.Fprintf(&b, "  - name: %s\n", p.container)
	if p.image != "" {
		fmt.Fprintf(&b, "    image: %s\n", p.image)
	}
	fmt.Fprintf(&b, "    imagePullPolicy: %s\n    command: %s\n", p.policy, p.command)
	b.WriteString(p.extra)
	b.WriteString(p.volumes)
	return b.String()
}

func busyboxPod(name, command string) podManifest {
	return podManifest{name: name, container: "main", image: BusyboxImage, policy: "Never", command: command}
}

// HealthyPod is a hostNetwork busybox pod that prints "<name> started" and sleeps.
func HealthyPod(name string) string {
	return busyboxPod(name, fmt.Sprintf(`["sh", "-c", "echo %s started; exec sleep 3600"]`, name)).String()
}

// PodNetworkPod is HealthyPod without hostNetwork: it needs CNI.
func PodNetworkPod(name string) string {
	p := busyboxPod(name, fmt.Sprintf(`["sh", "-c", "echo %s started; exec sleep 3600"]`, name))
	p.podNetwork = true
	return p.String()
}

// NoContainersPod fails validation with "spec.containers: Required value".
func NoContainersPod(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: default\nspec:\n  hostNetwork: true\n", name)
}

// YAMLErrorPod does not parse: line 5 is indented with a tab
// ("yaml: line 5: found a tab character that violates indentation").
func YAMLErrorPod(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n\tnamespace: default\nspec:\n  containers:\n  - name: main\n    image: %s\n", name, BusyboxImage)
}

// CrashLoopPod (container "app") writes "starting app" to stdout, stderrLine to stderr and exits
// with code.
func CrashLoopPod(name, stderrLine string, code int) string {
	p := busyboxPod(name, fmt.Sprintf(`["sh", "-c", "echo starting app; echo '%s' >&2; exit %d"]`, stderrLine, code))
	p.container = "app"
	return p.String()
}

// ImagePod runs image with the given pull policy (a missing image with Never gives
// ErrImageNeverPull; an unreachable registry with IfNotPresent gives ErrImagePull).
func ImagePod(name, image, policy string) string {
	p := busyboxPod(name, `["sleep", "3600"]`)
	p.image, p.policy = image, policy
	return p.String()
}

// HostPathPod mounts hostPath path with type Directory at /data.
func HostPathPod(name, path string) string {
	p := busyboxPod(name, `["sleep", "3600"]`)
	p.extra = "    volumeMounts:\n    - name: data\n      mountPath: /data\n"
	p.volumes = fmt.Sprintf("  volumes:\n  - name: data\n    hostPath:\n      path: %s\n      type: Directory\n", path)
	return p.String()
}

// LivenessFailPod runs fine but its exec liveness probe (cat /tmp/healthy) always fails, so the
// kubelet restarts it.
func LivenessFailPod(name string) string {
	p := busyboxPod(name, `["sh", "-c", "echo serving; exec sleep 3600"]`)
	p.extra = "    livenessProbe:\n      exec:\n        command: [\"cat\", \"/tmp/healthy\"]\n" +
		"      initialDelaySeconds: 1\n      periodSeconds: 2\n      failureThreshold: 1\n"
	return p.String()
}

// InvalidImagePod is HealthyPod edited into an invalid pod (no image):
// "spec.containers[0].image: Required value".
func InvalidImagePod(name string) string {
	p := busyboxPod(name, `["sleep", "3600"]`)
	p.image = ""
	return p.String()
}
