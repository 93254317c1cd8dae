package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/agent"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/node"
)

func init() { subcommands = append(subcommands, newAgentCmd) }

// agentVersion is reported by the agent's /version (set with -ldflags -X main.agentVersion=…).
var agentVersion = "dev"

type agentOptions struct {
	config      string
	manifestDir string
	prefix      string
	noValidate  bool

	listen        string
	metricsListen []string
	tlsCert       string
	tlsKey        string
	clientCA      string

	runtimeEndpoint string
	noRuntime       bool
	kubeletLog      string
	kernelLog       string
	kubeletConfig   string
	podLogsDir      string
	nodeName        string
	since           time.Duration

	observeOnly      bool
	kubeconfig       string
	reportNodeStatus bool

	refresh     time.Duration
	fullRefresh time.Duration
	minGap      time.Duration
	logFormat   string
	logLevel    string
	memLimitMB  int

	maxConns    int
	maxStreams  int
	idleTimeout time.Duration
	serveURL    string // loopback address the kubelet's staticPodURL reads
	serveDir    string // the store of validated pods served there
}

func newAgentCmd() *cobra.Command { return newAgentCmdWith(&agentOptions{}) }

// newAgentCmdWith binds the flags to o (tests parse the shipped deploy manifests' args with it).
func newAgentCmdWith(o *agentOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent: render static pods from a config, keep live state, serve the API",
		Long: `agent renders the static pods of its config file into the kubelet manifest directory
(atomic writes, validated, only files with its prefix are touched), follows the config with
fsnotify and SIGHUP, keeps the live status and findings of every static pod on the node and
serves them over a versioned HTTP API: a unix socket by default (mode 0600: root, as admin),
TCP only with mutual TLS (client certificate organization spdoc:reader or
spdoc:admin; create certificates with ` + "`spdoc certs`" + `).`,
		Example: `  spdoc agent --config /etc/spdoc/pods.yaml
  spdoc agent --prefix talos- --listen tcp://0.0.0.0:7443 \
    --tls-cert /etc/spdoc/pki/server.crt --tls-key /etc/spdoc/pki/server.key --client-ca /etc/spdoc/pki/ca.crt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", agent.DefaultConfig, "config file: pods: [Pod…], a Talos machine config or KubeStaticPodConfig documents")
	f.StringVar(&o.manifestDir, "manifests", agent.DefaultManifestDir, "kubelet manifest directory (staticPodPath), as --manifests of every other command")
	f.StringVar(&o.manifestDir, "manifest-dir", agent.DefaultManifestDir, "kubelet manifest directory")
	_ = f.MarkDeprecated("manifest-dir", "use --manifests, the name every spdoc command uses")
	f.StringVar(&o.prefix, "prefix", agent.DefaultPrefix, "file name prefix of the manifests the agent owns (talos- matches Talos)")
	f.BoolVar(&o.noValidate, "no-validate", false, "write pods the validator rejects (like Talos); they still show as findings")
	f.StringVar(&o.listen, "listen", agent.DefaultListen, "API address: unix:///path or tcp://host:port (TCP requires --tls-cert, --tls-key, --client-ca)")
	f.StringSliceVar(&o.metricsListen, "metrics-listen", nil, "also serve /metrics and /healthz here (repeatable): http://127.0.0.1:PORT (plain, loopback only: probes, a local scraper) or tcp://HOST:PORT (mutual TLS with the --tls-* files); the API socket always serves them")
	f.StringVar(&o.tlsCert, "tls-cert", "", "server certificate for tcp:// (from spdoc certs)")
	f.StringVar(&o.tlsKey, "tls-key", "", "server key for tcp://")
	f.StringVar(&o.clientCA, "client-ca", "", "CA that signs client certificates for tcp://")
	f.StringVar(&o.runtimeEndpoint, "runtime-endpoint", "", "CRI runtime socket (default: the kubelet config's, else containerd's)")
	f.BoolVar(&o.noRuntime, "no-runtime", false, "do not ask the container runtime (statuses stay Unknown)")
	f.StringVar(&o.kubeletLog, "kubelet-log", "", "kubelet log: a file (followed across rotation), journal, or empty to detect")
	f.StringVar(&o.kernelLog, "kernel-log", "", "follow the kernel's log for OOM kills, faults, hung tasks, disk and network errors: /dev/kmsg (the ring buffer, read as records arrive; root or CAP_SYSLOG) or a file (re-read as it grows). Off by default: the ring buffer is the whole host's, not only its static pods'")
	f.StringVar(&o.kubeletConfig, "kubelet-config", "", "kubelet config file (default: the running kubelet's, else /var/lib/kubelet/config.yaml)")
	f.StringVar(&o.podLogsDir, "pod-logs-dir", "", "pod log directory (default: the kubelet config's, else /var/log/pods)")
	f.StringVar(&o.nodeName, "node-name", "", "node name as the kubelet knows it (default: detected)")
	f.BoolVar(&o.observeOnly, "observe-only", false, "no config: never write the manifest directory, only watch, diagnose and report (the fleet DaemonSet's mode)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "API server credentials for the StaticPodsHealthy node condition and events (e.g. the kubelet's /etc/kubernetes/kubelet.conf); default: the service account in a pod, else none")
	f.BoolVar(&o.reportNodeStatus, "report-node-status", true, "set the StaticPodsHealthy node condition and record events when API credentials are available")
	f.DurationVar(&o.refresh, "refresh", agent.DefaultRefreshInterval, "how often the runtime and manifest dir are polled for changes")
	f.DurationVar(&o.minGap, "min-refresh-gap", agent.DefaultMinRefreshGap, "at most one node read, and one re-analysis of new kubelet records, per this interval when changes keep coming")
	f.DurationVar(&o.fullRefresh, "full-refresh", agent.DefaultFullRefresh, "re-read the whole node at least this often even when nothing seemed to change")
	f.DurationVar(&o.since, "since", time.Hour, "kubelet log history the agent keeps: its first read seeks there (a time-ordered file is not scanned), then it follows the log and keeps the records of this window in memory")
	f.IntVar(&o.maxConns, "max-connections", agent.DefaultMaxConnections, "API connections served at once; more wait in the listen backlog")
	f.IntVar(&o.maxStreams, "max-streams-per-client", agent.DefaultMaxStreamsPerIdentity, "watch/follow streams one client identity (certificate CN, unix uid) may hold at once; more get 429")
	f.DurationVar(&o.idleTimeout, "idle-timeout", agent.DefaultIdleTimeout, "close API keep-alive connections idle this long")
	f.IntVar(&o.memLimitMB, "memory-limit-mb", 0, "soft Go memory limit in MiB (the GC works harder near it, which can stall a busy agent; 0: none; GOMEMLIMIT wins)")
	f.StringVar(&o.serveURL, "serve-url", "", "serve the pods as one PodList for the kubelet's staticPodURL on this loopback address (127.0.0.1:PORT) instead of writing the manifest dir; a pod the kubelet would reject is held back, never the whole list")
	f.StringVar(&o.serveDir, "serve-dir", agent.DefaultServeDir, "with --serve-url: where the validated pods are kept (survives restarts; the last good list)")
	f.StringVar(&o.logFormat, "log-format", "json", "agent log format: json or text")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func (o *agentOptions) Complete() error {
	o.listen = strings.TrimSpace(o.listen)
	return nil
}

func (o *agentOptions) Validate() error {
	if o.since <= 0 {
		return fmt.Errorf("--since %s: must be positive (the agent reads the log once and keeps this window in memory; a whole multi-GB log would cost its first read and memory)", o.since)
	}
	if o.kernelLog == "-" {
		return errors.New("--kernel-log -: the agent follows its sources, stdin cannot be one; give /dev/kmsg or a file")
	}
	if o.memLimitMB < 0 {
		return fmt.Errorf("--memory-limit-mb %d: must not be negative", o.memLimitMB)
	}
	if o.refresh <= 0 || o.fullRefresh <= 0 {
		return errors.New("--refresh and --full-refresh must be positive")
	}
	if o.logFormat != "json" && o.logFormat != "text" {
		return fmt.Errorf("--log-format %q: want json or text", o.logFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	if o.serveURL != "" && o.observeOnly {
		return errors.New("--serve-url serves the pods of the config; --observe-only has none: pick one")
	}
	if o.serveURL != "" && o.serveDir == "" {
		return errors.New("--serve-url needs a --serve-dir for the validated pods")
	}
	for _, l := range o.metricsListen {
		if strings.HasPrefix(l, "tcp://") && (o.tlsCert == "" || o.tlsKey == "" || o.clientCA == "") {
			return fmt.Errorf("--metrics-listen %s: TCP metrics are served with mutual TLS; set --tls-cert, --tls-key and --client-ca, or use http://127.0.0.1:PORT", l)
		}
	}
	if strings.HasPrefix(o.listen, "tcp://") && (o.tlsCert == "" || o.tlsKey == "" || o.clientCA == "") {
		return fmt.Errorf("--listen %s: TCP is only served with mutual TLS; set --tls-cert, --tls-key and --client-ca (spdoc certs creates them)", o.listen)
	}
	return nil
}

func (o *agentOptions) logger() *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(o.logLevel))
	hopts := &slog.HandlerOptions{Level: lvl}
	if o.logFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, hopts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, hopts))
}

func (o *agentOptions) Run(ctx context.Context) error {
	log := o.logger()
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && o.memLimitMB > 0 {
		debug.SetMemoryLimit(int64(o.memLimitMB) << 20)
	}
	storeDir, nodeManifests := o.manifestDir, o.manifestDir
	var nodeNameOf *func() string // set to the agent's detected node name once it exists
	var podList *agent.PodListServer
	var podListLn net.Listener
	if o.serveURL != "" {
		// Serving, the reconciler writes to the agent's own store; the node's manifest dir (if the
		// kubelet has one) is read like on any node.
		storeDir, nodeManifests = o.serveDir, ""
		if err := os.MkdirAll(storeDir, 0o700); err != nil {
			return fmt.Errorf("--serve-dir: %w", err)
		}
		ln, url, err := agent.ListenPodList(o.serveURL)
		if err != nil {
			return err
		}
		podListLn = ln
		defer ln.Close()
		var ag func() string
		podList = agent.NewPodListServer(agent.PodListServerOptions{Dir: storeDir, Prefix: o.prefix, URL: url, Logger: log,
			NodeName: func() string {
				if o.nodeName != "" {
					return o.nodeName
				}
				if ag != nil {
					if n := ag(); n != "" {
						return n
					}
				}
				h, _ := os.Hostname()
				return strings.ToLower(h)
			}})
		nodeNameOf = &ag
	}
	local := node.NewLocal(node.LocalOptions{
		ManifestDir: nodeManifests, PodLogsDir: o.podLogsDir, KubeletLog: o.kubeletLog,
		KubeletConfig: o.kubeletConfig, RuntimeEndpoint: o.runtimeEndpoint, NoRuntime: o.noRuntime, NodeName: o.nodeName,
		Since: o.since, Kubeconfig: o.kubeconfig, KernelLog: o.kernelLog, // the same credentials read this node's mirror pods
	})
	defer local.Close()

	var rt *agent.Runtime
	if !o.noRuntime {
		ep := o.runtimeEndpoint
		if ep == "" {
			// The socket the snapshots read: the kubelet config's containerRuntimeEndpoint, else containerd's.
			if p, ok := node.ResolvedPaths(local); ok && p.RuntimeEndpoint != "" {
				ep = p.RuntimeEndpoint
			} else {
				ep = cri.DefaultEndpoint
			}
		}
		rt = &agent.Runtime{Endpoint: ep}
		defer rt.Close()
		if _, err := rt.Client(ctx); err != nil {
			log.Warn("container runtime not reachable now; statuses follow when it is back", "endpoint", ep, "err", err)
		}
	}
	var triggers []agent.Trigger
	if rt != nil {
		triggers = append(triggers, agent.RuntimeEvents(rt, log))
	}
	if o.kubeletLog == node.KubeletLogStdin {
		return errors.New("--kubelet-log -: the agent follows its sources, stdin cannot be one; give a file or journal")
	}
	// The kubelet log (journald on systemd nodes, else the usual files, or the one named) is
	// followed and kept in memory: records are correlated as they arrive, never by reading the
	// log again.
	live, _ := local.(agent.LiveKubeletLog)
	// The kernel's log is the whole host's (every process's OOM kills and faults, its disks):
	// read only when asked. Followed, it is kept as its newest events, never read again.
	var kern agent.LiveKernelLog
	if o.kernelLog != "" {
		kern, _ = local.(agent.LiveKernelLog)
	}
	memo := diagnose.NewMemo(0)
	kube, err := o.kubeReporter(log)
	if err != nil {
		return err
	}
	a, err := agent.New(agent.Options{
		ConfigPath: o.config, ManifestDir: storeDir, Prefix: o.prefix, NoValidate: o.noValidate, Served: podList,
		Codec: agent.StaticPodCodec{}, Node: local,
		Analyze: func(s *node.Snapshot) *diagnose.Report {
			// The memo keeps each live record's class and evidence line between analyses.
			return diagnose.Analyze(s, diagnose.Options{NodeName: o.nodeName, Memo: memo})
		},
		RefreshInterval: o.refresh, FullRefresh: o.fullRefresh, MinRefreshGap: o.minGap,
		Probe: agent.NodeProbe(o.manifestDir, rt), Triggers: triggers, KubeletLog: live, KernelLog: kern,
		HandleSIGHUP: true, Version: agentVersion, Logger: log, Kube: kube, ObserveOnly: o.observeOnly,
		MaxStreamsPerIdentity: o.maxStreams, IdleTimeout: o.idleTimeout,
	})
	if err != nil {
		return err
	}
	if nodeNameOf != nil {
		*nodeNameOf = a.NodeName
	}
	ln, err := agent.Listen(agent.ListenOptions{Addr: o.listen, TLSCert: o.tlsCert, TLSKey: o.tlsKey, ClientCA: o.clientCA, MaxConnections: o.maxConns})
	if err != nil {
		return err
	}
	var mls []*agent.MetricsListener
	for _, addr := range o.metricsListen {
		ml, err := agent.ListenMetrics(agent.ListenOptions{Addr: addr, TLSCert: o.tlsCert, TLSKey: o.tlsKey, ClientCA: o.clientCA})
		if err != nil {
			ln.Close()
			for _, m := range mls {
				m.Close()
			}
			return err
		}
		mls = append(mls, ml)
	}
	log.Info("spdoc agent started", "config", o.config, "manifestDir", o.manifestDir, "prefix", o.prefix, "listen", o.listen, "version", agentVersion)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- agent.Serve(ctx, a, ln) }()
	if podList != nil {
		log.Info("serving static pods for the kubelet's staticPodURL", "url", "http://"+podListLn.Addr().String()+"/", "store", storeDir)
		go func() {
			if err := agent.ServePodList(podListLn, podList); err != nil {
				log.Error("serving the static pod list", "err", err)
			}
		}()
		go func() { <-ctx.Done(); podListLn.Close() }()
	}
	metricsErr := make(chan error, len(mls))
	for _, ml := range mls {
		log.Info("serving metrics", "addr", ml.Addr().String())
		go func() { metricsErr <- agent.ServeMetrics(ctx, a, ml) }()
	}
	runErr := a.Run(ctx)
	cancel()
	if err := <-serveErr; err != nil && runErr == nil {
		runErr = fmt.Errorf("serving the API: %w", err)
	}
	for range mls {
		if err := <-metricsErr; err != nil && runErr == nil {
			runErr = fmt.Errorf("serving metrics: %w", err)
		}
	}
	log.Info("spdoc agent stopped")
	return runErr
}
