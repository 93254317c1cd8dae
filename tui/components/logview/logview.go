// Package logview is a log pane: a bounded Store of lines, of which only the visible window is
// rendered, with follow, wrap, timestamps and a regex filter (matches highlighted, "!" inverts).
package logview

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/spdoc/spdoc/tui/common"
)

// Model is one log pane.
type Model struct {
	c     *common.Common
	store Store

	// Title is drawn in the top border; Status (e.g. "reconnecting: …") after the flags.
	Title  string
	Status string
	// Empty is shown when the pane has no lines.
	Empty string
	// ShowStream prefixes every line with its stream (used by the interleaved pane).
	ShowStream bool
	// Pinned lines stay at the top of the pane, wrapped, whatever the scroll, follow and wrap
	// state (a failed instance's last words), under PinnedTitle; they take at most all rows but
	// one, keeping the newest.
	Pinned      []Line
	PinnedTitle string

	width, height int
	focused       bool
	follow        bool
	wrap          bool
	timestamps    bool
	offset        int // matching lines between the bottom of the window and the newest line

	filter string
	re     *regexp.Regexp
	invert bool

	// With a filter, matches holds the sequence numbers (count of lines appended before it) of
	// the kept lines that pass it, oldest first, so a frame and a scroll cost O(visible lines),
	// not O(buffer), however rare the matches. The regex runs once per line, on Append.
	total   uint64
	matches []uint64
	mstart  int
}

// New returns a following pane over store.
func New(c *common.Common, title string, store Store) *Model {
	return &Model{c: c, store: store, Title: title, follow: true}
}

// SetSize sets the outer size (border included).
func (m *Model) SetSize(width, height int) { m.width, m.height = width, height }

// Width is the outer width.
func (m *Model) Width() int { return m.width }

// SetFocused marks the pane as the one keys go to.
func (m *Model) SetFocused(f bool) { m.focused = f }

// Focused reports whether keys go to this pane.
func (m *Model) Focused() bool { return m.focused }

// Store returns the pane's lines.
func (m *Model) Store() Store { return m.store }

// Following reports whether the pane sticks to the newest line.
func (m *Model) Following() bool { return m.follow }

// Wrapping reports whether long lines wrap.
func (m *Model) Wrapping() bool { return m.wrap }

// Timestamps reports whether timestamps are shown.
func (m *Model) Timestamps() bool { return m.timestamps }

// Offset is how many matching lines the window is above the newest one.
func (m *Model) Offset() int { return m.offset }

// Filter returns the filter expression as typed ("" none).
func (m *Model) Filter() string { return m.filter }

// Append adds lines. A paused pane keeps showing the same lines.
func (m *Model) Append(lines []Line) {
	n := 0
	for _, l := range lines {
		m.store.Append(l)
		m.total++
		if m.re == nil {
			n++
		} else if m.match(l) {
			m.matches = append(m.matches, m.total-1)
			n++
		}
	}
	if !m.follow {
		m.offset += n
	}
}

// MergeFrom replaces the pane's lines with those of a and b in time order.
func (m *Model) MergeFrom(a, b Store) {
	m.store.Reset()
	Merge(m.store, a, b)
	m.total = uint64(m.store.Len())
	m.rebuildMatches()
}

// oldest is the sequence number of the oldest kept line.
func (m *Model) oldest() uint64 { return m.total - uint64(m.store.Len()) }

// liveMatches drops the matches of lines the store no longer keeps and returns the rest.
func (m *Model) liveMatches() []uint64 {
	old := m.oldest()
	for m.mstart < len(m.matches) && m.matches[m.mstart] < old {
		m.mstart++
	}
	if m.mstart > 4096 && m.mstart > len(m.matches)/2 {
		m.matches = append(m.matches[:0], m.matches[m.mstart:]...)
		m.mstart = 0
	}
	return m.matches[m.mstart:]
}

func (m *Model) rebuildMatches() {
	m.matches, m.mstart = m.matches[:0], 0
	if m.re == nil {
		return
	}
	old := m.oldest()
	for i := 0; i < m.store.Len(); i++ {
		if m.match(m.store.At(i)) {
			m.matches = append(m.matches, old+uint64(i))
		}
	}
}

// Reset drops every line and goes back to following.
func (m *Model) Reset() {
	m.store.Reset()
	m.total, m.matches, m.mstart = 0, m.matches[:0], 0
	m.offset = 0
	m.follow = true
	m.Status = ""
}

