package diagnose

import (
	"fmt"
	"strings"
)

// The finding kinds spdoc has always had (part of the JSON contract). New kinds go in a file of
// their own (see catalog.go); their constant, entry and describe function live there.
const (
	KindManifestInvalid     Kind = "ManifestInvalid"
	KindManifestUnparseable Kind = "ManifestUnparseable"
	KindManifestDirMissing  Kind = "ManifestDirMissing"
	KindManifestWarning     Kind = "ManifestWarning"
	KindDuplicatePod        Kind = "DuplicatePod"
	KindBackupFileLoaded    Kind = "BackupFileLoaded"
	KindDirectoryIgnored    Kind = "DirectoryIgnored"
	KindFileUnreadable      Kind = "FileUnreadable"
	KindSandboxFailed       Kind = "SandboxFailed"
	KindNetworkNotReady     Kind = "NetworkNotReady"
	KindImageNotPresent     Kind = "ImageNotPresent"
	KindImagePullFailed     Kind = "ImagePullFailed"
	KindCrashLoop           Kind = "CrashLoop"
	KindOOMKilled           Kind = "OOMKilled"
	KindVolumeMountFailed   Kind = "VolumeMountFailed"
	KindProbeFailed         Kind = "ProbeFailed"
	KindContainerFailed     Kind = "ContainerFailed"
	KindRuntimeUnreachable  Kind = "RuntimeUnreachable"
	KindKubeletNotRunning   Kind = "KubeletNotRunning"
	KindKubeletLogMissing   Kind = "KubeletLogMissing"
	KindMirrorPodFailed     Kind = "MirrorPodFailed"
	KindPodNotStarted       Kind = "PodNotStarted"
	KindPodRemoved          Kind = "PodRemoved"
	KindTransientParseError Kind = "TransientParseError"
	KindSourceError         Kind = "SourceError"
	KindContainerRestarted  Kind = "ContainerRestarted"
	KindKubeletLogTruncated Kind = "KubeletLogTruncated"
)

// coreKinds is the catalogue of those kinds, in rank order. Ranks step by 10 so a new kind can
// take a free number between the kinds it belongs between.
var coreKinds = []kindSpec{
	{Kind: KindManifestDirMissing, Rank: 10, Severity: SeverityError, Describe: describeManifestDirMissing},
	{Kind: KindRuntimeUnreachable, Rank: 20, Severity: SeverityError, Blocking: true, Describe: describeRuntimeUnreachable},
	{Kind: KindKubeletNotRunning, Rank: 30, Severity: SeverityError, Describe: describeKubeletNotRunning},
	{Kind: KindManifestUnparseable, Rank: 40, Severity: SeverityError, Describe: describeManifestUnparseable},
	{Kind: KindManifestInvalid, Rank: 50, Severity: SeverityError, Describe: describeManifestInvalid},
	{Kind: KindFileUnreadable, Rank: 60, Severity: SeverityError, Describe: describeFileUnreadable},
	{Kind: KindDuplicatePod, Rank: 70, Severity: SeverityWarning, Describe: describeDuplicatePod},
	{Kind: KindNetworkNotReady, Rank: 80, Severity: SeverityError, Blocking: true, Describe: describeNetworkNotReady},
	{Kind: KindSandboxFailed, Rank: 90, Severity: SeverityError, Blocking: true, Describe: describeSandboxFailed},
	{Kind: KindVolumeMountFailed, Rank: 100, Severity: SeverityError, Blocking: true, Describe: describeVolumeMountFailed},
	{Kind: KindImageNotPresent, Rank: 110, Severity: SeverityError, Container: true, Blocking: true, Describe: describeImageNotPresent},
	{Kind: KindImagePullFailed, Rank: 120, Severity: SeverityError, Container: true, Blocking: true, Describe: describeImagePullFailed},
	{Kind: KindContainerFailed, Rank: 130, Severity: SeverityError, Container: true, Blocking: true, Describe: describeContainerFailed},
	{Kind: KindOOMKilled, Rank: 140, Severity: SeverityError, Container: true, Describe: describeOOMKilled},
	{Kind: KindCrashLoop, Rank: 150, Severity: SeverityError, Container: true, Describe: describeCrashLoop},
	{Kind: KindProbeFailed, Rank: 160, Severity: SeverityWarning, Container: true, Describe: describeProbeFailed},
	{Kind: KindPodRemoved, Rank: 170, Severity: SeverityWarning, DescribesCause: true, Describe: describePodRemoved},
	{Kind: KindPodNotStarted, Rank: 180, Severity: SeverityWarning, Blocking: true, Describe: describePodNotStarted},
	{Kind: KindTransientParseError, Rank: 190, Severity: SeverityWarning, Describe: describeTransientParseError},
	{Kind: KindBackupFileLoaded, Rank: 200, Severity: SeverityWarning, Describe: describeBackupFileLoaded},
	{Kind: KindManifestWarning, Rank: 210, Severity: SeverityWarning, Describe: describeManifestWarning},
	{Kind: KindContainerRestarted, Rank: 220, Severity: SeverityInfo, Container: true, Describe: describeContainerRestarted},
	{Kind: KindKubeletLogMissing, Rank: 230, Severity: SeverityWarning, Describe: describeKubeletLogMissing},
	{Kind: KindKubeletLogTruncated, Rank: 235, Severity: SeverityInfo, Describe: describeKubeletLogTruncated},
	{Kind: KindSourceError, Rank: 240, Severity: SeverityWarning, Describe: describeSourceError},
	{Kind: KindDirectoryIgnored, Rank: 250, Severity: SeverityInfo, Describe: describeDirectoryIgnored},
	{Kind: KindMirrorPodFailed, Rank: 260, Severity: SeverityInfo, Describe: describeMirrorPodFailed},
}

