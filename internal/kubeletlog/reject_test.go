package kubeletlog

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
)

// mutateDigits changes each digit of line with probability 1/4.
func mutateDigits(rng *rand.Rand, line []byte) []byte {
	l := bytes.Clone(line)
	for j := range l {
		if isDigit(l[j]) && rng.Intn(4) == 0 {
			l[j] = byte('0' + rng.Intn(10))
		}
	}
	return l
}

// rejectCheck remembers every line Interesting drops and checks that each variant of it with
// other digits that the cache calls dropped is dropped by Interesting.
func rejectCheck(t *testing.T, rng *rand.Rand, lines [][]byte, variants int) (hits int) {
	t.Helper()
	var c rejectCache
	for _, line := range lines {
		if len(line) == 0 || len(line) > repeatMaxLine || Interesting(line) {
			continue
		}
		h := shapeHash(line)
		c.add(line, h)
		for k := 0; k < variants; k++ {
			l := mutateDigits(rng, line)
			if c.dropped(l, shapeHash(l)) {
				hits++
				if Interesting(l) {
					t.Fatalf("the cache drops a line Interesting keeps:\n%s\nremembered from:\n%s", l, line)
				}
			}
		}
	}
	return hits
}

// Every dropped line of every captured and shaped log, with its digits changed: the cache drops
// only what Interesting drops, and it does drop the repeats of JSON lines.
func TestRejectCacheDropsWhatInterestingDrops(t *testing.T) {
	in := repeatInputs(t)
	in["quiet"] = benchLog(1 << 20)
	rng := rand.New(rand.NewSource(1))
	for name, data := range in {
		hits := rejectCheck(t, rng, bytes.Split(data, []byte("\n")), 4)
		if (name == "quiet" || name == "dense") && hits == 0 {
			t.Errorf("%s: no dropped JSON line recognised again", name)
		}
	}
	// the "v" digit after "msg" decides whether an "err" key counts
	lines := [][]byte{
		[]byte(`{"ts":1732485304100.1653,"caller":"x.go:1","msg":"Housekeeping","v":2,"err":"boom 12"}`),
		[]byte(`{"ts":1732485304100.1653,"caller":"x.go:1","msg":"Housekeeping","v":12,"err":"boom"}`),
		[]byte(`  {"ts":1,"msg":"Housekeeping 12","v":3,"n":1,"err":"x"}`),
	}
	for i := 0; i < 200; i++ {
		rejectCheck(t, rng, lines, 20)
	}
}

// The cache keeps to its budget on a log of distinct dropped lines, and steps aside.
func TestRejectCacheBounded(t *testing.T) {
	var c rejectCache
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 50000; i++ {
		line := []byte(fmt.Sprintf(`{"ts":%d,"msg":"Housekeeping %s","v":3}`, 1732485304000+i, randWord(rng, 20+rng.Intn(400))))
		h := shapeHash(line)
		if !c.dropped(line, h) {
			c.add(line, h)
		}
		if c.bytes > rejectBudget {
			t.Fatalf("cache holds %d bytes, budget %d", c.bytes, rejectBudget)
		}
	}
	if c.hits != 0 {
		t.Errorf("%d hits on distinct lines", c.hits)
	}
	if c.bypass == 0 {
		t.Error("the cache did not step aside on a log without repeats")
	}
}

// The cache is Interesting for any line and its variants with other digits.
func FuzzRejectCache(f *testing.F) {
	f.Add([]byte(`{"ts":1732485304100.1653,"caller":"eviction/eviction_manager.go:366","msg":"Eviction manager: synchronize housekeeping","v":3}`), uint64(1))
	f.Add([]byte(`{"ts":1732485304100.1653,"caller":"x.go:1","msg":"Housekeeping","v":2,"err":"boom"}`), uint64(2))
	f.Add([]byte(`{"ts":17,"msg":"a\"b","v":9,"x":"\"err\":1"}`), uint64(3))
	f.Add([]byte(`{"MESSAGE":"I1124 21:55:04.100165 1 f.go:1] \"x\"","msg":"y"}`), uint64(4))
	f.Add([]byte(`Nov 24 21:55:04 host kubelet[1234]: {"ts":1,"msg":"x","v":4}`), uint64(5))
	f.Fuzz(func(t *testing.T, line []byte, seed uint64) {
		if bytes.IndexByte(line, '\n') >= 0 {
			return
		}
		rejectCheck(t, rand.New(rand.NewSource(int64(seed))), [][]byte{line}, 24)
	})
}
