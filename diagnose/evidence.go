package diagnose

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// evidenceKeys are the record keys worth showing beside msg and err, in this order.
var evidenceKeys = []string{"probeType", "probeResult", "output", "image", "pods", "exitCode", "containerMessage", "networkReady"}

// evidenceLine renders a record as one readable line: msg, then err, then the few keys that explain it.
func evidenceLine(r *kubeletlog.Record) string {
	var b strings.Builder
	msg := r.Msg
	if strings.HasPrefix(msg, "Operation for ") {
		// the volume manager's retry line: the operation key and retry times only hide the error
		if _, after, ok := strings.Cut(msg, ". Error: "); ok {
			msg = "volume operation failed: " + after
		}
	}
	b.WriteString(msg)
	if r.Err != "" {
		b.WriteString(": ")
		b.WriteString(r.Err)
	}
	if r.Path != "" && !strings.Contains(r.Err, r.Path) {
		fmt.Fprintf(&b, " path=%s", r.Path)
	}
	for _, k := range evidenceKeys {
		if v, ok := r.Fields[k]; ok && v != "" {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	if r.Image != "" && r.Fields["image"] == "" {
		fmt.Fprintf(&b, " image=%s", r.Image)
	}
	if b.Len() == 0 {
		return oneLine(r.Raw)
	}
	return oneLine(b.String())
}

// oneLine keeps an evidence entry on one line: trailing newlines of probe output go, inner ones
// become " ⏎ ".
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r\n", " ⏎ ", "\n", " ⏎ ", "\r", " ⏎ ").Replace(s)
	}
	return s
}

func recordSource(r *kubeletlog.Record) string {
	src := r.Source
	if src == "" {
		src = "kubelet-log"
	} else {
		src = "kubelet-log:" + src
	}
	if r.Line > 0 {
		src += fmt.Sprintf(":%d", r.Line)
	}
	return src
}

// collapse turns records into evidence: repeats of the same normalized line become one entry with
// the first TS, the Last TS and a Count; at most max entries are kept, the first ones and the last.
func collapse(recs []*kubeletlog.Record, max int, memo *Memo) (out []Evidence, omitted int) {
	byKey := map[string]int{}
	for _, r := range recs {
		line, key := memo.evidence(r)
		if i, ok := byKey[key]; ok {
			e := &out[i]
			e.Count++
			if r.TS.After(e.Last) {
				e.Last = r.TS
			}
			continue
		}
		byKey[key] = len(out)
		out = append(out, Evidence{Source: recordSource(r), TS: r.TS, Last: r.TS, Line: line, Count: 1})
	}
	for i := range out {
		if out[i].Count == 1 || out[i].Last.Equal(out[i].TS) {
			out[i].Last = time.Time{}
		}
	}
	if max > 1 && len(out) > max {
		omitted = len(out) - max
		last := out[len(out)-1]
		out = append(out[:max-1:max-1], last)
	}
	return out, omitted
}

// lastTS is the latest time of any evidence entry.
func lastTS(ev []Evidence) time.Time {
	var t time.Time
	for _, e := range ev {
		for _, x := range []time.Time{e.TS, e.Last} {
			if x.After(t) {
				t = x
			}
		}
	}
	return t
}

func firstTS(ev []Evidence) time.Time {
	var t time.Time
	for _, e := range ev {
		if !e.TS.IsZero() && (t.IsZero() || e.TS.Before(t)) {
			t = e.TS
		}
	}
	return t
}

// sortFindings puts the root cause first: current before history, unexplained before folded,
// then by severity, then by kind rank (manifest → runtime → sandbox → image → container), then time.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.History != b.History {
			return !a.History
		}
		if (a.Cause == "") != (b.Cause == "") {
			return a.Cause == ""
		}
		if sa, sb := sevRank(a.Severity), sevRank(b.Severity); sa != sb {
			return sa < sb
		}
		if ka, kb := kindRank(a.Kind), kindRank(b.Kind); ka != kb {
			return ka < kb
		}
		if ta, tb := firstTS(a.Evidence), firstTS(b.Evidence); !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return a.Container < b.Container
	})
}

func sevRank(s Severity) int {
	switch s {
	case SeverityError:
		return 0
	case SeverityWarning:
		return 1
	}
	return 2
}
