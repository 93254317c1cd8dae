package diagnose

import (
	"fmt"
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/spdoc/spdoc/internal/kernlog"
)

// The kinds of the kernel's log (node.Snapshot.Kernel: a talosctl bundle's dmesg.log, a copied
// node's var/log/dmesg or kern.log). The kernel is often who killed a static pod's container: its
// OOM killer names the victim's memory cgroup, which names the pod UID and container ID, so the
// kill lands on the container it hit and explains that container's crash loop.
const (
	// KindKernelOOMKill: the kernel's OOM killer killed a process of a static pod's container
	// (its memory cgroup's limit, or the node out of memory); on the node when the victim is no
	// static pod's (another pod, a system service).
	KindKernelOOMKill Kind = "KernelOOMKill"
	// KindKernelSegfault: a process of a container died of a fault the kernel reported (segfault,
	// general protection fault, invalid opcode).
	KindKernelSegfault Kind = "KernelSegfault"
	// KindKernelHungTask: a task hung in the kernel (uninterruptible) for longer than the hung
	// task timeout, usually on I/O.
	KindKernelHungTask Kind = "KernelHungTask"
	// KindKernelDiskError: the kernel reported disk or filesystem errors (I/O errors, ext4/xfs
	// errors, a filesystem remounted read-only, device timeouts).
	KindKernelDiskError Kind = "KernelDiskError"
	// KindKernelNetworkError: the kernel dropped packets because a table was full (conntrack,
	// neighbour table) or a NIC's transmit queue hung.
	KindKernelNetworkError Kind = "KernelNetworkError"
)

func init() {
	registerKinds(
		kindSpec{Kind: KindKernelDiskError, Rank: 22, Severity: SeverityError, Describe: describeKernelDiskError},
		kindSpec{Kind: KindKernelNetworkError, Rank: 85, Severity: SeverityError, Describe: describeKernelNetworkError},
		kindSpec{Kind: KindKernelHungTask, Rank: 95, Severity: SeverityWarning, Container: true, Describe: describeKernelHungTask},
		kindSpec{Kind: KindKernelOOMKill, Rank: 135, Severity: SeverityError, Container: true, Describe: describeKernelOOMKill},
		kindSpec{Kind: KindKernelSegfault, Rank: 141, Severity: SeverityError, Container: true, Describe: describeKernelSegfault},
	)
	registerChecks(check{Name: "kernel-log", Run: (*analyzer).kernelRules})
	registerCauseRules(
		causeRule{
			// The kernel killed the container's process: that is why it exited (137) and restarts.
			Name: "kernel OOM kill explains the container's exit and restarts", Priority: 250, Cause: KindKernelOOMKill, Escalate: true,
			Explains: kernelExplains(KindCrashLoop, KindContainerRestarted, KindOOMKilled, KindContainerFailed),
			Describe: func(f *Finding) {
				_, cref := containerRef(f)
				switch {
				case f.ExitCode != nil && *f.ExitCode != 137:
					// The kill took a process of the container, not its main one, which then
					// exited on its own.
					f.Title = cref + " keeps crashing" + exitSuffix(f) + " after the kernel's OOM killer killed a process of it"
				case f.Kind == KindContainerRestarted || f.Kind == KindOOMKilled:
					f.Title = cref + " was killed by the kernel's OOM killer and restarted" + exitSuffix(f)
				default:
					f.Title = cref + " keeps being killed by the kernel's OOM killer" + exitSuffix(f)
				}
				f.Detail = "The kernel killed the container's process for memory (see KernelOOMKill above: which limit, how much it used); the kubelet restarts it with a growing back-off."
				f.Hint = "raise the container's memory limit or find what uses the memory (see KernelOOMKill above)"
			},
		},
		causeRule{
			// A process that segfaults exits on SIGSEGV (139) or SIGBUS/SIGILL: the crash is the fault.
			Name: "kernel-reported fault explains the container's crash", Priority: 260, Cause: KindKernelSegfault,
			Explains: kernelExplains(KindCrashLoop, KindContainerRestarted, KindContainerFailed),
			Describe: func(f *Finding) {
				_, cref := containerRef(f)
				f.Title = cref + " keeps crashing: its process faults (segfault)" + exitSuffix(f)
				f.Detail = "The kernel reported the container's process faulting (see KernelSegfault above); the kubelet restarts it with a growing back-off."
				f.Hint = "see KernelSegfault above: the faulting binary or library is named there; check the image and its architecture"
			},
		},
	)
}

