package diagnose

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCatalogue walks every registered kind: a unique rank, a valid default severity, and a
// describe function that writes a title, a detail and a hint for a bare finding (no records, no
// evidence) wherever the kind can appear — on the node, on a pod, on a manifest file.
func TestCatalogue(t *testing.T) {
	ranks := map[int]Kind{}
	contexts := map[string]textCtx{
		"node": {},
		"pod":  {dir: "/etc/kubernetes/manifests", pod: &PodReport{ID: "default-web", Namespace: "default", Name: "web"}, file: "/etc/kubernetes/manifests/web.yaml"},
		"file": {dir: "/etc/kubernetes/manifests", file: "/etc/kubernetes/manifests/web.yaml"},
	}
	for _, s := range kinds() {
		if prev, dup := ranks[s.Rank]; dup {
			t.Errorf("%s and %s share rank %d: ranks order a report, give each its own", s.Kind, prev, s.Rank)
		}
		ranks[s.Rank] = s.Kind
		if !slices.Contains([]Severity{SeverityError, SeverityWarning, SeverityInfo}, s.Severity) {
			t.Errorf("%s: default severity %q is not error, warning or info", s.Kind, s.Severity)
		}
		if s.Describe == nil {
			t.Errorf("%s: no Describe function", s.Kind)
			continue
		}
		for name, tc := range contexts {
			f := Finding{Kind: s.Kind, Severity: s.Severity}
			if s.Container {
				f.Container = "app"
			}
			b := &findingBuilder{f: f}
			describe(&f, b, tc)
			for field, v := range map[string]string{"title": f.Title, "detail": f.Detail, "hint": f.Hint} {
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s on a %s: empty %s", s.Kind, name, field)
				}
			}
			if strings.HasPrefix(f.Title, string(s.Kind)+": ") {
				t.Errorf("%s on a %s: title %q is the fallback for kinds outside the catalogue", s.Kind, name, f.Title)
			}
		}
	}
}

// TestCatalogueRules: every kind a record rule or a cause rule names is in the catalogue, so no
// rule can produce a finding without rank, severity and texts.
func TestCatalogueRules(t *testing.T) {
	for i, r := range recordRules {
		if catalogue[r.kind] == nil {
			t.Errorf("recordRules[%d] yields %s, which has no catalogue entry", i, r.kind)
		}
	}
	for _, r := range causeRules {
		if catalogue[r.Cause] == nil {
			t.Errorf("cause rule %q names cause %s, which has no catalogue entry", r.Name, r.Cause)
		}
	}
}

// TestCatalogueREADME checks the README's list of kinds (the JSON contract users script against)
// against the catalogue: a kind spdoc reports is documented, a documented kind exists.
func TestCatalogueREADME(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	start := strings.Index(readme, "\nKinds: ")
	if start < 0 {
		t.Fatal(`README.md has no "Kinds: " paragraph listing the finding kinds`)
	}
	end := strings.Index(readme[start+1:], "\n\n")
	if end < 0 {
		end = len(readme) - start - 1
	}
	para := readme[start+1 : start+1+end]
	// the list ends at the remark after it ("(the catalogue in …") or the next sentence ("Severity …")
	for _, stop := range []string{"(", "\nSeverity"} {
		if i := strings.Index(para, stop); i >= 0 {
			para = para[:i]
		}
	}
	documented := map[Kind]bool{}
	for _, m := range regexp.MustCompile("`([A-Za-z]+)`").FindAllStringSubmatch(para, -1) {
		documented[Kind(m[1])] = true
	}
	for _, k := range Kinds() {
		if !documented[k] {
			t.Errorf("kind %s is missing from README.md's \"Kinds:\" list", k)
		}
		delete(documented, k)
	}
	for k := range documented {
		t.Errorf("README.md lists kind %s, which is not in the catalogue", k)
	}
}

// TestKindRank: report order follows the catalogue; a kind outside it sorts last.
func TestKindRank(t *testing.T) {
	if !(kindRank(KindManifestDirMissing) < kindRank(KindSandboxFailed) && kindRank(KindSandboxFailed) < kindRank(KindCrashLoop)) {
		t.Errorf("root causes must rank before their effects: ManifestDirMissing %d, SandboxFailed %d, CrashLoop %d",
			kindRank(KindManifestDirMissing), kindRank(KindSandboxFailed), kindRank(KindCrashLoop))
	}
	last := Kinds()[len(Kinds())-1]
	if kindRank("NoSuchKind") <= kindRank(last) {
		t.Errorf("an unknown kind ranks %d, not after %s (%d)", kindRank("NoSuchKind"), last, kindRank(last))
	}
	if defaultSeverity("NoSuchKind") != SeverityError || containerKind("NoSuchKind") || blockingKind("NoSuchKind") {
		t.Error("an unknown kind must default to error, not container-scoped, not blocking")
	}
}
