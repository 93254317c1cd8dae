package input

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

func TestEditing(t *testing.T) {
	runes := func(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
	k := func(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }
	tests := []struct {
		name string
		keys []tea.KeyMsg
		want string
	}{
		{"typing", []tea.KeyMsg{runes("er"), runes("r")}, "err"},
		{"space", []tea.KeyMsg{runes("a"), k(tea.KeySpace), runes("b")}, "a b"},
		{"backspace", []tea.KeyMsg{runes("abc"), k(tea.KeyBackspace)}, "ab"},
		{"insert after left", []tea.KeyMsg{runes("ac"), k(tea.KeyLeft), runes("b")}, "abc"},
		{"home and delete", []tea.KeyMsg{runes("!x"), k(tea.KeyHome), k(tea.KeyDelete)}, "x"},
		{"ctrl+w deletes a word", []tea.KeyMsg{runes("foo bar"), k(tea.KeyCtrlW)}, "foo "},
		{"ctrl+u deletes to the start", []tea.KeyMsg{runes("foo"), k(tea.KeyLeft), k(tea.KeyCtrlU)}, "o"},
		{"backspace at start does nothing", []tea.KeyMsg{k(tea.KeyBackspace)}, ""},
	}
	for _, tt := range tests {
		var m Model
		for _, msg := range tt.keys {
			m.Update(msg)
		}
		if m.Value() != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, m.Value(), tt.want)
		}
	}
}

func TestViewShowsPlaceholderWhenEmpty(t *testing.T) {
	m := Model{Prompt: "/", Placeholder: "regex"}
	if v := m.View(); v != "/ regex" {
		t.Errorf("%q", v)
	}
	m.SetValue("ab")
	if v := m.View(); v != "/ab " {
		t.Errorf("%q", v)
	}
}
