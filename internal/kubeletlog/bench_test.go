package kubeletlog

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"testing"
	"time"
)

// benchLog builds about size bytes of JSON kubelet log: noise with one relevant line in 10000.
func benchLog(size int) []byte {
	var b bytes.Buffer
	noise := []string{
		`{"ts":%d.1234,"caller":"eviction/eviction_manager.go:366","msg":"Eviction manager: synchronize housekeeping","v":3}`,
		`{"ts":%d.1234,"caller":"kubelet/kubelet.go:2556","msg":"SyncLoop (probe)","v":1,"probe":"readiness","status":"ready","pod":{"name":"static-01-node1","namespace":"default"},"podUID":"0123456789abcdef0123456789abcdef"}`,
		`{"ts":%d.1234,"caller":"reconciler/reconciler_common.go:245","msg":"operationExecutor.VerifyControllerAttachedVolume started for volume \"data\" (UniqueName: \"kubernetes.io/host-path/0123-data\") pod \"static-01-node1\" (UID: \"0123\") ","v":4,"pod":{"name":"static-01-node1","namespace":"default"},"podUID":"0123456789abcdef0123456789abcdef"}`,
		`{"ts":%d.1234,"caller":"manager/manager.go:1004","msg":"Adding container stats","v":4,"container":"/kubepods/burstable/pod0123456789abcdef0123456789abcdef/0123456789ab","cpuUsage":"297033098"}`,
	}
	ms := time.Date(2024, 11, 24, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := 0; b.Len() < size; i++ {
		if i%10000 == 0 {
			fmt.Fprintf(&b, `{"ts":%d.1234,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/x.yaml","err":"invalid pod: [spec.containers: Required value]"}`+"\n", ms+int64(i))
			continue
		}
		fmt.Fprintf(&b, noise[i%len(noise)]+"\n", ms+int64(i))
	}
	return b.Bytes()
}

func BenchmarkParseLineJSON(b *testing.B) {
	line := []byte(`{"ts":1732485304100.1653,"caller":"kubelet/pod_workers.go:1301","msg":"Error syncing pod, skipping","pod":{"name":"web-node1","namespace":"default"},"podUID":"0123456789abcdef0123456789abcdef","err":"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 10s restarting failed container=app pod=web-node1_default(0123456789abcdef0123456789abcdef)\""}`)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseLine(line); !ok {
			b.Fatal("not parsed")
		}
	}
}

func BenchmarkParseLineKlog(b *testing.B) {
	line := []byte(`E1124 21:55:04.100165    1234 pod_workers.go:1301] "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 10s restarting failed container=app pod=web-node1_default(0123456789abcdef0123456789abcdef)\"" pod="default/web-node1" podUID="0123456789abcdef0123456789abcdef"`)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseLine(line); !ok {
			b.Fatal("not parsed")
		}
	}
}

func BenchmarkInteresting(b *testing.B) {
	data := benchLog(8 << 20)
	lines := bytes.SplitAfter(data, []byte("\n"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			Interesting(l)
		}
	}
}

// BenchmarkScan is the sequential streaming pass with the Interesting prefilter.
func BenchmarkScan(b *testing.B) {
	data := benchLog(64 << 20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		_, err := Scan(context.Background(), bytes.NewReader(data), ScanOptions{Prefilter: Interesting}, func(*Record) error {
			n++
			return nil
		})
		if err != nil || n == 0 {
			b.Fatalf("err %v, %d records", err, n)
		}
	}
}

// denseBenchLog builds about size bytes of the log of a broken node from the real captured one
// (testdata/nodes/broken, kubelet v1.34.4 JSON): three lines in four are its error and
// correlation records (Interesting), repeated in a random order with fresh timestamps, the rest
// its other lines. bench/kubeletlog/gen -workload dense writes the bigger, richer version.
func denseBenchLog(tb testing.TB, size int) []byte {
	data, err := os.ReadFile("../../testdata/nodes/broken/var/log/kubelet.log")
	if err != nil {
		tb.Fatal(err)
	}
	var hot, cold [][]byte
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		i := bytes.IndexByte(l, ',')
		if !bytes.HasPrefix(l, []byte(`{"ts":`)) || i < 0 {
			continue
		}
		if Interesting(l) {
			hot = append(hot, l[i:])
		} else {
			cold = append(cold, l[i:])
		}
	}
	rng := rand.New(rand.NewSource(1))
	ms := time.Date(2024, 11, 24, 0, 0, 0, 0, time.UTC).UnixMilli()
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		src := cold
		if rng.Intn(4) != 0 {
			src = hot
		}
		fmt.Fprintf(&b, `{"ts":%d.%d`, ms+int64(i)*37, rng.Intn(10000))
		b.Write(src[rng.Intn(len(src))])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// BenchmarkScanDense is Scan + Interesting over the error-dense log of a broken node.
func BenchmarkScanDense(b *testing.B) {
	data := denseBenchLog(b, 64<<20)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		_, err := Scan(context.Background(), bytes.NewReader(data), ScanOptions{Prefilter: Interesting}, func(*Record) error {
			n++
			return nil
		})
		if err != nil || n == 0 {
			b.Fatalf("err %v, %d records", err, n)
		}
	}
}
