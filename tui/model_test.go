package tui

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spdoc/spdoc/tui/components/logview"
	"github.com/spdoc/spdoc/tui/fakeclient"
	"github.com/spdoc/spdoc/tui/pages"
)

// newModel returns a model that has received its first snapshot, sized 140×36. Commands the
// model returns are not run (streams would block): tests run the synchronous ones themselves.
func newModel(t *testing.T, c *fakeclient.Client) *Model {
	t.Helper()
	m := New(testEnv(t, c), nil)
	t.Cleanup(m.Pods().StopStreams)
	m.Update(tea.WindowSizeMsg{Width: goldenW, Height: goldenH})
	m.Update(m.Init()())
	if m.Report() == nil {
		t.Fatal("no report after the first snapshot")
	}
	return m
}

func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		_, cmd = m.Update(keyMsg(k))
	}
	return cmd
}

func TestKeys(t *testing.T) {
	tests := []struct {
		name  string
		keys  []string
		check func(*Model) string // "" when fine
	}{
		{"j moves down", []string{"j"}, func(m *Model) string {
			return want(m.Pods().List().Selected().Key == "kube-system-etcd", "cursor on %s", m.Pods().List().Selected().Key)
		}},
		{"down then k moves back", []string{"down", "k"}, func(m *Model) string {
			return want(m.Pods().List().Cursor() == 0, "cursor %d", m.Pods().List().Cursor())
		}},
		{"G goes to the undecodable file", []string{"G"}, func(m *Model) string {
			it := m.Pods().List().Selected()
			return want(it.File != nil && it.Badge == "Invalid", "selected %+v", it.Key)
		}},
		{"tab cycles panes", []string{"tab", "tab"}, func(m *Model) string {
			return want(m.Pods().Focus() == pages.FocusKubeletLog, "focus %d", m.Pods().Focus())
		}},
		{"tab three times is back on the list", []string{"tab", "tab", "tab"}, func(m *Model) string {
			return want(m.Pods().Focus() == pages.FocusList, "focus %d", m.Pods().Focus())
		}},
		{"enter focuses the log, esc goes back", []string{"enter"}, func(m *Model) string {
			if m.Pods().Focus() != pages.FocusContainerLog {
				return "enter did not focus the container log"
			}
			press(m, "esc")
			return want(m.Pods().Focus() == pages.FocusList, "esc: focus %d", m.Pods().Focus())
		}},
		{"j in a focused log scrolls it, not the list", []string{"enter", "k"}, func(m *Model) string {
			return want(m.Pods().List().Cursor() == 0 && !m.Pods().ContainerLog().Following(), "cursor %d following %v",
				m.Pods().List().Cursor(), m.Pods().ContainerLog().Following())
		}},
		{"F from the list pauses every log pane", []string{"F"}, func(m *Model) string {
			p := m.Pods()
			return want(!p.ContainerLog().Following() && !p.KubeletLog().Following(), "still following")
		}},
		{"F in a focused pane only toggles that pane", []string{"tab", "tab", "F"}, func(m *Model) string {
			p := m.Pods()
			return want(p.ContainerLog().Following() && !p.KubeletLog().Following(), "ctr %v kub %v",
				p.ContainerLog().Following(), p.KubeletLog().Following())
		}},
		{"w and t toggle wrap and timestamps", []string{"enter", "w", "t"}, func(m *Model) string {
			l := m.Pods().ContainerLog()
			return want(l.Wrapping() && l.Timestamps(), "wrap %v ts %v", l.Wrapping(), l.Timestamps())
		}},
		{"i interleaves", []string{"i"}, func(m *Model) string {
			return want(m.Pods().InterleavedMode() && strings.Contains(m.View(), "interleaved"), "not interleaved")
		}},
		{"c switches to the next container", []string{"j", "c"}, func(m *Model) string {
			c, _ := m.Pods().Container()
			if c != "sidecar" {
				return "container " + c
			}
			press(m, "c")
			c, _ = m.Pods().Container()
			return want(c == "etcd", "container after wrap %s", c)
		}},
		{"p shows the previous instance", []string{"j", "p"}, func(m *Model) string {
			c, prev := m.Pods().Container()
			return want(prev && c == "etcd" && strings.Contains(m.View(), "previous instance"), "container %s previous %v", c, prev)
		}},
		{"d opens the diagnose view, esc returns", []string{"d"}, func(m *Model) string {
			if m.Page() != PageDiagnose || !strings.Contains(m.View(), "filler line 0") {
				return "diagnose view not shown"
			}
			press(m, "esc")
			return want(m.Page() == PagePods, "page %d", m.Page())
		}},
		{"? opens and closes help", []string{"?"}, func(m *Model) string {
			if !m.ShowingHelp() {
				return "help not shown"
			}
			press(m, "?")
			return want(!m.ShowingHelp(), "help still shown")
		}},
		{"typing a filter does not trigger keys", []string{"/", "q", "d", "enter"}, func(m *Model) string {
			l := m.Pods().ContainerLog()
			return want(l.Filter() == "qd" && m.Page() == PagePods && !m.Pods().Capturing(), "filter %q page %d", l.Filter(), m.Page())
		}},
		{"esc cancels the filter input", []string{"/", "x", "esc"}, func(m *Model) string {
			return want(m.Pods().ContainerLog().Filter() == "" && !m.Pods().Capturing(), "filter %q", m.Pods().ContainerLog().Filter())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newModel(t, fixtureClient())
			press(m, tt.keys...)
			if msg := tt.check(m); msg != "" {
				t.Error(msg)
			}
			assertSize(t, m.View(), goldenW, goldenH)
		})
	}
}

