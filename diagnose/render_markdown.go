package diagnose

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// renderMarkdown writes the report for a ticket: a summary table, a section per pod, evidence in
// code blocks.
func renderMarkdown(out io.Writer, r *Report) error {
	w := bufio.NewWriter(out)
	fmt.Fprintf(w, "# spdoc diagnosis: node `%s`\n\n", orDefault(r.Node.Name, "unknown"))
	verdict := "healthy"
	if r.Problems() {
		verdict = "**problems found**"
	}
	fmt.Fprintf(w, "%s — %s, %d healthy, %s, %s.\n\n", verdict, plural(r.Summary.Pods, "static pod", "static pods"), r.Summary.Healthy,
		plural(r.Summary.Errors, "error", "errors"), plural(r.Summary.Warnings, "warning", "warnings"))
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| Manifest dir | `%s` |\n| Runtime | %s |\n| Kubelet log | `%s` |\n", mdCell(r.Node.ManifestDir), mdCell(r.Node.Runtime), mdCell(r.Node.KubeletLog))
	if r.Node.KubeletAPI != "" {
		fmt.Fprintf(w, "| Kubelet API | %s |\n", mdCell(r.Node.KubeletAPI))
	}
	if l := r.Node.Log.String(); l != "" {
		fmt.Fprintf(w, "| Read as | %s |\n", mdCell(l))
	}
	if !r.Taken.IsZero() {
		fmt.Fprintf(w, "| Taken | %s UTC |\n", fmtTS(r.Taken))
	}
	fmt.Fprintln(w)
	if len(r.Pods) > 0 {
		fmt.Fprintf(w, "## Static pods\n\n| Pod | State | Restarts | Top finding |\n|---|---|---|---|\n")
		for _, p := range r.Pods {
			top := "—"
			if len(p.Findings) > 0 && problemsOf(p.Findings[:1]) > 0 {
				f := p.Findings[0]
				top = fmt.Sprintf("%s: %s", f.Kind, f.Title)
			}
			fmt.Fprintf(w, "| `%s/%s` | %s | %d | %s |\n", p.Namespace, p.Name, p.State, p.Restarts, mdCell(top))
		}
		fmt.Fprintln(w)
	}
	if len(r.Node.Findings) > 0 {
		fmt.Fprintf(w, "## Node\n\n")
		for _, f := range r.Node.Findings {
			mdFinding(w, f)
		}
	}
	for _, p := range r.Pods {
		fmt.Fprintf(w, "## Pod `%s/%s` — %s\n\n", p.Namespace, p.Name, p.State)
		if p.Manifest != "" {
			fmt.Fprintf(w, "- manifest: `%s`\n", p.Manifest)
		}
		if p.KubeletName != "" {
			fmt.Fprintf(w, "- kubelet pod name: `%s`\n", p.KubeletName)
		}
		if p.UID != "" {
			fmt.Fprintf(w, "- UID: `%s`\n", p.UID)
		}
		if p.StatusSource != "" {
			fmt.Fprintf(w, "- status from: %s\n", p.StatusSource)
		}
		for _, c := range p.Containers {
			line := fmt.Sprintf("- container `%s`: %s", c.Name, c.State)
			if c.ExitCode != nil {
				line += fmt.Sprintf(", exit code %d", *c.ExitCode)
			}
			if c.Reason != "" {
				line += " (" + c.Reason + ")"
			}
			if c.Waiting != "" {
				line += ", waiting: " + c.Waiting
			}
			if p.Ready != nil {
				line += fmt.Sprintf(", ready %v", c.Ready)
			}
			line += ", " + plural(c.RestartCount, "restart", "restarts")
			fmt.Fprintln(w, line)
		}
		fmt.Fprintln(w)
		if len(p.Findings) == 0 {
			fmt.Fprintf(w, "No findings.\n\n")
		}
		for _, f := range p.Findings {
			mdFinding(w, f)
		}
	}
	var files []FileReport
	for _, f := range r.Files {
		if len(f.Findings) > 0 {
			files = append(files, f)
		}
	}
	if len(files) > 0 {
		fmt.Fprintf(w, "## Manifest files\n\n")
		for _, f := range files {
			fmt.Fprintf(w, "### `%s`\n\n", f.Path)
			for _, fd := range f.Findings {
				mdFinding(w, fd)
			}
		}
	}
	return w.Flush()
}

func mdFinding(w io.Writer, f Finding) {
	label := strings.ToUpper(string(f.Severity))
	switch {
	case f.History:
		label = "HISTORY"
	case f.Cause != "":
		label = "CONSEQUENCE of " + string(f.Cause)
	}
	fmt.Fprintf(w, "#### %s `%s` — %s\n\n", label, f.Kind, mdText(f.Title))
	if f.Detail != "" {
		fmt.Fprintf(w, "%s\n\n", mdText(f.Detail))
	}
	if len(f.Evidence) > 0 {
		fence := "```"
		for _, e := range f.Evidence {
			for strings.Contains(e.Line, fence) {
				fence += "`"
			}
		}
		fmt.Fprintf(w, "%s\n", fence)
		for i, e := range f.Evidence {
			if i == len(f.Evidence)-1 && f.EvidenceOmitted > 0 {
				fmt.Fprintf(w, "… %d more distinct lines …\n", f.EvidenceOmitted)
			}
			when := evidenceWhen(e)
			fmt.Fprintf(w, "# %s\n%s\n", strings.TrimSpace(when+"  "+e.Source), e.Line)
		}
		fmt.Fprintf(w, "%s\n\n", fence)
	}
	if f.Hint != "" {
		fmt.Fprintf(w, "**Next step:** %s\n\n", mdText(f.Hint))
	}
}

// mdCell makes s safe inside a table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// mdText keeps prose on one paragraph and stops it from opening HTML or headings.
func mdText(s string) string {
	s = strings.ReplaceAll(s, "<", "&lt;")
	return strings.Join(strings.Fields(s), " ")
}