// SetFilter sets the regex filter; a leading "!" keeps only lines that do not match; "" clears.
// Smart case, as in less and vim: a pattern without capitals ignores case.
func (m *Model) SetFilter(expr string) error {
	if expr == "" {
		m.filter, m.re, m.invert = "", nil, false
		m.offset = 0
		m.rebuildMatches()
		return nil
	}
	pat, invert := expr, false
	if strings.HasPrefix(pat, "!") {
		pat, invert = pat[1:], true
	}
	if strings.ToLower(pat) == pat {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return fmt.Errorf("filter %q: %w", expr, err)
	}
	m.filter, m.re, m.invert = expr, re, invert
	m.offset = 0
	m.rebuildMatches()
	return nil
}

// SetFollow turns following on (jumping to the newest line) or off.
func (m *Model) SetFollow(on bool) {
	m.follow = on
	if on {
		m.offset = 0
	}
}

// ToggleWrap toggles wrapping of long lines.
func (m *Model) ToggleWrap() { m.wrap = !m.wrap }

// ToggleTimestamps toggles the timestamp column.
func (m *Model) ToggleTimestamps() { m.timestamps = !m.timestamps }

func (m *Model) match(l Line) bool {
	if m.re == nil {
		return true
	}
	return m.re.MatchString(l.Text) != m.invert
}

func (m *Model) rowsAvail() int { return max(m.height-2-len(m.pinnedRows()), 1) }

// pinnedRows renders the pinned lines, wrapped to the pane, at most all rows but one.
func (m *Model) pinnedRows() []string {
	if len(m.Pinned) == 0 {
		return nil
	}
	w := max(m.width-2, 1)
	var rows []string
	for _, l := range m.Pinned {
		text := strings.ReplaceAll(ansi.Strip(l.Text), "\t", "    ")
		for _, r := range strings.Split(ansi.Wrap(text, w, ""), "\n") {
			if l.Stream == "stderr" {
				r = m.c.Styles.Stderr.Render(r)
			}
			rows = append(rows, r)
		}
	}
	if m.PinnedTitle != "" {
		rows = append([]string{m.c.Styles.Dim.Render(ansi.Truncate(m.PinnedTitle, w, "…"))}, rows...)
	}
	if limit := max(m.height-3, 1); len(rows) > limit {
		rows = rows[len(rows)-limit:]
	}
	return rows
}

// ScrollUp moves the window n lines back in time and pauses following.
func (m *Model) ScrollUp(n int) {
	m.follow = false
	m.offset = min(m.offset+n, max(m.countMatching()-m.rowsAvail(), 0))
}

// ScrollDown moves the window n lines forward; reaching the bottom does not resume following
// (f or G does, as in k9s).
func (m *Model) ScrollDown(n int) { m.offset = max(m.offset-n, 0) }

// Top shows the oldest lines.
func (m *Model) Top() {
	m.follow = false
	m.offset = max(m.countMatching()-m.rowsAvail(), 0)
}

// Bottom shows the newest lines and resumes following.
func (m *Model) Bottom() { m.SetFollow(true) }

func (m *Model) countMatching() int {
	if m.re == nil {
		return m.store.Len()
	}
	return len(m.liveMatches())
}

// matchingAt returns the i-th matching kept line counted from the newest (0 = newest).
func (m *Model) matchingAt(i int) Line {
	if m.re == nil {
		return m.store.At(m.store.Len() - 1 - i)
	}
	ms := m.liveMatches()
	return m.store.At(int(ms[len(ms)-1-i] - m.oldest()))
}

// Counts returns how many kept lines pass the filter, and how many are kept.
func (m *Model) Counts() (matching, kept int) { return m.countMatching(), m.store.Len() }

// Matching returns every kept line that passes the filter, oldest first (for saving).
func (m *Model) Matching() []Line {
	n := m.countMatching()
	out := make([]Line, n)
	for i := range out {
		out[i] = m.matchingAt(n - 1 - i)
	}
	return out
}

// Update handles scrolling keys and the mouse wheel; the owner only forwards to a focused pane
// (the wheel goes to the pane under the pointer).
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch common.Navigation(m.c.KeyMap, msg) {
	case common.MoveUp:
		m.ScrollUp(1)
	case common.MoveDown:
		m.ScrollDown(1)
	case common.MovePageUp:
		m.ScrollUp(m.rowsAvail())
	case common.MovePageDown:
		m.ScrollDown(m.rowsAvail())
	case common.MoveTop:
		m.Top()
	case common.MoveBottom:
		m.Bottom()
	case common.WheelUp:
		m.ScrollUp(3)
	case common.WheelDown:
		m.ScrollDown(3)
	case common.MoveNone:
		km := m.c.KeyMap
		if msg, ok := msg.(tea.KeyMsg); ok {
			switch {
			case key.Matches(msg, km.Follow):
				m.SetFollow(!m.follow)
			case key.Matches(msg, km.Wrap):
				m.ToggleWrap()
			case key.Matches(msg, km.Timestamps):
				m.ToggleTimestamps()
			}
		}
	}
	return nil
}

