package pages

import (
	"bytes"
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/tui/common"
)

// Diagnose is the full report of the node in a scrollable view, with a key to save it as
// markdown for a ticket.
type Diagnose struct {
	docView
	env    *common.Env
	report *diagnose.Report
	width  int
	height int
}

// NewDiagnose returns the diagnose page.
func NewDiagnose(c *common.Common, env *common.Env) *Diagnose {
	return &Diagnose{docView: newDocView(c), env: env}
}

// SetSize sets the page size.
func (d *Diagnose) SetSize(width, height int) {
	d.width, d.height = width, height
	d.setSize(width, height)
}

// SetReport renders r as text into the view, keeping the scroll position.
func (d *Diagnose) SetReport(r *diagnose.Report) {
	d.report = r
	text := "no report yet"
	if r != nil && d.env.Render != nil {
		var b bytes.Buffer
		if err := d.env.Render(&b, r, "text"); err != nil {
			text = fmt.Sprintf("rendering the report: %v", err)
		} else {
			text = b.String()
		}
	}
	d.setText(text)
}

// ShowPod scrolls to the pod's section of the report (d at a selected pod), or to the file's.
func (d *Diagnose) ShowPod(ns, name, file string) {
	if name != "" && d.scrollTo("POD "+ns+"/"+name+" ") {
		return
	}
	if file != "" && d.scrollTo("  "+file) {
		return
	}
	d.vp.GotoTop()
}

// Text is the rendered report.
func (d *Diagnose) Text() string { return d.text }

// Update scrolls and saves.
func (d *Diagnose) Update(msg tea.Msg) tea.Cmd {
	km := d.c.KeyMap
	if k, ok := msg.(tea.KeyMsg); ok && !d.searching && key.Matches(k, km.SaveMarkdown) {
		return d.save()
	}
	cmd, _ := d.update(msg)
	return cmd
}

func (d *Diagnose) save() tea.Cmd {
	if d.report == nil || d.env.Render == nil {
		return status("no report to save yet", true)
	}
	node := d.report.Node.Name
	if node == "" {
		node = "unknown"
	}
	name := fmt.Sprintf("spdoc-report-%s-%s.md", safeName(node), d.env.Now().UTC().Format("20060102-150405"))
	var b bytes.Buffer
	if err := d.env.Render(&b, d.report, "markdown"); err != nil {
		return status(fmt.Sprintf("rendering markdown: %v", err), true)
	}
	return common.RequestSave("report", name, b.Bytes())
}

// ShortHelp is the footer help.
func (d *Diagnose) ShortHelp() []key.Binding {
	km := d.c.KeyMap
	return []key.Binding{km.Up, km.Down, km.PageDown, d.searchHelp(), km.NextMatch, km.SaveMarkdown, km.Back, km.Help, km.Quit}
}

// FullHelp is every key of the page.
func (d *Diagnose) FullHelp() [][]key.Binding {
	km := d.c.KeyMap
	return [][]key.Binding{common.NavigationHelp(km), {d.searchHelp(), km.NextMatch, km.SaveMarkdown, km.Back, km.Help, km.Quit}}
}

// View draws the report in a box.
func (d *Diagnose) View() string {
	title := "diagnose"
	if d.report != nil {
		title += " · node " + d.report.Node.Name
	}
	title += fmt.Sprintf(" · %3.f%%", d.vp.ScrollPercent()*100)
	return d.c.Box(title, common.Lines(d.vp.View()), d.width, d.height, true)
}
