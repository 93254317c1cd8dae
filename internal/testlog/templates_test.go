package testlog

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTemplatesAreCapturedKubeletRecords holds the templates to their source: each, with its
// placeholders as wildcards, is a whole record of the captured real node's kubelet log.
func TestTemplatesAreCapturedKubeletRecords(t *testing.T) {
	f, err := os.Open("../../testdata/nodes/broken/var/log/kubelet.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var records []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	ts := regexp.MustCompile(`^\{"ts":[0-9.]+,`)
	for sc.Scan() {
		if loc := ts.FindStringIndex(sc.Text()); loc != nil {
			records = append(records, sc.Text()[loc[1]:])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	placeholder := regexp.MustCompile(`\\\{(POD|NS|UID|CTR|CID|BACKOFF)\\\}`)
	for name, tmpl := range map[string]string{
		"TemplateCrashLoop": TemplateCrashLoop, "TemplatePLEGDied": TemplatePLEGDied,
		"TemplatePLEGFinished": TemplatePLEGFinished, "TemplatePLEGStarted": TemplatePLEGStarted,
		"TemplateProbeFailed": TemplateProbeFailed, "TemplateKilling": TemplateKilling,
	} {
		re := regexp.MustCompile("^" + placeholder.ReplaceAllString(regexp.QuoteMeta(tmpl), `[-a-z0-9.]+`) + "$")
		n := 0
		for _, r := range records {
			if re.MatchString(r) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s matches no record of the captured kubelet log:\n%s", name, tmpl)
		}
	}
}

// TestLineFillsEveryPlaceholder: a crash loop's records carry the pod's names and no placeholder.
func TestLineFillsEveryPlaceholder(t *testing.T) {
	p := Pod{Name: "web-node1", Namespace: "kube-system", UID: "0123456789abcdef0123456789abcdef", Container: "app"}
	ts := time.Date(2026, 11, 24, 21, 55, 4, 100e6, time.UTC)
	for i := range 2 * len(cycle) {
		l := p.Line(i, ts)
		if strings.Contains(l, "{POD}") || strings.Contains(l, "{UID}") || strings.Contains(l, "{CID}") || strings.Contains(l, "{BACKOFF}") || strings.Contains(l, "{CTR}") || strings.Contains(l, "{NS}") {
			t.Errorf("line %d keeps a placeholder: %s", i, l)
		}
		if want := fmt.Sprintf(`{"ts":%d.000,`, ts.UnixMilli()); !strings.HasPrefix(l, want) {
			t.Errorf("line %d: timestamp prefix: %.40s", i, l)
		}
		if !strings.Contains(l, p.UID) {
			t.Errorf("line %d lacks the pod UID: %s", i, l)
		}
	}
}
