package kernlog

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Kind is what the kernel did.
type Kind string

const (
	// KindOOMKill: the OOM killer killed a process, because its memory cgroup reached its limit
	// (Memcg) or the node ran out of memory.
	KindOOMKill Kind = "oom-kill"
	// KindSegfault: a process died of a fault the kernel reports (segfault, general protection
	// fault, trap such as an invalid opcode).
	KindSegfault Kind = "segfault"
	// KindHungTask: a task blocked in the kernel (uninterruptible) for longer than the hung task
	// timeout: usually I/O that does not complete.
	KindHungTask Kind = "hung-task"
	// KindDiskError: the block layer or a filesystem reports an I/O error, a corrupted or
	// read-only-remounted filesystem, or a device timeout.
	KindDiskError Kind = "disk-error"
	// KindNetworkTable: the kernel drops packets or neighbours because a table is full
	// (conntrack, ARP/NDP neighbour table) or a NIC's transmit queue hangs.
	KindNetworkTable Kind = "network"
)

// Context is another record of an event's report, with its line.
type Context struct {
	Line int    `json:"line"`
	Text string `json:"text"`
}

// Event is one thing the kernel did, with what it names.
type Event struct {
	Kind Kind `json:"kind"`
	// Line is the 1-based line of the record that tells it (the kill, the fault…).
	Line int       `json:"line"`
	TS   time.Time `json:"ts,omitzero"`
	// SinceBoot is the record's time since boot (HasBoot), for formats without wall time.
	SinceBoot time.Duration `json:"sinceBoot,omitempty"`
	HasBoot   bool          `json:"hasBoot,omitempty"`
	// Text is the record that tells it; Context the other records of the report that say more
	// (an OOM kill's oom-kill summary, memory usage and limit).
	Text    string    `json:"text"`
	Context []Context `json:"context,omitempty"`
	// Process and PID: the process killed, faulting or blocked (comm: at most 15 bytes).
	Process string `json:"process,omitempty"`
	PID     int    `json:"pid,omitempty"`
	// Cgroup is the victim's memory cgroup (task_memcg, "Task in …"); LimitCgroup the cgroup whose
	// limit was hit (oom_memcg, "limit of …"), empty for a node-wide OOM.
	Cgroup      string `json:"cgroup,omitempty"`
	LimitCgroup string `json:"limitCgroup,omitempty"`
	// Memcg: a memory cgroup's limit was hit (the container's or pod's), not the node's memory.
	Memcg bool `json:"memcg,omitempty"`
	// LimitKB and UsageKB: the memory cgroup's limit and usage when it was hit.
	LimitKB int64 `json:"limitKB,omitempty"`
	UsageKB int64 `json:"usageKB,omitempty"`
	// AnonRSSKB: the victim's anonymous memory when it was killed.
	AnonRSSKB int64 `json:"anonRSSKB,omitempty"`
	// PodUID and ContainerID as the cgroup path names them (kubelet cgroupfs or systemd driver).
	PodUID      string `json:"podUID,omitempty"`
	ContainerID string `json:"containerID,omitempty"`
	// Service is a Talos service the cgroup path names (/system/etcd, /podruntime/kubelet).
	Service string `json:"service,omitempty"`
	// Subject is what a node-level event is about: the device (sda, eth0) or the table
	// (nf_conntrack, arp_cache).
	Subject string `json:"subject,omitempty"`
	// What says which of the kind's reports this is ("I/O error", "segfault", "table full"…).
	What string `json:"what,omitempty"`
}

