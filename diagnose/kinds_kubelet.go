// Kubelet log knowledge (issue 11): the kubelet itself down or restarting in a loop and why, the
// sandbox (pause) image as a node-level root cause, non-Pod objects in the manifest directory,
// known kubelet behaviours by version, refused mirror pods, and the kubelet errors nothing else
// explains — so that a report never reads "healthy" beside kubelet errors about a pod.

package diagnose

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/staticpod"
)

const (
	KindKubeletCrashLoop        Kind = "KubeletCrashLoop"
	KindSandboxImageUnavailable Kind = "SandboxImageUnavailable"
	KindKubeletKnownIssue       Kind = "KubeletKnownIssue"
	KindNotAPod                 Kind = "NotAPod"
	KindKubeletUnexplained      Kind = "KubeletUnexplained"
)

func init() {
	registerKinds(
		kindSpec{Kind: KindKubeletCrashLoop, Rank: 15, Severity: SeverityError, Describe: describeKubeletCrashLoop},
		kindSpec{Kind: KindSandboxImageUnavailable, Rank: 25, Severity: SeverityError, Blocking: true, Describe: describeSandboxImageUnavailable},
		kindSpec{Kind: KindKubeletKnownIssue, Rank: 35, Severity: SeverityWarning, Describe: describeKubeletKnownIssue},
		kindSpec{Kind: KindNotAPod, Rank: 45, Severity: SeverityWarning, Describe: describeNotAPod},
		kindSpec{Kind: KindKubeletUnexplained, Rank: 245, Severity: SeverityWarning, Describe: describeKubeletUnexplained},
	)
	registerRecordRules(kubeletRecordRules...)
	registerChecks(check{Name: "kubelet-log", Run: (*analyzer).kubeletLogChecks})
	registerCauseRules(kubeletCauses...)
}

// ---- record rules ----

var (
	// the sandbox (pause) image cannot be pulled: containerd "failed to get sandbox image", CRI-O
	// and dockershim pulling the pause/infra image inside RunPodSandbox.
	reSandboxImage = regexp.MustCompile(`(?:failed to get sandbox image|sandbox image|pod infra(?:structure)? (?:container )?image|pause image)[^"\\]*\\*"([^"\\]+)\\*"|(?:pull(?:ing)? image|pull and unpack image|resolve reference) \\*"([^"\\]*pause[^"\\]*)\\*"`)
	// a non-Pod object in the manifest directory, as the kubelet's decoder says it
	reNotAPod = regexp.MustCompile(`invalid pods?(?: list)?: ?&core\.([A-Z][A-Za-z]+)\{|no kind \\*"([A-Za-z]+)\\*" is registered|kind \\*"([A-Za-z]+)\\*" is not a Pod`)
)

// sandboxImage returns the sandbox image a RunPodSandbox error could not get ("" if it is not that).
func sandboxImage(text string) (string, bool) {
	if !containsAny(text, "PodSandbox", "sandbox", "Sandbox") {
		return "", false
	}
	m := reSandboxImage.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	if m[1] != "" {
		return m[1], true
	}
	return m[2], true
}

// notAPodKind returns the kind of the non-Pod object a manifest error names.
func notAPodKind(text string) (string, bool) {
	m := reNotAPod.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	for _, k := range m[1:] {
		if k != "" && k != "Pod" && k != "PodList" {
			return k, true
		}
	}
	return "", false
}

// decisionLine: the kubelet's info-level "Message for Container of pod" saying it restarts a
// container because a probe failed (logged once per decision, at v=2).
func decisionLine(r *kubeletlog.Record) bool {
	return r.Msg == "Message for Container of pod" && containsAny(r.Fields["containerMessage"], "failed liveness probe", "failed startup probe")
}

var kubeletRecordRules = []recordRule{
	// Before NetworkNotReady (500) and RuntimeUnreachable (600): a registry's "connection
	// refused" inside RunPodSandbox is the pause image pull, not the runtime socket.
	{450, KindSandboxImageUnavailable, scopeNode, func(r *kubeletlog.Record, t string) bool {
		_, ok := sandboxImage(t)
		return ok
	}},
	// Before ManifestUnparseable (200): a Namespace or Deployment is not a broken pod.
	{150, KindNotAPod, scopeFile, func(r *kubeletlog.Record, t string) bool {
		if !manifestMsg(r) {
			return false
		}
		_, ok := notAPodKind(r.Err)
		return ok
	}},
	// Before ProbeFailed (1300), which reads msg and err only; a probe that errors (its exec
	// failed, the container is gone) is the same story as one that fails.
	{1250, KindProbeFailed, scopePod, func(r *kubeletlog.Record, t string) bool {
		return decisionLine(r) || r.Msg == "Probe errored"
	}},
	// The pod worker's summary of a volume wait ("unmounted volumes=[data] … context deadline
	// exceeded") is the volume problem seen from the pod, after VolumeMountFailed's wordings.
	{950, KindVolumeMountFailed, scopePod, func(r *kubeletlog.Record, t string) bool {
		return strings.Contains(t, "unmounted volumes=[")
	}},
	// The 1.21+ wording of a failed mirror pod deletion (before PodRemoved at 1600).
	{1490, KindMirrorPodFailed, scopePod, func(r *kubeletlog.Record, t string) bool {
		return containsAny(r.Msg, "Failed deleting mirror pod", "Encountered error when deleting mirror pod")
	}},
}

