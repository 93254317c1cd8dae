package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// RenderOptions tune the text renderer. The caller decides Color (stdout is a TTY and NO_COLOR
// is unset); Width wraps prose (default 100).
type RenderOptions struct {
	Color bool
	Width int
	// WrapAll wraps evidence lines, hints and headers at Width too (a terminal, or --width
	// given), so nothing passes it; otherwise they stay one line each, for grep.
	WrapAll bool
}

// Formats are the output formats Render accepts. "npd" is node-problem-detector's custom plugin
// output: one line, root cause first, cut at Width (default 80, NPD's max_output_length).
var Formats = []string{"text", "markdown", "json", "npd"}

// Render writes r in format: "text" (default when empty), "markdown" or "json".
func Render(w io.Writer, r *Report, format string, opts RenderOptions) error {
	if r == nil {
		r = &Report{}
	}
	if format == "npd" {
		return renderNPD(w, r, opts.Width)
	}
	if opts.Width <= 0 {
		opts.Width = 100
	}
	switch format {
	case "", "text":
		return renderText(w, r, opts)
	case "markdown", "md":
		return renderMarkdown(w, r)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r.normalized())
	}
	return fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// normalized returns a copy whose lists are empty instead of nil, so JSON has [] not null.
func (r *Report) normalized() *Report {
	c := *r
	fix := func(fs []Finding) []Finding {
		out := make([]Finding, len(fs))
		copy(out, fs)
		for i := range out {
			if out[i].Evidence == nil {
				out[i].Evidence = []Evidence{}
			}
		}
		return out
	}
	c.Node.Findings = fix(c.Node.Findings)
	c.Pods = make([]PodReport, len(r.Pods))
	for i, p := range r.Pods {
		p.Findings = fix(p.Findings)
		c.Pods[i] = p
	}
	c.Files = make([]FileReport, len(r.Files))
	for i, f := range r.Files {
		f.Findings = fix(f.Findings)
		c.Files[i] = f
	}
	return &c
}

// current splits findings into current problems and history/info.
func problemsOf(fs []Finding) (n int) {
	for _, f := range fs {
		if !f.History && f.Severity != SeverityInfo {
			n++
		}
	}
	return n
}

func fmtTS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func evidenceWhen(e Evidence) string {
	s := fmtTS(e.TS)
	if e.Count > 1 {
		s += fmt.Sprintf(" ×%d", e.Count)
		if !e.Last.IsZero() {
			s += " until " + e.Last.UTC().Format("15:04:05")
		}
	}
	return strings.TrimSpace(s)
}

// wrap breaks s into lines of at most width runes (words longer than width stay whole).
func wrap(s string, width int) []string {
	var lines []string
	var cur strings.Builder
	n := 0
	for _, word := range strings.Fields(s) {
		wl := len([]rune(word))
		if n > 0 && n+1+wl > width {
			lines = append(lines, cur.String())
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(word)
		n += wl
	}
	if n > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}
