// Package podview is the one runtime view of a static pod — its current sandbox, the current and
// previous instance of each container — and the pod state vocabulary. diagnose's report, the
// agent's StaticPodStatus and `spdoc containers` all read the runtime through it, so they agree
// by construction on which sandbox is current, which instance of a container is current, and
// whether the pod runs.
package podview

import (
	"sort"
	"time"

	"github.com/spdoc/spdoc/internal/cri"
)

// State is the state of a static pod, one vocabulary for diagnose's report (PodReport.State), the
// agent's statuses (StaticPodStatus.Phase) and the TUI's badges.
type State string

const (
	// Running: at least one container runs and every other one has completed.
	Running State = "Running"
	// CrashLoop: a container keeps exiting and the kubelet restarts it.
	CrashLoop State = "CrashLoop"
	// Pending: the pod has a sandbox or containers (or a problem keeps it from starting) but does not run.
	Pending State = "Pending"
	// NotStarted: the runtime has neither a sandbox nor a container for the pod.
	NotStarted State = "NotStarted"
	// Invalid: the kubelet rejects (or would reject) the pod's manifest.
	Invalid State = "Invalid"
	// Gone: the manifest was removed and the pod no longer runs.
	Gone State = "Gone"
	// Unknown: the runtime could not be asked and the kubelet log does not tell.
	Unknown State = "Unknown"
)

// States lists the vocabulary.
func States() []State {
	return []State{Running, CrashLoop, Pending, NotStarted, Invalid, Gone, Unknown}
}

// Container is one container of the pod: its newest instance and the ones before it.
type Container struct {
	Name string
	// Current is the newest instance (highest attempt, then newest creation).
	Current cri.Container
	// Previous are the older instances the runtime still lists, newest first.
	Previous []cri.Container
}

// Last is the instance before Current, if the runtime still lists it.
func (c Container) Last() *cri.Container {
	if len(c.Previous) == 0 {
		return nil
	}
	return &c.Previous[0]
}

// Running reports whether the current instance runs.
func (c Container) Running() bool { return c.Current.State == cri.ContainerRunning }

// Completed: the current instance exited 0 without restarts (an init container that is done,
// not down).
func (c Container) Completed() bool { return Completed(c.Current) }

// Completed reports whether an instance exited 0 and was never restarted.
func Completed(c cri.Container) bool {
	return c.State == cri.ContainerExited && c.ExitCode == 0 && c.RestartCount == 0
}

// Pod is the runtime view of one static pod.
type Pod struct {
	// Sandbox is the current sandbox: the newest (then the highest attempt); nil when none.
	Sandbox *cri.Sandbox
	// Containers of the current sandbox (and of older sandboxes of the same pod UID, whose
	// instances are the previous ones), by name — or in the order New was given.
	Containers []Container
	// Expected names the containers the manifest declares (spec.containers); empty when unknown.
	Expected []string
}

// Select picks one pod's sandboxes and containers out of a runtime listing: those of namespace ns
// with the pod's kubelet name (<name>-<node>), or with its UID, and the containers of those sandboxes.
func Select(sandboxes []cri.Sandbox, containers []cri.Container, ns, kubeletName, uid string) ([]cri.Sandbox, []cri.Container) {
	var sbs []cri.Sandbox
	var cs []cri.Container
	uids := map[string]bool{}
	if uid != "" {
		uids[uid] = true
	}
	for _, sb := range sandboxes {
		if (kubeletName != "" && sb.Namespace == ns && sb.Name == kubeletName) || (uid != "" && sb.UID == uid) {
			sbs = append(sbs, sb)
			if sb.UID != "" {
				uids[sb.UID] = true
			}
		}
	}
	ids := map[string]bool{}
	for _, sb := range sbs {
		ids[sb.ID] = true
	}
	for _, c := range containers {
		if (kubeletName != "" && c.PodNamespace == ns && c.PodName == kubeletName) || (c.PodUID != "" && uids[c.PodUID]) ||
			(c.SandboxID != "" && ids[c.SandboxID]) {
			cs = append(cs, c)
		}
	}
	return sbs, cs
}

