package tailguard

import (
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	long := strings.Repeat("x", 100) + "tail of the first read\n"
	tests := []struct {
		name  string
		reads []string // consecutive reads of the file's start
		now   string   // the file when the follower looks again
		want  bool
	}{
		{"nothing read", nil, "anything", false},
		{"unchanged and grown", []string{"one\n", "two\n"}, "one\ntwo\nthree\n", false},
		{"truncated shorter", []string{"one\ntwo\n"}, "3\n", true},
		{"truncated and regrown past the position", []string{"one\ntwo\n"}, "a much longer new line\n", true},
		{"long read keeps only the last bytes", []string{long}, long + "more\n", false},
		{"long read, rewritten", []string{long}, strings.Repeat("y", len(long)+5), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g Guard
			pos := 0
			for _, r := range tt.reads {
				g.Remember([]byte(r))
				pos += len(r)
			}
			if got := g.Rewritten(strings.NewReader(tt.now), int64(pos)); got != tt.want {
				t.Errorf("Rewritten = %v, want %v", got, tt.want)
			}
		})
	}
	var g Guard
	g.Load(strings.NewReader("header\nbody\n"), 7)
	if g.Rewritten(strings.NewReader("header\nbody\nmore\n"), 7) || !g.Rewritten(strings.NewReader("HEADER\n"), 7) {
		t.Error("Load: want the bytes before pos remembered")
	}
}
