package main

// The dense workload: the log of a node that needs spdoc. About a dozen static pods fail in the
// ways a kubelet repeats for hours — CrashLoopBackOff back-offs, image pulls, sandbox creation,
// network not ready, invalid manifests, probes, hostPath mounts — plus node-level eviction-manager
// records and gRPC reconnects while the runtime restarts. Most lines are error records.
//
// Every template below is a line the kubelet wrote, copied from the captured real node
// (testdata/nodes/broken/var/log/kubelet.log, kubelet v1.34.4, --logging-format=json) with the
// pod, UID, container ID, image and timestamp replaced; the few messages that capture does not
// contain (eviction manager, sandbox creation, runtime outage, gRPC) are written as the kubelet
// v1.34 source logs them (pkg/kubelet/eviction/eviction_manager.go, kuberuntime_manager.go,
// kuberuntime_sandbox.go, cri-client remote_runtime.go) through the JSON logger. The crash loop,
// PLEG, probe and kill templates are internal/testlog's, shared with the agent's live-log tests.

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/testlog"
)

// Placeholders: {POD} kubelet pod name, {NS}, {UID}, {CID} container ID, {CTR} container name,
// {IMG} image, {FILE} manifest path, {BACKOFF} CrashLoopBackOff delay, {SUB} gRPC subchannel,
// {RETRY} volume retry deadline, {DUR} volume retry delay.
const (
	tCrashLoop     = testlog.TemplateCrashLoop
	tPLEGDied      = testlog.TemplatePLEGDied
	tPLEGFinished  = testlog.TemplatePLEGFinished
	tPLEGStarted   = testlog.TemplatePLEGStarted
	tPullErr       = `"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","err":"failed to \"StartContainer\" for \"{CTR}\" with ErrImagePull: \"failed to pull and unpack image \\\"{IMG}\\\": failed to resolve reference \\\"{IMG}\\\": failed to do request: Head \\\"https://registry.spdoc.invalid/v2/app/manifests/1\\\": dial tcp: lookup registry.spdoc.invalid on 10.255.255.53:53: no such host\""}`
	tPullBackOff   = `"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","err":"failed to \"StartContainer\" for \"{CTR}\" with ImagePullBackOff: \"Back-off pulling image \\\"{IMG}\\\": ErrImagePull: failed to pull and unpack image \\\"{IMG}\\\": failed to resolve reference \\\"{IMG}\\\": failed to do request: Head \\\"https://registry.spdoc.invalid/v2/app/manifests/1\\\": dial tcp: lookup registry.spdoc.invalid on 10.255.255.53:53: no such host\""}`
	tPullImage     = `"caller":"kuberuntime/kuberuntime_image.go:43","msg":"Failed to pull image","image":"{IMG}","err":"failed to pull and unpack image \"{IMG}\": failed to resolve reference \"{IMG}\": failed to do request: Head \"https://registry.spdoc.invalid/v2/app/manifests/1\": dial tcp: lookup registry.spdoc.invalid on 10.255.255.53:53: no such host"}`
	tPullService   = `"caller":"internal/log.go:32","msg":"PullImage from image service failed","image":"{IMG}","err":"rpc error: code = Unknown desc = failed to pull and unpack image \"{IMG}\": failed to resolve reference \"{IMG}\": failed to do request: Head \"https://registry.spdoc.invalid/v2/app/manifests/1\": dial tcp: lookup registry.spdoc.invalid on 10.255.255.53:53: no such host"}`
	tNeverPull     = `"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","err":"failed to \"StartContainer\" for \"{CTR}\" with ErrImageNeverPull: \"Container image \\\"{IMG}\\\" is not present with pull policy of Never\"","errCauses":[{"error":"failed to \"StartContainer\" for \"{CTR}\" with ErrImageNeverPull: \"Container image \\\"{IMG}\\\" is not present with pull policy of Never\""}]}`
	tUnhandled     = `"logger":"UnhandledError","caller":"kuberuntime/kuberuntime_manager.go:1449","msg":"Unhandled Error","err":"container {CTR} start failed in pod {POD}_{NS}({UID}): ErrImageNeverPull: Container image \"{IMG}\" is not present with pull policy of Never"}`
	tNoCNI         = `"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","err":"network is not ready: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}`
	tSandboxRun    = `"caller":"internal/log.go:32","msg":"RunPodSandbox from runtime service failed","err":"rpc error: code = Unknown desc = failed to setup network for sandbox \"{CID}\": plugin type=\"bridge\" name=\"k8s-pod-network\" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.88.0.1-10.88.255.254"}`
	tSandboxCreate = `"caller":"kuberuntime/kuberuntime_sandbox.go:71","msg":"Failed to create sandbox for pod","pod":{"name":"{POD}","namespace":"{NS}"},"err":"rpc error: code = Unknown desc = failed to setup network for sandbox \"{CID}\": plugin type=\"bridge\" name=\"k8s-pod-network\" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.88.0.1-10.88.255.254"}`
	tSandboxPod    = `"caller":"kuberuntime/kuberuntime_manager.go:1343","msg":"CreatePodSandbox for pod failed","pod":{"name":"{POD}","namespace":"{NS}"},"err":"rpc error: code = Unknown desc = failed to setup network for sandbox \"{CID}\": plugin type=\"bridge\" name=\"k8s-pod-network\" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.88.0.1-10.88.255.254"}`
	tSandboxSync   = `"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","err":"failed to \"CreatePodSandbox\" for \"{POD}_{NS}({UID})\" with CreatePodSandboxError: \"Failed to create sandbox for pod \\\"{POD}_{NS}({UID})\\\": rpc error: code = Unknown desc = failed to setup network for sandbox \\\"{CID}\\\": plugin type=\\\"bridge\\\" name=\\\"k8s-pod-network\\\" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.88.0.1-10.88.255.254\""}`
	tManifest      = `"caller":"config/file.go:187","msg":"Could not process manifest file","path":"{FILE}","err":"invalid pod: [spec.containers: Required value]"}`
	tManifestYAML  = `"caller":"config/file.go:187","msg":"Could not process manifest file","path":"{FILE}","err":"{FILE}: couldn't parse as pod(yaml: line 5: found a tab character that violates indentation), please check config file"}`
	tWatch         = `"caller":"config/file.go:108","msg":"Unable to process watch event","err":"can't process config file \"{FILE}\": invalid pod: [spec.containers: Required value]"}`
	tProbe         = testlog.TemplateProbeFailed
	tKill          = testlog.TemplateKilling
	tMount         = `"caller":"nestedpendingoperations/nestedpendingoperations.go:348","msg":"Operation for \"{volumeName:kubernetes.io/host-path/{UID}-data podName:{UID} nodeName:}\" failed. No retries permitted until {RETRY} (durationBeforeRetry {DUR}). Error: MountVolume.SetUp failed for volume \"data\" (UniqueName: \"kubernetes.io/host-path/{UID}-data\") pod \"{POD}\" (UID: \"{UID}\") : hostPath type check failed: /srv/spdoc-missing-dir is not a directory"}`
	tMountSync     = `"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","err":"unmounted volumes=[data], unattached volumes=[], failed to process volumes=[]: context deadline exceeded"}`
	tConfigErr     = `"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","err":"failed to \"StartContainer\" for \"{CTR}\" with CreateContainerConfigError: \"open /var/lib/kubelet/pods/{UID}/etc-hosts: no such file or directory\"","errCauses":[{"error":"failed to \"StartContainer\" for \"{CTR}\" with CreateContainerConfigError: \"open /var/lib/kubelet/pods/{UID}/etc-hosts: no such file or directory\""}]}`

	// node level
	tEvictReclaim = `"caller":"eviction/eviction_manager.go:376","msg":"Eviction manager: attempting to reclaim","resourceName":"ephemeral-storage"}`
	tEvictMust    = `"caller":"eviction/eviction_manager.go:387","msg":"Eviction manager: must evict pod(s) to reclaim","resourceName":"ephemeral-storage"}`
	tEvictRanked  = `"caller":"eviction/eviction_manager.go:405","msg":"Eviction manager: pods ranked for eviction","pods":[{"name":"{POD}","namespace":"{NS}"}]}`
	tEvictNone    = `"caller":"eviction/eviction_manager.go:398","msg":"Eviction manager: eviction thresholds have been met, but no pods are active to evict","err":null}`
	tEvictUnable  = `"caller":"eviction/eviction_manager.go:439","msg":"Eviction manager: unable to evict any pods from the node"}`
	tEvictFS      = `"caller":"eviction/eviction_manager.go:267","msg":"eviction manager: failed to check if we have separate container filesystem. Ignoring.","err":"no imagefs label for configured runtime"}`
	tGRPC         = `"caller":"grpclog/component.go:55","msg":"[core] [Channel #1 SubChannel #{SUB}]grpc: addrConn.createTransport failed to connect to {Addr: \"/run/containerd/containerd.sock\", ServerName: \"localhost\", Attributes: {\"<%!p(networktype.keyType=grpc.internal.transport.networktype)>\": \"unix\" }, BalancerAttributes: <nil>, }. Err: connection error: desc = \"transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: connection refused\"","v":0}`
	tListSandbox  = `"caller":"internal/log.go:32","msg":"ListPodSandbox with filter from runtime service failed","filter":"nil","err":"rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: connection refused\""}`
	tSkipSync     = `"caller":"kubelet/kubelet.go:2452","msg":"Skipping pod synchronization","err":"[container runtime is down, PLEG is not healthy: pleg was last seen active 3m0.250331472s ago; threshold is 3m0s]","errCauses":[{"error":"container runtime is down"},{"error":"PLEG is not healthy: pleg was last seen active 3m0.250331472s ago; threshold is 3m0s"}]}`
	tRuntimeDown  = `"caller":"kubelet/kubelet.go:3011","msg":"Container runtime not ready","runtimeReady":"RuntimeReady=false reason:ContainerdNotReady message:containerd is not ready"}`
)

