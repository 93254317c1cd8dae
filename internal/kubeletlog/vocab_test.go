package kubeletlog

import (
	"strings"
	"testing"
)

// TestVocabulary checks one line per message table entry, built from that kubelet version's
// format string: the parser gives it the structured message and pulls the facts out of the
// sentence, and the prefilter keeps it.
func TestVocabulary(t *testing.T) {
	for _, ph := range append(append([]*Phrase(nil), Vocabulary...), Structured...) {
		t.Run(ph.Msg+"@"+versionRange(ph), func(t *testing.T) {
			if ph.Example == "" || ph.Msg == "" || ph.Source == "" || ph.Level == "" {
				t.Fatalf("incomplete entry %+v", ph)
			}
			if !Interesting([]byte(ph.Example)) {
				t.Errorf("the prefilter drops %q", ph.Example)
			}
			r, ok := ParseLineRef([]byte(ph.Example), ref)
			if !ok {
				t.Fatalf("not parsed: %q", ph.Example)
			}
			want := ph.Msg
			if ph.Msg == "SyncLoop " {
				want = "SyncLoop ADD"
			}
			if ph.re != nil && r.Msg != want {
				t.Errorf("msg %q, want %q", r.Msg, want)
			}
			if ph.re == nil && r.Msg != ph.Msg {
				t.Errorf("structured msg %q, want %q", r.Msg, ph.Msg)
			}
			if r.Level != ph.Level && ph.Source != "systemd" {
				t.Errorf("level %q, want %q", r.Level, ph.Level)
			}
			if ph.re == nil {
				return
			}
			if r.Vocab != versionRange(ph) || r.Fields["_text"] == "" {
				t.Errorf("vocab %q, _text %q", r.Vocab, r.Fields["_text"])
			}
			// every group of the pattern lands somewhere
			for _, name := range ph.re.SubexpNames() {
				switch name {
				case "":
				case "pod":
					if r.PodName == "" {
						t.Errorf("pod name not pulled out of %q", ph.Example)
					}
					if strings.Contains(ph.Example, "_default(") && (r.PodNamespace != "default" || len(r.PodUID) < 32) {
						t.Errorf("pod %q/%q uid %q", r.PodNamespace, r.PodName, r.PodUID)
					}
				case "container":
					if r.ContainerName != "app" {
						t.Errorf("container %q, want app", r.ContainerName)
					}
				case "err":
					if r.Err == "" {
						t.Errorf("err not pulled out")
					}
				case "path":
					if !strings.HasPrefix(r.Path, "/etc/kubernetes/manifests") {
						t.Errorf("path %q", r.Path)
					}
				case "image":
					if r.Image == "" {
						t.Errorf("image not pulled out")
					}
				case "podUID":
					if r.PodUID == "" {
						t.Errorf("podUID not pulled out")
					}
				case "op":
				default:
					if r.Fields[name] == "" {
						t.Errorf("field %q not pulled out: %v", name, r.Fields)
					}
				}
			}
		})
	}
}

func TestKubeletVersionOf(t *testing.T) {
	for line, want := range map[string]string{
		`I1124 21:55:04.100165 1 server.go:416] Version: v1.20.15`:                                            "v1.20.15",
		`I1124 21:55:04.100165 1 server.go:530] "Kubelet version" kubeletVersion="v1.34.4"`:                   "v1.34.4",
		`{"ts":1,"msg":"Kubelet version","kubeletVersion":{"major":"1","minor":"37","gitVersion":"v1.37.2"}}`: "v1.37.2",
		`I1124 21:55:04.100165 1 server.go:440] "Kubelet version" kubeletVersion="v1.21.14+k3s1"`:             "v1.21.14+k3s1",
	} {
		r, ok := ParseLineRef([]byte(line), ref)
		if got := KubeletVersionOf(&r); !ok || got != want {
			t.Errorf("%s: version %q, want %q", line, got, want)
		}
	}
}
