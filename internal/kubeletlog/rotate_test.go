package kubeletlog

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestRotated(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{"numbered", []string{"kubelet.log", "kubelet.log.1", "kubelet.log.2.gz", "kubelet.log.10.gz", "kubelet.log.3.gz"},
			[]string{"kubelet.log.10.gz", "kubelet.log.3.gz", "kubelet.log.2.gz", "kubelet.log.1"}},
		{"dated", []string{"kubelet.log", "kubelet.log-20241124", "kubelet.log-20241102.gz", "kubelet.log-20241110.gz"},
			[]string{"kubelet.log-20241102.gz", "kubelet.log-20241110.gz", "kubelet.log-20241124"}},
		{"dated with time", []string{"kubelet.log", "kubelet.log.20241124-120000", "kubelet.log.20241124-090000.gz"},
			[]string{"kubelet.log.20241124-090000.gz", "kubelet.log.20241124-120000"}},
		{"ignores others", []string{"kubelet.log", "kubelet.log.bak", "kubelet.logger", "other.log.1", "kubelet.log-old"}, nil},
		{"none", []string{"kubelet.log"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := Rotated(filepath.Join(dir, "kubelet.log"))
			var want []string
			for _, w := range tt.want {
				want = append(want, filepath.Join(dir, w))
			}
			if len(got) == 0 && len(want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Rotated = %v, want %v", got, want)
			}
		})
	}
}

func TestScanHistory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kubelet.log")
	write := func(name string, from, n int, gz bool) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var w interface{ Write([]byte) (int, error) } = f
		if gz {
			zw := gzip.NewWriter(f)
			defer zw.Close()
			w = zw
		}
		for i := from; i < from+n; i++ {
			w.Write([]byte(jsonLine(t0.Add(time.Duration(i)*time.Second), i, true) + "\n"))
		}
	}
	write("kubelet.log.2.gz", 0, 10, true)
	write("kubelet.log.1", 10, 10, false)
	write("kubelet.log", 20, 10, false)
	var got []time.Time
	st, err := ScanHistory(context.Background(), path, ScanOptions{Since: t0.Add(5 * time.Second)}, func(r *Record) error {
		got = append(got, r.TS)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 25 || st.Relevant != 25 {
		t.Fatalf("got %d records (stats %+v), want 25", len(got), st)
	}
	for i, ts := range got {
		if want := t0.Add(time.Duration(i+5) * time.Second); !ts.Equal(want) {
			t.Fatalf("record %d at %v, want %v (history out of order)", i, ts, want)
		}
	}
}
