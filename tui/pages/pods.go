// Package pages holds the TUI's screens: Pods (list, status, live logs) and Diagnose (the full
// report). The root model routes resize and global keys and forwards the rest to the active page.
package pages

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/tui/common"
	"github.com/spdoc/spdoc/tui/components/detail"
	"github.com/spdoc/spdoc/tui/components/input"
	"github.com/spdoc/spdoc/tui/components/logview"
	"github.com/spdoc/spdoc/tui/components/podlist"
)

// Focus is the pane keys go to.
type Focus int

const (
	FocusList Focus = iota
	FocusContainerLog
	FocusKubeletLog
)

// RefreshMsg asks the root model for a snapshot now (after an edit was written).
type RefreshMsg struct{}

// Pods is the main page.
type Pods struct {
	c   *common.Common
	env *common.Env

	list    *podlist.Model
	detail  *detail.Model
	ctrLog  *logview.Model
	kubLog  *logview.Model
	merged  *logview.Model
	focus   Focus
	inter   bool
	leftW   int
	detailH int

	width, height int

	snap   *node.Snapshot
	report *diagnose.Report

	// what the log panes show; a change restarts the streams
	selKey       string
	streamKeyNow string
	container    string
	previous     bool
	streamID     int
	ctrStream    *stream
	kubStream    *stream

	filtering bool
	input     input.Model
	full      bool  // the focused log pane fills the page (k9s f)
	filterErr error // the filter being typed does not compile yet

	edit *editState
}

// NewPods returns the main page.
func NewPods(c *common.Common, env *common.Env) *Pods {
	ti := input.Model{Prompt: "/", Placeholder: "regex (!regex inverts)", Cursor: c.Styles.Selected, Dim: c.Styles.Dim}
	p := &Pods{
		c:      c,
		env:    env,
		list:   podlist.New(c),
		detail: detail.New(c),
		ctrLog: logview.New(c, "container log", logview.NewRing(env.BufferLines)),
		kubLog: logview.New(c, "kubelet log", logview.NewRing(env.BufferLines)),
		merged: logview.New(c, "interleaved", logview.NewRing(2*env.BufferLines)),
		input:  ti,
	}
	p.merged.ShowStream = true
	p.list.SetFocused(true)
	return p
}

// List, ContainerLog, KubeletLog and Interleaved expose the panes (tests, benchmark).
func (p *Pods) List() *podlist.Model         { return p.list }
func (p *Pods) ContainerLog() *logview.Model { return p.ctrLog }
func (p *Pods) KubeletLog() *logview.Model   { return p.kubLog }
func (p *Pods) Interleaved() *logview.Model  { return p.merged }
func (p *Pods) Focus() Focus                 { return p.focus }
func (p *Pods) InterleavedMode() bool        { return p.inter }
func (p *Pods) Container() (string, bool)    { return p.container, p.previous }
func (p *Pods) EditProblems() []string       { return p.editProblems() }

// SetLogStore replaces the stores behind the container and kubelet panes (the benchmark's
// unbounded baseline); call it before the first report.
func (p *Pods) SetLogStore(ctr, kub logview.Store) {
	p.ctrLog = logview.New(p.c, "container log", ctr)
	p.kubLog = logview.New(p.c, "kubelet log", kub)
	p.layout()
}

// Capturing reports whether the page reads text (filter input), so global keys must wait.
func (p *Pods) Capturing() bool { return p.filtering }

// SetSize lays the panes out.
func (p *Pods) SetSize(width, height int) {
	p.width, p.height = width, height
	p.layout()
}

func (p *Pods) layout() {
	w, h := p.width, p.height
	p.leftW = min(max(w*35/100, 30), 60)
	if w-p.leftW < 30 {
		p.leftW = max(w/2, 1)
	}
	rightW := w - p.leftW
	p.list.SetSize(p.leftW, h)
	// The status pane takes what it needs, up to 45% of the height, at least 5 rows.
	need := len(p.detail.Lines(max(rightW-2, 1))) + 2
	p.detailH = min(max(need, 5), max(h*45/100, 5))
	p.detail.SetSize(rightW, p.detailH)
	logH := max(h-p.detailH, 3)
	half := rightW / 2
	p.ctrLog.SetSize(half, logH)
	p.kubLog.SetSize(rightW-half, logH)
	p.merged.SetSize(rightW, logH)
	if l := p.fullPane(); l != nil {
		l.SetSize(w, h)
	}
}

// fullPane is the log pane shown full screen, nil when not full screen.
func (p *Pods) fullPane() *logview.Model {
	if !p.full {
		return nil
	}
	if l := p.focusedLog(); l != nil {
		return l
	}
	if p.inter {
		return p.merged
	}
	return p.ctrLog
}

