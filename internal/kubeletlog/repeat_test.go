package kubeletlog

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// repeatInputs are logs whose records the repeat cache must not change: the captured real
// nodes, the dense benchmark log, and hand-made repeats in every shape the parser knows, with
// counters that change (back-off delays, subchannels, PIDs, exit codes, verbosity), digits that
// break a line (a JSON number with a leading 0, month 13) and damaged lines between.
func repeatInputs(t *testing.T) map[string][]byte {
	t.Helper()
	in := map[string][]byte{}
	for _, node := range []string{"broken", "broken-text"} {
		data, err := os.ReadFile(filepath.Join("../../testdata/nodes", node, "var/log/kubelet.log"))
		if err != nil {
			t.Fatal(err)
		}
		in[node] = data
	}
	shapes, _ := filepath.Glob("../../testdata/shapes/*/var/log/kubelet.log")
	pasted, _ := filepath.Glob("../../testdata/shapes/*.log")
	if len(shapes) == 0 || len(pasted) == 0 {
		t.Fatal("no testdata/shapes logs")
	}
	for _, f := range pasted {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in["shapes/"+filepath.Base(f)] = data
	}
	for _, f := range shapes {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in["shapes/"+filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(f)))))] = data
	}
	in["dense"] = denseBenchLog(t, 1<<20)
	// The captured lines as they are pasted: journald short-precise around the klog text, talosctl
	// node prefixes around JSON, and damage (lines cut short, two glued, a wrapped tail).
	var talos, damaged bytes.Buffer
	for i, l := range bytes.Split(in["broken-text"], []byte("\n")) {
		switch {
		case i%17 == 5 && len(l) > 40:
			damaged.Write(l[:len(l)*2/3])
			damaged.WriteString("\n")
		case i%23 == 7 && len(l) > 40:
			damaged.Write(l[:len(l)/2])
			damaged.WriteString("\n")
			damaged.Write(l[len(l)/2:])
			damaged.WriteString("\n")
		case i%29 == 3:
			damaged.Write(l)
			damaged.Write(l)
			damaged.WriteString("\n")
		default:
			damaged.Write(l)
			damaged.WriteString("\n")
		}
	}
	for i, l := range bytes.Split(in["broken"], []byte("\n")) {
		if len(l) > 0 {
			fmt.Fprintf(&talos, "172.20.0.%d: %s\n", 2+i%2, l)
		}
	}
	in["journal-short-precise"], in["talosctl"], in["damaged"] = journalShortPrecise(in["broken-text"]), talos.Bytes(), damaged.Bytes()

	rng := rand.New(rand.NewSource(3))
	var b bytes.Buffer
	ms := time.Date(2024, 12, 31, 23, 59, 0, 0, time.UTC).UnixMilli()
	backoffs := []string{"10s", "20s", "40s", "1m20s", "2m40s", "5m0s"}
	for i := 0; i < 3000; i++ {
		ts := time.UnixMilli(ms + int64(i)*97).UTC()
		bo := backoffs[min(i/200, len(backoffs)-1)]
		pid := 1234
		if i%500 == 499 {
			pid = 4321 // the kubelet restarted
		}
		switch rng.Intn(17) {
		case 0:
			fmt.Fprintf(&b, `{"ts":%d.%d,"caller":"kubelet/pod_workers.go:1301","msg":"Error syncing pod, skipping","pod":{"name":"web-node1","namespace":"default"},"podUID":"0123456789abcdef0123456789abcdef","err":"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off %s restarting failed container=app pod=web-node1_default(0123456789abcdef0123456789abcdef)\""}`+"\n", ts.UnixMilli(), rng.Intn(10000), bo)
		case 1:
			fmt.Fprintf(&b, "E%s %7d pod_workers.go:1301] \"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"app\\\" with CrashLoopBackOff: \\\"back-off %s restarting failed container=app pod=web-node1_default(0123)\\\"\" pod=\"default/web-node1\" podUID=\"0123\"\n", ts.Format("0102 15:04:05.000000"), pid, bo)
		case 2:
			fmt.Fprintf(&b, "%s node1 kubelet[%d]: W%s %d logging.go:55] [core] [Channel #1 SubChannel #%d]grpc: addrConn.createTransport failed to connect\n", ts.Format(time.Stamp), pid, ts.Format("0102 15:04:05.000000"), pid, 2+i/100)
		case 3:
			fmt.Fprintf(&b, `{"ts":%d,"caller":"prober/prober.go:120","msg":"Probe failed","v":%d,"probeType":"Liveness","pod":{"name":"web-node1","namespace":"default"},"probeResult":"failure","output":"exit %d\n"}`+"\n", ts.UnixMilli(), i%3, i%4)
		case 4:
			fmt.Fprintf(&b, `{"__REALTIME_TIMESTAMP":"%d","_PID":"%d","PRIORITY":"3","MESSAGE":"E%s %d file.go:187] \"Could not process manifest file\" path=\"/etc/kubernetes/manifests/x.yaml\" err=\"invalid pod\""}`+"\n", ts.UnixMicro(), pid, ts.Format("0102 15:04:05.000000"), pid)
		case 5:
			fmt.Fprintf(&b, `{"ts":0%d,"msg":"Error syncing pod, skipping","err":"x"}`+"\n", i%10) // 00 .. 09: invalid JSON from 00 on
		case 6:
			fmt.Fprintf(&b, "E%02d31 23:59:59.%06d 1 f.go:1] \"Unable to read config path\" err=\"x\"\n", 11+i%3, i) // months 11, 12, 13
		case 7:
			fmt.Fprintf(&b, `{"ts":"%s","msg":"Failed to pull image","image":"app:%d","err":"no such host"}`+"\n", ts.Format(time.RFC3339Nano), i%2)
		case 8:
			fmt.Fprintf(&b, `{"ts":%d.5,"msg":"Operation for \"data\" failed. No retries permitted until %s (durationBeforeRetry 2m2s). Error: MountVolume.SetUp failed"}`+"\n", ts.UnixMilli(), ts.Add(2*time.Minute).Format("2006-01-02 15:04:05.999999999"))
		case 9:
			fmt.Fprintf(&b, `{"ts":%d,"msg":"x","err":"y"`+"\n", ts.UnixMilli()) // damaged: cut short
		case 10:
			fmt.Fprintf(&b, `{"ts":%d.1,"msg":"Unable to process watch event","err":"can't process config file \"/m/%d.yaml\"","n":%d%d}`+"\n", ts.UnixMilli(), i%3, i%2, i%3)
		case 12:
			// digits the parser decodes (\u escapes) are no echo of the line
			fmt.Fprintf(&b, `{"ts":%d,"msg":"Failed to say \u00%d%d now","err":"e"}`+"\n", ts.UnixMilli(), 3+i%2, i%10)
		case 13:
			// klog quoted values: an octal escape, and a retry time echoed into err
			fmt.Fprintf(&b, "E%s %d nestedpendingoperations.go:348] \"Operation for \\\"{volumeName:kubernetes.io/host-path/0a1b-data podName:0a1b nodeName:}\\\" failed. No retries permitted until %s +0000 UTC m=+%d.%09d (durationBeforeRetry 2m2s). Error: MountVolume.SetUp failed \\10%d\" err=\"x\"\n", ts.Format("0102 15:04:05.000000"), pid, ts.Add(2*time.Minute).Format("2006-01-02 15:04:05.999999999"), 96105792+i, rng.Intn(1e9), i%8)
		case 14:
			// the same digits in two fields: no single place, no echo
			u := ts.Add(time.Minute).Format("15:04:05.000")
			fmt.Fprintf(&b, `{"ts":%d,"msg":"Unable to mount until %s","err":"retry at %s"}`+"\n", ts.UnixMilli(), u, u)
		case 15:
			// digits in a key the record keeps in Fields, and in an integer field
			fmt.Fprintf(&b, `{"ts":%d,"msg":"Failed to sync","v":%d,"err":"e","retry":"%d"}`+"\n", ts.UnixMilli(), i%2, i%7)
		case 16:
			fmt.Fprintf(&b, `{"ts":%d.%d,"caller":"nestedpendingoperations/nestedpendingoperations.go:348","msg":"Operation for \"{volumeName:kubernetes.io/configmap/0a1b-cfg podName:0a1b nodeName:}\" failed. No retries permitted until %s +0000 UTC m=+%d.%09d (durationBeforeRetry %s). Error: MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-%d\" not found"}`+"\n", ts.UnixMilli(), rng.Intn(1000), ts.Add(2*time.Minute).Format("2006-01-02 15:04:05.999999999"), 96105792+i, rng.Intn(1e9), bo, i%3)
		default:
			fmt.Fprintf(&b, "E%s %d kubelet.go:2452] \"Skipping pod synchronization\" err=\"PLEG is not healthy: pleg was last seen active %dm0.%09ds ago\"\n", ts.Format("0102 15:04:05.000000"), pid, 3+i%2, rng.Intn(1e9))
		}
	}
	in["repeats"] = b.Bytes()
	in["journal-repeats"] = journalShortPrecise(in["repeats"])
	in["talos-dense"] = talosPrefixed(in["dense"])
	return in
}

