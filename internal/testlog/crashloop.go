// Package testlog writes kubelet log records of a crash-looping static pod, for the tests and the
// benchmark of the agent's live kubelet log (internal/node livelog.go). The templates are lines the
// kubelet v1.34.4 wrote with --logging-format=json, copied from the captured real node
// (testdata/nodes/broken/var/log/kubelet.log; the same templates as bench/kubeletlog/gen) with
// the pod, UID, container ID and timestamp replaced.
package testlog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	tCrashLoop = `"caller":"kubelet/pod_workers.go:1324","msg":"Error syncing pod, skipping","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","err":"failed to \"StartContainer\" for \"{CTR}\" with CrashLoopBackOff: \"back-off {BACKOFF} restarting failed container={CTR} pod={POD}_{NS}({UID})\"","errCauses":[{"error":"failed to \"StartContainer\" for \"{CTR}\" with CrashLoopBackOff: \"back-off {BACKOFF} restarting failed container={CTR} pod={POD}_{NS}({UID})\""}]}`
	tPLEGDied  = `"caller":"kubelet/kubelet.go:2546","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"{POD}","namespace":"{NS}"},"event":{"ID":"{UID}","Type":"ContainerDied","Data":"{CID}"}}`
	tFinished  = `"caller":"pleg/generic.go:356","msg":"Generic (PLEG): container finished","v":2,"podID":"{UID}","containerID":"{CID}","exitCode":3}`
	tStarted   = `"caller":"kubelet/kubelet.go:2546","msg":"SyncLoop (PLEG): event for pod","v":2,"pod":{"name":"{POD}","namespace":"{NS}"},"event":{"ID":"{UID}","Type":"ContainerStarted","Data":"{CID}"}}`
	tProbe     = `"caller":"prober/prober.go:120","msg":"Probe failed","v":1,"probeType":"Liveness","pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","containerName":"{CTR}","probeResult":"failure","output":"cat: can't open '/tmp/healthy': No such file or directory\n"}`
	tKill      = `"caller":"kuberuntime/kuberuntime_container.go:866","msg":"Killing container with a grace period","v":2,"pod":{"name":"{POD}","namespace":"{NS}"},"podUID":"{UID}","containerName":"{CTR}","containerID":"containerd://{CID}","gracePeriod":2}`
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
