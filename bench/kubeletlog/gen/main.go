// Command gen writes a realistic kubelet JSON log (--logging-format=json) for benchmarks: mostly
// info noise at v=1..4 (eviction manager, cAdvisor, probes, volume reconciler, pod workers) with a
// few hundred relevant records over a set of static pods, time-ordered, ending now.
// -format journal-short-precise writes the same records as klog text inside `journalctl -o
// short-precise` lines ("Nov 24 21:55:04.100165 node1 kubelet[1234]: E1124 21:55:04.100165 …").
//
//	go run ./bench/kubeletlog/gen -size 1GiB -pods 50 -out /tmp/kubelet.log
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

func main() {
	size := flag.String("size", "1GiB", "approximate output size (KiB, MiB, GiB suffixes)")
	pods := flag.Int("pods", 50, "number of static pods")
	relevant := flag.Int("relevant", 400, "number of relevant records (errors and correlation messages)")
	span := flag.Duration("span", 24*time.Hour, "time the log covers, ending at -end")
	end := flag.String("end", "", "time of the last line, RFC 3339 (default now)")
	out := flag.String("out", "", "output file (required)")
	seed := flag.Int64("seed", 1, "random seed")
	workload := flag.String("workload", "quiet", "quiet (noise, a few hundred relevant records) or dense (a broken node: most lines are errors about a dozen pods)")
	manifests := flag.String("manifests", "", "dense: also write the pods' manifests (the invalid ones broken) into this directory")
	flag.StringVar(&format, "format", "json", "json, or journal-short-precise (klog text in journald short-precise lines)")
	flag.Parse()
	if format != "json" && format != "journal-short-precise" {
		fmt.Fprintln(os.Stderr, "gen: -format must be json or journal-short-precise")
		os.Exit(2)
	}
	var err error
	switch *workload {
	case "quiet":
		err = run(*size, *pods, *relevant, *span, *end, *out, *seed)
	case "dense":
		err = runDense(*size, *span, *end, *out, *manifests, *seed)
	default:
		err = fmt.Errorf("unknown -workload %q (quiet|dense)", *workload)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid -size %q", s)
	}
	return int64(n * float64(mult)), nil
}

type pod struct{ name, ns, uid, file, container, image string }

