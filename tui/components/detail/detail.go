// Package detail is the top of the right pane: the selected pod's status and its root-cause
// finding with evidence and the next step.
package detail

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/tui/common"
	"github.com/spdoc/spdoc/tui/components/podlist"
)

// MaxEvidence is how many evidence lines the pane shows (the diagnose view shows all).
const MaxEvidence = 3

// Model is the status/finding pane.
type Model struct {
	c             *common.Common
	item          *podlist.Item
	container     string
	previous      bool
	width, height int
}

// New returns an empty pane.
func New(c *common.Common) *Model { return &Model{c: c} }

// SetSize sets the outer size (border included).
func (m *Model) SetSize(width, height int) { m.width, m.height = width, height }

// SetItem shows item (nil: nothing selected) with the container whose logs are shown.
func (m *Model) SetItem(item *podlist.Item, container string, previous bool) {
	m.item, m.container, m.previous = item, container, previous
}

// ShortHelp is empty: the pane has no keys of its own.
func (m *Model) ShortHelp() []key.Binding { return nil }

// FullHelp is empty: the pane has no keys of its own.
func (m *Model) FullHelp() [][]key.Binding { return nil }

// Lines renders the content (unboxed, unwrapped to width) so the owner can size the pane to it.
func (m *Model) Lines(width int) []string {
	st := m.c.Styles
	it := m.item
	if it == nil {
		return []string{st.Dim.Render("no static pod selected")}
	}
	var out []string
	wrap := func(prefix, s string, style func(...string) string) {
		for i, l := range strings.Split(ansi.Wordwrap(s, max(width-ansi.StringWidth(prefix), 10), ""), "\n") {
			p := prefix
			if i > 0 {
				p = strings.Repeat(" ", ansi.StringWidth(prefix))
			}
			out = append(out, p+style(l))
		}
	}
	if p := it.Pod; p != nil {
		head := fmt.Sprintf("%s/%s  %s", p.Namespace, p.Name, it.Badge)
		if p.Restarts > 0 {
			head += fmt.Sprintf("  restarts %d", p.Restarts)
		}
		if p.KubeletName != "" {
			head += "  pod " + p.KubeletName
		}
		out = append(out, st.Header.Render(head))
		facts := "manifest " + p.Manifest
		if p.StatusSource != "" {
			facts += " · status from " + p.StatusSource
		}
		out = append(out, st.Dim.Render(facts))
		for _, c := range p.Containers {
			l := fmt.Sprintf("%s: %s", c.Name, c.State)
			if c.Ready {
				l += " ready"
			}
			if c.Waiting != "" {
				l += " waiting " + c.Waiting
			}
			if c.RestartCount > 0 {
				l += fmt.Sprintf(" restarts %d", c.RestartCount)
			}
			if c.ExitCode != nil && c.State != "running" {
				l += fmt.Sprintf(" exit %d", *c.ExitCode)
			}
			if c.Reason != "" {
				l += " (" + c.Reason + ")"
			}
			mark := "  "
			if c.Name == m.container {
				mark = "▸ "
			}
			out = append(out, mark+l)
		}
	} else {
		out = append(out, st.Header.Render(fmt.Sprintf("%s  %s", it.Manifest, it.Badge)))
		out = append(out, st.Dim.Render("this file defines no pod the kubelet could decode"))
	}
	f := it.Top
	if f == nil {
		out = append(out, st.Hint.Render("✓ no problems found"))
		return out
	}
	sev := st.Error
	icon := "✗"
	switch {
	case f.History:
		sev, icon = st.Dim, "◷"
	case f.Severity == diagnose.SeverityWarning:
		sev, icon = st.Warning, "!"
	case f.Severity == diagnose.SeverityInfo:
		sev, icon = st.Info, "i"
	}
	out = append(out, "")
	wrap(sev.Render(icon+" ")+"", f.Title+" ["+string(f.Kind)+"]", sev.Render)
	if f.Detail != "" {
		wrap("  ", f.Detail, func(s ...string) string { return strings.Join(s, "") })
	}
	for i, e := range f.Evidence {
		if i == MaxEvidence {
			out = append(out, st.Dim.Render(fmt.Sprintf("  … %d more evidence lines (d: full report)", len(f.Evidence)-i)))
			break
		}
		l := "  │ "
		if e.Count > 1 {
			l += fmt.Sprintf("×%d ", e.Count)
		}
		l += e.Line
		out = append(out, st.Dim.Render(ansi.Truncate(l, width, "…")))
	}
	if f.Hint != "" {
		wrap("  → ", f.Hint, st.Hint.Render)
	}
	if n := m.otherFindings(); n > 0 {
		out = append(out, st.Dim.Render(fmt.Sprintf("  + %d more findings (d: full report)", n)))
	}
	return out
}

func (m *Model) otherFindings() int {
	var fs []diagnose.Finding
	switch {
	case m.item.Pod != nil:
		fs = m.item.Pod.Findings
	case m.item.File != nil:
		fs = m.item.File.Findings
	}
	return max(len(fs)-1, 0)
}

// View draws the pane.
func (m *Model) View() string {
	title := "status"
	if m.item != nil {
		title = "status · " + m.item.Label()
		if m.previous {
			title += " · previous instance"
		}
	}
	return m.c.Box(title, m.Lines(max(m.width-2, 1)), m.width, m.height, false)
}
