package podlog

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	ts := time.Date(2026, 11, 24, 21, 55, 4, 100165123, time.UTC)
	tests := []struct {
		name    string
		in      string
		want    Line
		partial bool
		wantErr string
	}{
		{"full", "2026-11-24T21:55:04.100165123Z stdout F hello world\n", Line{ts, Stdout, "hello world"}, false, ""},
		{"partial", "2026-11-24T21:55:04.100165123Z stderr P part", Line{ts, Stderr, "part"}, true, ""},
		{"empty message", "2026-11-24T21:55:04.100165123Z stdout F \n", Line{ts, Stdout, ""}, false, ""},
		{"no space after tag", "2026-11-24T21:55:04.100165123Z stdout F", Line{ts, Stdout, ""}, false, ""},
		{"spaces kept", "2026-11-24T21:55:04.100165123Z stdout F  a  b ", Line{ts, Stdout, " a  b "}, false, ""},
		{"extra tags", "2026-11-24T21:55:04.100165123Z stdout P:x msg", Line{ts, Stdout, "msg"}, true, ""},
		{"offset zone", "2026-11-24T22:55:04.100165123+01:00 stdout F x", Line{ts.In(time.FixedZone("", 3600)), Stdout, "x"}, false, ""},
		{"crlf", "2026-11-24T21:55:04.100165123Z stdout F x\r\n", Line{ts, Stdout, "x"}, false, ""},
		{"bad time", "yesterday stdout F x", Line{}, false, `timestamp "yesterday"`},
		{"bad stream", "2026-11-24T21:55:04Z stdin F x", Line{}, false, `stream "stdin"`},
		{"bad tag", "2026-11-24T21:55:04Z stdout X x", Line{}, false, `tag "X"`},
		{"no tag", "2026-11-24T21:55:04Z stdout", Line{}, false, "no tag"},
		{"empty", "", Line{}, false, "not a CRI log line"},
		{"plain text", "hello\n", Line{}, false, "not a CRI log line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, partial, err := ParseLine([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.TS.Equal(tt.want.TS) || got.Stream != tt.want.Stream || got.Msg != tt.want.Msg || partial != tt.partial {
				t.Errorf("got %+v partial=%v, want %+v partial=%v", got, partial, tt.want, tt.partial)
			}
		})
	}
}

func TestReaderJoinsPartials(t *testing.T) {
	in := strings.Join([]string{
		"2026-11-24T21:00:00.000000001Z stdout P hel",
		"2026-11-24T21:00:00.000000002Z stderr F err one",
		"2026-11-24T21:00:00.000000003Z stdout P lo ",
		"garbage line",
		"2026-11-24T21:00:00.000000004Z stdout F world",
		"2026-11-24T21:00:00.000000005Z stderr P unfinished",
		"",
	}, "\n")
	r := NewReader(strings.NewReader(in))
	var got []string
	for {
		l, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, l.Stream+":"+l.Msg+"@"+l.TS.Format("05.000000000"))
	}
	want := []string{
		"stderr:err one@00.000000002",
		"stdout:hello world@00.000000001", // a joined line keeps the time of its first part
		"stderr:unfinished@00.000000005",  // pending at EOF: returned as is
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if r.Skipped() != 1 || r.FirstError() == nil || !strings.Contains(r.FirstError().Error(), "line 4") {
		t.Errorf("skipped=%d firstErr=%v, want 1 and line 4", r.Skipped(), r.FirstError())
	}
}

func TestReaderCapsHugeLines(t *testing.T) {
	var b strings.Builder
	chunk := strings.Repeat("x", 16<<10)
	n := MaxLineBytes/len(chunk) + 10
	for i := 0; i < n; i++ {
		b.WriteString("2026-11-24T21:00:00Z stdout P " + chunk + "\n")
	}
	b.WriteString("2026-11-24T21:00:00Z stdout F end\n")
	b.WriteString("2026-11-24T21:00:00Z stdout F " + strings.Repeat("y", 3*maxRawLine) + "\n")
	b.WriteString("2026-11-24T21:00:01Z stdout F after\n")
	r := NewReader(strings.NewReader(b.String()))
	var got []Line
	for {
		l, err := r.Next()
		if err != nil {
			break
		}
		got = append(got, l)
	}
	if len(got) != 3 {
		t.Fatalf("got %d lines, want 3", len(got))
	}
	if len(got[0].Msg) != MaxLineBytes {
		t.Errorf("joined line is %d bytes, want capped at %d", len(got[0].Msg), MaxLineBytes)
	}
	if len(got[1].Msg) >= maxRawLine {
		t.Errorf("over-long physical line kept %d bytes", len(got[1].Msg))
	}
	if got[2].Msg != "after" {
		t.Errorf("line after the long one = %q, want %q", got[2].Msg, "after")
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"2026-11-24T21:55:04.100165123Z stdout F hello\n",
		"2026-11-24T21:55:04Z stderr P x",
		"2026-11-24T21:55:04Z stdout F",
		"x y z w",
		"",
		"\xff\xfe stdout F \x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, partial, err := ParseLine(b)
		if err != nil {
			if l != (Line{}) || partial {
				t.Fatalf("error %v with a non-zero result %+v partial=%v", err, l, partial)
			}
			return
		}
		if l.Stream != Stdout && l.Stream != Stderr {
			t.Fatalf("stream %q accepted", l.Stream)
		}
		if len(l.Msg) > len(b) {
			t.Fatalf("message longer than the input")
		}
		// The reader must agree with ParseLine on a single full line.
		if !partial {
			got, err := NewReader(strings.NewReader(string(b))).Next()
			if err != nil || got.Msg != l.Msg {
				t.Fatalf("Reader got %q, %v; ParseLine %q", got.Msg, err, l.Msg)
			}
		}
	})
}
