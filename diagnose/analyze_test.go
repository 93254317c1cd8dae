package diagnose

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/staticpod"
)

const mdir = "/etc/kubernetes/manifests"

var t0 = time.Date(2025, 11, 24, 21, 55, 0, 0, time.UTC)

// fixture builds a node.Snapshot the way the node client would, from real-shaped inputs.
type fixture struct {
	t *testing.T
	s *node.Snapshot
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, s: &node.Snapshot{
		Taken:      t0.Add(10 * time.Minute),
		Node:       node.NodeInfo{Name: "node1"},
		Manifests:  &staticpod.DirScan{Dir: mdir, Exists: true},
		KubeletLog: &node.KubeletLogState{Source: "kubelet.log", Stats: kubeletlog.Stats{Parsed: 1, Last: t0.Add(9 * time.Minute)}},
	}}
}

func (f *fixture) manifest(name, yaml string) *fixture {
	file := staticpod.DecodeFile(filepath.Join(mdir, name), []byte(yaml))
	file.ModTime = t0.Add(-time.Hour)
	f.s.Manifests.Files = append(f.s.Manifests.Files, file)
	return f
}

func (f *fixture) entry(name string, kind staticpod.FileKind, err string) *fixture {
	f.s.Manifests.Files = append(f.s.Manifests.Files, &staticpod.File{Path: filepath.Join(mdir, name), Name: name, Kind: kind, Err: err})
	return f
}

// log adds kubelet log lines (JSON or klog text); %T in a line is replaced by a ts at t0+sec.
func (f *fixture) log(sec float64, lines ...string) *fixture {
	for _, l := range lines {
		ts := t0.Add(time.Duration(sec * float64(time.Second)))
		l = strings.ReplaceAll(l, "%T", fmt.Sprintf("%.3f", float64(ts.UnixMilli())))
		l = strings.ReplaceAll(l, "%K", ts.Format("0102 15:04:05.000000"))
		r, ok := kubeletlog.ParseLine([]byte(l))
		if !ok {
			f.t.Fatalf("fixture line does not parse: %s", l)
		}
		r.Line = int64(len(f.s.KubeletLog.Records) + 1)
		r.Source = "kubelet.log"
		f.s.KubeletLog.Records = append(f.s.KubeletLog.Records, r)
	}
	return f
}

func (f *fixture) runtime(networkReady bool) *fixture {
	f.s.Runtime = &node.RuntimeState{Endpoint: "unix:///run/containerd/containerd.sock", Reachable: true,
		Status: &cri.RuntimeStatus{RuntimeName: "containerd", RuntimeVersion: "1.6.20", Conditions: []cri.Condition{
			{Type: "RuntimeReady", Status: true}, {Type: "NetworkReady", Status: networkReady, Reason: "NetworkPluginNotReady", Message: "Network plugin returns error: cni plugin not initialized"}}}}
	return f
}

func (f *fixture) sandbox(ns, kname, uid string, hostNet bool) *fixture {
	f.s.Runtime.Sandboxes = append(f.s.Runtime.Sandboxes, cri.Sandbox{ID: "sb-" + uid, Name: kname, Namespace: ns, UID: uid,
		State: "SANDBOX_READY", CreatedAt: t0, HostNetwork: hostNet, Annotations: map[string]string{"kubernetes.io/config.source": "file"}})
	return f
}

// container adds a CRI container of the sandbox of uid; started is seconds after t0.
func (f *fixture) container(uid, name, id string, state cri.ContainerState, restarts int, exit int32, reason string, started float64) *fixture {
	c := cri.Container{ID: id, SandboxID: "sb-" + uid, Name: name, PodUID: uid, Attempt: uint32(restarts), RestartCount: restarts,
		State: state, StartedAt: t0.Add(time.Duration(started * float64(time.Second))), ExitCode: exit, Reason: reason}
	for _, sb := range f.s.Runtime.Sandboxes {
		if sb.UID == uid {
			c.PodName, c.PodNamespace = sb.Name, sb.Namespace
		}
	}
	if state == "CONTAINER_EXITED" {
		c.FinishedAt = c.StartedAt.Add(time.Second)
	}
	f.s.Runtime.Containers = append(f.s.Runtime.Containers, c)
	return f
}

