package diagnose

import "github.com/spdoc/spdoc/internal/podview"

// crashLoopBackOff is the kubelet's waiting reason for a container it backs off restarting
// (kubecontainer.ErrCrashLoopBackOff, pkg/kubelet/container/sync_result.go).
const crashLoopBackOff = "CrashLoopBackOff"

// KubectlStatus is what kubectl's STATUS column would show for the pod, from the runtime state
// and the kubelet's findings: the waiting reason of the first container that has one
// (CrashLoopBackOff, ErrImageNeverPull, ImagePullBackOff, ContainerCreating…), the terminated
// reason of a stopped one, else the phase. Invalid: the kubelet rejected the manifest (kubectl
// never sees such a pod).
func (p PodReport) KubectlStatus() string {
	kinds := map[Kind]bool{}
	for _, f := range p.Findings {
		// History is over, and a plain info finding is context. A folded finding (info because
		// another one explains it) still says what the kubelet does: its waiting reason comes from
		// the last start attempt (the kubelet's reason cache), whatever explains that attempt.
		if !f.History && (f.Severity != SeverityInfo || f.Cause != "") {
			kinds[f.Kind] = true
		}
	}
	switch {
	case p.State == "Invalid" || kinds[KindManifestInvalid] || kinds[KindManifestUnparseable]:
		return "Invalid"
	case p.State == "Gone":
		return "Terminating"
	}
	for _, c := range p.Containers {
		if c.Waiting != "" {
			return c.Waiting // the kubelet's own answer (its /pods), when it gave one
		}
	}
	if len(p.Containers) > 0 {
		for _, c := range p.Containers {
			switch {
			case c.State == "running":
				continue
			case kinds[KindCrashLoop] || p.State == podview.CrashLoop && c.State == "exited" && !(c.ExitCode != nil && *c.ExitCode == 0 && c.RestartCount == 0):
				return crashLoopBackOff
			case c.State == "exited" && c.ExitCode != nil && *c.ExitCode == 0:
				return "Completed"
			case c.State == "exited" && c.Reason != "":
				return c.Reason // Error, OOMKilled, ContainerCannotRun
			case c.State == "exited":
				return "Error"
			case c.State == "created":
				return "ContainerCreating"
			}
		}
		if p.State == "Running" || p.State == "Ready" {
			return "Running"
		}
	}
	switch {
	case kinds[KindCrashLoop]:
		return crashLoopBackOff
	case kinds[KindImageNotPresent]:
		return "ErrImageNeverPull"
	case kinds[KindImagePullFailed]:
		return "ImagePullBackOff"
	case kinds[KindContainerFailed]:
		return "CreateContainerError"
	case kinds[KindVolumeMountFailed], kinds[KindSandboxFailed], kinds[KindNetworkNotReady]:
		return "ContainerCreating"
	}
	switch p.State {
	case "Running", "Ready":
		return "Running"
	case "Unknown":
		return "Unknown"
	}
	return "Pending"
}