// talosPrefixed puts the lines of data behind talosctl's node prefixes (two nodes).
func talosPrefixed(data []byte) []byte {
	var b bytes.Buffer
	for i, l := range bytes.Split(data, []byte("\n")) {
		if len(l) > 0 {
			fmt.Fprintf(&b, "172.20.0.%d: %s\n", 2+i%2, l)
		}
	}
	return b.Bytes()
}

// journalShortPrecise puts the klog lines of data in journald short-precise lines (the time of
// the klog header, a year-less header as journalctl writes it).
func journalShortPrecise(data []byte) []byte {
	var j bytes.Buffer
	for _, l := range bytes.Split(data, []byte("\n")) {
		if isKlogHeader(l) {
			m := time.Month(atoi2(l[1:3]))
			if m >= 1 && m <= 12 {
				fmt.Fprintf(&j, "%s %s %s node1 kubelet[1234]: %s\n", m.String()[:3], l[3:5], l[6:21], l)
			}
		}
	}
	return j.Bytes()
}

func scanAll(t *testing.T, data []byte, opts ScanOptions) ([]*Record, Stats) {
	t.Helper()
	var recs []*Record
	st, err := Scan(context.Background(), bytes.NewReader(data), opts, func(r *Record) error {
		c := *r // with Last the record is reused
		recs = append(recs, &c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, st
}

func sameRecords(t *testing.T, what string, got, want []*Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: record %d differs:\n got  %+v\n want %+v", what, i, *got[i], *want[i])
		}
	}
}

func TestRepeatCacheSameRecords(t *testing.T) {
	for name, data := range repeatInputs(t) {
		for _, pf := range []struct {
			name string
			fn   func([]byte) bool
		}{{"all", nil}, {"interesting", Interesting}} {
			for _, year := range []int{0, 2024} {
				base := ScanOptions{Source: "s", Prefilter: pf.fn, RefYear: year, RefTime: time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC), Location: time.UTC}
				noCache := base
				noCache.NoRepeatCache = true
				want, wantSt := scanAll(t, data, noCache)
				if len(want) == 0 {
					t.Fatalf("%s: no records", name)
				}
				what := fmt.Sprintf("%s/%s/year=%d", name, pf.name, year)
				got, st := scanAll(t, data, base)
				sameRecords(t, what, got, want)
				if !reflect.DeepEqual(st, wantSt) {
					t.Errorf("%s: stats %+v, want %+v", what, st, wantSt)
				}
				for _, last := range []int{1, 7, len(want) / 2, len(want) + 5} {
					o := base
					o.Last = last
					got, st := scanAll(t, data, o)
					sameRecords(t, fmt.Sprintf("%s/last=%d", what, last), got, want[max(len(want)-last, 0):])
					if !reflect.DeepEqual(st, wantSt) {
						t.Errorf("%s/last=%d: stats %+v, want %+v", what, last, st, wantSt)
					}
				}
			}
		}
	}
}

