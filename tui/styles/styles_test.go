package styles

import (
	"testing"

	"github.com/muesli/termenv"
)

func TestNoColorForcesASCII(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	r := NewRenderer()
	if p := r.ColorProfile(); p != termenv.Ascii {
		t.Fatalf("profile %v with NO_COLOR set", p)
	}
	if got := New(r).Error.Render("x"); got != "x" {
		t.Errorf("styled output under NO_COLOR: %q", got)
	}
}

func TestParseBackground(t *testing.T) {
	for _, tc := range []struct {
		in       string
		dark, ok bool
	}{
		{"\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[24;1R", true, true},
		{"\x1b]11;rgb:ffff/ffff/ffff\x07", false, true},
		{"\x1b]11;rgb:1c/1c/1c\x1b\\", true, true},
		{"\x1b]11;rgb:fdf6/f6f6/e3e3\x1b\\", false, true}, // solarized light
		{"\x1b]11;rgba:0000/0000/0000/ffff\x07", true, true},
		{"\x1b[24;1R", false, false}, // only the cursor report: the terminal ignores OSC 11
		{"\x1b]11;rgb:zz/00/00\x07", false, false},
		{"\x1b]11;rgb:0000/0000\x07", false, false},
		{"", false, false},
	} {
		dark, ok := parseBackground([]byte(tc.in))
		if dark != tc.dark || ok != tc.ok {
			t.Errorf("parseBackground(%q) = %v, %v; want %v, %v", tc.in, dark, ok, tc.dark, tc.ok)
		}
	}
}

func TestCursorReportEnd(t *testing.T) {
	for in, want := range map[string]int{"\x1b[24;1R": 6, "\x1b]11;rgb:0/0/0\x1b\\\x1b[3;4R": 21, "\x1b[": -1, "\x1b[A\x1b[1;1R": 8} {
		if got := cursorReportEnd([]byte(in)); got != want {
			t.Errorf("cursorReportEnd(%q) = %d; want %d", in, got, want)
		}
	}
}
