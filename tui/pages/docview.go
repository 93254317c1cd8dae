package pages

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/spdoc/spdoc/tui/common"
	"github.com/spdoc/spdoc/tui/components/input"
)

// docView is a scrollable read-only text (the report, a manifest) with / search (smart case)
// and n for the next match, as in less.
type docView struct {
	c         *common.Common
	vp        viewport.Model
	text      string
	searching bool
	input     input.Model
	query     string
}

func newDocView(c *common.Common) docView {
	vp := viewport.New(0, 0)
	km := c.KeyMap
	vp.KeyMap = viewport.KeyMap{Up: km.Up, Down: km.Down, PageUp: km.PageUp, PageDown: km.PageDown,
		HalfPageUp: key.NewBinding(key.WithDisabled()), HalfPageDown: key.NewBinding(key.WithDisabled()),
		Left: key.NewBinding(key.WithDisabled()), Right: key.NewBinding(key.WithDisabled())}
	vp.MouseWheelEnabled = true
	return docView{c: c, vp: vp, input: input.Model{Prompt: "search /", Cursor: c.Styles.Selected, Dim: c.Styles.Dim}}
}

func (d *docView) setSize(width, height int) {
	d.vp.Width, d.vp.Height = max(width-2, 1), max(height-2, 1)
	d.vp.SetContent(d.text)
}

func (d *docView) setText(text string) {
	d.text = text
	off := d.vp.YOffset
	d.vp.SetContent(text)
	d.vp.SetYOffset(off)
}

// scrollTo puts the first line starting with prefix at the top; false when there is none.
func (d *docView) scrollTo(prefix string) bool {
	for i, l := range strings.Split(d.text, "\n") {
		if strings.HasPrefix(ansi.Strip(l), prefix) {
			d.vp.SetYOffset(i)
			return true
		}
	}
	return false
}

// find scrolls to the next line after from that contains the query (smart case), wrapping.
func (d *docView) find(from int) tea.Cmd {
	if d.query == "" {
		return nil
	}
	lines := strings.Split(d.text, "\n")
	q, fold := d.query, strings.ToLower(d.query) == d.query
	var hits []int
	for i, l := range lines {
		l = ansi.Strip(l)
		if fold {
			l = strings.ToLower(l)
		}
		if strings.Contains(l, q) {
			hits = append(hits, i)
		}
	}
	if len(hits) == 0 {
		return status(fmt.Sprintf("no line matches /%s/", d.query), true)
	}
	pick := 0
	for k, h := range hits {
		if h > from {
			pick = k
			break
		}
	}
	d.vp.SetYOffset(hits[pick])
	return status(fmt.Sprintf("/%s/: match %d of %d (n: next)", d.query, pick+1, len(hits)), false)
}

// update handles search and scrolling; handled is false for keys the page should look at.
func (d *docView) update(msg tea.Msg) (tea.Cmd, bool) {
	km := d.c.KeyMap
	k, ok := msg.(tea.KeyMsg)
	if ok && d.searching {
		switch k.Type {
		case tea.KeyEnter:
			d.searching = false
			d.query = d.input.Value()
			return d.find(d.vp.YOffset - 1), true
		case tea.KeyEsc:
			d.searching = false
			return nil, true
		}
		d.input.Update(k)
		return nil, true
	}
	if ok {
		switch {
		case key.Matches(k, km.Filter):
			d.searching = true
			d.input.SetValue(d.query)
			return nil, true
		case key.Matches(k, km.NextMatch):
			return d.find(d.vp.YOffset), true
		case key.Matches(k, km.Top):
			d.vp.GotoTop()
			return nil, true
		case key.Matches(k, km.Bottom):
			d.vp.GotoBottom()
			return nil, true
		}
	}
	var cmd tea.Cmd
	d.vp, cmd = d.vp.Update(msg)
	return cmd, false
}

// SearchView is the search input for the status row ("" when not searching).
func (d *docView) SearchView() string {
	if !d.searching {
		return ""
	}
	return d.input.View()
}

// Capturing reports whether keys are text for the search input.
func (d *docView) Capturing() bool { return d.searching }

func (d *docView) searchHelp() key.Binding {
	return key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search"))
}
