package main

import (
	"strings"
	"testing"
	"time"
)

func TestTUIValidate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		o    tuiOptions
		want string // error substring, "" for none
	}{
		{"defaults", tuiOptions{refresh: 2 * time.Second, buffer: 10000, node: nodeFlags{maxRecords: 1}}, ""},
		{"refresh too fast", tuiOptions{refresh: time.Millisecond, buffer: 10000}, "--refresh 1ms"},
		{"tiny buffer", tuiOptions{refresh: time.Second, buffer: 10}, "--buffer-lines 10"},
		{"agent and root", tuiOptions{refresh: time.Second, buffer: 10000, agent: "unix:///x", node: nodeFlags{root: dir}}, "--agent and --root"},
		{"node flags are checked", tuiOptions{refresh: time.Second, buffer: 10000, node: nodeFlags{root: dir + "/missing", maxRecords: 1}}, "--root"},
	}
	for _, tt := range tests {
		err := tt.o.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestTUICommandRegistered(t *testing.T) {
	cmd, _, err := newRootCmd().Find([]string{"tui"})
	if err != nil || cmd.Name() != "tui" {
		t.Fatalf("tui not registered: %v", err)
	}
	for _, f := range []string{"agent", "root", "manifests", "kubelet-log", "runtime-endpoint", "node-name", "refresh", "buffer-lines"} {
		if cmd.Flags().Lookup(f) == nil {
			t.Errorf("flag --%s missing", f)
		}
	}
}
