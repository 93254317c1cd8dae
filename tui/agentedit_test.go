package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
	"github.com/spdoc/spdoc/tui/fakeclient"
)

const agentConfigPath = "/etc/spdoc/pods.yaml"

func agentConfig(image string) string {
	s := "pods:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: web\n  spec:\n    containers:\n    - name: web\n"
	if image != "" {
		s += "      image: " + image + "\n"
	}
	return s
}

// agentEnv is the fixture TUI reading an agent that owns web.yaml (not etcd.yaml, kubeadm's).
func agentEnv(t *testing.T) (Env, *fakeclient.Agent) {
	t.Helper()
	env := testEnv(t, fixtureClient())
	env.Manifests = nil
	ag := fakeclient.NewAgent(agentConfigPath, []byte(agentConfig("busybox:1")),
		api.StaticPod{ID: "default-web", Namespace: "default", Name: "web", Source: agentConfigPath, Line: 2, Manifest: manifest + "web.yaml"})
	env.Agent = ag
	return env, ag
}

func TestAgentEditApplies(t *testing.T) {
	env, ag := agentEnv(t)
	edited := agentConfig("busybox:2")
	env.Editor = editorScript(t, edited)
	tm, m := startTUI(t, env)
	calls := env.Client.(*fakeclient.Client).SnapshotCalls()
	tm.Type("e")
	waitOutput(t, tm, "agent applied")
	view := finalView(t, tm)
	if got := ag.Applied(); len(got) != 1 || string(got[0]) != edited {
		t.Fatalf("applied %q, want the edited config once", got)
	}
	st := m.Status()
	if st.Err || !strings.Contains(st.Text, "agent applied "+agentConfigPath+": wrote web.yaml") {
		t.Errorf("status %+v, want what the agent wrote", st)
	}
	if strings.Contains(view, "read-only") {
		t.Errorf("header says read-only for an agent that can apply:\n%s", view)
	}
	if got := env.Client.(*fakeclient.Client).SnapshotCalls(); got <= calls {
		t.Errorf("no refresh after the apply (snapshot calls %d → %d)", calls, got)
	}
	if m.Pods().EditCopy() != "" {
		t.Error("edit state not cleared")
	}
}

func TestAgentEditInvalidOffersReEdit(t *testing.T) {
	env, ag := agentEnv(t)
	fixed := agentConfig("busybox:3")
	env.Editor = editorScript(t, agentConfig(""), fixed)
	tm, m := startTUI(t, env)
	tm.Type("e")
	waitOutput(t, tm, "was NOT applied", "pod default-web: line 8: spec.containers[0].image: Required value", "e: edit again", "opened for default-web")
	if n := len(ag.Applied()); n != 0 {
		t.Fatalf("an invalid config was applied (%d applies)", n)
	}
	tm.Type("e")
	waitOutput(t, tm, "agent applied")
	finalView(t, tm)
	if got := ag.Applied(); len(got) != 1 || string(got[0]) != fixed {
		t.Errorf("applied %q, want only the fixed config", got)
	}
	if m.Pods().EditProblems() != nil {
		t.Error("problems stayed after the fix")
	}
}

func TestAgentEditParseErrorThenDiscard(t *testing.T) {
	env, ag := agentEnv(t)
	env.Editor = editorScript(t, "pods:\n- [\n")
	tm, _ := startTUI(t, env)
	tm.Type("e")
	waitOutput(t, tm, "was NOT applied", agentConfigPath+": line ")
	tm.Send(keyMsg("esc"))
	waitOutput(t, tm, "nothing applied")
	finalView(t, tm)
	if n := len(ag.Applied()); n != 0 {
		t.Errorf("discarded config applied %d times", n)
	}
}

func TestAgentRefusalOffersReEdit(t *testing.T) {
	env, ag := agentEnv(t)
	ag.Refuse = &api.ApplyResult{Config: agentConfigPath, Invalid: []api.InvalidPod{{ID: "default-web", Line: 2,
		Issues: []staticpod.Issue{{Field: "spec.nodeName", Type: "Invalid value", Severity: staticpod.SeverityError, Line: 6}}}}}
	env.Editor = editorScript(t, agentConfig("busybox:4"), agentConfig("busybox:5"))
	tm, _ := startTUI(t, env)
	tm.Type("e")
	waitOutput(t, tm, "agent refused the edited config", "pod default-web: line 6: spec.nodeName: Invalid value")
	tm.Type("e")
	waitOutput(t, tm, "agent applied")
	finalView(t, tm)
	if got := ag.Applied(); len(got) != 2 || string(got[1]) != agentConfig("busybox:5") {
		t.Errorf("applied %q, want the refused then the re-edited config", got)
	}
}

