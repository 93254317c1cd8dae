package main

import (
	"strings"
	"testing"
)

// TestFlagsAreConsistent: every command that reads a node names its sources the same way, and
// --agent has one type everywhere.
func TestFlagsAreConsistent(t *testing.T) {
	root := newRootCmd()
	for _, name := range []string{"diagnose", "tui", "get", "logs", "containers"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"manifests", "root", "bundle-in", "agent", "kubelet-log", "since"} {
			if cmd.Flags().Lookup(f) == nil {
				t.Errorf("%s has no --%s", name, f)
			}
		}
		if typ := cmd.Flags().Lookup("agent").Value.Type(); typ != "stringSlice" {
			t.Errorf("%s --agent is a %s, not a list as everywhere", name, typ)
		}
	}
	agent, _, _ := root.Find([]string{"agent"})
	if agent.Flags().Lookup("manifests") == nil {
		t.Error("agent has no --manifests")
	}
	if _, err := runCmd(t, "tui", "--agent", "unix:///a,unix:///b"); err == nil || !strings.Contains(err.Error(), "the TUI shows one node") {
		t.Errorf("tui with two agents: %v", err)
	}
}
