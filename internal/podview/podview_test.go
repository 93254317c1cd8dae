package podview

import (
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/cri"
)

var t0 = time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)

func sandbox(id, uid string, state cri.SandboxState, at int) cri.Sandbox {
	return cri.Sandbox{ID: id, Name: "etcd-node1", Namespace: "kube-system", UID: uid, State: state, CreatedAt: t0.Add(time.Duration(at) * time.Second)}
}

func ctr(id, sb, uid, name string, state cri.ContainerState, attempt uint32, exit int32, started int) cri.Container {
	return cri.Container{ID: id, SandboxID: sb, PodUID: uid, Name: name, State: state, Attempt: attempt, RestartCount: int(attempt),
		ExitCode: exit, CreatedAt: t0.Add(time.Duration(started) * time.Second), StartedAt: t0.Add(time.Duration(started) * time.Second)}
}

// outline is "<sandbox>|name:current[<previous…]" for comparing views.
func outline(p Pod) string {
	var b strings.Builder
	if p.Sandbox != nil {
		b.WriteString(p.Sandbox.ID)
	}
	b.WriteString("|")
	for i, c := range p.Containers {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(c.Name + ":" + c.Current.ID)
		for _, prev := range c.Previous {
			b.WriteString("<" + prev.ID)
		}
	}
	return b.String()
}