func want(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return strings.TrimSpace(sprintf(format, args...))
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m := newModel(t, fixtureClient())
		cmd := press(m, k)
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s did not quit", k)
		}
	}
}

func TestInvalidFilterIsAnError(t *testing.T) {
	m := newModel(t, fixtureClient())
	cmd := press(m, "/", "(", "enter")
	m.Update(cmd())
	if st := m.Status(); !st.Err || !strings.Contains(st.Text, "filter \"(\"") {
		t.Errorf("status %+v", st)
	}
}

func TestSaveMarkdownReport(t *testing.T) {
	m := newModel(t, fixtureClient())
	press(m, "d")
	for _, k := range []string{"S", "m"} {
		cmd := press(m, k)
		m.Update(cmd())
		if v := m.View(); !strings.Contains(v, "save report to: "+m.env.Dir) {
			t.Fatalf("%s: no prompt with the save dir:\n%s", k, v)
		}
		press(m, "enter")
		path := filepath.Join(m.env.Dir, "spdoc-report-node1-20261124-215504.md")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (status %+v)", k, err, m.Status())
		}
		if !strings.HasPrefix(string(data), "# spdoc report: node node1") {
			t.Errorf("%s: not the markdown rendering: %q", k, data[:40])
		}
		if st := m.Status(); st.Err || !strings.Contains(st.Text, path) {
			t.Errorf("%s: status does not say where: %+v", k, st)
		}
		os.Remove(path)
	}
}

func TestSaveVisibleLog(t *testing.T) {
	m := newModel(t, fixtureClient())
	p := m.Pods()
	p.ContainerLog().Append([]logview.Line{{TS: t0, Stream: "stdout", Text: "keep me"}, {TS: t0, Stream: "stderr", Text: "drop me"}})
	press(m, "/", "k", "e", "e", "p", "enter", "enter") // filter, then focus the container log
	cmd := press(m, "s")
	m.Update(cmd())
	press(m, "enter")
	path := filepath.Join(m.env.Dir, "spdoc-log-default-web-web-20261124-215504.log")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (status %+v)", err, m.Status())
	}
	if string(data) != "2026-11-24T21:55:04Z stdout keep me\n" {
		t.Errorf("saved %q", data)
	}
}

func TestReconnectAfterSourceLoss(t *testing.T) {
	c := fixtureClient()
	m := newModel(t, c)
	c.SetSnapshot(nil, errors.New("dial unix /run/spdoc/agent.sock: connect: connection refused"))
	for i := 1; i <= 3; i++ {
		m.Update(m.fetch()())
	}
	v := m.View()
	if !strings.Contains(v, "source unavailable: dial unix") || !strings.Contains(v, "reconnecting in 8s (attempt 3)") {
		t.Errorf("header does not say the source is gone:\n%s", v)
	}
	// The last good report stays on screen while reconnecting.
	if !strings.Contains(v, "kube-system-etcd") {
		t.Error("pods vanished while reconnecting")
	}
	c.SetSnapshot(fixtureSnapshot(), nil)
	m.Update(m.fetch()())
	if v := m.View(); strings.Contains(v, "source unavailable") || !strings.Contains(v, "node ok") {
		t.Errorf("header did not recover:\n%s", v)
	}
}

