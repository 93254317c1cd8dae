package pages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
	"github.com/spdoc/spdoc/tui/components/podlist"
)

// The remote edit flow (the TUI reads an agent): the agent renders the pods it owns from one
// config file and its apply replaces that file whole. So e on one of its pods fetches the
// config, edits it in $EDITOR, checks it like the agent will (staticpod.LoadConfig, which runs
// the kubelet-equivalent validator on every pod) and sends it with Apply. Manifests the agent
// does not own (kubeadm's) stay read-only: they are not the agent's to change.

type agentAppliedMsg struct {
	path     string
	res      *api.ApplyResult
	warnings []string
	err      error
	// changed is set (and nothing applied) when the agent's config is no longer the one the
	// edit started from: current is what it is now.
	changed bool
	current []byte
}

// startAgentEdit opens the agent's config when the agent owns the pod's manifest.
func (p *Pods) startAgentEdit(it *podlist.Item) tea.Cmd {
	if it.Manifest == "" {
		return status("this pod has no manifest file", true)
	}
	ag, manifest, label := p.env.Agent, it.Manifest, it.Label()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pods, err := ag.StaticPods(ctx)
		if err != nil {
			return editReadyMsg{err: fmt.Errorf("asking the agent which pods it manages: %w", err)}
		}
		owner := AgentOwner(pods, manifest)
		if owner == nil {
			return editReadyMsg{err: fmt.Errorf("%s is not managed by the agent: edit it on the node (%s)", label, manifest)}
		}
		data, path, err := ag.Config(ctx)
		if err != nil {
			return editReadyMsg{err: agentError("reading the agent config", err)}
		}
		if path == "" {
			path = "agent config"
		}
		tmp, err := editCopy(path, data)
		if err != nil {
			return editReadyMsg{err: err}
		}
		return editReadyMsg{path: path, tmp: tmp, orig: data, agent: true, pod: owner.ID}
	}
}

// AgentOwner returns the agent's static pod whose manifest is the file at manifest, or nil when
// the agent does not own the file. The agent and the node reader may name the manifest dir
// differently (a symlink, a relative --manifests), so the file name decides when the paths
// differ: the agent owns only files named <prefix><namespace>-<name>.yaml in one directory.
func AgentOwner(pods []api.StaticPod, manifest string) *api.StaticPod {
	for i := range pods {
		if pods[i].Manifest != "" && filepath.Clean(pods[i].Manifest) == filepath.Clean(manifest) {
			return &pods[i]
		}
	}
	for i := range pods {
		if pods[i].Manifest != "" && filepath.Base(pods[i].Manifest) == filepath.Base(manifest) {
			return &pods[i]
		}
	}
	return nil
}

