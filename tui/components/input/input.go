// Package input is a one-line text input (the log filter). bubbles/textinput would pull in a
// clipboard module the project does not vendor; a filter needs only typing, cursor moves and
// deletion.
package input

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// Model is a one-line input.
type Model struct {
	Prompt      string
	Placeholder string
	// Width, when set, is the room on screen: a longer text shows its part around the cursor
	// (a save path shows its file name, not only its first directories).
	Width  int
	Cursor lipgloss.Style
	Dim    lipgloss.Style
	value  []rune
	pos    int
}

// SetValue replaces the text and puts the cursor at its end.
func (m *Model) SetValue(s string) { m.value = []rune(s); m.pos = len(m.value) }

// Value is the text.
func (m *Model) Value() string { return string(m.value) }

// Update edits the text for one key.
func (m *Model) Update(msg tea.KeyMsg) {
	switch msg.Type {
	case tea.KeyRunes, tea.KeySpace:
		r := msg.Runes
		if msg.Type == tea.KeySpace {
			r = []rune{' '}
		}
		m.value = append(m.value[:m.pos], append(append([]rune{}, r...), m.value[m.pos:]...)...)
		m.pos += len(r)
	case tea.KeyBackspace:
		if m.pos > 0 {
			m.value = append(m.value[:m.pos-1], m.value[m.pos:]...)
			m.pos--
		}
	case tea.KeyDelete:
		if m.pos < len(m.value) {
			m.value = append(m.value[:m.pos], m.value[m.pos+1:]...)
		}
	case tea.KeyLeft:
		m.pos = max(m.pos-1, 0)
	case tea.KeyRight:
		m.pos = min(m.pos+1, len(m.value))
	case tea.KeyHome, tea.KeyCtrlA:
		m.pos = 0
	case tea.KeyEnd, tea.KeyCtrlE:
		m.pos = len(m.value)
	case tea.KeyCtrlU:
		m.value, m.pos = m.value[m.pos:], 0
	case tea.KeyCtrlW:
		i := m.pos
		for i > 0 && m.value[i-1] == ' ' {
			i--
		}
		for i > 0 && m.value[i-1] != ' ' {
			i--
		}
		m.value, m.pos = append(m.value[:i], m.value[m.pos:]...), i
	}
}

// View draws prompt, text and a block cursor.
func (m *Model) View() string {
	if len(m.value) == 0 && m.Placeholder != "" {
		return m.Prompt + m.Cursor.Render(" ") + m.Dim.Render(m.Placeholder)
	}
	cur := " "
	if m.pos < len(m.value) {
		cur = string(m.value[m.pos])
	}
	after := ""
	if m.pos < len(m.value) {
		after = string(m.value[m.pos+1:])
	}
	before := string(m.value[:m.pos])
	if room := m.Width - len([]rune(m.Prompt)) - 2; m.Width > 0 && len(m.value)+1 > room && room > 8 {
		b := []rune(before)
		if keep := room - 1 - min(len([]rune(after)), room/3); len(b) > keep {
			before = "…" + string(b[len(b)-keep+1:])
		}
		if a := []rune(after); len([]rune(before))+1+len(a) > room {
			after = string(a[:max(room-len([]rune(before))-2, 0)]) + "…"
		}
	}
	return m.Prompt + before + m.Cursor.Render(cur) + after
}