func run(sizeFlag string, npods, nrel int, span time.Duration, endFlag, out string, seed int64) error {
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
	ps := make([]pod, npods)
	for i := range ps {
		name := fmt.Sprintf("static-%02d", i)
		ps[i] = pod{
			name: name + "-node1", ns: []string{"default", "kube-system", "monitoring"}[i%3],
			uid: fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64()), file: "/etc/kubernetes/manifests/" + name + ".yaml",
			container: "app", image: fmt.Sprintf("registry.local/app%d:1.%d", i, i%7),
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var written int64
	nextRel := 0
	buf := make([]byte, 0, 4096)
	startMs := float64(start.UnixMicro()) / 1000
	spanMs := float64(span.Microseconds()) / 1000
	line := 0
	// The first lines are the kubelet starting up.
	for written < size {
		frac := float64(written) / float64(size)
		ts := startMs + spanMs*frac
		buf = buf[:0]
		switch {
		case line == 0:
			buf = startup(buf, ts)
		case nextRel < nrel && frac >= float64(nextRel)/float64(nrel):
			buf = relevantLine(buf, ts, ps[rng.Intn(len(ps))], rng)
			nextRel++
		default:
			buf = noise(buf, ts, ps[rng.Intn(len(ps))], rng)
		}
		if format != "json" {
			buf = toJournalShortPrecise(buf)
		}
		buf = append(buf, '\n')
		w.Write(buf)
		written += int64(len(buf))
		line++
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %s: %d bytes, %d lines, %d relevant records, %s .. %s\n", out, written, line, nextRel+1,
		start.UTC().Format(time.RFC3339), endT.UTC().Format(time.RFC3339))
	return nil
}

func head(b []byte, ts float64, caller, msg string, v int) []byte {
	b = append(b, `{"ts":`...)
	b = strconv.AppendFloat(b, ts, 'f', 4, 64)
	b = append(b, `,"caller":"`...)
	b = append(b, caller...)
	b = append(b, `","msg":`...)
	b = strconv.AppendQuote(b, msg)
	if v >= 0 {
		b = append(b, `,"v":`...)
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return b
}

func kv(b []byte, k, v string) []byte {
	b = append(b, `,"`...)
	b = append(b, k...)
	b = append(b, `":`...)
	return strconv.AppendQuote(b, v)
}

func podKV(b []byte, p pod) []byte {
	b = append(b, `,"pod":{"name":"`...)
	b = append(b, p.name...)
	b = append(b, `","namespace":"`...)
	b = append(b, p.ns...)
	b = append(b, `"}`...)
	return kv(b, "podUID", p.uid)
}

func startup(b []byte, ts float64) []byte {
	b = head(b, ts, "config/file.go:66", "Adding static pod path", 0)
	b = kv(b, "path", "/etc/kubernetes/manifests")
	return append(b, '}')
}

// noise is the bulk of a busy kubelet's log at -v=4.
func noise(b []byte, ts float64, p pod, rng *rand.Rand) []byte {
	switch rng.Intn(10) {
	case 0:
		b = head(b, ts, "eviction/eviction_manager.go:366", "Eviction manager: synchronize housekeeping", 3)
	case 1:
		b = head(b, ts, "eviction/helpers.go:1149", "Eviction manager: observations", 3)
		b = kv(b, "signal", []string{"memory.available", "nodefs.available", "imagefs.inodesFree", "pid.available"}[rng.Intn(4)])
		b = kv(b, "resourceName", "memory")
		b = kv(b, "available", strconv.Itoa(rng.Intn(1<<30))+"Ki")
		b = kv(b, "capacity", "24105Mi")
		b = kv(b, "time", "2024-11-24 21:55:04.100165 +0000 UTC")
	case 2:
		b = head(b, ts, "manager/manager.go:1004", "Adding container stats", 4)
		b = kv(b, "container", "/kubepods/burstable/pod"+p.uid+"/"+p.uid[:12])
		b = kv(b, "cpuUsage", strconv.Itoa(rng.Intn(1e9)))
	case 3:
		b = head(b, ts, "kubelet/kubelet.go:2556", "SyncLoop (probe)", 1)
		b = kv(b, "probe", "readiness")
		b = kv(b, "status", "ready")
		b = podKV(b, p)
	case 4:
		b = head(b, ts, "prober/prober.go:125", "Probe succeeded", 3)
		b = kv(b, "probeType", "Readiness")
		b = podKV(b, p)
		b = kv(b, "containerName", p.container)
	case 5:
		b = head(b, ts, "reconciler/reconciler_common.go:245", "operationExecutor.VerifyControllerAttachedVolume started for volume \"data\" (UniqueName: \"kubernetes.io/host-path/"+p.uid+"-data\") pod \""+p.name+"\" (UID: \""+p.uid+"\") ", 4)
		b = podKV(b, p)
	case 6:
		b = head(b, ts, "operationexecutor/operation_generator.go:614", "MountVolume.SetUp succeeded for volume \"data\" (UniqueName: \"kubernetes.io/host-path/"+p.uid+"-data\") pod \""+p.name+"\" (UID: \""+p.uid+"\") ", 4)
		b = podKV(b, p)
	case 7:
		b = head(b, ts, "kubelet/kubelet.go:1937", "SyncPod enter", 4)
		b = podKV(b, p)
	case 8:
		b = head(b, ts, "kuberuntime/kuberuntime_manager.go:1069", "computePodActions got for pod", 4)
		b = podKV(b, p)
		b = kv(b, "podActions", "KillPod: false, CreateSandbox: false, UpdatePodResources: false, Attempt: 0, InitContainersToStart: [], ContainersToStart: [], EphemeralContainersToStart: [],ContainersToUpdate: map[], ContainersToKill: map[]")
	default:
		b = head(b, ts, "kubelet/kubelet.go:2493", "SyncLoop (housekeeping)", 4)
	}
	return append(b, '}')
}

// relevantLine is one of the records diagnosis cares about.
func relevantLine(b []byte, ts float64, p pod, rng *rand.Rand) []byte {
	switch rng.Intn(8) {
	case 0:
		b = head(b, ts, "config/file.go:187", "Could not process manifest file", -1)
		b = kv(b, "path", p.file)
		b = kv(b, "err", "invalid pod: [spec.containers: Required value]")
	case 1:
		b = head(b, ts, "kubelet/pod_workers.go:1301", "Error syncing pod, skipping", -1)
		b = podKV(b, p)
		b = kv(b, "err", `failed to "StartContainer" for "app" with CrashLoopBackOff: "back-off 10s restarting failed container=app pod=`+p.name+"_"+p.ns+"("+p.uid+`)"`)
	case 2:
		b = head(b, ts, "prober/prober.go:107", "Probe failed", 1)
		b = kv(b, "probeType", "Liveness")
		b = podKV(b, p)
		b = kv(b, "containerName", p.container)
		b = kv(b, "probeResult", "failure")
		b = kv(b, "output", "HTTP probe failed with statuscode: 500")
	case 3:
		b = head(b, ts, "kubelet/kubelet.go:2433", "SyncLoop ADD", 0)
		b = kv(b, "source", "file")
		b = append(b, `,"pods":["`...)
		b = append(b, p.ns+"/"+p.name...)
		b = append(b, `"]`...)
	case 4:
		b = head(b, ts, "kuberuntime/kuberuntime_container.go:809", "Killing container with a grace period", 0)
		b = podKV(b, p)
		b = kv(b, "containerName", p.container)
		b = kv(b, "containerID", "containerd://"+p.uid+p.uid)
		b = kv(b, "gracePeriod", "30")
	case 5:
		b = head(b, ts, "kuberuntime/kuberuntime_image.go:55", "Failed to pull image", -1)
		b = kv(b, "image", p.image)
		b = kv(b, "err", "rpc error: code = Unknown desc = failed to pull and unpack image \""+p.image+"\": dial tcp: lookup registry.local: no such host")
	case 6:
		b = head(b, ts, "kubelet/pod_workers.go:1301", "Unable to attach or mount volumes", -1)
		b = podKV(b, p)
		b = kv(b, "err", `unmounted volumes=[data], unattached volumes=[], failed to process volumes=[]: MountVolume.SetUp failed for volume "data" : hostPath type check failed: /srv/data is not a directory`)
	default:
		b = head(b, ts, "kubelet/kubelet.go:3011", "Container runtime network not ready", -1)
		b = kv(b, "networkReady", "NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized")
		b = kv(b, "err", "cni plugin not initialized")
	}
	_ = rng
	return append(b, '}')
}

// format is the -format flag.
var format string

var jbuf []byte

// toJournalShortPrecise rewrites one JSON record as the kubelet's klog text line inside a
// journald short-precise line: the same time (local zone), caller base name, message and keys.
func toJournalShortPrecise(line []byte) []byte {
	doc := gjson.ParseBytes(line)
	ms := doc.Get("ts").Float()
	t := time.UnixMicro(int64(ms * 1000))
	level := byte('I')
	if doc.Get("err").Exists() {
		level = 'E'
	}
	caller := doc.Get("caller").String()
	if i := strings.LastIndexByte(caller, '/'); i >= 0 {
		caller = caller[i+1:]
	}
	b := jbuf[:0]
	b = t.AppendFormat(b, "Jan 02 15:04:05.000000")
	b = append(b, " node1 kubelet[1234]: "...)
	b = append(b, level)
	b = t.AppendFormat(b, "0102 15:04:05.000000")
	b = append(b, "    1234 "...)
	b = append(b, caller...)
	b = append(b, "] "...)
	b = strconv.AppendQuote(b, doc.Get("msg").String())
	doc.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "ts", "caller", "msg", "v":
			return true
		}
		b = append(b, ' ')
		b = append(b, k.Str...)
		b = append(b, '=')
		switch {
		case k.Str == "pod" && v.IsObject():
			b = append(b, '"')
			b = append(b, v.Get("namespace").Str...)
			b = append(b, '/')
			b = append(b, v.Get("name").Str...)
			b = append(b, '"')
		case v.Type == gjson.String:
			b = strconv.AppendQuote(b, v.Str)
		default:
			b = append(b, bytes.TrimSpace([]byte(v.Raw))...)
		}
		return true
	})
	jbuf = b
	return append(line[:0], b...)
}