// The kernel's own wordings, from the printk formats of each version (see kernlog_test.go for
// lines of each). mm/oom_kill.c:
//
//	"%s invoked oom-killer: gfp_mask=…, order=%d, oom_score_adj=%hd"                       (all)
//	"Task in %s killed as a result of limit of %s"     (mm/memcontrol.c, memcg OOM, 2.6.29–4.18)
//	"oom-kill:constraint=%s,nodemask=%*pbl" [",cpuset=%s,mems_allowed=%*pbl"]
//	    [",oom_memcg=%s" | ",global_oom"] [",task_memcg=%s"] ",task=%s,pid=%d,uid=%d"      (4.19–)
//	"%s: Kill process %d (%s) score %u or sacrifice child"                             (–5.0)
//	"Killed process %d (%s) total-vm:%lukB, anon-rss:%lukB, file-rss:%lukB[, shmem-rss:%lukB]" (–5.0)
//	"%s: Killed process %d (%s) total-vm:…, shmem-rss:%lukB[, UID:%u][ pgtables:%lukB oom_score_adj:%hd]" (5.1–)
//	"memory: usage %llukB, limit %llukB, failcnt %lu"  (mm/memcontrol.c, memcg OOM)
var (
	reInvoked   = regexp.MustCompile(`^(.+) invoked oom-killer: `)
	reTaskIn    = regexp.MustCompile(`^Task in (\S+) killed as a result of limit of (\S+)`)
	reKilled    = regexp.MustCompile(`^(?:(Out of memory|Memory cgroup out of memory|[A-Za-z ]+): )?Killed process (\d+),? (?:UID \d+, )?\((.*)\)(.*)$`)
	reSummary   = regexp.MustCompile(`^oom-kill:constraint=(\w+)`)
	reMemUsage  = regexp.MustCompile(`^memory: usage (\d+)kB, limit (\d+)kB`)
	reAnonRSS   = regexp.MustCompile(`anon-rss:(\d+)kB`)
	reSummTask  = regexp.MustCompile(`,task=(.*),pid=\s*(\d+),uid=\s*\d+\s*$`)
	reTaskMemcg = regexp.MustCompile(`,task_memcg=([^,]*)`)
	reOOMMemcg  = regexp.MustCompile(`,oom_memcg=([^,]*)`)
)

// Faults (arch/x86/mm/fault.c show_signal_msg, arch/x86/kernel/traps.c, arch/arm64/mm/fault.c):
//
//	"%s[%d]: segfault at %lx ip %px sp %px error %lx" [" in %s[%lx+%lx]"] [" likely on CPU %d …"]
//	"traps: %s[%d] general protection fault ip:%lx sp:%lx error:%lx" [" in …"]
//	"traps: %s[%d] trap %s ip:%lx sp:%lx error:%lx" [" in …"]
//	"%s[%d]: unhandled exception: …" / "%s[%d]: unhandled %s (%d) at 0x…, esr 0x…" (arm64)
//
// kernel/hung_task.c: "INFO: task %s:%d blocked for more than %ld seconds."
var (
	reSegfault = regexp.MustCompile(`^(?:traps: )?(.+)\[(\d+)\]:? (segfault at \S+|general protection fault|trap [a-z ]+? ip:|unhandled exception|unhandled [a-z0-9 ]+ \(\d+\) at)`)
	reHung     = regexp.MustCompile(`^INFO: task (.+):(\d+) blocked for more than (\d+) seconds`)
)

