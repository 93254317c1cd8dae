package kubeletlog

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 11, 24, 21, 0, 0, 0, time.UTC)

// jsonLine renders a kubelet JSON line at t; i makes lines distinct.
func jsonLine(t time.Time, i int, relevant bool) string {
	ts := fmt.Sprintf("%d.%03d", t.UnixMilli(), t.Nanosecond()/1000%1000)
	if relevant {
		return fmt.Sprintf(`{"ts":%s,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/p%d.yaml","err":"invalid pod: [spec.containers: Required value]"}`, ts, i)
	}
	return fmt.Sprintf(`{"ts":%s,"caller":"eviction/eviction_manager.go:366","msg":"Eviction manager: synchronize housekeeping","v":3,"n":%d}`, ts, i)
}

// writeLog writes n time-ordered lines, every relEvery-th one relevant, and returns the path.
func writeLog(t *testing.T, n, relEvery int, step time.Duration) string {
	t.Helper()
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		b.WriteString(jsonLine(t0.Add(time.Duration(i)*step), i, i%relEvery == 0))
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "kubelet.log")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func collect(t *testing.T, path string, opts ScanOptions) ([]*Record, Stats) {
	t.Helper()
	var recs []*Record
	st, err := ScanFile(context.Background(), path, opts, func(r *Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanFile: %v", err)
	}
	return recs, st
}

func TestScanMixedInput(t *testing.T) {
	long := `{"ts":1732485304000,"msg":"Probe failed","output":"` + strings.Repeat("x", 1<<20) + `"}`
	huge := `{"ts":1732485304000,"msg":"Probe failed","output":"` + strings.Repeat("y", 5<<20) + `"}`
	input := strings.Join([]string{
		jsonLine(t0, 1, true),
		"\x00\x01\x02 binary garbage \xff\xfe",
		`{"ts":1732485304000,"msg":"trunc`,
		long,
		huge,
		`E1124 21:55:04.100165 1234 file.go:187] "Could not process manifest file" path="/x"`,
		"",
		jsonLine(t0.Add(time.Second), 2, false),
	}, "\n") // no trailing newline: the last line still counts
	var recs []*Record
	st, err := Scan(context.Background(), strings.NewReader(input), ScanOptions{Source: "stdin"}, func(r *Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The cut JSON line is read as far as it goes (marked truncated); binary and the 5 MiB line
	// are skipped, never fatal.
	want := [5]int64{int64(len(input)), 8, 5, 3, 5}
	if got := [5]int64{st.Bytes, st.Lines, st.Parsed, st.Skipped, st.Relevant}; got != want {
		t.Errorf("stats bytes/lines/parsed/skipped/relevant = %v, want %v", got, want)
	}
	if len(recs) != 5 {
		t.Fatalf("got %d records, want 5", len(recs))
	}
	if recs[1].Msg != "trunc" || recs[1].Damage != DamageTruncated {
		t.Errorf("cut line: msg %q damage %q, want \"trunc\" truncated", recs[1].Msg, recs[1].Damage)
	}
	recs = append(recs[:1], recs[2:]...)
	wantLines := []int64{1, 4, 6, 8}
	for i, r := range recs {
		if r.Line != wantLines[i] || r.Source != "stdin" {
			t.Errorf("record %d: line %d source %q, want line %d source stdin", i, r.Line, r.Source, wantLines[i])
		}
	}
	if got := recs[1].Fields["output"]; len(got) != 1<<20 {
		t.Errorf("1 MiB line: output has %d bytes", len(got))
	}
	if off := int(recs[3].Offset); input[off:off+len(jsonLine(t0.Add(time.Second), 2, false))] != jsonLine(t0.Add(time.Second), 2, false) {
		t.Errorf("offset %d does not point at the line", off)
	}
}

func TestScanEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, since := range []time.Time{{}, t0} {
		recs, st := collect(t, path, ScanOptions{Since: since})
		if len(recs) != 0 || !reflect.DeepEqual(st, Stats{}) {
			t.Errorf("since %v: %d records, stats %+v; want none", since, len(recs), st)
		}
	}
}

func TestScanFileGzip(t *testing.T) {
	plain := writeLog(t, 1000, 10, time.Second)
	data, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(data)
	zw.Close()
	// The name says nothing: detection is by magic bytes.
	gz := filepath.Join(t.TempDir(), "kubelet.log.1")
	if err := os.WriteFile(gz, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	since := t0.Add(500 * time.Second)
	for _, opts := range []ScanOptions{{Prefilter: Interesting}, {Since: since}} {
		want, _ := collect(t, plain, opts)
		got, st := collect(t, gz, opts)
		if len(got) != len(want) || len(got) == 0 {
			t.Fatalf("gz: %d records, plain: %d", len(got), len(want))
		}
		for i := range got {
			if got[i].Raw != want[i].Raw {
				t.Fatalf("record %d differs: %q vs %q", i, got[i].Raw, want[i].Raw)
			}
		}
		if st.Bytes != int64(len(data)) {
			t.Errorf("gz stats bytes = %d, want uncompressed %d", st.Bytes, len(data))
		}
	}
	rc, err := Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Error("Open did not gunzip")
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "nope.log"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.log") {
		t.Errorf("Open(missing) = %v, want a not-exist error naming the file", err)
	}
}

// The since-seek must return exactly what a linear scan with the same filter returns.
func TestScanFileSinceMatchesLinear(t *testing.T) {
	path := writeLog(t, 20000, 7, 100*time.Millisecond)
	// Sprinkle garbage and unparseable lines so probes land on them.
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	rng := rand.New(rand.NewSource(1))
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		if rng.Intn(20) == 0 {
			b.WriteString("garbage line without a timestamp\n")
		}
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
	total := t0.Add(20000 * 100 * time.Millisecond)
	for _, since := range []time.Time{
		t0.Add(-time.Hour), t0, t0.Add(1234567 * time.Microsecond), t0.Add(999 * time.Second), total.Add(-10 * time.Second), total, total.Add(time.Hour),
	} {
		opts := ScanOptions{Since: since}
		seek, st := collect(t, path, opts)
		var linear []*Record
		if _, err := Scan(context.Background(), strings.NewReader(b.String()), opts, func(r *Record) error {
			linear = append(linear, r)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(seek) != len(linear) {
			t.Fatalf("since %v: seek gave %d records, linear %d", since, len(seek), len(linear))
		}
		for i := range seek {
			if seek[i].Raw != linear[i].Raw || seek[i].Offset != linear[i].Offset {
				t.Fatalf("since %v: record %d differs", since, i)
			}
		}
		if since.After(t0.Add(time.Minute)) && st.Bytes >= int64(b.Len()) {
			t.Errorf("since %v: read %d of %d bytes, want a seek", since, st.Bytes, b.Len())
		}
	}
}

// The two-goroutine path keeps file order, line numbers and stats identical to a sequential scan.
func TestScanFileParallelOrder(t *testing.T) {
	saved := parallelMin
	parallelMin = 1 << 10
	t.Cleanup(func() { parallelMin = saved })
	path := writeLog(t, 30000, 3, time.Millisecond)
	data, _ := os.ReadFile(path)
	var seq []*Record
	seqSt, err := Scan(context.Background(), bytes.NewReader(data), ScanOptions{Source: path, Prefilter: Interesting}, func(r *Record) error {
		seq = append(seq, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	par, parSt := collect(t, path, ScanOptions{Prefilter: Interesting})
	if !reflect.DeepEqual(seqSt, parSt) {
		t.Errorf("stats: parallel %+v, sequential %+v", parSt, seqSt)
	}
	if len(par) != len(seq) || len(par) != 10000 {
		t.Fatalf("parallel %d records, sequential %d, want 10000", len(par), len(seq))
	}
	for i := range par {
		if par[i].Line != seq[i].Line || par[i].Offset != seq[i].Offset || par[i].Raw != seq[i].Raw {
			t.Fatalf("record %d: parallel line %d off %d, sequential line %d off %d", i, par[i].Line, par[i].Offset, seq[i].Line, seq[i].Offset)
		}
	}
	// fn's error stops both workers and is returned.
	stop := errors.New("stop")
	n := 0
	_, err = ScanFile(context.Background(), path, ScanOptions{}, func(*Record) error {
		n++
		if n == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 5 {
		t.Errorf("err = %v after %d calls, want stop after 5", err, n)
	}
}

func TestScanCanceled(t *testing.T) {
	path := writeLog(t, 10, 1, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ScanFile(ctx, path, ScanOptions{}, func(*Record) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestScanUntil(t *testing.T) {
	path := writeLog(t, 100, 1, time.Second)
	recs, _ := collect(t, path, ScanOptions{Since: t0.Add(10 * time.Second), Until: t0.Add(20 * time.Second)})
	if len(recs) != 10 || !recs[0].TS.Equal(t0.Add(10*time.Second)) || !recs[9].TS.Equal(t0.Add(19*time.Second)) {
		t.Errorf("got %d records, want the 10 in [10s, 20s)", len(recs))
	}
}

// A klog text file across New Year: the year comes from the file's modification time, and the
// since-seek agrees with a linear scan on both sides of the rollover.
func TestScanFileKlogNewYear(t *testing.T) {
	start := time.Date(2024, 12, 31, 23, 50, 0, 0, time.UTC)
	var b strings.Builder
	for i := 0; i < 2400; i++ { // one line every 500 ms: 23:50 .. 00:10
		ts := start.Add(time.Duration(i) * 500 * time.Millisecond)
		level := "I"
		if i%10 == 0 {
			level = "E"
		}
		fmt.Fprintf(&b, "%s%s    1234 file.go:187] \"Could not process manifest file\" path=\"/m/%d.yaml\" err=\"bad\"\n", level, ts.Format("0102 15:04:05.000000"), i)
	}
	path := filepath.Join(t.TempDir(), "kubelet.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := start.Add(20 * time.Minute)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	all, _ := collect(t, path, ScanOptions{Location: time.UTC})
	if len(all) != 2400 || all[0].TS.Year() != 2024 || all[2399].TS.Year() != 2025 {
		t.Fatalf("%d records, first %v, last %v; want 2400 from 2024 into 2025", len(all), all[0].TS, all[len(all)-1].TS)
	}
	for _, since := range []time.Time{start.Add(5 * time.Minute), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), start.Add(15 * time.Minute)} {
		got, _ := collect(t, path, ScanOptions{Since: since, Location: time.UTC})
		var want []*Record
		for _, r := range all {
			if !r.TS.Before(since) {
				want = append(want, r)
			}
		}
		if len(got) != len(want) || len(got) == 0 || got[0].Offset != want[0].Offset {
			t.Errorf("since %v: seek gave %d records, linear %d", since, len(got), len(want))
		}
	}
}
