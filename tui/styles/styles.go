// Package styles holds the lipgloss styles of the TUI, built from one renderer so NO_COLOR (ascii
// profile) and tests (fixed profile) need no special cases anywhere else.
package styles

import (
	"os"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Styles are every style the TUI draws with.
type Styles struct {
	Renderer *lipgloss.Renderer

	Header        lipgloss.Style
	HeaderProblem lipgloss.Style
	HeaderOK      lipgloss.Style
	Border        lipgloss.Style
	BorderFocused lipgloss.Style
	Title         lipgloss.Style
	TitleFocused  lipgloss.Style
	Selected      lipgloss.Style
	Dim           lipgloss.Style
	Error         lipgloss.Style
	Warning       lipgloss.Style
	Info          lipgloss.Style
	Hint          lipgloss.Style
	Match         lipgloss.Style
	Stderr        lipgloss.Style
	Status        lipgloss.Style
	StatusError   lipgloss.Style
	HelpKey       lipgloss.Style
	HelpDesc      lipgloss.Style

	BadgeRunning lipgloss.Style
	BadgeCrash   lipgloss.Style
	BadgePending lipgloss.Style
	BadgeInvalid lipgloss.Style
	BadgeGone    lipgloss.Style
	BadgeUnknown lipgloss.Style
}

// NewRenderer returns a renderer for the terminal on stdout that honours NO_COLOR
// (https://no-color.org: any non-empty value) by forcing the ascii profile.
func NewRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(os.Stdout)
	if os.Getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// QueryTimeout is how long the TUI waits for the terminal to answer its background-colour query.
// A terminal that answers does so within milliseconds; a serial console or `script` never does.
const QueryTimeout = 200 * time.Millisecond

// DetectBackground asks the terminal once whether its background is dark, waiting at most
// timeout, and settles the answer for r and for lipgloss's default renderer (which bubbles'
// adaptive colours use), so nothing asks again while the program owns the terminal. Only the TUI
// calls it, before its program starts: no other command writes to the terminal but its output
// (the upstream bubbletea init that asked in every command, with 5 s to wait, is patched out,
// third_party/bubbletea/SPDOC.md). With NO_COLOR, or no colour terminal, nothing is asked.
func DetectBackground(r *lipgloss.Renderer, timeout time.Duration) {
	dark := true // what nearly every terminal has; also the answer when it does not say
	if os.Getenv("NO_COLOR") == "" && r.ColorProfile() != termenv.Ascii {
		if d, ok := queryDarkBackground(os.Stdin, os.Stdout, timeout); ok {
			dark = d
		}
	}
	r.SetHasDarkBackground(dark)
	lipgloss.SetHasDarkBackground(dark)
}

// New builds the styles on r (nil: the lipgloss default renderer).
func New(r *lipgloss.Renderer) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	n := r.NewStyle
	red, yellow, green, blue, grey, magenta := lipgloss.Color("9"), lipgloss.Color("11"), lipgloss.Color("10"),
		lipgloss.Color("12"), lipgloss.Color("8"), lipgloss.Color("13")
	return &Styles{
		Renderer:      r,
		Header:        n().Bold(true),
		HeaderProblem: n().Foreground(red).Bold(true),
		HeaderOK:      n().Foreground(green),
		Border:        n().Foreground(grey),
		BorderFocused: n().Foreground(blue),
		Title:         n().Foreground(grey),
		TitleFocused:  n().Foreground(blue).Bold(true),
		Selected:      n().Reverse(true),
		Dim:           n().Foreground(grey),
		Error:         n().Foreground(red).Bold(true),
		Warning:       n().Foreground(yellow),
		Info:          n().Foreground(blue),
		Hint:          n().Foreground(green),
		Match:         n().Foreground(magenta).Bold(true).Underline(true),
		Stderr:        n().Foreground(yellow),
		Status:        n().Foreground(grey),
		StatusError:   n().Foreground(red),
		HelpKey:       n().Foreground(blue).Bold(true),
		HelpDesc:      n().Foreground(grey),
		BadgeRunning:  n().Foreground(green).Bold(true),
		BadgeCrash:    n().Foreground(red).Bold(true),
		BadgePending:  n().Foreground(yellow).Bold(true),
		BadgeInvalid:  n().Foreground(red).Bold(true),
		BadgeGone:     n().Foreground(grey).Bold(true),
		BadgeUnknown:  n().Foreground(grey),
	}
}