// ShortHelp is the pane's keys for the footer.
func (m *Model) ShortHelp() []key.Binding {
	km := m.c.KeyMap
	return []key.Binding{km.Filter, km.Follow, km.Wrap, km.Timestamps, km.Save}
}

// FullHelp is the pane's keys for the help view.
func (m *Model) FullHelp() [][]key.Binding {
	km := m.c.KeyMap
	return [][]key.Binding{
		common.NavigationHelp(km),
		{km.Filter, km.Follow, km.Wrap, km.Timestamps, km.Save},
	}
}

func (m *Model) title() string {
	var b strings.Builder
	b.WriteString(m.Title)
	if m.follow {
		b.WriteString(" · follow")
	} else {
		fmt.Fprintf(&b, " · paused -%d", m.offset)
	}
	if m.wrap {
		b.WriteString(" · wrap")
	}
	if m.timestamps {
		b.WriteString(" · ts")
	}
	if m.filter != "" {
		fmt.Fprintf(&b, " · /%s/", m.filter)
	}
	if m.Status != "" {
		b.WriteString(" · ")
		b.WriteString(m.Status)
	}
	return b.String()
}

// render turns one line into display rows of at most width cells.
func (m *Model) render(l Line, width int) []string {
	var prefix strings.Builder
	if m.timestamps && !l.TS.IsZero() {
		prefix.WriteString(l.TS.UTC().Format("15:04:05.000 "))
	}
	if m.ShowStream {
		switch l.Stream {
		case "kubelet":
			prefix.WriteString("kubelet ")
		default:
			prefix.WriteString("ctr     ")
		}
	}
	if l.Level != "" {
		prefix.WriteString(l.Level)
		prefix.WriteByte(' ')
	}
	text := strings.ReplaceAll(ansi.Strip(l.Text), "\t", "    ")
	full := prefix.String() + text
	var rows []string
	if m.wrap && ansi.StringWidth(full) > width {
		rows = strings.Split(ansi.Hardwrap(full, width, true), "\n")
	} else {
		rows = []string{ansi.Truncate(full, width, "…")}
	}
	st := m.c.Styles
	for i, r := range rows {
		if m.re != nil && !m.invert {
			r = highlight(r, m.re, st.Match.Render)
		}
		if l.Stream == "stderr" || l.Level == "E" || l.Level == "F" {
			r = st.Stderr.Render(r)
		}
		rows[i] = r
	}
	return rows
}

func highlight(s string, re *regexp.Regexp, style func(...string) string) string {
	locs := re.FindAllStringIndex(s, -1)
	if len(locs) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, lc := range locs {
		if lc[0] == lc[1] {
			continue
		}
		b.WriteString(s[last:lc[0]])
		b.WriteString(style(s[lc[0]:lc[1]]))
		last = lc[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// visibleRows renders only the window: it walks back from the newest line, skipping offset
// matching lines, until the rows are filled.
func (m *Model) visibleRows() []string {
	h, w := m.rowsAvail(), max(m.width-2, 1)
	var rev [][]string
	n := 0
	total := m.countMatching()
	if m.offset > max(total-1, 0) {
		// The window is above the oldest kept line (lines were dropped): show the oldest page.
		m.offset = max(total-h, 0)
	}
	for i := m.offset; i < total && n < h; i++ {
		l := m.matchingAt(i)
		r := m.render(l, w)
		rev = append(rev, r)
		n += len(r)
	}
	rows := make([]string, 0, n)
	for i := len(rev) - 1; i >= 0; i-- {
		rows = append(rows, rev[i]...)
	}
	if len(rows) > h { // a wrapped oldest line: keep its bottom rows
		rows = rows[len(rows)-h:]
	}
	return rows
}

// View draws the pane in its box.
func (m *Model) View() string {
	rows := m.visibleRows()
	if _, kept := m.Counts(); len(rows) == 0 && m.filter != "" && kept > 0 {
		rows = []string{m.c.Styles.Dim.Render(fmt.Sprintf("0 of %d lines match /%s/", kept, m.filter))}
	} else if len(rows) == 0 && m.Empty != "" {
		for _, l := range strings.Split(ansi.Wordwrap(m.Empty, max(m.width-2, 1), " "), "\n") {
			rows = append(rows, m.c.Styles.Dim.Render(l))
		}
	}
	if pinned := m.pinnedRows(); len(pinned) > 0 {
		rows = append(pinned, rows...)
	}
	return m.c.Box(m.title(), rows, m.width, m.height, m.focused)
}