// FullScreen reports whether a log pane fills the page.
func (p *Pods) FullScreen() bool { return p.full }

// CanEdit reports whether e can edit the selected pod's source here (not a read-only copy).
func (p *Pods) CanEdit() bool {
	return p.env.Agent != nil || p.env.Manifests != nil && p.env.Decode != nil
}

// SetReport shows a new snapshot and report.
func (p *Pods) SetReport(snap *node.Snapshot, r *diagnose.Report) tea.Cmd {
	p.snap, p.report = snap, r
	p.list.SetItems(podlist.Items(r, snap))
	return p.selectionChanged()
}

func (p *Pods) logPanes() []*logview.Model {
	if p.inter {
		return []*logview.Model{p.merged}
	}
	return []*logview.Model{p.ctrLog, p.kubLog}
}

func (p *Pods) focusedLog() *logview.Model {
	switch {
	case p.focus == FocusList:
		return nil
	case p.inter:
		return p.merged
	case p.focus == FocusKubeletLog:
		return p.kubLog
	}
	return p.ctrLog
}

func (p *Pods) setFocus(f Focus) {
	if p.inter && f == FocusKubeletLog {
		f = FocusContainerLog
	}
	p.focus = f
	p.list.SetFocused(f == FocusList)
	p.ctrLog.SetFocused(f == FocusContainerLog && !p.inter)
	p.kubLog.SetFocused(f == FocusKubeletLog)
	p.merged.SetFocused(f != FocusList && p.inter)
}

func (p *Pods) nextFocus(d int) {
	n := 3
	if p.inter {
		n = 2
	}
	p.setFocus(Focus((int(p.focus) + d + n) % n))
}

// selectionChanged updates the status pane and restarts the log streams when the pod,
// container or instance shown changed.
func (p *Pods) selectionChanged() tea.Cmd {
	it := p.list.Selected()
	key := ""
	if it != nil {
		key = it.Key
		if !contains(it.Containers, p.container) {
			p.container = ""
			if len(it.Containers) > 0 {
				p.container = it.Containers[0]
			}
		}
	}
	p.detail.SetItem(it, p.container, p.previous)
	p.pinLastWords(it)
	p.layout()
	p.selKey = key
	if p.streamID > 0 && p.streamKey() == p.streamKeyNow {
		return nil
	}
	return p.restartStreams()
}

