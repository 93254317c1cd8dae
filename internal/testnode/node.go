// Package testnode starts a real single-node Kubernetes runtime for tests: containerd (with its own
// config, state and socket under a temp dir, runc behind an oom_score_adj wrapper), OCI images built
// at test time (spdoc.local/pause and spdoc.local/busybox, no registry), and a real standalone
// kubelet that runs static pods from the node's manifest dir and logs to a file.
//
// It needs root, the Debian packages containerd, runc, busybox-static, containernetworking-plugins
// and jq (hack/setup-node.sh installs them), and a kubelet binary: $SPDOC_KUBELET, else the output
// of hack/build-kubelet.sh. Every instance uses its own directories, ports, node name and bridge, so
// several nodes may run on one machine at the same time.
package testnode

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/spdoc/spdoc/internal/testtier"
	"hash/fnv"
	"io"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Options tune a node.
type Options struct {
	// CNI writes a bridge+loopback CNI config so pods without hostNetwork get a network.
	// Without it such pods fail with "cni plugin not initialized".
	CNI bool
	// LogFormat is the kubelet's logging format: "json" (default) or "text" (klog).
	LogFormat string
	// Verbosity is the kubelet's -v level; 0 means 2, which includes probe failures.
	Verbosity int
	// Kubelet is the kubelet binary; empty means $SPDOC_KUBELET, else hack/build-kubelet.sh.
	Kubelet string
	// Logf receives progress lines (Start sets it to t.Logf).
	Logf func(format string, args ...any)
	// NodeName overrides the random node name (spdoc-<hex>); only for one-off runs such as
	// captures, since nodes running at the same time need different names.
	NodeName string
	// StartTimeout bounds each startup wait (containerd socket, kubelet healthz); 0 means 2 minutes.
	StartTimeout time.Duration
	// URLSource configures the kubelet's HTTP static pod source (staticPodURL), as Talos does.
	URLSource *URLSource
}

// Node is a running containerd + kubelet pair.
type Node struct {
	Root            string // temp dir holding everything of this node
	NodeName        string // --hostname-override; static pods are named <name>-<NodeName>
	ManifestDir     string // the kubelet's staticPodPath
	PodLogsDir      string // the kubelet's podLogsDir
	KubeletLog      string // the kubelet's stderr (JSON or klog text lines)
	KubeletConfig   string // the KubeletConfiguration file
	KubeletRootDir  string // --root-dir
	ContainerdLog   string // containerd's stderr
	ContainerdSock  string // containerd's gRPC socket path
	RuntimeEndpoint string // "unix://" + ContainerdSock
	ReadOnlyURL     string // http://127.0.0.1:<readOnlyPort>
	HealthzURL      string // http://127.0.0.1:<healthzPort>/healthz
	Pause           string // pause image name (PauseImage)
	Busybox         string // busybox image name (BusyboxImage)
	LogFormat       string // json or text

	opts         Options
	kubeletBin   string
	ctrConfig    string
	snapshotter  string
	bridge       string // CNI bridge this node's network creates ("" without CNI)
	reaper       *exec.Cmd
	reaperStdin  io.WriteCloser
	mu           sync.Mutex
	containerd   *exec.Cmd
	ctrdDone     chan struct{}
	kubelet      *exec.Cmd
	kubeletDone  chan struct{}
	closeOnce    sync.Once
	logf         func(format string, args ...any)
	manifestTmpN int

	// Set by StartControlPlane (nil/empty for a standalone node):
	ns           *mountNamespace                   // private mount namespace of containerd, kubelet and tools
	afterImages  func(ctx context.Context) error   // runs after the base images are imported, before the kubelet
	kubeletTweak func(cfg map[string]any) []string // edits the kubelet config, returns extra flags
	kubeletPorts [3]int                            // port, readOnlyPort (0: off), healthzPort of the current config
	kubeletArgs  []string                          // the kubelet's flags, kept for RestartKubelet
}

