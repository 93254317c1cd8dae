package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podurl"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// Lines of a real kubelet v1.34.4 (internal/e2e TestRootKubeletURLSourceFreeze) whose
// staticPodURL served a list with an invalid item; the header value is the test's.
var urlSourceLines = []string{
	`{"ts":1796172707252.0198,"caller":"kubelet/kubelet.go:382","msg":"Adding pod URL with HTTP header","v":0,"URL":"http://127.0.0.1:38449/pods","header":{"X-Node-Token":["sekrit-node-token"]}}`,
	`{"ts":1796172707252.0913,"caller":"config/http.go:57","msg":"Watching URL","v":1,"URL":"http://127.0.0.1:38449/pods"}`,
	`{"ts":1796172709304.1167,"caller":"config/http.go:66","msg":"Failed to read pods from URL","v":0,"err":"invalid pod: [spec.containers: Required value]"}`,
	`{"ts":1796172710326.6565,"caller":"config/http.go:75","msg":"Successfully read pods from URL","v":0}`,
}

const refusedLine = `{"ts":1796172700000.0,"caller":"config/http.go:66","msg":"Failed to read pods from URL","v":0,"err":"Get \"http://127.0.0.1:38449/pods\": dial tcp 127.0.0.1:38449: connect: connection refused"}`

func urlRecords(t *testing.T, lines ...string) []kubeletlog.Record {
	t.Helper()
	var out []kubeletlog.Record
	for i, l := range lines {
		r, ok := kubeletlog.ParseLine([]byte(l))
		if !ok {
			t.Fatalf("line %d does not parse", i)
		}
		r.Source, r.Line = "kubelet.log", int64(i+1)
		out = append(out, r)
	}
	return out
}

func urlState(body string) *podurl.State {
	const url = "http://127.0.0.1:38449/pods"
	return &podurl.State{URL: url, Fetched: time.Unix(1796172711, 0), List: staticpod.DecodeList(url, []byte(body), "n1"), NodeName: "n1"}
}

const (
	goodItem = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"kube-system"},"spec":{"containers":[{"name":"c","image":"x:1"}]}}`
	badItem  = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad","namespace":"kube-system"},"spec":{}}`
)

func item(name string) string { return strings.Replace(goodItem, "%s", name, 1) }

func listOf(items ...string) string {
	return `{"apiVersion":"v1","kind":"PodList","items":[` + strings.Join(items, ",") + `]}`
}

func TestURLSourceRules(t *testing.T) {
	rejectedList := urlState(listOf(item("a"), badItem, item("b")))
	goodList := urlState(listOf(item("a"), item("b")))
	failed := &podurl.State{URL: "http://127.0.0.1:38449/pods", Error: `Get "http://127.0.0.1:38449/pods": dial tcp 127.0.0.1:38449: connect: connection refused`}
	tests := []struct {
		name    string
		st      *podurl.State
		lines   []string
		kind    Kind
		sev     Severity
		history bool
		want    []string // in title + detail + evidence
		absent  []Kind
	}{
		{name: "rejected now", st: rejectedList, lines: urlSourceLines, kind: KindStaticPodListRejected, sev: SeverityError,
			want:   []string{"item 1 (kube-system/bad)", "kube-system/a, kube-system/b", "misleading", "nothing was applied"},
			absent: []Kind{KindStaticPodURLUnreachable}},
		{name: "rejected, no log", st: rejectedList, kind: KindStaticPodListRejected, sev: SeverityError, want: []string{"item 1 (kube-system/bad)"}},
		{name: "accepted now, rejected before", st: goodList, lines: urlSourceLines, kind: KindStaticPodListRejected, sev: SeverityInfo, history: true,
			want: []string{"accepted"}},
		{name: "accepted, clean log", st: goodList, lines: urlSourceLines[:2], absent: []Kind{KindStaticPodListRejected, KindStaticPodURLUnreachable}},
		{name: "unreachable now", st: failed, lines: []string{refusedLine}, kind: KindStaticPodURLUnreachable, sev: SeverityError, want: []string{"connection refused"},
			absent: []Kind{KindStaticPodListRejected}},
		{name: "unreachable before, fine now", st: goodList, lines: []string{refusedLine, urlSourceLines[3]}, kind: KindStaticPodURLUnreachable, sev: SeverityInfo, history: true},
		{name: "log only", lines: urlSourceLines, kind: KindStaticPodListRejected, sev: SeverityError, want: []string{"could not read the list"}},
		{name: "no URL source at all", absent: []Kind{KindStaticPodListRejected, KindStaticPodURLUnreachable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &node.Snapshot{Node: node.NodeInfo{Name: "n1"}, StaticPodURL: tt.st,
				KubeletLog: &node.KubeletLogState{Source: "kubelet.log", Records: urlRecords(t, tt.lines...)}}
			s.KubeletLog.Stats.Parsed = int64(len(tt.lines))
			r := Analyze(s, Options{})
			byKind := map[Kind]Finding{}
			for _, f := range r.Node.Findings {
				byKind[f.Kind] = f
			}
			for _, k := range tt.absent {
				if f, ok := byKind[k]; ok {
					t.Errorf("unexpected %s: %s", k, f.Title)
				}
			}
			if tt.kind == "" {
				return
			}
			f, ok := byKind[tt.kind]
			if !ok {
				t.Fatalf("no %s finding: %+v", tt.kind, r.Node.Findings)
			}
			if f.Severity != tt.sev || f.History != tt.history {
				t.Errorf("severity %s history %v, want %s %v", f.Severity, f.History, tt.sev, tt.history)
			}
			text := f.Title + " " + f.Detail
			for _, e := range f.Evidence {
				text += " " + e.Line
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("%s does not say %q:\n%s", tt.kind, w, text)
				}
			}
		})
	}
}

func TestURLPodsAreStaticPods(t *testing.T) {
	s := &node.Snapshot{Node: node.NodeInfo{Name: "n1"}, StaticPodURL: urlState(listOf(item("a"), badItem))}
	r := Analyze(s, Options{})
	var ids []string
	for _, p := range r.Pods {
		ids = append(ids, p.ID)
		if p.Manifest != s.StaticPodURL.URL || p.KubeletName != p.Name+"-n1" {
			t.Errorf("pod %s: manifest %q kubelet name %q", p.ID, p.Manifest, p.KubeletName)
		}
		if p.Name == "bad" && (len(p.Findings) == 0 || p.Findings[0].Kind != KindManifestInvalid || !strings.Contains(p.Findings[0].Detail, "reject the whole list")) {
			t.Errorf("bad pod findings %+v", p.Findings)
		}
	}
	if strings.Join(ids, ",") != "kube-system-a,kube-system-bad" {
		t.Errorf("pods %v", ids)
	}
	for _, f := range r.Node.Findings {
		if f.Kind == KindManifestDirMissing {
			t.Error("a URL-only kubelet has no manifest dir to miss")
		}
	}
}
