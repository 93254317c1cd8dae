package podref

import (
	"errors"
	"strings"
	"testing"
)

var pods = []Pod{
	{Namespace: "default", Name: "crashloop", ID: "default-crashloop", KubeletName: "crashloop-node1", UID: "b4160e84a1b2c3d4e5f60718293a4b5c", File: "/etc/kubernetes/manifests/crashloop.yaml"},
	{Namespace: "kube-system", Name: "etcd", ID: "kube-system-etcd", KubeletName: "etcd-node1", UID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", File: "/etc/kubernetes/manifests/etcd.yaml"},
	{Namespace: "default", Name: "missing-image", ID: "default-missing-image", KubeletName: "missing-image-node1", File: "/etc/kubernetes/manifests/missing-image.yaml"},
	{Namespace: "other", Name: "etcd", ID: "other-etcd", KubeletName: "etcd-node1", File: "/etc/kubernetes/manifests/other-etcd.yaml"},
}

func TestParseAndFind(t *testing.T) {
	tests := []struct {
		in        string
		want      []int
		container string
		id        string
	}{
		{"default/crashloop", []int{0}, "", ""},
		{"default-crashloop", []int{0}, "", ""},
		{"crashloop", []int{0}, "", ""},
		{"crashloop-node1", []int{0}, "", ""},
		{"default/crashloop-node1", []int{0}, "", ""},
		{"b4160e84a1b2c3d4e5f60718293a4b5c", []int{0}, "", ""},
		{"b4160e84", []int{0}, "", ""}, // the report prints the UID shortened
		{"default/crashloop-node1:app:da6ee16e324e", []int{0}, "app", "da6ee16e324e"},
		{"└─ default/crashloop-node1:app:da6ee16e324e", []int{0}, "app", "da6ee16e324e"},
		{"crashloop:app", []int{0}, "app", ""},
		{"crashloop.yaml", []int{0}, "", ""},
		{"/etc/kubernetes/manifests/crashloop.yaml", []int{0}, "", ""},
		{"kube-system/etcd", []int{1}, "", ""},
		{"etcd", []int{1, 3}, "", ""},
		{"other/etcd-node1", []int{3}, "", ""},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		got, err := Find(r, pods)
		if err != nil || !equal(got, tt.want) || r.Container != tt.container || r.ContainerID != tt.id {
			t.Errorf("%q: %v %v container %q id %q; want %v %q %q", tt.in, got, err, r.Container, r.ContainerID, tt.want, tt.container, tt.id)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "web:", "a/b:c:d:e", "ns/:c", ":app"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) succeeded", in)
		}
	}
}

func TestNotFoundSuggests(t *testing.T) {
	for in, want := range map[string]string{
		"crashlop":                   "did you mean default/crashloop?",
		"missing":                    "did you mean default/missing-image?",
		"kube-system/etc":            "did you mean kube-system/etcd, other/etcd?",
		"default-mising-image-node1": "did you mean default/missing-image?",
	} {
		r, _ := Parse(in)
		_, err := Find(r, pods)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want %q", in, err, want)
		}
	}
	r, _ := Parse("zzzzzzzz")
	if _, err := Find(r, pods); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("nothing close: %v", err)
	}
	r, _ = Parse("etcd")
	if _, err := One(r, pods); !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "kube-system/etcd, other/etcd") {
		t.Errorf("ambiguous: %v", err)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
