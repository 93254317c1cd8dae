package diagnose

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
)

// nodeKubeletNotRunning: the live check found no kubelet process (caught between two restarts).
var nodeKubeletNotRunning = node.KubeletState{Checked: true}

// scanned replaces the fixture's kubelet log with text read the way the node layer reads it
// (kubeletlog.Scan with the Interesting prefilter), so Stats carry the kubelet facts.
func (f *fixture) scanned(text string) *fixture {
	f.t.Helper()
	var recs []kubeletlog.Record
	st, err := kubeletlog.Scan(context.Background(), strings.NewReader(text), kubeletlog.ScanOptions{
		Source: "kubelet.log", Prefilter: kubeletlog.Interesting, RefTime: t0.Add(time.Hour), Location: time.UTC,
	}, func(r *kubeletlog.Record) error {
		recs = append(recs, *r)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.s.KubeletLog.Records, f.s.KubeletLog.Stats = recs, st
	return f
}

const pauseErr = `rpc error: code = Unknown desc = failed to get sandbox image \"registry.k8s.io/pause:3.10\": failed to pull image \"registry.k8s.io/pause:3.10\": failed to pull and unpack image \"registry.k8s.io/pause:3.10\": failed to resolve reference \"registry.k8s.io/pause:3.10\": failed to do request: Head \"https://registry.k8s.io/v2/pause/manifests/3.10\": dial tcp 34.96.108.209:443: connect: connection refused`

func TestKubeletKinds(t *testing.T) {
	cases := []struct {
		name     string
		build    func(f *fixture)
		want     map[string][]string
		problems bool
		check    func(t *testing.T, r *Report)
	}{
		{
			name: "sandbox image unreachable: one node root cause, the blocked pod folded, not the runtime",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).
					log(1, `{"ts":%T,"caller":"cri-client/remote_runtime.go:193","msg":"RunPodSandbox from runtime service failed","err":"`+pauseErr+`"}`,
						`{"ts":%T,"caller":"kuberuntime/kuberuntime_sandbox.go:70","msg":"Failed to create sandbox for pod","pod":{"name":"web-node1","namespace":"default"},"err":"`+pauseErr+`"}`,
						`{"ts":%T,"caller":"kuberuntime/kuberuntime_manager.go:1166","msg":"CreatePodSandbox for pod failed","pod":{"name":"web-node1","namespace":"default"},"err":"`+pauseErr+`"}`)
			},
			want: map[string][]string{
				"node":              {"SandboxImageUnavailable"},
				"pod:default-web":   {"SandboxFailed/cause=SandboxImageUnavailable", "PodNotStarted/cause=SandboxImageUnavailable"},
				"state:default-web": {"NotStarted"},
			},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Node.Findings[0]
				if !strings.Contains(f.Title, "registry.k8s.io/pause:3.10") || !strings.Contains(f.Title, "connection refused") || !strings.Contains(f.Hint, "sandbox_image") {
					t.Errorf("title %q hint %q: want the image, the registry's answer and containerd's sandbox_image", f.Title, f.Hint)
				}
			},
		},
		{
			name: "1.20 sentence: CreatePodSandbox with the infra image behind dockershim",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).
					scanned(`E1124 21:55:01.000000    1234 kuberuntime_sandbox.go:70] CreatePodSandbox for pod "web-node1_default(` + uidWeb + `)" failed: rpc error: code = Unknown desc = failed pulling image "k8s.gcr.io/pause:3.2": Error response from daemon: Get https://k8s.gcr.io/v2/: dial tcp 142.250.1.82:443: i/o timeout` + "\n")
			},
			want: map[string][]string{
				"node":              {"SandboxImageUnavailable"},
				"pod:default-web":   {"SandboxFailed/cause=SandboxImageUnavailable"},
				"state:default-web": {"Unknown"},
			},
			problems: true,
		},
		{
			name: "registry refused for an app image is an image pull, not the runtime",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					log(1, `{"ts":%T,"caller":"kuberuntime/kuberuntime_image.go:55","msg":"Failed to pull image","image":"spdoc.local/busybox:1","err":"rpc error: code = Unknown desc = failed to pull and unpack image \"spdoc.local/busybox:1\": failed to resolve reference: dial tcp 10.0.0.9:443: connect: connection refused"}`,
						errSync(`"failed to \"StartContainer\" for \"app\" with ErrImagePull: \"failed to pull and unpack image \\\"spdoc.local/busybox:1\\\": dial tcp 10.0.0.9:443: connect: connection refused\""`))
			},
			want: map[string][]string{
				"pod:default-web":   {"ImagePullFailed"},
				"state:default-web": {"Pending"},
			},
			problems: true,
		},
		{
			name: "a Namespace in the manifest directory is not a Pod",
			build: func(f *fixture) {
				f.manifest("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n").
					log(1, `{"ts":%T,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/ns.yaml","err":"/etc/kubernetes/manifests/ns.yaml: couldn't parse as pod(invalid pod: &core.Namespace{TypeMeta:v1.TypeMeta{Kind:\"\", APIVersion:\"\"}}), please check config file"}`)
			},
			want:     map[string][]string{"file:ns.yaml": {"NotAPod"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Files[0].Findings[0]
				if !strings.Contains(f.Title, "Namespace") || !strings.Contains(f.Title, "move it out") || strings.Contains(f.Hint, "fix the YAML") {
					t.Errorf("title %q hint %q", f.Title, f.Hint)
				}
			},
		},
		{
			name: "a Deployment: no kind registered (manifest scan only, no log)",
			build: func(f *fixture) {
				f.manifest("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n")
			},
			want:     map[string][]string{"file:deploy.yaml": {"NotAPod"}},
			problems: true,
		},
		{
			name: "a kustomization",
			build: func(f *fixture) {
				f.manifest("kustomization.yaml", "resources:\n- etcd.yaml\n")
			},
			want:     map[string][]string{"file:kustomization.yaml": {"NotAPod"}},
			problems: true,
		},
		{
			name: "broken YAML stays ManifestUnparseable",
			build: func(f *fixture) {
				f.manifest("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n")
			},
			want:     map[string][]string{"file:bad.yaml": {"ManifestUnparseable"}},
			problems: true,
		},
		{
			name: "kubelet crash loop: systemd restart counter and the last fatal line say why",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).scanned(strings.Join([]string{
					`Nov 24 21:55:01 node1 kubelet[100]: I1124 21:55:01.000000     100 server.go:530] "Kubelet version" kubeletVersion="v1.37.2"`,
					`Nov 24 21:55:01 node1 kubelet[100]: E1124 21:55:01.100000     100 run.go:72] "command failed" err="failed to validate kubelet configuration, error: kubelet is configured to not run on a host using cgroup v1. cgroup v1 support is unsupported and will be removed in a future release, path: &TypeMeta{Kind:,APIVersion:,}"`,
					`Nov 24 21:55:01 node1 systemd[1]: kubelet.service: Main process exited, code=exited, status=1/FAILURE`,
					`Nov 24 21:55:01 node1 systemd[1]: kubelet.service: Failed with result 'exit-code'.`,
					`Nov 24 21:55:11 node1 systemd[1]: kubelet.service: Scheduled restart job, restart counter is at 42.`,
					`Nov 24 21:55:11 node1 kubelet[200]: I1124 21:55:11.000000     200 server.go:530] "Kubelet version" kubeletVersion="v1.37.2"`,
					`Nov 24 21:55:11 node1 kubelet[200]: E1124 21:55:11.100000     200 run.go:72] "command failed" err="failed to validate kubelet configuration, error: kubelet is configured to not run on a host using cgroup v1. cgroup v1 support is unsupported and will be removed in a future release, path: &TypeMeta{Kind:,APIVersion:,}"`,
				}, "\n") + "\n")
				f.s.Kubelet = &nodeKubeletNotRunning
				f.s.Node.Name = "node1"
			},
			want: map[string][]string{
				"node":              {"KubeletCrashLoop"},
				"state:default-web": {"Unknown"},
			},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Node.Findings[0]
				if !strings.Contains(f.Title, "cgroup v1") || !strings.Contains(f.Hint, "failCgroupV1: false") {
					t.Errorf("title %q hint %q: want the cgroup v1 refusal and its way out", f.Title, f.Hint)
				}
				if r.Node.Log == nil || r.Node.Log.KubeletVersion != "v1.37.2" || r.Node.Log.Shape != "short" {
					t.Errorf("log report %+v", r.Node.Log)
				}
			},
		},
		{
			name: "kubelet not running: the 1.20 fatal line says swap",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).scanned(strings.Join([]string{
					`I1124 21:55:01.000000    1234 server.go:416] Version: v1.20.15`,
					`F1124 21:55:01.500000    1234 server.go:269] failed to run Kubelet: running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false. /proc/swaps contained: [Filename Type Size Used Priority /swap.img file 2097148 0 -2]`,
				}, "\n") + "\n")
			},
			want: map[string][]string{
				"node":              {"KubeletNotRunning"},
				"state:default-web": {"Unknown"},
			},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Node.Findings[0]
				if !strings.Contains(f.Title, "swap") || !strings.Contains(f.Hint, "swapoff") {
					t.Errorf("title %q hint %q", f.Title, f.Hint)
				}
			},
		},
		{
			name: "a fatal line followed by a start is history, not a kubelet down",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					scanned(strings.Join([]string{
						`F1124 21:55:01.500000    1234 server.go:269] failed to run Kubelet: running with swap on is not supported`,
						`I1124 21:55:30.000000    1300 server.go:416] Version: v1.20.15`,
					}, "\n") + "\n")
			},
			want: map[string][]string{"state:default-web": {"Running"}},
		},
		{
			name: "mirror pod refused by NodeRestriction says so; already exists is benign",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					log(1, `{"ts":%T,"caller":"kubelet/kubelet.go:1934","msg":"Failed creating a mirror pod","pod":{"name":"web-node1","namespace":"default"},"err":"pods \"web-node1\" is forbidden: node \"node1\" can only create pods with spec.nodeName set to itself"}`)
			},
			want: map[string][]string{"pod:default-web": {"MirrorPodFailed/history"}, "state:default-web": {"Running"}},
			check: func(t *testing.T, r *Report) {
				if f := r.Pods[0].Findings[0]; !strings.Contains(f.Title, "NodeRestriction") {
					t.Errorf("title %q", f.Title)
				}
			},
		},
		{
			name: "unexplained kubelet errors: about a static pod on the pod, the rest on the node",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					log(50, `{"ts":%T,"caller":"kubelet/kubelet.go:1","msg":"Something new went wrong","pod":{"name":"web-node1","namespace":"default"},"err":"the flux capacitor is empty"}`,
						`{"ts":%T,"caller":"kubelet/kubelet.go:2","msg":"Failed to ensure lease exists, will retry","err":"Get \"https://10.0.0.1:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1\": dial tcp 10.0.0.1:6443: connect: connection refused"}`,
						`{"ts":%T,"caller":"kubelet/kubelet.go:2","msg":"Failed to ensure lease exists, will retry","err":"Get \"https://10.0.0.1:6443/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1\": dial tcp 10.0.0.1:6443: connect: connection refused"}`,
						`{"ts":%T,"caller":"kubelet/pod_workers.go:1301","msg":"Error syncing pod, skipping","pod":{"name":"other-pod","namespace":"apps"},"err":"failed to \"StartContainer\" for \"x\" with CrashLoopBackOff: \"back-off\""}`)
			},
			want: map[string][]string{
				"node":              {"KubeletUnexplained/info"},
				"pod:default-web":   {"KubeletUnexplained"},
				"state:default-web": {"Running"},
			},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Node.Findings[0]
				if !strings.HasPrefix(f.Title, "3 kubelet error/warning records (2 distinct messages)") || !strings.Contains(f.Detail, "1 are about other pods") {
					t.Errorf("title %q detail %q", f.Title, f.Detail)
				}
			},
		},
		{
			name: "a new instance waiting for the old pod's volumes is a known kubelet behaviour",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).
					log(1, `{"ts":%T,"caller":"kubelet/pod_workers.go:1301","msg":"Error syncing pod, skipping","pod":{"name":"web-node1","namespace":"default"},"podUID":"`+uidWeb+`","err":"unmounted volumes=[data], unattached volumes=[], failed to process volumes=[]: context deadline exceeded"}`,
						`{"ts":%T,"caller":"kubelet/kubelet.go:2","msg":"SyncLoop ADD","source":"file","pods":["default/web-node1"],"podUID":"0000aaaa0000aaaa0000aaaa0000aaaa"}`)
				f.s.KubeletLog.Records[1].Fields["pods"] = `["default/web-node1"]`
				f.s.KubeletLog.Records = append(f.s.KubeletLog.Records, kubeletlog.Record{Msg: "Killing unwanted pod", PodName: "web-node1", PodNamespace: "default", PodUID: "0000aaaa0000aaaa0000aaaa0000aaaa", TS: t0, Level: "I"})
			},
			want: map[string][]string{
				"pod:default-web":   {"KubeletKnownIssue", "VolumeMountFailed/cause=KubeletKnownIssue", "PodRemoved/history"},
				"state:default-web": {"Unknown"},
			},
			problems: true,
		},
		{
			name: "talosctl -n a,b: only the diagnosed node's records count",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					scanned(strings.Join([]string{
						`172.20.0.2: {"ts":1764021301000,"caller":"kubelet/kubelet.go:2433","msg":"SyncLoop ADD","source":"file","pods":["default/web-node1"]}`,
						`172.20.0.3: {"ts":1764021301100,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.containers: Required value]"}`,
						`172.20.0.3: {"ts":1764021301200,"caller":"kubelet/kubelet.go:2433","msg":"SyncLoop ADD","source":"file","pods":["default/web-node2"]}`,
						`172.20.0.2: {"ts":1764021302000,"caller":"kubelet/kubelet.go:2504","msg":"SyncLoop (PLEG): event for pod","pod":{"name":"web-node1","namespace":"default"},"event":{"ID":"` + uidWeb + `","Type":"ContainerStarted","Data":"` + cidWeb + `"}}`,
					}, "\n") + "\n")
			},
			want: map[string][]string{"state:default-web": {"Running"}},
			check: func(t *testing.T, r *Report) {
				if l := r.Node.Log; l == nil || l.Node != "172.20.0.2" || len(l.Nodes) != 2 || l.Shape != "talosctl" {
					t.Errorf("log report %+v", l)
				}
			},
		},
		{
			name: "a kubelet log with nothing relevant is info",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					scanned(`I1124 21:55:01.000000    1234 kubelet.go:2493] "SyncLoop (housekeeping)"` + "\n")
			},
			want: map[string][]string{"node": {"KubeletLogMissing/info"}, "state:default-web": {"Running"}},
		},
		{
			name: "a file that is no kubelet log names its first line",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					scanned("<html><body>502 Bad Gateway</body></html>\nsecond\n")
			},
			want:     map[string][]string{"node": {"KubeletLogMissing"}, "state:default-web": {"Running"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Node.Findings[0]
				if len(f.Evidence) != 2 || !strings.Contains(f.Evidence[1].Line, "502 Bad Gateway") || !strings.Contains(f.Title, "no kubelet record") {
					t.Errorf("title %q evidence %+v", f.Title, f.Evidence)
				}
			},
		},
		{
			name: "kubelet 1.27.1 volume reconstruction",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).scanned(strings.Join([]string{
					`I1124 21:55:01.000000    1234 server.go:530] "Kubelet version" kubeletVersion="v1.27.1"`,
					`E1124 21:55:02.000000    1234 kubelet.go:1945] "Unable to attach or mount volumes for pod; skipping pod" err="unmounted volumes=[data], unattached volumes=[data]: timed out waiting for the condition" pod="default/web-node1"`,
				}, "\n") + "\n")
			},
			want: map[string][]string{
				"node":              {"KubeletKnownIssue"},
				"pod:default-web":   {"VolumeMountFailed"},
				"state:default-web": {"Pending"},
			},
			problems: true,
			check: func(t *testing.T, r *Report) {
				if f := r.Node.Findings[0]; !strings.Contains(f.Title, "1.27.0/1.27.1") || !strings.Contains(f.Hint, "1.27.2") {
					t.Errorf("title %q hint %q", f.Title, f.Hint)
				}
			},
		},
		{
			name: "cgroup driver mismatch from runc's cgroupsPath error",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).
					log(1, `{"ts":%T,"caller":"kuberuntime/kuberuntime_sandbox.go:70","msg":"Failed to create sandbox for pod","pod":{"name":"web-node1","namespace":"default"},"err":"rpc error: code = Unknown desc = failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"/kubepods/besteffort/pod`+uidWeb+`/abc\" instead: unknown"}`)
			},
			want: map[string][]string{
				"node":              {"KubeletKnownIssue"},
				"pod:default-web":   {"SandboxFailed"},
				"state:default-web": {"Pending"},
			},
			problems: true,
		},
		{
			name: "1.20-style unstructured probe and decision lines reach the probe rule",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).scanned(strings.Join([]string{
					`I1124 21:55:01.000000    1234 prober.go:117] Liveness probe for "web-node1_default(` + uidWeb + `):app" failed (failure): HTTP probe failed with statuscode: 500`,
					`I1124 21:55:01.100000    1234 kuberuntime_manager.go:656] Container "app" ({"containerd" "` + cidWeb + `"}) of pod web-node1_default(` + uidWeb + `): Container app failed liveness probe, will be restarted`,
				}, "\n") + "\n")
			},
			want: map[string][]string{
				"pod:default-web":   {"ProbeFailed"},
				"state:default-web": {"Unknown"},
			},
			problems: true,
			check: func(t *testing.T, r *Report) {
				if f := r.Pods[0].Findings[0]; f.Container != "app" || len(f.Evidence) != 2 {
					t.Errorf("container %q, %d evidence lines: want app and both lines", f.Container, len(f.Evidence))
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.build(f)
			r := Analyze(f.s, Options{})
			got := outline(r)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("findings:\n got %s\nwant %s", fmtOutline(got), fmtOutline(tc.want))
			}
			if p := r.Problems(); p != tc.problems {
				t.Errorf("Problems() = %v, want %v", p, tc.problems)
			}
			for _, fd := range r.Node.Findings {
				if fd.Title == "" || fd.Detail == "" || fd.Hint == "" {
					t.Errorf("node finding %s lacks title, detail or hint: %+v", fd.Kind, fd)
				}
			}
			if tc.check != nil && !t.Failed() {
				tc.check(t, r)
			}
		})
	}
}

