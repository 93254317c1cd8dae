package kubeletlog

import (
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"
)

func TestInteresting(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{`{"ts":1,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/x","err":"bad"}`, true},
		{`{"ts":1,"caller":"a.go:1","msg":"Something else","err":"boom"}`, true},
		{`{"ts":1,"caller":"config/file.go:1","msg":"Adding static pod path","path":"/etc/kubernetes/manifests"}`, true},
		{`{"ts":1,"caller":"kubelet.go:1","msg":"SyncLoop ADD","v":0,"source":"file","pods":["default/web-node1"]}`, true},
		{`{"ts":1,"caller":"kubelet.go:1","msg":"SyncLoop (PLEG): event for pod","v":2}`, true},
		{`{"ts":1,"caller":"prober.go:1","msg":"Probe failed","v":1,"probeType":"Liveness"}`, true},
		{`{"ts":1,"caller":"eviction_manager.go:1","msg":"Eviction manager: synchronize housekeeping","v":3}`, false},
		{`{"ts":1,"caller":"kubelet.go:1","msg":"SyncLoop (probe)","v":4,"probe":"readiness","status":"ready"}`, false},
		// "err" inside a value is not an error key
		{`{"ts":1,"caller":"a.go:1","msg":"Something \"err\": quoted","v":4,"note":"the \"err\": word"}`, false},
		// an escaped quote inside msg does not end it
		{`{"ts":1,"msg":"say \"hi\" then Probe failed","v":4}`, true},
		{`E1124 21:55:04.100165 1234 file.go:187] "anything"`, true},
		{`W1124 21:55:04.100165 1234 file.go:187] "anything"`, true},
		{`I1124 21:55:04.100165 1234 file.go:187] "Killing container with a grace period" pod="default/x"`, true},
		{`I1124 21:55:04.100165 1234 file.go:187] "Unable to read config path" path="/x" err="path does not exist, ignoring"`, true},
		{`I1124 21:55:04.100165 1234 kubelet.go:1] "SyncLoop (housekeeping)"`, false},
		{`Nov 24 21:55:04 host kubelet[1234]: E1124 21:55:04.100165    1234 file.go:187] "x"`, true},
		{`Nov 24 21:55:04 host kubelet[1234]: I1124 21:55:04.100165    1234 file.go:187] "housekeeping"`, false},
		{`{"__REALTIME_TIMESTAMP":"1","MESSAGE":"E1124 21:55:04.100165    1234 file.go:187] \"x\""}`, true},
		{`{"__REALTIME_TIMESTAMP":"1","MESSAGE":"I1124 21:55:04.100165    1234 file.go:187] \"noise\""}`, false},
		{`{"__REALTIME_TIMESTAMP":"1","MESSAGE":"{\"ts\":1,\"msg\":\"noise\",\"err\":\"x\"}"}`, true},
		{`{"__REALTIME_TIMESTAMP":"1","MESSAGE":[1,2,3]}`, true},
		{"", false},
		{"\xff\xfe\x00", false},
	}
	for _, tt := range tests {
		if got := Interesting([]byte(tt.line)); got != tt.want {
			t.Errorf("Interesting(%s) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

func TestInterestingMsgsExtendable(t *testing.T) {
	line := []byte(`{"ts":1,"caller":"a.go:1","msg":"Custom correlation message","v":2}`)
	if Interesting(line) {
		t.Fatal("line interesting before the message was added")
	}
	saved := InterestingMsgs
	t.Cleanup(func() { InterestingMsgs = saved })
	InterestingMsgs = append(append([]string(nil), saved...), "Custom correlation")
	if !Interesting(line) {
		t.Error("line not interesting after appending its message to InterestingMsgs")
	}
}

// Every line the parser recognises as an error must pass the prefilter.
func TestInterestingKeepsParsedErrors(t *testing.T) {
	for _, tt := range []string{
		`{"ts":1732485304000,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/x","err":"bad"}`,
		`E1124 21:55:04.100165 1234 pod_workers.go:1301] "Error syncing pod, skipping" err="x"`,
		`{"__REALTIME_TIMESTAMP":"1732485304100165","_PID":"1","MESSAGE":"E1124 21:55:04.100165    1234 file.go:187] \"x\""}`,
	} {
		r, ok := ParseLine([]byte(tt))
		if !ok || r.Level != "E" {
			t.Fatalf("ParseLine(%s) = %+v, %v; want an error record", tt, r, ok)
		}
		if !Interesting([]byte(tt)) {
			t.Errorf("Interesting(%s) = false for an error record", tt)
		}
	}
}

// The skip-table matcher must agree with a naive substring search.
func TestMatcherAgreesWithNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	alphabet := "abcdeSLop (-)"
	randStr := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		return string(b)
	}
	for round := 0; round < 200; round++ {
		var pats []string
		for i := 0; i < 1+rng.Intn(6); i++ {
			pats = append(pats, randStr(1+rng.Intn(6)))
		}
		m := newMatcher(pats)
		for i := 0; i < 200; i++ {
			text := randStr(rng.Intn(40))
			want := false
			for _, p := range pats {
				want = want || strings.Contains(text, p)
			}
			if got := m.match([]byte(text)); got != want {
				t.Fatalf("patterns %q, text %q: match = %v, want %v", pats, text, got, want)
			}
		}
	}
	m := newMatcher(InterestingMsgs)
	for _, p := range InterestingMsgs {
		for _, text := range []string{p, "x" + p, "some prefix " + p + " and suffix", p[:len(p)-1]} {
			want := strings.Contains(text, p) || slicesContainsSub(InterestingMsgs, text)
			if got := m.match([]byte(text)); got != want {
				t.Errorf("text %q: match = %v, want %v", text, got, want)
			}
		}
	}
}

func slicesContainsSub(pats []string, text string) bool {
	for _, p := range pats {
		if strings.Contains(text, p) {
			return true
		}
	}
	return false
}

func TestInterestingVerbosity(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{`{"ts":1,"caller":"a.go:1","msg":"Noise","v":4,"err":"detail at debug verbosity"}`, false},
		{`{"ts":1,"caller":"a.go:1","msg":"Noise","v":12,"err":"detail"}`, false},
		{`{"ts":1,"caller":"a.go:1","msg":"Noise","v":0,"err":"kept at v=0"}`, true},
		{`{"ts":1,"caller":"a.go:1","msg":"Noise","v":1,"err":"kept at v=1"}`, true},
		{`{"ts":1,"caller":"a.go:1","msg":"Probe failed","v":4}`, true},
		{`{"ts":1,"caller":"a.go:1","msg":"x","pod":{"name":"a"},"err":"error line"}`, true},
		{`{"ts":1,"caller":"a.go:1","xmsg":"Probe failed","msg":"Noise","v":4}`, false},
	}
	for _, tt := range tests {
		if got := Interesting([]byte(tt.line)); got != tt.want {
			t.Errorf("Interesting(%s) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

// The message memo gives the matcher's answer for every line, over logs whose messages repeat
// (the memo then answers most of them) and logs where no message repeats (it steps aside).
func TestMsgMemoAgrees(t *testing.T) {
	quiet := string(benchLog(2 << 20))
	dense := string(denseBenchLog(t, 2<<20))
	var distinct strings.Builder
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 3*msgMemoWindow; i++ {
		msg := "Probe failed"
		if rng.Intn(3) == 0 {
			msg = "Eviction manager: synchronize"
		}
		fmt.Fprintf(&distinct, `{"ts":%d,"msg":"%s %x","v":%d}`+"\n", i, msg, rng.Int63(), rng.Intn(5))
	}
	m := currentMatcher()
	for name, log := range map[string]string{"quiet": quiet, "dense": dense, "distinct": distinct.String()} {
		mm := newMsgMemo()
		for _, l := range strings.Split(log, "\n") {
			if got, want := m.interesting([]byte(l), 0, mm), m.interesting([]byte(l), 0, nil); got != want {
				t.Fatalf("%s: with the memo %v, without %v: %s", name, got, want, l)
			}
		}
		if want := name == "distinct"; (mm.asides > 0) != want {
			t.Errorf("%s: the memo stepped aside %d times", name, mm.asides)
		}
	}
}

// The step over the kubelet's JSON layout finds "msg" where the search finds it, on every line of
// the testdata and on lines that look like the layout but are not quite it.
func TestKubeletMsgKey(t *testing.T) {
	lines := []string{
		`{"ts":1732485304100.1653,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/x"}`,
		`{"ts":1732485304100,"logger":"UnhandledError","caller":"a.go:1","msg":"Unhandled Error","err":"x"}`,
		`{"ts":1,"caller":"a.go:1","v":2,"msg":"late msg"}`,
		`{"ts":1,"caller":"a.go:1","msg":"`,
		`{"ts":1,"caller":"a.go:1"`,
		`{"ts":1,"caller":"`,
		`{"ts":"2024-11-24T21:55:04Z","caller":"a.go:1","msg":"string time"}`,
		`{"ts":1,"caller":"x\",\"msg\":\"fake","msg":"real"}`,
		`{"ts":1 ,"caller":"a.go:1","msg":"space"}`,
		`{"ts":12345678901234567890123456789012345678901234567890,"caller":"a.go:1","msg":"long time"}`,
		`{"msg":"first","ts":1,"caller":"a.go:1"}`,
		`{"ts":`,
	}
	for _, f := range []string{"../../testdata/nodes/broken/var/log/kubelet.log", "../../testdata/nodes/broken-v1.37/var/log/kubelet.log"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(string(data), "\n")...)
	}
	stepped := 0
	for _, l := range lines {
		if got, want := indexMsgKey([]byte(l)), searchMsgKey([]byte(l)); got != want {
			t.Errorf("msg key at %d, the search finds it at %d: %s", got, want, l)
		}
		if kubeletMsgKey([]byte(l)) >= 0 {
			stepped++
		}
	}
	if stepped < len(lines)/2 {
		t.Errorf("the step over the layout found msg in %d of %d lines", stepped, len(lines))
	}
}