// benignRace: an error about a container that is already gone (the kubelet raced its exit or
// removal): explained by whatever ended the container.
func benignRace(r *kubeletlog.Record) bool {
	t := r.Msg + " " + r.Err
	return containsAny(t, "CONTAINER_EXITED state", "container not found", "No such container") ||
		(containsAny(r.Msg, "DeleteContainer", "RemoveContainer", "ContainerStatus from runtime service failed", "ExecSync cmd from runtime service failed") && containsAny(t, "NotFound", "not found"))
}

// ---- cause rules ----

var kubeletCauses = []causeRule{
	{
		// Every pod sandbox needs the pause image: while it cannot be pulled no pod starts.
		Name: "sandbox image unavailable explains blocked pods", Priority: 150, Cause: KindSandboxImageUnavailable, OnNode: true,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			switch effect.f.Kind {
			case KindSandboxFailed, KindPodNotStarted, KindNetworkNotReady:
				return !effect.f.History && !cause.f.History
			}
			return false
		},
	},
	{
		// A kubelet restarting in a loop starts no pod for long.
		Name: "kubelet crash loop explains a pod that never started", Priority: 490, Cause: KindKubeletCrashLoop, OnNode: true,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			return effect.f.Kind == KindPodNotStarted
		},
	},
	{
		// The kubelet waits for the previous instance's volumes to be unmounted; the mount
		// error is that wait, not a broken volume.
		Name: "known kubelet volume wait explains the mount timeout", Priority: 160, Cause: KindKubeletKnownIssue,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			return effect.f.Kind == KindVolumeMountFailed && cause.f.Detail == issueVolumeWait
		},
	},
}

// ---- checks over the whole log ----

// kubeletLogChecks runs after every record was classified.
func (a *analyzer) kubeletLogChecks() {
	a.sandboxImagePods()
	a.notAPodFiles()
	a.kubeletProcess()
	a.knownIssues()
	a.manifestDirExpected()
	a.unexplained()
}

// sandboxImagePods pins a SandboxFailed on every pod whose sandbox the pause image blocks, so
// the pod shows why it waits and folds under the node's SandboxImageUnavailable.
func (a *analyzer) sandboxImagePods() {
	b := a.node.find(KindSandboxImageUnavailable)
	if b == nil {
		return
	}
	for _, r := range b.recs {
		for _, e := range a.ix.podsFor(r) {
			a.pod(e).fs.get(KindSandboxFailed, "").add(r)
		}
	}
}

// notAPodFiles turns the manifest scan's "not a pod" parse errors into NotAPod: a Namespace or
// a kustomization in the manifest directory is in the wrong place, not broken YAML.
func (a *analyzer) notAPodFiles() {
	for _, path := range a.fileO {
		file := a.files[path]
		u := file.fs.find(KindManifestUnparseable)
		if u == nil {
			continue
		}
		text := firstErr(u)
		if file.file != nil && file.file.Parse != nil {
			text = file.file.Parse.Error()
		}
		kind, ok := notAPodKind(text)
		if !ok && isKustomization(file) {
			kind, ok = "Kustomization", true
		}
		if !ok {
			continue
		}
		n := file.fs.get(KindNotAPod, "")
		n.pre = append(n.pre, u.pre...)
		for _, r := range u.recs {
			n.add(r)
		}
		n.variant = kind // the object kind, for describeNotAPod
		file.fs.remove(u)
	}
	for _, path := range a.fileO {
		n := a.files[path].fs.find(KindNotAPod)
		if n == nil {
			continue
		}
		if n.variant == "" {
			n.variant, _ = notAPodKind(firstErr(n))
		}
		// A workload (Deployment, Job…) was meant to run and nothing does; any other object is
		// only misplaced. The same rule as spdoc validate's.
		if staticpod.NotAPodSeverity(n.variant) == staticpod.SeverityError {
			n.f.Severity = SeverityError
		}
	}
}

func isKustomization(file *fileState) bool {
	base := strings.ToLower(baseName(file.path))
	return base == "kustomization.yaml" || base == "kustomization.yml" || base == "kustomization"
}

