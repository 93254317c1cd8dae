package diagnose

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// NPDMaxLength is node-problem-detector's default max_output_length for custom plugins.
const NPDMaxLength = 80

// Problem is one current root cause of a report, where it sits and what it is.
type Problem struct {
	Where   string // "node", "ns/pod" or the manifest file
	Finding Finding
}

// RootCauses lists the report's current problems that nothing else explains (Cause empty, not
// history, error before warning), node-level first since they explain pods; within a level in
// report order, which is root cause first.
func RootCauses(r *Report) []Problem {
	var errs, warns []Problem
	add := func(where string, fs []Finding) {
		for _, f := range fs {
			if f.History || f.Cause != "" {
				continue
			}
			switch f.Severity {
			case SeverityError:
				errs = append(errs, Problem{where, f})
			case SeverityWarning:
				warns = append(warns, Problem{where, f})
			}
		}
	}
	add("node", r.Node.Findings)
	for _, p := range r.Pods {
		add(p.Namespace+"/"+p.Name, p.Findings)
	}
	for _, f := range r.Files {
		add(f.Path, f.Findings)
	}
	return append(errs, warns...)
}

// renderNPD writes the one line node-problem-detector's custom plugin contract reads from stdout
// (the exit code, 0 OK or 1 problem, is the caller's): the root cause first, then a count of the
// rest, cut to width characters.
func renderNPD(w io.Writer, r *Report, width int) error {
	if width <= 0 {
		width = NPDMaxLength
	}
	probs := RootCauses(r)
	var line string
	switch len(probs) {
	case 0:
		line = fmt.Sprintf("static pods healthy (%d on %s)", len(r.Pods), nodeLabel(r))
	default:
		first := probs[0]
		line = fmt.Sprintf("%s: %s: %s", first.Where, first.Finding.Kind, first.Finding.Title)
		if n := len(probs) - 1; n > 0 {
			suffix := fmt.Sprintf(" (+%d more)", n)
			line = cutRunes(line, width-utf8.RuneCountInString(suffix)) + suffix
		}
	}
	line = strings.Join(strings.Fields(line), " ") // one line, whatever the titles hold
	_, err := fmt.Fprintln(w, cutRunes(line, width))
	return err
}

func nodeLabel(r *Report) string {
	if r.Node.Name != "" {
		return r.Node.Name
	}
	return "this node"
}

// cutRunes shortens s to at most n runes, ending in "…" when cut.
func cutRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}