// New builds the view from one pod's sandboxes and containers (see Select). order lists container
// names to put first, in that order (the manifest's); the rest follow by name. expected names the
// containers the manifest declares.
func New(sandboxes []cri.Sandbox, containers []cri.Container, order, expected []string) Pod {
	var p Pod
	p.Expected = expected
	for i := range sandboxes {
		sb := &sandboxes[i]
		if p.Sandbox == nil || Newer(sb, p.Sandbox) {
			p.Sandbox = sb
		}
	}
	byName := map[string][]cri.Container{}
	var names []string
	for _, c := range containers {
		if p.Sandbox != nil && c.SandboxID != "" && c.SandboxID != p.Sandbox.ID && c.PodUID != p.Sandbox.UID {
			continue // a container of another pod instance (another UID): not this pod's history
		}
		if _, ok := byName[c.Name]; !ok {
			names = append(names, c.Name)
		}
		byName[c.Name] = append(byName[c.Name], c)
	}
	rank := map[string]int{}
	for i, n := range order {
		if _, ok := rank[n]; !ok {
			rank[n] = i + 1
		}
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank[names[i]], rank[names[j]]
		if ri != rj {
			if ri == 0 || rj == 0 {
				return ri != 0
			}
			return ri < rj
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		cs := byName[name]
		sort.SliceStable(cs, func(i, j int) bool { return NewerInstance(cs[i], cs[j]) })
		p.Containers = append(p.Containers, Container{Name: name, Current: cs[0], Previous: cs[1:]})
	}
	return p
}

// Newer orders sandboxes: the kubelet's current sandbox is the newest one (then the highest attempt).
func Newer(a, b *cri.Sandbox) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.Attempt > b.Attempt
}

// NewerInstance orders instances of one container: highest attempt, then newest creation.
func NewerInstance(a, b cri.Container) bool {
	if a.Attempt != b.Attempt {
		return a.Attempt > b.Attempt
	}
	return a.CreatedAt.After(b.CreatedAt)
}

// Empty: the runtime has neither a sandbox nor a container for the pod.
func (p Pod) Empty() bool { return p.Sandbox == nil && len(p.Containers) == 0 }

// Container returns the named container, nil when the runtime has none.
func (p Pod) Container(name string) *Container {
	for i := range p.Containers {
		if p.Containers[i].Name == name {
			return &p.Containers[i]
		}
	}
	return nil
}

// Running: at least one container runs, every other one completed, and every expected container
// exists.
func (p Pod) Running() bool {
	n := 0
	for _, c := range p.Containers {
		switch {
		case c.Running():
			n++
		case c.Completed():
		default:
			return false
		}
	}
	for _, name := range p.Expected {
		if p.Container(name) == nil {
			return false
		}
	}
	return n > 0
}

// Crashing: a container's current instance exited with a failure, or exited after restarts.
func (p Pod) Crashing() bool {
	for _, c := range p.Containers {
		if c.Current.State == cri.ContainerExited && !c.Completed() {
			return true
		}
	}
	return false
}

// State is what the runtime alone says of the pod: NotStarted, Running, CrashLoop or Pending.
// diagnose refines it with what the kubelet log and the manifest say (Invalid, Gone, history).
func (p Pod) State() State {
	switch {
	case p.Empty():
		return NotStarted
	case p.Running():
		return Running
	case p.Crashing():
		return CrashLoop
	}
	return Pending
}

// HealthySince is when the named container (every container that has not completed, for "")
// last started, if it runs now; zero when it does not run or the runtime has none.
func (p Pod) HealthySince(container string) time.Time {
	var since time.Time
	for _, c := range p.Containers {
		if container != "" && c.Name != container || container == "" && c.Completed() {
			continue
		}
		if !c.Running() {
			return time.Time{}
		}
		if since.IsZero() || c.Current.StartedAt.Before(since) {
			since = c.Current.StartedAt
		}
	}
	return since
}
