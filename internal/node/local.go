package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spdoc/spdoc/internal/safefs"

	"github.com/tidwall/gjson"

	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// Default node locations (relative to LocalOptions.Root when it is set).
const (
	DefaultKubeletConfig    = "/var/lib/kubelet/config.yaml"
	DefaultManifestDir      = "/etc/kubernetes/manifests"
	DefaultPodLogsDir       = "/var/log/pods"
	DefaultContainerLogsDir = "/var/log/containers"
	DefaultRootKubeletLog   = "/var/log/kubelet.log"
	// RuntimeFile is the optional CRI state a capture or support bundle writes at the top of a
	// copied node (a JSON RuntimeState); --root loads it instead of asking a runtime.
	RuntimeFile = "runtime.json"
)

// Defaults of LocalOptions.
const (
	DefaultJournalSince = time.Hour
	DefaultLogTail      = 20
	DefaultMaxRecords   = 20000
	// DefaultAPICacheTTL is how long the API server's and the kubelet's answers are reused
	// across snapshots (the TUI and the agent take one every 2 s).
	DefaultAPICacheTTL = 10 * time.Second
	// maxRuntimeFile caps Root/runtime.json (a capture of a busy node is a few MiB).
	maxRuntimeFile = 256 << 20
	// maxKubeletConfig caps a KubeletConfiguration file.
	maxKubeletConfig = 4 << 20
	// maxTailContainers bounds how many containers get log tails in a snapshot.
	maxTailContainers = 200
)

// Kubelet log source names for LocalOptions.KubeletLog.
const (
	KubeletLogAuto    = ""
	KubeletLogStdin   = "-"
	KubeletLogJournal = "journal"
)

// LocalOptions say where a Local client reads the node. Empty fields take the defaults described
// on each; with Root set, every default path lies under Root and the runtime is not consulted.
type LocalOptions struct {
	// Root is a copied node filesystem (an unpacked support bundle). Empty: this machine.
	Root string
	// ManifestDir: else the kubelet config's staticPodPath, else /etc/kubernetes/manifests.
	ManifestDir string
	// PodLogsDir: else the kubelet config's podLogsDir, else /var/log/pods.
	PodLogsDir string
	// ContainerLogsDir: else /var/log/containers.
	ContainerLogsDir string
	// KubeletLog: "" auto (live: journald, then /var/log/kubelet.log, /var/log/kubelet/kubelet.log;
	// Root: Root/var/log/kubelet.log), a file path (rotated siblings are read too), "-" for Stdin,
	// or "journal".
	KubeletLog string
	// KernelLog is a file of the kernel's log (kernel.go): else, with Root, Root/var/log/dmesg or
	// Root/var/log/kern.log; none on a live node.
	KernelLog string
	// KubeletConfig: else the running kubelet's --config, else /var/lib/kubelet/config.yaml.
	KubeletConfig string
	// RuntimeEndpoint: else the kubelet config's containerRuntimeEndpoint, else containerd's socket.
	RuntimeEndpoint string
	// NoRuntime skips the CRI runtime (Snapshot.Runtime is nil).
	NoRuntime bool
	// NodeName: else detected from pod log dirs, kubelet records, runtime sandboxes, the hostname.
	NodeName string
	// Since bounds the kubelet log history read into a snapshot. 0 means 1h for journald (whose
	// history can be weeks long) and the whole file (with its rotated siblings) for files: an old
	// "Could not process manifest file" may be what explains the current state, and file scans
	// seek and stream.
	Since time.Duration
	// LogTail is how many lines of each static pod container's current and previous log a
	// snapshot keeps (default 20; < 0 none).
	LogTail int
	// MaxRecords caps the relevant kubelet records kept (default 20000); the oldest are dropped
	// and KubeletLogState.Truncated is set.
	MaxRecords int
	// RuntimeTimeout bounds each CRI call (default 2s).
	RuntimeTimeout time.Duration
	// Stdin is read when KubeletLog is "-" (default os.Stdin).
	Stdin io.Reader
	// Kubeconfig reads mirror pods from the API server: else the kubelet's --kubeconfig, else
	// /etc/kubernetes/kubelet.conf when present. Live nodes only.
	Kubeconfig string
	// NoAPI skips the API server and the kubelet's API (mirror pods, the kubelet's pod status).
	NoAPI bool
	// APITimeout bounds each API server and kubelet call (default 3s).
	APITimeout time.Duration
}

// Local reads this node (or a copied one) directly.
type Local struct {
	opts LocalOptions
	now  func() time.Time
	// live keeps the API server's and the kubelet's answers for a few seconds across snapshots.
	live *controlplane.LiveCache
	// followed is the kubelet log kept current by FollowKubeletLog (livelog.go), nil when none.
	followed atomic.Pointer[liveLog]
	// kernelFollowed is the kernel log kept current by FollowKernelLog (livekernel.go).
	kernelFollowed atomic.Pointer[liveKernel]
}

