package kubeletlog

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// klogBlock is a kubelet error whose value is a klog multi-line block of n lines (a manifest's
// content in an error, a probe's output).
func klogBlock(n int) string {
	var b strings.Builder
	b.WriteString(`E1124 21:55:04.100165    1234 file.go:187] "Could not process manifest file" path="/etc/kubernetes/manifests/web.yaml" err=<` + "\n")
	for i := 0; i < n; i++ {
		b.WriteString("\tinvalid pod: line of the manifest, about sixty bytes long\n")
	}
	b.WriteString(" >\n")
	return b.String()
}

// A klog block is read once, when it is complete: the record is that of the whole block, and
// what follows it is a record of its own.
func TestScanKlogBlocks(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         string
		err        string
		damage     string
		records    int
		joined     int64
		secondLine int64
	}{
		{"closed block", klogBlock(3) + klogErr + "\n", strings.Repeat("\ninvalid pod: line of the manifest, about sixty bytes long", 3)[1:], "", 2, 4, 6},
		{"block at EOF without its end", strings.TrimSuffix(klogBlock(2), " >\n"), "invalid pod: line of the manifest, about sixty bytes long\ninvalid pod: line of the manifest, about sixty bytes long", "", 1, 2, 0},
		{"journald continuation lines", "Nov 24 21:55:04 node1 kubelet[1234]: " + strings.ReplaceAll(strings.TrimSuffix(klogBlock(2), "\n"), "\n", "\n                                       ") + "\n" + klogErr + "\n",
			"invalid pod: line of the manifest, about sixty bytes long\ninvalid pod: line of the manifest, about sixty bytes long", "", 2, 3, 5},
		{"200 lines, then the cap", klogBlock(maxJoinLines+5) + klogErr + "\n", "", "", 0, maxJoinLines, 0},
		// text after a record's pairs is kept, a quote in it is text
		{"text after the pairs", "E1124 21:55:04.1 1 f.go:1] \"x\" k=v\n\ta err=\"c\n\td\"\n", "", "", 1, 2, 0},
		// a line cut by a pager damages the block it ends, which was joined
		{"cut on the last line", "E1124 21:55:04.1 1 f.go:1] \"x\" k=<\n\ta\n\tthe end …\n", "", DamageTruncated + "," + DamageJoined, 1, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, st := scanString(t, tc.in, ScanOptions{RefTime: ref})
			if tc.records > 0 && len(recs) != tc.records {
				t.Fatalf("%d records, want %d: %+v", len(recs), tc.records, recs)
			}
			if st.Joined != tc.joined {
				t.Errorf("joined %d lines, want %d", st.Joined, tc.joined)
			}
			if tc.err != "" && recs[0].Err != tc.err {
				t.Errorf("err %q, want %q", recs[0].Err, tc.err)
			}
			if recs[0].Damage != tc.damage {
				t.Errorf("damage %q, want %q", recs[0].Damage, tc.damage)
			}
			if tc.name == "text after the pairs" && recs[0].Fields["_extra"] != "a err=\"c\n\td\"" {
				t.Errorf("fields %q", recs[0].Fields)
			}
			if recs[0].Line != 1 || !strings.Contains(recs[0].Raw, "E1124 21:55:04.1") {
				t.Errorf("first record: line %d raw %.40q", recs[0].Line, recs[0].Raw)
			}
			if tc.secondLine > 0 && (recs[1].Line != tc.secondLine || recs[1].Err != "invalid pod: [spec.containers: Required value]") {
				t.Errorf("second record: line %d err %q, want line %d", recs[1].Line, recs[1].Err, tc.secondLine)
			}
		})
	}
}

// BenchmarkScanKlogBlocks: error records with 200-line klog blocks, beside the same bytes as
// single-line errors (the baseline). Each block was parsed again for each of its lines, a
// 100-fold cost per byte; it is parsed once.
func BenchmarkScanKlogBlocks(b *testing.B) {
	block := klogBlock(maxJoinLines - 1)
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"blocks", []byte(strings.Repeat(block, 100))},
		{"journald-blocks", []byte(strings.Repeat("Nov 24 21:55:04 node1 kubelet[1234]: "+strings.ReplaceAll(block, "\n\t", "\n                                       \t"), 100))},
		{"baseline-lines", []byte(strings.Repeat(klogErr+"\n", len(block)*100/(len(klogErr)+1)))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Scan(context.Background(), bytes.NewReader(bc.data), ScanOptions{Prefilter: Interesting}, func(*Record) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Two records glued on one line: continuation lines belong to the second. They were joined to
// the whole line, whose parse is the first record again: the first came out twice and the
// second, with its error, was lost.
func TestScanGluedThenContinued(t *testing.T) {
	for _, tc := range []struct {
		name, in, err, damage string
	}{
		{"klog block", "Nov 24 21:55:04 node1 kubelet[1]: E1124 21:55:04.100165 1 f.go:1] \"first\"E1124 21:55:05.100165 1 f.go:2] \"second\" err=<\n\tline1\n >\n", "line1", DamageGlued + "," + DamageJoined},
		{"hard wrap", "E1124 21:55:04.100165 1 f.go:1] \"first\"E1124 21:55:05.100165 1 f.go:2] \"second\" err=\"cut\ncontinued\"\n", "cutcontinued", DamageGlued + "," + DamageJoined},
		{"json, then a line that is none", "{\"ts\":1,\"msg\":\"first\"}{\"ts\":2,\"msg\":\"second\",\"err\":\"x\"}\n\tcontinued\n", "x", DamageGlued},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, _ := scanString(t, tc.in, ScanOptions{RefTime: ref})
			if len(recs) != 2 || recs[0].Msg != "first" || recs[1].Msg != "second" {
				t.Fatalf("records %+v, want first and second", recs)
			}
			if recs[1].Err != tc.err || recs[1].Damage != tc.damage || recs[1].Line != 1 {
				t.Errorf("second record: err %q damage %q line %d, want %q %q line 1", recs[1].Err, recs[1].Damage, recs[1].Line, tc.err, tc.damage)
			}
			if recs[0].Host != recs[1].Host || recs[0].Unit != recs[1].Unit {
				t.Errorf("second record: host %q unit %q, the first's %q %q", recs[1].Host, recs[1].Unit, recs[0].Host, recs[0].Unit)
			}
		})
	}
}
