package testnode

import "fmt"

// Manifests of the standard scenarios, shared by hack/capture and the e2e suite. Each is a
// complete static pod file; pod names are the file names without extension unless noted.

// HealthyPod is a hostNetwork busybox pod that prints a line and sleeps.
func HealthyPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
  labels:
    app: %[1]s
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    imagePullPolicy: Never
    command: ["sh", "-c", "echo %[1]s started; exec sleep 3600"]
`, name, BusyboxImage)
}

// NoContainersPod fails validation with "spec.containers: Required value".
func NoContainersPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
spec:
  hostNetwork: true
`, name)
}

// YAMLErrorPod does not parse: line 4 has a tab-indented key under a mapping.
func YAMLErrorPod(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n\tnamespace: default\nspec:\n  containers:\n  - name: main\n    image: %s\n", name, BusyboxImage)
}

// CrashLoopPod writes a line to stderr and exits with code.
func CrashLoopPod(name, stderrLine string, code int) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: %s
    imagePullPolicy: Never
    command: ["sh", "-c", "echo starting app; echo '%s' >&2; exit %d"]
`, name, BusyboxImage, stderrLine, code)
}

// ImagePod runs image with the given pull policy (a missing image with Never gives
// ErrImageNeverPull; an unreachable registry with IfNotPresent gives ErrImagePull).
func ImagePod(name, image, policy string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    imagePullPolicy: %s
    command: ["sleep", "3600"]
`, name, image, policy)
}

// HostPathPod mounts hostPath path with type Directory.
func HostPathPod(name, path string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    hostPath:
      path: %s
      type: Directory
`, name, BusyboxImage, path)
}

// PodNetworkPod is like HealthyPod but not hostNetwork: it needs CNI.
func PodNetworkPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    imagePullPolicy: Never
    command: ["sh", "-c", "echo %[1]s started; exec sleep 3600"]
`, name, BusyboxImage)
}

// LivenessFailPod runs fine but its exec liveness probe (cat /tmp/healthy) always fails, so the
// kubelet restarts it.
func LivenessFailPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: %s
    imagePullPolicy: Never
    command: ["sh", "-c", "echo serving; exec sleep 3600"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/healthy"]
      initialDelaySeconds: 1
      periodSeconds: 2
      failureThreshold: 1
`, name, BusyboxImage)
}

// InvalidImagePod is HealthyPod edited into an invalid pod (spec.containers[0].image removed):
// "spec.containers[0].image: Required value".
func InvalidImagePod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
spec:
  hostNetwork: true
  containers:
  - name: main
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`, name)
}
