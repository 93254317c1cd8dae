//go:build linux

package kubeletlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Scanning a file through memory maps gives what reading it gives, record for record and in the
// stats: lines across window edges, lines longer than a window, lines at and past MaxLine, a last
// line without its newline, CRLF, empty lines, and every shape of the testdata; sequential and
// parallel, with and without Last.
func TestScanMappedAgrees(t *testing.T) {
	savedWin, savedPar := mapWindow, parallelMin
	t.Cleanup(func() { mapWindow, parallelMin, mapFiles = savedWin, savedPar, true })
	mapWindow = pageSize // every few lines cross a window's edge

	line := func(n int, msg string) string {
		head := `{"ts":1732485304000,"msg":"` + msg + `","err":"x","output":"`
		return head + strings.Repeat("x", max(n-len(head)-2, 0)) + `"}`
	}
	in := repeatInputs(t)
	in["dense"] = denseBenchLog(t, 1<<20)
	in["edges"] = []byte(strings.Join([]string{
		line(100, "Probe failed"), "", line(int(pageSize)-1, "Probe failed"), line(int(pageSize), "Back-off"),
		line(int(pageSize)+1, "Probe failed"), line(3*int(pageSize)+17, "Back-off"), "\r", line(200, "Probe failed") + "\r",
		line(MaxLine-1, "Probe failed"), line(MaxLine, "long"), line(MaxLine+5000, "longer"), line(300, "Back-off"),
	}, "\n") + "\n")
	in["no final newline"] = []byte(line(5000, "Probe failed") + "\n" + line(9000, "Back-off"))
	in["long last line"] = []byte(line(100, "Probe failed") + "\n" + line(MaxLine+10, "Back-off"))
	for name, data := range in {
		path := filepath.Join(t.TempDir(), "kubelet.log")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, par := range []int64{savedPar, 1 << 10} {
			parallelMin = par
			for _, opts := range []ScanOptions{{}, {Prefilter: Interesting}, {Prefilter: Interesting, Last: 7}} {
				what := fmt.Sprintf("%s/parallelMin=%d/prefilter=%v/last=%d", name, par, opts.Prefilter != nil, opts.Last)
				mapFiles = false
				want, wantSt := collectCopies(t, path, opts)
				mapFiles = true
				got, st := collectCopies(t, path, opts)
				sameRecords(t, what, got, want)
				if !reflect.DeepEqual(st, wantSt) {
					t.Errorf("%s: stats %+v, want %+v", what, st, wantSt)
				}
			}
		}
	}
}

func collectCopies(t *testing.T, path string, opts ScanOptions) ([]*Record, Stats) {
	t.Helper()
	var recs []*Record
	st, err := ScanFile(context.Background(), path, opts, func(r *Record) error {
		c := *r // with Last the record is reused
		recs = append(recs, &c)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanFile %s: %v", path, err)
	}
	return recs, st
}

// A file truncated while it is mapped (logrotate's copytruncate during a diagnosis) ends the
// scan with ErrChangedWhileRead; the fault on its vanished pages never crashes the process.
func TestScanMappedTruncated(t *testing.T) {
	data := denseBenchLog(t, 8<<20)
	path := filepath.Join(t.TempDir(), "kubelet.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	n := 0
	_, err := ScanFile(context.Background(), path, ScanOptions{}, func(r *Record) error {
		if n++; n == 100 {
			return os.Truncate(path, 0)
		}
		return nil
	})
	if err == nil {
		// os.Truncate's own error is returned by fn; nil means the scan went on
		t.Fatal("the scan of a file truncated under it ended without an error")
	}
	if !errors.Is(err, ErrChangedWhileRead) {
		t.Fatalf("error %v, want ErrChangedWhileRead", err)
	}
	if !strings.Contains(err.Error(), "truncated") {
		t.Errorf("error %q does not say the file was truncated", err)
	}
	// the next scan of the (now empty) file is a plain empty scan
	if _, err := ScanFile(context.Background(), path, ScanOptions{}, func(*Record) error { return nil }); err != nil {
		t.Errorf("scan of the truncated file: %v", err)
	}
}

// Mapped and read scans of any file agree, record for record and in the stats, with windows of
// one to four pages and both the sequential and the two-half scan.
func FuzzScanMapped(f *testing.F) {
	f.Add([]byte(`{"ts":1732485304000,"msg":"Probe failed","err":"x"}`+"\n"+`E1124 21:55:04.100165 1 f.go:1] "Back-off" err="y"`), uint8(0), false)
	f.Add([]byte(strings.Repeat(`{"ts":1732485304000,"msg":"Error syncing pod, skipping","err":"back-off 10s"}`+"\n", 120)+strings.Repeat("x", 9000)), uint8(1), true)
	f.Add([]byte("\n\r\n"+strings.Repeat("E1124 21:55:04.100165 1 f.go:1] \"x\" err=\"y\"\r\n", 90)), uint8(3), true)
	savedWin, savedPar := mapWindow, parallelMin
	path := filepath.Join(f.TempDir(), "kubelet.log") // one file, rewritten: a fresh directory per input made minimizing slow
	f.Fuzz(func(t *testing.T, data []byte, window uint8, parallel bool) {
		defer func() { mapWindow, parallelMin, mapFiles = savedWin, savedPar, true }()
		mapWindow = pageSize * int64(1+window%4)
		if parallel {
			parallelMin = 1 << 10
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, opts := range []ScanOptions{{RefYear: 2024}, {RefYear: 2024, Prefilter: Interesting, Last: 5}, {Prefilter: Interesting}} {
			mapFiles = false
			want, wantSt := collectCopies(t, path, opts)
			mapFiles = true
			got, st := collectCopies(t, path, opts)
			sameRecords(t, "mapped", got, want)
			if !reflect.DeepEqual(st, wantSt) {
				t.Errorf("stats %+v, want %+v", st, wantSt)
			}
		}
	})
}
