package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// editorScript writes an $EDITOR that replaces the edited file with the next of versions on each
// run (a counter file remembers the run).
func editorScript(t *testing.T, versions ...string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("#!/bin/sh\nset -e\nn=$(cat " + dir + "/n 2>/dev/null || echo 0)\necho $((n+1)) > " + dir + "/n\n")
	for i, v := range versions {
		p := filepath.Join(dir, "v"+string(rune('0'+i)))
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		b.WriteString("[ $n = " + string(rune('0'+i)) + " ] && cp " + p + " \"$1\"\n")
	}
	b.WriteString("exit 0\n")
	script := filepath.Join(dir, "editor.sh")
	if err := os.WriteFile(script, []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

func TestEditInvalidThenFixed(t *testing.T) {
	env := testEnv(t, fixtureClient())
	store := env.Manifests.(*fakeStore)
	orig := string(store.files[manifest+"web.yaml"])
	invalid := "apiVersion: v1\nkind: Pod\nspec: {}\n"
	fixed := orig + "    image: busybox\n"
	env.Editor = editorScript(t, invalid, fixed)
	tm, m := startTUI(t, env)
	calls := env.Client.(interface{ SnapshotCalls() int }).SnapshotCalls()

	tm.Type("e")
	waitOutput(t, tm, "was NOT written", "line 3: spec.containers: Required value", "e: edit again")
	if store.writes != 0 {
		t.Fatalf("an invalid manifest was written")
	}
	tm.Type("e")
	waitOutput(t, tm, "wrote "+manifest+"web.yaml")
	view := finalView(t, tm)
	if store.writes != 1 || string(store.files[manifest+"web.yaml"]) != fixed {
		t.Errorf("writes %d, content %q", store.writes, store.files[manifest+"web.yaml"])
	}
	if strings.Contains(view, "NOT written") {
		t.Errorf("the problems box stayed after the fix:\n%s", view)
	}
	// Writing triggers an immediate refresh so the fix shows up without waiting for the ticker.
	if got := env.Client.(interface{ SnapshotCalls() int }).SnapshotCalls(); got <= calls {
		t.Errorf("no refresh after the write (snapshot calls %d → %d)", calls, got)
	}
	if m.Pods().EditProblems() != nil {
		t.Error("edit state not cleared")
	}
}

func TestEditDiscard(t *testing.T) {
	env := testEnv(t, fixtureClient())
	store := env.Manifests.(*fakeStore)
	env.Editor = editorScript(t, "bad: [\n")
	tm, _ := startTUI(t, env)
	tm.Type("e")
	waitOutput(t, tm, "line 1: did not find expected node content")
	tm.Send(keyMsg("esc"))
	waitOutput(t, tm, "discarded the edit")
	finalView(t, tm)
	if store.writes != 0 {
		t.Errorf("discarded edit was written")
	}
}

func TestQuitDuringInvalidEditRemovesTheCopy(t *testing.T) {
	env := testEnv(t, fixtureClient())
	env.Editor = editorScript(t, "bad: [\n")
	tm, m := startTUI(t, env)
	tm.Type("e")
	waitOutput(t, tm, "was NOT written")
	tmp := m.Pods().EditCopy()
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("edit copy: %v", err)
	}
	tm.Type("q")
	tm.WaitFinished(t)
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("edit copy %s left behind (%v)", tmp, err)
	}
}

func TestEditUnchanged(t *testing.T) {
	env := testEnv(t, fixtureClient())
	env.Editor = "true"
	tm, _ := startTUI(t, env)
	tm.Type("e")
	waitOutput(t, tm, "no changes to "+manifest+"web.yaml")
	finalView(t, tm)
	if w := env.Manifests.(*fakeStore).writes; w != 0 {
		t.Errorf("unchanged file written %d times", w)
	}
}

func TestEditorFailureWritesNothing(t *testing.T) {
	env := testEnv(t, fixtureClient())
	env.Editor = "false"
	tm, _ := startTUI(t, env)
	tm.Type("e")
	waitOutput(t, tm, "nothing written")
	finalView(t, tm)
	if w := env.Manifests.(*fakeStore).writes; w != 0 {
		t.Errorf("written %d times", w)
	}
}