// scenario is what goes wrong with one pod; lines are its repeated records, picked by weight.
type scenario struct {
	name, container, image string
	lines                  []string
	weights                []int
	crashLoop              bool // restarts with a growing back-off, a new container ID each time
	manifest               string
}

var denseScenarios = []scenario{
	{name: "crashloop", container: "app", image: "spdoc.local/busybox:1", lines: []string{tCrashLoop}, weights: []int{10}, crashLoop: true},
	{name: "api-gateway", container: "gateway", image: "spdoc.local/busybox:1", lines: []string{tCrashLoop}, weights: []int{10}, crashLoop: true},
	{name: "unpullable", container: "main", image: "registry.spdoc.invalid/app:1", lines: []string{tPullBackOff, tPullErr, tPullImage, tPullService}, weights: []int{8, 1, 1, 1}},
	{name: "metrics-agent", container: "agent", image: "registry.spdoc.invalid/metrics:2.3", lines: []string{tPullBackOff, tPullErr, tPullImage, tPullService}, weights: []int{8, 1, 1, 1}},
	{name: "missing-image", container: "main", image: "spdoc.local/not-imported:1", lines: []string{tNeverPull, tUnhandled}, weights: []int{6, 2}},
	{name: "no-cni", container: "main", image: "spdoc.local/busybox:1", lines: []string{tNoCNI}, weights: []int{8}},
	{name: "ingress", container: "nginx", image: "spdoc.local/nginx:1", lines: []string{tSandboxSync, tSandboxPod, tSandboxCreate, tSandboxRun}, weights: []int{4, 2, 2, 2}},
	{name: "invalid", lines: []string{tManifest, tWatch}, weights: []int{3, 1}, manifest: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: invalid\nspec:\n  containers: []\n"},
	{name: "yaml-error", lines: []string{tManifestYAML}, weights: []int{3}, manifest: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: yaml-error\nspec:\n\tcontainers: []\n"},
	{name: "liveness", container: "main", image: "spdoc.local/busybox:1", lines: []string{tProbe, tKill}, weights: []int{6, 1}},
	{name: "missing-hostpath", container: "main", image: "spdoc.local/busybox:1", lines: []string{tMountSync, tMount}, weights: []int{4, 1}},
	{name: "dup", container: "main", image: "spdoc.local/busybox:1", lines: []string{tConfigErr}, weights: []int{5}},
}

// backoffs is the kubelet's CrashLoopBackOff sequence (10s doubling, capped at 5m).
var backoffs = []string{"10s", "20s", "40s", "1m20s", "2m40s", "5m0s"}

type densePod struct {
	scenario
	kname, ns, uid, cid, file string
	restarts                  int
	nextRestart               float64 // ms
}

func randHex(rng *rand.Rand, n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[rng.Intn(16)]
	}
	return string(b)
}

func runDense(sizeFlag string, span time.Duration, endFlag, out, manifests string, seed int64) error {
	size, err := parseSize(sizeFlag)
	if err != nil {
		return err
	}
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	endT := time.Now()
	if endFlag != "" {
		if endT, err = time.Parse(time.RFC3339, endFlag); err != nil {
			return fmt.Errorf("invalid -end: %w", err)
		}
	}
	start := endT.Add(-span)
	rng := rand.New(rand.NewSource(seed))
	pods := make([]*densePod, len(denseScenarios))
	for i, sc := range denseScenarios {
		pods[i] = &densePod{scenario: sc, kname: sc.name + "-node1", ns: "default", uid: randHex(rng, 32),
			cid: randHex(rng, 64), file: "/etc/kubernetes/manifests/" + sc.name + ".yaml"}
		if i%4 == 3 {
			pods[i].ns = "kube-system"
		}
	}
	if manifests != "" {
		if err := writeManifests(manifests, pods); err != nil {
			return err
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var written int64
	startMs := float64(start.UnixMicro()) / 1000
	spanMs := float64(span.Microseconds()) / 1000
	var buf []byte
	lines, errLines := 0, 0
	sub := 2 // gRPC subchannel number: grows with every reconnect
	emit := func(ts float64, tmpl string, p *densePod) {
		buf = appendDense(buf[:0], ts, tmpl, p, sub)
		if format != "json" {
			buf = append(toJournalShortPrecise(buf[:len(buf)-1]), '\n')
		}
		w.Write(buf)
		written += int64(len(buf))
		lines++
		if strings.Contains(tmpl, `"err":`) {
			errLines++
		}
	}
	buf = head(buf[:0], startMs, "config/file.go:66", "Adding static pod path", 0)
	buf = append(kv(buf, "path", "/etc/kubernetes/manifests"), '}')
	if format != "json" {
		buf = toJournalShortPrecise(buf)
	}
	buf = append(buf, '\n')
	w.Write(buf)
	written += int64(len(buf))
	outage := 0 // lines left in a runtime outage (gRPC reconnects, sandbox list failures)
	for written < size {
		ts := startMs + spanMs*float64(written)/float64(size)
		p := pods[rng.Intn(len(pods))]
		switch r := rng.Intn(100); {
		case outage > 0:
			outage--
			switch rng.Intn(4) {
			case 0:
				sub++
				emit(ts, tGRPC, p)
			case 1:
				emit(ts, tListSandbox, p)
			case 2:
				emit(ts, tSkipSync, p)
			default:
				emit(ts, tRuntimeDown, p)
			}
		case r < 25: // the v=1..4 noise a busy kubelet writes in between
			buf = noise(buf[:0], ts, pod{name: p.kname, ns: p.ns, uid: p.uid, container: p.container}, rng)
			if format != "json" {
				buf = toJournalShortPrecise(buf)
			}
			buf = append(buf, '\n')
			w.Write(buf)
			written += int64(len(buf))
			lines++
		case r < 29:
			emit(ts, []string{tEvictReclaim, tEvictMust, tEvictRanked, tEvictNone, tEvictUnable, tEvictFS}[rng.Intn(6)], p)
		case r == 29 && rng.Intn(50) == 0:
			outage = 20 + rng.Intn(200)
		default:
			if p.crashLoop && ts >= p.nextRestart {
				emit(ts, tPLEGFinished, p)
				emit(ts, tPLEGDied, p)
				p.cid = randHex(rng, 64)
				p.restarts++
				if rng.Intn(40) == 0 {
					p.restarts = 0 // ran long enough: the back-off resets
				}
				emit(ts, tPLEGStarted, p)
				d, _ := time.ParseDuration(backoffs[min(p.restarts, len(backoffs)-1)])
				p.nextRestart = ts + float64(d.Milliseconds())
				continue
			}
			emit(ts, p.lines[pick(rng, p.weights)], p)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %s (dense): %d bytes, %d lines, %d with an err key, %d pods, %s .. %s\n", out, written, lines+1,
		errLines, len(pods), start.UTC().Format(time.RFC3339), endT.UTC().Format(time.RFC3339))
	return nil
}

func pick(rng *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := rng.Intn(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func appendDense(b []byte, ts float64, tmpl string, p *densePod, sub int) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendFloat(b, ts, 'f', -1, 64) // like zap: shortest form, so the width varies
	b = append(b, ',')
	backoff := backoffs[min(p.restarts, len(backoffs)-1)]
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			break
		}
		b = append(b, tmpl[:i]...)
		if !isPlaceholder(tmpl[i+1 : i+j]) {
			b = append(b, '{') // JSON
			tmpl = tmpl[i+1:]
			continue
		}
		switch key := tmpl[i+1 : i+j]; key {
		case "POD":
			b = append(b, p.kname...)
		case "NS":
			b = append(b, p.ns...)
		case "UID":
			b = append(b, p.uid...)
		case "CID":
			b = append(b, p.cid...)
		case "CTR":
			b = append(b, p.container...)
		case "IMG":
			b = append(b, p.image...)
		case "FILE":
			b = append(b, p.file...)
		case "BACKOFF":
			b = append(b, backoff...)
		case "SUB":
			b = strconv.AppendInt(b, int64(sub), 10)
		case "RETRY":
			t := time.UnixMicro(int64(ts * 1000)).Add(2 * time.Minute).UTC()
			b = append(b, t.Format("2006-01-02 15:04:05.999999999 -0700 MST")...)
			b = append(b, " m=+"...)
			b = strconv.AppendFloat(b, ts/1000-1.7e9, 'f', 9, 64)
		case "DUR":
			b = append(b, "2m2s"...)
		}
		tmpl = tmpl[i+j+1:]
	}
	b = append(b, tmpl...)
	return append(b, '\n')
}

// writeManifests writes a manifest per pod, the way the log describes them: the invalid ones broken.
func writeManifests(dir string, pods []*densePod) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range pods {
		m := p.manifest
		if m == "" {
			m = fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  containers:\n  - name: %s\n    image: %s\n",
				p.name, p.ns, p.container, p.image)
		}
		if err := os.WriteFile(filepath.Join(dir, p.name+".yaml"), []byte(m), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func isPlaceholder(s string) bool {
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return s != ""
}
