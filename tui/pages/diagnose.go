package pages

import (
	"bytes"
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/tui/common"
)

// Diagnose is the full report of the node in a scrollable view, with a key to save it as
// markdown for a ticket.
type Diagnose struct {
	c      *common.Common
	env    *common.Env
	vp     viewport.Model
	report *diagnose.Report
	text   string
	width  int
	height int
}

// NewDiagnose returns the diagnose page.
func NewDiagnose(c *common.Common, env *common.Env) *Diagnose {
	vp := viewport.New(0, 0)
	km := c.KeyMap
	vp.KeyMap = viewport.KeyMap{Up: km.Up, Down: km.Down, PageUp: km.PageUp, PageDown: km.PageDown,
		HalfPageUp: key.NewBinding(key.WithDisabled()), HalfPageDown: key.NewBinding(key.WithDisabled()),
		Left: key.NewBinding(key.WithDisabled()), Right: key.NewBinding(key.WithDisabled())}
	vp.MouseWheelEnabled = true
	return &Diagnose{c: c, env: env, vp: vp}
}

// SetSize sets the page size.
func (d *Diagnose) SetSize(width, height int) {
	d.width, d.height = width, height
	d.vp.Width, d.vp.Height = max(width-2, 1), max(height-2, 1)
	d.vp.SetContent(d.text)
}

// SetReport renders r as text into the view, keeping the scroll position.
func (d *Diagnose) SetReport(r *diagnose.Report) {
	d.report = r
	if r == nil || d.env.Render == nil {
		d.text = "no report yet"
	} else {
		var b bytes.Buffer
		if err := d.env.Render(&b, r, "text"); err != nil {
			d.text = fmt.Sprintf("rendering the report: %v", err)
		} else {
			d.text = b.String()
		}
	}
	off := d.vp.YOffset
	d.vp.SetContent(d.text)
	d.vp.SetYOffset(off)
}

// Text is the rendered report.
func (d *Diagnose) Text() string { return d.text }

// Update scrolls and saves.
func (d *Diagnose) Update(msg tea.Msg) tea.Cmd {
	km := d.c.KeyMap
	if msg, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(msg, km.SaveMarkdown):
			return d.save()
		case key.Matches(msg, km.Top):
			d.vp.GotoTop()
			return nil
		case key.Matches(msg, km.Bottom):
			d.vp.GotoBottom()
			return nil
		}
	}
	var cmd tea.Cmd
	d.vp, cmd = d.vp.Update(msg)
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
	return []key.Binding{km.Up, km.Down, km.PageDown, km.SaveMarkdown, km.Back, km.Quit}
}

// FullHelp is every key of the page.
func (d *Diagnose) FullHelp() [][]key.Binding {
	km := d.c.KeyMap
	return [][]key.Binding{common.NavigationHelp(km), {km.SaveMarkdown, km.Back, km.Help, km.Quit}}
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