// Disks (block/blk-core.c, fs/buffer.c, fs/ext4/super.c, fs/xfs, drivers/nvme/host/core.c):
//
//	"%s: %s error, dev %s, sector %llu …" (4.x–5.x: "blk_update_request: I/O error, dev sda, sector …")
//	"%s error, dev %s, sector %llu op 0x%x:(%s) …"                      (5.18–: "I/O error, dev sda, …")
//	"Buffer I/O error on dev %pg, logical block %llu, …" ("on device %s" before 4.10)
//	"EXT4-fs error (device %s): %s:%d: …"; "EXT4-fs (%s): Remounting filesystem read-only";
//	"EXT4-fs (%s): I/O error while writing superblock"; "Aborting journal on device %s."
//	"XFS (%s): metadata I/O error …"; "XFS (%s): … Shutting down filesystem"
//	"nvme nvme%d: I/O %d QID %d timeout, …"
//
// Networking (net/netfilter/nf_conntrack_core.c, net/core/neighbour.c, net/sched/sch_generic.c):
//
//	"nf_conntrack: table full, dropping packet" (pr_fmt makes it "nf_conntrack: nf_conntrack: …" since 4.x)
//	"%s: neighbor table overflow!" (neighbour: arp_cache / ndisc_cache); "Neighbour table overflow." (old)
//	"NETDEV WATCHDOG: %s (%s): transmit queue %u timed out" (–6.3)
//	"%s %s %s: NETDEV WATCHDOG: CPU: %d: transmit queue %u timed out %u ms" (6.4–, netdev_crit)
var (
	reBlkErr   = regexp.MustCompile(`(?:^|: )([a-zA-Z/ ]+?) error, dev (\S+?), sector (\d+)`)
	reBufErr   = regexp.MustCompile(`^Buffer I/O error on dev(?:ice)? (\S+?),`)
	reExt4     = regexp.MustCompile(`^EXT4-fs (?:error \(device (\S+?)\)|\((\S+?)\): (?:Remounting filesystem read-only|I/O error|previous I/O error|error count|failed to convert|ext4_check_descriptors|Delayed block allocation failed))`)
	reJournal  = regexp.MustCompile(`^Aborting journal on device (\S+?)\.?$`)
	reXFS      = regexp.MustCompile(`^XFS \((\S+?)\): (?:metadata I/O error|.*Shutting down filesystem|Corruption of in-memory data detected|log I/O error)`)
	reNVMe     = regexp.MustCompile(`^nvme (nvme\d+): I/O \d+ QID \d+ timeout`)
	reConntrk  = regexp.MustCompile(`(?:^|: )(nf_conntrack|ip_conntrack): table full, dropping packet`)
	reNeigh    = regexp.MustCompile(`^(?:neighbour: )?(\S+): neighbor table overflow!|^Neighbour table overflow`)
	reWatchOld = regexp.MustCompile(`NETDEV WATCHDOG: (\S+) \(([^)]*)\): transmit queue \d+ timed out`)
	reWatchNew = regexp.MustCompile(`(\S+): NETDEV WATCHDOG: CPU: \d+: transmit queue \d+ timed out`)
)

// oomReport gathers the records of one OOM report until its kill line.
type oomReport struct {
	started     bool
	pid         int
	task        string
	constraint  string
	cgroup      string
	limitCgroup string
	usageKB     int64
	limitKB     int64
	context     []Context
}

// Parser turns kernel log lines into events. Feed it every line in order (Line); it keeps the
// state of an OOM report between them.
type Parser struct {
	oom oomReport
}

// Line classifies one parsed record (n is its line number) and returns the event it completes.
func (p *Parser) Line(n int, l Line) (Event, bool) {
	if !l.Kernel() {
		return Event{}, false
	}
	text := strings.TrimSpace(l.Text)
	ev := Event{Line: n, TS: l.TS, SinceBoot: l.SinceBoot, HasBoot: l.HasBoot, Text: text}
	if p.oomLine(text, &ev) {
		return ev, ev.Kind != ""
	}
	switch {
	case strings.Contains(text, "segfault at ") || strings.Contains(text, "general protection fault") || strings.Contains(text, " trap ") || strings.Contains(text, "unhandled"):
		m := reSegfault.FindStringSubmatch(text)
		if m == nil {
			return Event{}, false
		}
		ev.Kind, ev.Process, ev.PID, ev.What = KindSegfault, m[1], atoi(m[2]), faultWhat(m[3])
		return ev, true
	case strings.HasPrefix(text, "INFO: task "):
		m := reHung.FindStringSubmatch(text)
		if m == nil {
			return Event{}, false
		}
		ev.Kind, ev.Process, ev.PID, ev.What = KindHungTask, m[1], atoi(m[2]), "blocked for more than "+m[3]+" seconds"
		return ev, true
	}
	if subj, what, ok := diskError(text); ok {
		ev.Kind, ev.Subject, ev.What = KindDiskError, subj, what
		return ev, true
	}
	if subj, what, ok := networkError(text); ok {
		ev.Kind, ev.Subject, ev.What = KindNetworkTable, subj, what
		return ev, true
	}
	return Event{}, false
}

