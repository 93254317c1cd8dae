package pages

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/spdoc/spdoc/internal/staticpod"
	"github.com/spdoc/spdoc/tui/common"
	"sigs.k8s.io/yaml"
)

// Manifest shows a pod's manifest read-only (k9s y), numbered, with the kubelet's validation
// problems under the lines they are about and the ones without a line on top.
type Manifest struct {
	docView
	path          string
	width, height int
}

// NewManifest returns the manifest page.
func NewManifest(c *common.Common) *Manifest { return &Manifest{docView: newDocView(c)} }

// SetSize sets the page size.
func (m *Manifest) SetSize(width, height int) {
	m.width, m.height = width, height
	m.setSize(width, height)
}

// ManifestLoadedMsg carries a manifest's text to the manifest page (the root routes it).
type ManifestLoadedMsg struct {
	path string
	text string
}

// Update scrolls and searches.
func (m *Manifest) Update(msg tea.Msg) tea.Cmd {
	if l, ok := msg.(ManifestLoadedMsg); ok {
		m.path = l.path
		m.setText(l.text)
		m.vp.GotoTop()
		return nil
	}
	cmd, _ := m.update(msg)
	return cmd
}

// ShortHelp is the footer help.
func (m *Manifest) ShortHelp() []key.Binding {
	km := m.c.KeyMap
	return []key.Binding{km.Up, km.Down, km.PageDown, m.searchHelp(), km.NextMatch, km.Back, km.Help, km.Quit}
}

// FullHelp is every key of the page.
func (m *Manifest) FullHelp() [][]key.Binding {
	km := m.c.KeyMap
	return [][]key.Binding{common.NavigationHelp(km), {m.searchHelp(), km.NextMatch, km.Back, km.Help, km.Quit}}
}

// View draws the manifest in a box.
func (m *Manifest) View() string {
	return m.c.Box("manifest (read-only) · "+m.path+" · esc back", common.Lines(m.vp.View()), m.width, m.height, true)
}

// LoadManifest reads the selected pod's manifest for the manifest page: from the manifest
// store (this node, an agent), else from the file (a copy), else the decoded pod as YAML (an
// agent's node whose file cannot be read here).
func (p *Pods) LoadManifest() tea.Cmd {
	it := p.list.Selected()
	if it == nil || it.Manifest == "" {
		return status("this pod has no manifest file", true)
	}
	path, store := it.Manifest, p.env.Manifests
	var file *staticpod.File
	if p.snap != nil && p.snap.Manifests != nil {
		for _, f := range p.snap.Manifests.Files {
			if f.Path == path {
				file = f
			}
		}
	}
	return func() tea.Msg {
		var data []byte
		var err error
		if store != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			data, err = store.Read(ctx, path)
			cancel()
		} else {
			data, err = os.ReadFile(path)
		}
		note := ""
		if err != nil && file != nil && len(file.Pods) > 0 && file.Pods[0].Pod != nil {
			data, _ = yaml.Marshal(file.Pods[0].Pod)
			note = fmt.Sprintf("(the file cannot be read here: %v; this is the pod as the agent decoded it)\n\n", err)
			err = nil
		}
		if err != nil {
			return common.StatusMsg{Text: fmt.Sprintf("reading %s: %v", path, err), Err: true}
		}
		return ManifestLoadedMsg{path: path, text: note + annotateManifest(string(data), file)}
	}
}

// annotateManifest numbers the lines and puts each validation problem under its line; problems
// without a line come first.
func annotateManifest(text string, f *staticpod.File) string {
	at := map[int][]string{}
	var top []string
	add := func(line int, sev, msg string) {
		if line > 0 {
			at[line] = append(at[line], sev+": "+msg)
		} else {
			top = append(top, sev+": "+msg)
		}
	}
	if f != nil {
		if f.Parse != nil {
			add(f.Parse.Line, "error", "the kubelet cannot parse this file: "+f.Parse.Msg)
		}
		for _, w := range f.Warnings {
			add(w.Line, string(w.Severity), w.String())
		}
		for _, p := range f.Pods {
			for _, i := range p.Issues {
				add(i.Line, string(i.Severity), i.String())
			}
		}
	}
	var b strings.Builder
	if len(top) > 0 {
		for _, t := range top {
			b.WriteString("      ! " + t + "\n")
		}
		b.WriteString("\n")
	} else if f != nil && len(at) == 0 {
		b.WriteString("      ✓ the kubelet accepts this manifest\n\n")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, l := range lines {
		fmt.Fprintf(&b, "%5d │ %s\n", i+1, l)
		for _, pr := range at[i+1] {
			b.WriteString("      ▲ " + pr + "\n")
		}
	}
	for n, prs := range at {
		if n > len(lines) {
			for _, pr := range prs {
				b.WriteString("      ! " + pr + "\n")
			}
		}
	}
	return b.String()
}