// The parallel scan of a file (two halves, each with its own cache and its own Last ring) gives
// the records and line numbers of the sequential scan without the cache.
func TestRepeatCacheParallelFile(t *testing.T) {
	old := parallelMin
	parallelMin = 1 << 10
	defer func() { parallelMin = old }()
	for name, data := range repeatInputs(t) {
		path := filepath.Join(t.TempDir(), "kubelet.log")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		want, wantSt := collect(t, path, ScanOptions{Prefilter: Interesting, NoRepeatCache: true, RefYear: 2024})
		for _, last := range []int{0, 3, len(want) / 3, len(want) - 1, len(want) * 2} {
			var got []*Record
			st, err := ScanFile(context.Background(), path, ScanOptions{Prefilter: Interesting, Last: last}, func(r *Record) error {
				c := *r // with Last the record is reused
				got = append(got, &c)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			w := want
			if last > 0 {
				w = want[max(len(want)-last, 0):]
			}
			// RefYear keeps the reference scan sequential; the parallel scans use the file's
			// time for klog's year, as every scan of a file does: compare all but TS there.
			for i := range got {
				if i < len(w) && got[i].Format == FormatJSON {
					continue
				}
				if i < len(w) {
					got[i].TS = w[i].TS
				}
			}
			sameRecords(t, fmt.Sprintf("%s/last=%d", name, last), got, w)
			if st.Parsed != wantSt.Parsed || st.Relevant != wantSt.Relevant || st.Lines != wantSt.Lines || st.Skipped != wantSt.Skipped {
				t.Errorf("%s/last=%d: stats %+v, want %+v", name, last, st, wantSt)
			}
		}
	}
}

// The cache does its job in every shape: most repeats of the dense log (JSON, and behind a
// talosctl prefix) and of the hand-made repeats in journald short-precise lines are hits.
func TestRepeatCacheHitsRepeats(t *testing.T) {
	in := repeatInputs(t)
	in["dense"] = denseBenchLog(t, 4<<20)
	in["talos-dense"] = talosPrefixed(in["dense"])
	for name, minHits := range map[string]float64{"dense": 0.9, "talos-dense": 0.8, "journal-repeats": 0.4} {
		c := newRepeatCache()
		p := Parser{Year: 2024}
		lines := 0
		for _, l := range bytes.Split(in[name], []byte("\n")) {
			if len(l) == 0 || !Interesting(l) {
				continue
			}
			lines++
			if _, ok := c.parse(&p, l); !ok {
				t.Fatalf("%s: line not parsed: %s", name, l)
			}
		}
		if float64(c.hits) < float64(lines)*minHits {
			t.Errorf("%s: %d hits in %d lines (%d misses, %d learned), want %.0f%%", name, c.hits, lines, c.misses, c.learned, 100*minHits)
		}
		if c.learned == 0 {
			t.Errorf("%s: no variant learned its time-only digits", name)
		}
	}
}

// An adversarial log — every line distinct — keeps the cache within its budget, and the cache
// steps aside.
func TestRepeatCacheBounded(t *testing.T) {
	c := newRepeatCache()
	var p Parser
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 30000; i++ {
		line := fmt.Sprintf(`{"ts":%d,"msg":"Error %s","err":"%s"}`, 1732485304000+i, randWord(rng, 20+rng.Intn(200)), randWord(rng, rng.Intn(900)))
		if _, ok := c.parse(&p, []byte(line)); !ok {
			t.Fatalf("not parsed: %s", line)
		}
		if c.bytes > repeatBudget {
			t.Fatalf("cache holds %d bytes, budget %d", c.bytes, repeatBudget)
		}
	}
	if c.hits != 0 {
		t.Errorf("%d hits on distinct lines", c.hits)
	}
	if c.misses > 3*repeatWindow {
		t.Errorf("the cache kept learning from a log without repeats: %d misses", c.misses)
	}
}

func randWord(rng *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz -"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rng.Intn(len(letters))]
	}
	return string(b)
}

// Records from the cache share strings and the Fields map with the variant's template; a
// record handed out must still be independent in its own fields.
func TestRepeatCacheRecordsAreFresh(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&b, `{"ts":%d,"msg":"Probe failed","probeType":"Liveness","err":"x"}`+"\n", 1732485304000+i*1000)
	}
	recs, _ := scanAll(t, []byte(b.String()), ScanOptions{})
	recs[3].Msg = "changed"
	for i, r := range recs {
		if i != 3 && r.Msg != "Probe failed" {
			t.Fatalf("record %d changed with record 3: %q", i, r.Msg)
		}
		if want := time.UnixMilli(int64(1732485304000 + i*1000)); !r.TS.Equal(want) {
			t.Fatalf("record %d: TS %v, want %v", i, r.TS, want)
		}
	}
}