// kubeletProcess: a kubelet restarting in a loop (systemd's restart counter, repeated start-up
// banners with fatal lines between them), and why it is down when the log ends with its last words.
func (a *analyzer) kubeletProcess() {
	kl := a.s.KubeletLog
	if kl == nil {
		return
	}
	k := kl.Stats.Kubelet
	loop := k.RestartCounter >= 3 || k.Exits >= 3 || (k.Starts >= 3 && len(k.Fatal) >= 2)
	if loop {
		b := a.node.get(KindKubeletCrashLoop, "")
		src := "kubelet-log:" + kl.Source
		b.pre = append(b.pre, Evidence{Source: src, Line: crashLoopLine(k), Count: 1})
		for i := range k.Fatal {
			b.add(&k.Fatal[i])
		}
		if nr := a.node.find(KindKubeletNotRunning); nr != nil {
			// caught between two restarts: the process check saw none
			b.pre = append(b.pre, nr.pre...)
			a.node.remove(nr)
		}
		return
	}
	if len(k.Fatal) == 0 {
		return
	}
	last := &k.Fatal[len(k.Fatal)-1]
	started := !k.LastStart.IsZero() && k.LastStart.After(last.TS)
	nr := a.node.find(KindKubeletNotRunning)
	switch {
	case nr != nil && !started:
		// not running (process check) or a stale log: its last words say why
		for i := range k.Fatal {
			nr.add(&k.Fatal[i])
		}
		nr.variant = "fatal"
		nr.f.Severity = SeverityError
	case !started && !last.TS.Before(a.logEnd.Add(-maxFatalGap)):
		// the log ends with the kubelet giving up and no start after it
		b := a.node.get(KindKubeletNotRunning, "")
		for i := range k.Fatal {
			b.add(&k.Fatal[i])
		}
		b.variant = "fatal"
	}
}

func crashLoopLine(k kubeletlog.KubeletFacts) string {
	var parts []string
	if k.RestartCounter > 0 {
		parts = append(parts, fmt.Sprintf("systemd restart counter at %d", k.RestartCounter))
	}
	if k.Exits > 0 {
		parts = append(parts, fmt.Sprintf("%d exits", k.Exits))
	}
	if k.Starts > 0 {
		parts = append(parts, fmt.Sprintf("%d start-ups", k.Starts))
	}
	if k.Version != "" {
		parts = append(parts, "kubelet "+k.Version)
	}
	return strings.Join(parts, ", ")
}

// kubeletWhy reads the kubelet's fatal error: the reason in a few words and the way out.
func kubeletWhy(err string) (why, hint string) {
	e := strings.ToLower(err)
	switch {
	case strings.Contains(e, "swap"):
		return "swap is on", "swapoff -a (and remove swap from /etc/fstab), or set failSwapOn: false in the kubelet config"
	case strings.Contains(e, "cgroup v1") || strings.Contains(e, "cgroupv1"):
		return "kubelet >= 1.35 refuses a cgroup v1 host", "move the node to cgroup v2 (systemd.unified_cgroup_hierarchy=1), or set failCgroupV1: false in the kubelet config"
	case strings.Contains(e, "cgroup driver") && containsAny(e, "different", "mismatch", "misconfiguration"):
		return "the kubelet's cgroup driver differs from the runtime's", "set cgroupDriver in the kubelet config to the runtime's (containerd: SystemdCgroup = true ↔ cgroupDriver: systemd)"
	case containsAny(e, "failed to load kubelet config file", "failed to load kubelet config", "failed to validate kubelet configuration", "failed to parse kubelet flag", "failed to validate kubelet flags") ||
		(strings.Contains(e, "config.yaml") && containsAny(e, "no such file", "permission denied")):
		return "its configuration is unreadable or invalid", "check the file the kubelet's --config names (kubeadm: /var/lib/kubelet/config.yaml) and its flags (systemctl cat kubelet)"
	case strings.Contains(e, "unknown flag") || strings.Contains(e, "flag provided but not defined"):
		return "a flag it does not know (removed in this version)", "remove the flag from the kubelet's unit or /var/lib/kubelet/kubeadm-flags.env; see the kubelet's changelog for its replacement"
	case containsAny(e, "certificate", "x509", "bootstrap-kubelet.conf", "client-ca", "tls"):
		return "a certificate or kubeconfig problem", "check /etc/kubernetes/kubelet.conf and /var/lib/kubelet/pki (kubeadm certs check-expiration on a control plane)"
	case strings.Contains(e, "containermanager") || strings.Contains(e, "container manager"):
		return "the container manager (cgroups) could not start", "check the cgroup setup (mount | grep cgroup) and the kubelet's cgroupRoot/cgroupsPerQOS settings"
	case containsAny(e, "container runtime", "runtime service", ".sock"):
		return "the container runtime is not reachable", "start the runtime (systemctl status containerd) and check --container-runtime-endpoint"
	case strings.Contains(e, "address already in use"):
		return "a port it needs is taken", "find who listens: ss -ltnp (10250, 10248)"
	}
	return "", "systemctl status kubelet; journalctl -u kubelet -e"
}

// maxFatalGap bounds how old a fatal line may be, relative to the log's end, to explain a kubelet
// that is not running.
const maxFatalGap = 10 * 60 * 1e9

// ---- known kubelet behaviours by version ----

