package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose/bundle/talostest"
	"github.com/spdoc/spdoc/internal/nextstep"
)

// TestTalosBundleNextStepsRun: every spdoc command a report on one node folder of a multi-node
// talosctl support bundle prints names that folder (--bundle-node), and run as printed through
// the root command it reads that one node only and succeeds.
func TestTalosBundleNextStepsRun(t *testing.T) {
	dir := talostest.Unzip(t, talosBundle)
	for _, src := range [][]string{{"--bundle-in", talosBundle}, {"--root", dir}} {
		t.Run(src[0], func(t *testing.T) {
			reports := diagnoseReports(t, src...)
			if len(reports) != 2 {
				t.Fatalf("%d reports, want one per node folder", len(reports))
			}
			seen := map[string]bool{}
			for _, r := range reports {
				data, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				var texts []string
				collectStrings(t, data, &texts)
				folder := ""
				for _, s := range texts {
					if _, f, ok := strings.Cut(s, "cannot show about node "); ok {
						folder, _, _ = strings.Cut(f, " ")
					}
				}
				if folder == "" {
					t.Fatalf("report of %s names no node folder", r.Node.Name)
				}
				seen[folder] = true
				cmds := nextSteps(texts)
				if len(cmds) < 2 {
					t.Fatalf("report of %s: %d next-step commands, want the logs ones at least: %q", folder, len(cmds), cmds)
				}
				for _, c := range cmds {
					args := shellSplit(t, c)
					if i := indexOf(args, "--bundle-node"); i < 0 || i+1 >= len(args) || args[i+1] != folder {
						t.Errorf("report of %s: next step %q does not name --bundle-node %s", folder, c, folder)
						continue
					}
					out, err := runCmd(t, args[1:]...)
					switch {
					case args[1] == "diagnose" && exitCode(err) == 1, err == nil:
					default:
						t.Errorf("report of %s: %q: %v\n%.500s", folder, c, err, out)
						continue
					}
					if strings.TrimSpace(out) == "" {
						t.Errorf("report of %s: %q printed nothing", folder, c)
					}
					for _, l := range strings.Split(out, "\n") {
						if strings.HasPrefix(l, "10.5.0.") {
							t.Errorf("report of %s: %q read several node folders: %q", folder, c, l)
							break
						}
					}
				}
			}
			if !seen["10.5.0.2"] || !seen["10.5.0.3"] {
				t.Errorf("reports about folders %v, want 10.5.0.2 and 10.5.0.3", seen)
			}
		})
	}
}

var nodeStep = regexp.MustCompile(`\bspdoc (logs|get|containers|diagnose|tui)\b`)

// nextSteps cuts the spdoc commands that read a node out of report texts: from "spdoc" to the end
// of the clause (";", " (", ", ", " to ", " then "); those for the live node are left out.
func nextSteps(texts []string) []string {
	var out []string
	for _, s := range texts {
		for _, m := range nodeStep.FindAllStringIndex(s, -1) {
			if strings.HasSuffix(s[:m[0]], nextstep.LiveNode) || strings.HasPrefix(s[m[0]:], "spdoc diagnose — ") {
				continue
			}
			c := s[m[0]:]
			for _, end := range []string{";", " (", ", ", " to ", " then "} {
				if i := strings.Index(c, end); i >= 0 {
					c = c[:i]
				}
			}
			out = append(out, c)
		}
	}
	return out
}

func collectStrings(t *testing.T, data []byte, out *[]string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			*out = append(*out, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// shellSplit splits a command the way a POSIX shell does for the quoting nextstep.ShellWord uses.
func shellSplit(t *testing.T, s string) []string {
	t.Helper()
	var args []string
	var cur strings.Builder
	in, word := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			in, word = !in, true
		case r == ' ' && !in:
			if word {
				args = append(args, cur.String())
				cur.Reset()
				word = false
			}
		default:
			cur.WriteRune(r)
			word = true
		}
	}
	if in {
		t.Fatalf("unterminated quote in %q", s)
	}
	if word {
		args = append(args, cur.String())
	}
	return args
}

func indexOf(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}