// kernelWindow is how far apart a kernel event and a container's trouble may be and still be one
// story (the kill comes first, the kubelet's records of the exit follow within seconds; a crash
// loop's back-off reaches 5 minutes).
const kernelWindow = 10 * time.Minute

// kernelExplains: a kernel event about the same container, not over long before the trouble.
func kernelExplains(kinds ...Kind) func(p *podState, cause, effect *findingBuilder) bool {
	return func(p *podState, cause, effect *findingBuilder) bool {
		if effect.f.History || cause.f.History || cause.f.Container == "" || cause.f.Container != effect.f.Container {
			return false
		}
		match := false
		for _, k := range kinds {
			match = match || effect.f.Kind == k
		}
		if !match {
			return false
		}
		// Without times on both sides (dmesg's seconds since boot; a runtime-only finding) the
		// container is the link; with them, the kill must fall within the trouble.
		if cause.last.IsZero() || effect.first.IsZero() {
			return true
		}
		return !cause.last.Before(effect.first.Add(-kernelWindow)) && !endedBefore(effect, cause)
	}
}

// kernelCrash: the pod crash-loops because of the kernel (its crash findings are folded under a
// kernel OOM kill or fault).
func kernelCrash(p *podState) bool {
	for _, b := range p.fs.list {
		if !b.f.History && (b.f.Kind == KindCrashLoop || b.f.Kind == KindOOMKilled) && (b.f.Cause == KindKernelOOMKill || b.f.Cause == KindKernelSegfault) {
			return true
		}
	}
	return false
}

func exitSuffix(f *Finding) string {
	if f.ExitCode == nil {
		return ""
	}
	return fmt.Sprintf(" (exit code %d)", *f.ExitCode)
}

// kernelRules (the "kernel-log" check) puts each kernel event on the static pod and container it
// concerns — by the container ID and pod UID of the victim's memory cgroup, else by process
// name — or on the node.
func (a *analyzer) kernelRules() {
	k := a.s.Kernel
	if k == nil {
		return
	}
	for i := range k.Events {
		ev := &k.Events[i]
		kind := kernelKind(ev.Kind)
		if kind == "" {
			continue
		}
		ps, container, how := a.kernelTarget(ev)
		var b *findingBuilder
		switch {
		case ps != nil:
			b = ps.fs.get(kind, container)
			if b.variant == "" || how == "cgroup" {
				b.variant = how
			}
		default:
			sev := defaultSeverity(kind)
			subject := ev.Subject
			if kind == KindKernelOOMKill || kind == KindKernelSegfault || kind == KindKernelHungTask {
				// Not a static pod's: context for the node (memory pressure, a broken host binary).
				sev, subject = SeverityWarning, kernelVictim(ev)
			}
			b = a.node.getAbout(kind, About{Subject: subject}, sev)
		}
		b.kernel = append(b.kernel, *ev)
		if !ev.TS.IsZero() {
			if b.first.IsZero() || ev.TS.Before(b.first) {
				b.first = ev.TS
			}
			if ev.TS.After(b.last) {
				b.last = ev.TS
			}
		}
		a.kernelEvidence(b, ev)
	}
	// A node-level report the kernel stopped making long before the snapshot is history.
	for _, b := range a.node.list {
		if len(b.kernel) > 0 && !b.last.IsZero() && !a.s.Taken.IsZero() && a.s.Taken.Sub(b.last) > kernelQuiet {
			b.f.History, b.f.Severity = true, SeverityInfo
		}
	}
}

// kernelQuiet is how long the kernel must have said nothing more of a node-level problem before
// the snapshot for it to be history (its log covers the whole boot: days, often).
const kernelQuiet = time.Hour

