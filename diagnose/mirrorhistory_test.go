package diagnose

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/controlplane"
)

// The kubelet's own words around a mirror pod, per version (pkg/kubelet/kubelet.go):
// tryReconcileMirrorPods (1.34, 1.37) logs "Creating a mirror pod for static pod" at V0 before each
// attempt and "Failed creating a mirror pod" after a failed one; syncPod (1.21–1.27) logs the
// attempt at V4 and "Failed creating a mirror pod for"; 1.19–1.20 print sentences. The API source
// hands the mirror pod back as "SyncLoop ADD"/"SyncLoop UPDATE" source="api" (V2).
const (
	mirrorPCRefusedJSON = `{"ts":%T,"caller":"kubelet/kubelet.go:3222","msg":"Failed creating a mirror pod","pod":{"name":"web-node1","namespace":"default"},"err":"pods \"web-node1\" is forbidden: no PriorityClass with name system-node-critical was found"}`
	mirrorCreatingJSON  = `{"ts":%T,"caller":"kubelet/kubelet.go:3220","msg":"Creating a mirror pod for static pod","v":0,"pod":{"name":"web-node1","namespace":"default"}}`
	mirrorAPIAddJSON    = `{"ts":%T,"caller":"kubelet/kubelet.go:2515","msg":"SyncLoop ADD","v":2,"source":"api","pods":[{"name":"web-node1","namespace":"default"}]}`
	mirrorFileAddJSON   = `{"ts":%T,"caller":"kubelet/kubelet.go:2515","msg":"SyncLoop ADD","v":2,"source":"file","pods":[{"name":"web-node1","namespace":"default"}]}`
	mirrorAPIAddEmpty   = `{"ts":%T,"caller":"kubelet/kubelet.go:2515","msg":"SyncLoop ADD","v":2,"source":"api","pods":[]}`
	mirrorRefusedText   = `E%K    1234 kubelet.go:3222] "Failed creating a mirror pod" err="pods \"web-node1\" is forbidden: no PriorityClass with name system-node-critical was found" pod="default/web-node1"`
	mirrorCreatingText  = `I%K    1234 kubelet.go:3220] "Creating a mirror pod for static pod" pod="default/web-node1"`
	mirrorAPIUpdateText = `I%K    1234 kubelet.go:2522] "SyncLoop UPDATE" source="api" pods=["default/web-node1"]`
	mirrorRefused127    = `E%K    1234 kubelet.go:1856] "Failed creating a mirror pod for" err="namespaces \"default\" not found" pod="default/web-node1"`
	mirrorCreating127   = `I%K    1234 kubelet.go:1854] "Creating a mirror pod for static pod" pod="default/web-node1"`
	otherRecord127      = `E%K    1234 kubelet_node_status.go:470] "Error updating node status, will retry" err="error getting node \"node1\": Get \"https://10.0.0.1:6443/api/v1/nodes/node1\": context deadline exceeded"`
	mirrorRefused120    = `E%K    1234 kubelet.go:1602] Failed creating a mirror pod for "web-node1_default(` + uidWeb + `)": pods "web-node1" is forbidden: no PriorityClass with name system-node-critical was found`
	mirrorAPIUpdate120  = `I%K    1234 kubelet.go:1863] SyncLoop (UPDATE, "api"): "web-node1_default(11111111-2222-3333-4444-555555555555)"`
	mirrorAPIUpdateF120 = `I%K    1234 kubelet.go:1863] SyncLoop (UPDATE, "file"): "web-node1_default(` + uidWeb + `)"`
)