func FuzzRepeatCache(f *testing.F) {
	f.Add([]byte(`{"ts":1732485304100.1653,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/x","err":"invalid pod"}`), uint64(7))
	f.Add([]byte(`E1124 21:55:04.100165    1234 file.go:187] "Could not process manifest file" path="/x" err="back-off 10s"`), uint64(3))
	f.Add([]byte(`Nov 24 21:55:04 host kubelet[1234]: E1124 21:55:04.100165 1 f.go:1] "x"`), uint64(99))
	f.Add([]byte(`{"__REALTIME_TIMESTAMP":"1732485304100165","_PID":"1","MESSAGE":"E1124 21:55:04.100165 1 f.go:1] \"x\""}`), uint64(12345))
	f.Add([]byte(`{"ts":17,"v":2,"n":[1,2,30]}`), uint64(1))
	// digits echoed into the message (a retry's wall clock), next to escapes the parser decodes
	f.Add([]byte(`{"ts":1796105792927.15,"msg":"Operation for \"{volumeName:x-data}\" failed. No retries permitted until 2026-12-01 06:18:32.92715 +0000 UTC m=+96105792.927150011 (durationBeforeRetry 2m2s)","err":"a\u0031b 12"}`), uint64(5))
	f.Add([]byte(`E1201 06:18:30.927150    1234 nestedpendingoperations.go:348] "Operation failed. No retries permitted until 2026-12-01 06:18:32.92715 +0000 UTC m=+96105792.927150011 \101\x31" err="until 06:18:32 and 06:18:32"`), uint64(8))
	f.Fuzz(func(t *testing.T, line []byte, seed uint64) {
		// The line, then variants of it with digits changed, each several times.
		rng := rand.New(rand.NewSource(int64(seed)))
		var in bytes.Buffer
		for i := 0; i < 12; i++ {
			l := bytes.Clone(line)
			if i > 0 {
				for j := range l {
					if isDigit(l[j]) && rng.Intn(4) == 0 {
						l[j] = byte('0' + rng.Intn(10))
					}
				}
			}
			for k := 0; k < 3; k++ {
				in.Write(l)
				in.WriteByte('\n')
			}
		}
		data := in.Bytes()
		// with the cache, and with it and Last, records and stats are those of the full parse;
		// with Interesting a hit skips the prefilter: its repeats with other time-only digits
		// must pass it as the line did, and the lines it drops must stay dropped
		for _, prefilter := range []func([]byte) bool{nil, Interesting} {
			opts := ScanOptions{RefYear: 2024, Location: time.UTC, Prefilter: prefilter}
			noCache := opts
			noCache.NoRepeatCache = true
			want, wantSt := scanAll(t, data, noCache)
			for _, last := range []int{0, 5} {
				opts.Last = last
				got, st := scanAll(t, data, opts)
				what := fmt.Sprintf("prefilter=%v last=%d", prefilter != nil, last)
				w := want
				if last > 0 {
					w = want[max(len(want)-last, 0):]
				}
				sameRecords(t, what, got, w)
				if !reflect.DeepEqual(st, wantSt) {
					t.Errorf("%s: stats %+v, want %+v", what, st, wantSt)
				}
			}
		}
	})
}