// oomLine follows an OOM report; it returns true for a record of one (ev.Kind set on the kill).
func (p *Parser) oomLine(text string, ev *Event) bool {
	o := &p.oom
	switch {
	case strings.Contains(text, " invoked oom-killer: "):
		if reInvoked.MatchString(text) {
			*o = oomReport{started: true, context: []Context{{ev.Line, text}}}
			return true
		}
	case strings.HasPrefix(text, "Task in "):
		if m := reTaskIn.FindStringSubmatch(text); m != nil {
			o.started, o.cgroup, o.limitCgroup, o.constraint = true, m[1], m[2], "CONSTRAINT_MEMCG"
			o.context = append(o.context, Context{ev.Line, text})
			return true
		}
	case strings.HasPrefix(text, "memory: usage "):
		if m := reMemUsage.FindStringSubmatch(text); m != nil && o.started {
			o.usageKB, o.limitKB = atoi64(m[1]), atoi64(m[2])
			o.context = append(o.context, Context{ev.Line, text})
			return true
		}
	case strings.HasPrefix(text, "oom-kill:constraint="):
		if m := reSummary.FindStringSubmatch(text); m != nil {
			// A report may have lost its first records (a ring buffer wrapped, a capture began
			// mid-report): the summary alone starts it.
			o.started, o.constraint = true, m[1]
			if t := reSummTask.FindStringSubmatch(text); t != nil {
				o.task, o.pid = t[1], atoi(t[2])
			}
			if c := reTaskMemcg.FindStringSubmatch(text); c != nil {
				o.cgroup = c[1]
			}
			if c := reOOMMemcg.FindStringSubmatch(text); c != nil {
				o.limitCgroup = c[1]
			}
			o.context = append(o.context, Context{ev.Line, text})
			return true
		}
	case strings.Contains(text, "Killed process "):
		m := reKilled.FindStringSubmatch(text)
		if m == nil {
			return false
		}
		pid, comm := atoi(m[2]), m[3]
		ev.Kind, ev.Process, ev.PID, ev.What = KindOOMKill, comm, pid, "out of memory"
		if a := reAnonRSS.FindStringSubmatch(m[4]); a != nil {
			ev.AnonRSSKB = atoi64(a[1])
		}
		ev.Memcg = m[1] == "Memory cgroup out of memory"
		// The report's records belong to this kill when they name its pid (4.19–) or name no
		// pid at all (before 4.19 only the kill line does).
		if o.started && (o.pid == 0 || o.pid == pid) {
			ev.Cgroup, ev.LimitCgroup, ev.Context = o.cgroup, o.limitCgroup, o.context
			ev.UsageKB, ev.LimitKB = o.usageKB, o.limitKB
			ev.Memcg = ev.Memcg || o.constraint == "CONSTRAINT_MEMCG"
		}
		if ev.Memcg {
			ev.What = "memory cgroup limit"
		}
		ev.PodUID, ev.ContainerID, ev.Service = FromCgroup(ev.Cgroup)
		p.oom = oomReport{}
		return true
	}
	return false
}

func faultWhat(s string) string {
	switch {
	case strings.HasPrefix(s, "segfault"):
		return "segfault"
	case strings.HasPrefix(s, "trap "):
		return strings.TrimSuffix(strings.TrimPrefix(s, "trap "), " ip:")
	case strings.HasPrefix(s, "unhandled"):
		return "unhandled exception"
	}
	return s
}

