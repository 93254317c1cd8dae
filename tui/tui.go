// Package tui is `spdoc tui`: static pods on the left; status, root-cause finding and live
// container and kubelet logs on the right; a diagnose view; edit-in-$EDITOR with validation.
//
// The root Model owns the snapshot loop (refresh on a ticker, reconnect with backoff), the
// header, the status line and the help view; it routes resize and global keys and forwards
// everything else to the active page (soft-serve style).
package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/tui/common"
	"github.com/spdoc/spdoc/tui/components/header"
	"github.com/spdoc/spdoc/tui/components/input"
	"github.com/spdoc/spdoc/tui/keymap"
	"github.com/spdoc/spdoc/tui/pages"
	"github.com/spdoc/spdoc/tui/styles"
)

// Env is what the TUI calls outside itself (see common.Env).
type Env = common.Env

// Page is the active screen.
type Page int

const (
	PagePods Page = iota
	PageDiagnose
	PageManifest
)

type snapshotMsg struct {
	gen    int
	snap   *node.Snapshot
	report *diagnose.Report
	err    error
	at     time.Time
}

type tickMsg struct{ gen int }

// Model is the root model.
type Model struct {
	c      *common.Common
	env    *common.Env
	header *header.Model
	pods   *pages.Pods
	diag   *pages.Diagnose
	mf     *pages.Manifest
	help   help.Model

	page     Page
	showHelp bool
	// saving is the save waiting for its path (typed in saveInput); nil when none.
	saving    *common.SaveRequest
	saveInput input.Model
	status    common.StatusMsg
	width     int
	height    int

	snap     *node.Snapshot
	report   *diagnose.Report
	gen      int
	fetching bool
	failures int
	lastErr  error
	retry    time.Duration
}

// New builds the root model. r is the lipgloss renderer (nil: the default one).
func New(env Env, r *lipgloss.Renderer) *Model {
	e := env.WithDefaults()
	c := &common.Common{Styles: styles.New(r), KeyMap: keymap.Default()}
	h := help.New()
	h.Styles.ShortKey, h.Styles.FullKey = c.Styles.HelpKey, c.Styles.HelpKey
	h.Styles.ShortDesc, h.Styles.FullDesc = c.Styles.HelpDesc, c.Styles.HelpDesc
	h.Styles.ShortSeparator, h.Styles.FullSeparator = c.Styles.Dim, c.Styles.Dim
	return &Model{c: c, env: &e, header: header.New(c), pods: pages.NewPods(c, &e), diag: pages.NewDiagnose(c, &e), mf: pages.NewManifest(c), help: h,
		saveInput: input.Model{Cursor: c.Styles.Selected, Dim: c.Styles.Dim}}
}

// Pods and Diagnose expose the pages (tests, benchmark).
func (m *Model) Pods() *pages.Pods { return m.pods }

// Diagnose returns the diagnose page.
func (m *Model) Diagnose() *pages.Diagnose { return m.diag }

// Page is the active page.
func (m *Model) Page() Page { return m.page }

// Status is the status line.
func (m *Model) Status() common.StatusMsg { return m.status }

// ShowingHelp reports whether the help view is open.
func (m *Model) ShowingHelp() bool { return m.showHelp }

// Report is the last report.
func (m *Model) Report() *diagnose.Report { return m.report }

// Init starts the first snapshot.
func (m *Model) Init() tea.Cmd { return m.fetch() }

func (m *Model) fetch() tea.Cmd {
	m.gen++
	m.fetching = true
	gen, env := m.gen, m.env
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), env.SnapshotTimeout)
		defer cancel()
		snap, err := env.Client.Snapshot(ctx)
		msg := snapshotMsg{gen: gen, snap: snap, err: err, at: env.Now()}
		if err == nil && snap == nil {
			msg.err = errors.New("the source returned no snapshot")
		}
		if msg.err == nil {
			msg.report = env.Analyze(snap)
		}
		return msg
	}
}

func (m *Model) layout() {
	m.header.SetSize(m.width, header.Height)
	bodyH := max(m.height-header.Height-2, 3)
	m.pods.SetSize(m.width, bodyH)
	m.diag.SetSize(m.width, bodyH)
	m.mf.SetSize(m.width, bodyH)
	m.help.Width = m.width
	m.saveInput.Width = m.width
}

func (m *Model) setHeader() {
	m.header.SetState(header.State{Source: m.env.Client.Describe(), Report: m.report, Refreshed: m.refreshedAt(),
		Err: m.lastErr, Retry: m.retry, Attempt: m.failures, ReadOnly: m.env.Manifests == nil && m.env.Agent == nil})
}

func (m *Model) refreshedAt() time.Time {
	if m.report == nil {
		return time.Time{}
	}
	return m.report.Taken
}