// Start starts a node for a test and stops it (by PID, pass or fail) in t.Cleanup. It fails the
// test with what to run when the machine lacks root, packages or the kubelet.
func Start(t testing.TB, opts Options) *Node {
	t.Helper()
	testtier.RealNode(t)
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	n, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("testnode: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testnode %s: kubelet log tail:\n%s", n.NodeName, n.Tail(n.KubeletLog, 40))
		}
		if err := n.Close(); err != nil {
			t.Errorf("testnode: stopping node: %v", err)
		}
	})
	return n
}

// Requirements reports what the machine lacks to run a node, as one message naming the fix, or nil.
func Requirements() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (run the suite as root: sudo hack/test.sh)")
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc", "jq"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin+" in PATH (run hack/setup-node.sh as root)")
		}
	}
	for _, f := range []string{"/bin/busybox", "/usr/lib/cni/bridge", "/usr/lib/cni/loopback"} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f+" (run hack/setup-node.sh as root)")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("this machine cannot run a test node; missing: %s", strings.Join(missing, "; "))
	}
	return nil
}

// New starts a node; the caller must Close it. Start is the testing wrapper.
func New(ctx context.Context, opts Options) (*Node, error) {
	return newNode(ctx, opts, nil)
}

// newNode starts a node; prepare (when non-nil) runs first on the unstarted node to set its
// mount namespace binds and hooks.
func newNode(ctx context.Context, opts Options, prepare func(n *Node) error) (_ *Node, err error) {
	if err := Requirements(); err != nil {
		return nil, err
	}
	if opts.LogFormat == "" {
		opts.LogFormat = "json"
	}
	if opts.LogFormat != "json" && opts.LogFormat != "text" {
		return nil, fmt.Errorf("options: LogFormat %q: want json or text", opts.LogFormat)
	}
	if opts.Verbosity == 0 {
		opts.Verbosity = 2
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	kubelet, err := findKubelet(opts.Kubelet)
	if err != nil {
		return nil, err
	}
	// Short root: unix socket paths must stay under 108 bytes, and t.TempDir paths can be long.
	root, err := os.MkdirTemp("", "spdoc-node-")
	if err != nil {
		return nil, fmt.Errorf("creating node dir: %w", err)
	}
	suffix := randomHex(4)
	n := &Node{
		Root:           root,
		NodeName:       "spdoc-" + suffix,
		ManifestDir:    filepath.Join(root, "etc/kubernetes/manifests"),
		PodLogsDir:     filepath.Join(root, "var/log/pods"),
		KubeletLog:     filepath.Join(root, "var/log/kubelet.log"),
		KubeletConfig:  filepath.Join(root, "etc/kubernetes/kubelet-config.json"),
		KubeletRootDir: filepath.Join(root, "var/lib/kubelet"),
		ContainerdLog:  filepath.Join(root, "var/log/containerd.log"),
		ContainerdSock: filepath.Join(root, "run/containerd.sock"),
		Pause:          PauseImage,
		Busybox:        BusyboxImage,
		LogFormat:      opts.LogFormat,
		opts:           opts,
		kubeletBin:     kubelet,
		logf:           opts.Logf,
	}
	n.RuntimeEndpoint = "unix://" + n.ContainerdSock
	if opts.NodeName != "" {
		n.NodeName = opts.NodeName
	}
	defer func() {
		if err != nil {
			if cerr := n.Close(); cerr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, cerr)
			}
		}
	}()
	for _, d := range []string{n.ManifestDir, n.PodLogsDir, filepath.Dir(n.KubeletLog), n.KubeletRootDir,
		filepath.Join(root, "run"), filepath.Join(root, "etc/cni/net.d"), filepath.Join(root, "images"),
		filepath.Join(root, "var/lib/kubelet/pki")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	if err := n.startReaper(); err != nil {
		return nil, err
	}
	if prepare != nil {
		if err := prepare(n); err != nil {
			return nil, err
		}
	}
	if err := n.setupContainerd(ctx, suffix); err != nil {
		return nil, err
	}
	if err := n.StartContainerd(); err != nil {
		return nil, err
	}
	if err := n.importImages(ctx); err != nil {
		return nil, err
	}
	if n.afterImages != nil {
		if err := n.afterImages(ctx); err != nil {
			return nil, err
		}
	}
	if err := n.startKubelet(); err != nil {
		return nil, err
	}
	n.logf("testnode %s: up in %s (kubelet log %s)", n.NodeName, root, n.KubeletLog)
	return n, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// cniConfFile is the node's CNI config, relative to its root.
const cniConfFile = "etc/cni/net.d/10-spdoc.conflist"

// startReaper starts internal/testnode/reaper, which runs RemoveDir(Root) when its stdin closes:
// when the test process dies without Close (test timeout, kill, Ctrl-C), the kernel closes the
// pipe and the reaper removes the node's containers, shims, mounts and dir. Close stops it first.
func (n *Node) startReaper() error {
	bin := filepath.Join(n.Root, "run/reaper")
	if err := goBuild(bin, "github.com/spdoc/spdoc/internal/testnode/reaper"); err != nil {
		return err
	}
	cmd := exec.Command(bin, n.Root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // survives a Ctrl-C to the test's group
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("reaper stdin: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting reaper: %w", err)
	}
	go cmd.Wait()
	n.reaper, n.reaperStdin = cmd, stdin
	return nil
}

// stopReaper kills the reaper without letting it clean up (Close does that itself).
func (n *Node) stopReaper() {
	if n.reaper == nil {
		return
	}
	_ = n.reaper.Process.Kill()
	n.reaperStdin.Close()
	n.reaper = nil
}

// goBuild builds a static binary of pkg (a main package of this module) into out.
func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, output)
	}
	return nil
}

