package kubeletlog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The kubelet logs captured from a real kubelet v1.34 (JSON and klog text runs, under
// testdata/nodes, see internal/testnode): every kubelet line parses, and the prefilter keeps every
// error, warning and InterestingMsgs record the full parse finds.
func TestCapturedKubeletLogs(t *testing.T) {
	logs, _ := filepath.Glob("../../testdata/nodes/*/var/log/kubelet.log")
	if len(logs) == 0 {
		t.Fatal("no captured kubelet logs under testdata/nodes")
	}
	for _, path := range logs {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(path)))), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var all []*Record
			st, err := ScanFile(context.Background(), path, ScanOptions{}, func(r *Record) error {
				all = append(all, r)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			for _, r := range all {
				lines[r.Line-1] = ""
			}
			// Only continuation lines of klog's multi-line values (key=<\n\t…\n >) may be left.
			for i, l := range lines {
				if l != "" && !strings.HasPrefix(l, "\t") && l != " >" {
					t.Errorf("line %d not recognised: %.200s", i+1, l)
				}
			}
			if st.Parsed < int64(len(lines))*9/10 {
				t.Errorf("parsed %d of %d lines", st.Parsed, len(lines))
			}
			var errs, manifest int
			for _, r := range all {
				if r.Msg == "Could not process manifest file" {
					manifest++
					if r.Path == "" || r.Err == "" {
						t.Errorf("line %d: manifest error without path or err: %+v", r.Line, r)
					}
				}
				needed := r.Level == "E" || r.Level == "W" || r.Level == "F" || (r.Err != "" && r.V < 2) || currentMatcher().match([]byte(r.Msg))
				if needed {
					errs++
					if !Interesting([]byte(lines0(data, r))) {
						t.Errorf("line %d needed by diagnosis but not Interesting: %.200s", r.Line, r.Raw)
					}
				}
			}
			if manifest == 0 || errs == 0 {
				t.Errorf("found %d manifest errors and %d needed records; want some of each", manifest, errs)
			}
		})
	}
}

// lines0 returns the raw line of r from the file contents.
func lines0(data []byte, r *Record) string {
	rest := data[r.Offset:]
	if i := strings.IndexByte(string(rest), '\n'); i >= 0 {
		rest = rest[:i]
	}
	return string(rest)
}
