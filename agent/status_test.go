package agent

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/podview"
	"github.com/spdoc/spdoc/internal/testtier"

	corev1 "k8s.io/api/core/v1"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
)

func TestStatuses(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)
	pod := func(name string, containers ...string) *staticpod.StaticPod {
		p := &corev1.Pod{}
		p.Name, p.Namespace = name, "kube-system"
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c, Image: "x"})
		}
		return &staticpod.StaticPod{ID: "kube-system-" + name, Namespace: "kube-system", Name: name, Source: "/m/" + name + ".yaml", Pod: p}
	}
	sb := func(id, name string, state cri.SandboxState, at time.Time) cri.Sandbox {
		return cri.Sandbox{ID: id, Name: name + "-node1", Namespace: "kube-system", UID: "uid-" + id, State: state, CreatedAt: at}
	}
	ctr := func(id, sandbox, name string, state cri.ContainerState, attempt uint32, exit int32) cri.Container {
		return cri.Container{ID: id, SandboxID: sandbox, Name: name, State: state, Attempt: attempt, RestartCount: int(attempt), ExitCode: exit, CreatedAt: t0.Add(time.Duration(attempt) * time.Second)}
	}
	snap := func(rt *node.RuntimeState, pods ...*staticpod.StaticPod) *node.Snapshot {
		return &node.Snapshot{Node: node.NodeInfo{Name: "node1"}, Runtime: rt,
			Manifests: &staticpod.DirScan{Files: []*staticpod.File{{Pods: pods}}}}
	}
	tests := []struct {
		name      string
		snap      *node.Snapshot
		wantPhase podview.State
		wantReady bool
		wantCtrs  string // name:state:restarts,…
		wantErr   bool
	}{
		{name: "running", wantPhase: "Running", wantReady: true, wantCtrs: "api:running:0,sidecar:running:0",
			snap: snap(&node.RuntimeState{Reachable: true,
				Sandboxes:  []cri.Sandbox{sb("s1", "etcd", "SANDBOX_READY", t0)},
				Containers: []cri.Container{ctr("c2", "s1", "sidecar", "CONTAINER_RUNNING", 0, 0), ctr("c1", "s1", "api", "CONTAINER_RUNNING", 0, 0)}},
				pod("etcd", "api", "sidecar"))},
		{name: "newest attempt wins, crash is CrashLoop", wantPhase: "CrashLoop", wantCtrs: "api:exited:2",
			snap: snap(&node.RuntimeState{Reachable: true,
				Sandboxes:  []cri.Sandbox{sb("s1", "etcd", "SANDBOX_READY", t0)},
				Containers: []cri.Container{ctr("c1", "s1", "api", "CONTAINER_EXITED", 1, 1), ctr("c2", "s1", "api", "CONTAINER_EXITED", 2, 1)}},
				pod("etcd", "api"))},
		{name: "one of two containers missing is Pending", wantPhase: "Pending", wantCtrs: "api:running:0",
			snap: snap(&node.RuntimeState{Reachable: true,
				Sandboxes:  []cri.Sandbox{sb("s1", "etcd", "SANDBOX_READY", t0)},
				Containers: []cri.Container{ctr("c1", "s1", "api", "CONTAINER_RUNNING", 0, 0)}},
				pod("etcd", "api", "sidecar"))},
		// The kubelet acts on the newest sandbox (kuberuntime's SandboxStatuses[0]): a newer one
		// that is not ready means it is replacing the pod, whatever still runs in the old one.
		{name: "the newest sandbox is current, even when not ready", wantPhase: "Pending", wantCtrs: "",
			snap: snap(&node.RuntimeState{Reachable: true,
				Sandboxes:  []cri.Sandbox{sb("old", "etcd", "SANDBOX_READY", t0), sb("new", "etcd", "SANDBOX_NOTREADY", t0.Add(time.Minute))},
				Containers: []cri.Container{ctr("c1", "old", "api", "CONTAINER_RUNNING", 0, 0)}},
				pod("etcd", "api"))},
		{name: "a completed init container does not keep the pod pending", wantPhase: "Running", wantReady: true, wantCtrs: "api:running:0,init:exited:0",
			snap: snap(&node.RuntimeState{Reachable: true,
				Sandboxes:  []cri.Sandbox{sb("s1", "etcd", "SANDBOX_READY", t0)},
				Containers: []cri.Container{ctr("c1", "s1", "api", "CONTAINER_RUNNING", 0, 0), ctr("c0", "s1", "init", "CONTAINER_EXITED", 0, 0)}},
				pod("etcd", "api"))},
		{name: "other pod's sandbox ignored", wantPhase: "NotStarted",
			snap: snap(&node.RuntimeState{Reachable: true, Sandboxes: []cri.Sandbox{sb("s1", "etcd-other", "SANDBOX_READY", t0)}},
				pod("etcd", "api"))},
		{name: "runtime unreachable is Unknown", wantPhase: "Unknown", wantErr: true,
			snap: snap(&node.RuntimeState{Reachable: false, Error: "connection refused"}, pod("etcd", "api"))},
		{name: "runtime not consulted is Unknown", wantPhase: "Unknown", wantErr: true, snap: snap(nil, pod("etcd", "api"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sts := Statuses(tc.snap)
			if len(sts) != 1 {
				t.Fatalf("%d statuses, want 1", len(sts))
			}
			st := sts[0]
			if st.Phase != tc.wantPhase || st.Ready != tc.wantReady {
				t.Errorf("phase %s ready %v, want %s %v", st.Phase, st.Ready, tc.wantPhase, tc.wantReady)
			}
			var cs []string
			for _, c := range st.Containers {
				cs = append(cs, c.Name+":"+c.State+":"+strconv.Itoa(c.RestartCount))
			}
			if strings.Join(cs, ",") != tc.wantCtrs {
				t.Errorf("containers %v, want %s", cs, tc.wantCtrs)
			}
			if (st.RuntimeError != "") != tc.wantErr {
				t.Errorf("runtimeError %q, want set=%v", st.RuntimeError, tc.wantErr)
			}
			if st.KubeletName != "etcd-node1" || st.ID != "kube-system-etcd" || st.Manifest != "/m/etcd.yaml" {
				t.Errorf("identity = %s %s %s", st.ID, st.KubeletName, st.Manifest)
			}
		})
	}
	// A pod defined twice (two files) is reported once; a nil snapshot gives nothing.
	if got := Statuses(snap(&node.RuntimeState{Reachable: true}, pod("etcd", "a"), pod("etcd", "a"))); len(got) != 1 {
		t.Errorf("duplicate pod: %d statuses, want 1", len(got))
	}
	if got := Statuses(nil); got != nil {
		t.Errorf("nil snapshot: %v", got)
	}
}

