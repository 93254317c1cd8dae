package testnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestRootKubeletRunsStaticPod starts a real node and checks that a static pod written atomically
// runs, that its container log appears, and that Close removes everything.
func TestRootKubeletRunsStaticPod(t *testing.T) {
	n := Start(t, Options{})
	if err := n.WriteManifest("web.yaml", HealthyPod("web")); err != nil {
		t.Fatal(err)
	}
	n.WaitFor(t, 90*time.Second, "pod web running and ready", readyPod(n, "web"))
	n.WaitFor(t, 30*time.Second, "container log with 'started'", func() (bool, string) {
		logs, _ := os.ReadDir(n.PodLogsDir)
		for _, d := range logs {
			data, err := os.ReadFile(n.PodLogsDir + "/" + d.Name() + "/main/0.log")
			if err == nil && strings.Contains(string(data), " stdout F web started") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("pod log dirs %v", logs)
	})
	root := n.Root
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("node root %s still exists after Close (stat err %v)", root, err)
	}
}

// readyPod returns a WaitFor condition: the kubelet reports the pod Ready.
func readyPod(n *Node, name string) func() (bool, string) {
	return func() (bool, string) {
		p, err := n.Pod("default", name)
		if err != nil || p == nil {
			return false, fmt.Sprintf("pod %s not listed (err %v)", name, err)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("pod %s phase %s, statuses %+v", name, p.Status.Phase, p.Status.ContainerStatuses)
	}
}

// TestRootKubeletTwoNodesCNIAndRuntimeRestart runs two nodes at once, a pod-network pod whose exec
// readiness probe goes through the runc wrapper's exec path on the CNI node, and restarts that
// node's containerd under the running pod.
func TestRootKubeletTwoNodesCNIAndRuntimeRestart(t *testing.T) {
	n1 := Start(t, Options{CNI: true})
	n2 := Start(t, Options{})
	if n1.NodeName == n2.NodeName || n1.ContainerdSock == n2.ContainerdSock || n1.ReadOnlyURL == n2.ReadOnlyURL {
		t.Fatalf("nodes share identity: %s/%s, %s/%s, %s/%s", n1.NodeName, n2.NodeName, n1.ContainerdSock, n2.ContainerdSock, n1.ReadOnlyURL, n2.ReadOnlyURL)
	}
	probed := PodNetworkPod("net") + `    readinessProbe:
      exec:
        command: ["cat", "/etc/passwd"]
      periodSeconds: 1
`
	if err := n1.WriteManifest("net.yaml", probed); err != nil {
		t.Fatal(err)
	}
	if err := n2.WriteManifest("web.yaml", HealthyPod("web")); err != nil {
		t.Fatal(err)
	}
	n1.WaitFor(t, 90*time.Second, "pod-network pod ready (CNI + exec probe)", readyPod(n1, "net"))
	n2.WaitFor(t, 90*time.Second, "web ready on the second node", readyPod(n2, "web"))
	if p, _ := n1.Pod("default", "net"); p == nil || !strings.HasPrefix(p.Status.PodIP, "10.244.") {
		t.Errorf("pod IP %v, want one from the node's bridge subnet 10.244.x.0/24", p)
	}
	if p, _ := n2.Pod("default", "net"); p != nil {
		t.Errorf("second node runs the first node's pod %s", p.Name)
	}

	if err := n1.StopContainerd(); err != nil {
		t.Fatal(err)
	}
	rs, conn, err := n1.RuntimeClient()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err = rs.Version(ctx, &runtimeapi.VersionRequest{})
	cancel()
	if err == nil {
		t.Fatal("CRI answers with containerd stopped")
	}
	if err := n1.StartContainerd(); err != nil {
		t.Fatal(err)
	}
	n1.WaitFor(t, 60*time.Second, "container running again per CRI after the restart", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := rs.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
		if err != nil {
			return false, err.Error()
		}
		for _, c := range list.Containers {
			if c.Labels["io.kubernetes.pod.name"] == "net-"+n1.NodeName && c.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d containers, none of net running", len(list.Containers))
	})
	n1.WaitFor(t, 60*time.Second, "pod ready after the restart", readyPod(n1, "net"))
}

// TestRootKubeletReaperRemovesAbandonedNode simulates a test process that dies without Close:
// its kubelet and containerd are gone (Pdeathsig), the reaper's stdin closes, and the reaper must
// kill the pod's processes and remove the node dir.
func TestRootKubeletReaperRemovesAbandonedNode(t *testing.T) {
	n := Start(t, Options{})
	if err := n.WriteManifest("web.yaml", HealthyPod("web")); err != nil {
		t.Fatal(err)
	}
	n.WaitFor(t, 90*time.Second, "web ready", readyPod(n, "web"))
	inits, _ := filepath.Glob(filepath.Join(n.Root, "run/containerd/io.containerd.runtime.v2.task/k8s.io/*/init.pid"))
	var pids []int
	for _, f := range inits {
		data, _ := os.ReadFile(f)
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("want 2 task init PIDs (sandbox and container), got %v from %v", pids, inits)
	}
	if err := n.StopKubelet(); err != nil {
		t.Fatal(err)
	}
	if err := n.StopContainerd(); err != nil {
		t.Fatal(err)
	}
	reaper := n.reaper
	n.reaper = nil // the node is abandoned: Close must not stop the reaper
	n.reaperStdin.Close()
	WaitFor(t, 30*time.Second, "reaper done", func() (bool, string) {
		return syscall.Kill(reaper.Process.Pid, 0) != nil, "reaper still running"
	})
	if _, err := os.Stat(n.Root); !os.IsNotExist(err) {
		t.Errorf("node dir %s still there after the reaper ran (stat err %v)", n.Root, err)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("container process %d still alive after the reaper ran", pid)
		}
	}
}
