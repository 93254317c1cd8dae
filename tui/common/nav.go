package common

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/spdoc/spdoc/tui/keymap"
)

// Move is a navigation request, from a key or the mouse wheel.
type Move int

const (
	MoveNone Move = iota
	MoveUp
	MoveDown
	MovePageUp
	MovePageDown
	MoveTop
	MoveBottom
	WheelUp
	WheelDown
)

// Navigation maps a key or wheel message to a Move (MoveNone for anything else).
func Navigation(km *keymap.KeyMap, msg tea.Msg) Move {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		for _, b := range []struct {
			k key.Binding
			m Move
		}{{km.Up, MoveUp}, {km.Down, MoveDown}, {km.PageUp, MovePageUp}, {km.PageDown, MovePageDown},
			{km.Top, MoveTop}, {km.Bottom, MoveBottom}} {
			if key.Matches(msg, b.k) {
				return b.m
			}
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			return WheelUp
		case tea.MouseButtonWheelDown:
			return WheelDown
		}
	}
	return MoveNone
}

// NavigationHelp is the help row of the navigation keys.
func NavigationHelp(km *keymap.KeyMap) []key.Binding {
	return []key.Binding{km.Up, km.Down, km.PageUp, km.PageDown, km.Top, km.Bottom}
}
