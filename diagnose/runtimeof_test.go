package diagnose

import (
	"strings"
	"testing"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

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