// Update routes messages.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	km := m.c.KeyMap
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case snapshotMsg:
		return m, m.handleSnapshot(msg)
	case tickMsg:
		if msg.gen != m.gen || m.fetching {
			return m, nil
		}
		return m, m.fetch()
	case pages.RefreshMsg:
		return m, m.fetch()
	case common.StatusMsg:
		m.status = msg
		return m, nil
	case pages.ManifestLoadedMsg:
		m.page = PageManifest
		return m, m.mf.Update(msg)
	case common.SaveRequest:
		m.saving = &msg
		m.saveInput.Prompt = "save " + msg.What + " to: "
		m.saveInput.SetValue(filepath.Join(m.env.Dir, msg.Name))
		return m, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			return m, m.typedAhead(msg)
		}
		if msg.String() == "ctrl+c" {
			return m, m.quit()
		}
		if m.saving != nil {
			m.updateSave(msg)
			return m, nil
		}
		switch {
		case m.page == PagePods && m.pods.Capturing():
			return m, m.pods.Update(msg)
		case m.page == PageDiagnose && m.diag.Capturing():
			return m, m.diag.Update(msg)
		case m.page == PageManifest && m.mf.Capturing():
			return m, m.mf.Update(msg)
		}
		if m.showHelp {
			if key.Matches(msg, km.Help) || key.Matches(msg, km.Back) {
				m.showHelp = false
			} else if key.Matches(msg, km.Quit) {
				return m, m.quit()
			}
			return m, nil
		}
		switch {
		case key.Matches(msg, km.Quit):
			return m, m.quit()
		case key.Matches(msg, km.Help):
			m.showHelp = true
			return m, nil
		case key.Matches(msg, km.Refresh):
			m.status = common.StatusMsg{Text: "refreshing…"}
			return m, m.fetch()
		case m.page == PagePods && key.Matches(msg, km.Diagnose) && m.pods.EditProblems() == nil:
			m.page = PageDiagnose
			m.diag.SetReport(m.report)
			if it := m.pods.List().Selected(); it != nil {
				m.diag.ShowPod(it.Namespace, it.Name, it.Manifest)
			}
			return m, nil
		case m.page == PagePods && key.Matches(msg, km.Manifest) && m.pods.EditProblems() == nil:
			return m, m.pods.LoadManifest()
		case m.page != PagePods && key.Matches(msg, km.Back):
			m.page = PagePods
			return m, nil
		}
	}
	if m.page == PageDiagnose || m.page == PageManifest {
		switch msg.(type) {
		case tea.KeyMsg, tea.MouseMsg:
			if m.page == PageManifest {
				return m, m.mf.Update(msg)
			}
			return m, m.diag.Update(msg)
		}
	}
	// Log batches and edit results belong to the pods page whichever page is shown.
	return m, m.pods.Update(msg)
}

// updateSave edits the path of the pending save; enter writes the file (never into the manifest
// directory) and the status line says where it went, esc cancels.
func (m *Model) updateSave(msg tea.KeyMsg) {
	switch msg.Type {
	case tea.KeyEsc:
		m.saving = nil
		m.status = common.StatusMsg{Text: "not saved"}
	case tea.KeyEnter:
		path, err := common.SaveFile(m.env.Dir, m.saveInput.Value(), m.env.ManifestDir, m.saving.Data)
		if err != nil {
			m.status = common.StatusMsg{Text: "not saved: " + err.Error() + " (edit the path, or esc)", Err: true}
			return
		}
		prefix := fmt.Sprintf("saved the %s to ", m.saving.What)
		m.status = common.StatusMsg{Text: prefix + common.MiddleEllipsis(path, max(m.width-len(prefix), 20))}
		m.saving = nil
	default:
		m.status = common.StatusMsg{}
		m.saveInput.Update(msg)
	}
}

// typedAhead handles keys that arrived together: bubbletea reads every printable rune waiting on
// the terminal into one KeyRunes message ("jjj" from key repeat, a fast typist or SSH batching),
// which matches no binding. Each rune is its own key press, handled in order, so three j move
// three times and "jq" moves then quits. A bracketed paste (Paste) stays one message: it is text.
func (m *Model) typedAhead(msg tea.KeyMsg) tea.Cmd {
	var cmds []tea.Cmd
	for _, r := range msg.Runes {
		k := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}
		if r == ' ' {
			k = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{r}, Alt: msg.Alt}
		}
		_, cmd := m.Update(k)
		cmds = append(cmds, cmd)
	}
	return tea.Sequence(cmds...)
}

func (m *Model) quit() tea.Cmd {
	m.pods.Close()
	return tea.Quit
}

