package diagnose

import "github.com/spdoc/spdoc/internal/kubeletlog"

// relevantMsgs are message fragments the rules classify that can appear in a record the log
// prefilter would otherwise skip: klog.Errorf lines in JSON format carry no "err" key (the
// volume manager's "Operation for … failed … MountVolume.SetUp failed"), and some causes only
// show up in info lines. Every package that links diagnose gets them in kubeletlog's prefilter.
var relevantMsgs = []string{
	"MountVolume.SetUp failed", "MountVolume.MountDevice failed", "Unable to attach or mount volumes",
	"hostPath type check failed", "Failed creating a mirror pod", "Failed deleting a mirror pod",
	"Skipping pod synchronization", "container runtime is down", "Container runtime network not ready",
	"CreatePodSandbox", "RunPodSandbox", "Killing unwanted pod", "SyncLoop REMOVE", "Generic (PLEG)",
	"SyncLoop (PLEG)", "Probe failed", "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull",
}

func init() {
	have := map[string]bool{}
	for _, m := range kubeletlog.InterestingMsgs {
		have[m] = true
	}
	for _, m := range relevantMsgs {
		if !have[m] {
			kubeletlog.InterestingMsgs = append(kubeletlog.InterestingMsgs, m)
		}
	}
}