func kernelKind(k kernlog.Kind) Kind {
	switch k {
	case kernlog.KindOOMKill:
		return KindKernelOOMKill
	case kernlog.KindSegfault:
		return KindKernelSegfault
	case kernlog.KindHungTask:
		return KindKernelHungTask
	case kernlog.KindDiskError:
		return KindKernelDiskError
	case kernlog.KindNetworkTable:
		return KindKernelNetworkError
	}
	return ""
}

// kernelVictim names an event's process for a node-level finding ("kubelet (Talos service)").
func kernelVictim(ev *kernlog.Event) string {
	switch {
	case ev.Service != "":
		return ev.Process + " (Talos service " + ev.Service + ")"
	case ev.PodUID != "":
		return ev.Process + " (pod uid " + ev.PodUID + ")"
	}
	return orDefault(ev.Process, "a process")
}

// kernelTarget is the static pod and container an event concerns and how that was told:
// "cgroup" (the container ID or pod UID of its memory cgroup) or "process" (its name matches
// one container of one static pod). Nil when it is no static pod's.
func (a *analyzer) kernelTarget(ev *kernlog.Event) (*podState, string, string) {
	if ev.ContainerID != "" {
		if e := a.ix.byCID[ev.ContainerID]; e != nil {
			for _, c := range e.containers {
				if c.ID == ev.ContainerID {
					return a.pod(e), c.Name, "cgroup"
				}
			}
			return a.pod(e), a.containerByProcess(e, ev.Process), "cgroup"
		}
		if e := a.podOfRecordedContainer(ev.ContainerID); e != nil {
			return a.pod(e), a.containerByProcess(e, ev.Process), "cgroup"
		}
	}
	if ev.PodUID != "" {
		if e := a.ix.byUID[ev.PodUID]; e != nil {
			return a.pod(e), a.containerByProcess(e, ev.Process), "cgroup"
		}
		return nil, "", "" // another pod's: its name says nothing about ours
	}
	if ev.Service != "" || ev.Process == "" || ev.Kind == kernlog.KindDiskError || ev.Kind == kernlog.KindNetworkTable {
		return nil, "", ""
	}
	if ev.ContainerID != "" && !a.whileLogged(ev) {
		// A container the runtime does not know, of no pod the cgroup names: by its name it
		// could be anyone's (a pod long gone, another kubelet's). Only a kill while this
		// kubelet's log runs is taken for one of its pods by name.
		return nil, "", ""
	}
	var found *podEntry
	var container string
	for _, id := range a.ix.order {
		e := a.ix.pods[id]
		if c := containerNamed(e, ev.Process); c != "" {
			if found != nil {
				return nil, "", "" // two pods run a process of that name: not ours to pick
			}
			found, container = e, c
		}
	}
	if found == nil {
		return nil, "", ""
	}
	return a.pod(found), container, "process"
}

// podOfRecordedContainer is the one static pod the kubelet's own records give a container ID to,
// for a container the runtime no longer has: the kubelet removes a dead instance as soon as a
// newer one of the same name has died, while the kernel's ring buffer keeps its OOM kill. PLEG
// names the ID and the pod ("Generic (PLEG): container finished" with podID, "SyncLoop (PLEG):
// event for pod" with the pod and the ID as its data). Nil when no record, or several pods.
func (a *analyzer) podOfRecordedContainer(cid string) *podEntry {
	if a.recordedCIDs == nil {
		// once per analysis: a ring buffer of old kills would otherwise scan the records per kill
		m := map[string]*podEntry{}
		if a.s.KubeletLog != nil {
			for i := range a.s.KubeletLog.Records {
				r := &a.s.KubeletLog.Records[i]
				var ids []string
				if r.ContainerID != "" {
					ids = append(ids, r.ContainerID)
				}
				if ev := r.Fields["event"]; ev != "" {
					_, cids := hexRuns(ev)
					ids = append(ids, cids...)
				}
				if len(ids) == 0 {
					continue
				}
				pods := a.ix.podsFor(r)
				if uid := r.Fields["podID"]; uid != "" && len(pods) == 0 {
					if e := a.ix.byUID[uid]; e != nil {
						pods = []*podEntry{e}
					}
				}
				for _, id := range ids {
					for _, e := range pods {
						if prev, seen := m[id]; seen && prev != e {
							e = nil // two pods: not ours to pick
						}
						m[id] = e
					}
				}
			}
		}
		a.recordedCIDs = m
	}
	return a.recordedCIDs[cid]
}