// findKubelet resolves the kubelet binary: explicit, $SPDOC_KUBELET, then hack/build-kubelet.sh.
func findKubelet(explicit string) (string, error) {
	if explicit == "" {
		explicit = os.Getenv("SPDOC_KUBELET")
	}
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("kubelet binary %q: %w (build one with hack/build-kubelet.sh and set SPDOC_KUBELET to its output)", explicit, err)
		}
		return explicit, nil
	}
	script, err := findRepoFile("hack/build-kubelet.sh")
	if err != nil {
		return "", fmt.Errorf("no kubelet: set SPDOC_KUBELET to a kubelet binary (hack/build-kubelet.sh prints one): %w", err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("building the kubelet with %s failed (run it by hand and set SPDOC_KUBELET): %w\n%s", script, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// findRepoFile walks up from the working directory to find rel (tests run in their package dir).
func findRepoFile(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found above the working directory", rel)
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// setupContainerd writes the runc wrapper, the CNI config (Options.CNI) and containerd's config.
func (n *Node) setupContainerd(ctx context.Context, suffix string) error {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return fmt.Errorf("runc: %w", err)
	}
	jq, err := exec.LookPath("jq")
	if err != nil {
		return fmt.Errorf("jq: %w", err)
	}
	wrapper, err := writeRuncWrapper(filepath.Join(n.Root, "run"), runc, jq)
	if err != nil {
		return err
	}
	confDir := filepath.Join(n.Root, "etc/cni/net.d")
	if n.opts.CNI {
		h := fnv.New32a()
		h.Write([]byte(suffix))
		subnet := freeSubnet(1 + int(h.Sum32()%250))
		n.bridge = "spdoc" + suffix // 13 bytes, within IFNAMSIZ
		conf := cniConflist(n.bridge, subnet, filepath.Join(n.Root, "var/lib/cni"))
		if err := os.WriteFile(filepath.Join(n.Root, cniConfFile), []byte(conf), 0o644); err != nil {
			return fmt.Errorf("writing CNI config: %w", err)
		}
	}
	n.snapshotter = "native"
	if overlaySupported(n.Root) {
		n.snapshotter = "overlayfs"
	}
	n.ctrConfig = filepath.Join(n.Root, "etc/containerd.toml")
	conf := containerdConfig(containerdPaths{
		Root:        filepath.Join(n.Root, "var/lib/containerd"),
		State:       filepath.Join(n.Root, "run/containerd"),
		Socket:      n.ContainerdSock,
		Snapshotter: n.snapshotter,
		RuncWrapper: wrapper,
		CNIBinDir:   "/usr/lib/cni",
		CNIConfDir:  confDir,
	})
	if err := os.WriteFile(n.ctrConfig, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("writing containerd config: %w", err)
	}
	return nil
}

// freeSubnet returns the first X from start (wrapping within 1..250) such that no interface on
// the machine has an address in 10.244.X.0/24, so concurrent CNI nodes get distinct bridges'
// subnets; start itself when `ip` is not available.
func freeSubnet(start int) int {
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		return start
	}
	for i := 0; i < 250; i++ {
		x := 1 + (start-1+i)%250
		if !strings.Contains(string(out), fmt.Sprintf(" 10.244.%d.", x)) {
			return x
		}
	}
	return start
}

// overlaySupported tries an overlay mount under dir.
func overlaySupported(dir string) bool {
	base := filepath.Join(dir, "overlay-probe")
	defer os.RemoveAll(base)
	var paths []string
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		p := filepath.Join(base, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return false
		}
		paths = append(paths, p)
	}
	data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", paths[0], paths[1], paths[2])
	if err := syscall.Mount("overlay", paths[3], "overlay", 0, data); err != nil {
		return false
	}
	_ = syscall.Unmount(paths[3], 0)
	return true
}

// StartContainerd starts (or restarts after StopContainerd) this node's containerd and waits until
// it answers on its socket.
func (n *Node) StartContainerd() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.containerd != nil {
		return errors.New("containerd is already running")
	}
	cmd, done, err := n.startDaemon(n.ContainerdLog, "containerd", "--config", n.ctrConfig)
	if err != nil {
		return err
	}
	n.containerd, n.ctrdDone = cmd, done
	// Ready means the CRI service answers, not only containerd's own API: its CRI plugin loads
	// after the socket is up (slower under load), and a kubelet started in between exits with
	// "unknown service runtime.v1.RuntimeService".
	err = waitReady("containerd", cmd, done, n.ContainerdLog, n.opts.StartTimeout, func() error {
		if _, err := n.ctr(context.Background(), "version"); err != nil {
			return err
		}
		rc, conn, err := n.RuntimeClient()
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := rc.Version(ctx, &runtimeapi.VersionRequest{}); err != nil {
			return fmt.Errorf("CRI runtime service not ready: %w", err)
		}
		return nil
	})
	if err != nil {
		n.containerd = nil
		_ = stopProcess(cmd, done, time.Second)
	}
	return err
}

