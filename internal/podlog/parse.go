package podlog

import (
	"bytes"
	"fmt"
	"time"
)

// Streams of a CRI log line.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// MaxLineBytes caps one logical line (P parts joined). The kubelet splits container output at
// 16 KiB, so only a container writing megabytes without a newline reaches it; the rest is dropped.
const MaxLineBytes = 1 << 20

// ParseLine parses one CRI log line "<RFC3339Nano> <stdout|stderr> <P|F> <msg>" (trailing newline
// optional). partial reports a P (partial) line whose message continues on the next line of the
// same stream. Tags may carry more ':'-separated flags after P/F, as the CRI format allows.
func ParseLine(b []byte) (line Line, partial bool, err error) {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if bytes.IndexByte(b, '\n') >= 0 {
		return Line{}, false, fmt.Errorf("not one CRI log line: embedded newline in %q", clip(b))
	}
	ts, rest, ok := bytes.Cut(b, []byte{' '})
	if !ok {
		return Line{}, false, fmt.Errorf("not a CRI log line: no space after the timestamp in %q", clip(b))
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return Line{}, false, fmt.Errorf("timestamp %q: not RFC3339Nano", clip(ts))
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return Line{}, false, fmt.Errorf("not a CRI log line: no tag after stream %q", clip(stream))
	}
	var streamName string
	switch string(stream) {
	case Stdout:
		streamName = Stdout
	case Stderr:
		streamName = Stderr
	default:
		return Line{}, false, fmt.Errorf("stream %q: want stdout or stderr", clip(stream))
	}
	// The message may be empty, and then the kubelet still writes the separating space; accept
	// a line ending right after the tag too.
	tags, msg, _ := bytes.Cut(rest, []byte{' '})
	first, _, _ := bytes.Cut(tags, []byte{':'})
	switch string(first) {
	case "P":
		partial = true
	case "F":
	default:
		return Line{}, false, fmt.Errorf("tag %q: want P or F", clip(tags))
	}
	return Line{TS: t, Stream: streamName, Msg: string(msg)}, partial, nil
}

func clip(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// joiner joins P parts until the F line of the same stream. Streams are joined independently
// because stdout and stderr lines interleave in one file.
type joiner struct {
	pending map[string]*Line
}

// add feeds one parsed line and returns the completed logical line, if any.
func (j *joiner) add(l Line, partial bool) (Line, bool) {
	p := j.pending[l.Stream]
	if p != nil {
		if room := MaxLineBytes - len(p.Msg); room > 0 {
			if len(l.Msg) > room {
				l.Msg = l.Msg[:room]
			}
			p.Msg += l.Msg
		}
		if partial {
			return Line{}, false
		}
		delete(j.pending, l.Stream)
		return *p, true
	}
	if partial {
		if j.pending == nil {
			j.pending = map[string]*Line{}
		}
		if len(l.Msg) > MaxLineBytes {
			l.Msg = l.Msg[:MaxLineBytes]
		}
		j.pending[l.Stream] = &l
		return Line{}, false
	}
	return l, true
}

// flush returns the lines still waiting for their F part, oldest first.
func (j *joiner) flush() []Line {
	var out []Line
	for _, s := range []string{Stdout, Stderr} {
		if p := j.pending[s]; p != nil {
			out = append(out, *p)
		}
	}
	if len(out) == 2 && out[1].TS.Before(out[0].TS) {
		out[0], out[1] = out[1], out[0]
	}
	j.pending = nil
	return out
}