// TestVocabularyKinds checks every message table entry's example line against diagnosis: the
// kind the table says it is.
func TestVocabularyKinds(t *testing.T) {
	for _, ph := range append(append([]*kubeletlog.Phrase(nil), kubeletlog.Vocabulary...), kubeletlog.Structured...) {
		if ph.Kind == "" {
			continue
		}
		t.Run(ph.Msg+"/"+ph.From, func(t *testing.T) {
			r, ok := kubeletlog.ParseLineRef([]byte(ph.Example), t0)
			if !ok {
				t.Fatalf("example does not parse: %s", ph.Example)
			}
			got := ""
			if c, ok := classify(&r); ok {
				got = string(c.kind)
			}
			if ph.Kind == string(KindKubeletNotRunning) {
				if !kubeletlog.IsFatal(&r) {
					t.Errorf("%q is not a fatal line", ph.Example)
				}
				return
			}
			if got != ph.Kind {
				t.Errorf("classified %q, want %q: %s", got, ph.Kind, ph.Example)
			}
		})
	}
}

func TestRuntimeAwareHints(t *testing.T) {
	for _, tc := range []struct{ endpoint, unit, sandboxKey string }{
		{"unix:///run/containerd/containerd.sock", "containerd", "sandbox_image"},
		{"unix:///var/run/crio/crio.sock", "crio", "pause_image"},
		{"unix:///var/run/cri-dockerd.sock", "cri-docker", "--pod-infra-container-image"},
	} {
		f := &Finding{Kind: KindRuntimeUnreachable}
		describe(f, &findingBuilder{f: *f}, textCtx{endpoint: tc.endpoint})
		if !strings.Contains(f.Hint, "journalctl -u "+tc.unit) {
			t.Errorf("%s: RuntimeUnreachable hint %q", tc.endpoint, f.Hint)
		}
		s := &Finding{Kind: KindSandboxImageUnavailable}
		describe(s, &findingBuilder{f: *s}, textCtx{endpoint: tc.endpoint})
		if !strings.Contains(s.Hint, tc.sandboxKey) {
			t.Errorf("%s: SandboxImageUnavailable hint %q", tc.endpoint, s.Hint)
		}
	}
}