// startDaemon is startProcess inside the node's mount namespace, when it has one.
func (n *Node) startDaemon(logPath, bin string, args ...string) (*exec.Cmd, chan struct{}, error) {
	if n.ns != nil {
		bin, args = n.ns.wrap(bin, args...)
	}
	return startProcess(logPath, bin, args...)
}

// Command returns a command that runs name with args as the node's own processes do: inside its
// mount namespace when it has one (a control-plane node, where /etc/kubernetes is the node's),
// else plainly. Tools run against the node this way see the paths its manifests name.
func (n *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if n.ns != nil {
		name, args = n.ns.wrap(name, args...)
	}
	return exec.CommandContext(ctx, name, args...)
}

// HostPath maps a path as the node's processes see it (/etc/kubernetes/pki/ca.crt on a
// control-plane node) to where the file is on this machine; other paths are returned unchanged.
func (n *Node) HostPath(p string) string { return n.ns.hostPath(p) }

// startProcess starts bin in its own process group with stdout and stderr appended to logPath;
// done is closed when it has exited.
func startProcess(logPath, bin string, args ...string) (*exec.Cmd, chan struct{}, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("opening %s log: %w", bin, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig: if the test binary dies without cleanup (test timeout, kill), the daemon dies
	// with it instead of running on. (It fires when the forking OS thread exits; the Go runtime
	// only ends threads that a goroutine left locked, which this package never does.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logFile.Close(); close(done) }()
	return cmd, done, nil
}

// waitReady polls ready until it succeeds; it fails early when the process exits and after
// timeout, quoting the end of the process's log.
func waitReady(what string, cmd *exec.Cmd, done chan struct{}, logPath string, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("%s exited during startup: %s\nlog tail (%s):\n%s", what, cmd.ProcessState, logPath, tailFile(logPath, 30))
		default:
		}
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s: %v\nlog tail (%s):\n%s", what, timeout, err, logPath, tailFile(logPath, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// StopContainerd stops containerd (SIGTERM, then SIGKILL) and leaves shims and containers running,
// like a runtime crash or restart on a real node.
func (n *Node) StopContainerd() error {
	n.mu.Lock()
	cmd, done := n.containerd, n.ctrdDone
	n.containerd = nil
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	return stopProcess(cmd, done, 15*time.Second)
}

// stopProcess sends SIGTERM to the process, waits up to grace, then SIGKILLs it.
func stopProcess(cmd *exec.Cmd, done chan struct{}, grace time.Duration) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing pid %d: %w", cmd.Process.Pid, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("pid %d did not exit after SIGKILL", cmd.Process.Pid)
	}
}

