package diagnose

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
)

func init() {
	moreCauseCases["a host port another static pod binds explains the pod's crash loop"] = []causeCase{
		{"its crash loop", fbuild(KindHostPortConflict, ""), fbuild(KindCrashLoop, "app"), nil, true},
		{"its failing container", fbuild(KindHostPortConflict, ""), fbuild(KindContainerFailed, "app"), nil, true},
		{"a past crash loop", fbuild(KindHostPortConflict, ""), fbuild(KindCrashLoop, "app", past), nil, false},
		{"both pods run: explains nothing", fbuild(KindHostPortConflict, "", severity(SeverityInfo)), fbuild(KindCrashLoop, "app"), nil, false},
		{"an image pull is not about ports", fbuild(KindHostPortConflict, ""), fbuild(KindImagePullFailed, "app"), nil, false},
	}
}

func hostPortPod(name string, port string) string {
	return `apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
spec:
  hostNetwork: true
  containers:
  - name: app
    image: registry.example/app:1
    ports:
    - containerPort: ` + port + `
`
}

// TestHostPortConflict: two host-network static pods declaring one port are a conflict on the pod
// that loses it: the later one by the kubelet's order (validate's), unless the runtime shows that
// one running and the other not; when both run it is context. It explains the loser's crash loop.
func TestHostPortConflict(t *testing.T) {
	const uidA, uidB = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	cidA, cidB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	for _, tc := range []struct {
		name  string
		build func(f *fixture)
		want  map[string][]string
	}{
		{"manifests only: the later pod", func(f *fixture) {
			f.manifest("a.yaml", hostPortPod("a", "8080")).manifest("b.yaml", hostPortPod("b", "8080"))
		}, map[string][]string{"pod:default-b": {"HostPortConflict"}}},
		{"other ports: nothing", func(f *fixture) {
			f.manifest("a.yaml", hostPortPod("a", "8080")).manifest("b.yaml", hostPortPod("b", "8081"))
		}, map[string][]string{}},
		{"the later pod runs, the earlier crash-loops on the port: the earlier one", func(f *fixture) {
			f.manifest("a.yaml", hostPortPod("a", "8080")).manifest("b.yaml", hostPortPod("b", "8080")).runtime(true).
				sandbox("default", "a-node1", uidA, true).sandbox("default", "b-node1", uidB, true).
				container(uidA, "app", cidA, "CONTAINER_EXITED", 4, 1, "Error", 50).
				container(uidB, "app", cidB, "CONTAINER_RUNNING", 0, 0, "", 5).
				log(55, `{"ts":%T,"caller":"kubelet/pod_workers.go:1301","msg":"Error syncing pod, skipping","err":"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 1m20s restarting failed container=app pod=a-node1_default(`+uidA+`)\"","pod":{"name":"a-node1","namespace":"default"},"podUID":"`+uidA+`"}`)
		}, map[string][]string{"pod:default-a": {"HostPortConflict", "CrashLoop/cause=HostPortConflict"}, "state:default-b": {"Running"}}},
		{"both run: context", func(f *fixture) {
			f.manifest("a.yaml", hostPortPod("a", "8080")).manifest("b.yaml", hostPortPod("b", "8080")).runtime(true).
				sandbox("default", "a-node1", uidA, true).sandbox("default", "b-node1", uidB, true).
				container(uidA, "app", cidA, "CONTAINER_RUNNING", 0, 0, "", 5).
				container(uidB, "app", cidB, "CONTAINER_RUNNING", 0, 0, "", 5)
		}, map[string][]string{"pod:default-b": {"HostPortConflict/info"}, "state:default-a": {"Running"}, "state:default-b": {"Running"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.s.KubeletLog.Stats.Last = t0.Add(time.Minute)
			tc.build(f)
			r := Analyze(f.s, Options{})
			got := outline(r)
			delete(got, "node")
			for k := range got {
				if strings.HasPrefix(k, "state:") && tc.want[k] == nil {
					delete(got, k)
				}
			}
			for k, v := range got {
				var keep []string
				for _, s := range v {
					if !strings.HasPrefix(s, "ManifestWarning") {
						keep = append(keep, s)
					}
				}
				if got[k] = keep; len(keep) == 0 {
					delete(got, k)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("findings:\n got %s\nwant %s", fmtOutline(got), fmtOutline(tc.want))
			}
			for _, p := range r.Pods {
				for _, fd := range p.Findings {
					if fd.Kind == KindHostPortConflict && (fd.Subject != "TCP/8080" || !strings.Contains(fd.Title, "TCP/8080")) {
						t.Errorf("subject %q title %q, want TCP/8080", fd.Subject, fd.Title)
					}
				}
			}
		})
	}
}

// TestValidateAndDiagnoseAgree runs spdoc validate's check (staticpod.CheckPaths) and diagnose on
// the same manifest directories — every testdata one, and one with a problem of each type validate
// knows — and checks that each problem validate reports is a diagnose finding of the kind and
// severity in the table. Where they differ on purpose, the table says why.
func TestValidateAndDiagnoseAgree(t *testing.T) {
	type want struct {
		kind     Kind
		severity Severity
		onFile   bool // a finding of the file, not of its pod
	}
	// by validate's problem Type (or Type/severity when the severity decides)
	agree := map[string]want{
		"Parse error/error":    {KindManifestUnparseable, SeverityError, true},
		"Not a manifest/error": {KindManifestUnparseable, SeverityError, true},
		// validate names what the file is; diagnose only needs to know it runs nothing.
		"Agent config/error":     {KindManifestUnparseable, SeverityError, true},
		"Invalid quantity/error": {KindManifestUnparseable, SeverityError, true},
		// A workload (it has a pod template) was meant to run: error; another object is
		// misplaced: warning (staticpod.NotAPodSeverity, both sides).
		"Not a Pod/error":     {KindNotAPod, SeverityError, true},
		"Not a Pod/warning":   {KindNotAPod, SeverityWarning, true},
		"Backup file/warning": {KindBackupFileLoaded, SeverityWarning, true},
		// validate has no info level: a subdirectory is a warning there (a manifest in it
		// never runs), info in diagnose, where a subdirectory of a live node's manifest dir is
		// the usual place to park manifests that should not run.
		"Directory/warning": {KindDirectoryIgnored, SeverityInfo, true},
		// validate, which sees no node, reports the worst case (one definition is ignored and
		// the pod is replaced whenever the other is read); diagnose starts at warning and
		// escalates to error when the node shows the effect (causes.go: a removal or crash loop
		// the duplicate explains).
		"Duplicate pod/error":     {KindDuplicatePod, SeverityWarning, false},
		"Unknown field/warning":   {KindManifestWarning, SeverityWarning, false},
		"Duplicate field/warning": {KindManifestWarning, SeverityWarning, false},
		// Advice: validate's warning (it has no info level; --strict fails on it), diagnose's
		// info — a healthy node's report does not warn about style.
		"Not recommended/warning":  {KindManifestWarning, SeverityInfo, false},
		"Host port conflict/error": {KindHostPortConflict, SeverityError, false},
	}
	dirs := []string{
		"../testdata/nodes/broken/etc/kubernetes/manifests",
		"../testdata/nodes/broken-text/etc/kubernetes/manifests",
		"../testdata/nodes/broken-v1.37/etc/kubernetes/manifests",
		"testdata/handmade/etc/kubernetes/manifests",
		"../internal/controlplane/testdata/kubeadm",
		everyProblemDir(t),
	}
	seenTypes := map[string]bool{}
	for _, dir := range dirs {
		res, err := staticpod.CheckPaths([]string{dir}, staticpod.CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r := Analyze(&node.Snapshot{Manifests: staticpod.ScanDir(dir), Node: node.NodeInfo{Name: "node1"}}, Options{})
		for _, p := range res.Problems {
			key := p.Type + "/" + string(p.Severity)
			if strings.Contains(p.Type, " value") || p.Type == "Forbidden" || p.Type == "Invalid value" {
				key = "invalid/" + string(p.Severity) // the kubelet's own validation: field.ErrorType words
			}
			seenTypes[key] = true
			w, ok := agree[key]
			if key == "invalid/error" {
				w, ok = want{KindManifestInvalid, SeverityError, false}, true
			}
			if !ok {
				t.Errorf("%s: validate reports %q (%s), which the table does not map to a diagnose finding", p.Path, p.Type, p.Severity)
				continue
			}
			var fs []Finding
			if w.onFile || p.Pod == "" {
				for _, fr := range r.Files {
					if fr.Path == p.Path {
						fs = fr.Findings
					}
				}
			} else {
				for _, pr := range r.Pods {
					if pr.Namespace+"/"+pr.Name == p.Pod {
						fs = pr.Findings
					}
				}
			}
			found := false
			for _, f := range fs {
				if f.Kind == w.kind {
					found = true
					if f.Severity != w.severity {
						t.Errorf("%s: validate %s (%s) is diagnose %s with severity %s, want %s", p.Path, p.Type, p.Severity, f.Kind, f.Severity, w.severity)
					}
				}
			}
			if !found {
				t.Errorf("%s (pod %q): validate reports %s (%s); diagnose has no %s there: %v", p.Path, p.Pod, p.Type, p.Severity, w.kind, fs)
			}
		}
	}
	for key := range agree {
		if !seenTypes[key] {
			t.Errorf("no testdata manifest makes validate report %s: the table row is untested", key)
		}
	}
}

// everyProblemDir writes a manifest directory with one file per problem validate reports.
func everyProblemDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	pod := func(name, spec string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\nspec:\n" + spec
	}
	const app = "  containers:\n  - name: app\n    image: registry.example/app:1\n    resources: {requests: {cpu: 10m}}\n"
	files := map[string]string{
		"unknown-field.yaml":   pod("unknown-field", "  containers:\n  - name: app\n    image: registry.example/app:1\n    comand: [sleep]\n    resources: {requests: {cpu: 10m}}\n"),
		"duplicate-field.yaml": pod("duplicate-field", "  containers:\n  - name: app\n    image: registry.example/app:1\n    image: registry.example/app:2\n    resources: {requests: {cpu: 10m}}\n"),
		"latest.yaml":          pod("latest", "  containers:\n  - name: app\n    image: registry.example/app\n"),
		"deployment.yaml":      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: registry.example/app:1\n",
		"namespace.yaml":       "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n",
		"kustomization.yaml":   "resources:\n- deployment.yaml\n",
		"agent.yaml":           "pods:\n- metadata: {name: x}\n",
		"blob.yaml":            "bin\x00ary",
		"quantity.yaml":        pod("quantity", "  containers:\n  - name: app\n    image: registry.example/app:1\n    resources: {requests: {cpu: lots}}\n"),
		"invalid.yaml":         pod("invalid", "  containers: []\n"),
		"secret.yaml":          pod("secret", app+"  volumes:\n  - name: s\n    secret: {secretName: s}\n"),
		"two-docs.yaml":        pod("two-docs", app) + "---\n" + pod("second", app),
		"port-a.yaml":          pod("port-a", "  hostNetwork: true\n"+app+"    ports: [{containerPort: 8080}]\n"),
		"port-b.yaml":          pod("port-b", "  hostNetwork: true\n"+app+"    ports: [{containerPort: 8080}]\n"),
		"bad: yaml.yaml":       "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.yaml.bak"), []byte(files["latest.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
