package kubeletlog

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unicode/utf8"
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
		// journald/syslog/talosctl/grep shapes and damage
		"Mär 04 21:55:04.100165 knoten1 kubelet[1234]: E0304 21:55:04.100165 1 f.go:1] \"x\" err=\"y\"",
		" 3月 04 21:55:04 node1 kubelet[1]: E0304 21:55:04.1 1 f.go:1] \"x\"",
		"Sun 2024-11-24 21:55:04 UTC node1 kubelet.service[1234]: W1124 21:55:04.1 1 f.go:1] \"x\"",
		"[ 1234.567890] node1 kubelet[1234]: I1124 21:55:04.1 1 f.go:1] \"SyncLoop ADD\"",
		"1732485304.100165 node1 kubelet[1234]: {\"ts\":1,\"msg\":\"x\",\"err\":\"y\"}",
		`<30>1 2024-11-24T21:55:04.1Z node1 kubelet 1234 - [a b="c"] E1124 21:55:04.1 1 f.go:1] "x"`,
		"172.20.0.2: {\"ts\":1,\"msg\":\"x\"}",
		"fd00::2: E1124 21:55:04.1 1 f.go:1] \"x\"",
		"4711:E1124 21:55:04.1 1 f.go:1] \"x\"",
		"    42\tE1124 21:55:04.1 1 f.go:1] \"x\"",
		"124 21:55:04.100165 1234 file.go:187] \"Could not process manifest file\" err=\"x\"",
		"E1124 21:55:04.1 1 f.go:1] \"x\" err=\"cut…",
		"E1124 21:55:04.1 1 f.go:1] \"x\"E1124 21:55:05.1 1 f.go:2] \"y\"",
		"{\"ts\":1,\"msg\":\"a\"}{\"ts\":2,\"msg\":\"b\"}",
		"2024-11-24T21:55:04.1Z stderr F E1124 21:55:04.1 1 f.go:1] \"x\"",
		"Nov 24 21:55:04 node1 systemd[1]: kubelet.service: Scheduled restart job, restart counter is at 7.",
		"MESSAGE=E1124 21:55:04.1 1 f.go:1] \"x\"",
		"__REALTIME_TIMESTAMP=1732485304100165",
		"I1124 21:55:04.1 1 server.go:416] Version: v1.20.15",
		"I1124 21:55:04.1 1 prober.go:117] Liveness probe for \"a_b(c):d\" failed (failure): e",
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
		if !utf8.ValidString(r.Host + r.Unit + r.Node) {
			t.Errorf("host/unit/node not valid UTF-8: %q %q %q", r.Host, r.Unit, r.Node)
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

// FuzzScanShapes feeds several lines at once (continuations, glued records, export entries,
// talosctl nodes): Scan never fails or panics, keeps records within MaxRaw, counts every line,
// and records reach the callback in line order.
func FuzzScanShapes(f *testing.F) {
	for _, s := range []string{
		"Nov 24 21:55:04 node1 kubelet[1]: E1124 21:55:04.1 1 f.go:1] \"x\" err=<\n                 \tline\n                  >\nnext",
		"E1124 21:55:04.1 1 f.go:1] \"Could not process manif\nest file\" path=\"/x\"\n",
		"__REALTIME_TIMESTAMP=1\n_HOSTNAME=h\nMESSAGE=E1124 21:55:04.1 1 f.go:1] \"x\"\n\n",
		"172.20.0.2: {\"ts\":1,\"msg\":\"a\"}\n172.20.0.3: {\"ts\":2,\"msg\":\"b\"}\n",
		"F1124 21:55:04.1 1 server.go:1] failed to run Kubelet: x\ngoroutine 1 [running]:\n\tmain.main()\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var last int64
		st, err := Scan(context.Background(), bytes.NewReader(in), ScanOptions{Prefilter: Interesting}, func(r *Record) error {
			if len(r.Raw) > MaxRaw {
				t.Errorf("Raw has %d bytes", len(r.Raw))
			}
			if r.Line < last {
				t.Errorf("record of line %d after line %d", r.Line, last)
			}
			last = r.Line
			return nil
		})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if want := int64(strings.Count(string(in), "\n")); st.Lines < want {
			t.Errorf("%d lines counted, the input has at least %d", st.Lines, want)
		}
	})
}
