// The accumulators of the analysis: one findingBuilder per finding, a findingSet per pod, file
// and the node, and podState/fileState for what a pod or file has gathered.

package diagnose

import (
	"time"

	"github.com/spdoc/spdoc/internal/kernlog"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/podview"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// findingBuilder builds one finding: classified records plus facts from the scan, the runtime and pod logs.
type findingBuilder struct {
	f     Finding
	recs  []*kubeletlog.Record
	pre   []Evidence // manifest and runtime facts, shown before the log lines
	post  []Evidence // container log lines of the failed instance, shown after
	first time.Time  // first record TS
	last  time.Time  // last record TS
	// restarts is the container's restart count when only the pod log files know it (--root).
	restarts int
	// kernel holds the kernel log events of a Kernel* finding (kinds_kernel.go).
	kernel []kernlog.Event
	// explainedBy is the cause rule that folded this finding (nil: none).
	explainedBy *causeRule
	// variant tells describe which of a kind's situations this is (KubeletNotRunning: "stale"
	// when only an old log suggests it); never part of the finding's identity.
	variant string
}

func (b *findingBuilder) add(r *kubeletlog.Record) {
	b.recs = append(b.recs, r)
	if b.first.IsZero() || r.TS.Before(b.first) {
		b.first = r.TS
	}
	if r.TS.After(b.last) {
		b.last = r.TS
	}
}

// findingSet is an ordered set of finding builders keyed by kind, container and subject.
type findingSet struct {
	list  []*findingBuilder
	byKey map[string]*findingBuilder
}

// get returns the builder for kind and container, creating it with the kind's default severity.
func (fs *findingSet) get(kind Kind, container string) *findingBuilder {
	return fs.getSeverity(kind, container, defaultSeverity(kind))
}

// getSeverity is get with a severity other than the default; an existing finding keeps the more
// severe of the two.
func (fs *findingSet) getSeverity(kind Kind, container string, sev Severity) *findingBuilder {
	return fs.getAbout(kind, About{Container: container}, sev)
}

// getAbout returns the builder for kind about a (container or subject; the set's owner gives the
// pod or file), creating it with severity sev.
func (fs *findingSet) getAbout(kind Kind, a About, sev Severity) *findingBuilder {
	if fs.byKey == nil {
		fs.byKey = map[string]*findingBuilder{}
	}
	key := setKey(kind, a)
	if b := fs.byKey[key]; b != nil {
		if sevRank(sev) < sevRank(b.f.Severity) {
			b.f.Severity = sev
		}
		return b
	}
	b := &findingBuilder{f: Finding{Kind: kind, Severity: sev, Container: a.Container, Subject: a.Subject}}
	fs.byKey[key] = b
	fs.list = append(fs.list, b)
	return b
}

// remove drops a builder from the set.
func (fs *findingSet) remove(b *findingBuilder) {
	for i, x := range fs.list {
		if x == b {
			fs.list = append(fs.list[:i], fs.list[i+1:]...)
			break
		}
	}
	for k, x := range fs.byKey {
		if x == b {
			delete(fs.byKey, k)
		}
	}
}

func setKey(kind Kind, a About) string {
	return string(kind) + "\x00" + a.Container + "\x00" + a.Subject
}

func (fs *findingSet) find(kind Kind) *findingBuilder {
	for _, b := range fs.list {
		if b.f.Kind == kind {
			return b
		}
	}
	return nil
}

// podState is what the analysis gathered about one static pod.
type podState struct {
	e           *podEntry
	fs          findingSet
	lastStarted time.Time // last container start seen in the kubelet log
	lastExit    *int32    // exit code of the last "container finished" record
	// mirrorSynced is the newest record showing the kubelet got through to the API server about
	// the pod's mirror pod (mirrorSynced in rules.go): a creation attempt or the mirror pod itself.
	mirrorSynced time.Time
	// view is the pod as the runtime shows it: current sandbox, current and previous instances.
	view        podview.Pod
	hostNetwork bool
	valid       bool
	// networkBlocked: the pod needs the node's pod network, which is down (pinNetwork).
	networkBlocked bool
	rep            PodReport
}

// currentInvalid is the pod's ManifestInvalid finding unless it is history.
func (p *podState) currentInvalid() *findingBuilder {
	if inv := p.fs.find(KindManifestInvalid); inv != nil && !inv.f.History {
		return inv
	}
	return nil
}

// fileState is what the analysis gathered about one manifest dir entry.
type fileState struct {
	path string
	file *staticpod.File
	fs   findingSet
}