func init() { registerKinds(coreKinds...) }

func describeManifestDirMissing(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "manifest directory " + orDefault(tc.dir, "(staticPodPath)") + " does not exist"
	if why := firstErr(b); !strings.Contains(why, "does not exist") && !strings.Contains(why, "no such file") {
		f.Title = "manifest directory " + orDefault(tc.dir, "(staticPodPath)") + " cannot be read: " + ellipsis(why, 100)
	}
	noneExpected := f.Detail == "none expected" // kinds_kubelet.go: no static pod anywhere on the node
	f.Detail = "The kubelet ignores a missing staticPodPath (\"path does not exist, ignoring\") and runs no static pods from it."
	f.Hint = "create the directory, or fix staticPodPath in the kubelet config (/var/lib/kubelet/config.yaml); if the manifests are elsewhere: spdoc diagnose --manifests DIR"
	if noneExpected {
		f.Detail += " Nothing on this node (runtime, pod logs, kubelet log) shows a static pod, so none is expected: normal on a worker."
		f.Hint = "nothing to do unless this node should run static pods; then create the directory"
	}
}

func describeRuntimeUnreachable(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "the container runtime is unreachable" + suffix(" at ", tc.endpoint)
	rt, unit := runtimeUnit(tc, b) // kinds_kubelet.go: containerd, CRI-O or cri-dockerd
	f.Detail = "The kubelet and spdoc talk to the runtime (" + rt + ") over its CRI socket. Without it no pod sandbox or container can be created, inspected or restarted; pod states below are inferred from the logs."
	f.Hint = "systemctl status " + unit + "; journalctl -u " + unit + " -e; check --runtime-endpoint / containerRuntimeEndpoint"
}

func describeKubeletNotRunning(f *Finding, b *findingBuilder, tc textCtx) {
	if b.variant == "fatal" {
		kubeletNotRunningWhy(f, b) // kinds_kubelet.go: its last fatal lines say why
		return
	}
	if b.variant == "stale" {
		f.Title = "the kubelet log is stale: " + firstErr(b)
		f.Detail = "The newest kubelet record is old; the kubelet may be stopped, or it logs somewhere else now."
	} else {
		f.Title = "the kubelet is not running"
		f.Detail = "Without the kubelet nothing reads the manifest directory: static pods are neither started nor restarted."
	}
	f.Hint = "systemctl status kubelet; journalctl -u kubelet -e"
}

