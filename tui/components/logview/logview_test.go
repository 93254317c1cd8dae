package logview

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/spdoc/spdoc/tui/common"
	"github.com/spdoc/spdoc/tui/keymap"
	"github.com/spdoc/spdoc/tui/styles"
)

var t0 = time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC)

func lines(n int) []Line {
	out := make([]Line, n)
	for i := range out {
		out[i] = Line{TS: t0.Add(time.Duration(i) * time.Millisecond), Stream: "stdout", Text: fmt.Sprintf("line %d", i)}
	}
	return out
}

func TestRing(t *testing.T) {
	tests := []struct {
		cap, push   int
		first, last string
		n           int
		dropped     uint64
	}{
		{cap: 3, push: 2, first: "line 0", last: "line 1", n: 2},
		{cap: 3, push: 3, first: "line 0", last: "line 2", n: 3},
		{cap: 3, push: 7, first: "line 4", last: "line 6", n: 3, dropped: 4},
		{cap: 1, push: 5, first: "line 4", last: "line 4", n: 1, dropped: 4},
	}
	for _, tt := range tests {
		r := NewRing(tt.cap)
		for _, l := range lines(tt.push) {
			r.Append(l)
		}
		if r.Len() != tt.n || r.At(0).Text != tt.first || r.At(r.Len()-1).Text != tt.last || r.Dropped() != tt.dropped {
			t.Errorf("cap %d push %d: len %d first %q last %q dropped %d", tt.cap, tt.push, r.Len(), r.At(0).Text,
				r.At(r.Len()-1).Text, r.Dropped())
		}
		r.Reset()
		if r.Len() != 0 {
			t.Errorf("reset left %d lines", r.Len())
		}
	}
}

func TestMergeOrdersByTime(t *testing.T) {
	a, b, dst := NewRing(10), NewRing(10), NewRing(10)
	for _, s := range []int{0, 2, 4} {
		a.Append(Line{TS: t0.Add(time.Duration(s) * time.Second), Text: fmt.Sprint(s)})
	}
	for _, s := range []int{1, 2, 5} {
		b.Append(Line{TS: t0.Add(time.Duration(s) * time.Second), Text: fmt.Sprint(s), Stream: "kubelet"})
	}
	Merge(dst, a, b)
	var got []string
	for i := 0; i < dst.Len(); i++ {
		got = append(got, dst.At(i).Text+dst.At(i).Stream)
	}
	if strings.Join(got, ",") != "0,1kubelet,2,2kubelet,4,5kubelet" {
		t.Errorf("merged %v", got)
	}
}

func newPane(w, h int) *Model {
	c := &common.Common{Styles: styles.New(lipgloss.NewRenderer(nil)), KeyMap: keymap.Default()}
	m := New(c, "log", NewRing(1000))
	m.SetSize(w, h)
	return m
}

func body(m *Model) []string {
	ls := strings.Split(m.View(), "\n")
	out := make([]string, 0, len(ls))
	for _, l := range ls[1 : len(ls)-1] {
		out = append(out, strings.TrimRight(strings.Trim(l, "│"), " "))
	}
	return out
}

func TestViewShowsNewestAndPausedStays(t *testing.T) {
	m := newPane(30, 5) // 3 rows
	m.Append(lines(10))
	if got := strings.Join(body(m), ","); got != "line 7,line 8,line 9" {
		t.Fatalf("following: %s", got)
	}
	m.ScrollUp(2)
	if got := strings.Join(body(m), ","); got != "line 5,line 6,line 7" || m.Following() {
		t.Fatalf("scrolled: %s", got)
	}
	m.Append(lines(20)[10:]) // new lines do not move a paused pane
	if got := strings.Join(body(m), ","); got != "line 5,line 6,line 7" {
		t.Errorf("paused pane moved: %s", got)
	}
	m.Bottom()
	if got := strings.Join(body(m), ","); got != "line 17,line 18,line 19" || !m.Following() {
		t.Errorf("bottom: %s", got)
	}
	m.ScrollUp(1000)
	if got := body(m)[0]; got != "line 0" {
		t.Errorf("scrolling past the top: first row %q", got)
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		expr string
		want string
		err  bool
	}{
		{"", "line 7,line 8,line 9", false},
		{"line [13]$", "line 1,line 3", false},
		{"!line [0-7]", "line 8,line 9", false},
		{"(", "", true},
	}
	for _, tt := range tests {
		m := newPane(30, 5)
		m.Append(lines(10))
		err := m.SetFilter(tt.expr)
		if (err != nil) != tt.err {
			t.Errorf("%q: err %v", tt.expr, err)
			continue
		}
		if tt.err {
			continue
		}
		var got []string
		for _, l := range body(m) {
			if l != "" {
				got = append(got, l)
			}
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("%q: %v", tt.expr, got)
		}
	}
}

