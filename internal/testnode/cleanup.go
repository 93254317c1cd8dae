package testnode

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// containerLogsDir is where the kubelet links container logs; its path is fixed in the kubelet.
const containerLogsDir = "/var/log/containers"

// Close stops everything the node started, by PID, and removes its directory: the kubelet, every
// pod (through CRI), containerd, then whatever RemoveDir finds left. Errors are collected; Close
// is idempotent.
func (n *Node) Close() error {
	var errs []error
	n.closeOnce.Do(func() {
		n.stopReaper()
		if err := n.StopKubelet(); err != nil {
			errs = append(errs, fmt.Errorf("stopping kubelet: %w", err))
		}
		if n.containerdRunning() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			if err := n.removeAllPods(ctx); err != nil {
				n.logf("testnode %s: removing pods through CRI: %v (killing by PID)", n.NodeName, err)
			}
			cancel()
		}
		if err := n.StopContainerd(); err != nil {
			errs = append(errs, fmt.Errorf("stopping containerd: %w", err))
		}
		// The mount namespace ends with its last process: the holder now, the containers and
		// shims in RemoveDir.
		n.ns.close()
		if err := RemoveDir(n.Root); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// RemoveDir removes what a node under root left behind, whether its test ended cleanly or was
// killed: container processes (by the init.pid in containerd's task state, checked against the
// process's cgroup), the shims of the node's containerd, the node's CNI bridge, mounts under
// root, the kubelet's /var/log/containers links into root, and root itself. Its kubelet and
// containerd die with their test process (Pdeathsig) or were stopped by Close.
func RemoveDir(root string) error {
	var errs []error
	killTaskInits(filepath.Join(root, "run/containerd/io.containerd.runtime.v2.task"))
	killShims(filepath.Join(root, "run/containerd.sock"))
	if bridge := bridgeOf(filepath.Join(root, cniConfFile)); bridge != "" {
		// The bridge plugin leaves its bridge behind when the last pod goes.
		if out, err := exec.Command("ip", "link", "delete", bridge).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
			errs = append(errs, fmt.Errorf("deleting bridge %s: %v: %s", bridge, err, out))
		}
	}
	if err := unmountUnder(root); err != nil {
		errs = append(errs, err)
	}
	removeLinksInto(containerLogsDir, filepath.Join(root, "var/log/pods"))
	if err := os.RemoveAll(root); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", root, err))
	}
	return errors.Join(errs...)
}

// killTaskInits SIGKILLs the init process of every task in containerd's v2 task state dir
// (<namespace>/<id>/init.pid), if that PID still belongs to the container (its cgroup names the
// id), then waits briefly for them to go.
func killTaskInits(taskDir string) {
	pidFiles, _ := filepath.Glob(filepath.Join(taskDir, "*", "*", "init.pid"))
	var pids []int
	for _, f := range pidFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 1 {
			continue
		}
		cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if err != nil || !strings.Contains(string(cg), filepath.Base(filepath.Dir(f))) {
			continue // gone, or the PID was reused by another process
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			pids = append(pids, pid)
		}
	}
	waitGone(pids)
}

// waitGone waits up to 5s for the processes to disappear.
func waitGone(pids []int) {
	_ = Poll(5*time.Second, func() (bool, string) {
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				return false, fmt.Sprintf("pid %d alive", pid)
			}
		}
		return true, ""
	})
}

// bridgeOf returns the bridge name of the node's CNI conflist, "" without one.
func bridgeOf(conflist string) string {
	data, err := os.ReadFile(conflist)
	if err != nil {
		return ""
	}
	var c struct {
		Plugins []struct {
			Type   string `json:"type"`
			Bridge string `json:"bridge"`
		} `json:"plugins"`
	}
	if json.Unmarshal(data, &c) != nil {
		return ""
	}
	for _, p := range c.Plugins {
		if p.Type == "bridge" && strings.HasPrefix(p.Bridge, "spdoc") {
			return p.Bridge
		}
	}
	return ""
}

func (n *Node) containerdRunning() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.containerd == nil {
		return false
	}
	select {
	case <-n.ctrdDone:
		return false
	default:
		return true
	}
}

// RuntimeClient dials this node's CRI runtime service; close the connection when done.
func (n *Node) RuntimeClient() (runtimeapi.RuntimeServiceClient, *grpc.ClientConn, error) {
	conn, err := grpc.NewClient("unix://"+n.ContainerdSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("dialing CRI at %s: %w", n.ContainerdSock, err)
	}
	return runtimeapi.NewRuntimeServiceClient(conn), conn, nil
}

// removeAllPods stops and removes every pod sandbox (which tears down its network namespace).
func (n *Node) removeAllPods(ctx context.Context) error {
	rs, conn, err := n.RuntimeClient()
	if err != nil {
		return err
	}
	defer conn.Close()
	list, err := rs.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("listing sandboxes: %w", err)
	}
	var errs []error
	for _, sb := range list.Items {
		if _, err := rs.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("stopping sandbox %s: %w", sb.Id, err))
			continue
		}
		if _, err := rs.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("removing sandbox %s: %w", sb.Id, err))
		}
	}
	return errors.Join(errs...)
}

// killShims SIGKILLs the containerd-shim processes serving the containerd at sock (their command
// line carries "-address <sock>"), and waits briefly for them to go.
func killShims(sock string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) == 0 || !strings.Contains(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-address" && args[i+1] == sock {
				pids = append(pids, pid)
				break
			}
		}
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	waitGone(pids)
}

// unmountUnder lazily unmounts every mount point at or below dir, deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("reading mountinfo: %w", err)
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			points = append(points, mp)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount decodes the octal escapes (\040 for space…) of a mountinfo path.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeLinksInto deletes the symlinks in linkDir that point below target.
func removeLinksInto(linkDir, target string) {
	entries, err := os.ReadDir(linkDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(linkDir, e.Name())
		dest, err := os.Readlink(p)
		if err == nil && strings.HasPrefix(dest, target+"/") {
			os.Remove(p)
		}
	}
}