// ctr runs `ctr -n k8s.io --address SOCK args...` and returns its stdout.
func (n *Node) ctr(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	full := append([]string{"-n", "k8s.io", "--address", n.ContainerdSock}, args...)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ctr", full...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// importImages builds the pause and busybox OCI archives and imports them.
func (n *Node) importImages(ctx context.Context) error {
	dir := filepath.Join(n.Root, "images")
	pause, err := pauseSpec(dir)
	if err != nil {
		return err
	}
	busybox, err := busyboxSpec("/bin/busybox")
	if err != nil {
		return err
	}
	for _, spec := range []imageSpec{pause, busybox} {
		archive := filepath.Join(dir, strings.NewReplacer("/", "_", ":", "_").Replace(spec.Ref)+".tar")
		if err := writeOCIArchive(archive, spec); err != nil {
			return err
		}
		if _, err := n.ctr(ctx, "images", "import", "--snapshotter", n.snapshotter, "--platform", "linux/amd64", archive); err != nil {
			return fmt.Errorf("importing %s: %w", spec.Ref, err)
		}
	}
	out, err := n.ctr(ctx, "images", "ls", "-q")
	if err != nil {
		return err
	}
	for _, ref := range []string{PauseImage, BusyboxImage} {
		if !strings.Contains(string(out), ref) {
			return fmt.Errorf("image %s missing after import; containerd has:\n%s", ref, out)
		}
	}
	return nil
}

// kubeletConfiguration is the KubeletConfiguration for a standalone kubelet on this node.
func (n *Node) kubeletConfiguration(port, readOnlyPort, healthzPort int) map[string]any {
	return map[string]any{
		"kind":                     "KubeletConfiguration",
		"apiVersion":               "kubelet.config.k8s.io/v1beta1",
		"staticPodPath":            n.ManifestDir,
		"fileCheckFrequency":       "1s",
		"syncFrequency":            "5s",
		"cgroupDriver":             "cgroupfs",
		"failSwapOn":               false,
		"failCgroupV1":             false,
		"containerRuntimeEndpoint": n.RuntimeEndpoint,
		"podLogsDir":               n.PodLogsDir,
		"authentication": map[string]any{
			"anonymous": map[string]any{"enabled": true},
			"webhook":   map[string]any{"enabled": false},
		},
		"authorization":          map[string]any{"mode": "AlwaysAllow"},
		"address":                "127.0.0.1",
		"port":                   port,
		"readOnlyPort":           readOnlyPort,
		"healthzBindAddress":     "127.0.0.1",
		"healthzPort":            healthzPort,
		"cgroupsPerQOS":          false,
		"enforceNodeAllocatable": []string{},
		"volumePluginDir":        filepath.Join(n.KubeletRootDir, "volume-plugins"),
		"evictionHard": map[string]string{
			"memory.available":  "1Mi",
			"nodefs.available":  "1%",
			"imagefs.available": "1%",
		},
		"imageGCHighThresholdPercent": 100,
		"imageGCLowThresholdPercent":  99,
		"runtimeRequestTimeout":       "30s",
		"logging": map[string]any{
			"format":    n.opts.LogFormat,
			"verbosity": n.opts.Verbosity,
		},
	}
}

// startKubelet starts the kubelet on free ports; when another process took one of them between
// the check and the kubelet's bind, it tries again with new ports.
func (n *Node) startKubelet() error {
	for attempt := 1; ; attempt++ {
		err := n.startKubeletOnce()
		if err == nil || attempt == 3 || n.KubeletRunning() ||
			!strings.Contains(tailFile(n.KubeletLog, 50), "address already in use") {
			return err
		}
		n.logf("testnode %s: kubelet port taken, retrying: %v", n.NodeName, err)
		n.mu.Lock()
		n.kubelet = nil
		n.mu.Unlock()
	}
}

func (n *Node) startKubeletOnce() error {
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = p
	}
	cfg := n.withURLSource(n.kubeletConfiguration(ports[0], ports[1], ports[2]))
	var extra []string
	if n.kubeletTweak != nil {
		extra = n.kubeletTweak(cfg)
	}
	if ro, ok := cfg["readOnlyPort"].(int); ok && ro == 0 {
		ports[1] = 0
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding kubelet config: %w", err)
	}
	if err := os.WriteFile(n.KubeletConfig, data, 0o644); err != nil {
		return fmt.Errorf("writing kubelet config: %w", err)
	}
	n.kubeletPorts = ports
	n.ReadOnlyURL = ""
	if ports[1] != 0 {
		n.ReadOnlyURL = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	}
	n.HealthzURL = fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[2])
	n.kubeletArgs = append([]string{
		"--config", n.KubeletConfig,
		"--root-dir", n.KubeletRootDir,
		"--cert-dir", filepath.Join(n.KubeletRootDir, "pki"),
		"--hostname-override", n.NodeName,
	}, extra...)
	return n.launchKubelet()
}

