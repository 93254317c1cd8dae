package diagnose

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// FuzzAnalyzeRecord: any kubelet log line, attributed against a node with a few pods and
// rendered in every format, never panics and keeps the JSON contract.
func FuzzAnalyzeRecord(f *testing.F) {
	seeds := []string{
		`{"ts":1764021300000.1,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.containers: Required value]"}`,
		`{"ts":1764021300000.1,"msg":"SyncLoop REMOVE","source":"file","pods":[{"name":"web-node1","namespace":"default"}]}`,
		`E1124 21:55:04.100165 1234 pod_workers.go:1301] "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 10s restarting failed container=app pod=web-node1_default(` + uidWeb + `)\"" pod="default/web-node1" podUID="` + uidWeb + `"`,
		`{"ts":1,"msg":"Operation for \"{podName:` + uidWeb + `}\" failed. Error: MountVolume.SetUp failed for volume \"data\" pod \"web-node1\" (UID: \"` + uidWeb + `\") : hostPath type check failed"}`,
		`{"ts":1,"msg":"Probe failed","probeType":"Liveness","containerID":"containerd://` + cidWeb + `"}`,
		"\x00\xff{{{",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	scan := &staticpod.DirScan{Dir: mdir, Exists: true, Files: []*staticpod.File{
		staticpod.DecodeFile(mdir+"/web.yaml", []byte(webYAML)),
		staticpod.DecodeFile(mdir+"/bad.yaml", []byte("kind: [")),
	}}
	f.Fuzz(func(t *testing.T, line string) {
		r, ok := kubeletlog.ParseLine([]byte(line))
		if !ok {
			r = kubeletlog.Record{Msg: line, Err: line, Raw: line}
		}
		s := &node.Snapshot{Node: node.NodeInfo{Name: "node1"}, Manifests: scan,
			KubeletLog: &node.KubeletLogState{Records: []kubeletlog.Record{r, r}, Stats: kubeletlog.Stats{Parsed: 2}},
			Runtime:    &node.RuntimeState{Reachable: true}}
		rep := Analyze(s, Options{})
		for _, format := range Formats {
			var buf bytes.Buffer
			if err := Render(&buf, rep, format, RenderOptions{Width: 60}); err != nil {
				t.Fatalf("Render %s: %v", format, err)
			}
		}
		for _, p := range rep.Pods {
			if p.Findings == nil || p.ID == "" {
				t.Fatalf("pod report without findings list or ID: %+v", p)
			}
		}
	})
}

// BenchmarkAnalyze: 50 static pods, 20000 relevant records (the node client's default cap).
func BenchmarkAnalyze(b *testing.B) {
	s := &node.Snapshot{Node: node.NodeInfo{Name: "node1"}, Manifests: &staticpod.DirScan{Dir: mdir, Exists: true},
		KubeletLog: &node.KubeletLogState{Stats: kubeletlog.Stats{Parsed: 1}}}
	const pods = 50
	for i := 0; i < pods; i++ {
		y := fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p%d\nspec:\n  hostNetwork: true\n  containers:\n  - name: app\n    image: busybox:1\n", i)
		s.Manifests.Files = append(s.Manifests.Files, staticpod.DecodeFile(fmt.Sprintf("%s/p%d.yaml", mdir, i), []byte(y)))
	}
	t0 := time.Date(2025, 11, 24, 21, 0, 0, 0, time.UTC)
	for i := 0; i < 20000; i++ {
		p := i % pods
		uid := fmt.Sprintf("%032x", p+1)
		var line string
		switch i % 4 {
		case 0:
			line = fmt.Sprintf(`{"ts":%d,"msg":"Error syncing pod, skipping","pod":{"name":"p%d-node1","namespace":"default"},"podUID":"%s","err":"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off %ds restarting failed container=app pod=p%d-node1_default(%s)\""}`, t0.Add(time.Duration(i)*time.Second).UnixMilli(), p, uid, 10*(i%30), p, uid)
		case 1:
			line = fmt.Sprintf(`{"ts":%d,"msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"p%d-node1","namespace":"default"},"event":{"ID":"%s","Type":"ContainerStarted","Data":"x"}}`, t0.Add(time.Duration(i)*time.Second).UnixMilli(), p, uid)
		case 2:
			line = fmt.Sprintf(`{"ts":%d,"msg":"Operation for \"{podName:%s}\" failed. Error: MountVolume.SetUp failed for volume \"data\" pod \"p%d-node1\" (UID: \"%s\") : hostPath type check failed: /srv/x is not a directory"}`, t0.Add(time.Duration(i)*time.Second).UnixMilli(), uid, p, uid)
		default:
			line = fmt.Sprintf(`{"ts":%d,"msg":"Eviction manager: failed to get summary stats","err":"p%d-node1_default(%s)"}`, t0.Add(time.Duration(i)*time.Second).UnixMilli(), p, uid)
		}
		r, ok := kubeletlog.ParseLine([]byte(line))
		if !ok {
			b.Fatalf("benchmark line does not parse: %s", line)
		}
		s.KubeletLog.Records = append(s.KubeletLog.Records, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if r := Analyze(s, Options{}); len(r.Pods) != pods {
			b.Fatalf("%d pods, want %d", len(r.Pods), pods)
		}
	}
}