func describeManifestUnparseable(f *Finding, b *findingBuilder, tc textCtx) {
	why := parseReason(firstErr(b))
	if len(b.pre) > 0 {
		why = b.pre[0].Line
	}
	f.Title = baseName(tc.file) + " is not a pod manifest: " + ellipsis(why, 140)
	f.Detail = "The kubelet could not decode this file as a Pod (or PodList), so no pod from it runs; a pod it defined before is stopped."
	f.Hint = fmt.Sprintf("fix the YAML%s of %s, then check with: spdoc validate %s", lineSuffix(b), tc.file, tc.file)
}

func describeManifestInvalid(f *Finding, b *findingBuilder, tc textCtx) {
	first := ellipsis(firstErr(b), 120)
	if len(b.pre) > 0 {
		first = b.pre[0].Line
	}
	f.Title = "manifest rejected by the kubelet: " + first
	f.Detail = "The kubelet validates every manifest it reads from " + orDefault(tc.dir, "its staticPodPath") +
		" and refuses a pod that fails validation: it does not create it, and if an older version was running it stops that pod on its next re-list."
	if n := len(b.pre); n > 1 {
		f.Detail += fmt.Sprintf(" The manifest has %d validation errors.", n)
	}
	if f.History {
		f.Detail = "The kubelet rejected an earlier version of this manifest; the current file validates, so this is history."
	}
	f.Hint = fmt.Sprintf("fix the field%s in %s, then check with: spdoc validate %s", lineSuffix(b), tc.fileRef(), tc.file)
}

func describeFileUnreadable(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = baseName(tc.file) + " cannot be read: " + ellipsis(firstErr(b), 120)
	f.Detail = "Neither the kubelet nor spdoc can read this entry (permissions, a dangling or looping symlink), so it defines no pod."
	f.Hint = "check it with: ls -lL " + tc.file
}

func describeDuplicatePod(f *Finding, b *findingBuilder, tc textCtx) {
	var files []string
	for _, e := range b.pre {
		files = append(files, strings.TrimPrefix(e.Source, "manifest:"))
	}
	name := f.Pod
	if tc.pod != nil {
		name = tc.podRef()
	}
	f.Title = fmt.Sprintf("pod %s is defined in %d files", name, len(files))
	if tc.pod == nil && tc.file != "" && len(b.pre) > 0 {
		var others []string
		for _, o := range files {
			if o != tc.file {
				others = append(others, baseName(o))
			}
		}
		f.Title = fmt.Sprintf("%s defines pod %s, which %s also defines", baseName(tc.file), strings.TrimPrefix(b.pre[0].Line, "defines "), strings.Join(others, ", "))
	}
	f.Detail = "The kubelet logs no error for this: it sees one pod with two definitions and flaps between them, removing and re-adding the pod (SyncLoop REMOVE/ADD) and killing its containers each time; an edit to one file may not take effect."
	f.Hint = "keep one of " + orDefault(strings.Join(files, ", "), "the manifests that define it") + " and remove the other (or rename it to a dotfile)"
}

func describeNetworkNotReady(f *Finding, b *findingBuilder, tc textCtx) {
	if tc.pod == nil {
		f.Title = "pod network not ready: the CNI plugin is not initialized"
		f.Detail = "The runtime reports NetworkReady=false: no CNI configuration is installed, or the CNI plugin failed. Pods with hostNetwork: true still run; every other pod fails when its sandbox is created."
		if f.Severity == SeverityInfo {
			f.Detail += " No static pod here needs it (all use hostNetwork or run), which is normal before a CNI is installed."
		}
	} else {
		f.Title = "cannot start: the pod network (CNI) is not ready and this pod does not use hostNetwork"
		f.Detail = "This pod needs its own network namespace, set up by CNI, which is not initialized on this node; its sandbox cannot be created until it is."
	}
	f.Hint = "install a CNI config in /etc/cni/net.d (plugins in /opt/cni/bin), or set hostNetwork: true on static pods that must run before the pod network"
}

