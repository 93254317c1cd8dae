package tui

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
)

const goldenW, goldenH = 140, 36

// startTUI runs the whole program in teatest at a fixed size and waits until the pod list and
// both log panes of the first pod are on screen.
func startTUI(t *testing.T, env Env) (*teatest.TestModel, *Model) {
	t.Helper()
	m := New(env, nil)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(goldenW, goldenH))
	t.Cleanup(func() { m.Pods().StopStreams() })
	waitOutput(t, tm, "slow request 1.2s", "Probe failed")
	return tm, m
}

// waitOutput polls the program output (with a deadline) until every string was seen.
func waitOutput(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	var seen bytes.Buffer
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		seen.Write(b)
		for _, w := range want {
			if !bytes.Contains(seen.Bytes(), []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

func finalView(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
	return fm.(*Model).View()
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// TestGolden drives the whole program (teatest, fixed size, ascii profile) through keys and
// compares the final screen with testdata/TestGolden/<name>.golden (-update rewrites them).
func TestGolden(t *testing.T) {
	tests := []struct {
		name  string
		keys  []tea.KeyMsg
		wait  []string // on screen before the final frame is taken
		want  []string
		not   []string
		check func(t *testing.T, view string)
	}{
		{name: "MainScreen", want: []string{"node node1", "Running", "CrashLoop", "Invalid", "bad.yaml", "request 4", "Probe failed"}},
		{name: "CrashLoopPod", keys: []tea.KeyMsg{keyMsg("j")}, wait: []string{"etcdmain: starting", "sidecar"},
			want: []string{"Container etcd keeps crashing", "→ read the failed instance", "back-off 40s", "×4", "etcdmain: starting"}},
		{name: "DiagnoseView", keys: []tea.KeyMsg{keyMsg("d")}, wait: []string{"filler line 3"},
			want: []string{"kube-system-etcd  CrashLoop", "diagnose · node node1"}},
		{name: "Help", keys: []tea.KeyMsg{keyMsg("?")}, wait: []string{"interleave by time"},
			want: []string{"edit manifest", "previous instance", "filter logs"}},
		{name: "Filter", keys: append(typeKeys("/request [13]"), keyMsg("enter")), wait: []string{"/request [13]/"},
			want: []string{"request 3", "request 1"}, not: []string{"request 2"}},
		{name: "Interleaved", keys: []tea.KeyMsg{keyMsg("i"), keyMsg("t")}, wait: []string{"interleaved"},
			check: func(t *testing.T, view string) {
				// request 1 (t0+1s) < SyncLoop ADD (t0+1.5s) < request 2 (t0+2s)
				a, b, c := strings.Index(view, "request 1"), strings.Index(view, "SyncLoop ADD"), strings.Index(view, "request 2")
				if a < 0 || b < 0 || c < 0 || a >= b || b >= c {
					t.Errorf("interleaved pane not in time order (%d %d %d)", a, b, c)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, _ := startTUI(t, testEnv(t, fixtureClient()))
			for _, k := range tt.keys {
				tm.Send(k)
			}
			if len(tt.wait) > 0 {
				waitOutput(t, tm, tt.wait...)
			}
			view := finalView(t, tm)
			for _, w := range tt.want {
				if !strings.Contains(view, w) {
					t.Errorf("screen lacks %q", w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(view, w) {
					t.Errorf("screen has %q", w)
				}
			}
			if tt.check != nil {
				tt.check(t, view)
			}
			assertSize(t, view, goldenW, goldenH)
			teatest.RequireEqualOutput(t, []byte(view))
		})
	}
}

func typeKeys(s string) []tea.KeyMsg {
	var out []tea.KeyMsg
	for _, r := range s {
		if r == ' ' {
			out = append(out, tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
			continue
		}
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

func assertSize(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := lipglossWidth(l); n != w {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, n, w, l)
		}
	}
}

func TestGoldenEditInvalid(t *testing.T) {
	env := testEnv(t, fixtureClient())
	env.Editor = editorScript(t, "apiVersion: v1\nkind: Pod\nspec: {}\n")
	tm, _ := startTUI(t, env)
	tm.Type("e")
	waitOutput(t, tm, "was NOT written", "e: edit again")
	teatest.RequireEqualOutput(t, []byte(finalView(t, tm)))
}

func TestGoldenSourceLost(t *testing.T) {
	c := fixtureClient()
	env := testEnv(t, c)
	env.RetryBase = time.Minute // no retry during the test: the attempt count stays 1
	env.MaxBackoff = time.Hour
	tm, _ := startTUI(t, env)
	c.SetSnapshot(nil, errors.New("rpc error: code = Unavailable desc = connection refused"))
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlR})
	waitOutput(t, tm, "reconnecting in 2m0s (attempt 1)")
	view := finalView(t, tm)
	if !strings.Contains(view, "kube-system-etcd") {
		t.Error("the last good pod list is gone while reconnecting")
	}
	teatest.RequireEqualOutput(t, []byte(view))
}