// Lines longer than the read buffer are gathered up to MaxLine, as when the buffer was MaxLine:
// a line of MaxLine-1 bytes and its newline is read, one of MaxLine bytes is skipped (counted).
func TestScanLongLineBoundary(t *testing.T) {
	mk := func(n int) string {
		head := `{"ts":1732485304000,"msg":"Probe failed","output":"`
		return head + strings.Repeat("x", n-len(head)-2) + `"}`
	}
	for _, tc := range []struct {
		n        int
		newline  bool
		parsed   bool
		wantSkip int64
	}{
		{MaxLine - 1, true, true, 0},
		{MaxLine, true, false, 1},
		{MaxLine - 1, false, true, 0},
		{MaxLine, false, false, 1},
		{readBuffer + 1, true, true, 0},
	} {
		// without its newline the long line is the last one
		in, want, lines := jsonLine(t0, 1, true)+"\n"+mk(tc.n), 1, int64(2)
		if tc.newline {
			in, want, lines = in+"\n"+jsonLine(t0, 2, true)+"\n", 2, 3
		}
		if tc.parsed {
			want++
		}
		recs, st := scanAll(t, []byte(in), ScanOptions{})
		if len(recs) != want || st.Skipped != tc.wantSkip || st.Lines != lines {
			t.Errorf("n=%d newline=%v: %d records, %d lines, %d skipped; want %d records, %d skipped", tc.n, tc.newline, len(recs), st.Lines, st.Skipped, want, tc.wantSkip)
			continue
		}
		if tc.parsed && tc.newline && recs[2].Offset != int64(len(jsonLine(t0, 1, true))+1+tc.n+1) {
			t.Errorf("n=%d: third record at offset %d", tc.n, recs[2].Offset)
		}
	}
}

