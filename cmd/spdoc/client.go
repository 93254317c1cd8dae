package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/spdoc/spdoc/internal/node"
)

// nodeFlags are the flags that say which node to read and where its sources are, shared by
// diagnose, tui, get, containers and logs. Client builds the node.Client from them.
type nodeFlags struct {
	root             string
	bundleIn         string
	bundleNode       string // --bundle-node: one node folder of a talosctl support bundle
	unpacked         string // temp dir --bundle-in was extracted to (then also root)
	manifests        string
	podLogsDir       string
	containerLogsDir string
	kubeletLog       string
	kernelLog        string
	kubeletConfig    string
	runtimeEndpoint  string
	noRuntime        bool
	nodeName         string
	since            time.Duration
	logTail          int
	maxRecords       int
	kubeconfig       string
	noAPI            bool
	apiTimeout       time.Duration

	// agent is registered only by commands that fan out over agents (AddAgentFlags).
	agent agentFlags
	// preset are ready-made node clients (the node folders of a talosctl support bundle).
	preset []nodeTarget
}

// AddBundleInFlag registers --bundle-in and --bundle-node (get, logs, containers; diagnose and
// tui register their own and set bundleIn for the next steps). Both read a bundle the same way
// (bundleIn), so every read command agrees with diagnose on it.
func (f *nodeFlags) AddBundleInFlag(fs *pflag.FlagSet) {
	fs.StringVar(&f.bundleIn, "bundle-in", "", "read a support bundle: a spdoc bundle (tar.gz, written by spdoc diagnose --bundle) or a talosctl support bundle (zip; every node folder, as with several agents)")
	fs.StringVar(&f.bundleNode, "bundle-node", "", "with a talosctl support bundle: only this node folder")
}

// AddAgentFlags registers --agent and its credentials (get, containers, logs, diagnose).
func (f *nodeFlags) AddAgentFlags(fs *pflag.FlagSet) { f.agent.AddFlags(fs) }

// AddFlags registers the node source flags on fs.
func (f *nodeFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.root, "root", "", "read a copied node filesystem (unpacked support bundle) under DIR instead of this machine; no runtime is asked")
	fs.StringVar(&f.manifests, "manifests", "", "static pod manifest dir (default: staticPodPath of the kubelet config, else "+node.DefaultManifestDir+")")
	fs.StringVar(&f.podLogsDir, "pod-logs-dir", "", "pod log dir (default: podLogsDir of the kubelet config, else "+node.DefaultPodLogsDir+")")
	fs.StringVar(&f.containerLogsDir, "container-logs-dir", "", "dir of the container log symlinks (default "+node.DefaultContainerLogsDir+")")
	fs.StringVar(&f.kubeletLog, "kubelet-log", "", `kubelet log: FILE, "-" for stdin or "journal" (default: journald, then /var/log/kubelet.log; with --root DIR/var/log/kubelet.log)`)
	fs.StringVar(&f.kernelLog, "kernel-log", "", "the kernel's log, for the OOM kills, faults and disk and network errors it names: a file of dmesg (plain, -T, -x, --time-format iso), journalctl -k, /dev/kmsg records, kern.log or talosctl dmesg output (default: none on this machine; with --root DIR/var/log/dmesg, else DIR/var/log/kern.log)")
	fs.StringVar(&f.kubeletConfig, "kubelet-config", "", "KubeletConfiguration file (default: the running kubelet's --config, else "+node.DefaultKubeletConfig+")")
	fs.StringVar(&f.runtimeEndpoint, "runtime-endpoint", "", "CRI runtime socket (default: containerRuntimeEndpoint of the kubelet config, else unix:///run/containerd/containerd.sock)")
	fs.BoolVar(&f.noRuntime, "no-runtime", false, "do not ask the container runtime")
	fs.StringVar(&f.nodeName, "node-name", "", "node name as the kubelet knows it (default: detected from pod log dirs, kubelet log, runtime, hostname)")
	fs.Var(sinceValue{&f.since}, "since", "kubelet log history to read, e.g. 10m, 2h, 1d (default: 1h from journald, the whole file otherwise)")
	fs.IntVar(&f.logTail, "log-tail", node.DefaultLogTail, "container log lines kept per static pod container and instance")
	fs.IntVar(&f.maxRecords, "max-records", node.DefaultMaxRecords, "most relevant kubelet log records kept (oldest dropped)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig to read this node's mirror pods with (default: the kubelet's --kubeconfig, else "+node.DefaultKubeletKubeconfig+")")
	fs.BoolVar(&f.noAPI, "no-api", false, "do not ask the API server (mirror pods) or the kubelet's API (its pod status)")
	fs.DurationVar(&f.apiTimeout, "api-timeout", 3*time.Second, "bound on each API server and kubelet API call")
}

// Validate checks the flag values that can be checked without touching the node.
func (f *nodeFlags) Validate() error {
	if err := f.validateBundleIn(); err != nil {
		return err
	}
	if len(f.agent.targets) > 0 && f.root != "" {
		return errors.New("--agent and --root name two different sources: pick one")
	}
	if f.since < 0 {
		return fmt.Errorf("--since %s: must not be negative", f.since)
	}
	if f.apiTimeout < 0 {
		return fmt.Errorf("--api-timeout %s: must not be negative", f.apiTimeout)
	}
	if f.maxRecords <= 0 {
		return fmt.Errorf("--max-records %d: must be positive", f.maxRecords)
	}
	if f.root != "" {
		fi, err := os.Stat(f.root)
		if err != nil {
			return fmt.Errorf("--root: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("--root %s: not a directory", f.root)
		}
		if f.runtimeEndpoint != "" {
			return errors.New("--root reads a copied node: --runtime-endpoint makes no sense with it")
		}
		if f.kubeconfig != "" {
			return errors.New("--root reads a copied node: --kubeconfig makes no sense with it (a bundle carries the mirror pods it saw)")
		}
	}
	return nil
}

// LocalOptions turns the flags into node.LocalOptions.
func (f *nodeFlags) LocalOptions() node.LocalOptions {
	logTail := f.logTail
	if logTail == 0 {
		logTail = -1 // --log-tail 0: none (0 in LocalOptions means the default)
	}
	return node.LocalOptions{
		Root:             f.root,
		ManifestDir:      f.manifests,
		PodLogsDir:       f.podLogsDir,
		ContainerLogsDir: f.containerLogsDir,
		KubeletLog:       f.kubeletLog,
		KernelLog:        f.kernelLog,
		KubeletConfig:    f.kubeletConfig,
		RuntimeEndpoint:  f.runtimeEndpoint,
		NoRuntime:        f.noRuntime,
		NodeName:         f.nodeName,
		Since:            f.since,
		LogTail:          logTail,
		MaxRecords:       f.maxRecords,
		Kubeconfig:       f.kubeconfig,
		NoAPI:            f.noAPI,
		APITimeout:       f.apiTimeout,
		Stdin:            os.Stdin,
	}
}

// Client returns the node client the flags describe (this machine, or --root).
func (f *nodeFlags) Client(ctx context.Context) (node.Client, error) {
	if len(f.preset) > 0 {
		return f.preset[0].Client, nil
	}
	if err := f.Validate(); err != nil {
		return nil, userError(err)
	}
	if err := f.openBundle(ctx); err != nil {
		return nil, err
	}
	if len(f.preset) > 0 { // a talosctl bundle
		return f.preset[0].Client, nil
	}
	return node.NewLocal(f.LocalOptions()), nil
}