const (
	issueReconstruction = "volume reconstruction (1.27.0, 1.27.1)"
	issueVolumeWait     = "waiting for the old pod's volumes"
	issueCgroupDriver   = "cgroup driver mismatch"
)

var reUnmountedVolumes = regexp.MustCompile(`unmounted volumes=\[([^\]]+)\]`)

// knownIssues finds kubelet behaviours that look like pod problems.
func (a *analyzer) knownIssues() {
	version := ""
	if kl := a.s.KubeletLog; kl != nil {
		version = kl.Stats.Kubelet.Version
	}
	if a.s.Kubelet != nil && a.s.Kubelet.Version != "" && version == "" {
		version = a.s.Kubelet.Version
	}
	// 1.27.0/1.27.1: reconstruction of volumes after a kubelet restart (NewVolumeManagerReconstruction)
	// left pods' volumes unmounted or never cleaned up; fixed in 1.27.2.
	if strings.HasPrefix(version, "v1.27.0") || strings.HasPrefix(version, "v1.27.1") {
		for _, id := range a.ix.sortedIDs() {
			pod := a.pods[id]
			if v := pod.fs.find(KindVolumeMountFailed); v != nil && !v.f.History {
				b := a.node.get(KindKubeletKnownIssue, "")
				b.f.Detail = issueReconstruction
				for _, r := range v.recs {
					b.add(r)
				}
			}
		}
	}
	// A static pod whose manifest changed (or whose kubelet restarted) waits for the previous
	// instance's volumes: "unmounted volumes=[…]" with no mount error of its own.
	for _, id := range a.ix.sortedIDs() {
		pod := a.pods[id]
		v := pod.fs.find(KindVolumeMountFailed)
		if v == nil || v.f.History {
			continue
		}
		waitOnly := true
		for _, r := range v.recs {
			t := r.Msg + " " + r.Err
			if !reUnmountedVolumes.MatchString(t) || containsAny(t, "MountVolume.SetUp failed", "MountVolume.MountDevice failed", "hostPath type check failed") {
				waitOnly = false
				break
			}
		}
		restarted := false // the kubelet restarted (not its first start) before the wait
		if kl := a.s.KubeletLog; kl != nil {
			restarted = kl.Stats.Kubelet.Starts >= 2 && !kl.Stats.Kubelet.LastStart.After(v.first)
		}
		if waitOnly && len(v.recs) > 0 && (len(pod.e.uids) > 1 || restarted) {
			b := pod.fs.get(KindKubeletKnownIssue, "")
			b.f.Detail = issueVolumeWait
			for _, r := range v.recs {
				b.add(r)
			}
		}
	}
	// The kubelet's cgroup driver against the runtime's: pods fail to start with runc's
	// cgroupsPath error, or the kubelet refuses to run (dockershim days).
	for _, list := range [][]*findingBuilder{a.node.list, a.allPodBuilders()} {
		for _, b := range list {
			for _, r := range b.recs {
				t := r.Msg + " " + r.Err
				if containsAny(t, "expected cgroupsPath to be of format", "is different from docker cgroup driver", "cgroup driver mismatch") ||
					(strings.Contains(t, "cgroup driver") && containsAny(t, "is different from", "misconfiguration")) {
					a.cgroupIssue().add(r)
				}
			}
		}
	}
	if kl := a.s.KubeletLog; kl != nil {
		for i := range kl.Stats.Kubelet.Fatal {
			r := &kl.Stats.Kubelet.Fatal[i]
			if why, _ := kubeletWhy(r.Err + " " + r.Msg); why == "the kubelet's cgroup driver differs from the runtime's" {
				a.cgroupIssue().add(r)
			}
		}
	}
}

// cgroupIssue is the node's cgroup-driver KubeletKnownIssue (keyed apart from the others).
func (a *analyzer) cgroupIssue() *findingBuilder {
	k := a.node.getSeverity(KindKubeletKnownIssue, issueCgroupDriver, SeverityError)
	k.f.Detail, k.f.Container = issueCgroupDriver, ""
	return k
}

func (a *analyzer) allPodBuilders() []*findingBuilder {
	var out []*findingBuilder
	for _, id := range a.ix.sortedIDs() {
		out = append(out, a.pods[id].fs.list...)
	}
	return out
}

// manifestDirExpected: a missing manifest directory is normal on a node that runs no static pods
// (a worker): info, unless something says static pods were expected.
func (a *analyzer) manifestDirExpected() {
	b := a.node.find(KindManifestDirMissing)
	if b == nil || len(a.ix.pods) > 0 {
		return
	}
	if a.s.Runtime != nil {
		for _, sb := range a.s.Runtime.Sandboxes {
			if isFileSource(sb.Annotations) {
				return
			}
		}
	}
	if kl := a.s.KubeletLog; kl != nil {
		for i := range kl.Records {
			r := &kl.Records[i]
			if strings.HasPrefix(r.Msg, "SyncLoop ADD") && (r.Fields["source"] == "file" || strings.Contains(r.Raw, `"file"`)) {
				return
			}
		}
	}
	b.f.Severity = SeverityInfo
	b.variant = "none expected"
}

