package diagnose

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// textPodTable writes one line per pod before the details, worst first, as the markdown's
// "Static pods" table: POD STATE RESTARTS TOP FINDING, the last column cut to the width.
func textPodTable(w io.Writer, st textStyles, pods []PodReport, width int) {
	if len(pods) == 0 {
		return
	}
	type row struct{ pod, state, restarts, top string }
	rows := make([]row, 0, len(pods))
	podW, stateW := len("POD"), len("STATE")
	for _, p := range podsWorstFirst(pods) {
		top := "—"
		for _, f := range p.Findings {
			if !f.History && f.Cause == "" && f.Severity != SeverityInfo {
				top = string(f.Kind) + ": " + f.Title
				break
			}
		}
		r := row{p.Namespace + "/" + p.Name, string(p.State), fmt.Sprint(p.Restarts), top}
		podW, stateW = max(podW, len([]rune(r.pod))), max(stateW, len(r.state))
		rows = append(rows, r)
	}
	room := max(width-2-podW-2-stateW-2-len("RESTARTS")-2, 16)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  POD\tSTATE\tRESTARTS\tTOP FINDING\n")
	for _, r := range rows {
		top := r.top
		if rr := []rune(top); len(rr) > room {
			top = string(rr[:room-1]) + "…"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.pod, r.state, r.restarts, top)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// commonAdvice finds the advice (info ManifestWarning) that three or more pods share word for
// word — the same BestEffort note on every pod — so it is printed once, with the pods it is
// about, instead of once per pod. The keys are the titles.
func commonAdvice(pods []PodReport) (common map[string][]string, order []string) {
	common = map[string][]string{}
	for _, p := range pods {
		seen := map[string]bool{}
		for _, f := range p.Findings {
			if f.Severity != SeverityInfo || f.Kind != KindManifestWarning || seen[f.Title] {
				continue
			}
			seen[f.Title] = true
			if len(common[f.Title]) == 0 {
				order = append(order, f.Title)
			}
			common[f.Title] = append(common[f.Title], p.Namespace+"/"+p.Name)
		}
	}
	kept := order[:0]
	for _, t := range order {
		if len(common[t]) >= 3 {
			kept = append(kept, t)
		} else {
			delete(common, t)
		}
	}
	return common, kept
}

// textCommonAdvice writes the shared advice once: the note and the pods it is about.
func textCommonAdvice(w io.Writer, st textStyles, common map[string][]string, order []string, o RenderOptions) {
	width := o.Width
	if len(order) == 0 {
		return
	}
	fmt.Fprintf(w, "%s\n", st.r(st.hd, "ON SEVERAL PODS"))
	const ind = "            "
	for _, t := range order {
		pods := common[t]
		if o.WrapAll {
			textFinding(w, st, Finding{Severity: SeverityInfo, Kind: KindManifestWarning, Title: t}, o)
		} else {
			fmt.Fprintf(w, "  %s %s\n", st.sev(Finding{Severity: SeverityInfo}), st.r(st.dim, string(KindManifestWarning)+"  "+t))
		}
		for _, l := range wrapHard(fmt.Sprintf("on %d pods: %s", len(pods), strings.Join(pods, ", ")), width-len(ind)) {
			fmt.Fprintf(w, "%s%s\n", ind, st.r(st.dim, l))
		}
	}
	fmt.Fprintln(w)
}

// wrapHard wraps s at width like wrap, and also breaks a word longer than the width (a path,
// a URL), so that nothing passes the width.
func wrapHard(s string, width int) []string {
	if width < 8 {
		width = 8
	}
	var out []string
	for _, l := range wrap(s, width) {
		r := []rune(l)
		for len(r) > width {
			out = append(out, string(r[:width]))
			r = r[width:]
		}
		out = append(out, string(r))
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}