func (m *Model) handleSnapshot(msg snapshotMsg) tea.Cmd {
	if msg.gen == m.gen {
		m.fetching = false
	}
	var cmd tea.Cmd
	if msg.err != nil {
		m.failures++
		m.lastErr = msg.err
		m.retry = min(m.env.RetryBase<<min(m.failures, 10), m.env.MaxBackoff)
	} else {
		m.failures, m.lastErr, m.retry = 0, nil, 0
		m.snap, m.report = msg.snap, msg.report
		if msg.snap.Manifests != nil && msg.snap.Manifests.Dir != "" {
			m.env.ManifestDir = msg.snap.Manifests.Dir
		}
		cmd = m.pods.SetReport(msg.snap, msg.report)
		if m.page == PageDiagnose {
			m.diag.SetReport(msg.report)
		}
		if m.status.Text == "refreshing…" {
			m.status = common.StatusMsg{}
		}
	}
	m.setHeader()
	if msg.gen != m.gen {
		return cmd // a newer fetch owns the ticker
	}
	next := m.env.Refresh
	if msg.err != nil {
		next = m.retry
	}
	gen := m.gen
	return tea.Batch(cmd, tea.Tick(next, func(time.Time) tea.Msg { return tickMsg{gen: gen} }))
}

// View draws the screen.
func (m *Model) View() string {
	if m.width == 0 || m.height == 0 {
		return ""
	}
	m.setHeader()
	bodyH := max(m.height-header.Height-2, 3)
	var body string
	var short []key.Binding
	switch {
	case m.showHelp:
		body = m.helpView(bodyH)
		short = []key.Binding{m.c.KeyMap.Back, m.c.KeyMap.Quit}
	case m.page == PageDiagnose:
		body = m.diag.View()
		short = m.diag.ShortHelp()
	case m.page == PageManifest:
		body = m.mf.View()
		short = m.mf.ShortHelp()
	default:
		body = m.pods.View()
		short = m.pods.ShortHelp()
	}
	st := m.c.Styles
	statusLine := ""
	switch {
	case m.saving != nil:
		statusLine = m.saveInput.View()
		if m.status.Err {
			statusLine = st.StatusError.Render(m.status.Text)
		}
		short = []key.Binding{key.NewBinding(key.WithHelp("enter", "save")), key.NewBinding(key.WithHelp("esc", "cancel"))}
	case m.page == PagePods && m.pods.FilterView() != "":
		statusLine = m.pods.FilterView()
	case m.page == PageDiagnose && m.diag.SearchView() != "":
		statusLine = m.diag.SearchView()
	case m.page == PageManifest && m.mf.SearchView() != "":
		statusLine = m.mf.SearchView()
	case m.status.Err:
		statusLine = st.StatusError.Render(m.status.Text)
	default:
		statusLine = st.Status.Render(m.status.Text)
	}
	return strings.Join([]string{
		m.header.View(),
		body,
		common.Fit(statusLine, m.width),
		m.footer(short),
	}, "\n")
}

// footer renders the short help to fit the width: ? and q always stay (last), keys in between
// are dropped from the end when there is no room, never cut in half.
func (m *Model) footer(short []key.Binding) string {
	km := m.c.KeyMap
	var mid, tail []key.Binding
	for _, b := range short {
		switch b.Help().Key {
		case km.Help.Help().Key, km.Quit.Help().Key:
			tail = append(tail, b)
		default:
			mid = append(mid, b)
		}
	}
	if len(tail) == 0 {
		tail = []key.Binding{km.Help, km.Quit}
	}
	h := m.help
	h.Width = 0 // measure without bubbles' own truncation
	for {
		line := h.ShortHelpView(append(append([]key.Binding{}, mid...), tail...))
		if lipgloss.Width(line) <= m.width || len(mid) == 0 {
			return common.Fit(line, m.width)
		}
		mid = mid[:len(mid)-1]
	}
}

func (m *Model) helpView(height int) string {
	var groups [][]key.Binding
	if m.page == PageDiagnose {
		groups = m.diag.FullHelp()
	} else if m.page == PageManifest {
		groups = m.mf.FullHelp()
	} else {
		groups = m.pods.FullHelp()
	}
	lines := common.Lines(m.help.FullHelpView(groups))
	lines = append([]string{m.c.Styles.Header.Render("keys"), ""}, lines...)
	return m.c.Box("help · esc or ? closes", lines, m.width, height, true)
}

// LocalManifests edits manifests on this machine; write is the atomic writer
// (internal/manifestdir.Write: dotfile in the same dir, fsync, rename).
type LocalManifests struct {
	WriteFile func(dir, name string, data []byte, mode os.FileMode) (bool, error)
}

// Read reads the manifest.
func (l LocalManifests) Read(_ context.Context, path string) ([]byte, error) {
	return os.ReadFile(path)
}

// Write replaces the manifest atomically, keeping its mode.
func (l LocalManifests) Write(_ context.Context, path string, data []byte) error {
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if _, err := l.WriteFile(filepath.Dir(path), filepath.Base(path), data, mode); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}
