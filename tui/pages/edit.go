package pages

import (
	"bytes"
	"context"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// The edit flow: copy the manifest to a temp file, run $EDITOR on it (the TUI suspends), decode
// and validate the result like the kubelet would; an invalid result is shown with the option to
// edit again, a valid one is written atomically (or applied through the agent).
type editState struct {
	path     string // the manifest
	tmp      string // the copy being edited
	orig     []byte
	problems []string // non-nil: the last edit was invalid, waiting for "edit again" or "discard"
	// agent: path is a remote agent's config, applied through the agent (pod is the pod whose
	// edit opened it; base the config as the agent had it, to notice a change made meanwhile).
	agent bool
	pod   string
	base  []byte
	// current is a file with the agent's config as it is now, written when it changed meanwhile.
	current string
	// headline replaces the problems box's first line when not the local check but the agent
	// (a refusal, a config changed meanwhile) turned the last edit down.
	headline string
}

// noun and verb say what is edited and what happens to it when valid.
func (e *editState) noun() string {
	if e.agent {
		return "agent config " + e.path
	}
	return e.path
}

func (e *editState) verb() string {
	if e.agent {
		return "applied"
	}
	return "written"
}

type editReadyMsg struct {
	path, tmp string
	orig      []byte
	agent     bool
	pod       string
	err       error
}

type editDoneMsg struct{ err error }

type editWrittenMsg struct {
	path     string
	warnings []string
	err      error
}

// FileProblems lists what makes a decoded manifest unacceptable (errors) and what only warns.
func FileProblems(f *staticpod.File) (errs, warnings []string) {
	if f == nil {
		return []string{"the file could not be decoded"}, nil
	}
	if f.Err != "" {
		errs = append(errs, f.Err)
	}
	if f.Parse != nil {
		errs = append(errs, f.Parse.Error())
	}
	if f.Parse == nil && f.Err == "" && len(f.Pods) == 0 {
		errs = append(errs, "the file defines no pod")
	}
	at := func(i staticpod.Issue) string {
		if i.Line > 0 {
			return fmt.Sprintf("line %d: %s", i.Line, i)
		}
		return i.String()
	}
	for _, w := range f.Warnings {
		warnings = append(warnings, at(w))
	}
	for _, p := range f.Pods {
		for _, i := range p.Issues {
			msg := at(i)
			if len(f.Pods) > 1 {
				msg = "pod " + p.ID + ": " + msg
			}
			if i.Severity == staticpod.SeverityError {
				errs = append(errs, msg)
			} else {
				warnings = append(warnings, msg)
			}
		}
	}
	return errs, warnings
}

func (p *Pods) editProblems() []string {
	if p.edit == nil {
		return nil
	}
	return p.edit.problems
}

// EditCopy is the temp file being edited ("" when no edit is under way).
func (p *Pods) EditCopy() string {
	if p.edit == nil {
		return ""
	}
	return p.edit.tmp
}

func (p *Pods) startEdit() tea.Cmd {
	it := p.list.Selected()
	switch {
	case it == nil:
		return status("no pod selected", true)
	case p.env.Agent != nil:
		return p.startAgentEdit(it)
	case p.env.Manifests == nil:
		return status("read-only source: editing needs the local node or an agent that can apply", true)
	case p.env.Decode == nil:
		return status("editing needs a manifest validator", true)
	case it.Manifest == "":
		return status("this pod has no manifest file", true)
	}
	store, path := p.env.Manifests, it.Manifest
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		data, err := store.Read(ctx, path)
		if err != nil {
			return editReadyMsg{err: fmt.Errorf("reading manifest %q: %w", path, err)}
		}
		tmp, err := editCopy(path, data)
		if err != nil {
			return editReadyMsg{err: err}
		}
		return editReadyMsg{path: path, tmp: tmp, orig: data}
	}
}

// editCopy writes data to a temp file named after path (same extension, so the editor
// highlights it) and returns the temp file's name.
func editCopy(path string, data []byte) (string, error) {
	ext := filepath.Ext(path)
	if ext != ".yaml" && ext != ".yml" && ext != ".json" {
		ext = ".yaml"
	}
	f, err := os.CreateTemp("", "spdoc-edit-*-"+strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))+ext)
	if err != nil {
		return "", fmt.Errorf("creating the edit copy: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing the edit copy %q: %w", f.Name(), err)
	}
	return f.Name(), nil
}

