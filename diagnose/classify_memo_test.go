package diagnose

import (
	"maps"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// The memo answers as classify does, for records that share their strings and Fields map (the
// repeat cache's copies of one line), for records parsed apart from the same line, and for
// records that share some strings with another but differ in one field classify reads.
func TestClassMemoAnswersAsClassify(t *testing.T) {
	var recs []kubeletlog.Record
	for _, lines := range recordSamples {
		for _, l := range lines {
			r, ok := kubeletlog.ParseLine([]byte(l))
			if !ok {
				t.Fatalf("sample does not parse: %s", l)
			}
			recs = append(recs, r)
		}
	}
	decision, ok := kubeletlog.ParseLine([]byte(`{"ts":1795559207707.1,"caller":"kuberuntime/kuberuntime_container.go:1109","msg":"Message for Container of pod","v":2,"containerName":"main","containerStatusID":{"Type":"containerd","ID":"4f"},"pod":{"name":"liveness-node1","namespace":"default"},"containerMessage":"Container main failed liveness probe, will be restarted"}`))
	if !ok {
		t.Fatal("decision line does not parse")
	}
	recs = append(recs, decision)
	var all []kubeletlog.Record
	for _, r := range recs {
		all = append(all, r)
		same := r // shares every string and the Fields map, like a repeat
		same.Raw = ""
		all = append(all, same)
		apart := r // the same content in strings and a map of its own
		apart.Msg, apart.Err = strings.Clone(r.Msg), strings.Clone(r.Err)
		apart.Fields = maps.Clone(r.Fields)
		all = append(all, apart)
		named := r // a container name of its own
		named.ContainerName = "sidecar"
		all = append(all, named)
		fields := r // the Fields map changes what decisionLine sees
		fields.Fields = map[string]string{"containerMessage": "Container main definition changed, will be restarted"}
		all = append(all, fields)
		noErr := r // the same Msg without the error
		noErr.Err = ""
		all = append(all, noErr)
	}
	m := classMemo{}
	hits := 0
	for pass := 0; pass < 2; pass++ {
		for i := range all {
			r := &all[i]
			n := len(m)
			gotC, gotOK := m.classify(r)
			if len(m) == n {
				hits++
			}
			wantC, wantOK := classify(r)
			if gotC != wantC || gotOK != wantOK {
				t.Errorf("pass %d, record %d (%s / %s): memo says %+v %v, classify %+v %v", pass, i, r.Msg, r.Err, gotC, gotOK, wantC, wantOK)
			}
		}
	}
	if hits < len(all) {
		t.Errorf("%d memo hits over %d records classified twice, want at least one pass of hits", hits, len(all))
	}
	// the decision line is classified by its Fields: the copy with another map is not
	d := len(all) - 6
	if _, ok := m.classify(&all[d]); !ok {
		t.Errorf("decision line not classified: %+v", all[d])
	}
	if _, ok := m.classify(&all[d+4]); ok {
		t.Errorf("decision line with another containerMessage classified like the first")
	}
	var nilMemo classMemo
	gotC, gotOK := nilMemo.classify(&all[d])
	if wantC, wantOK := classify(&all[d]); gotC != wantC || gotOK != wantOK {
		t.Errorf("nil memo: %+v %v, want %+v %v", gotC, gotOK, wantC, wantOK)
	}
}

// runtimeOf looks at the socket and each record's error on its own, as the search of their
// space-joined text did.
func TestRuntimeOfEachError(t *testing.T) {
	joined := func(endpoint string, errs ...string) string {
		text := endpoint + " " + strings.Join(errs, " ")
		switch {
		case strings.Contains(text, "crio") || strings.Contains(text, "cri-o"):
			return "cri-o"
		case strings.Contains(text, "docker"):
			return "docker"
		case strings.Contains(text, "containerd"):
			return "containerd"
		}
		return ""
	}
	for _, tc := range []struct {
		endpoint string
		errs     []string
	}{
		{"unix:///run/containerd/containerd.sock", nil},
		{"", []string{"dial unix /var/run/crio/crio.sock: connect: no such file"}},
		{"unix:///run/containerd/containerd.sock", []string{"x", "cri-dockerd is down"}},
		{"", []string{"containerd: task failed", "failed via cri-o"}},
		{"", []string{"cri", "-o"}},
		{"", []string{"dockershim"}},
		{"", nil},
		{"", []string{"no runtime named here"}},
	} {
		b := &findingBuilder{}
		for _, e := range tc.errs {
			b.recs = append(b.recs, &kubeletlog.Record{Err: e})
		}
		if got, want := runtimeOf(tc.endpoint, b), joined(tc.endpoint, tc.errs...); got != want {
			t.Errorf("runtimeOf(%q, %q) = %q, want %q", tc.endpoint, tc.errs, got, want)
		}
	}
	if got := runtimeOf("unix:///var/run/crio/crio.sock", nil); got != "cri-o" {
		t.Errorf("runtimeOf(crio socket, nil) = %q", got)
	}
}
