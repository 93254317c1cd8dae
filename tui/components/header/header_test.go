package header

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/tui/common"
	"github.com/spdoc/spdoc/tui/keymap"
	"github.com/spdoc/spdoc/tui/styles"
)

func TestNodeProblems(t *testing.T) {
	r := &diagnose.Report{Node: diagnose.NodeReport{Findings: []diagnose.Finding{
		{Kind: diagnose.KindKubeletLogMissing, Severity: diagnose.SeverityWarning, Title: "kubelet log missing"},
		{Kind: diagnose.KindRuntimeUnreachable, Severity: diagnose.SeverityError, Title: "runtime unreachable"},
		{Kind: diagnose.KindKubeletNotRunning, Severity: diagnose.SeverityError, Title: "kubelet was down", History: true},
		{Kind: diagnose.KindSourceError, Severity: diagnose.SeverityInfo, Title: "info"},
	}}}
	var got []string
	for _, f := range NodeProblems(r) {
		got = append(got, f.Title)
	}
	if strings.Join(got, ",") != "runtime unreachable,kubelet log missing" {
		t.Errorf("%v", got)
	}
}

func TestView(t *testing.T) {
	c := &common.Common{Styles: styles.New(lipgloss.NewRenderer(nil)), KeyMap: keymap.Default()}
	r := &diagnose.Report{Node: diagnose.NodeReport{Name: "n1", ManifestDir: "/m", Runtime: "containerd 1.6.20"}}
	tests := []struct {
		name  string
		state State
		want  []string
	}{
		{"healthy", State{Source: "local node", Report: r}, []string{"node n1", "local node", "✓ node ok", "containerd 1.6.20"}},
		{"read-only", State{Source: "root /x", Report: r, ReadOnly: true}, []string{"(read-only)"}},
		{"before the first snapshot", State{Source: "local node"}, []string{"reading the node…"}},
		{"source lost", State{Source: "agent unix:///a.sock", Report: r, Err: errors.New("connection refused"), Retry: 4 * time.Second, Attempt: 2},
			[]string{"⚠ source unavailable: connection refused — reconnecting in 4s (attempt 2)"}},
		{"node problem", State{Report: &diagnose.Report{Node: diagnose.NodeReport{Findings: []diagnose.Finding{
			{Severity: diagnose.SeverityError, Title: "the manifest directory does not exist"}}}}},
			[]string{"✗ the manifest directory does not exist"}},
	}
	for _, tt := range tests {
		m := New(c)
		m.SetSize(120, Height)
		m.SetState(tt.state)
		v := m.View()
		for _, w := range tt.want {
			if !strings.Contains(v, w) {
				t.Errorf("%s: %q lacks %q", tt.name, v, w)
			}
		}
		if n := len(strings.Split(v, "\n")); n != Height {
			t.Errorf("%s: %d rows", tt.name, n)
		}
	}
}
