package main

import (
	"strings"
	"testing"
)

// TestDynamicCompletion: the shells' completion scripts call spdoc __complete, which names the
// node's pods, containers, namespaces, resources and -o values.
func TestDynamicCompletion(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"get", ""}, []string{"staticpods", "sps", "sp"}, nil},
		{[]string{"get", "sps", "--root", capturedRoot, ""}, []string{"default/crashloop\tcrashloop.yaml", "default/healthy"}, []string{"default/crashloop:app"}},
		{[]string{"logs", "--root", capturedRoot, ""}, []string{"default/crashloop\t", "default/crashloop:app\tspdoc.local/busybox:1"}, nil},
		{[]string{"get", "sps", "-o", ""}, []string{"wide\t", "jsonpath\t", "name\t"}, nil},
		{[]string{"get", "sps", "--root", capturedRoot, "-n", ""}, []string{"default"}, nil},
		{[]string{"logs", "--kubelet", "-o", ""}, []string{"text", "raw"}, nil},
	} {
		out, err := runCmd(t, append([]string{"__complete"}, tt.args...)...)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: completions lack %q:\n%s", tt.args, w, out)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(out, n) {
				t.Errorf("%v: completions offer %q:\n%s", tt.args, n, out)
			}
		}
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, err := runCmd(t, "completion", sh)
		if err != nil || !strings.Contains(out, "__complete") {
			t.Errorf("completion %s: %v, script does not call __complete", sh, err)
		}
	}
}