func TestNew(t *testing.T) {
	tests := []struct {
		name            string
		sandboxes       []cri.Sandbox
		containers      []cri.Container
		order, expected []string
		want            string
		state           State
	}{
		{name: "nothing", want: "|", state: NotStarted},
		{name: "one running container", sandboxes: []cri.Sandbox{sandbox("s1", "u1", cri.SandboxReady, 0)},
			containers: []cri.Container{ctr("c1", "s1", "u1", "etcd", cri.ContainerRunning, 0, 0, 1)},
			want:       "s1|etcd:c1", state: Running},
		{name: "highest attempt is current, the rest previous newest first",
			sandboxes: []cri.Sandbox{sandbox("s1", "u1", cri.SandboxReady, 0)},
			containers: []cri.Container{ctr("c1", "s1", "u1", "etcd", cri.ContainerExited, 0, 1, 1), ctr("c3", "s1", "u1", "etcd", cri.ContainerExited, 2, 1, 3),
				ctr("c2", "s1", "u1", "etcd", cri.ContainerExited, 1, 1, 2)},
			want: "s1|etcd:c3<c2<c1", state: CrashLoop},
		{name: "newest sandbox is current even when not ready; same UID keeps its history",
			sandboxes:  []cri.Sandbox{sandbox("old", "u1", cri.SandboxReady, 0), sandbox("new", "u1", cri.SandboxNotReady, 60)},
			containers: []cri.Container{ctr("c1", "old", "u1", "etcd", cri.ContainerExited, 0, 137, 1)},
			want:       "new|etcd:c1", state: CrashLoop},
		{name: "containers of another pod instance (other UID) are not this pod's",
			sandboxes:  []cri.Sandbox{sandbox("old", "u0", cri.SandboxNotReady, 0), sandbox("new", "u1", cri.SandboxReady, 60)},
			containers: []cri.Container{ctr("c0", "old", "u0", "etcd", cri.ContainerExited, 3, 1, 1), ctr("c1", "new", "u1", "etcd", cri.ContainerRunning, 0, 0, 61)},
			want:       "new|etcd:c1", state: Running},
		{name: "same creation time: the higher attempt is current",
			sandboxes: []cri.Sandbox{{ID: "a0", UID: "u1", CreatedAt: t0}, {ID: "a1", UID: "u1", Attempt: 1, CreatedAt: t0}},
			want:      "a1|", state: Pending},
		{name: "a completed init container does not keep the pod pending",
			sandboxes:  []cri.Sandbox{sandbox("s1", "u1", cri.SandboxReady, 0)},
			containers: []cri.Container{ctr("i1", "s1", "u1", "init", cri.ContainerExited, 0, 0, 1), ctr("c1", "s1", "u1", "app", cri.ContainerRunning, 0, 0, 2)},
			want:       "s1|app:c1,init:i1", state: Running},
		{name: "manifest order first, then by name",
			sandboxes: []cri.Sandbox{sandbox("s1", "u1", cri.SandboxReady, 0)},
			containers: []cri.Container{ctr("a", "s1", "u1", "a", cri.ContainerRunning, 0, 0, 1), ctr("z", "s1", "u1", "z", cri.ContainerRunning, 0, 0, 1),
				ctr("m", "s1", "u1", "m", cri.ContainerRunning, 0, 0, 1)},
			order: []string{"z", "m"}, want: "s1|z:z,m:m,a:a", state: Running},
		{name: "an expected container the runtime never created: not running",
			sandboxes:  []cri.Sandbox{sandbox("s1", "u1", cri.SandboxReady, 0)},
			containers: []cri.Container{ctr("c1", "s1", "u1", "app", cri.ContainerRunning, 0, 0, 1)},
			expected:   []string{"app", "sidecar"}, want: "s1|app:c1", state: Pending},
		{name: "a created container is pending",
			sandboxes:  []cri.Sandbox{sandbox("s1", "u1", cri.SandboxReady, 0)},
			containers: []cri.Container{ctr("c1", "s1", "u1", "app", cri.ContainerCreated, 0, 0, 1)},
			want:       "s1|app:c1", state: Pending},
		{name: "a captured runtime without sandbox IDs", containers: []cri.Container{ctr("c1", "", "u1", "app", cri.ContainerRunning, 0, 0, 1)},
			want: "|app:c1", state: Running},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(tc.sandboxes, tc.containers, tc.order, tc.expected)
			if got := outline(p); got != tc.want {
				t.Errorf("view %s, want %s", got, tc.want)
			}
			if got := p.State(); got != tc.state {
				t.Errorf("state %s, want %s", got, tc.state)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	sbs := []cri.Sandbox{
		{ID: "s1", Name: "etcd-node1", Namespace: "kube-system", UID: "u1"},
		{ID: "s2", Name: "etcd-node1", Namespace: "default", UID: "u2"}, // same name, other namespace
		{ID: "s3", Name: "old-name", Namespace: "kube-system", UID: "u3"},
	}
	cs := []cri.Container{
		{ID: "c1", SandboxID: "s1"},                                                                 // by sandbox
		{ID: "c2", PodName: "etcd-node1", PodNamespace: "kube-system"},                              // by name
		{ID: "c3", PodUID: "u1"},                                                                    // by the sandbox's UID
		{ID: "c4", PodName: "etcd-node1", PodNamespace: "default", PodUID: "u2"},                    // other pod
		{ID: "c5", SandboxID: "s3", PodUID: "u3", PodName: "old-name", PodNamespace: "kube-system"}, // by the manifest's UID
	}
	gotSB, gotC := Select(sbs, cs, "kube-system", "etcd-node1", "u3")
	var ids []string
	for _, sb := range gotSB {
		ids = append(ids, sb.ID)
	}
	for _, c := range gotC {
		ids = append(ids, c.ID)
	}
	if got := strings.Join(ids, ","); got != "s1,s3,c1,c2,c3,c5" {
		t.Errorf("selected %s, want s1,s3,c1,c2,c3,c5", got)
	}
}

func TestHealthySince(t *testing.T) {
	p := New([]cri.Sandbox{sandbox("s1", "u1", cri.SandboxReady, 0)}, []cri.Container{
		ctr("i", "s1", "u1", "init", cri.ContainerExited, 0, 0, 1),
		ctr("a", "s1", "u1", "app", cri.ContainerRunning, 1, 0, 30),
		ctr("b", "s1", "u1", "side", cri.ContainerRunning, 0, 0, 10),
	}, nil, nil)
	if got := p.HealthySince(""); !got.Equal(t0.Add(10 * time.Second)) {
		t.Errorf("pod healthy since %v, want the earliest start of the running containers (+10s)", got)
	}
	if got := p.HealthySince("app"); !got.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("app healthy since %v, want +30s", got)
	}
	if got := p.HealthySince("init"); !got.IsZero() {
		t.Errorf("an exited container is not healthy: %v", got)
	}
	if got := p.HealthySince("nope"); !got.IsZero() {
		t.Errorf("a container the runtime does not have: %v", got)
	}
}

func TestContainerStateShort(t *testing.T) {
	for s, want := range map[cri.ContainerState]string{cri.ContainerRunning: "running", cri.ContainerExited: "exited",
		cri.ContainerCreated: "created", cri.ContainerUnknown: "unknown", "": "unknown", "CONTAINER_PAUSED": "paused"} {
		if got := s.Short(); got != want {
			t.Errorf("%q.Short() = %q, want %q", s, got, want)
		}
	}
}
