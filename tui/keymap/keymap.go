// Package keymap holds the TUI key bindings (k9s conventions). A KeyMap is a value owned by the
// root model and handed to components; there is no global mutable keymap.
package keymap

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every binding of the TUI.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	NextPane, PrevPane, Enter, Back         key.Binding
	Filter, Follow, Wrap, Timestamps        key.Binding
	Interleave, Container, Previous, Save   key.Binding
	Diagnose, SaveMarkdown, Edit, Refresh   key.Binding
	FullScreen, Manifest, NextMatch         key.Binding
	Help, Quit                              key.Binding
}

// Default is the k9s-style key map: f full screen, y the manifest (read-only), / filter, and
// less's F to follow.
func Default() *KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return &KeyMap{
		Up:           b([]string{"k", "up"}, "k/↑", "up"),
		Down:         b([]string{"j", "down"}, "j/↓", "down"),
		PageUp:       b([]string{"pgup", "ctrl+b", "ctrl+u"}, "pgup", "page up"),
		PageDown:     b([]string{"pgdown", "ctrl+f", "ctrl+d"}, "pgdn", "page down"),
		Top:          b([]string{"g", "home"}, "g", "top"),
		Bottom:       b([]string{"G", "end"}, "G", "bottom"),
		NextPane:     b([]string{"tab"}, "tab", "next pane"),
		PrevPane:     b([]string{"shift+tab"}, "S-tab", "prev pane"),
		Enter:        b([]string{"enter"}, "enter", "focus logs"),
		Back:         b([]string{"esc"}, "esc", "back"),
		Filter:       b([]string{"/"}, "/", "filter logs"),
		Follow:       b([]string{"F"}, "F", "follow"),
		Wrap:         b([]string{"w"}, "w", "wrap"),
		Timestamps:   b([]string{"t"}, "t", "timestamps"),
		Interleave:   b([]string{"i"}, "i", "interleave by time"),
		Container:    b([]string{"c"}, "c", "next container"),
		Previous:     b([]string{"p"}, "p", "previous instance"),
		Save:         b([]string{"s"}, "s", "save log"),
		Diagnose:     b([]string{"d"}, "d", "diagnose"),
		SaveMarkdown: b([]string{"S", "m"}, "S/m", "save markdown"),
		Edit:         b([]string{"e"}, "e", "edit manifest"),
		FullScreen:   b([]string{"f"}, "f", "full screen"),
		Manifest:     b([]string{"y"}, "y", "view manifest"),
		NextMatch:    b([]string{"n"}, "n", "next match"),
		Refresh:      b([]string{"ctrl+r"}, "ctrl+r", "refresh"),
		Help:         b([]string{"?"}, "?", "help"),
		Quit:         b([]string{"q", "ctrl+c"}, "q", "quit"),
	}
}