// pinLastWords pins the failed instance's last words (its stderr, as the report shows them) at
// the top of the container and interleaved panes: visible at any size without scrolling, and
// whichever instance the pane streams (the current one may run again and write other lines).
func (p *Pods) pinLastWords(it *podlist.Item) {
	var pinned []logview.Line
	title := ""
	if it != nil && it.Pod != nil {
		if src, words := it.Pod.LastWords(p.container); len(words) > 0 {
			title = "last words · " + path.Base(strings.TrimPrefix(src, "pod-log:"))
			for _, e := range words {
				pinned = append(pinned, logview.Line{TS: e.TS, Stream: "stderr", Text: strings.TrimPrefix(e.Line, "stderr: ")})
			}
		}
	}
	for _, l := range []*logview.Model{p.ctrLog, p.merged} {
		l.Pinned, l.PinnedTitle = pinned, title
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (p *Pods) streamKey() string {
	return fmt.Sprintf("%s|%s|%v", p.selKey, p.container, p.previous)
}

// Close ends the log streams and drops an unfinished edit's temp copy (on quit).
func (p *Pods) Close() {
	p.StopStreams()
	p.discardEdit()
}

// StopStreams ends the log streams.
func (p *Pods) StopStreams() {
	p.ctrStream.stop()
	p.kubStream.stop()
	p.ctrStream, p.kubStream = nil, nil
}

func (p *Pods) restartStreams() tea.Cmd {
	p.StopStreams()
	for _, l := range []*logview.Model{p.ctrLog, p.kubLog, p.merged} {
		l.Reset()
	}
	p.streamID++
	p.streamKeyNow = p.streamKey()
	it := p.list.Selected()
	if it == nil {
		return nil
	}
	if it.Pod == nil {
		p.ctrLog.Empty = "no pod: the manifest does not decode"
		p.kubLog.Empty = p.ctrLog.Empty
		p.merged.Empty = p.ctrLog.Empty
		return nil
	}
	p.ctrLog.Title = "container " + p.container
	if p.previous {
		p.ctrLog.Title += " (previous)"
	}
	p.ctrLog.Empty, p.kubLog.Empty, p.merged.Empty = "no log lines yet", "no kubelet records for this pod yet", "no log lines yet"
	o := streamOptions{follow: !p.previous, maxPending: p.env.BufferLines, interval: p.env.BatchInterval,
		maxBackoff: p.env.MaxBackoff, copy: p.snap != nil && p.snap.Paths.Root != ""}
	if it.Top != nil {
		o.why = it.Top.Title
	}
	ns, name, ctr, prev, tail, client := it.Namespace, it.Name, p.container, p.previous, p.env.LogTail, p.env.Client
	p.ctrStream = startStream(p.streamID, containerStream, func(ctx context.Context, since time.Time, emit func(logview.Line)) error {
		req := node.LogRequest{Namespace: ns, Pod: name, Container: ctr, Previous: prev, Tail: tail, Follow: !prev}
		if !since.IsZero() {
			req.Tail, req.Since = -1, time.Since(since)+time.Second
		}
		return client.ContainerLog(ctx, req, func(l podlog.Line) error {
			emit(logview.Line{TS: l.TS, Stream: l.Stream, Text: l.Msg})
			return nil
		})
	}, o)
	o.follow = true
	p.kubStream = startStream(p.streamID, kubeletStream, func(ctx context.Context, since time.Time, emit func(logview.Line)) error {
		req := node.KubeletLogRequest{Namespace: ns, Pod: name, Tail: tail, Follow: true}
		if !since.IsZero() {
			req.Tail, req.Since = -1, time.Since(since)+time.Second
		}
		return client.KubeletLog(ctx, req, func(r kubeletlog.Record) error {
			emit(KubeletLine(r))
			return nil
		})
	}, o)
	return tea.Batch(p.ctrStream.next(), p.kubStream.next())
}

// KubeletLine turns a kubelet record into a pane line: the message, then err and the pod key
// fields a reader needs.
func KubeletLine(r kubeletlog.Record) logview.Line {
	var b strings.Builder
	b.WriteString(r.Msg)
	if r.ContainerName != "" {
		fmt.Fprintf(&b, " container=%s", r.ContainerName)
	}
	if r.Path != "" {
		fmt.Fprintf(&b, " path=%s", r.Path)
	}
	if r.Err != "" {
		fmt.Fprintf(&b, " err=%q", r.Err)
	}
	return logview.Line{TS: r.TS, Stream: "kubelet", Level: r.Level, Text: b.String()}
}

func (p *Pods) handleBatch(msg logBatchMsg) tea.Cmd {
	if msg.id != p.streamID {
		return nil // a stream of a pod no longer shown
	}
	target, s := p.ctrLog, p.ctrStream
	if msg.kind == kubeletStream {
		target, s = p.kubLog, p.kubStream
	}
	if s == nil {
		return nil
	}
	target.Append(msg.lines)
	if msg.changed {
		target.Status = msg.status
		if why, ok := strings.CutPrefix(msg.status, "no log: "); ok {
			// Say why in the pane, not only in its (cut) title.
			target.Status, target.Empty = "no log", "no log: "+why
		}
	}
	if msg.dropped > 0 {
		target.Status = fmt.Sprintf("%d lines dropped (too fast)", msg.dropped)
	}
	if p.inter {
		p.appendMerged(msg.lines)
	}
	return s.next()
}

// appendMerged keeps the interleaved pane in time order: in-order lines are appended, an
// out-of-order batch (a fresh tail, a late stream) rebuilds it from the two panes.
func (p *Pods) appendMerged(lines []logview.Line) {
	st := p.merged.Store()
	if len(lines) == 0 {
		return
	}
	if st.Len() == 0 || !lines[0].TS.Before(st.At(st.Len()-1).TS) {
		p.merged.Append(lines)
		return
	}
	p.rebuildMerged()
}

func (p *Pods) rebuildMerged() { p.merged.MergeFrom(p.ctrLog.Store(), p.kubLog.Store()) }

func (p *Pods) toggleInterleave() {
	p.inter = !p.inter
	if p.inter {
		p.rebuildMerged()
		p.merged.SetFilter(p.ctrLog.Filter())
	}
	if p.focus != FocusList {
		p.setFocus(FocusContainerLog)
	} else {
		p.setFocus(FocusList)
	}
}

// Update handles the page's keys and messages.
func (p *Pods) Update(msg tea.Msg) tea.Cmd {
	km := p.c.KeyMap
	switch msg := msg.(type) {
	case logBatchMsg:
		return p.handleBatch(msg)
	case editReadyMsg, editDoneMsg, editWrittenMsg:
		return p.updateEdit(msg)
	case agentAppliedMsg:
		return p.handleAgentApplied(msg)
	case tea.MouseMsg:
		if msg.Button != tea.MouseButtonWheelUp && msg.Button != tea.MouseButtonWheelDown {
			return nil
		}
		switch {
		case msg.X < p.leftW:
			p.list.Update(msg)
			return p.selectionChanged()
		case p.inter:
			p.merged.Update(msg)
		case msg.X < p.leftW+p.ctrLog.Width():
			p.ctrLog.Update(msg)
		default:
			p.kubLog.Update(msg)
		}
		return nil
	case tea.KeyMsg:
		if p.filtering {
			return p.updateFilter(msg)
		}
		if p.edit != nil && p.edit.problems != nil {
			return p.updateEditProblems(msg)
		}
		switch {
		case key.Matches(msg, km.NextPane):
			p.nextFocus(1)
		case key.Matches(msg, km.PrevPane):
			p.nextFocus(-1)
		case key.Matches(msg, km.Enter):
			if p.focus == FocusList {
				p.setFocus(FocusContainerLog)
			}
		case key.Matches(msg, km.Back):
			if p.full {
				p.full = false
				p.layout()
				return nil
			}
			p.setFocus(FocusList)
		case key.Matches(msg, km.FullScreen):
			p.full = !p.full
			if p.full && p.focus == FocusList {
				p.setFocus(FocusContainerLog)
			}
			p.layout()
		case key.Matches(msg, km.Filter):
			p.filtering = true
			p.input.SetValue(p.ctrLog.Filter())
			return nil
		case key.Matches(msg, km.Interleave):
			p.toggleInterleave()
		case key.Matches(msg, km.Container):
			return p.nextContainer()
		case key.Matches(msg, km.Previous):
			p.previous = !p.previous
			return p.selectionChanged()
		case key.Matches(msg, km.Save):
			return p.saveLog()
		case key.Matches(msg, km.Edit):
			return p.startEdit()
		case key.Matches(msg, km.Follow), key.Matches(msg, km.Wrap), key.Matches(msg, km.Timestamps):
			// View toggles apply to the focused log pane, or to every log pane from the list.
			if l := p.focusedLog(); l != nil {
				l.Update(msg)
			} else {
				for _, l := range []*logview.Model{p.ctrLog, p.kubLog, p.merged} {
					l.Update(msg)
				}
			}
		default:
			if l := p.focusedLog(); l != nil {
				l.Update(msg)
				return nil
			}
			p.list.Update(msg)
			return p.selectionChanged()
		}
	}
	return nil
}

func (p *Pods) nextContainer() tea.Cmd {
	it := p.list.Selected()
	if it == nil || len(it.Containers) < 2 {
		return status("this pod has one container", false)
	}
	for i, c := range it.Containers {
		if c == p.container {
			p.container = it.Containers[(i+1)%len(it.Containers)]
			break
		}
	}
	return p.selectionChanged()
}

// updateFilter edits the log filter: it applies as it is typed (an incomplete regex waits for
// the next key), enter keeps it, esc clears it.
func (p *Pods) updateFilter(msg tea.KeyMsg) tea.Cmd {
	switch msg.Type {
	case tea.KeyEnter:
		p.filtering = false
		if err := p.applyFilter(p.input.Value()); err != nil {
			return status(err.Error(), true)
		}
		if p.input.Value() == "" {
			return status("filter cleared", false)
		}
		return status(p.filterSummary(), false)
	case tea.KeyEsc:
		p.filtering = false
		p.applyFilter("")
		return status("filter cleared", false)
	}
	p.input.Update(msg)
	p.filterErr = p.applyFilter(p.input.Value())
	return nil
}

// applyFilter sets the filter of every log pane (container, kubelet and interleaved).
func (p *Pods) applyFilter(expr string) error {
	for _, l := range []*logview.Model{p.ctrLog, p.kubLog, p.merged} {
		if err := l.SetFilter(expr); err != nil {
			return err
		}
	}
	return nil
}

// filterSummary says which panes the filter applies to and how many lines pass in each.
func (p *Pods) filterSummary() string {
	expr := p.ctrLog.Filter()
	if expr == "" {
		return ""
	}
	type pane struct {
		name string
		l    *logview.Model
	}
	panes := []pane{{"container log", p.ctrLog}, {"kubelet log", p.kubLog}}
	if p.inter {
		panes = []pane{{"interleaved log", p.merged}}
	}
	var parts []string
	matching, kept := 0, 0
	for _, pn := range panes {
		n, k := pn.l.Counts()
		matching += n
		kept += k
		parts = append(parts, fmt.Sprintf("%s %d of %d", pn.name, n, k))
	}
	if matching == 0 {
		return fmt.Sprintf("0 of %d lines match /%s/ (%s)", kept, expr, strings.Join(parts, ", "))
	}
	return fmt.Sprintf("/%s/ on %s", expr, strings.Join(parts, ", "))
}

func status(text string, isErr bool) tea.Cmd {
	return func() tea.Msg { return common.StatusMsg{Text: text, Err: isErr} }
}

// saveLog offers to save the focused log pane (both panes, one after the other, when the pod
// list has the focus) as the lines the filter shows; the root model asks where.
func (p *Pods) saveLog() tea.Cmd {
	it := p.list.Selected()
	if it == nil {
		return status("no pod selected", true)
	}
	panes := p.logPanes()
	if l := p.focusedLog(); l != nil {
		panes = []*logview.Model{l}
	}
	var b strings.Builder
	var whats []string
	for _, l := range panes {
		what, token := "container "+p.container, p.container
		switch l {
		case p.kubLog:
			what, token = "kubelet", "kubelet"
		case p.merged:
			what, token = "interleaved", "interleaved"
		}
		whats = append(whats, token)
		if len(panes) > 1 {
			fmt.Fprintf(&b, "# %s log of %s\n", what, it.Label())
		}
		for _, ln := range l.Matching() {
			stream := ln.Stream
			if ln.Level != "" {
				stream += " " + ln.Level
			}
			fmt.Fprintf(&b, "%s %s %s\n", ln.TS.UTC().Format(time.RFC3339Nano), stream, ln.Text)
		}
	}
	name := fmt.Sprintf("spdoc-log-%s-%s-%s.log", safeName(it.Label()), strings.Join(whats, "+"), p.env.Now().UTC().Format("20060102-150405"))
	return common.RequestSave("log", name, []byte(b.String()))
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, s)
}

// ShortHelp is the footer help for the focused pane.
func (p *Pods) ShortHelp() []key.Binding {
	km := p.c.KeyMap
	if p.filtering {
		return []key.Binding{key.NewBinding(key.WithHelp("enter", "apply")), key.NewBinding(key.WithHelp("esc", "cancel"))}
	}
	if p.edit != nil && p.edit.problems != nil {
		return []key.Binding{key.NewBinding(key.WithHelp("e", "edit again")), key.NewBinding(key.WithHelp("esc", "discard"))}
	}
	if l := p.focusedLog(); l != nil {
		return append(l.ShortHelp(), km.FullScreen, km.NextPane, km.Back, km.Help, km.Quit)
	}
	return p.allowed(append(p.list.ShortHelp(), km.Manifest, km.FullScreen, km.NextPane, km.Help, km.Quit))
}

// allowed drops the keys this source refuses (e on a read-only copy), so the footer and the
// help never advertise them.
func (p *Pods) allowed(bs []key.Binding) []key.Binding {
	if p.CanEdit() {
		return bs
	}
	out := bs[:0:0]
	for _, b := range bs {
		if b.Help().Key != p.c.KeyMap.Edit.Help().Key {
			out = append(out, b)
		}
	}
	return out
}

// FullHelp is every key of the page.
func (p *Pods) FullHelp() [][]key.Binding {
	km := p.c.KeyMap
	return [][]key.Binding{
		common.NavigationHelp(km),
		p.allowed([]key.Binding{km.NextPane, km.PrevPane, km.Enter, km.Back, km.Diagnose, km.Manifest, km.Edit}),
		{km.Filter, km.Follow, km.Wrap, km.Timestamps, km.Interleave, km.FullScreen},
		{km.Container, km.Previous, km.Save, km.Refresh, km.Help, km.Quit},
	}
}

// View draws the page.
func (p *Pods) View() string {
	if l := p.fullPane(); l != nil {
		return l.View()
	}
	right := lipgloss.JoinVertical(lipgloss.Left, p.detail.View(), p.logsView())
	if p.edit != nil && p.edit.problems != nil {
		right = p.editProblemsView(p.width-p.leftW, p.height)
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, p.list.View(), right)
}

func (p *Pods) logsView() string {
	if p.inter {
		return p.merged.View()
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, p.ctrLog.View(), p.kubLog.View())
}

// FilterView is the filter input line, shown by the root model in the status row, with what
// the filter does so far.
func (p *Pods) FilterView() string {
	if !p.filtering {
		return ""
	}
	if p.filterErr != nil {
		return p.input.View() + "  " + p.c.Styles.Dim.Render("(incomplete regex)")
	}
	return p.input.View() + "  " + p.c.Styles.Dim.Render(p.filterSummary())
}
