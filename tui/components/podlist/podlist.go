// Package podlist is the left pane: every static pod (and every manifest that does not decode)
// with a status badge, restarts and its top finding in a few words.
package podlist

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podview"
	"github.com/spdoc/spdoc/tui/common"
)

// Badge is the status shown in the list.
type Badge string

const (
	BadgeRunning Badge = "Running"
	BadgeCrash   Badge = "CrashLoop"
	BadgePending Badge = "Pending"
	BadgeInvalid Badge = "Invalid"
	BadgeGone    Badge = "Gone"
	BadgeUnknown Badge = "Unknown"
)

// BadgeFor maps a pod state (PodReport.State) to a badge.
func BadgeFor(state podview.State) Badge {
	switch state {
	case podview.Running:
		return BadgeRunning
	case podview.CrashLoop:
		return BadgeCrash
	case podview.Pending, podview.NotStarted:
		return BadgePending
	case podview.Invalid:
		return BadgeInvalid
	case podview.Gone:
		return BadgeGone
	}
	return BadgeUnknown
}

// Item is one row: a static pod, or a manifest file that defines no pod it could decode.
type Item struct {
	Key        string // pod ID, or "file:" + path
	Namespace  string
	Name       string // manifest metadata.name ("" for an undecodable file)
	Manifest   string
	Badge      Badge
	Restarts   int
	Top        *diagnose.Finding // most important current finding, nil when healthy
	Containers []string          // container names from the manifest, else from the runtime
	Pod        *diagnose.PodReport
	File       *diagnose.FileReport
}

// Label is what the list shows as the item's name.
func (it Item) Label() string {
	if it.Pod != nil {
		return it.Pod.ID
	}
	return filepath.Base(it.Manifest)
}

// TopFinding returns the finding a user should read first: current before history, root causes
// (no Cause) before consequences, errors before warnings before info. Nil when there is none.
func TopFinding(fs []diagnose.Finding) *diagnose.Finding {
	rank := func(f diagnose.Finding) int {
		r := 0
		switch f.Severity {
		case diagnose.SeverityError:
		case diagnose.SeverityWarning:
			r += 1
		default:
			r += 2
		}
		if f.Cause != "" {
			r += 3
		}
		if f.History {
			r += 10
		}
		return r
	}
	best := -1
	for i := range fs {
		if best < 0 || rank(fs[i]) < rank(fs[best]) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	return &fs[best]
}

// Items builds the rows from a report (and the snapshot for container names): pods in report
// order, then files whose findings are not attached to any pod (undecodable, unreadable).
func Items(r *diagnose.Report, snap *node.Snapshot) []Item {
	if r == nil {
		return nil
	}
	containers := map[string][]string{}
	if snap != nil {
		for _, p := range snap.StaticPods() {
			if p.Pod == nil {
				continue
			}
			for _, c := range p.Pod.Spec.Containers {
				containers[p.ID] = append(containers[p.ID], c.Name)
			}
		}
	}
	var items []Item
	for i := range r.Pods {
		p := &r.Pods[i]
		it := Item{Key: p.ID, Namespace: p.Namespace, Name: p.Name, Manifest: p.Manifest,
			Badge: BadgeFor(p.State), Restarts: p.Restarts, Top: TopFinding(p.Findings), Pod: p,
			Containers: containers[p.ID]}
		if len(it.Containers) == 0 {
			for _, c := range p.Containers {
				it.Containers = append(it.Containers, c.Name)
			}
		}
		items = append(items, it)
	}
	for i := range r.Files {
		f := &r.Files[i]
		if len(f.Pods) > 0 || len(f.Findings) == 0 {
			continue
		}
		top := TopFinding(f.Findings)
		if top == nil || top.Severity == diagnose.SeverityInfo {
			continue
		}
		items = append(items, Item{Key: "file:" + f.Path, Manifest: f.Path, Badge: BadgeInvalid, Top: top, File: f})
	}
	return items
}

// Model is the pod list pane.
type Model struct {
	c             *common.Common
	items         []Item
	cursor        int
	top           int // first visible row
	width, height int
	focused       bool
}

// New returns an empty list.
func New(c *common.Common) *Model { return &Model{c: c} }

// SetSize sets the outer size (border included).
func (m *Model) SetSize(width, height int) { m.width, m.height = width, height; m.scroll() }

// SetFocused marks the list as the pane keys go to.
func (m *Model) SetFocused(f bool) { m.focused = f }

// SetItems replaces the rows, keeping the cursor on the same Key when it still exists.
func (m *Model) SetItems(items []Item) {
	key := ""
	if it := m.Selected(); it != nil {
		key = it.Key
	}
	m.items = items
	m.cursor = min(m.cursor, max(len(items)-1, 0))
	for i, it := range items {
		if it.Key == key {
			m.cursor = i
			break
		}
	}
	m.scroll()
}

// Items returns the rows.
func (m *Model) Items() []Item { return m.items }

// Selected returns the row under the cursor, nil when the list is empty.
func (m *Model) Selected() *Item {
	if m.cursor < 0 || m.cursor >= len(m.items) {
		return nil
	}
	return &m.items[m.cursor]
}

// Select moves the cursor to index i (clamped).
func (m *Model) Select(i int) {
	m.cursor = max(min(i, len(m.items)-1), 0)
	m.scroll()
}

// Cursor is the selected index.
func (m *Model) Cursor() int { return m.cursor }

func (m *Model) rows() int { return max(m.height-2, 1) }

func (m *Model) scroll() {
	if m.cursor < m.top {
		m.top = m.cursor
	}
	if m.cursor >= m.top+m.rows() {
		m.top = m.cursor - m.rows() + 1
	}
	m.top = max(min(m.top, len(m.items)-m.rows()), 0)
}

// Update moves the cursor.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch common.Navigation(m.c.KeyMap, msg) {
	case common.MoveUp, common.WheelUp:
		m.Select(m.cursor - 1)
	case common.MoveDown, common.WheelDown:
		m.Select(m.cursor + 1)
	case common.MovePageUp:
		m.Select(m.cursor - m.rows())
	case common.MovePageDown:
		m.Select(m.cursor + m.rows())
	case common.MoveTop:
		m.Select(0)
	case common.MoveBottom:
		m.Select(len(m.items) - 1)
	}
	return nil
}

