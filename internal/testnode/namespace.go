package testnode

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoMountNamespace is returned by NodeCommand helpers on a node that has no mount namespace.
var ErrNoMountNamespace = errors.New("node has no private mount namespace")

// mountNamespace is a private mount namespace in which a node's containerd, kubelet and the tools
// run against it (kubeadm, spdoc) see the node's own directories at the fixed paths kubeadm and
// its manifests use (/etc/kubernetes). It is held open by a sleeping process; everything else
// joins it with nsenter, which execs in place, so PIDs and Pdeathsig stay those of the real
// daemons. Propagation is slave: the host's mounts show inside, nothing mounted inside (container
// rootfs, the kubelet's bind of its root dir) leaks to the host, and it all goes away with the
// last process of the namespace.
type mountNamespace struct {
	holder *exec.Cmd
	done   chan struct{}
	path   string // /proc/<holder>/ns/mnt
	binds  []bindMount
}

// bindMount maps a directory of the node onto a fixed path inside the namespace.
type bindMount struct {
	Source string // the node's directory (host path)
	Target string // where the node's processes see it, e.g. /etc/kubernetes
}

// nsHolderScript bind-mounts each "$source $target" pair given as arguments, says ready, and
// sleeps until killed.
const nsHolderScript = `set -e
while [ $# -gt 0 ]; do
	mount --bind "$1" "$2"
	shift 2
done
echo ready
exec sleep infinity
`

// startMountNamespace creates the namespace with binds. A target that does not exist on the host
// is created as an empty directory (a mount point needs one); nothing is written into it.
func startMountNamespace(binds []bindMount) (*mountNamespace, error) {
	for _, tool := range []string{"unshare", "nsenter", "mount", "sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("mount namespace: %s (util-linux/coreutils): %w", tool, err)
		}
	}
	args := []string{"--mount", "--propagation", "slave", "--", "/bin/sh", "-c", nsHolderScript, "sh"}
	for _, b := range binds {
		if err := os.MkdirAll(b.Target, 0o755); err != nil {
			return nil, fmt.Errorf("mount namespace: creating mount point %s: %w", b.Target, err)
		}
		args = append(args, b.Source, b.Target)
	}
	cmd := exec.Command("unshare", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("mount namespace: %w", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mount namespace: starting unshare: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("unexpected output %q", line)
		}
		ready <- err
		_, _ = io.Copy(io.Discard, stdout)
	}()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case err = <-ready:
	case <-time.After(30 * time.Second):
		err = errors.New("not ready after 30s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-done
		return nil, fmt.Errorf("mount namespace: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return &mountNamespace{
		holder: cmd, done: done, binds: binds,
		path: "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/mnt",
	}, nil
}

// wrap returns the command line that runs bin with args inside the namespace.
func (m *mountNamespace) wrap(bin string, args ...string) (string, []string) {
	return "nsenter", append([]string{"--mount=" + m.path, "--", bin}, args...)
}

// close kills the holder; the namespace ends when its other processes have gone too.
func (m *mountNamespace) close() {
	if m == nil || m.holder == nil {
		return
	}
	_ = m.holder.Process.Kill()
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
	}
}

// hostPath maps a path as the node's processes see it (/etc/kubernetes/pki/ca.crt) to where it
// is on the host (<root>/etc/kubernetes/pki/ca.crt); paths outside every bind are unchanged.
func (m *mountNamespace) hostPath(p string) string {
	if m == nil {
		return p
	}
	for _, b := range m.binds {
		if p == b.Target {
			return b.Source
		}
		if strings.HasPrefix(p, b.Target+"/") {
			return b.Source + strings.TrimPrefix(p, b.Target)
		}
	}
	return p
}
