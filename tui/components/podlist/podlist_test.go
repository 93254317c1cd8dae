package podlist

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/podview"
	"github.com/spdoc/spdoc/tui/common"
	"github.com/spdoc/spdoc/tui/keymap"
	"github.com/spdoc/spdoc/tui/styles"
)

func TestTopFinding(t *testing.T) {
	f := func(k diagnose.Kind, s diagnose.Severity, history bool, cause diagnose.Kind) diagnose.Finding {
		return diagnose.Finding{Kind: k, Severity: s, History: history, Cause: cause}
	}
	tests := []struct {
		name string
		fs   []diagnose.Finding
		want diagnose.Kind
	}{
		{"none", nil, ""},
		{"root cause before consequence", []diagnose.Finding{
			f(diagnose.KindPodRemoved, diagnose.SeverityError, false, diagnose.KindManifestInvalid),
			f(diagnose.KindManifestInvalid, diagnose.SeverityError, false, "")}, diagnose.KindManifestInvalid},
		{"current before history", []diagnose.Finding{
			f(diagnose.KindCrashLoop, diagnose.SeverityError, true, ""),
			f(diagnose.KindProbeFailed, diagnose.SeverityWarning, false, "")}, diagnose.KindProbeFailed},
		{"error before warning", []diagnose.Finding{
			f(diagnose.KindManifestWarning, diagnose.SeverityWarning, false, ""),
			f(diagnose.KindImageNotPresent, diagnose.SeverityError, false, "")}, diagnose.KindImageNotPresent},
	}
	for _, tt := range tests {
		got := TopFinding(tt.fs)
		if (got == nil) != (tt.want == "") || (got != nil && got.Kind != tt.want) {
			t.Errorf("%s: %+v", tt.name, got)
		}
	}
}

func TestItemsIncludeUndecodableFiles(t *testing.T) {
	r := &diagnose.Report{
		Pods: []diagnose.PodReport{{ID: "default-web", State: "Running", Containers: []diagnose.ContainerReport{{Name: "web"}}}},
		Files: []diagnose.FileReport{
			{Path: "/m/web.yaml", Pods: []string{"default-web"}},
			{Path: "/m/bad.yaml", Findings: []diagnose.Finding{{Kind: diagnose.KindManifestUnparseable, Severity: diagnose.SeverityError}}},
			{Path: "/m/old.yaml.bak", Findings: []diagnose.Finding{{Kind: diagnose.KindBackupFileLoaded, Severity: diagnose.SeverityInfo}}},
		},
	}
	items := Items(r, nil)
	if len(items) != 2 || items[0].Badge != BadgeRunning || items[0].Containers[0] != "web" ||
		items[1].Key != "file:/m/bad.yaml" || items[1].Badge != BadgeInvalid || items[1].Label() != "bad.yaml" {
		t.Errorf("items %+v", items)
	}
}

func TestBadgeFor(t *testing.T) {
	want := map[podview.State]Badge{podview.Running: BadgeRunning, podview.CrashLoop: BadgeCrash,
		podview.Pending: BadgePending, podview.NotStarted: BadgePending, podview.Invalid: BadgeInvalid, podview.Gone: BadgeGone,
		podview.Unknown: BadgeUnknown, "": BadgeUnknown}
	for _, state := range podview.States() {
		if _, ok := want[state]; !ok {
			t.Errorf("pod state %s has no badge in this test: add it", state)
		}
	}
	for state, w := range want {
		if got := BadgeFor(state); got != w {
			t.Errorf("%q: %s, want %s", state, got, w)
		}
	}
}

func TestRowsNameProblemsNotAdvice(t *testing.T) {
	c := &common.Common{Styles: styles.New(lipgloss.NewRenderer(nil)), KeyMap: keymap.Default()}
	m := New(c)
	m.SetSize(100, 10)
	r := &diagnose.Report{Pods: []diagnose.PodReport{
		{ID: "default-healthy", State: "Running", Findings: []diagnose.Finding{
			{Kind: diagnose.KindManifestWarning, Severity: diagnose.SeverityInfo, Title: "manifest warning: no resources"}}},
		{ID: "default-broken", State: "Invalid", Findings: []diagnose.Finding{
			{Kind: diagnose.KindManifestInvalid, Severity: diagnose.SeverityError, Title: "manifest rejected by the kubelet"}}},
	}}
	m.SetItems(Items(r, nil))
	view := m.View()
	if strings.Contains(view, "no resources") {
		t.Errorf("advice shown as the healthy pod's problem:\n%s", view)
	}
	if !strings.Contains(view, "manifest rejected") {
		t.Errorf("the broken pod's finding is missing:\n%s", view)
	}
}