// TestRootFullDiskReconcile puts the manifest dir on a full 64 KiB tmpfs: the reconcile must
// report the write error as a finding and on the resource, and keep the old manifest intact.
func TestRootFullDiskReconcile(t *testing.T) {
	testtier.Root(t)
	r, cfg, md := newTestReconciler(t, nil)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", md).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(md, 0); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	if err := os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := r.Reconcile(); !res.OK() {
		t.Fatalf("first reconcile: %+v", res)
	}
	old, _ := os.ReadFile(filepath.Join(md, "spdoc-default-web.yaml"))
	filler, err := os.Create(filepath.Join(md, ".filler"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := filler.Write(bytes.Repeat([]byte{'x'}, 4096)); err != nil {
			break
		}
	}
	filler.Close()
	// A big change: a long command line no longer fits.
	big := strings.Replace(podYAML("web", "busybox:2"), "containers:\n", "containers:\n        - name: pad\n          image: busybox:2\n          args: [\""+strings.Repeat("p", 96<<10)+"\"]\n", 1)
	if err := os.WriteFile(cfg, []byte(config(big)), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.Reconcile()
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "no space left on device") || !strings.Contains(res.Errors[0], "spdoc-default-web.yaml") {
		t.Errorf("errors = %v, want one ENOSPC error naming the manifest", res.Errors)
	}
	if now, _ := os.ReadFile(filepath.Join(md, "spdoc-default-web.yaml")); !bytes.Equal(now, old) {
		t.Error("old manifest changed on a full disk")
	}
	pods := r.Pods()
	if len(pods) != 1 || pods[0].Written || !strings.Contains(pods[0].WriteError, "no space left") {
		t.Errorf("resource = %+v, want not written with the error", pods)
	}
	fs := r.Findings()
	if len(fs) != 1 || fs[0].Kind != diagnose.KindManifestWriteFailed || !strings.Contains(fs[0].Detail, "no space left") {
		t.Errorf("findings = %+v", fs)
	}
	for _, e := range mustReadDir(t, md) {
		if strings.Contains(e, ".tmp-") {
			t.Errorf("temp file left on the full disk: %s", e)
		}
	}
}