func TestTickerRefreshes(t *testing.T) {
	c := fixtureClient()
	m := newModel(t, c)
	before := c.SnapshotCalls()
	_, cmd := m.Update(tickMsg{gen: m.gen})
	if cmd == nil {
		t.Fatal("tick did not fetch")
	}
	m.Update(cmd())
	if c.SnapshotCalls() != before+1 {
		t.Errorf("snapshot calls %d, want %d", c.SnapshotCalls(), before+1)
	}
	// A stale tick (from before a forced refresh) does nothing.
	if _, cmd := m.Update(tickMsg{gen: m.gen - 1}); cmd != nil {
		t.Error("stale tick fetched")
	}
}

func TestResize(t *testing.T) {
	m := newModel(t, fixtureClient())
	for _, sz := range [][2]int{{80, 24}, {200, 50}, {60, 20}} {
		m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		assertSize(t, m.View(), sz[0], sz[1])
	}
}

func TestMouseWheelScrollsPaneUnderPointer(t *testing.T) {
	m := newModel(t, fixtureClient())
	p := m.Pods()
	for i := 0; i < 100; i++ {
		p.KubeletLog().Append([]logview.Line{{TS: t0, Text: "line"}})
	}
	m.Update(tea.MouseMsg{X: goldenW - 5, Y: 20, Button: tea.MouseButtonWheelUp, Action: tea.MouseActionPress})
	if p.KubeletLog().Offset() != 3 || p.ContainerLog().Offset() != 0 {
		t.Errorf("kubelet offset %d, container offset %d", p.KubeletLog().Offset(), p.ContainerLog().Offset())
	}
	m.Update(tea.MouseMsg{X: 2, Y: 5, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	if p.List().Cursor() != 1 {
		t.Errorf("wheel over the list: cursor %d", p.List().Cursor())
	}
}

func TestReadOnlySourceRefusesEdit(t *testing.T) {
	env := testEnv(t, fixtureClient())
	env.Manifests = nil
	m := New(env, nil)
	m.Update(tea.WindowSizeMsg{Width: goldenW, Height: goldenH})
	m.Update(m.Init()())
	t.Cleanup(m.Pods().StopStreams)
	cmd := press(m, "e")
	m.Update(cmd())
	if st := m.Status(); !st.Err || !strings.Contains(st.Text, "read-only") {
		t.Errorf("status %+v", st)
	}
}

// TestSaveNeverIntoManifestDir: a path typed into the manifest dir is refused with the reason,
// the prompt stays open to fix it, and esc saves nothing.
func TestSaveNeverIntoManifestDir(t *testing.T) {
	m := newModel(t, fixtureClient())
	m.env.ManifestDir = t.TempDir()
	m.Update(press(m, "s")())
	press(m, "ctrl+u")
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(filepath.Join(m.env.ManifestDir, "x.log")), Paste: true})
	press(m, "enter")
	if st := m.Status(); !st.Err || !strings.Contains(st.Text, "the kubelet loads every file there") {
		t.Fatalf("status %+v", st)
	}
	if entries, _ := os.ReadDir(m.env.ManifestDir); len(entries) != 0 {
		t.Fatalf("wrote into the manifest dir: %v", entries)
	}
	typed := filepath.Join(t.TempDir(), "mine.log")
	press(m, "ctrl+u")
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(typed), Paste: true})
	press(m, "enter")
	if _, err := os.Stat(typed); err != nil {
		t.Fatalf("typed path not written: %v (status %+v)", err, m.Status())
	}
	if st := m.Status(); !strings.Contains(st.Text, "saved the log to "+typed) {
		t.Errorf("status %+v", st)
	}
	m.Update(press(m, "s")())
	press(m, "esc")
	if st := m.Status(); st.Text != "not saved" {
		t.Errorf("esc: status %+v", st)
	}
}

// TestTypedAheadKeysEachAct: keys that reach the program together come as one KeyRunes ("jj");
// each must act, and a bracketed paste must not be taken as keys.
func TestTypedAheadKeysEachAct(t *testing.T) {
	m := newModel(t, fixtureClient())
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jj")})
	if c := m.Pods().List().Cursor(); c != 2 {
		t.Fatalf("cursor %d after jj, want 2", c)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jk")})
	if c := m.Pods().List().Cursor(); c != 2 {
		t.Fatalf("cursor %d after jk, want 2", c)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jjq"), Paste: true})
	if c := m.Pods().List().Cursor(); c != 2 {
		t.Fatalf("a paste moved the cursor to %d", c)
	}
	// In the filter input typed-ahead text is text, in order.
	press(m, "/")
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("err")})
	if v := m.Pods().FilterView(); !strings.Contains(v, "err") {
		t.Errorf("filter input %q", v)
	}
}
