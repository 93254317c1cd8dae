// Package common holds what every TUI component shares: styles, key map, the Component contract
// and the box drawing helper that keeps every pane exactly the size it was given.
package common

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"
	"github.com/spdoc/spdoc/tui/keymap"
	"github.com/spdoc/spdoc/tui/styles"
)

// Common is handed to every component.
type Common struct {
	Styles *styles.Styles
	KeyMap *keymap.KeyMap
}

// Component is a piece of the screen: it draws itself in exactly the size it was given and tells
// the help view which keys it understands.
type Component interface {
	SetSize(width, height int)
	View() string
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// StatusMsg sets the status line (Err: shown as an error).
type StatusMsg struct {
	Text string
	Err  bool
}

// Fit truncates s to width cells and pads it with spaces to exactly width.
func Fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	s = ansi.Truncate(s, width, "…")
	if w := ansi.StringWidth(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// MiddleEllipsis shortens plain text s to width cells by cutting its middle, keeping more of
// the end: names of one node share their beginning (default-missing-image, default-missing-
// hostpath) and differ at the end, so cutting the end would make them look the same.
func MiddleEllipsis(s string, width int) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	if width <= 1 {
		return string(r[:max(width, 0)])
	}
	head := (width - 1) / 3
	tail := width - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// Lines splits s into lines, dropping one trailing newline.
func Lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Box draws lines inside a rounded border of exactly width×height cells with title in the top
// border. Lines are truncated and padded; missing lines are blank. A focused box gets the focused
// border style and a "▶" marker so focus is visible without colour too.
func (c *Common) Box(title string, lines []string, width, height int, focused bool) string {
	if width < 4 || height < 2 {
		return ""
	}
	bs, ts := c.Styles.Border, c.Styles.Title
	mark := " "
	if focused {
		bs, ts, mark = c.Styles.BorderFocused, c.Styles.TitleFocused, "▶"
	}
	inner := width - 2
	var b strings.Builder
	t := ansi.Truncate(title, max(inner-4, 0), "…")
	titlePart := ""
	if t != "" {
		titlePart = " " + t + " "
	}
	fill := max(width-3-ansi.StringWidth(titlePart), 0)
	b.WriteString(bs.Render("╭"+mark) + ts.Render(titlePart) + bs.Render(strings.Repeat("─", fill)+"╮"))
	side := bs.Render("│")
	for i := 0; i < height-2; i++ {
		b.WriteByte('\n')
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		b.WriteString(side + Fit(l, inner) + side)
	}
	b.WriteByte('\n')
	b.WriteString(bs.Render("╰" + strings.Repeat("─", inner) + "╯"))
	return b.String()
}

// Pad returns exactly height lines of exactly width cells.
func Pad(lines []string, width, height int) string {
	out := make([]string, height)
	for i := range out {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		out[i] = Fit(l, width)
	}
	return strings.Join(out, "\n")
}
