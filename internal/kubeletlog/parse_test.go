package kubeletlog

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// ref is a reference time in the same year as the test lines (klog headers have no year).
var ref = time.Date(2024, 11, 25, 0, 0, 0, 0, time.UTC)

func klogTS(month time.Month, day, h, m, s, us int) time.Time {
	return time.Date(2024, month, day, h, m, s, us*1000, time.UTC)
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Record // Raw is not compared; Fields only when set
	}{
		{
			name: "json manifest error",
			line: `{"ts":1732485304100.1653,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.containers: Required value]"}`,
			want: Record{Format: FormatJSON, TS: time.UnixMilli(1732485304100).Add(165300 * time.Nanosecond), Level: "E", Caller: "config/file.go:187",
				Msg: "Could not process manifest file", Path: "/etc/kubernetes/manifests/web.yaml", Err: "invalid pod: [spec.containers: Required value]"},
		},
		{
			name: "json yaml error",
			line: `{"ts":1732485304000,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/bad.yaml","err":"/etc/kubernetes/manifests/bad.yaml: couldn't parse as pod(yaml: line 4: mapping values are not allowed in this context), please check config file"}`,
			want: Record{Format: FormatJSON, TS: time.UnixMilli(1732485304000), Level: "E", Caller: "config/file.go:187", Msg: "Could not process manifest file",
				Path: "/etc/kubernetes/manifests/bad.yaml", Err: "/etc/kubernetes/manifests/bad.yaml: couldn't parse as pod(yaml: line 4: mapping values are not allowed in this context), please check config file"},
		},
		{
			name: "json watch event",
			line: `{"ts":1732485304000.5,"caller":"config/file_linux.go:106","msg":"Unable to process watch event","err":"can't process config file \"/etc/kubernetes/manifests/web.yaml\": invalid pod"}`,
			want: Record{Format: FormatJSON, TS: time.UnixMilli(1732485304000).Add(500 * time.Microsecond), Level: "E", Caller: "config/file_linux.go:106",
				Msg: "Unable to process watch event", Err: `can't process config file "/etc/kubernetes/manifests/web.yaml": invalid pod`},
		},
		{
			name: "json config path missing",
			line: `{"ts":1732485304000,"caller":"config/file.go:79","msg":"Unable to read config path","path":"/etc/kubernetes/manifests","err":"path does not exist, ignoring"}`,
			want: Record{Format: FormatJSON, TS: time.UnixMilli(1732485304000), Level: "E", Caller: "config/file.go:79", Msg: "Unable to read config path",
				Path: "/etc/kubernetes/manifests", Err: "path does not exist, ignoring"},
		},
		{
			name: "json info with pod object and container",
			line: `{"ts":1732485304000,"caller":"kuberuntime/kuberuntime_container.go:809","msg":"Killing container with a grace period","v":0,"pod":{"name":"web-node1","namespace":"default"},"podUID":"0123456789abcdef0123456789abcdef","containerName":"app","containerID":"containerd://4f1e2d","gracePeriod":30}`,
			want: Record{Format: FormatJSON, TS: time.UnixMilli(1732485304000), Level: "I", Caller: "kuberuntime/kuberuntime_container.go:809",
				Msg: "Killing container with a grace period", PodName: "web-node1", PodNamespace: "default", PodUID: "0123456789abcdef0123456789abcdef",
				ContainerName: "app", ContainerID: "4f1e2d", Fields: map[string]string{"gracePeriod": "30"}},
		},
		{
			name: "json probe failed at v=0",
			line: `{"ts":1732485304000,"caller":"prober/prober.go:107","msg":"Probe failed","v":1,"probeType":"Liveness","pod":{"name":"web-node1","namespace":"default"},"podUID":"ab","containerName":"app","probeResult":"failure","output":"HTTP probe failed with statuscode: 500"}`,
			want: Record{Format: FormatJSON, TS: time.UnixMilli(1732485304000), Level: "I", V: 1, Caller: "prober/prober.go:107", Msg: "Probe failed",
				PodName: "web-node1", PodNamespace: "default", PodUID: "ab", ContainerName: "app",
				Fields: map[string]string{"probeType": "Liveness", "probeResult": "failure", "output": "HTTP probe failed with statuscode: 500"}},
		},
		{
			name: "json image never pull",
			line: `{"ts":1732485304000,"caller":"kuberuntime/kuberuntime_manager.go:1341","msg":"Error syncing pod, skipping","pod":{"name":"img-node1","namespace":"default"},"podUID":"cd","err":"failed to \"StartContainer\" for \"app\" with ErrImageNeverPull: \"Container image \\\"nope:1\\\" is not present with pull policy of Never\""}`,
			want: Record{Format: FormatJSON, TS: time.UnixMilli(1732485304000), Level: "E", Caller: "kuberuntime/kuberuntime_manager.go:1341", Msg: "Error syncing pod, skipping",
				PodName: "img-node1", PodNamespace: "default", PodUID: "cd",
				Err: `failed to "StartContainer" for "app" with ErrImageNeverPull: "Container image \"nope:1\" is not present with pull policy of Never"`},
		},
		{
			name: "json containerID object",
			line: `{"ts":1,"msg":"x","containerID":{"Type":"containerd","ID":"abc"}}`,
			want: Record{Format: FormatJSON, TS: time.UnixMilli(1), Level: "I", Msg: "x", ContainerID: "abc"},
		},
		{
			name: "klog manifest error",
			line: `E1124 21:55:04.100165    1234 file.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/web.yaml" err="invalid pod: [spec.containers: Required value]"`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 100165), Level: "E", PID: 1234, Caller: "file.go:187",
				Msg: "Could not process manifest file", Path: "/etc/kubernetes/manifests/web.yaml", Err: "invalid pod: [spec.containers: Required value]"},
		},
		{
			name: "klog crashloop with escaped quotes",
			line: `E1124 21:55:04.100165    1234 pod_workers.go:1301] "Error syncing pod, skipping" err="failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 10s restarting failed container=app pod=web-node1_default(0123456789abcdef0123456789abcdef)\"" pod="default/web-node1" podUID="0123456789abcdef0123456789abcdef"`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 100165), Level: "E", PID: 1234, Caller: "pod_workers.go:1301",
				Msg: "Error syncing pod, skipping", PodName: "web-node1", PodNamespace: "default", PodUID: "0123456789abcdef0123456789abcdef",
				Err: `failed to "StartContainer" for "app" with CrashLoopBackOff: "back-off 10s restarting failed container=app pod=web-node1_default(0123456789abcdef0123456789abcdef)"`},
		},
		{
			name: "klog probe failed",
			line: `I1124 21:55:04.000001 987 prober.go:107] "Probe failed" probeType="Liveness" pod="kube-system/etcd-node1" podUID="ef" containerName="etcd" probeResult="failure" output="Get \"http://127.0.0.1:2381/health\": dial tcp 127.0.0.1:2381: connect: connection refused"`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 1), Level: "I", PID: 987, Caller: "prober.go:107", Msg: "Probe failed",
				PodName: "etcd-node1", PodNamespace: "kube-system", PodUID: "ef", ContainerName: "etcd",
				Fields: map[string]string{"probeType": "Liveness", "probeResult": "failure", "output": `Get "http://127.0.0.1:2381/health": dial tcp 127.0.0.1:2381: connect: connection refused`}},
		},
		{
			name: "klog sandbox failed",
			line: `E1124 21:55:04.100165 1234 kuberuntime_sandbox.go:72] "Failed to create sandbox for pod" err="rpc error: code = Unknown desc = failed to setup network for sandbox \"abc\": cni plugin not initialized" pod="default/net-node1"`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 100165), Level: "E", PID: 1234, Caller: "kuberuntime_sandbox.go:72",
				Msg: "Failed to create sandbox for pod", PodName: "net-node1", PodNamespace: "default",
				Err: `rpc error: code = Unknown desc = failed to setup network for sandbox "abc": cni plugin not initialized`},
		},
		{
			name: "klog network not ready",
			line: `E1124 21:55:04.100165 1234 kubelet.go:3011] "Container runtime network not ready" networkReady="NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 100165), Level: "E", PID: 1234, Caller: "kubelet.go:3011", Msg: "Container runtime network not ready",
				Fields: map[string]string{"networkReady": "NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}},
		},
		{
			name: "klog volume mount with bare and bracket values",
			line: `E1124 21:55:04.100165 1234 pod_workers.go:1301] "Unable to attach or mount volumes" unmountedVolumes=[data] unattachedVolumes=[] pod="default/vol-node1" err="MountVolume.SetUp failed for volume \"data\" : hostPath type check failed: /nope is not a directory" attempt=3`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 100165), Level: "E", PID: 1234, Caller: "pod_workers.go:1301", Msg: "Unable to attach or mount volumes",
				PodName: "vol-node1", PodNamespace: "default", Err: `MountVolume.SetUp failed for volume "data" : hostPath type check failed: /nope is not a directory`,
				Fields: map[string]string{"unmountedVolumes": "[data]", "unattachedVolumes": "[]", "attempt": "3"}},
		},
		{
			name: "klog pull failed with containerID prefix",
			line: `W1124 21:55:04.5 1 kuberuntime_image.go:55] "Failed to pull image" image="registry.invalid/app:1" err="rpc error: code = Unknown" containerID="containerd://deadbeef" pods=["default/a-node1" "default/b-node1"]`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 500000), Level: "W", PID: 1, Caller: "kuberuntime_image.go:55", Msg: "Failed to pull image",
				Image: "registry.invalid/app:1", Err: "rpc error: code = Unknown", ContainerID: "deadbeef",
				Fields: map[string]string{"pods": `["default/a-node1" "default/b-node1"]`}},
		},
		{
			name: "klog multi-line value on one line",
			line: `I1124 21:55:04.100165 1234 kubelet.go:1] "Pod spec" spec=<` + "\n\tline one\n\tline two\n >" + ` pod="default/x"`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 100165), Level: "I", PID: 1234, Caller: "kubelet.go:1", Msg: "Pod spec",
				PodName: "x", PodNamespace: "default", Fields: map[string]string{"spec": "line one\nline two"}},
		},
		{
			name: "klog unstructured",
			line: `E1124 21:55:04.100165    1234 file.go:1] some old unstructured text: with colons`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 100165), Level: "E", PID: 1234, Caller: "file.go:1", Msg: "some old unstructured text: with colons"},
		},
		{
			name: "syslog prefix",
			line: `Nov 24 21:55:04 host kubelet[1234]: E1124 21:55:04.100165    1234 file.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/x.yaml" err="bad"`,
			want: Record{Format: FormatKlog, TS: klogTS(11, 24, 21, 55, 4, 100165), Level: "E", PID: 1234, Caller: "file.go:187",
				Msg: "Could not process manifest file", Path: "/etc/kubernetes/manifests/x.yaml", Err: "bad"},
		},
		{
			name: "syslog iso prefix with json",
			line: `2024-11-24T21:55:04.100165+00:00 node1 kubelet[1234]: {"ts":1732485304000,"msg":"SyncLoop ADD","source":"file","pods":["default/web-node1"]}`,
			want: Record{Format: FormatJSON, TS: time.UnixMilli(1732485304000), Level: "I", Msg: "SyncLoop ADD", PID: 1234,
				Fields: map[string]string{"source": "file", "pods": `["default/web-node1"]`}},
		},
		{
			name: "journald klog",
			line: `{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1732485304100165","_PID":"1234","SYSLOG_IDENTIFIER":"kubelet","MESSAGE":"E1124 21:55:04.100165    1234 file.go:187] \"Could not process manifest file\" path=\"/etc/kubernetes/manifests/x.yaml\" err=\"invalid pod: [spec.containers: Required value]\""}`,
			want: Record{Format: FormatJournal, TS: klogTS(11, 24, 21, 55, 4, 100165), Level: "E", PID: 1234, Caller: "file.go:187",
				Msg: "Could not process manifest file", Path: "/etc/kubernetes/manifests/x.yaml", Err: "invalid pod: [spec.containers: Required value]"},
		},
		{
			name: "journald byte array message",
			line: `{"__REALTIME_TIMESTAMP":"1732485304100165","_PID":"7","PRIORITY":"3","MESSAGE":[98,97,100,255,33]}`,
			want: Record{Format: FormatText, TS: time.UnixMicro(1732485304100165), Level: "E", PID: 7, Msg: "bad\xff!"},
		},
		{
			name: "journald unformatted message",
			line: `{"__REALTIME_TIMESTAMP":"1732485304100165","_PID":"7","PRIORITY":"6","MESSAGE":"Flag --pod-manifest-path has been deprecated"}`,
			want: Record{Format: FormatText, TS: time.UnixMicro(1732485304100165), Level: "I", PID: 7, Msg: "Flag --pod-manifest-path has been deprecated"},
		},
		{
			name: "journald json inside",
			line: `{"__REALTIME_TIMESTAMP":"1732485304100165","MESSAGE":"{\"ts\":1732485304000,\"msg\":\"CreatePodSandbox for pod failed\",\"err\":\"boom\"}"}`,
			want: Record{Format: FormatJournal, TS: time.UnixMilli(1732485304000), Level: "E", Msg: "CreatePodSandbox for pod failed", Err: "boom"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseLineRef([]byte(tt.line+"\n"), ref)
			if !ok {
				t.Fatalf("ParseLine(%q) not recognised", tt.line)
			}
			if got.Raw == "" {
				t.Errorf("Raw is empty")
			}
			got.Raw = ""
			if got.Fields != nil && tt.want.Fields == nil {
				got.Fields = nil
			}
			if tt.want.Fields != nil {
				for k, v := range tt.want.Fields {
					if got.Fields[k] != v {
						t.Errorf("Fields[%q] = %q, want %q", k, got.Fields[k], v)
					}
				}
				got.Fields, tt.want.Fields = nil, nil
			}
			if !got.TS.Equal(tt.want.TS) {
				t.Errorf("TS = %v, want %v", got.TS, tt.want.TS)
			}
			got.TS, tt.want.TS = time.Time{}, time.Time{}
			if tt.want.Shape == "" { // shapes have their own table (TestParseShapes)
				got.Shape, got.Host, got.Unit, got.Node = "", "", "", ""
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseLine mismatch\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseLineRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"   ",
		"hello world",
		"\x00\x01\x02\xff\xfe garbage",
		`{"foo":"bar"}`,
		`[1,2,3]`,
		`E1124 21:55:04.100165`,
		`E1324 21:55:04.100165 1 file.go:1] month 13`,
		`E1124 21:55:04.100165 1 no closing bracket`,
	} {
		if r, ok := ParseLine([]byte(line)); ok {
			t.Errorf("ParseLine(%q) = %+v, want not recognised", line, r)
		}
	}
}

func TestRawCapped(t *testing.T) {
	line := `{"ts":1,"msg":"big","err":"` + strings.Repeat("é", 100<<10) + `"}`
	r, ok := ParseLine([]byte(line))
	if !ok {
		t.Fatal("not recognised")
	}
	if len(r.Raw) > MaxRaw || len(r.Raw) < MaxRaw-4 {
		t.Errorf("len(Raw) = %d, want about %d", len(r.Raw), MaxRaw)
	}
	if !strings.HasSuffix(r.Raw, "é") {
		t.Errorf("Raw cut inside a rune: %q", r.Raw[len(r.Raw)-4:])
	}
	if len(r.Err) != 200<<10 {
		t.Errorf("len(Err) = %d, want the whole value", len(r.Err))
	}
}

func TestKlogYear(t *testing.T) {
	dec := `E1231 23:59:58.000000 1 f.go:1] "late"`
	jan := `E0101 00:00:02.000000 1 f.go:1] "early"`
	tests := []struct {
		name string
		p    Parser
		line string
		want int
	}{
		{"december read in january belongs to last year", Parser{Ref: time.Date(2025, 1, 1, 0, 5, 0, 0, time.UTC)}, dec, 2024},
		{"january read in january", Parser{Ref: time.Date(2025, 1, 1, 0, 5, 0, 0, time.UTC)}, jan, 2025},
		{"december read in december", Parser{Ref: time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC)}, dec, 2024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Location = time.UTC
			r, ok := tt.p.Parse([]byte(tt.line))
			if !ok {
				t.Fatal("not recognised")
			}
			if r.TS.Year() != tt.want {
				t.Errorf("year = %d, want %d", r.TS.Year(), tt.want)
			}
		})
	}
}

func TestKlogYearRollover(t *testing.T) {
	p := Parser{Year: 2024, Location: time.UTC}
	lines := []struct {
		line string
		want time.Time
	}{
		{`I1231 23:59:58.000000 1 f.go:1] "a"`, time.Date(2024, 12, 31, 23, 59, 58, 0, time.UTC)},
		{`I0101 00:00:01.000000 1 f.go:1] "b"`, time.Date(2025, 1, 1, 0, 0, 1, 0, time.UTC)},
		{`I1231 23:59:59.000000 1 f.go:1] "late writer"`, time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC)},
		{`I0101 00:00:02.000000 1 f.go:1] "c"`, time.Date(2025, 1, 1, 0, 0, 2, 0, time.UTC)},
		{`I0201 00:00:00.000000 1 f.go:1] "d"`, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, l := range lines {
		r, ok := p.Parse([]byte(l.line))
		if !ok {
			t.Fatalf("%q not recognised", l.line)
		}
		if !r.TS.Equal(l.want) {
			t.Errorf("%q: TS = %v, want %v", l.line, r.TS, l.want)
		}
	}
}