func describeSandboxFailed(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "the runtime failed to create the pod sandbox: " + tailEllipsis(sandboxReason(firstErr(b)), 110)
	f.Detail = "Before any container starts, the kubelet asks the runtime (RunPodSandbox) for the pod sandbox: the pause container and its namespaces. That failed, so no container of this pod starts; the kubelet retries with back-off."
	_, unit := runtimeUnit(tc, b)
	f.Hint = "read the runtime's error above; then check the runtime: journalctl -u " + unit + " -e"
}

func describeVolumeMountFailed(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "a volume cannot be mounted: " + ellipsis(volumeReason(b), 120)
	f.Detail = "The kubelet sets up every volume before it starts the containers; this one failed, so the pod waits and the kubelet retries. A hostPath volume with a type (Directory, File, Socket…) must already exist on the node with that type."
	f.Hint = "create the path on the node (e.g. mkdir -p PATH) or fix spec.volumes in " + tc.fileRef() + " (type: DirectoryOrCreate creates it)"
	if m := reHostPathType.FindStringSubmatch(volumeReason(b)); m != nil {
		if m[2] == "directory" {
			f.Hint = fmt.Sprintf("create it on the node (mkdir -p %s), or use type: DirectoryOrCreate for it in %s", m[1], tc.fileRef())
		} else {
			f.Hint = fmt.Sprintf("create the %s %s on the node, or fix the hostPath volume in %s", m[2], m[1], tc.fileRef())
		}
	}
}

func describeImageNotPresent(f *Finding, b *findingBuilder, tc textCtx) {
	_, cref := containerRef(f)
	img := tc.image(b)
	f.Title = fmt.Sprintf("image %s is not on the node and imagePullPolicy is Never", orDefault(img, "(unknown)"))
	f.Detail = "With imagePullPolicy: Never the kubelet uses only images the runtime already has; it never pulls, so " + cref + " cannot start (ErrImageNeverPull)."
	f.Hint = "import the image into the runtime (ctr -n k8s.io images import IMAGE.tar), or set imagePullPolicy: IfNotPresent in " + tc.fileRef()
}

func describeImagePullFailed(f *Finding, b *findingBuilder, tc textCtx) {
	img := tc.image(b)
	f.Title = fmt.Sprintf("cannot pull image %s", orDefault(img, "(unknown)"))
	f.Detail = "The kubelet asked the runtime to pull the image and the pull failed (wrong name or tag, registry unreachable, or credentials missing — static pods cannot use imagePullSecrets). It retries with growing back-off (ImagePullBackOff)."
	f.Hint = "check the image in " + tc.fileRef() + ", then try the pull by hand: crictl pull " + orDefault(img, "IMAGE")
}

func describeContainerFailed(f *Finding, b *findingBuilder, tc textCtx) {
	c, cref := containerRef(f)
	f.Title = cref + " could not be created or started: " + ellipsis(firstErr(b), 120)
	f.Detail = "The runtime refused to create or start the container (a missing binary in the image, bad command, invalid security settings)."
	f.Hint = "fix the command, args or securityContext of " + orDefault(c, "the container") + " in " + tc.fileRef()
}

func describeOOMKilled(f *Finding, b *findingBuilder, tc textCtx) {
	c, cref := containerRef(f)
	f.Title = cref + " was killed for using too much memory (OOMKilled)"
	f.Detail = "The kernel OOM killer stopped the container: it went over its memory limit (or the node ran out of memory). The kubelet restarts it with back-off."
	f.Hint = "raise resources.limits.memory of " + orDefault(c, "the container") + " in " + tc.fileRef() + ", or find what uses the memory"
}