// unexplained collects kubelet error and warning records nothing classified, or classified but
// about no static pod: one node-level finding with their count and first lines; those that name a
// static pod show on it.
func (a *analyzer) unexplained() {
	kl := a.s.KubeletLog
	if kl == nil {
		return
	}
	node := a.node.find(KindKubeletUnexplained)
	var total, distinct, aboutOthers int
	seen := map[string]bool{}
	for i := range kl.Records {
		r := &kl.Records[i]
		if !problemLevel(r) || isNoise(r) || kubeletlog.IsFatal(r) || r.Format == kubeletlog.FormatText || benignRace(r) {
			continue
		}
		c, ok := a.opts.Memo.classify(r)
		pods := a.ix.podsFor(r)
		if ok && len(pods) == 0 && r.Image != "" && a.usesImage(r.Image) {
			continue // a pull error names only the image, which a static pod here uses
		}
		switch {
		case ok && (c.scope != scopePod || len(pods) > 0 || c.kind == KindNetworkNotReady || c.kind == KindRuntimeUnreachable || c.kind == KindSandboxImageUnavailable):
			continue // explained and placed
		case !ok && len(pods) > 0:
			for _, e := range pods {
				a.pod(e).fs.get(KindKubeletUnexplained, "").add(r)
			}
			continue
		case ok:
			aboutOthers++ // classified, about a pod that is not a static pod here
		}
		if node == nil {
			node = a.node.getSeverity(KindKubeletUnexplained, "", SeverityInfo)
		}
		total++
		key := r.Msg
		if !seen[key] {
			seen[key] = true
			distinct++
			node.add(r)
		}
	}
	if node != nil && total > 0 {
		node.f.Detail = fmt.Sprintf("%d|%d|%d", total, distinct, aboutOthers)
	}
}

// usesImage reports whether a static pod of this node runs image.
func (a *analyzer) usesImage(image string) bool {
	for _, id := range a.ix.sortedIDs() {
		for _, sp := range a.pods[id].e.pods {
			if sp == nil || sp.Pod == nil {
				continue
			}
			for _, c := range append(sp.Pod.Spec.InitContainers, sp.Pod.Spec.Containers...) {
				if c.Image == image {
					return true
				}
			}
		}
	}
	return false
}

func problemLevel(r *kubeletlog.Record) bool {
	return r.Level == "E" || r.Level == "W" || r.Level == "F"
}

// logWithoutRecords tells a kubelet log with nothing relevant (info) from an empty file and from
// a file in which no line looks like a kubelet record (its first line shown).
func (a *analyzer) logWithoutRecords() {
	kl := a.s.KubeletLog
	st := kl.Stats
	src := "kubelet-log:" + kl.Source
	switch {
	case st.Lines == 0:
		b := a.node.get(KindKubeletLogMissing, "")
		b.pre = []Evidence{{Source: src, Line: "the kubelet log is empty", Count: 1}}
		b.variant = "empty"
	case st.Sniffed > 0:
		b := a.node.getSeverity(KindKubeletLogMissing, "", SeverityInfo)
		b.pre = []Evidence{{Source: src, Line: fmt.Sprintf("%d lines read, kubelet records among them, none relevant (no error, warning or static pod event)", st.Lines), Count: 1}}
		b.variant = "irrelevant"
	default:
		b := a.node.get(KindKubeletLogMissing, "")
		b.pre = []Evidence{
			{Source: src, Line: fmt.Sprintf("none of its %d lines looks like a kubelet log record (klog, JSON, journald, syslog or talosctl)", st.Lines), Count: 1},
			{Source: src + ":1", Line: "first line: " + st.FirstLine, Count: 1},
		}
		b.variant = "foreign"
	}
}

// ---- texts ----

// describeLogRead words KubeletLogMissing for a log that was read (see logWithoutRecords).
func describeLogRead(f *Finding, b *findingBuilder) bool {
	switch b.variant {
	case "empty":
		f.Title = "the kubelet log is empty"
		f.Detail = "The named kubelet log has no lines; why the kubelet did what it did is unknown."
		f.Hint = "is the kubelet logging elsewhere? journalctl -u kubelet, or name another file with --kubelet-log"
	case "irrelevant":
		f.Title = "the kubelet log was read: no kubelet error, warning or static pod event in it"
		f.Detail = "The file holds kubelet records, but none of them is about static pods or a problem (in the --since window, if given)."
		f.Hint = "widen the window (--since) or raise the kubelet's verbosity (-v=2) to see static pod events"
	case "foreign":
		f.Title = "the file read as the kubelet log holds no kubelet record"
		f.Detail = "None of its lines is a kubelet log line in any known shape (klog text, JSON, journald, syslog, talosctl); its first line is shown."
		f.Hint = "name the kubelet's own log: --kubelet-log journal, or the file its unit writes to"
	default:
		return false
	}
	return true
}