// launchKubelet starts the kubelet with the config and flags of the last startKubeletOnce and
// waits for its healthz.
func (n *Node) launchKubelet() error {
	cmd, done, err := n.startDaemon(n.KubeletLog, n.kubeletBin, n.kubeletArgs...)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.kubelet, n.kubeletDone = cmd, done
	n.mu.Unlock()
	client := http.Client{Timeout: 2 * time.Second}
	return waitReady("kubelet", cmd, done, n.KubeletLog, n.opts.StartTimeout, func() error {
		resp, err := client.Get(n.HealthzURL)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
			return fmt.Errorf("healthz %s: %s %q", n.HealthzURL, resp.Status, body)
		}
		return nil
	})
}

// RestartKubelet stops the kubelet and starts it again with the same config, flags and ports,
// as `systemctl restart kubelet` does: running pods stay, the kubelet's memory (sources seen,
// back-off, probe results) starts empty.
func (n *Node) RestartKubelet() error {
	if err := n.StopKubelet(); err != nil {
		return err
	}
	return n.launchKubelet()
}

// StopKubelet stops the kubelet (pods keep running, as on a real node).
func (n *Node) StopKubelet() error {
	n.mu.Lock()
	cmd, done := n.kubelet, n.kubeletDone
	n.kubelet = nil
	n.mu.Unlock()
	if cmd == nil {
		return nil
	}
	return stopProcess(cmd, done, 15*time.Second)
}

