package kubeletlog

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestFeederSameAsScan: lines fed one at a time (as the agent feeds `journalctl -f`) give the
// records and statistics a Scan of the whole stream gives, on every captured log and shape.
func TestFeederSameAsScan(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/nodes/*/var/log/kubelet.log")
	shapes, _ := filepath.Glob("../../testdata/shapes/*.log")
	files = append(files, shapes...)
	if len(files) < 3 {
		t.Fatalf("only %d captured logs found", len(files))
	}
	for _, path := range files {
		t.Run(path, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, prefilter := range []func([]byte) bool{nil, Interesting} {
				opts := ScanOptions{Source: "s", Prefilter: prefilter, RefYear: 2025}
				var want, got []Record
				wst, err := Scan(context.Background(), bytes.NewReader(data), opts, func(r *Record) error {
					want = append(want, *r)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				f := NewFeeder(opts)
				keep := func(r *Record) error {
					got = append(got, *r)
					return nil
				}
				for rest := data; len(rest) > 0; {
					i := bytes.IndexByte(rest, '\n')
					if i < 0 {
						i = len(rest) - 1
					}
					if err := f.Line(rest[:i+1], keep); err != nil {
						t.Fatal(err)
					}
					rest = rest[i+1:]
				}
				if err := f.Flush(keep); err != nil {
					t.Fatal(err)
				}
				a, _ := json.Marshal(want)
				b, _ := json.Marshal(got)
				if string(a) != string(b) {
					t.Fatalf("prefilter %v: %d records fed, %d scanned, or they differ", prefilter != nil, len(got), len(want))
				}
				ws, _ := json.Marshal(wst)
				gs, _ := json.Marshal(f.Stats())
				if string(ws) != string(gs) {
					t.Errorf("stats differ:\nscan %s\nfeed %s", ws, gs)
				}
			}
		})
	}
}
