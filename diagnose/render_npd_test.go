package diagnose

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRenderNPD(t *testing.T) {
	r := &Report{Node: NodeReport{Name: "n1"}, Pods: []PodReport{
		{Namespace: "kube-system", Name: "kube-apiserver", Findings: []Finding{
			{Kind: KindCrashLoop, Severity: SeverityError, Title: "container kube-apiserver keeps crashing", Cause: KindRuntimeUnreachable},
			{Kind: KindProbeFailed, Severity: SeverityWarning, Title: "liveness probe fails"},
		}},
		{Namespace: "kube-system", Name: "etcd", Findings: []Finding{
			{Kind: KindImageNotPresent, Severity: SeverityError, Title: "image registry.k8s.io/etcd:3.6.5-0 is not\non the node"},
			{Kind: KindCrashLoop, Severity: SeverityInfo, Title: "restarted once", History: true},
		}},
	}}
	var b bytes.Buffer
	if err := Render(&b, r, "npd", RenderOptions{Width: 200}); err != nil {
		t.Fatal(err)
	}
	// The error outranks the warning; the folded crash loop (it has a cause) and history are not root causes.
	want := "kube-system/etcd: ImageNotPresent: image registry.k8s.io/etcd:3.6.5-0 is not on the node (+1 more)\n"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
	b.Reset()
	if err := Render(&b, r, "npd", RenderOptions{Width: 40}); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(b.String(), "\n")
	if utf8.RuneCountInString(line) > 40 || !strings.HasSuffix(line, "… (+1 more)") || !strings.HasPrefix(line, "kube-system/etcd: ImageNot") {
		t.Errorf("cut line %q (%d runes)", line, utf8.RuneCountInString(line))
	}
	b.Reset()
	if err := Render(&b, &Report{Node: NodeReport{Name: "n1"}, Pods: []PodReport{{Name: "a"}}}, "npd", RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "static pods healthy (1 on n1)\n" {
		t.Errorf("healthy: %q", b.String())
	}
}