var _ Client = (*Local)(nil)

// NewLocal returns a Client that reads the node described by opts.
func NewLocal(opts LocalOptions) Client { return newLocal(opts) }

func newLocal(opts LocalOptions) *Local {
	if opts.LogTail == 0 {
		opts.LogTail = DefaultLogTail
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = DefaultMaxRecords
	}
	if opts.RuntimeTimeout <= 0 {
		opts.RuntimeTimeout = cri.DefaultTimeout
	}
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	return &Local{opts: opts, now: time.Now, live: &controlplane.LiveCache{TTL: DefaultAPICacheTTL}}
}

func (l *Local) Describe() string {
	if l.opts.Root != "" {
		return "root " + l.opts.Root
	}
	return "local node"
}

func (l *Local) Close() error { return nil }

// under puts a node path under Root. The path is cleaned as an absolute path first, so a
// kubelet config of the copy naming "/../../etc" stays under Root.
func (l *Local) under(p string) string {
	if l.opts.Root == "" {
		return p
	}
	return filepath.Join(l.opts.Root, filepath.Clean("/"+p))
}

// confine makes every read under Root resolve inside it (safefs.Confine) until release runs:
// a copied node or an unpacked bundle can hold symlinks that lead anywhere.
func (l *Local) confine() (release func(), err error) {
	if l.opts.Root == "" {
		return func() {}, nil
	}
	release, err = safefs.Confine(l.opts.Root)
	if err != nil {
		return nil, fmt.Errorf("reading the copied node: %w", err)
	}
	return release, nil
}

// resolved are the paths a read uses, with the kubelet config that informed them.
type resolved struct {
	Paths
	cfg     *KubeletConfig
	cfgErr  error
	kubelet *kubeletProc
}

// resolve fills every path from the options, the kubelet config and the defaults.
func (l *Local) resolve() resolved {
	o := l.opts
	r := resolved{Paths: Paths{Root: o.Root}}
	if o.Root == "" {
		r.kubelet = findKubelet("/proc", o.KubeletConfig)
	}
	r.KubeletConfig = o.KubeletConfig
	if r.KubeletConfig == "" {
		if r.kubelet != nil && r.kubelet.configFlag != "" {
			r.KubeletConfig = r.kubelet.configFlag
		} else {
			r.KubeletConfig = l.under(DefaultKubeletConfig)
		}
	}
	cfg, err := ReadKubeletConfig(r.KubeletConfig)
	switch {
	case err == nil:
		r.cfg = cfg
	case errors.Is(err, fs.ErrNotExist) && o.KubeletConfig == "":
		r.KubeletConfig = "" // the default is simply absent: not an error
	default:
		r.cfgErr = err
	}
	fromCfg := func(flag, cfgVal, def string) string {
		switch {
		case flag != "":
			return flag
		case cfgVal != "":
			// On a copied node the config may name paths of a node that was laid out
			// differently (a test node under /tmp): use them only if the copy has them.
			if _, err := safefs.Stat(l.under(cfgVal)); o.Root == "" || err == nil {
				return l.under(cfgVal)
			}
		}
		return l.under(def)
	}
	var c KubeletConfig
	if r.cfg != nil {
		c = *r.cfg
	}
	r.ManifestDir = fromCfg(o.ManifestDir, c.StaticPodPath, DefaultManifestDir)
	r.PodLogsDir = fromCfg(o.PodLogsDir, c.PodLogsDir, DefaultPodLogsDir)
	r.ContainerLogsDir = fromCfg(o.ContainerLogsDir, "", DefaultContainerLogsDir)
	r.KubeletLog = o.KubeletLog
	if r.KubeletLog == KubeletLogAuto && o.Root != "" {
		r.KubeletLog = l.under(DefaultRootKubeletLog)
	}
	if o.Root == "" && !o.NoRuntime {
		r.RuntimeEndpoint = o.RuntimeEndpoint
		if r.RuntimeEndpoint == "" {
			r.RuntimeEndpoint = c.ContainerRuntimeEndpoint
		}
		if r.RuntimeEndpoint == "" {
			r.RuntimeEndpoint = cri.DefaultEndpoint
		}
	}
	if r.kubelet != nil && r.cfg != nil {
		r.kubelet.StaticPodPath = r.cfg.StaticPodPath
	}
	return r
}

