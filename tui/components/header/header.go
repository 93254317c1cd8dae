// Package header is the top bar: node, source, summary and node-level problems (runtime
// unreachable, kubelet not running, manifest dir missing), or the reconnect state when the source
// itself is gone.
package header

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/tui/common"
)

// State is what the header shows.
type State struct {
	Source    string // node.Client.Describe()
	Report    *diagnose.Report
	Refreshed time.Time
	// Err is the last snapshot error; Retry when the next attempt is due, Attempt how many failed.
	Err      error
	Retry    time.Duration
	Attempt  int
	ReadOnly bool
}

// Model is the header bar.
type Model struct {
	c     *common.Common
	state State
	width int
}

// New returns an empty header.
func New(c *common.Common) *Model { return &Model{c: c} }

// SetSize sets the width; the height is always Height.
func (m *Model) SetSize(width, _ int) { m.width = width }

// Height is the number of rows the header takes.
const Height = 2

// SetState replaces what the header shows.
func (m *Model) SetState(s State) { m.state = s }

// ShortHelp is empty: the header has no keys.
func (m *Model) ShortHelp() []key.Binding { return nil }

// FullHelp is empty: the header has no keys.
func (m *Model) FullHelp() [][]key.Binding { return nil }

// NodeProblems are the current node-level error and warning findings, errors first.
func NodeProblems(r *diagnose.Report) []diagnose.Finding {
	if r == nil {
		return nil
	}
	var errs, warns []diagnose.Finding
	for _, f := range r.Node.Findings {
		if f.History {
			continue
		}
		switch f.Severity {
		case diagnose.SeverityError:
			errs = append(errs, f)
		case diagnose.SeverityWarning:
			warns = append(warns, f)
		}
	}
	return append(errs, warns...)
}

// View draws the two header rows.
func (m *Model) View() string {
	st := m.c.Styles
	s := m.state
	first := st.Header.Render("spdoc")
	if s.Report != nil {
		first += " · node " + st.Header.Render(s.Report.Node.Name)
	}
	if s.Source != "" {
		first += " · " + s.Source
	}
	if s.ReadOnly {
		first += " (read-only)"
	}
	if r := s.Report; r != nil {
		first += fmt.Sprintf(" · %d pods: %d healthy, %d errors, %d warnings", r.Summary.Pods, r.Summary.Healthy,
			r.Summary.Errors, r.Summary.Warnings)
	}
	if !s.Refreshed.IsZero() {
		first += st.Dim.Render(" · " + s.Refreshed.Format("15:04:05"))
	}
	var second string
	switch probs := NodeProblems(s.Report); {
	case s.Err != nil:
		second = st.HeaderProblem.Render(fmt.Sprintf("⚠ source unavailable: %v — reconnecting in %s (attempt %d)",
			s.Err, s.Retry.Round(time.Second), s.Attempt))
	case s.Report == nil:
		second = st.Dim.Render("reading the node…")
	case len(probs) > 0:
		parts := make([]string, len(probs))
		for i, f := range probs {
			icon := "✗ "
			if f.Severity == diagnose.SeverityWarning {
				icon = "! "
			}
			parts[i] = icon + f.Title
		}
		second = st.HeaderProblem.Render(strings.Join(parts, "   "))
	default:
		rt := s.Report.Node.Runtime
		if rt == "" {
			rt = "runtime not consulted"
		}
		second = st.HeaderOK.Render("✓ node ok") + st.Dim.Render(" · "+rt+" · manifests "+s.Report.Node.ManifestDir)
	}
	return common.Fit(first, m.width) + "\n" + common.Fit(second, m.width)
}