func (p *Pods) runEditor() tea.Cmd {
	args := strings.Fields(p.env.Editor)
	if len(args) == 0 {
		args = []string{"vi"}
	}
	c := exec.Command(args[0], append(args[1:], p.edit.tmp)...)
	return tea.ExecProcess(c, func(err error) tea.Msg { return editDoneMsg{err: err} })
}

func (p *Pods) discardEdit() {
	if p.edit != nil {
		os.Remove(p.edit.tmp)
		if p.edit.current != "" {
			os.Remove(p.edit.current)
		}
		p.edit = nil
	}
}

func (p *Pods) updateEdit(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case editReadyMsg:
		if msg.err != nil {
			return status(msg.err.Error(), true)
		}
		p.discardEdit()
		p.edit = &editState{path: msg.path, tmp: msg.tmp, orig: msg.orig, agent: msg.agent, pod: msg.pod, base: msg.orig}
		return p.runEditor()
	case editDoneMsg:
		if p.edit == nil {
			return nil
		}
		if msg.err != nil {
			p.discardEdit()
			return status(fmt.Sprintf("editor %q failed, nothing written: %v", p.env.Editor, msg.err), true)
		}
		data, err := os.ReadFile(p.edit.tmp)
		if err != nil {
			p.discardEdit()
			return status(fmt.Sprintf("reading the edited copy: %v", err), true)
		}
		if bytes.Equal(data, p.edit.orig) {
			path := p.edit.path
			p.discardEdit()
			return status("no changes to "+path, false)
		}
		if p.edit.agent {
			return p.applyAgentConfig(data)
		}
		errs, warnings := FileProblems(p.env.Decode(p.edit.path, data))
		if len(errs) > 0 {
			p.edit.problems = errs
			return status(fmt.Sprintf("%s is invalid and was not written: e edits again, esc discards", p.edit.path), true)
		}
		p.edit.problems = nil
		store, path := p.env.Manifests, p.edit.path
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := store.Write(ctx, path, data)
			if err != nil {
				err = fmt.Errorf("writing manifest %q: %w", path, err)
			}
			return editWrittenMsg{path: path, warnings: warnings, err: err}
		}
	case editWrittenMsg:
		p.discardEdit()
		if msg.err != nil {
			return status(msg.err.Error(), true)
		}
		text := "wrote " + msg.path
		if len(msg.warnings) > 0 {
			text += " (warnings: " + strings.Join(msg.warnings, "; ") + ")"
		}
		return tea.Batch(status(text, false), func() tea.Msg { return RefreshMsg{} })
	}
	return nil
}

func (p *Pods) updateEditProblems(msg tea.KeyMsg) tea.Cmd {
	switch msg.String() {
	case "e":
		p.edit.problems, p.edit.headline = nil, ""
		return p.runEditor()
	case "esc", "q":
		noun, verb := p.edit.noun(), p.edit.verb()
		p.discardEdit()
		return status("discarded the edit of "+noun+", nothing "+verb, false)
	}
	return nil
}

func (p *Pods) editProblemsView(width, height int) string {
	st := p.c.Styles
	head := "✗ the edited manifest is invalid — " + p.edit.path + " was NOT written"
	switch {
	case p.edit.headline != "":
		head = "✗ " + p.edit.headline
	case p.edit.agent:
		head = "✗ the edited agent config is invalid — " + p.edit.path + " was NOT applied"
	}
	lines := []string{st.Error.Render(head), ""}
	for _, pr := range p.edit.problems {
		lines = append(lines, "  "+st.Error.Render("•")+" "+pr)
	}
	lines = append(lines, "", st.Hint.Render("→ e: edit again (your changes are kept) · esc: discard"))
	title := "edit " + filepath.Base(p.edit.path)
	if p.edit.agent && p.edit.pod != "" {
		title += " (agent config, opened for " + p.edit.pod + ")"
	}
	return p.c.Box(title, lines, width, height, true)
}