// TestMirrorPodFailedHistory: the kubelet's refusals to create a mirror pod on a fresh control
// plane (the API server answers before its system PriorityClasses and namespaces exist) are
// history once the mirror pod exists or the kubelet's later records show it got through; they stay
// current while nothing says so, and while the API server says the mirror pod is missing.
func TestMirrorPodFailedHistory(t *testing.T) {
	type line struct {
		sec  float64
		text string
	}
	running := func(f *fixture) *fixture {
		return f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
			container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5)
	}
	for _, tc := range []struct {
		name   string
		lines  []line
		mirror *controlplane.MirrorState
		want   []string
		title  string // in the MirrorPodFailed title
	}{
		{name: "1.34 json: a later attempt with no failure after it", lines: []line{{6, mirrorCreatingJSON}, {6.01, mirrorPCRefusedJSON}, {8, mirrorCreatingJSON}},
			want: []string{"MirrorPodFailed/history"}, title: "got through later"},
		{name: "1.34 json: the API source hands the mirror pod back", lines: []line{{6.01, mirrorPCRefusedJSON}, {8.1, mirrorAPIAddJSON}},
			want: []string{"MirrorPodFailed/history"}, title: "PriorityClass system-node-critical does not exist"},
		{name: "1.34 json: the last attempt failed too", lines: []line{{6, mirrorCreatingJSON}, {6.01, mirrorPCRefusedJSON}, {8, mirrorCreatingJSON}, {8.01, mirrorPCRefusedJSON}},
			want: []string{"MirrorPodFailed/info"}, title: "no mirror pod in the API server: the PriorityClass system-node-critical does not exist"},
		{name: "1.34 json: a file source ADD is not the mirror pod", lines: []line{{6.01, mirrorPCRefusedJSON}, {8, mirrorFileAddJSON}},
			want: []string{"MirrorPodFailed/info"}},
		{name: "1.34 json: an API source ADD of no pods says nothing", lines: []line{{6.01, mirrorPCRefusedJSON}, {8, mirrorAPIAddEmpty}},
			want: []string{"MirrorPodFailed/info"}},
		{name: "1.34 json: an attempt before the failure says nothing", lines: []line{{6, mirrorCreatingJSON}, {6.01, mirrorPCRefusedJSON}},
			want: []string{"MirrorPodFailed/info"}},
		{name: "1.34 text: a later attempt", lines: []line{{6.01, mirrorRefusedText}, {8, mirrorCreatingText}},
			want: []string{"MirrorPodFailed/history"}},
		{name: "1.34 text: the API source's UPDATE", lines: []line{{6.01, mirrorRefusedText}, {8, mirrorAPIUpdateText}},
			want: []string{"MirrorPodFailed/history"}},
		{name: "1.27 text at V4: a later attempt", lines: []line{{6.01, mirrorRefused127}, {8, mirrorCreating127}},
			want: []string{"MirrorPodFailed/history"}, title: "namespace default does not exist"},
		{name: "1.20 sentences: the API source's UPDATE", lines: []line{{6.01, mirrorRefused120}, {8, mirrorAPIUpdate120}},
			want: []string{"MirrorPodFailed/history"}},
		{name: "1.20 sentences: a file source UPDATE is not the mirror pod", lines: []line{{6.01, mirrorRefused120}, {8, mirrorAPIUpdateF120}},
			want: []string{"MirrorPodFailed/info"}},
		{name: "1.27 text at V0: no failure in the minutes after the last one", lines: []line{{6.01, mirrorRefused127}, {6.5, mirrorRefused127}, {400, otherRecord127}},
			want: []string{"MirrorPodFailed/history"}, title: "no failure since"},
		{name: "1.27 text at V0: the log ends two minutes after the last failure", lines: []line{{6.01, mirrorRefused127}, {126, otherRecord127}},
			want: []string{"MirrorPodFailed/info"}},
		{name: "1.27 text at V0: failures every minute until the log ends", lines: []line{{6.01, mirrorRefused127}, {66, mirrorRefused127}, {126, mirrorRefused127}, {186, mirrorRefused127}, {246, mirrorRefused127}, {306, mirrorRefused127}, {366, mirrorRefused127}, {400, otherRecord127}},
			want: []string{"MirrorPodFailed/info"}},
		{name: "the API server lists the mirror pod of the running manifest", lines: []line{{6.01, mirrorPCRefusedJSON}},
			mirror: &controlplane.MirrorState{Node: "node1", Checked: true, Pods: []controlplane.MirrorPod{{Namespace: "default", Name: "web-node1", Mirror: uidWeb, Hash: uidWeb}}},
			want:   []string{"MirrorPodFailed/history"}, title: "it exists now"},
		{name: "the API server has no mirror pod, though a later attempt logged no failure", lines: []line{{6.01, mirrorPCRefusedJSON}, {8, mirrorCreatingJSON}, {400, otherRecord127}},
			mirror: &controlplane.MirrorState{Node: "node1", Checked: true},
			want:   []string{"MirrorPodMissing", "MirrorPodFailed/cause=MirrorPodMissing"}},
		{name: "the API server lists an outdated mirror pod", lines: []line{{6.01, mirrorPCRefusedJSON}},
			mirror: &controlplane.MirrorState{Node: "node1", Checked: true, Pods: []controlplane.MirrorPod{{Namespace: "default", Name: "web-node1", Mirror: "0000aaaa", Hash: "0000aaaa"}}},
			want:   []string{"MirrorPodOutdated", "MirrorPodFailed/info"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := running(newFixture(t))
			for _, l := range tc.lines {
				f.log(l.sec, l.text)
			}
			// The log ends with its last line (the fixture's default says it goes on for minutes).
			f.s.KubeletLog.Stats.Last = t0.Add(time.Duration(tc.lines[len(tc.lines)-1].sec * float64(time.Second)))
			if tc.mirror != nil {
				f.s.ControlPlane = &controlplane.State{Mirror: tc.mirror}
			}
			r := Analyze(f.s, Options{})
			got := outline(r)["pod:default-web"]
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("findings %v, want %v (outline %v)", got, tc.want, outline(r))
			}
			for _, fd := range r.Pods[0].Findings {
				if fd.Kind == KindMirrorPodFailed && !strings.Contains(fd.Title, tc.title) {
					t.Errorf("title %q, want it to contain %q", fd.Title, tc.title)
				}
				if fd.Kind == KindMirrorPodFailed && strings.Contains(fd.Title, "not allowed") {
					t.Errorf("title %q: a missing PriorityClass or namespace is not a permission problem", fd.Title)
				}
			}
		})
	}
}