func diskError(text string) (subject, what string, ok bool) {
	if m := reBlkErr.FindStringSubmatch(text); m != nil {
		return m[2], strings.TrimSpace(m[1]) + " error", true
	}
	if m := reBufErr.FindStringSubmatch(text); m != nil {
		return m[1], "buffer I/O error", true
	}
	if strings.HasPrefix(text, "EXT4-fs ") {
		if m := reExt4.FindStringSubmatch(text); m != nil {
			if m[1] != "" {
				return m[1], "ext4 error", true
			}
			what := "ext4 error"
			if strings.Contains(text, "read-only") {
				what = "remounted read-only"
			}
			return m[2], what, true
		}
	}
	if m := reJournal.FindStringSubmatch(text); m != nil {
		return strings.TrimSuffix(m[1], "-8"), "journal aborted", true
	}
	if m := reXFS.FindStringSubmatch(text); m != nil {
		what := "xfs error"
		if strings.Contains(text, "Shutting down") {
			what = "filesystem shut down"
		}
		return m[1], what, true
	}
	if m := reNVMe.FindStringSubmatch(text); m != nil {
		return m[1], "I/O timeout", true
	}
	return "", "", false
}

func networkError(text string) (subject, what string, ok bool) {
	if m := reConntrk.FindStringSubmatch(text); m != nil {
		return m[1], "table full, dropping packets", true
	}
	if m := reNeigh.FindStringSubmatch(text); m != nil {
		return orDefault(m[1], "neighbour table"), "neighbour table overflow", true
	}
	if m := reWatchOld.FindStringSubmatch(text); m != nil {
		return m[1], "transmit queue timed out", true
	}
	if m := reWatchNew.FindStringSubmatch(text); m != nil {
		return m[1], "transmit queue timed out", true
	}
	return "", "", false
}

// FromCgroup reads the pod UID and container ID out of a container's cgroup path, as the
// kubelet names pod cgroups and containerd, CRI-O or Docker name containers':
//
//	cgroupfs  /kubepods/burstable/pod<uid>/<container id>
//	systemd   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid, - as _>.slice/cri-containerd-<id>.scope
//	runtime   /k8s.io/<container id> (containerd's own parent when the kubelet runs with
//	          cgroupsPerQOS: false), /docker/<id>, /system.slice/docker-<id>.scope: no pod UID
//
// A Talos service (/system/<svc>, /podruntime/<svc>) comes back as service.
func FromCgroup(p string) (podUID, containerID, service string) {
	if p == "" || p == "/" {
		return "", "", ""
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) == 2 && (parts[0] == "system" || parts[0] == "podruntime") {
		return "", "", parts[1]
	}
	if !strings.HasPrefix(parts[0], "kubepods") {
		// Only a full 64-digit ID: a short hex name is too easily something else.
		if id := containerOf(parts[len(parts)-1]); len(id) == 64 {
			return "", id, ""
		}
		return "", "", ""
	}
	for i, part := range parts {
		part = strings.TrimSuffix(part, ".slice")
		j := strings.LastIndex(part, "pod")
		if j < 0 {
			continue
		}
		uid := part[j+3:]
		if strings.HasSuffix(parts[i], ".slice") {
			uid = strings.ReplaceAll(uid, "_", "-")
		}
		if !uidLike(uid) {
			continue
		}
		podUID = uid
		if i+1 < len(parts) {
			containerID = containerOf(parts[i+1])
		}
		return podUID, containerID, ""
	}
	return "", "", ""
}

// containerOf is the container ID of a cgroup path element: "<id>", "cri-containerd-<id>.scope",
// "crio-<id>.scope", "docker-<id>.scope".
func containerOf(s string) string {
	s = strings.TrimSuffix(s, ".scope")
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) < 12 || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return ""
		}
	}
	return s
}

// uidLike: a pod UID (RFC 4122 with dashes, or the 32 hex digits of a static pod's config hash).
func uidLike(s string) bool {
	if len(s) != 32 && len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