// agentModel is a model over agentEnv whose first snapshot arrived; commands are run by hand.
func agentModel(t *testing.T, env Env) *Model {
	t.Helper()
	m := New(env, nil)
	m.Update(tea.WindowSizeMsg{Width: goldenW, Height: goldenH})
	m.Update(m.Init()())
	t.Cleanup(m.Pods().StopStreams)
	return m
}

// edit presses e and runs the commands that follow (fetch, then the status line).
func edit(m *Model) {
	cmd := press(m, "e")
	for i := 0; cmd != nil && i < 3; i++ {
		_, cmd = m.Update(cmd())
	}
}

func selectPod(t *testing.T, m *Model, id string) {
	t.Helper()
	for range 10 {
		if it := m.Pods().List().Selected(); it != nil && it.Key == id {
			return
		}
		press(m, "j")
	}
	t.Fatalf("pod %s not in the list", id)
}

func TestAgentEditForeignPodRefused(t *testing.T) {
	env, ag := agentEnv(t)
	env.Editor = "false" // must not run
	m := agentModel(t, env)
	selectPod(t, m, "kube-system-etcd")
	edit(m)
	st := m.Status()
	if !st.Err || !strings.Contains(st.Text, "not managed by the agent: edit it on the node") || !strings.Contains(st.Text, "etcd.yaml") {
		t.Errorf("status %+v, want the pod refused as not the agent's", st)
	}
	if ag.ConfigReads() != 0 || len(ag.Applied()) != 0 || m.Pods().EditCopy() != "" {
		t.Errorf("config reads %d, applies %d, edit copy %q: a foreign pod opened the config", ag.ConfigReads(), len(ag.Applied()), m.Pods().EditCopy())
	}
}

func TestAgentEditReaderForbidden(t *testing.T) {
	env, ag := agentEnv(t)
	ag.ConfigErr = fmt.Errorf("agent unix:///run/spdoc/agent.sock: GET /v1/config: %w: %w: CN=reader has role spdoc:reader; GET /v1/config needs spdoc:admin (the agent config may hold secrets) (HTTP 403)", node.ErrAgent, node.ErrForbidden)
	m := agentModel(t, env)
	selectPod(t, m, "default-web")
	edit(m)
	st := m.Status()
	if !st.Err || !strings.Contains(st.Text, "needs an admin certificate (spdoc:admin)") || !strings.Contains(st.Text, "HTTP 403") {
		t.Errorf("status %+v, want the 403 explained", st)
	}
	if m.Pods().EditCopy() != "" || len(ag.Applied()) != 0 {
		t.Error("a refused config read started an edit")
	}
}

func TestAgentConfigChangedMeanwhileIsNotOverwritten(t *testing.T) {
	env, ag := agentEnv(t)
	dir := t.TempDir()
	mine, theirs := agentConfig("busybox:mine"), agentConfig("busybox:theirs")
	if err := os.WriteFile(filepath.Join(dir, "mine"), []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	// The first run waits until the test changed the agent's config behind the TUI's back.
	script := filepath.Join(dir, "editor.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nwhile [ ! -f "+dir+"/go ]; do sleep 0.02; done\ncp "+dir+"/mine \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env.Editor = script
	tm, m := startTUI(t, env)
	tm.Type("e")
	deadline := time.Now().Add(10 * time.Second)
	for ag.ConfigReads() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ag.SetConfig([]byte(theirs))
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, tm, "changed while you edited it", "the config as it is now:")
	if n := len(ag.Applied()); n != 0 {
		t.Fatalf("applied %d times over a config changed meanwhile", n)
	}
	now := strings.TrimPrefix(m.Pods().EditProblems()[1], "the config as it is now: ")
	if b, err := os.ReadFile(now); err != nil || string(b) != theirs {
		t.Errorf("current config beside the copy: %q, %v", b, err)
	}
	// Editing again (the script now copies at once) applies the copy over the config as it is now.
	tm.Type("e")
	waitOutput(t, tm, "agent applied")
	finalView(t, tm)
	if got := ag.Applied(); len(got) != 1 || string(got[0]) != mine {
		t.Errorf("applied %q, want my copy once", got)
	}
	if _, err := os.Stat(now); !os.IsNotExist(err) {
		t.Errorf("%s left behind (%v)", now, err)
	}
}