// Snapshot reads the node now; unreadable sources are recorded in Snapshot.Errors.
func (l *Local) Snapshot(ctx context.Context) (*Snapshot, error) {
	release, err := l.confine()
	if err != nil {
		return nil, err
	}
	defer release()
	r := l.resolve()
	s := &Snapshot{Taken: l.now(), Paths: r.Paths}
	addErr := func(source string, err error) {
		s.Errors = append(s.Errors, SourceError{Source: source, Error: err.Error()})
	}
	if r.cfgErr != nil {
		addErr("kubelet-config", r.cfgErr)
	}
	if r.kubelet != nil {
		k := r.kubelet.KubeletState
		s.Kubelet = &k
	}

	if l.urlOnly(r) {
		s.Paths.ManifestDir = "" // the kubelet reads no directory: its static pods come from its URL
	} else {
		s.Manifests = staticpod.ScanDir(r.ManifestDir)
	}
	if s.Manifests != nil && s.Manifests.Err != "" {
		addErr("manifests", fmt.Errorf("%s: %s", r.ManifestDir, s.Manifests.Err))
	}

	s.Runtime = l.runtime(ctx, r, addErr)
	if lv := l.liveState(); lv != nil {
		s.KubeletLog = lv.state(s.Taken) // followed: from memory, the log is not read again
	} else {
		s.KubeletLog = l.kubeletLog(ctx, r)
	}
	if s.KubeletLog.Error != "" {
		addErr("kubelet-log", errors.New(s.KubeletLog.Error))
	}
	if v := kubeletVersion(s.KubeletLog.Records); v != "" {
		if s.Kubelet == nil {
			s.Kubelet = &KubeletState{} // a copied node: version known, process not checked
		}
		s.Kubelet.Version = v
	}

	if dirs, err := podlog.ScanPodDirs(r.PodLogsDir); err != nil {
		addErr("pod-logs", err)
	} else {
		s.PodLogs = dirs
	}
	if ids, err := podlog.ContainerIDs(r.ContainerLogsDir); err != nil {
		if !errors.Is(err, fs.ErrNotExist) || l.opts.ContainerLogsDir != "" {
			addErr("container-logs", err)
		}
	} else if len(ids) > 0 {
		s.ContainerIDs = make(map[string]string, len(ids))
		for id, ref := range ids {
			s.ContainerIDs[id] = ref.String()
		}
	}

	// The URL's pods help detect the node name; the kubelet validates <name>-<node>, so the
	// list is checked again once the name is known.
	s.StaticPodURL = l.staticPodURL(ctx, r, l.opts.NodeName, addErr)
	s.Node = detectNodeName(l.opts.NodeName, s, l.opts.Root == "")
	s.StaticPodURL.Revalidate(s.Node.Name)
	s.LogTails = l.logTails(s)
	if l.opts.Root != "" {
		if t := capturedAt(l.opts.Root, s); !t.IsZero() {
			s.Taken = t // a copy's report is as of its capture, not of this read
		}
	}
	s.ControlPlane = l.controlPlane(ctx, s, r, addErr)
	if lk := l.liveKernelState(); lk != nil {
		s.Kernel = lk.state() // followed: from memory, the log is not read again
	} else {
		s.Kernel = l.kernelLog(ctx)
	}
	if s.Kernel != nil && s.Kernel.Error != "" {
		addErr("kernel-log", errors.New(s.Kernel.Error))
	}
	return s, nil
}

// runtime asks the CRI runtime (live) or loads Root/runtime.json (copied node).
func (l *Local) runtime(ctx context.Context, r resolved, addErr func(string, error)) *RuntimeState {
	if l.opts.NoRuntime {
		return nil
	}
	if l.opts.Root != "" {
		data, err := safefs.ReadFile(filepath.Join(l.opts.Root, RuntimeFile), maxRuntimeFile)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				addErr("runtime", fmt.Errorf("reading %s: %w", RuntimeFile, err))
			}
			return nil
		}
		rt, err := decodeRuntimeFile(data, r.cfg)
		if err != nil {
			addErr("runtime", fmt.Errorf("%s: %w", filepath.Join(l.opts.Root, RuntimeFile), err))
			return nil
		}
		return rt
	}
	// Each call has its own timeout; bound the whole runtime read too, since ListContainers
	// makes one status call per container.
	ctx, cancel := context.WithTimeout(ctx, 5*l.opts.RuntimeTimeout)
	defer cancel()
	rt := &RuntimeState{Endpoint: r.RuntimeEndpoint}
	fail := func(err error) *RuntimeState {
		rt.Reachable = false
		rt.Error = err.Error()
		addErr("runtime", err)
		return rt
	}
	c, err := cri.New(ctx, r.RuntimeEndpoint, cri.WithTimeout(l.opts.RuntimeTimeout))
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return fail(err)
	}
	rt.Reachable, rt.Status = true, st
	if rt.Sandboxes, err = c.ListSandboxes(ctx); err != nil {
		return fail(err)
	}
	if rt.Containers, err = c.ListContainers(ctx); err != nil {
		return fail(err)
	}
	return rt
}