func describeKubeletCrashLoop(f *Finding, b *findingBuilder, tc textCtx) {
	why, hint := "", "systemctl status kubelet; journalctl -u kubelet -e"
	for i := len(b.recs) - 1; i >= 0 && why == ""; i-- {
		why, hint = kubeletWhy(b.recs[i].Err + " " + b.recs[i].Msg)
	}
	f.Title = "the kubelet is restarting in a loop"
	if why != "" {
		f.Title += ": " + why
	} else if e := firstErrLast(b); e != "" {
		f.Title += ": " + ellipsis(e, 120)
	}
	f.Detail = "systemd starts the kubelet again and again and it exits each time, so no static pod is (re)started for long. Its last fatal lines say why."
	f.Hint = hint
}

// firstErrLast is the newest record's error.
func firstErrLast(b *findingBuilder) string {
	for i := len(b.recs) - 1; i >= 0; i-- {
		if e := b.recs[i].Err; e != "" {
			return e
		}
	}
	if len(b.recs) > 0 {
		return b.recs[len(b.recs)-1].Msg
	}
	return ""
}

// kubeletNotRunningWhy adds the kubelet's last words to KubeletNotRunning (describeKubeletNotRunning).
func kubeletNotRunningWhy(f *Finding, b *findingBuilder) {
	last := firstErrLast(b)
	if len(b.recs) == 0 || last == "" {
		return
	}
	why, hint := kubeletWhy(last + " " + b.recs[len(b.recs)-1].Msg)
	if why == "" {
		why = ellipsis(last, 120)
	}
	f.Title = "the kubelet is not running: " + why
	f.Detail = "Its last fatal line says why it exited. Without the kubelet nothing reads the manifest directory: static pods are neither started nor restarted."
	f.Hint = hint
}

func describeSandboxImageUnavailable(f *Finding, b *findingBuilder, tc textCtx) {
	img := ""
	for _, r := range b.recs {
		if i, ok := sandboxImage(r.Msg + " " + r.Err); ok {
			img = i
			break
		}
	}
	if img == "" {
		img = "the pause image"
	}
	reason := sandboxReason(firstErr(b))
	f.Title = fmt.Sprintf("sandbox image %s cannot be pulled: %s", img, tailEllipsis(pullCause(firstErr(b), reason), 100))
	f.Detail = "Every pod sandbox starts from the runtime's sandbox (pause) image. The runtime cannot pull it, so no pod that needs a new sandbox starts on this node; the pods below wait on it."
	f.Hint = sandboxImageHint(runtimeOf(tc.endpoint, b), img)
}

// pullCause keeps the end of a pull error, where the registry's answer is.
func pullCause(err, fallback string) string {
	for _, marker := range []string{"dial tcp", "no such host", "i/o timeout", "x509", "unauthorized", "not found", "403 Forbidden", "connection refused", "TLS handshake"} {
		if i := strings.Index(err, marker); i >= 0 {
			return err[i:]
		}
	}
	return fallback
}

// runtimeOf names the container runtime from its socket or the records.
func runtimeOf(endpoint string, b *findingBuilder) string {
	text := endpoint
	if b != nil {
		for _, r := range b.recs {
			text += " " + r.Err
		}
	}
	switch {
	case strings.Contains(text, "crio") || strings.Contains(text, "cri-o"):
		return "cri-o"
	case strings.Contains(text, "cri-dockerd") || strings.Contains(text, "dockershim") || strings.Contains(text, "docker"):
		return "docker"
	case strings.Contains(text, "containerd"):
		return "containerd"
	}
	return ""
}

// runtimeUnit names the runtime of the node and its systemd unit (containerd when unknown, the
// common case).
func runtimeUnit(tc textCtx, b *findingBuilder) (name, unit string) {
	switch runtimeOf(tc.endpoint, b) {
	case "cri-o":
		return "CRI-O", "crio"
	case "docker":
		return "cri-dockerd/Docker", "cri-docker"
	}
	return "containerd", "containerd"
}

func sandboxImageHint(runtime, img string) string {
	switch runtime {
	case "cri-o":
		return fmt.Sprintf("make %s pullable, or set pause_image in /etc/crio/crio.conf ([crio.image]) to an image the node has; pre-load it with podman pull / skopeo copy into containers-storage", img)
	case "docker":
		return fmt.Sprintf("make %s pullable, or set cri-dockerd's --pod-infra-container-image (the kubelet's --pod-infra-container-image before 1.24) to an image the node has; pre-load it: docker load -i pause.tar", img)
	case "containerd":
		return fmt.Sprintf("make %s pullable, or set sandbox_image ([plugins.\"io.containerd.grpc.v1.cri\"], containerd 2: [plugins.\"io.containerd.cri.v1.images\".pinned_images] sandbox) in /etc/containerd/config.toml to an image the node has; pre-load it: ctr -n k8s.io images import pause.tar", img)
	}
	return fmt.Sprintf("make %s pullable from this node, or point the runtime's sandbox image setting at one the node has and pre-load it (containerd: sandbox_image; CRI-O: pause_image; cri-dockerd: --pod-infra-container-image)", img)
}

