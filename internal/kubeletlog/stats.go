package kubeletlog

import (
	"strconv"
	"strings"
	"time"
)

// KubeletFacts is what a log says about the kubelet process itself: its version, how often it
// started, systemd's restarts, and its last fatal words.
type KubeletFacts struct {
	// Version is the last version the kubelet announced at start-up ("v1.34.4").
	Version string `json:"version,omitempty"`
	// Starts counts start-up banners ("Kubelet version", 1.20's "Version: v…"); LastStart is the newest.
	Starts    int       `json:"starts,omitempty"`
	LastStart time.Time `json:"lastStart,omitzero"`
	// Exits counts systemd's "Main process exited" for the unit; RestartCounter is the highest
	// "restart counter is at N" it logged.
	Exits          int `json:"exits,omitempty"`
	RestartCounter int `json:"restartCounter,omitempty"`
	// Fatal holds the kubelet's last fatal records (F lines, "command failed", "Failed to run
	// kubelet", "failed to run Kubelet"), newest last, at most MaxFatal.
	Fatal []Record `json:"fatal,omitempty"`
}

// sniffLines is how many lines at the start of a pass are parsed even when the prefilter drops
// them, to tell "a kubelet log with nothing relevant" from "not a kubelet log" (Stats.Sniffed).
const sniffLines = 64

// maxFirstLine caps Stats.FirstLine.
const maxFirstLine = 200

// sniff parses one of the first lines the prefilter dropped, without touching the parser's state.
func (lp *lineProc) sniff(b []byte, off int64) {
	if lp.stats.Lines > sniffLines || off >= 1<<20 { // the start of the source only (not a parallel half)
		return
	}
	p := lp.p
	var r Record
	if p.parseInto(&r, b, 0) {
		lp.stats.Sniffed++
	}
}

// MaxFatal bounds KubeletFacts.Fatal.
const MaxFatal = 5

// maxNodes bounds Stats.Nodes.
const maxNodes = 64

// IsFatal reports whether a record is the kubelet giving up: a klog F line, or the error it
// exits with.
func IsFatal(r *Record) bool {
	if r.Level == "F" {
		return true
	}
	switch r.Msg {
	case "command failed", "Failed to run kubelet", "kubelet.service: Failed with result":
		return true
	}
	return strings.HasPrefix(r.Msg, "failed to run Kubelet") || strings.HasPrefix(r.Msg, "Failed to start ContainerManager")
}

// note updates the statistics with one parsed record (called for every record a scan parses,
// before the Since/Until window, so start-ups and fatal lines are counted across the whole read).
func (s *Stats) note(r *Record, yearSrc string) {
	if r.Shape != "" {
		if s.Shapes == nil {
			s.Shapes = make(map[Shape]int64, 2)
		}
		s.Shapes[r.Shape]++
	}
	if yearSrc != "" && (r.Format == FormatKlog || r.Format == FormatJournal || r.Format == FormatText) {
		s.YearSource = yearSrc
	}
	if r.Damage != "" {
		s.Damaged++
	}
	if r.Node != "" && len(s.Nodes) < maxNodes {
		seen := false
		for _, n := range s.Nodes {
			if n == r.Node {
				seen = true
				break
			}
		}
		if !seen {
			s.Nodes = append(s.Nodes, r.Node)
		}
	}
	k := &s.Kubelet
	if v := KubeletVersionOf(r); v != "" {
		k.Version = v
		k.Starts++
		if r.TS.After(k.LastStart) {
			k.LastStart = r.TS
		}
	}
	switch r.Msg {
	case "kubelet.service: Main process exited":
		k.Exits++
	case "kubelet.service: Scheduled restart job":
		if n, err := strconv.Atoi(r.Fields["restartCounter"]); err == nil && n > k.RestartCounter {
			k.RestartCounter = n
		}
	}
	if IsFatal(r) {
		if len(k.Fatal) == MaxFatal {
			copy(k.Fatal, k.Fatal[1:])
			k.Fatal = k.Fatal[:MaxFatal-1]
		}
		k.Fatal = append(k.Fatal, *r)
	}
}

// addFacts merges the statistics of a later part of the same log (o) into s.
func (s *Stats) addFacts(o Stats) {
	for sh, n := range o.Shapes {
		if s.Shapes == nil {
			s.Shapes = map[Shape]int64{}
		}
		s.Shapes[sh] += n
	}
	if o.YearSource != "" {
		s.YearSource = o.YearSource
	}
	s.Damaged += o.Damaged
	s.Joined += o.Joined
	s.Sniffed += o.Sniffed
	if s.FirstLine == "" {
		s.FirstLine = o.FirstLine
	}
	for _, n := range o.Nodes {
		found := false
		for _, m := range s.Nodes {
			found = found || m == n
		}
		if !found && len(s.Nodes) < maxNodes {
			s.Nodes = append(s.Nodes, n)
		}
	}
	k, ok := &s.Kubelet, o.Kubelet
	if ok.Version != "" {
		k.Version = ok.Version
	}
	k.Starts += ok.Starts
	if ok.LastStart.After(k.LastStart) {
		k.LastStart = ok.LastStart
	}
	k.Exits += ok.Exits
	k.RestartCounter = max(k.RestartCounter, ok.RestartCounter)
	k.Fatal = append(k.Fatal, ok.Fatal...)
	if n := len(k.Fatal); n > MaxFatal {
		k.Fatal = append([]Record(nil), k.Fatal[n-MaxFatal:]...)
	}
}

// Shape returns the shape most records of the pass had ("" when none was parsed).
func (s *Stats) Shape() Shape {
	var best Shape
	var n int64
	for sh, c := range s.Shapes {
		if c > n || (c == n && sh < best) {
			best, n = sh, c
		}
	}
	return best
}

// FactsOf recomputes the kubelet facts from records alone (e.g. one node's records out of a log
// that interleaves several nodes).
func FactsOf(recs []Record) KubeletFacts {
	var s Stats
	for i := range recs {
		s.note(&recs[i], "")
	}
	return s.Kubelet
}
