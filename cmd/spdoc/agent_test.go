package main

import (
	"strings"
	"testing"
)

func TestAgentFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--since", "0s"}, "--since 0s: must be positive"},
		{[]string{"agent", "--memory-limit-mb", "-1"}, "--memory-limit-mb -1"},
		{[]string{"agent", "--kernel-log", "-"}, "--kernel-log -: the agent follows its sources"},
	} {
		_, err := runCmd(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}