// whileLogged: the event has a wall time within the kubelet log's span.
func (a *analyzer) whileLogged(ev *kernlog.Event) bool {
	k := a.s.KubeletLog
	return !ev.TS.IsZero() && k != nil && !k.Stats.First.IsZero() && !ev.TS.Before(k.Stats.First) && !ev.TS.After(a.logEnd.Add(kernelWindow))
}

// containerByProcess is the container of e whose name or command is the process name; the only
// container when e has one and the name says nothing else (the event is e's by its cgroup).
func (a *analyzer) containerByProcess(e *podEntry, comm string) string {
	if c := containerNamed(e, comm); c != "" {
		return c
	}
	names := map[string]bool{}
	for _, c := range podContainers(e) {
		names[c.Name] = true
	}
	for _, c := range e.containers {
		names[c.Name] = true
	}
	if len(names) == 1 {
		for n := range names {
			return n
		}
	}
	return ""
}

// containerNamed is the container of e whose name, or command's base name, is the process name
// comm (the kernel keeps 15 bytes of it).
func containerNamed(e *podEntry, comm string) string {
	if comm == "" {
		return ""
	}
	for _, c := range podContainers(e) {
		if commMatches(comm, c.Name) || (len(c.Command) > 0 && commMatches(comm, path.Base(c.Command[0]))) {
			return c.Name
		}
	}
	for _, c := range e.containers {
		if commMatches(comm, c.Name) {
			return c.Name
		}
	}
	return ""
}

// podContainers are the init and app containers of e's manifests.
func podContainers(e *podEntry) []corev1.Container {
	var out []corev1.Container
	for _, p := range e.pods {
		if p != nil && p.Pod != nil {
			out = append(out, p.Pod.Spec.InitContainers...)
			out = append(out, p.Pod.Spec.Containers...)
		}
	}
	return out
}

// commMatches: the kernel's task name (comm, cut at 15 bytes) is name.
func commMatches(comm, name string) bool {
	if comm == "" || name == "" {
		return false
	}
	if len(name) > 15 {
		name = name[:15]
	}
	return comm == name
}

// kernelEvidence adds an event's records, the kill or fault first, to the finding: repeats of one
// record (the same text but for the time) are counted, not listed again.
func (a *analyzer) kernelEvidence(b *findingBuilder, ev *kernlog.Event) {
	type rec struct {
		line int
		text string
	}
	recs := []rec{{ev.Line, ev.Text}}
	for _, c := range ev.Context {
		// The invoker line says who asked for memory, not who was killed.
		if strings.HasPrefix(c.Text, "oom-kill:") || strings.HasPrefix(c.Text, "Task in ") || strings.HasPrefix(c.Text, "memory: usage") {
			recs = append(recs, rec{c.Line, c.Text})
		}
	}
	for _, r := range recs {
		l, src := r.text, "kernel-log:"+a.s.Kernel.Source+":"+fmt.Sprint(r.line)
		key := kernelShape(l)
		merged := false
		for j := range b.pre {
			if kernelShape(b.pre[j].Line) == key && strings.HasPrefix(b.pre[j].Source, "kernel-log:") {
				b.pre[j].Count++
				if ev.TS.After(b.pre[j].Last) {
					b.pre[j].Last = ev.TS
				}
				merged = true
				break
			}
		}
		if merged || len(b.pre) >= max(a.opts.MaxEvidence, 3) {
			continue
		}
		b.pre = append(b.pre, Evidence{Source: src, TS: ev.TS, Line: l, Count: 1})
	}
}

// kernelShape is a record without its numbers (pids, sizes, addresses): repeats share a shape.
func kernelShape(s string) string {
	var b strings.Builder
	digit := false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if !digit {
				b.WriteByte('#')
			}
			digit = true
			continue
		}
		digit = false
		b.WriteRune(r)
	}
	return b.String()
}