// TestReadinessFailuresOfAReadyContainer: readiness (and startup) probe failures of a container
// the kubelet's /pods reports Ready now are history (a kube-scheduler's /readyz answers 500 until
// its informers sync); liveness failures, and a container still unready, stay current.
func TestReadinessFailuresOfAReadyContainer(t *testing.T) {
	probe := func(kind string) string {
		return `{"ts":%T,"caller":"prober/prober.go:120","msg":"Probe failed","v":1,"probeType":"` + kind + `","pod":{"name":"web-node1","namespace":"default"},"podUID":"` + uidWeb + `","containerName":"app","probeResult":"failure","output":"HTTP probe failed with statuscode: 500"}`
	}
	for _, tc := range []struct {
		name    string
		probes  []string
		kubelet *controlplane.KubeletPods
		history bool
	}{
		{"readiness, Ready now", []string{"Readiness"}, kubeletSays(true), true},
		{"startup then readiness, Ready now", []string{"Startup", "Readiness"}, kubeletSays(true), true},
		{"readiness, still unready", []string{"Readiness"}, kubeletSays(false), false},
		{"liveness, Ready now", []string{"Liveness"}, kubeletSays(true), false},
		{"readiness and liveness, Ready now", []string{"Readiness", "Liveness"}, kubeletSays(true), false},
		{"readiness, the kubelet did not answer", []string{"Readiness"}, &controlplane.KubeletPods{OK: false}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.manifest("web.yaml", webYAML).runtime(true).sandbox("default", "web-node1", uidWeb, true).
				container(uidWeb, "app", cidWeb, "CONTAINER_RUNNING", 0, 0, "", 5)
			for i, p := range tc.probes {
				f.log(10+float64(i), probe(p))
			}
			f.s.ControlPlane = &controlplane.State{Kubelet: tc.kubelet}
			r := Analyze(f.s, Options{})
			pf := findingOf(t, r, "default-web", KindProbeFailed)
			if pf.History != tc.history {
				t.Errorf("history %v, want %v: %+v", pf.History, tc.history, pf)
			}
			if tc.history && pf.Severity != SeverityInfo {
				t.Errorf("severity %s of a history finding", pf.Severity)
			}
		})
	}
}

func kubeletSays(ready bool) *controlplane.KubeletPods {
	return &controlplane.KubeletPods{OK: true, Auth: "read-only port", Pods: []controlplane.KubeletPod{{
		Namespace: "default", Name: "web-node1", Ready: ready,
		Containers: []controlplane.KubeletContainer{{Name: "app", Ready: ready, State: "running"}}}}}
}