func (f *fixture) tail(ns, kname, uid, container string, instance int, cur, prev []string) *fixture {
	mk := func(ss []string) (out []podlog.Line) {
		for _, s := range ss {
			stream, msg, _ := strings.Cut(s, " ")
			out = append(out, podlog.Line{TS: t0, Stream: stream, Msg: msg})
		}
		return out
	}
	f.s.LogTails = append(f.s.LogTails, node.ContainerLogTail{Pod: ns + "/" + kname, UID: uid, Container: container, Instance: instance, Current: mk(cur), Previous: mk(prev)})
	return f
}

// outline is a report reduced to what the rules decide: per scope the finding kinds in order
// with flags (/history, /cause=X, /info), plus pod states.
func outline(r *Report) map[string][]string {
	out := map[string][]string{}
	add := func(key string, fs []Finding) {
		for _, f := range fs {
			s := string(f.Kind)
			if f.History {
				s += "/history"
			}
			if f.Cause != "" {
				s += "/cause=" + string(f.Cause)
			}
			if !f.History && f.Cause == "" && f.Severity == SeverityInfo {
				s += "/info"
			}
			out[key] = append(out[key], s)
		}
	}
	add("node", r.Node.Findings)
	for _, p := range r.Pods {
		out["state:"+p.ID] = []string{string(p.State)}
		add("pod:"+p.ID, p.Findings)
	}
	for _, f := range r.Files {
		add("file:"+filepath.Base(f.Path), f.Findings)
	}
	return out
}

const (
	uidWeb  = "2a1b3c4d5e6f708192a3b4c5d6e7f809"
	uidEtcd = "1e0f3c9a7b2d4e5f8a9b0c1d2e3f4a5b"
	cidWeb  = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	cidWeb0 = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"
)

const webYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
spec:
  hostNetwork: true
  containers:
  - name: app
    image: spdoc.local/busybox:1
    imagePullPolicy: Never
    resources: {requests: {cpu: 10m, memory: 16Mi}}
`

const netYAML = `apiVersion: v1
kind: Pod
metadata:
  name: net
spec:
  containers:
  - name: net
    image: spdoc.local/busybox:1
    resources: {requests: {cpu: 10m, memory: 16Mi}}
`

const invalidYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
spec:
  hostNetwork: true
`