// KubeletRunning reports whether the kubelet process is still alive.
func (n *Node) KubeletRunning() bool {
	n.mu.Lock()
	done := n.kubeletDone
	running := n.kubelet != nil
	n.mu.Unlock()
	if !running {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Tail returns the last lines of a file (for failure messages).
func (n *Node) Tail(path string, lines int) string { return tailFile(path, lines) }

func tailFile(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// PodsFromReadOnlyPort returns the kubelet's /pods (static pods with their statuses).
func (n *Node) PodsFromReadOnlyPort() ([]corev1.Pod, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(n.ReadOnlyURL + "/pods")
	if err != nil {
		return nil, fmt.Errorf("kubelet /pods: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("kubelet /pods: reading: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("kubelet /pods: %s: %s", resp.Status, body)
	}
	var list corev1.PodList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("kubelet /pods: decoding: %w", err)
	}
	return list.Items, nil
}

// Pod returns the kubelet's view of static pod name (metadata.name, without the node suffix).
func (n *Node) Pod(namespace, name string) (*corev1.Pod, error) {
	pods, err := n.PodsFromReadOnlyPort()
	if err != nil {
		return nil, err
	}
	want := name + "-" + strings.ToLower(n.NodeName)
	for i := range pods {
		if pods[i].Name == want && pods[i].Namespace == namespace {
			return &pods[i], nil
		}
	}
	return nil, nil
}

// WriteManifest writes a manifest atomically (dotfile + rename), as a careful writer does.
func (n *Node) WriteManifest(name, content string) error {
	n.mu.Lock()
	n.manifestTmpN++
	tmp := filepath.Join(n.ManifestDir, "."+name+".tmp"+strconv.Itoa(n.manifestTmpN))
	n.mu.Unlock()
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return fmt.Errorf("writing manifest %q: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(n.ManifestDir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("renaming manifest %q into place: %w", name, err)
	}
	return nil
}

// WriteManifestNonAtomic writes a manifest in place in two halves with a pause between them, so a
// watching kubelet can read it half-written (as editors and `cat >` do).
func (n *Node) WriteManifestNonAtomic(name, content string, pause time.Duration) error {
	path := filepath.Join(n.ManifestDir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("opening manifest %q: %w", name, err)
	}
	defer f.Close()
	half := len(content) / 2
	if _, err := f.WriteString(content[:half]); err != nil {
		return fmt.Errorf("writing manifest %q: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing manifest %q: %w", name, err)
	}
	time.Sleep(pause) // the point of this writer: a window in which the file is half-written
	if _, err := f.WriteString(content[half:]); err != nil {
		return fmt.Errorf("writing manifest %q: %w", name, err)
	}
	return f.Close()
}

// RemoveManifest deletes a manifest file.
func (n *Node) RemoveManifest(name string) error {
	if err := os.Remove(filepath.Join(n.ManifestDir, name)); err != nil {
		return fmt.Errorf("removing manifest %q: %w", name, err)
	}
	return nil
}

// WaitFor polls cond every 250ms until it reports true or timeout passes, then fails t with desc,
// the condition's last explanation and the kubelet log tail.
func (n *Node) WaitFor(t testing.TB, timeout time.Duration, desc string, cond func() (bool, string)) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v\nkubelet log tail (%s):\n%s", desc, err, n.KubeletLog, n.Tail(n.KubeletLog, 25))
	}
}

// WaitFor polls cond until it reports true or timeout passes, then fails t with desc and the
// condition's last explanation.
func WaitFor(t testing.TB, timeout time.Duration, desc string, cond func() (bool, string)) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v", desc, err)
	}
}

// Poll calls cond every 250ms until it returns true; after timeout it returns an error carrying
// cond's last explanation.
func Poll(timeout time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s: %s", timeout, why)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
