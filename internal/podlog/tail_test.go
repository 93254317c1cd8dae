package podlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC)

// writeLog writes CRI lines; every 7th logical line is split into P parts with a stderr line
// interleaved between them, so joining crosses lines and block boundaries.
func genLog(n int) (string, []string) {
	var b strings.Builder
	var want []string
	for i := 0; i < n; i++ {
		ts := t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		msg := fmt.Sprintf("line %06d %s", i, strings.Repeat("z", i%50))
		if i%7 == 3 {
			fmt.Fprintf(&b, "%s stdout P %s\n", ts, msg[:5])
			fmt.Fprintf(&b, "%s stderr F noise %d\n", ts, i)
			fmt.Fprintf(&b, "%s stdout F %s\n", ts, msg[5:])
			want = append(want, "noise "+fmt.Sprint(i), msg)
			continue
		}
		fmt.Fprintf(&b, "%s stdout F %s\n", ts, msg)
		want = append(want, msg)
	}
	return b.String(), want
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func msgs(ls []Line) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Msg
	}
	return out
}

func TestTail(t *testing.T) {
	content, all := genLog(20000) // ~800 KiB: many tail blocks
	path := writeFile(t, content)
	for _, n := range []int{0, 1, 2, 3, 5, 10, 100, 1000, 5000, len(all), len(all) + 10, -1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			got, err := Tail(path, n)
			if err != nil {
				t.Fatal(err)
			}
			want := all
			if n >= 0 && n < len(all) {
				want = all[len(all)-n:]
			}
			if strings.Join(msgs(got), "\n") != strings.Join(want, "\n") {
				t.Fatalf("Tail(%d): got %d lines, want %d; last got %q", n, len(got), len(want), lastOf(msgs(got)))
			}
		})
	}
}

func lastOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func TestTailEdges(t *testing.T) {
	big := strings.Repeat("b", 15<<10)
	var parts strings.Builder
	for i := 0; i < 10; i++ { // one logical line of 10 P parts spanning 150 KiB: more than two blocks
		parts.WriteString("2026-11-24T21:00:00Z stdout P " + big + "\n")
	}
	parts.WriteString("2026-11-24T21:00:00Z stdout F end\n")
	tests := []struct {
		name    string
		content string
		n       int
		want    []string
		end     int64 // -1: file size
	}{
		{"empty file", "", 3, nil, 0},
		{"only unterminated", "2026-11-24T21:00:00Z stdout F writing", 3, nil, 0},
		{"trailing unterminated dropped", "2026-11-24T21:00:00Z stdout F a\n2026-11-24T21:00:00Z stdout F wri", 3, []string{"a"}, 32},
		{"pending partial at end", "2026-11-24T21:00:00Z stdout F a\n2026-11-24T21:00:00Z stdout P b\n", 1, []string{"b"}, -1},
		{"garbage lines skipped", "junk\n2026-11-24T21:00:00Z stdout F a\nmore junk\n2026-11-24T21:00:00Z stdout F b\n", 1, []string{"b"}, -1},
		{"partials across blocks", "2026-11-24T21:00:00Z stdout F before\n" + parts.String(), 1, []string{strings.Repeat(big, 10) + "end"}, -1},
		{"partials across blocks, two", "2026-11-24T21:00:00Z stdout F before\n" + parts.String(), 2, []string{"before", strings.Repeat(big, 10) + "end"}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			got, end, err := TailEnd(path, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(msgs(got), "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", clipAll(msgs(got)), clipAll(tt.want))
			}
			wantEnd := tt.end
			if wantEnd < 0 {
				wantEnd = int64(len(tt.content))
			}
			if end != wantEnd {
				t.Errorf("end = %d, want %d", end, wantEnd)
			}
		})
	}
}

func clipAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = clip([]byte(x))
	}
	return out
}

func TestTailMissingFile(t *testing.T) {
	_, err := Tail(filepath.Join(t.TempDir(), "nope.log"), 5)
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func TestScanSince(t *testing.T) {
	content, all := genLog(20000)
	path := writeFile(t, content)
	tests := []struct {
		since time.Time
		first int // index into all of the first expected line
	}{
		{time.Time{}, 0},
		{t0, 0},
		{t0.Add(-time.Hour), 0},
		{t0.Add(10 * time.Second), -1}, // line 10000 and after
		{t0.Add(19999 * time.Millisecond), -1},
		{t0.Add(time.Hour), len(all)},
	}
	for _, tt := range tests {
		t.Run(tt.since.String(), func(t *testing.T) {
			var got []Line
			err := Scan(context.Background(), path, tt.since, func(l Line) error {
				got = append(got, l)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range got {
				if l.TS.Before(tt.since) {
					t.Fatalf("line %q before since %v", l.Msg, tt.since)
				}
			}
			var want []string
			for i, m := range all {
				_ = i
				want = append(want, m)
			}
			// Expected: every line whose timestamp is >= since, computed by a full read.
			full, err := ReadAll(path)
			if err != nil {
				t.Fatal(err)
			}
			var exp []string
			for _, l := range full {
				if tt.since.IsZero() || !l.TS.Before(tt.since) {
					exp = append(exp, l.Msg)
				}
			}
			if strings.Join(msgs(got), "\n") != strings.Join(exp, "\n") {
				t.Fatalf("got %d lines, want %d", len(got), len(exp))
			}
			if tt.first >= 0 && tt.first < len(all) && (len(got) == 0 || got[0].Msg != all[tt.first]) {
				t.Fatalf("first line %q, want %q", msgs(got)[:min(1, len(got))], all[tt.first])
			}
			if len(full) != len(want) {
				t.Fatalf("ReadAll: %d lines, want %d", len(full), len(want))
			}
		})
	}
}

func TestScanStopsOnCallbackError(t *testing.T) {
	content, _ := genLog(100)
	path := writeFile(t, content)
	stop := fmt.Errorf("stop")
	n := 0
	err := Scan(context.Background(), path, time.Time{}, func(Line) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("err=%v after %d lines, want stop after 3", err, n)
	}
}

// benchLog writes a ~9 MiB log of 200k logical lines (every 7th split into P parts).
func benchLog(b *testing.B) string {
	b.Helper()
	content, _ := genLog(200000)
	p := filepath.Join(b.TempDir(), "0.log")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkTail: the last 20 lines of a 9 MiB log; cost must not depend on the file size.
func BenchmarkTail(b *testing.B) {
	p := benchLog(b)
	for b.Loop() {
		if _, err := Tail(p, 20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanSinceLastSecond: --since seeks by binary search instead of reading the file.
func BenchmarkScanSinceLastSecond(b *testing.B) {
	p := benchLog(b)
	since := t0.Add(199 * time.Second)
	for b.Loop() {
		n := 0
		if err := Scan(context.Background(), p, since, func(Line) error { n++; return nil }); err != nil || n == 0 {
			b.Fatal(err, n)
		}
	}
}

// BenchmarkReadAll: full parse throughput.
func BenchmarkReadAll(b *testing.B) {
	p := benchLog(b)
	fi, _ := os.Stat(p)
	b.SetBytes(fi.Size())
	for b.Loop() {
		if err := Scan(context.Background(), p, time.Time{}, func(Line) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
