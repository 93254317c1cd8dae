package redact

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestKubeletURLHeader(t *testing.T) {
	lines := []string{
		`I1202 01:00:00.000000 1 kubelet.go:382] "Adding pod URL with HTTP header" URL="http://127.0.0.1:50000/" header=map[X-Talos-Auth:[hunter2xyz]]`,
		`{"ts":1.7e12,"caller":"kubelet/kubelet.go:382","msg":"Adding pod URL with HTTP header","URL":"http://127.0.0.1:50000/","header":{"X-Talos-Auth":["hunter2xyz"]}}`,
		`{"MESSAGE":"{\"msg\":\"Adding pod URL with HTTP header\",\"header\":{\"X-Talos-Auth\":[\"hunter2xyz\"]}}"}`,
	}
	r := New(Options{})
	for _, l := range lines {
		got := r.Log(l)
		if strings.Contains(got, "hunter2xyz") || !strings.Contains(got, TokenPrefix) {
			t.Errorf("not redacted: %s", got)
		}
		if strings.HasPrefix(l, "{") && !json.Valid([]byte(got)) {
			t.Errorf("redaction broke the JSON record: %s", got)
		}
		if !strings.Contains(got, "127.0.0.1:50000") && strings.Contains(l, "127.0.0.1:50000") {
			t.Errorf("URL lost: %s", got)
		}
	}
	keep := `I1202 "Watching URL" URL="http://127.0.0.1:50000/" header=x`
	if got := r.Log(keep); got != keep {
		t.Errorf("changed an unrelated line: %s", got)
	}
}
