package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateCmdExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	warn := filepath.Join(dir, "warn.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: busybox:1\n"
	for path, content := range map[string]string{
		good: pod + "    resources: {requests: {cpu: 1}}\n",
		warn: pod,
		bad:  "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		args     []string
		wantCode int // 0 ok, 1 problems, 2 tool failure
		wantOut  string
	}{
		{[]string{good}, 0, "1 files, 1 pods: 0 errors, 0 warnings"},
		{[]string{warn}, 0, "warn.yaml:6: spec.containers[0].resources: Not recommended"},
		{[]string{"--strict", warn}, 1, "0 errors, 1 warnings"},
		{[]string{bad}, 1, "bad.yaml:4: spec.containers: Required value (error)"},
		{[]string{"-o", "json", bad}, 1, `"type": "Required value"`},
		{[]string{filepath.Join(dir, "missing.yaml")}, 2, ""},
		{[]string{"-o", "yaml", good}, 2, ""},
		{[]string{}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			cmd := newRootCmd()
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(append([]string{"validate"}, tt.args...))
			err := cmd.Execute()
			code := 0
			var ec exitCodeError
			switch {
			case errors.As(err, &ec):
				code = ec.code
			case err != nil:
				code = 2
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d (err %v), want %d; output:\n%s", code, err, tt.wantCode, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output does not contain %q:\n%s", tt.wantOut, out.String())
			}
		})
	}
}
