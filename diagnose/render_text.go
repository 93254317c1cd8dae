package diagnose

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spdoc/spdoc/internal/podview"
)

type textStyles struct {
	on                           bool
	err, warn, info, ok, dim, hd lipgloss.Style
}

func newTextStyles(w io.Writer, color bool) textStyles {
	if !color {
		return textStyles{}
	}
	re := lipgloss.NewRenderer(w)
	re.SetColorProfile(termenv.ANSI)
	return textStyles{
		on:   true,
		err:  re.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		warn: re.NewStyle().Foreground(lipgloss.Color("3")).Bold(true),
		info: re.NewStyle().Foreground(lipgloss.Color("4")),
		ok:   re.NewStyle().Foreground(lipgloss.Color("2")).Bold(true),
		dim:  re.NewStyle().Faint(true),
		hd:   re.NewStyle().Bold(true),
	}
}

func (s textStyles) r(st lipgloss.Style, text string) string {
	if !s.on {
		return text
	}
	return st.Render(text)
}

func (s textStyles) sev(f Finding) string {
	switch {
	case f.History:
		return s.r(s.dim, "history")
	case f.Cause != "":
		return s.r(s.dim, "because")
	case f.Severity == SeverityError:
		return s.r(s.err, "ERROR  ")
	case f.Severity == SeverityWarning:
		return s.r(s.warn, "WARNING")
	}
	return s.r(s.info, "info   ")
}

func (s textStyles) state(state podview.State) string {
	switch state {
	case podview.Running:
		return s.r(s.ok, string(state))
	case podview.Unknown:
		return s.r(s.dim, string(state))
	case podview.Gone:
		return s.r(s.warn, string(state))
	}
	return s.r(s.err, string(state))
}

