package kubeletlog

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// FuzzFeeder: lines fed one at a time (the agent's `journalctl -f` pipe) give the records and
// statistics of one Scan over the same bytes, whatever the lines are (multi-line blocks, glued
// records, hard wraps, repeats).
func FuzzFeeder(f *testing.F) {
	for _, s := range []string{
		"E1124 21:55:04.100165 1 f.go:1] \"x\" err=<\n\tline\n >\nE1124 21:55:05.1 1 f.go:1] \"y\"\n",
		"Nov 24 21:55:04 node1 kubelet[1]: E1124 21:55:04.1 1 f.go:1] \"x\" err=<\n                                   \tline\n                                    >\n",
		"E1124 21:55:04.1 1 f.go:1] \"first\"E1124 21:55:05.1 1 f.go:2] \"second\" err=\"cut\ncontinued\"\n",
		"{\"ts\":1732485304000,\"msg\":\"Probe failed\",\"err\":\"x\"}\n{\"ts\":1732485305000,\"msg\":\"Probe failed\",\"err\":\"x\"}\n",
		"F1124 21:55:04.1 1 server.go:1] failed to run Kubelet: x\ngoroutine 1 [running]:\n\tmain.main()",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, prefilter bool) {
		opts := ScanOptions{Source: "s", RefYear: 2024, Location: time.UTC}
		if prefilter {
			opts.Prefilter = Interesting
		}
		want, wantSt := scanAll(t, in, opts)
		var got []*Record
		keep := func(r *Record) error {
			c := *r
			got = append(got, &c)
			return nil
		}
		fd := NewFeeder(opts)
		for rest := in; len(rest) > 0; {
			n := bytes.IndexByte(rest, '\n') + 1
			if n == 0 {
				n = len(rest)
			}
			if err := fd.Line(rest[:n], keep); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := fd.Flush(keep); err != nil {
			t.Fatal(err)
		}
		sameRecords(t, "feeder", got, want)
		if st := *fd.Stats(); !reflect.DeepEqual(st, wantSt) {
			t.Errorf("stats %+v, want %+v", st, wantSt)
		}
	})
}
