package detail

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/tui/common"
	"github.com/spdoc/spdoc/tui/components/podlist"
	"github.com/spdoc/spdoc/tui/keymap"
	"github.com/spdoc/spdoc/tui/styles"
)

func TestLines(t *testing.T) {
	c := &common.Common{Styles: styles.New(lipgloss.NewRenderer(nil)), KeyMap: keymap.Default()}
	exit := int32(137)
	f := diagnose.Finding{Kind: diagnose.KindOOMKilled, Severity: diagnose.SeverityError, Title: "app was OOM killed",
		Detail: "it used more than its limit", Hint: "raise resources.limits.memory",
		Evidence: []diagnose.Evidence{{Line: "a", Count: 3}, {Line: "b"}, {Line: "c"}, {Line: "d"}, {Line: "e"}}}
	pod := &diagnose.PodReport{ID: "default-app", Namespace: "default", Name: "app", State: "CrashLoop", Manifest: "/m/app.yaml",
		Containers: []diagnose.ContainerReport{{Name: "app", State: "exited", ExitCode: &exit, Reason: "OOMKilled", RestartCount: 2}},
		Findings:   []diagnose.Finding{f, {Kind: diagnose.KindCrashLoop}}}
	tests := []struct {
		name string
		item *podlist.Item
		want []string
		not  []string
	}{
		{"nothing selected", nil, []string{"no static pod selected"}, nil},
		{"pod with root cause", &podlist.Item{Pod: pod, Badge: podlist.BadgeCrash, Top: &pod.Findings[0]},
			[]string{"default/app  CrashLoop", "▸ app: exited restarts 2 exit 137 (OOMKilled)", "✗ app was OOM killed [OOMKilled]",
				"│ ×3 a", "… 2 more evidence lines", "→ raise resources.limits.memory", "+ 1 more findings"},
			[]string{"│ d"}},
		{"status from the kubelet", &podlist.Item{Pod: &diagnose.PodReport{Namespace: "kube-system", Name: "kube-apiserver", Manifest: "/m/kube-apiserver.yaml",
			StatusSource: "kubelet /pods (read-only port)", Containers: []diagnose.ContainerReport{{Name: "kube-apiserver", State: "exited", Waiting: "CrashLoopBackOff", RestartCount: 4}}},
			Badge: podlist.BadgeCrash},
			[]string{"status from kubelet /pods (read-only port)", "kube-apiserver: exited waiting CrashLoopBackOff restarts 4"}, nil},
		{"healthy", &podlist.Item{Pod: &diagnose.PodReport{Namespace: "default", Name: "web"}, Badge: podlist.BadgeRunning},
			[]string{"✓ no problems found"}, nil},
		{"undecodable file", &podlist.Item{Manifest: "/m/bad.yaml", Badge: podlist.BadgeInvalid,
			File: &diagnose.FileReport{Path: "/m/bad.yaml", Findings: []diagnose.Finding{{Title: "does not parse"}}},
			Top:  &diagnose.Finding{Severity: diagnose.SeverityError, Title: "does not parse"}},
			[]string{"/m/bad.yaml  Invalid", "defines no pod", "✗ does not parse"}, []string{"more findings"}},
	}
	for _, tt := range tests {
		m := New(c)
		m.SetItem(tt.item, "app", false)
		out := strings.Join(m.Lines(100), "\n")
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: lacks %q in\n%s", tt.name, w, out)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(out, w) {
				t.Errorf("%s: has %q", tt.name, w)
			}
		}
	}
}
