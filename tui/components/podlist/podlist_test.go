package podlist

import (
	"testing"

	"github.com/spdoc/spdoc/diagnose"
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
	for state, want := range map[string]Badge{"Running": BadgeRunning, "Ready": BadgeReady, "CrashLoop": BadgeCrash,
		"Pending": BadgePending, "NotStarted": BadgePending, "Invalid": BadgeInvalid, "Gone": BadgeGone, "": BadgeUnknown} {
		if got := BadgeFor(state); got != want {
			t.Errorf("%q: %s", state, got)
		}
	}
}