// agentError says clearly when the agent refused the caller's role (a reader certificate).
func agentError(what string, err error) error {
	if errors.Is(err, node.ErrAgent) && errors.Is(err, node.ErrForbidden) {
		return fmt.Errorf("%s: editing through the agent needs an admin certificate (%s): %w", what, api.RoleAdmin, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ConfigProblems lists what makes an agent config unacceptable (errors, with config lines) and
// what only warns.
func ConfigProblems(cfg *staticpod.Config, err error) (errs, warnings []string) {
	if err != nil {
		return []string{err.Error()}, nil
	}
	if cfg == nil {
		return []string{"the config could not be loaded"}, nil
	}
	for _, p := range cfg.Pods {
		for _, i := range p.Issues {
			msg := "pod " + p.ID + ": " + issueAt(i)
			if i.Severity == staticpod.SeverityError {
				errs = append(errs, msg)
			} else {
				warnings = append(warnings, msg)
			}
		}
	}
	return errs, warnings
}

func issueAt(i staticpod.Issue) string {
	if i.Line > 0 {
		return fmt.Sprintf("line %d: %s", i.Line, i)
	}
	return i.String()
}

// applyAgentConfig checks the edited config and, when valid, sends it to the agent.
func (p *Pods) applyAgentConfig(data []byte) tea.Cmd {
	errs, warnings := ConfigProblems(p.env.LoadConfig(p.edit.path, data))
	if len(errs) > 0 {
		p.edit.problems, p.edit.headline = errs, ""
		return status("the edited agent config is invalid and was not applied: e edits again, esc discards", true)
	}
	p.edit.problems = nil
	ag, path, base := p.env.Agent, p.edit.path, p.edit.base
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Apply replaces the whole config: if someone applied or edited it on the node while
		// $EDITOR was open, sending this copy would silently undo their change. (A change in the
		// moment between this read and the apply is not caught: the API has no conditional apply.)
		current, _, err := ag.Config(ctx)
		if err != nil {
			return agentAppliedMsg{path: path, err: agentError("reading the agent config before applying", err)}
		}
		if !bytes.Equal(current, base) {
			return agentAppliedMsg{path: path, changed: true, current: current}
		}
		res, err := ag.Apply(ctx, data)
		if err != nil && res == nil {
			err = agentError("applying the config through the agent", err)
		}
		return agentAppliedMsg{path: path, res: res, warnings: warnings, err: err}
	}
}

func (p *Pods) handleAgentApplied(msg agentAppliedMsg) tea.Cmd {
	if p.edit == nil {
		return nil
	}
	if msg.changed {
		// Keep the user's copy: the next save applies it over the config as it is now, which
		// is put beside it for reading.
		p.edit.base = msg.current
		p.edit.headline = "the agent config changed while you edited it — " + p.edit.path + " was NOT applied"
		p.edit.problems = []string{"someone applied a new config or edited it on the node since you opened it; applying your copy would undo that"}
		if p.edit.current == "" {
			p.edit.current = strings.TrimSuffix(p.edit.tmp, filepath.Ext(p.edit.tmp)) + ".now" + filepath.Ext(p.edit.tmp)
		}
		if err := os.WriteFile(p.edit.current, msg.current, 0o600); err == nil {
			p.edit.problems = append(p.edit.problems, "the config as it is now: "+p.edit.current)
		}
		p.edit.problems = append(p.edit.problems, "e edits your copy again (bring it up to date by hand); saving it then applies it over the config as it is now")
		return status("the agent config changed meanwhile, nothing applied: e edits again, esc discards", true)
	}
	if res := msg.res; res != nil && (res.ParseError != "" || len(res.Invalid) > 0) {
		// The agent checks again (its node name, --no-validate, a newer validator): what it
		// refuses is shown like a local check's result, the edit kept for another try.
		p.edit.problems = RefusedProblems(res)
		p.edit.headline = "the agent refused the edited config — " + p.edit.path + " was NOT applied"
		return status("the agent refused the edited config, nothing applied: e edits again, esc discards", true)
	}
	p.discardEdit()
	if msg.res == nil {
		return status(msg.err.Error(), true)
	}
	text := ApplySummary(msg.res)
	if len(msg.warnings) > 0 {
		text += " (warnings: " + strings.Join(msg.warnings, "; ") + ")"
	}
	return tea.Batch(status(text, msg.err != nil || !msg.res.OK()), func() tea.Msg { return RefreshMsg{} })
}

// RefusedProblems lists why the agent refused a config.
func RefusedProblems(res *api.ApplyResult) []string {
	var out []string
	if res.ParseError != "" {
		out = append(out, res.ParseError)
	}
	for _, inv := range res.Invalid {
		for _, i := range inv.Issues {
			if i.Severity == staticpod.SeverityError {
				out = append(out, "pod "+inv.ID+": "+issueAt(i))
			}
		}
		if len(inv.Issues) == 0 {
			out = append(out, "pod "+inv.ID+": invalid")
		}
	}
	return out
}

// ApplySummary is the status line after an apply: what the agent wrote, removed and refused.
func ApplySummary(res *api.ApplyResult) string {
	base := func(paths []string) string {
		names := make([]string, len(paths))
		for i, p := range paths {
			names[i] = filepath.Base(p)
		}
		return strings.Join(names, ", ")
	}
	var parts []string
	if len(res.Written) > 0 {
		parts = append(parts, "wrote "+base(res.Written))
	}
	if len(res.Removed) > 0 {
		parts = append(parts, "removed "+base(res.Removed))
	}
	if len(res.Invalid) > 0 {
		ids := make([]string, len(res.Invalid))
		for i, inv := range res.Invalid {
			ids[i] = inv.ID
		}
		parts = append(parts, "refused "+strings.Join(ids, ", "))
	}
	if len(res.Errors) > 0 {
		parts = append(parts, "errors: "+strings.Join(res.Errors, "; "))
	}
	if len(parts) == 0 {
		parts = append(parts, "no manifest changed")
	}
	cfg := res.Config
	if cfg == "" {
		cfg = "the config"
	}
	return "agent applied " + cfg + ": " + strings.Join(parts, " · ")
}