// A scan with Interesting looks a line up in the cache first and runs the prefilter only on a
// miss; with any other prefilter, or a message table with a digit (whose match a time-only digit
// could change), the prefilter runs first on every line, as before.
func TestRepeatCacheFindFirst(t *testing.T) {
	if lp := newLineProc(ScanOptions{Prefilter: Interesting}, 1); !lp.findFirst {
		t.Error("Interesting: the prefilter runs before the cache")
	}
	if lp := newLineProc(ScanOptions{Prefilter: func(b []byte) bool { return Interesting(b) }}, 1); lp.findFirst {
		t.Error("another prefilter is skipped on a hit")
	}
	if lp := newLineProc(ScanOptions{Prefilter: Interesting, NoRepeatCache: true}, 1); lp.findFirst {
		t.Error("findFirst without a cache")
	}
	saved := InterestingMsgs
	defer func() { InterestingMsgs = saved }()
	InterestingMsgs = append(append([]string(nil), saved...), "Error 404 from")
	if lp := newLineProc(ScanOptions{Prefilter: Interesting}, 1); lp.findFirst {
		t.Error("a message with a digit, and the prefilter is skipped on a hit")
	}
}

// The volume manager's retry line carries a wall clock and a monotonic reading in its message,
// new on every retry: those digits are echoes of the line in the record's message, and its
// repeats are hits, in JSON, klog text and journald lines, with the records of the full parse.
func TestRepeatCacheEchoes(t *testing.T) {
	var b bytes.Buffer
	t0 := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	for i := 0; i < 2000; i++ {
		ts := t0.Add(time.Duration(i) * 1237 * time.Millisecond)
		until := ts.Add(2*time.Minute + time.Duration(i%7)*time.Second).Format("2006-01-02 15:04:05.999999999")
		mono := fmt.Sprintf("%d.%09d", 96105792+i*3, (i*7919)%1000000000)
		if i%2 == 0 {
			fmt.Fprintf(&b, `{"ts":%d.%03d,"caller":"nestedpendingoperations/nestedpendingoperations.go:348","msg":"Operation for \"{volumeName:kubernetes.io/host-path/52a7cc25-data podName:52a7cc25 nodeName:}\" failed. No retries permitted until %s +0000 UTC m=+%s (durationBeforeRetry 2m2s). Error: MountVolume.SetUp failed for volume \"data\""}`+"\n", ts.UnixMilli(), i%1000, until, mono)
		} else {
			fmt.Fprintf(&b, "E%s    1234 nestedpendingoperations.go:348] Operation for \"{volumeName:kubernetes.io/host-path/52a7cc25-data podName:52a7cc25 nodeName:}\" failed. No retries permitted until %s +0000 UTC m=+%s (durationBeforeRetry 2m2s). Error: MountVolume.SetUp failed for volume \"data\"\n", ts.Format("0102 15:04:05.000000"), until, mono)
		}
	}
	for name, data := range map[string][]byte{"plain": b.Bytes(), "journald": journalShortPrecise(b.Bytes())} {
		opts := ScanOptions{RefYear: 2026, Location: time.UTC, Prefilter: Interesting}
		noCache := opts
		noCache.NoRepeatCache = true
		want, _ := scanAll(t, data, noCache)
		got, _ := scanAll(t, data, opts)
		sameRecords(t, name, got, want)
		if len(want) == 0 || !strings.Contains(want[len(want)-1].Msg, "No retries permitted until") {
			t.Fatalf("%s: the retry lines were not read (%d records)", name, len(want))
		}

		c := newRepeatCache()
		p := Parser{Year: 2026, Location: time.UTC}
		lines := 0
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			lines++
			c.parse(&p, l)
		}
		if c.hits < int64(lines)*9/10 {
			t.Errorf("%s: %d hits in %d lines (%d misses, %d learned): the retry times are not echoes", name, c.hits, lines, c.misses, c.learned)
		}
	}
}