// kernelStats sums a finding's events: how many, the last one, and the memory cgroup limit.
func kernelStats(b *findingBuilder) (n int, last *kernlog.Event) {
	if b == nil {
		return 0, nil
	}
	for i := range b.kernel {
		last = &b.kernel[i]
	}
	return len(b.kernel), last
}

// kernelWho names what a kernel finding is about: its container, or for the node its subject.
func kernelWho(f *Finding) (container, who string) {
	container, who = containerRef(f)
	if f.Subject != "" {
		who = f.Subject
	}
	return container, who
}

func kib(kb int64) string {
	switch {
	case kb >= 1<<20:
		return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	case kb >= 1<<10:
		return fmt.Sprintf("%.0f MiB", float64(kb)/(1<<10))
	}
	return fmt.Sprintf("%d KiB", kb)
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

func describeKernelOOMKill(f *Finding, b *findingBuilder, tc textCtx) {
	n, ev := kernelStats(b)
	c, who := kernelWho(f)
	if ev == nil {
		f.Title = "the kernel's OOM killer killed " + who
		f.Detail = "The kernel ran out of memory for the process (its memory cgroup's limit, or the node's memory) and killed it."
		f.Hint = "raise the memory limit or find what uses the memory"
		return
	}
	f.Title = fmt.Sprintf("the kernel's OOM killer killed %s (%s, pid %d) %s", who, ev.Process, ev.PID, times(n))
	if who == ev.Process {
		f.Title = fmt.Sprintf("the kernel's OOM killer killed %s (pid %d) %s", who, ev.PID, times(n))
	}
	why := "the node ran out of memory"
	if ev.Memcg {
		why = "its memory cgroup reached its limit"
		if ev.LimitKB > 0 {
			why += " of " + kib(ev.LimitKB)
		}
		if ev.LimitCgroup != "" && ev.LimitCgroup != ev.Cgroup {
			why += " (the pod's cgroup " + ev.LimitCgroup + ")"
		}
	}
	f.Title += ": " + why
	f.Detail = "The kernel's own report (" + kernelSource(b) + ") names the victim"
	if ev.Cgroup != "" {
		f.Detail += " and its memory cgroup " + ev.Cgroup
	}
	switch {
	case b.variant == "process":
		f.Detail += "; its report names no pod, so it was put on this container by its process name " + ev.Process
	case f.Subject == "":
		f.Detail += ", which is this static pod's"
	}
	f.Detail += "."
	if ev.AnonRSSKB > 0 {
		f.Detail += " It used " + kib(ev.AnonRSSKB) + " of anonymous memory when killed."
	}
	if ev.Memcg {
		f.Detail += " A container killed for its limit exits 137 (SIGKILL) and the kubelet restarts it with a growing back-off."
		f.Hint = "raise resources.limits.memory"
		if c != "" {
			f.Hint += " of " + c
		}
		if tc.pod != nil {
			f.Hint += " in " + tc.fileRef()
		}
		f.Hint += ", or find what in it uses the memory"
	} else {
		f.Detail += " On a node out of memory the kernel picks the process with the highest badness (memory use and oom_score_adj): the victim is not necessarily the one that used the memory."
		f.Hint = "find what uses the node's memory (talosctl memory / free, ps by RSS); set memory requests and limits so pods cannot take the node's memory"
	}
}

func describeKernelSegfault(f *Finding, b *findingBuilder, tc textCtx) {
	n, ev := kernelStats(b)
	_, who := kernelWho(f)
	if ev == nil {
		f.Title = who + " faulted (the kernel reported a segfault)"
		f.Detail = "The kernel killed the process for an invalid memory access or instruction."
		f.Hint = "check the binary and its image (architecture, libraries)"
		return
	}
	f.Title = fmt.Sprintf("%s: %s (pid %d) died of a %s %s", who, ev.Process, ev.PID, ev.What, times(n))
	f.Detail = "The kernel reported the fault (" + kernelSource(b) + "): the process accessed memory or ran an instruction it may not, and was killed by a signal (SIGSEGV: exit code 139)."
	if b.variant == "process" {
		f.Detail += " The report names no container: it was put here by its process name."
	}
	f.Hint = "the record names the faulting binary or library (\" in <file>[…]\"): check the image's build and architecture, and the program's own logs"
}

func describeKernelHungTask(f *Finding, b *findingBuilder, tc textCtx) {
	n, ev := kernelStats(b)
	who := f.Subject
	if who == "" {
		_, who = containerRef(f)
	}
	if ev == nil {
		f.Title = "a task hung in the kernel: " + who
		f.Detail = "The kernel's hung task detector saw a task blocked (uninterruptible) for longer than its timeout."
		f.Hint = "look for disk or network storage trouble on the node"
		return
	}
	f.Title = fmt.Sprintf("the kernel saw %s (%s, pid %d) hang: %s (%s)", who, ev.Process, ev.PID, ev.What, times(n))
	f.Detail = "The kernel's hung task detector (" + kernelSource(b) + ") reports a task blocked in the kernel, uninterruptibly, for longer than kernel.hung_task_timeout_secs: usually I/O that does not complete (a failing disk, stalled network storage). A hung etcd or API server stops answering without exiting."
	f.Hint = "check the node's disks and storage (KernelDiskError findings, iostat, the device's health); the stack trace after the record in the kernel log says where it waits"
}

func describeKernelDiskError(f *Finding, b *findingBuilder, tc textCtx) {
	n, ev := kernelStats(b)
	dev := orDefault(f.Subject, "a disk")
	if ev == nil {
		f.Title = "the kernel reports errors on " + dev
		f.Detail = "The block layer or a filesystem reported I/O errors."
		f.Hint = "check the device's health (smartctl, nvme smart-log) and the filesystem"
		return
	}
	f.Title = fmt.Sprintf("the kernel reports %s on %s (%s)", ev.What, dev, times(n))
	f.Detail = "The kernel's log (" + kernelSource(b) + ") has disk or filesystem errors: writes and reads of what lives there fail or hang — etcd's data, container images and logs, the kubelet's state. A filesystem remounted read-only makes every write fail until it is repaired."
	f.Hint = "check " + dev + "'s health (smartctl -a, nvme smart-log) and its filesystem; on Talos: talosctl dmesg, talosctl get discoveredvolumes"
}

func describeKernelNetworkError(f *Finding, b *findingBuilder, tc textCtx) {
	n, ev := kernelStats(b)
	what := orDefault(f.Subject, "the network")
	if ev == nil {
		f.Title = "the kernel drops packets: " + what
		f.Detail = "A kernel network table is full or a NIC's transmit queue hung."
		f.Hint = "check conntrack and neighbour table sizes and the NIC"
		return
	}
	f.Title = fmt.Sprintf("the kernel reports %s: %s (%s)", what, ev.What, times(n))
	switch {
	case strings.Contains(ev.What, "table full"):
		f.Detail = "The connection tracking table is full (" + kernelSource(b) + "): new connections' packets are dropped — probes, the API server's clients and etcd peers time out at random."
		f.Hint = "compare sysctl net.netfilter.nf_conntrack_count with nf_conntrack_max; raise the max (on Talos: machine.sysctls) or find what opens the connections (conntrack -L)"
	case strings.Contains(ev.What, "neighbour"):
		f.Detail = "The neighbour (ARP/NDP) table overflowed (" + kernelSource(b) + "): the kernel cannot resolve some peers' link addresses and drops their packets."
		f.Hint = "raise net.ipv4.neigh.default.gc_thresh1/2/3 (and the ipv6 ones) for the number of peers on the node's networks"
	default:
		f.Detail = "The NIC's transmit queue timed out (" + kernelSource(b) + "): the driver resets the device and packets are lost meanwhile."
		f.Hint = "check the NIC, its driver and firmware (ethtool -i, ethtool -S); on a VM, the hypervisor's network"
	}
}

// kernelSource names the kernel log a finding's events come from.
func kernelSource(b *findingBuilder) string {
	for _, e := range b.pre {
		if src, ok := strings.CutPrefix(e.Source, "kernel-log:"); ok {
			if i := strings.LastIndexByte(src, ':'); i > 0 {
				return src[:i]
			}
			return src
		}
	}
	return "the kernel log"
}
