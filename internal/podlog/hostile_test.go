package podlog

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// hugeLog writes a CRI log whose middle line is size bytes long, and returns its path.
func hugeLog(t testing.TB, size int) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("2026-11-24T21:00:00.000000000Z stdout F before\n")
	b.WriteString("2026-11-24T21:00:01.000000000Z stdout F ")
	b.Write(bytes.Repeat([]byte("x"), size))
	b.WriteString("\n2026-11-24T21:00:02.000000000Z stderr F after\n")
	p := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTailHugeLine: a huge single line is cut like the reader cuts it (its first maxRawLine
// bytes), and tailing past it allocates a bounded amount, not a multiple of its size.
func TestTailHugeLine(t *testing.T) {
	const size = 64 << 20
	p := hugeLog(t, size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	lines, err := Tail(p, 3)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || lines[0].Msg != "before" || lines[2].Msg != "after" {
		t.Fatalf("lines: %d %+v", len(lines), lines)
	}
	if n := len(lines[1].Msg); n > maxRawLine || n < maxRawLine/2 || strings.Trim(lines[1].Msg, "x") != "" {
		t.Errorf("the huge line is %d bytes, want it cut to about %d", n, maxRawLine)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("tailing past a %d MiB line allocated %d MiB", size>>20, alloc>>20)
	}
	// The same cut as reading the file forwards.
	all, err := ReadAll(p)
	if err != nil || len(all) != 3 || all[1].Msg != lines[1].Msg {
		t.Errorf("ReadAll: %d lines, %v; the cut differs: %v", len(all), err, len(all) == 3 && all[1].Msg != lines[1].Msg)
	}
	// A huge last line (no tail past it): still bounded.
	last := hugeLog(t, 0)
	f, _ := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("2026-11-24T21:00:03.000000000Z stdout F ")
	f.Write(bytes.Repeat([]byte("y"), size))
	f.WriteString("\n")
	f.Close()
	runtime.GC()
	runtime.ReadMemStats(&before)
	lines, err = Tail(last, 1)
	runtime.ReadMemStats(&after)
	if err != nil || len(lines) != 1 || !strings.HasPrefix(lines[0].Msg, "yyy") {
		t.Fatalf("Tail of a huge last line: %v %d", err, len(lines))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("tailing a %d MiB last line allocated %d MiB", size>>20, alloc>>20)
	}
}

// BenchmarkTailHugeLine shows Tail past one huge line is linear in its size (ns/op ∝ size) with
// bounded allocation (B/op flat).
func BenchmarkTailHugeLine(b *testing.B) {
	for _, mib := range []int{16, 64} {
		p := hugeLog(b, mib<<20)
		b.Run(strconv.Itoa(mib)+"MiB", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(mib << 20))
			for b.Loop() {
				if _, err := Tail(p, 3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