func TestWrapAndTimestamps(t *testing.T) {
	m := newPane(12, 6) // 10 columns, 4 rows
	m.Append([]Line{{TS: t0, Text: "abcdefghijklmnopqrstuvwxy"}})
	if got := body(m)[0]; got != "abcdefghi…" {
		t.Errorf("truncated: %q", got)
	}
	m.ToggleWrap()
	if got := strings.Join(body(m), ","); got != "abcdefghij,klmnopqrst,uvwxy," {
		t.Errorf("wrapped: %q", got)
	}
	m.ToggleWrap()
	m.ToggleTimestamps()
	if got := body(m)[0]; !strings.HasPrefix(got, "21:00:00.") {
		t.Errorf("timestamps: %q", got)
	}
}

func TestControlSequencesInLogsAreStripped(t *testing.T) {
	m := newPane(30, 3)
	m.Append([]Line{{Text: "\x1b[31mred\x1b[0m\tx"}})
	if got := body(m)[0]; got != "red    x" {
		t.Errorf("%q", got)
	}
}

// TestFilterFollowsRingDrops: the match index forgets lines the ring dropped, and a paused
// pane only moves by matching lines.
func TestFilterFollowsRingDrops(t *testing.T) {
	c := &common.Common{Styles: styles.New(lipgloss.NewRenderer(nil)), KeyMap: keymap.Default()}
	m := New(c, "log", NewRing(5))
	m.SetSize(30, 12)
	if err := m.SetFilter("[13579]$"); err != nil {
		t.Fatal(err)
	}
	m.Append(lines(20)) // ring keeps 15..19; odd: 15, 17, 19
	var got []string
	for _, l := range m.Matching() {
		got = append(got, l.Text)
	}
	if strings.Join(got, ",") != "line 15,line 17,line 19" {
		t.Fatalf("matching %v", got)
	}
	if b := strings.Join(body(m)[:3], ","); b != "line 15,line 17,line 19" {
		t.Errorf("view %q", b)
	}
	m.SetFollow(false)
	m.Append([]Line{{Text: "line 20"}, {Text: "line 21"}})
	if m.Offset() != 1 {
		t.Errorf("paused offset %d, want 1 (one new matching line)", m.Offset())
	}
	// Clearing the filter shows every kept line again.
	m.SetFilter("")
	if n := len(m.Matching()); n != 5 {
		t.Errorf("unfiltered %d lines", n)
	}
}

func TestMergeFromKeepsFilter(t *testing.T) {
	c := &common.Common{Styles: styles.New(lipgloss.NewRenderer(nil)), KeyMap: keymap.Default()}
	a, b := NewRing(10), NewRing(10)
	a.Append(Line{TS: t0, Text: "x ctr"})
	b.Append(Line{TS: t0.Add(time.Second), Text: "x kubelet"})
	a.Append(Line{TS: t0.Add(2 * time.Second), Text: "y ctr"})
	m := New(c, "merged", NewRing(20))
	m.SetFilter("^x")
	m.MergeFrom(a, b)
	var got []string
	for _, l := range m.Matching() {
		got = append(got, l.Text)
	}
	if strings.Join(got, ",") != "x ctr,x kubelet" {
		t.Errorf("%v", got)
	}
}

// TestPinnedStaysOnTop: pinned lines (a failed instance's last words) are shown whole, wrapped
// even with wrap off, at the top of the pane whether it follows or is scrolled to the oldest line;
// on a pane too small for them the newest pinned rows stay and one log row is left.
func TestPinnedStaysOnTop(t *testing.T) {
	m := newPane(25, 12)
	m.Append(lines(50))
	m.PinnedTitle = "last words · 1.log"
	m.Pinned = []Line{{Stream: "stderr", Text: "fatal: cannot open /etc/app/config.yaml: no such file or directory"}}
	want := []string{"last words · 1.log", "fatal: cannot open", "/etc/app/config.yaml:", "no such file or", "directory"}
	for _, scroll := range []func(){func() {}, m.Top, func() { m.ScrollDown(3) }, m.Bottom} {
		scroll()
		b := body(m)
		for i, w := range want {
			if strings.TrimSpace(b[i]) != w {
				t.Fatalf("row %d = %q, want %q; pane:\n%s", i, b[i], w, strings.Join(b, "\n"))
			}
		}
		if len(b) != 10 || !strings.HasPrefix(strings.TrimSpace(b[5]), "line ") {
			t.Errorf("log rows under the pinned ones: %q", b)
		}
	}
	m.SetSize(25, 5) // 3 rows inside: 2 pinned (the newest), 1 log
	b := body(m)
	if len(b) != 3 || strings.TrimSpace(b[0]) != "no such file or" || strings.TrimSpace(b[1]) != "directory" || strings.TrimSpace(b[2]) != "line 49" {
		t.Errorf("small pane: %q", b)
	}
}