func TestAnalyzeRules(t *testing.T) {
	cases := []struct {
		name  string
		build func(f *fixture)
		want  map[string][]string
		// problems is the expected exit decision.
		problems bool
		check    func(t *testing.T, r *Report)
	}{
		{
			name: "healthy pod has no findings",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5)
			},
			want: map[string][]string{"state:default-web": {"Running"}},
		},
		{
			name: "completed init container does not keep the pod pending",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "init", cidWeb0, "CONTAINER_EXITED", 0, 0, "Completed", 2).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5)
			},
			want: map[string][]string{"state:default-web": {"Running"}},
		},
		{
			name: "invalid manifest explains the removal of the running pod",
			build: func(f *fixture) {
				f.manifest("web.yaml", invalidYAML).
					log(1, `{"ts":%T,"caller":"kubelet/kubelet.go:2504","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"web-node1","namespace":"default"},"event":{"ID":"`+uidWeb+`","Type":"ContainerStarted","Data":"`+cidWeb+`"}}`).
					log(60, `{"ts":%T,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.containers: Required value]"}`,
						`{"ts":%T,"caller":"kubelet/kubelet.go:2478","msg":"SyncLoop REMOVE","v":0,"source":"file","pods":[{"name":"web-node1","namespace":"default"}]}`)
			},
			want: map[string][]string{
				"pod:default-web":   {"ManifestInvalid", "PodRemoved/cause=ManifestInvalid"},
				"state:default-web": {"Invalid"},
			},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Pods[0].Findings[0]
				if len(f.Evidence) != 2 || !strings.Contains(f.Evidence[0].Source, "web.yaml") || !strings.Contains(f.Evidence[1].Line, "invalid pod") {
					t.Errorf("ManifestInvalid evidence = %+v, want the validation issue and the kubelet's record", f.Evidence)
				}
			},
		},
		{
			name: "kubelet still rejects a manifest spdoc's validator accepts: trust the kubelet",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).
					log(500, `{"ts":%T,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.someNewRule: Invalid value]"}`).
					log(520, `{"ts":%T,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.someNewRule: Invalid value]"}`)
				f.s.KubeletLog.Stats.Last = t0.Add(525 * time.Second)
			},
			want:     map[string][]string{"pod:default-web": {"ManifestInvalid"}, "state:default-web": {"Invalid"}},
			problems: true,
		},
		{
			name: "kubelet went quiet about a manifest it rejected long ago: history",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).
					log(10, `{"ts":%T,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.containers: Required value]"}`).
					log(40, `{"ts":%T,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.containers: Required value]"}`)
			},
			want: map[string][]string{"pod:default-web": {"ManifestInvalid/history"}, "state:default-web": {"Unknown"}},
		},
		{
			name: "klog text record attributed by path base name in --root mode",
			build: func(f *fixture) {
				f.manifest("web.yaml", invalidYAML).
					log(60, `E%K 1234 file.go:187] "Could not process manifest file" path="/mnt/other-root/etc/kubernetes/manifests/web.yaml" err="invalid pod: [spec.containers: Required value]"`)
			},
			want:     map[string][]string{"pod:default-web": {"ManifestInvalid"}, "state:default-web": {"Invalid"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				if n := len(r.Pods[0].Findings[0].Evidence); n != 2 {
					t.Errorf("klog record not attributed: %d evidence entries, want 2", n)
				}
			},
		},
		{
			name: "unparseable file, half-written file, directory and unreadable entry",
			build: func(f *fixture) {
				f.manifest("bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\n namespace: x\n").
					manifest("web.yaml", webYAML).
					entry("old", staticpod.KindDir, "").
					entry("loop.yaml", staticpod.KindUnreadable, "too many levels of symbolic links").
					log(30, `{"ts":%T,"caller":"config/file.go:187","msg":"Unable to process watch event","err":"can't process config file \"/etc/kubernetes/manifests/web.yaml\": /etc/kubernetes/manifests/web.yaml: couldn't parse as pod(Object 'Kind' is missing in 'null'), please check config file"}`)
			},
			want: map[string][]string{
				"file:bad.yaml":     {"ManifestUnparseable"},
				"file:web.yaml":     {"TransientParseError"},
				"file:old":          {"DirectoryIgnored/info"},
				"file:loop.yaml":    {"FileUnreadable"},
				"state:default-web": {"Unknown"},
			},
			problems: true,
		},
		{
			name: "missing manifest directory",
			build: func(f *fixture) {
				f.s.Manifests = &staticpod.DirScan{Dir: mdir, Err: "path does not exist"}
				f.log(0, `{"ts":%T,"caller":"config/file.go:95","msg":"Unable to read config path","path":"/etc/kubernetes/manifests","err":"path does not exist, ignoring"}`)
			},
			// no static pod anywhere (manifests, runtime, log): a worker without static pods
			want:     map[string][]string{"node": {"ManifestDirMissing/info"}},
			problems: false,
		},
		{
			name: "missing manifest directory where static pods ran",
			build: func(f *fixture) {
				f.s.Manifests = &staticpod.DirScan{Dir: mdir, Err: "path does not exist"}
				f.log(0, `{"ts":%T,"caller":"kubelet/kubelet.go:2433","msg":"SyncLoop ADD","v":0,"source":"file","pods":["default/web-node1"]}`,
					`{"ts":%T,"caller":"config/file.go:95","msg":"Unable to read config path","path":"/etc/kubernetes/manifests","err":"path does not exist, ignoring"}`)
			},
			want:     map[string][]string{"node": {"ManifestDirMissing"}},
			problems: true,
		},
		{
			name: "duplicate pod via a backup file",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).manifest("web.yaml.bak", webYAML)
			},
			want: map[string][]string{
				"pod:default-web":   {"DuplicatePod"},
				"file:web.yaml":     {"DuplicatePod"},
				"file:web.yaml.bak": {"DuplicatePod", "BackupFileLoaded"},
				"state:default-web": {"Unknown"},
			},
			problems: true,
		},
		{
			name: "sandbox failure that is not the network",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).
					log(5, `{"ts":%T,"caller":"kuberuntime/kuberuntime_sandbox.go:70","msg":"Failed to create sandbox for pod","pod":{"name":"web-node1","namespace":"default"},"err":"rpc error: code = Unknown desc = failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: can't get final child's PID from pipe: EOF"}`)
			},
			want:     map[string][]string{"pod:default-web": {"SandboxFailed"}, "state:default-web": {"Pending"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				if !strings.Contains(r.Pods[0].Findings[0].Title, "can't get final child's PID") {
					t.Errorf("title %q lacks the runtime's reason", r.Pods[0].Findings[0].Title)
				}
			},
		},
		{
			name: "CNI not ready: pinned on the non-hostNetwork pod only",
			build: func(f *fixture) {
				f.manifest("net.yaml", netYAML).manifest("web.yaml", webYAML).runtime(false).
					sandbox("default", "web-node1", uidWeb, true).container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					log(3, `{"ts":%T,"caller":"kubelet/kubelet.go:3117","msg":"Container runtime network not ready","networkReady":"NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}`,
						`{"ts":%T,"caller":"kubelet/pod_workers.go:1301","msg":"Error syncing pod, skipping","pod":{"name":"net-node1","namespace":"default"},"podUID":"5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b","err":"failed to \"CreatePodSandbox\" for \"net-node1_default(5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b)\" with CreatePodSandboxError: \"Failed to create sandbox for pod \\\"net-node1_default(5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b)\\\": rpc error: code = Unknown desc = failed to setup network for sandbox \\\"9f8e\\\": cni plugin not initialized\""}`)
			},
			want: map[string][]string{
				"node":              {"NetworkNotReady"},
				"pod:default-net":   {"NetworkNotReady"},
				"state:default-net": {"Pending"},
				"state:default-web": {"Running"},
			},
			problems: true,
		},
		{
			name: "CNI not ready but every static pod uses hostNetwork: context only",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(false).
					sandbox("default", "web-node1", uidWeb, true).container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5)
			},
			want: map[string][]string{"node": {"NetworkNotReady/info"}, "state:default-web": {"Running"}},
		},
		{
			name: "image not present with pull policy Never",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					log(3, errSync(`"failed to \"StartContainer\" for \"app\" with ErrImageNeverPull: \"Container image \\\"spdoc.local/busybox:1\\\" is not present with pull policy of Never\""`))
			},
			want:     map[string][]string{"pod:default-web": {"ImageNotPresent"}, "state:default-web": {"Pending"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Pods[0].Findings[0]
				if f.Container != "app" || !strings.Contains(f.Title, "spdoc.local/busybox:1") {
					t.Errorf("finding %q container %q: want the image and container app", f.Title, f.Container)
				}
			},
		},
		{
			name: "image pull failure",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					log(3, `{"ts":%T,"caller":"kuberuntime/kuberuntime_image.go:43","msg":"Failed to pull image","image":"registry.example/app:9","err":"rpc error: code = Unknown desc = failed to resolve reference \"registry.example/app:9\": dial tcp: lookup registry.example: no such host","pod":{"name":"web-node1","namespace":"default"},"podUID":"`+uidWeb+`"}`).
					log(4, errSync(`"failed to \"StartContainer\" for \"app\" with ImagePullBackOff: \"Back-off pulling image \\\"registry.example/app:9\\\"\""`))
			},
			want:     map[string][]string{"pod:default-web": {"ImagePullFailed"}, "state:default-web": {"Pending"}},
			problems: true,
		},
		{
			name: "crash loop from the runtime with exit code and the failed instance's stderr",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_EXITED", 3, 2, "Error", 100).
					tail("default", "web-node1", uidWeb, "app", 3, []string{"stdout starting", "stderr fatal: no config"}, []string{"stderr older"}).
					log(101, errSync(`"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 40s restarting failed container=app pod=web-node1_default(`+uidWeb+`)\""`))
			},
			want:     map[string][]string{"pod:default-web": {"CrashLoop"}, "state:default-web": {"CrashLoop"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Pods[0].Findings[0]
				if f.ExitCode == nil || *f.ExitCode != 2 {
					t.Errorf("exit code = %v, want 2", f.ExitCode)
				}
				last := f.Evidence[len(f.Evidence)-1]
				if last.Line != "stderr: fatal: no config" || !strings.HasPrefix(last.Source, "pod-log:") {
					t.Errorf("last evidence = %+v, want the failed instance's stderr", last)
				}
				if !strings.Contains(f.Title, "exit code 2") || r.Pods[0].Restarts != 3 {
					t.Errorf("title %q restarts %d", f.Title, r.Pods[0].Restarts)
				}
			},
		},
		{
			name: "containers killed with their pod are not a crash loop",
			build: func(f *fixture) {
				f.manifest("web.yaml", invalidYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_EXITED", 0, 137, "Error", 100)
				f.s.Runtime.Sandboxes[0].State = "SANDBOX_NOTREADY"
			},
			want:     map[string][]string{"pod:default-web": {"ManifestInvalid"}, "state:default-web": {"Invalid"}},
			problems: true,
		},
		{
			name: "unknown field is a manifest warning; a running restarted container is history",
			build: func(f *fixture) {
				f.manifest("web.yaml", strings.Replace(webYAML, "  hostNetwork: true\n", "  hostNetwork: true\n  restartPolcy: Always\n", 1)).
					runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 2, 0, "", 60)
			},
			want:     map[string][]string{"pod:default-web": {"ManifestWarning", "ContainerRestarted/history"}, "state:default-web": {"Running"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				if f := r.Pods[0].Findings[0]; !strings.Contains(f.Title, "restartPolcy") {
					t.Errorf("warning %q does not name the unknown field", f.Title)
				}
			},
		},
		{
			name: "container the runtime cannot start",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					log(5, errSync(`"failed to \"StartContainer\" for \"app\" with RunContainerError: \"failed to create containerd task: exec: \\\"/bin/app\\\": stat /bin/app: no such file or directory\""`))
			},
			want:     map[string][]string{"pod:default-web": {"ContainerFailed"}, "state:default-web": {"Pending"}},
			problems: true,
		},
		{
			name: "OOMKilled",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_EXITED", 1, 137, "OOMKilled", 100)
			},
			want:     map[string][]string{"pod:default-web": {"OOMKilled"}, "state:default-web": {"CrashLoop"}},
			problems: true,
		},
		{
			name: "past crash loop followed by a healthy run is history",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb0, "CONTAINER_EXITED", 1, 1, "Error", 20).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 2, 0, "", 120).
					tail("default", "web-node1", uidWeb, "app", 2, []string{"stdout serving"}, []string{"stderr boom"}).
					log(30, errSync(`"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 10s restarting failed container=app pod=web-node1_default(`+uidWeb+`)\""`))
			},
			want:     map[string][]string{"pod:default-web": {"CrashLoop/history"}, "state:default-web": {"Running"}},
			problems: false,
			check: func(t *testing.T, r *Report) {
				f := r.Pods[0].Findings[0]
				if f.Severity != SeverityInfo {
					t.Errorf("history severity = %s, want info", f.Severity)
				}
				if last := f.Evidence[len(f.Evidence)-1]; last.Line != "stderr: boom" {
					t.Errorf("evidence of the failed (previous) instance missing: %+v", f.Evidence)
				}
			},
		},
		{
			name: "crash loop caught while the container runs again is still current",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb0, "CONTAINER_EXITED", 4, 1, "Error", 560).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 5, 0, "", 595).
					log(580, errSync(`"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 1m20s restarting failed container=app pod=web-node1_default(`+uidWeb+`)\""`))
			},
			want:     map[string][]string{"pod:default-web": {"CrashLoop"}, "state:default-web": {"CrashLoop"}},
			problems: true,
		},
		{
			name: "volume failure attributed by the UID inside the message",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					log(4, `{"ts":%T,"caller":"nestedpendingoperations/nestedpendingoperations.go:348","msg":"Operation for \"{volumeName:kubernetes.io/host-path/`+uidWeb+`-data podName:`+uidWeb+` nodeName:}\" failed. No retries permitted until 2025-11-24 21:55:05.5 +0000 UTC m=+5.6 (durationBeforeRetry 500ms). Error: MountVolume.SetUp failed for volume \"data\" (UniqueName: \"kubernetes.io/host-path/`+uidWeb+`-data\") pod \"web-node1\" (UID: \"`+uidWeb+`\") : hostPath type check failed: /srv/missing is not a directory"}`)
			},
			want:     map[string][]string{"pod:default-web": {"VolumeMountFailed"}, "state:default-web": {"Pending"}},
			problems: true,
		},
		{
			name: "probe failure attributed by container ID only",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					log(200, `{"ts":%T,"caller":"prober/prober.go:107","msg":"Probe failed","v":1,"probeType":"Liveness","containerID":"containerd://`+cidWeb+`","probeResult":"failure","output":"HTTP probe failed with statuscode: 500"}`)
			},
			want:     map[string][]string{"pod:default-web": {"ProbeFailed"}, "state:default-web": {"Running"}},
			problems: true,
		},
		{
			name: "runtime down: manifest findings still show",
			build: func(f *fixture) {
				f.manifest("web.yaml", invalidYAML)
				f.s.Runtime = &node.RuntimeState{Endpoint: "unix:///run/containerd/containerd.sock", Error: "dial unix /run/containerd/containerd.sock: connect: connection refused"}
				f.log(5, `{"ts":%T,"caller":"kubelet/kubelet.go:2898","msg":"Skipping pod synchronization","err":"container runtime is down"}`)
			},
			want: map[string][]string{
				"node":              {"RuntimeUnreachable"},
				"pod:default-web":   {"ManifestInvalid"},
				"state:default-web": {"Invalid"},
			},
			problems: true,
			check: func(t *testing.T, r *Report) {
				if n := len(r.Node.Findings[0].Evidence); n != 2 {
					t.Errorf("RuntimeUnreachable evidence: %d entries, want the CRI error and the kubelet record", n)
				}
			},
		},
		{
			name: "runtime was down but answers now: the outage is history",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 1)
				f.log(5, `{"ts":%T,"caller":"kubelet/kubelet.go:2898","msg":"Skipping pod synchronization","err":"container runtime is down"}`)
			},
			want: map[string][]string{"node": {"RuntimeUnreachable/history"}, "state:default-web": {"Running"}},
		},
		{
			name:     "kubelet not running",
			build:    func(f *fixture) { f.s.Kubelet = &node.KubeletState{Checked: true} },
			want:     map[string][]string{"node": {"KubeletNotRunning"}},
			problems: true,
		},
		{
			name: "kubelet not running explains a pod that never started",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true)
				f.s.Kubelet = &node.KubeletState{Checked: true}
			},
			want: map[string][]string{"node": {"KubeletNotRunning"}, "pod:default-web": {"PodNotStarted/cause=KubeletNotRunning"},
				"state:default-web": {"NotStarted"}},
			problems: true,
		},
		{
			name: "--root: a non-hostNetwork pod the log saw start is not pinned with the node's CNI problem",
			build: func(f *fixture) {
				f.manifest("net.yaml", netYAML).
					log(3, `{"ts":%T,"caller":"kubelet/kubelet.go:3117","msg":"Container runtime network not ready","networkReady":"NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"}`).
					log(30, `{"ts":%T,"caller":"kubelet/kubelet.go:2504","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"net-node1","namespace":"default"},"event":{"ID":"5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b","Type":"ContainerStarted","Data":"x"}}`)
			},
			want: map[string][]string{"node": {"NetworkNotReady/info"}, "state:default-net": {"Running"}},
		},
		{
			name:     "stale kubelet log without a process check",
			build:    func(f *fixture) { f.s.KubeletLog.Stats.Last = t0.Add(-3 * time.Hour) },
			want:     map[string][]string{"node": {"KubeletNotRunning"}},
			problems: true,
		},
		{
			name: "unreadable source is named",
			build: func(f *fixture) {
				f.s.Errors = append(f.s.Errors, node.SourceError{Source: "kubelet-config", Error: "open /var/lib/kubelet/config.yaml: permission denied"})
			},
			want:     map[string][]string{"node": {"SourceError"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				if f := r.Node.Findings[0]; !strings.HasPrefix(f.Title, "could not read kubelet-config: open") || f.Container != "" {
					t.Errorf("title %q container %q: want the source named in the title only", f.Title, f.Container)
				}
			},
		},
		{
			name:  "truncated kubelet log is context",
			build: func(f *fixture) { f.s.KubeletLog.Truncated = true },
			want:  map[string][]string{"node": {"KubeletLogTruncated/info"}},
		},
		{
			name: "node-level findings say what they are about in Subject",
			build: func(f *fixture) {
				f.s.KubeletLog.Truncated = true
				f.s.Errors = append(f.s.Errors, node.SourceError{Source: "pod-logs", Error: "open /var/log/pods: permission denied"})
			},
			want:     map[string][]string{"node": {"SourceError", "KubeletLogTruncated/info"}},
			problems: true, // the unreadable pod logs; the truncation alone is context
			check: func(t *testing.T, r *Report) {
				// each says what it is about in its own fields, not in Container or Detail
				for _, f := range r.Node.Findings {
					if f.Container != "" {
						t.Errorf("%s: container %q on a node-level finding", f.Kind, f.Container)
					}
					switch f.Kind {
					case KindSourceError:
						if f.Subject != "pod-logs" || !strings.HasPrefix(f.Title, "could not read pod-logs: ") {
							t.Errorf("source error about %q, title %q", f.Subject, f.Title)
						}
					case KindKubeletLogTruncated:
						if f.Subject != "kubelet-log" || !strings.HasPrefix(f.Title, "kubelet log truncated") {
							t.Errorf("truncation about %q, title %q", f.Subject, f.Title)
						}
					}
				}
			},
		},
		{
			name: "kubelet log missing",
			build: func(f *fixture) {
				f.s.KubeletLog = &node.KubeletLogState{Source: "/var/log/kubelet.log", Error: "open /var/log/kubelet.log: no such file or directory"}
			},
			want:     map[string][]string{"node": {"KubeletLogMissing"}},
			problems: true,
		},
		{
			name: "mirror pod failure is context, not a problem",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					log(6, `{"ts":%T,"caller":"kubelet/kubelet.go:1937","msg":"Failed creating a mirror pod","pod":{"name":"web-node1","namespace":"default"},"err":"Post \"https://10.0.0.1:6443/api/v1/namespaces/default/pods\": dial tcp 10.0.0.1:6443: connect: connection refused"}`)
				f.s.KubeletLog.Stats.Last = t0.Add(7 * time.Second) // the log ends with it: still failing
			},
			want: map[string][]string{"pod:default-web": {"MirrorPodFailed/info"}, "state:default-web": {"Running"}},
		},
		{
			name: "valid manifest, nothing in the runtime, nothing in the log",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true)
			},
			want:     map[string][]string{"pod:default-web": {"PodNotStarted"}, "state:default-web": {"NotStarted"}},
			problems: true,
		},
		{
			name: "manifest removed: the pod is gone",
			build: func(f *fixture) {
				f.log(100, `{"ts":%T,"caller":"kubelet/kubelet.go:2478","msg":"SyncLoop REMOVE","v":0,"source":"file","pods":[{"name":"old-node1","namespace":"default"}]}`,
					`{"ts":%T,"caller":"kubelet/kubelet.go:2689","msg":"Killing unwanted pod","podName":"old-node1"}`)
			},
			want: map[string][]string{"pod:default-old": {"PodRemoved/info"}, "state:default-old": {"Gone"}},
			check: func(t *testing.T, r *Report) {
				if n := len(r.Pods[0].Findings[0].Evidence); n != 2 {
					t.Errorf("PodRemoved evidence: %d, want REMOVE and Killing unwanted pod", n)
				}
			},
		},
		{
			name: "node noise naming the pod is never pinned on it",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
					container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5).
					log(50, `{"ts":%T,"caller":"kubelet/kubelet.go:1650","msg":"Failed to get system container stats","containerName":"/kubepods/pod`+uidWeb+`","err":"failed to get cgroup stats for \"/kubepods/pod`+uidWeb+`\": unknown container"}`,
						`{"ts":%T,"caller":"eviction/eviction_manager.go:292","msg":"Eviction manager: failed to get summary stats","err":"failed to get pod stats for web-node1_default(`+uidWeb+`): OOMKilled CrashLoopBackOff"}`)
			},
			want: map[string][]string{"state:default-web": {"Running"}},
		},
		{
			name: "crash loop in --root mode: state inferred from the log, UID only in name_ns(uid)",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).
					tail("default", "web-node1", uidWeb, "app", 4, []string{"stderr cannot bind :80"}, nil).
					log(5, `{"ts":%T,"caller":"kubelet/kubelet.go:2504","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"web-node1","namespace":"default"},"event":{"ID":"`+uidWeb+`","Type":"ContainerStarted","Data":"`+cidWeb+`"}}`,
						`{"ts":%T,"caller":"pleg/generic.go:248","msg":"Generic (PLEG): container finished","v":2,"podID":"`+uidWeb+`","containerID":"`+cidWeb+`","exitCode":7}`).
					log(8, `{"ts":%T,"caller":"kubelet/pod_workers.go:1301","msg":"Error syncing pod, skipping","err":"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 20s restarting failed container=app pod=web-node1_default(`+uidWeb+`)\""}`)
			},
			want:     map[string][]string{"pod:default-web": {"CrashLoop"}, "state:default-web": {"CrashLoop"}},
			problems: true,
			check: func(t *testing.T, r *Report) {
				f := r.Pods[0].Findings[0]
				if f.ExitCode == nil || *f.ExitCode != 7 || f.Evidence[len(f.Evidence)-1].Line != "stderr: cannot bind :80" {
					t.Errorf("exit code %v evidence %+v: want 7 and the container's last line", f.ExitCode, f.Evidence)
				}
				if !strings.Contains(f.Title, "4 restarts") {
					t.Errorf("title %q lacks the restart count from the log files", f.Title)
				}
			},
		},
		{
			name: "--root mode: a start after the last error makes it history",
			build: func(f *fixture) {
				f.manifest("web.yaml", webYAML).
					log(3, errSync(`"failed to \"StartContainer\" for \"app\" with ErrImageNeverPull: \"Container image \\\"spdoc.local/busybox:1\\\" is not present with pull policy of Never\""`)).
					log(30, `{"ts":%T,"caller":"kubelet/kubelet.go:2504","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"web-node1","namespace":"default"},"event":{"ID":"`+uidWeb+`","Type":"ContainerStarted","Data":"`+cidWeb+`"}}`)
			},
			want: map[string][]string{"pod:default-web": {"ImageNotPresent/history"}, "state:default-web": {"Running"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.build(f)
			r := Analyze(f.s, Options{})
			got := outline(r)
			want := tc.want
			if !reflect.DeepEqual(got, want) {
				t.Errorf("findings:\n got %s\nwant %s", fmtOutline(got), fmtOutline(want))
			}
			if p := r.Problems(); p != tc.problems {
				t.Errorf("Problems() = %v, want %v", p, tc.problems)
			}
			for _, p := range r.Pods {
				for _, fd := range append(p.Findings, r.Node.Findings...) {
					if fd.Title == "" || fd.Detail == "" || fd.Hint == "" {
						t.Errorf("%s finding %s lacks title, detail or hint: %+v", p.ID, fd.Kind, fd)
					}
				}
			}
			if tc.check != nil && !t.Failed() {
				tc.check(t, r)
			}
		})
	}
}