func describeKubeletKnownIssue(f *Finding, b *findingBuilder, tc textCtx) {
	switch f.Detail {
	case issueReconstruction:
		f.Title = "kubelet 1.27.0/1.27.1 volume reconstruction: pods' volumes stay unmounted after a kubelet restart"
		f.Detail = "Kubelet 1.27.0 and 1.27.1 reconstruct mounted volumes after a restart with NewVolumeManagerReconstruction, which could leave volumes unmounted or never cleaned up, so pods hang in ContainerCreating or Terminating. Fixed in 1.27.2."
		f.Hint = "upgrade the kubelet to 1.27.2 or newer; meanwhile restart the affected pods (move their manifests out and back)"
	case issueVolumeWait:
		vols := ""
		for _, r := range b.recs {
			if m := reUnmountedVolumes.FindStringSubmatch(r.Err + " " + r.Msg); m != nil {
				vols = m[1]
				break
			}
		}
		f.Title = "the new instance waits for the old pod's volumes" + suffix(" (", vols) + strings.Repeat(")", btoi(vols != ""))
		f.Detail = "After a manifest change or a kubelet restart the kubelet starts the new static pod only once the previous instance's volumes are unmounted; while the old pod's teardown is stuck the new one reports \"unmounted volumes\" and times out, again and again. The volume itself is fine."
		f.Hint = "find what holds the old pod (crictl pods; spdoc diagnose shows a StaleInstance), stop it, or restart the kubelet: systemctl restart kubelet"
	case issueCgroupDriver:
		f.Title = "the kubelet's cgroup driver differs from the container runtime's"
		f.Detail = "The kubelet and the runtime must manage cgroups the same way (cgroupfs or systemd). With different drivers runc rejects the kubelet's cgroup paths, so no pod sandbox starts (or older kubelets refuse to run). Kubelets from 1.28 can take the driver from the runtime (KubeletCgroupDriverFromCRI)."
		f.Hint = "make them agree: cgroupDriver: systemd in the kubelet config and SystemdCgroup = true in containerd's runc options (or both cgroupfs), then restart both"
	default:
		f.Title = "a known kubelet behaviour: " + ellipsis(firstErr(b), 100)
		f.Detail = "The kubelet of this version behaves this way; it looks like a pod problem but is not one."
		f.Hint = "see the kubelet's release notes for this version"
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func describeNotAPod(f *Finding, b *findingBuilder, tc textCtx) {
	kind := b.variant
	if kind == "" {
		kind = "another object"
	}
	f.Title = fmt.Sprintf("%s is not a Pod but a %s: move it out of the static pod directory", baseName(tc.file), kind)
	f.Detail = fmt.Sprintf("The kubelet reads every file in its manifest directory as a Pod. A %s there is not broken YAML, it is in the wrong place: the kubelet logs an error for it on every re-list and runs nothing from it. Apply it to the API server instead, or keep it in another directory.", kind)
	f.Hint = fmt.Sprintf("mv %s /etc/kubernetes/ (or wherever it belongs); to create it: kubectl apply -f FILE", orDefault(tc.file, "FILE"))
	if t, ok := staticpod.PodTemplateField(kind); ok {
		f.Title = fmt.Sprintf("%s is a %s, not a Pod: the kubelet runs nothing from it", baseName(tc.file), kind)
		f.Detail = fmt.Sprintf("The kubelet reads every file in its manifest directory as a Pod and runs only kind: Pod. The pod this %s describes (under %s) does not run on this node.", kind, t)
		f.Hint = fmt.Sprintf("to run it as a static pod, make %s a kind: Pod of the metadata and spec under %s; or apply it to the API server (kubectl apply -f FILE) and move it out", orDefault(tc.file, "the file"), t)
	}
}

func describeKubeletUnexplained(f *Finding, b *findingBuilder, tc textCtx) {
	if tc.pod != nil {
		f.Title = fmt.Sprintf("%s about this pod that spdoc does not explain: %s", plural(len(b.recs), "kubelet error", "kubelet errors"), ellipsis(firstErr(b), 100))
		f.Detail = "The kubelet logged errors or warnings naming this pod that match none of spdoc's rules; read them below."
		f.Hint = "spdoc logs --kubelet --pod " + orDefault(tc.pod.ID, "POD")
		return
	}
	total, distinct, others := 0, 0, 0
	if parts := strings.Split(f.Detail, "|"); len(parts) == 3 {
		total, _ = strconv.Atoi(parts[0])
		distinct, _ = strconv.Atoi(parts[1])
		others, _ = strconv.Atoi(parts[2])
	}
	if total == 0 {
		total, distinct = len(b.recs), len(b.recs)
	}
	f.Title = fmt.Sprintf("%s (%s) that spdoc does not explain", plural(total, "kubelet error/warning record", "kubelet error/warning records"), plural(distinct, "distinct message", "distinct messages"))
	f.Detail = "They name no static pod of this node"
	if others > 0 {
		f.Detail += fmt.Sprintf(" (%d are about other pods)", others)
	}
	f.Detail += "; the first of each message is shown below. They may still matter for the node."
	f.Hint = "spdoc logs --kubelet to read them in full"
}

// mirrorReason says why the API server refused a mirror pod.
func mirrorReason(err string) (why, hint string, benign bool) {
	e := strings.ToLower(err)
	switch {
	case strings.Contains(e, "already exists"):
		return "it already exists", "nothing to do: the kubelet keeps the existing mirror pod", true
	case containsAny(e, "can only create pods with spec.nodename set to itself", "can only create mirror pods", "noderestriction", "node \"", "is forbidden: node") && !strings.Contains(e, "webhook"):
		return "refused by NodeRestriction (the pod names another node or references API objects)", "static pods may only bind to their own node and may not reference secrets, configmaps or service accounts: fix " + "spec.nodeName/volumes in the manifest", false
	case rePCNotFound.MatchString(err):
		pc := strings.Trim(rePCNotFound.FindStringSubmatch(err)[1], `"\`)
		return "the PriorityClass " + pc + " does not exist", "the API server creates system-node-critical and system-cluster-critical itself moments after it starts (the kubelet retries); any other PriorityClass must be created, or spec.priorityClassName changed", false
	case reNSNotFound.MatchString(err):
		ns := reNSNotFound.FindStringSubmatch(err)[1]
		return "the namespace " + ns + " does not exist", "kube-system appears moments after the API server starts (the kubelet retries); any other namespace must be created (kubectl create namespace " + ns + ")", false
	case strings.Contains(e, "admission webhook"):
		return "denied by an admission webhook", "see the webhook's message above; exempt static pods (kube-system) from it or fix the manifest", false
	case strings.Contains(e, "podsecurity") || strings.Contains(e, "violates podsecurity"):
		return "denied by Pod Security admission", "label the namespace for the needed level or fix the pod's securityContext", false
	case strings.Contains(e, "nodes \"") && strings.Contains(e, "not found"):
		return "the node is not registered yet", "the kubelet retries once the node is registered; check the kubelet's registration errors", false
	case containsAny(e, "connection refused", "dial tcp", "i/o timeout", "no such host", "context deadline exceeded", "tls handshake", "eof", "no route to host", "service unavailable"):
		return "the API server is unreachable", "check the API server (spdoc diagnose on the control plane) and the kubelet's kubeconfig; the static pod runs regardless", false
	case containsAny(e, "unauthorized", "forbidden"):
		return "the kubelet is not allowed to", "check the kubelet's client certificate and RBAC (system:nodes group)", false
	}
	return "", "", false
}

// ---- report: how the log was read ----

// LogReport says how the kubelet log was read: its shape, where klog's year came from, the
// kubelet version it announced, and the talosctl nodes it interleaves.
type LogReport struct {
	Shape          string   `json:"shape,omitempty"`
	YearSource     string   `json:"yearSource,omitempty"`
	KubeletVersion string   `json:"kubeletVersion,omitempty"`
	Nodes          []string `json:"nodes,omitempty"`
	// Node is the one of Nodes whose records were used (see selectLogNode).
	Node    string `json:"node,omitempty"`
	Damaged int64  `json:"damaged,omitempty"`
}

// logReport describes the log of the snapshot (nil when none was read).
func (a *analyzer) logReport() *LogReport {
	kl := a.s.KubeletLog
	if kl == nil || (kl.Stats.Parsed == 0 && len(kl.Records) == 0) {
		return nil
	}
	st := kl.Stats
	lr := &LogReport{Shape: string(st.Shape()), YearSource: st.YearSource, KubeletVersion: st.Kubelet.Version, Damaged: st.Damaged}
	if len(st.Nodes) > 1 {
		lr.Nodes = append([]string(nil), st.Nodes...)
		sort.Strings(lr.Nodes)
		lr.Node = a.logNode
	}
	if lr.KubeletVersion == "" && a.s.Kubelet != nil {
		lr.KubeletVersion = a.s.Kubelet.Version
	}
	return lr
}

// String is the one-line form for the text and markdown headers.
func (lr *LogReport) String() string {
	if lr == nil {
		return ""
	}
	var parts []string
	if lr.Shape != "" {
		parts = append(parts, lr.Shape)
	}
	if lr.YearSource != "" {
		parts = append(parts, "year from "+lr.YearSource)
	}
	if lr.KubeletVersion != "" {
		parts = append(parts, "kubelet "+lr.KubeletVersion)
	}
	if len(lr.Nodes) > 0 {
		parts = append(parts, "talosctl nodes "+strings.Join(lr.Nodes, ",")+suffix(", records of ", lr.Node))
	}
	if lr.Damaged > 0 {
		parts = append(parts, plural(int(lr.Damaged), "damaged line", "damaged lines"))
	}
	return strings.Join(parts, " · ")
}
