package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDiagnoseNPD checks the node-problem-detector custom plugin contract: exactly one line on
// stdout within the length NPD keeps, exit 0 when healthy, 1 on a problem (root cause first),
// 2 when spdoc cannot read the node.
func TestDiagnoseNPD(t *testing.T) {
	healthy := healthyCopiedNode(t)
	cases := []struct {
		name  string
		args  []string
		code  int
		width int
		want  string
	}{
		{"problem, root cause first", []string{"diagnose", "--root", "../../diagnose/testdata/handmade", "--node-name", "node1", "--npd"}, 1, 80, "node: NetworkNotReady: "},
		{"wider message", []string{"diagnose", "--root", "../../testdata/nodes/broken", "-o", "npd", "--width", "300"}, 1, 300, "(+"},
		{"healthy", []string{"diagnose", "--root", healthy, "--node-name", "node1", "--npd"}, 0, 80, "static pods healthy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runSpdoc(t, tc.args...)
			code := 0
			var ec exitCodeError
			if errors.As(err, &ec) {
				code = ec.code
			} else if err != nil {
				code = 2
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d (%v)\n%s", code, tc.code, err, out)
			}
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Errorf("want exactly one line, got %q", out)
			}
			line := strings.TrimSuffix(out, "\n")
			if n := utf8.RuneCountInString(line); n > tc.width {
				t.Errorf("line is %d characters, NPD keeps %d: %q", n, tc.width, line)
			}
			if !strings.Contains(line, tc.want) {
				t.Errorf("line %q lacks %q", line, tc.want)
			}
		})
	}
	if _, err := runSpdoc(t, "diagnose", "--root", filepath.Join(healthy, "nope"), "--npd"); err == nil {
		t.Error("unreadable root: want an error (exit 2, NPD Unknown)")
	}
}