// ShortHelp is the list's keys for the footer.
func (m *Model) ShortHelp() []key.Binding {
	km := m.c.KeyMap
	return []key.Binding{km.Up, km.Down, km.Enter, km.Filter, km.Diagnose, km.Edit}
}

// FullHelp is the list's keys for the help view.
func (m *Model) FullHelp() [][]key.Binding {
	km := m.c.KeyMap
	return [][]key.Binding{common.NavigationHelp(km), {km.Enter, km.Edit, km.Diagnose}}
}

func (m *Model) badge(b Badge) string {
	st := m.c.Styles
	var s lipgloss.Style
	switch b {
	case BadgeRunning:
		s = st.BadgeRunning
	case BadgeCrash:
		s = st.BadgeCrash
	case BadgePending:
		s = st.BadgePending
	case BadgeInvalid:
		s = st.BadgeInvalid
	case BadgeGone:
		s = st.BadgeGone
	default:
		s = st.BadgeUnknown
	}
	return s.Render(fmt.Sprintf("%-9s", b))
}

// Summary is a finding's title shortened to a few words.
func Summary(f *diagnose.Finding, words int) string {
	if f == nil {
		return ""
	}
	ws := strings.Fields(f.Title)
	if len(ws) > words {
		return strings.Join(ws[:words], " ") + "…"
	}
	return strings.Join(ws, " ")
}

// View draws the list: two rows per pod would waste space, so each pod is one row
// "<badge> <id> <restarts>" and, when it has one, its top finding follows dimmed.
func (m *Model) View() string {
	inner := max(m.width-2, 1)
	var lines []string
	for i := m.top; i < len(m.items) && len(lines) < m.rows(); i++ {
		it := m.items[i]
		restarts := ""
		if it.Restarts > 0 {
			restarts = fmt.Sprintf(" ↻%d", it.Restarts)
		}
		mark := "  "
		if i == m.cursor {
			mark = "> "
		}
		// The name gets the room the row has: cut in the middle, so that two long names that
		// share a beginning stay distinct at 80 columns.
		room := inner - len(mark) - 10 - ansi.StringWidth(restarts)
		head := mark + m.badge(it.Badge) + " " + common.MiddleEllipsis(it.Label(), max(room, 4)) + restarts
		// The row names a problem; advice and history (info) wait in the detail pane.
		// Only when there is room for a few words: never at the cost of the name.
		if it.Top != nil && it.Top.Severity != diagnose.SeverityInfo {
			if sum, rest := Summary(it.Top, 6), inner-ansi.StringWidth(head)-3; sum != "" && rest >= 8 {
				head += " " + m.c.Styles.Dim.Render("· "+ansi.Truncate(sum, rest, "…"))
			}
		}
		row := common.Fit(head, inner)
		if i == m.cursor && m.focused {
			row = m.c.Styles.Selected.Render(row)
		}
		lines = append(lines, row)
	}
	if len(m.items) == 0 {
		lines = append(lines, m.c.Styles.Dim.Render("no static pods"))
	}
	return m.c.Box(fmt.Sprintf("static pods (%d)", len(m.items)), lines, m.width, m.height, m.focused)
}