func describeCrashLoop(f *Finding, b *findingBuilder, tc textCtx) {
	c, cref := containerRef(f)
	f.Title = cref + " keeps crashing"
	if f.ExitCode != nil {
		f.Title = fmt.Sprintf("%s keeps crashing (exit code %d", cref, *f.ExitCode)
		if r := max(restarts(tc, c), b.restarts); r > 0 {
			f.Title += ", " + plural(r, "restart", "restarts")
		}
		f.Title += ")"
	}
	f.Detail = "The container starts and exits; the kubelet restarts it with a growing back-off (CrashLoopBackOff, up to 5 minutes)."
	if len(b.post) > 0 {
		f.Detail += " Below are the last lines the failed instance wrote."
	}
	if f.History {
		f.Title = cref + " crashed before, running again now"
		f.Detail = "The container exited and was restarted; it has been running since its last start, so this is history."
	}
	// the failed instance is the current one until the kubelet starts the next
	f.Hint = "read why it exits: " + tc.logsCmd(c, containerRunning(tc, c)) + "; then fix its command, args or config in " + tc.fileRef()
}

func describeProbeFailed(f *Finding, b *findingBuilder, tc textCtx) {
	c := f.Container
	pt := probeType(b)
	f.Title = strings.TrimSpace(pt+" probe of "+orDefault(c, "a container")) + " fails"
	f.Detail = "A failing liveness probe makes the kubelet kill and restart the container; a readiness probe only marks it not ready; a startup probe holds back the others and restarts the container when it gives up."
	f.Hint = "check the probe of " + orDefault(c, "the container") + " in " + tc.fileRef() + " against what it serves (port, path, command); " + tc.logsCmd(c, false)
}

func describePodRemoved(f *Finding, b *findingBuilder, tc textCtx) {
	switch {
	case tc.orphan:
		f.Title = "manifest removed: the kubelet stopped this pod"
		f.Detail = "Its manifest is no longer in the manifest directory, so the kubelet removed the pod (SyncLoop REMOVE) and killed its containers."
		f.Hint = "restore the manifest if this pod should run"
	case f.Cause == KindDuplicatePod:
		f.Title = "the kubelet removed and re-added this pod: it flaps between its two manifests"
		f.Detail = "Each time it reads the other definition, the kubelet replaces the pod: the running one is removed and its containers are killed."
		f.Hint = "keep one manifest (see DuplicatePod above)"
	case f.Cause == KindManifestInvalid:
		f.Title = "the kubelet stopped the running pod because its manifest became invalid"
		f.Detail = "When a running pod's manifest stops validating, the kubelet drops the pod on its next re-list and kills its containers."
		f.Hint = "fix the manifest (see above); the kubelet starts the pod again within fileCheckFrequency"
	default:
		f.Title = "the kubelet removed an earlier version of this pod"
		f.Detail = "The manifest changed, so the kubelet replaced the pod: the old version (old UID) was removed and the new one added."
		f.Hint = "nothing to do if the change was intended"
	}
}

func describePodNotStarted(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "the kubelet has not started this pod"
	f.Detail = "The manifest is valid, but the runtime has no sandbox or container for it and the kubelet log says nothing about it."
	f.Hint = "is " + orDefault(tc.dir, "this directory") + " the kubelet's staticPodPath (spdoc diagnose --kubelet-config …)? The kubelet re-reads it every fileCheckFrequency (20 s by default)"
}

func describeTransientParseError(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "the kubelet read " + baseName(tc.file) + " while it was half-written"
	f.Detail = "The kubelet could not use this file for a moment (" + ellipsis(parseReason(firstErr(b)), 100) + "), but it is a valid manifest now: it was written in place, " +
		"and the kubelet, which re-reads the directory on every change, saw a partial file. The pod may have been stopped and started again."
	f.Hint = "write manifests atomically: write a dotfile in the same directory (the kubelet ignores dotfiles), fsync, then rename it over the manifest"
}

func describeBackupFileLoaded(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = baseName(tc.file) + " is a backup/editor file, but the kubelet loads it"
	f.Detail = "The kubelet reads every file in the manifest directory that does not start with a dot, whatever its extension, so this copy defines pods too — often a stale duplicate of the real manifest."
	f.Hint = "move " + tc.file + " out of " + orDefault(tc.dir, "the manifest directory")
}