func fmtOutline(m map[string][]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %s: %v", k, m[k])
	}
	return b.String()
}

func TestCollapseEvidence(t *testing.T) {
	var recs []*kubeletlog.Record
	for i := 0; i < 12; i++ {
		recs = append(recs, &kubeletlog.Record{TS: t0.Add(time.Duration(i) * time.Second), Msg: "Error syncing pod, skipping",
			Err: fmt.Sprintf("back-off %ds restarting failed container=app", 10<<i%300), Line: int64(i + 1)})
	}
	for i := 0; i < 7; i++ {
		recs = append(recs, &kubeletlog.Record{TS: t0.Add(time.Minute + time.Duration(i)*time.Second), Msg: fmt.Sprintf("distinct message %c", 'a'+i)})
	}
	ev, omitted := collapse(recs, 5, nil)
	if len(ev) != 5 || omitted != 3 {
		t.Fatalf("collapse kept %d, omitted %d; want 5 kept, 3 omitted", len(ev), omitted)
	}
	if ev[0].Count != 12 || !ev[0].TS.Equal(t0) || !ev[0].Last.Equal(t0.Add(11*time.Second)) {
		t.Errorf("repeats not collapsed: %+v", ev[0])
	}
	if ev[4].Line != "distinct message g" {
		t.Errorf("the last distinct line must be kept, got %q", ev[4].Line)
	}
}
