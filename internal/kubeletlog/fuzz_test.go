package kubeletlog

import (
	"bytes"
	"context"
	"testing"
)

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		`{"ts":1732485304100.1653,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/x","err":"invalid pod"}`,
		`{"ts":1e3,"msg":"x","pod":{"name":"a","namespace":"b"},"containerID":{"ID":"c"},"v":"nan"}`,
		`{"ts":"2024-11-24T21:55:04Z","msg":"x"}`,
		`E1124 21:55:04.100165    1234 file.go:187] "Could not process manifest file" path="/x" err="a \"b\" c"`,
		`I1124 21:55:04.100165 1 f.go:1] "m" k=<` + "\n\tv\n >" + ` pods=["a" "b"] bare=word x={"a":[1]}`,
		`W1124 21:55:04.1 1 f.go:1] unstructured text`,
		`Nov 24 21:55:04 host kubelet[1234]: E1124 21:55:04.100165 1 f.go:1] "x"`,
		`2024-11-24T21:55:04.100165+00:00 host kubelet[1]: {"ts":1,"msg":"x"}`,
		`{"__REALTIME_TIMESTAMP":"1732485304100165","_PID":"1","MESSAGE":"E1124 21:55:04.100165 1 f.go:1] \"x\""}`,
		`{"__REALTIME_TIMESTAMP":"1","MESSAGE":[69,255,0,10]}`,
		`{"__REALTIME_TIMESTAMP":"1","MESSAGE":"{\"__REALTIME_TIMESTAMP\":\"1\",\"MESSAGE\":\"Nov 24 21:55:04 h k: x\"}"}`,
		"E1124 21:55:04.100165 1 f.go:1] \"\xff\xfe\" k=\"\\xzz\"",
		`{"ts":17324853`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		Interesting(line)
		r, ok := ParseLine(line)
		if !ok {
			if !isZeroRecord(r) {
				t.Errorf("rejected line returned a non-zero record %+v", r)
			}
			return
		}
		if len(r.Raw) > MaxRaw {
			t.Errorf("Raw has %d bytes, cap is %d", len(r.Raw), MaxRaw)
		}
		switch r.Format {
		case FormatJSON, FormatKlog, FormatJournal, FormatText:
		default:
			t.Errorf("format %q", r.Format)
		}
		switch r.Level {
		case "I", "W", "E", "F":
		default:
			t.Errorf("level %q", r.Level)
		}
		// A stream of the same line (and garbage around it) scans without error.
		in := bytes.Join([][]byte{line, {0xff, 0x00}, line}, []byte("\n"))
		if _, err := Scan(context.Background(), bytes.NewReader(in), ScanOptions{Prefilter: Interesting}, func(*Record) error { return nil }); err != nil {
			t.Errorf("Scan: %v", err)
		}
	})
}

func isZeroRecord(r Record) bool {
	return r.Format == "" && r.Msg == "" && r.Raw == "" && r.TS.IsZero() && r.Fields == nil
}