// renderText writes the report for a support engineer: summary, node problems, then each pod
// (root cause first, evidence indented, "→" next step), then file-level findings.
func renderText(out io.Writer, r *Report, o RenderOptions) error {
	w := bufio.NewWriter(out)
	st := newTextStyles(out, o.Color)
	name := orDefault(r.Node.Name, "(unknown node)")
	fmt.Fprintf(w, "%s %s\n", st.r(st.hd, "spdoc diagnose — node"), st.r(st.hd, name))
	head := fmt.Sprintf("manifests %s · runtime %s · kubelet log %s", orDefault(r.Node.ManifestDir, "?"), orDefault(r.Node.Runtime, "?"), orDefault(r.Node.KubeletLog, "none"))
	if o.WrapAll {
		for _, l := range wrapHard(head, o.Width-2) {
			fmt.Fprintf(w, "  %s\n", l)
		}
	} else {
		fmt.Fprintf(w, "  %s\n", head)
	}
	if r.Node.KubeletAPI != "" {
		fmt.Fprintf(w, "  kubelet API %s\n", r.Node.KubeletAPI)
	}
	if l := r.Node.Log.String(); l != "" && o.WrapAll {
		for _, l := range wrapHard("kubelet log read as "+l, o.Width-2) {
			fmt.Fprintf(w, "  %s\n", l)
		}
	} else if l != "" {
		fmt.Fprintf(w, "  kubelet log read as %s\n", l)
	}
	if !r.Taken.IsZero() {
		fmt.Fprintf(w, "  taken %s UTC\n", fmtTS(r.Taken))
	}
	sum := r.Summary
	verdict := st.r(st.ok, "healthy")
	if r.Problems() {
		verdict = st.r(st.err, "PROBLEMS FOUND")
	}
	fmt.Fprintf(w, "  %s: %s, %d healthy · %s, %s\n\n", verdict, plural(sum.Pods, "static pod", "static pods"), sum.Healthy,
		plural(sum.Errors, "error", "errors"), plural(sum.Warnings, "warning", "warnings"))
	textPodTable(w, st, r.Pods, o.Width)
	common, commonOrder := commonAdvice(r.Pods)

	if len(r.Node.Findings) > 0 {
		fmt.Fprintf(w, "%s\n", st.r(st.hd, "NODE"))
		for _, f := range r.Node.Findings {
			textFinding(w, st, f, o)
		}
		fmt.Fprintln(w)
	}
	textCommonAdvice(w, st, common, commonOrder, o)
	for _, p := range podsWorstFirst(r.Pods) {
		head := fmt.Sprintf("POD %s/%s", p.Namespace, p.Name)
		fmt.Fprintf(w, "%s  %s", st.r(st.hd, head), st.state(p.State))
		if p.Restarts > 0 {
			fmt.Fprintf(w, "  restarts %d", p.Restarts)
		}
		fmt.Fprintln(w)
		var facts []string
		if p.Manifest != "" {
			facts = append(facts, "manifest "+p.Manifest)
		}
		if p.KubeletName != "" {
			facts = append(facts, "kubelet name "+p.KubeletName)
		}
		if p.UID != "" {
			facts = append(facts, "uid "+p.UID)
		}
		if p.StatusSource != "" {
			facts = append(facts, "status from "+p.StatusSource)
		}
		if len(facts) > 0 && o.WrapAll {
			for _, l := range wrapHard(strings.Join(facts, " · "), o.Width-2) {
				fmt.Fprintf(w, "  %s\n", st.r(st.dim, l))
			}
		} else if len(facts) > 0 {
			fmt.Fprintf(w, "  %s\n", st.r(st.dim, strings.Join(facts, " · ")))
		}
		for _, c := range p.Containers {
			line := fmt.Sprintf("container %s: %s", c.Name, c.State)
			if c.ExitCode != nil {
				line += fmt.Sprintf(" (exit %d", *c.ExitCode)
				if c.Reason != "" {
					line += ", " + c.Reason
				}
				line += ")"
			}
			if c.Waiting != "" {
				line += ", waiting: " + c.Waiting
			}
			if p.Ready != nil {
				line += ", ready " + fmt.Sprint(c.Ready)
			}
			if c.RestartCount > 0 {
				line += ", " + plural(c.RestartCount, "restart", "restarts")
			}
			if c.Image != "" {
				line += ", image " + c.Image
			}
			fmt.Fprintf(w, "  %s\n", st.r(st.dim, line))
		}
		if problemsOf(p.Findings) == 0 && len(p.Findings) == 0 {
			fmt.Fprintf(w, "  %s no findings\n", st.r(st.ok, "✓"))
		}
		for _, f := range p.Findings {
			if f.Severity == SeverityInfo && f.Kind == KindManifestWarning && common[f.Title] != nil {
				continue // printed once under ON SEVERAL PODS
			}
			textFinding(w, st, f, o)
		}
		fmt.Fprintln(w)
	}
	var files []FileReport
	for _, f := range r.Files {
		if len(f.Findings) > 0 {
			files = append(files, f)
		}
	}
	if len(files) > 0 {
		fmt.Fprintf(w, "%s\n", st.r(st.hd, "MANIFEST FILES"))
		for _, f := range files {
			fmt.Fprintf(w, "  %s\n", st.r(st.hd, f.Path))
			for _, fd := range f.Findings {
				textFinding(w, st, fd, o)
			}
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

func textFinding(w io.Writer, st textStyles, f Finding, o RenderOptions) {
	width := o.Width
	title := f.Title
	if f.Severity == SeverityInfo && f.Kind == KindManifestWarning {
		// advice, not a problem: one line with where it is
		where := ""
		if len(f.Evidence) > 0 {
			where = " (" + strings.TrimPrefix(f.Evidence[0].Source, "manifest:") + ")"
		}
		if o.WrapAll {
			for i, l := range wrapHard(string(f.Kind)+"  "+title+where, width-10) {
				lead := "          "
				if i == 0 {
					lead = "  " + st.sev(f) + " "
				}
				fmt.Fprintf(w, "%s%s\n", lead, st.r(st.dim, l))
			}
			return
		}
		fmt.Fprintf(w, "  %s %s\n", st.sev(f), st.r(st.dim, string(f.Kind)+"  "+title+where))
		return
	}
	const ind = "            "
	if o.WrapAll {
		lead := 2 + 8 + len(f.Kind) + 2
		for i, l := range wrapHard(title, width-lead) {
			if i == 0 {
				fmt.Fprintf(w, "  %s %s  %s\n", st.sev(f), st.r(st.hd, string(f.Kind)), l)
			} else {
				fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", lead), l)
			}
		}
	} else {
		fmt.Fprintf(w, "  %s %s  %s\n", st.sev(f), st.r(st.hd, string(f.Kind)), title)
	}
	for _, l := range wrap(f.Detail, width-len(ind)) {
		fmt.Fprintf(w, "%s%s\n", ind, l)
	}
	for i, e := range f.Evidence {
		if i == len(f.Evidence)-1 && f.EvidenceOmitted > 0 {
			fmt.Fprintf(w, "%s%s\n", ind, st.r(st.dim, fmt.Sprintf("  … %d more distinct lines …", f.EvidenceOmitted)))
		}
		when := evidenceWhen(e)
		meta := e.Source
		if when != "" {
			meta = when + "  " + e.Source
		}
		line := e.Line
		if len(line) > 4*width {
			line = line[:4*width] + "…"
		}
		if o.WrapAll {
			for _, l := range wrapHard(meta, width-len(ind)-2) {
				fmt.Fprintf(w, "%s%s\n", ind, st.r(st.dim, "│ "+l))
			}
			for _, l := range wrapHard(line, width-len(ind)-4) {
				fmt.Fprintf(w, "%s│   %s\n", ind, l)
			}
			continue
		}
		fmt.Fprintf(w, "%s%s\n", ind, st.r(st.dim, "│ "+meta))
		fmt.Fprintf(w, "%s│   %s\n", ind, line)
	}
	if f.Hint != "" && o.WrapAll {
		for i, l := range wrapHard(f.Hint, width-len(ind)-2) {
			mark := "  "
			if i == 0 {
				mark = st.r(st.ok, "→") + " "
			}
			fmt.Fprintf(w, "%s%s%s\n", ind, mark, l)
		}
	} else if f.Hint != "" {
		fmt.Fprintf(w, "%s%s %s\n", ind, st.r(st.ok, "→"), f.Hint)
	}
}

// podsWorstFirst orders pods for a reader: current errors first, then warnings, then the rest;
// the report's order (by ID) within each group.
func podsWorstFirst(pods []PodReport) []PodReport {
	out := append([]PodReport(nil), pods...)
	rank := func(p PodReport) int {
		best := 3
		for _, f := range p.Findings {
			if f.History || f.Cause != "" {
				continue
			}
			if r := sevRank(f.Severity); r < best {
				best = r
			}
		}
		return best
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}