// kubeletVersion is the version of the last kubelet start in the records ("Kubelet version").
func kubeletVersion(recs []kubeletlog.Record) string {
	for i := len(recs) - 1; i >= 0; i-- {
		if v := recs[i].Fields["kubeletVersion"]; v != "" && recs[i].Msg == "Kubelet version" {
			return v
		}
	}
	return ""
}

// decodeRuntimeFile reads Root/runtime.json: a RuntimeState (support bundle) or the raw CRI
// messages of a node capture (cri.Capture).
func decodeRuntimeFile(data []byte, cfg *KubeletConfig) (*RuntimeState, error) {
	if !gjson.ValidBytes(data) {
		return nil, errors.New("not valid JSON")
	}
	if gjson.GetBytes(data, "version.runtime_name").Exists() || gjson.GetBytes(data, "sandboxes.0.metadata").Exists() {
		var ep string
		if cfg != nil {
			ep = cfg.ContainerRuntimeEndpoint
		}
		st, sbs, cs, err := cri.DecodeCapture(data, ep)
		if err != nil {
			return nil, err
		}
		return &RuntimeState{Endpoint: ep, Reachable: true, Status: st, Sandboxes: sbs, Containers: cs}, nil
	}
	var rt RuntimeState
	if err := json.Unmarshal(data, &rt); err != nil {
		return nil, fmt.Errorf("decoding runtime state: %w", err)
	}
	return &rt, nil
}

// logTails reads the current and previous log tails of every static pod container: pods whose
// kubelet name ends in -<node>.
func (l *Local) logTails(s *Snapshot) []ContainerLogTail {
	if l.opts.LogTail < 0 || s.Node.Name == "" {
		return nil
	}
	suffix := "-" + strings.ToLower(s.Node.Name)
	var out []ContainerLogTail
	for _, pd := range s.PodLogs {
		if !strings.HasSuffix(pd.Name, suffix) {
			continue
		}
		for _, cd := range pd.Containers {
			if len(out) >= maxTailContainers {
				return out
			}
			cur, ok := podlog.Current(cd)
			if !ok {
				continue
			}
			t := ContainerLogTail{Pod: pd.Namespace + "/" + pd.Name, UID: pd.UID, Container: cd.Name, Instance: cur}
			t.Current, _ = podlog.Tail(cd.InstancePath(cur), l.opts.LogTail)
			if prev, ok := podlog.Previous(cd); ok {
				t.Previous, _ = podlog.Tail(cd.InstancePath(prev), l.opts.LogTail)
			}
			out = append(out, t)
		}
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// keepFirst is how many records a keepRecords makes room for before it makes room for all.
const keepFirst = 4096

// keepRecords is a bounded buffer of the newest records.
type keepRecords struct {
	max       int
	recs      []kubeletlog.Record
	start     int
	truncated bool
}

func (k *keepRecords) add(r *kubeletlog.Record) {
	switch {
	case k.recs == nil:
		// a few thousand first: a quiet log never needs more (20,000 records are 7.8 MB, and
		// memory the heap reuses is zeroed, touched, whether records come or not) ...
		k.recs = make([]kubeletlog.Record, 0, min(k.max, keepFirst))
	case len(k.recs) == cap(k.recs) && cap(k.recs) < k.max:
		// ... then all at once rather than by doubling: on a busy log it fills, and the copies
		// of a growing slice of 20,000 records were the largest allocations of a diagnosis
		k.recs = append(make([]kubeletlog.Record, 0, k.max), k.recs...)
	}
	if len(k.recs) < k.max {
		k.recs = append(k.recs, *r)
		return
	}
	k.truncated = true
	k.recs[k.start] = *r
	k.start = (k.start + 1) % k.max
}

// list returns the records oldest first; the buffer itself when it never wrapped (a scan with
// Last already kept only the newest), so the snapshot does not hold two copies at once.
func (k *keepRecords) list() []kubeletlog.Record {
	if k.start == 0 {
		return k.recs
	}
	return append(append([]kubeletlog.Record(nil), k.recs[k.start:]...), k.recs[:k.start]...)
}

// ResolvedPaths says where a Local client reads from right now — flags first, then the running
// kubelet's config, then the defaults — without reading the sources themselves. The agent uses it
// so its runtime probe watches the same socket the snapshots read.
func ResolvedPaths(c Client) (Paths, bool) {
	l, ok := c.(*Local)
	if !ok {
		return Paths{}, false
	}
	return l.resolve().Paths, true
}
