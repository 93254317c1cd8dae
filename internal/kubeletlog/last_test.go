package kubeletlog

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// A scan of a file keeps its recognised repeats as offsets and reads them back at the end; a
// file that changed in between (copytruncate, a rewrite) is an error that says so, never other
// lines passed off as the ones the pass read.
func TestLastReadBack(t *testing.T) {
	data := denseBenchLog(t, 1<<20)
	scan := func(src func(orig []byte) io.ReaderAt) ([]*Record, error) {
		opts := ScanOptions{Source: "kubelet.log", Prefilter: Interesting, Last: 500, RefYear: 2024}
		lp := newLineProc(opts, 1)
		file := bytes.Clone(data)
		lp.tail.src, lp.tail.name = bytes.NewReader(file), "kubelet.log"
		if err := lp.scan(context.Background(), bytes.NewReader(data), 0, func(*Record) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if src != nil {
			lp.tail.src = src(file)
		}
		byOffset := 0
		for _, s := range lp.tail.slots {
			if s.rec == nil && s.n > 0 {
				byOffset++
			}
		}
		if byOffset < 400 {
			t.Fatalf("only %d of %d kept lines are kept by offset", byOffset, len(lp.tail.slots))
		}
		var got []*Record
		err := lp.flush(func(r *Record) error {
			c := *r
			got = append(got, &c)
			return nil
		})
		return got, err
	}
	want, _ := scanAll(t, data, ScanOptions{Source: "kubelet.log", Prefilter: Interesting, NoRepeatCache: true, RefYear: 2024})
	got, err := scan(nil)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, "read back", got, want[len(want)-500:])

	for name, change := range map[string]func([]byte) io.ReaderAt{
		"truncated": func(b []byte) io.ReaderAt { return bytes.NewReader(b[:len(b)/2]) },
		"rewritten": func(b []byte) io.ReaderAt {
			// copytruncate, then the kubelet wrote as much again: other lines at the offsets
			return bytes.NewReader(append(bytes.Clone(b[len(b)/3:]), b[:len(b)/3]...))
		},
	} {
		_, err := scan(change)
		if !errors.Is(err, ErrChangedWhileRead) {
			t.Errorf("%s: error %v, want ErrChangedWhileRead", name, err)
		}
	}
}
