package diagnose

import (
	"encoding/json"
	"testing"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// TestMemoSameReport: a Memo changes nothing in a report — on every captured node, analyzed
// once without one, then twice with the same Memo (the second time from what it remembered),
// and with a Memo so small it is emptied all the time.
func TestMemoSameReport(t *testing.T) {
	for _, root := range []string{"../testdata/nodes/broken", "../testdata/nodes/broken-text", "../testdata/nodes/broken-v1.37"} {
		t.Run(root, func(t *testing.T) {
			s := loadLocalCRI(t, root, "node1")
			if s.KubeletLog == nil || len(s.KubeletLog.Records) == 0 {
				t.Fatalf("%s: no kubelet records", root)
			}
			want, _ := json.Marshal(Analyze(s, Options{}))
			memo, tiny := NewMemo(0), NewMemo(3)
			for i, m := range []*Memo{memo, memo, tiny, tiny} {
				got, _ := json.Marshal(Analyze(s, Options{Memo: m}))
				if string(got) != string(want) {
					t.Fatalf("analysis %d with a memo differs from the one without:\n%s\n%s", i, got, want)
				}
			}
			if n := len(memo.m); n == 0 || n > len(s.KubeletLog.Records) {
				t.Errorf("memo holds %d entries for %d records", n, len(s.KubeletLog.Records))
			}
			if n := len(tiny.m); n > 3 {
				t.Errorf("a memo of 3 holds %d entries", n)
			}
		})
	}
}

// TestMemoKeysContent: records that differ in anything a rule reads never share an entry; a
// repeat (same parsed content and Fields map, another time and raw line) does.
func TestMemoKeysContent(t *testing.T) {
	fields := map[string]string{"probeType": "Liveness"}
	base := kubeletlog.Record{Msg: "Probe failed", PodName: "a-node1", PodNamespace: "default", ContainerName: "main", Fields: fields, Raw: "x 1"}
	repeat := base
	repeat.Raw = "x 2"
	if keyOf(&base) != keyOf(&repeat) {
		t.Error("a repeat (other raw line) gets another key")
	}
	for name, change := range map[string]func(*kubeletlog.Record){
		"msg":       func(r *kubeletlog.Record) { r.Msg = "Probe errored" },
		"err":       func(r *kubeletlog.Record) { r.Err = "boom" },
		"pod":       func(r *kubeletlog.Record) { r.PodName = "b-node1" },
		"container": func(r *kubeletlog.Record) { r.ContainerName = "side" },
		"level":     func(r *kubeletlog.Record) { r.Level = "E" },
		"fields":    func(r *kubeletlog.Record) { r.Fields = map[string]string{"probeType": "Liveness"} },
		"no fields": func(r *kubeletlog.Record) { r.Fields = nil },
	} {
		other := base
		change(&other)
		if keyOf(&base) == keyOf(&other) {
			t.Errorf("records differing in %s share a key", name)
		}
	}
}