func describeManifestWarning(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "manifest warning: " + firstErr(b)
	f.Detail = "The kubelet accepts this, but it is probably not what the author meant: an unknown field is silently dropped."
	if f.Severity == SeverityInfo {
		f.Detail = "Advice only: the kubelet runs the pod as written."
	}
	f.Hint = "fix or remove the field in " + tc.fileRef()
}

func describeContainerRestarted(f *Finding, b *findingBuilder, tc textCtx) {
	c, cref := containerRef(f)
	f.Title = fmt.Sprintf("%s restarted %s before; running now", cref, plural(restarts(tc, c), "time", "times"))
	f.Detail = "The container exited in the past and the kubelet restarted it; it is running now."
	f.Hint = "to see why it stopped last time: " + tc.logsCmd(c, true)
}

func describeKubeletLogMissing(f *Finding, b *findingBuilder, tc textCtx) {
	if describeLogRead(f, b) { // kinds_kubelet.go: a log was read, but…
		return
	}
	f.Title = "no kubelet log was read: why the kubelet did what it did is unknown"
	f.Detail = "Without the kubelet log, findings come only from the manifests, the runtime and the pod logs; why the kubelet rejected or stopped a pod stays unknown."
	f.Hint = "pass the log: --kubelet-log FILE, --kubelet-log - (stdin) or --kubelet-log journal"
}

func describeSourceError(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "could not read " + orDefault(f.Subject, "a source") + ": " + ellipsis(firstErr(b), 120)
	f.Detail = "spdoc could not read this source; the rest of the report is still valid."
	f.Hint = "check the path and permissions (run as root on the node), or point spdoc at it with the matching flag"
}

func describeKubeletLogTruncated(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "kubelet log truncated: " + firstErr(b)
	f.Detail = "The kubelet log had more relevant records than spdoc keeps; the oldest were dropped, so older history is missing from this report."
	f.Hint = "narrow the window with --since, or raise --max-records"
}

func describeDirectoryIgnored(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = baseName(tc.file) + "/ is a directory: the kubelet does not look inside"
	f.Detail = "The kubelet reads only the files directly in its manifest directory; manifests in subdirectories never run."
	f.Hint = "move manifests that should run up into " + orDefault(tc.dir, "the manifest directory")
}

func describeMirrorPodFailed(f *Finding, b *findingBuilder, tc textCtx) {
	f.Title = "no mirror pod in the API server (is the API server reachable?)"
	f.Detail = "The kubelet publishes a read-only mirror of each static pod to the API server. That failed, so kubectl does not show this pod; the static pod itself runs regardless."
	f.Hint = "check the API server and the kubelet's kubeconfig; meanwhile spdoc shows the pod"
	why, hint, benign := mirrorReason(firstErr(b))
	switch {
	case benign:
		f.Title = "the mirror pod already exists (benign)"
		f.Detail = "The kubelet tried to create the mirror pod while one was there; it keeps the existing one."
		f.Hint = hint
		return
	case why != "":
		f.Title = "no mirror pod in the API server: " + why
		f.Hint = hint
	}
	// History (mirrorHistory): the failure was real but is over.
	if why == "" {
		why = ellipsis(firstErr(b), 120)
	}
	const fresh = "The kubelet could not create the mirror pod at the time of these records (on a fresh control plane the API server refuses mirror pods until its own PriorityClasses and namespaces exist); "
	switch b.variant {
	case "exists":
		f.Title = "the kubelet could not create the mirror pod earlier (" + why + "); it exists now"
		f.Detail = fresh + "the API server lists the mirror pod of the running manifest now."
	case "synced":
		f.Title = "the kubelet could not create the mirror pod earlier (" + why + "); it got through later"
		f.Detail = fresh + "its later records show the mirror pod created, or delivered back by the API server, with no failure after."
	case "quiet":
		f.Title = "the kubelet could not create the mirror pod earlier (" + why + "); no failure since"
		f.Detail = fresh + "it retries on every sync of the pod (about once a minute) and logs each failure, and its log goes on for minutes after the last one without another: it stopped failing."
	default:
		return
	}
	f.Hint = "nothing to do now; if kubectl stops showing the pod, look for new \"Failed creating a mirror pod\" records"
}
