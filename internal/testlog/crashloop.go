// Package testlog writes kubelet log records of a crash-looping static pod, for the tests and the
// benchmark of the agent's live kubelet log (internal/node livelog.go), from the kubelet v1.34.4
// templates in templates.go (which bench/kubeletlog/gen's dense workload writes too).
package testlog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	tCrashLoop = TemplateCrashLoop
	tPLEGDied  = TemplatePLEGDied
	tFinished  = TemplatePLEGFinished
	tStarted   = TemplatePLEGStarted
	tProbe     = TemplateProbeFailed
	tKill      = TemplateKilling
)

// cycle is one restart of a crash loop: the container dies, back-offs are logged while it waits,
// a probe fails on the next instance and it is killed.
var cycle = []string{tFinished, tPLEGDied, tCrashLoop, tCrashLoop, tCrashLoop, tCrashLoop, tStarted, tProbe, tProbe, tKill}

// Pod is a crash-looping static pod as the kubelet names it.
type Pod struct {
	Name, Namespace, UID, Container string
}

// Line is the i-th record of p's crash loop at ts (a JSON kubelet line without newline). The
// back-off doubles every cycle up to the kubelet's 5m, and each cycle has a new container ID:
// the records repeat as a real crash loop's do, apart from those.
func (p Pod) Line(i int, ts time.Time) string {
	c := i / len(cycle)
	backoff := 10 * time.Second << min(c, 5)
	if backoff > 5*time.Minute {
		backoff = 5 * time.Minute
	}
	cid := fmt.Sprintf("%064x", uint64(c)*0x9e3779b97f4a7c15+uint64(len(p.UID)))
	r := strings.NewReplacer("{POD}", p.Name, "{NS}", p.Namespace, "{UID}", p.UID, "{CTR}", p.Container,
		"{CID}", cid, "{BACKOFF}", shortDuration(backoff))
	ms := float64(ts.UnixNano()) / 1e6
	return `{"ts":` + strconv.FormatFloat(ms, 'f', 3, 64) + "," + r.Replace(cycle[i%len(cycle)])
}

// Distinct is a record no other call returns (a probe failure with output n): the adversarial
// stream of all-distinct records.
func (p Pod) Distinct(n int, ts time.Time) string {
	ms := float64(ts.UnixNano()) / 1e6
	r := strings.NewReplacer("{POD}", p.Name, "{NS}", p.Namespace, "{UID}", p.UID, "{CTR}", p.Container)
	line := r.Replace(tProbe)
	line = strings.Replace(line, `/tmp/healthy`, fmt.Sprintf("/tmp/healthy-%d", n), 1)
	return `{"ts":` + strconv.FormatFloat(ms, 'f', 3, 64) + "," + line
}

// shortDuration prints a back-off as the kubelet does (10s, 1m20s, 5m0s).
func shortDuration(d time.Duration) string { return d.String() }
