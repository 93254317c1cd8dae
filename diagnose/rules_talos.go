package diagnose

import (
	"fmt"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podurl"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// The kubelet's URL source (staticPodURL): its pods are static pods like the manifests' ones (the
// "manifest" is the URL; see node.Snapshot.SourceFiles), and the list as a whole has failure
// modes files do not have — one invalid item and the kubelet rejects all of it.

// urlOnly: the kubelet has no manifest dir, only its URL (Talos's disableManifestsDirectory).
func urlOnly(s *node.Snapshot) bool { return s.Manifests == nil && s.StaticPodURL != nil }

// urlEvent is one of the kubelet's URL-source records.
type urlEvent struct {
	rec   *kubeletlog.Record
	event podurl.Event
}

func urlEvents(s *node.Snapshot) []urlEvent {
	if s.KubeletLog == nil {
		return nil
	}
	var out []urlEvent
	for i := range s.KubeletLog.Records {
		r := &s.KubeletLog.Records[i]
		if ev := podurl.Classify(r.Msg); ev != podurl.EventNone {
			out = append(out, urlEvent{rec: r, event: ev})
		}
	}
	return out
}

// urlSourceRules (the "static-pod-url" check) explains the URL source from the fetch (done the
// kubelet's way), the kubelet's verdict on the list and its log lines. The record rows have
// already put the failure records on the two kinds' builders; this decides what they mean and
// writes the evidence in order, the misleading success marked.
func (a *analyzer) urlSourceRules() {
	if rt := a.s.Runtime; rt != nil && rt.Endpoint == node.TalosStatusEndpoint {
		// A talosctl bundle: the container states are Talos's copy of the kubelet's /pods.
		for _, pod := range a.pods {
			if len(pod.view.Containers) > 0 && pod.rep.StatusSource == "" {
				pod.rep.StatusSource = "Talos StaticPodStatus (the kubelet's /pods, as the bundle kept it)"
			}
		}
	}
	st := a.s.StaticPodURL
	events := urlEvents(a.s)
	rejected := a.node.find(KindStaticPodListRejected)
	unreachable := a.node.find(KindStaticPodURLUnreachable)
	if st == nil {
		// No list to judge (not configured, or a copied node without its capture): the records
		// the rows claimed stand on their own.
		for _, b := range []*findingBuilder{rejected, unreachable} {
			if b != nil {
				b.pre, b.recs = urlEvidence(events, nil, a.opts.MaxEvidence), nil
			}
		}
		return
	}
	where := st.URL
	if st.Captured != "" {
		where += " (as captured in " + st.Captured + ")"
	}
	switch {
	case st.Error != "":
		b := a.node.get(KindStaticPodURLUnreachable, "")
		b.f.History, b.f.Severity = false, SeverityError
		b.pre = append([]Evidence{{Source: "static-pod-url:" + where, TS: st.Fetched, Line: st.Error, Count: 1}}, urlEvidence(events, st, a.opts.MaxEvidence)...)
		b.recs = nil
		if rejected != nil { // an old rejection: history behind the outage
			rejected.f.History, rejected.f.Severity = true, SeverityInfo
			rejected.pre, rejected.recs = urlEvidence(events, st, a.opts.MaxEvidence), nil
		}
		return
	case unreachable != nil:
		unreachable.f.History, unreachable.f.Severity = true, SeverityInfo
		unreachable.pre, unreachable.recs = urlEvidence(events, st, a.opts.MaxEvidence), nil
	}
	switch {
	case st.Rejected():
		b := a.node.get(KindStaticPodListRejected, "")
		b.f.History, b.f.Severity, b.f.File = false, SeverityError, st.URL
		line := st.List.KubeletError
		if p := st.List.BlockingPod(); p != nil {
			b.f.Pod = p.ID
			line = fmt.Sprintf("item %d (%s/%s): %s", p.Index, p.Namespace, p.Name, st.List.KubeletError)
		}
		b.pre = append([]Evidence{{Source: "static-pod-url:" + where, TS: st.Fetched, Line: line, Count: 1}}, urlEvidence(events, st, a.opts.MaxEvidence)...)
		b.recs = nil
	case rejected != nil:
		rejected.f.History, rejected.f.Severity, rejected.f.File = true, SeverityInfo, st.URL
		rejected.pre, rejected.recs = urlEvidence(events, st, a.opts.MaxEvidence), nil
	}
}

// urlEvidence renders the URL-source records in order, a success right after a rejected body
// marked for what it is and a failure named by the item it matches. Repeats collapse; a long
// history keeps its first and last lines.
func urlEvidence(events []urlEvent, st *podurl.State, maxEvidence int) []Evidence {
	var out []Evidence
	lastRejected := false
	for _, e := range events {
		r := e.rec
		var line string
		switch e.event {
		case podurl.EventFailed, podurl.EventDropping:
			line = r.Msg + ": " + r.Err
			lastRejected = podurl.BodyRejected(r.Err)
			if who := urlItemFor(st, r.Err); lastRejected && who != "" {
				line += " — item " + who
			}
			if e.event == podurl.EventDropping {
				line += " — later failures are logged only at -v=4: the log goes quiet while the problem stays"
			}
		case podurl.EventSucceeded:
			line = r.Msg
			if lastRejected {
				line += " — misleading: the kubelet read the same rejected body again and skipped it; nothing was applied"
			}
			lastRejected = false
		default:
			continue // configured / watching: context, not evidence
		}
		if n := len(out); n > 0 && out[n-1].Line == line {
			out[n-1].Count++
			out[n-1].Last = r.TS
			continue
		}
		out = append(out, Evidence{Source: recordSource(r), TS: r.TS, Line: line, Count: 1})
	}
	if max := 2 * maxEvidence; max > 1 && len(out) > max {
		out = append(out[:max/2:max/2], out[len(out)-max/2:]...)
	}
	return out
}

// urlItemFor names the current item whose kubelet error is err ("1 (kube-system/bad)"), "" if none.
func urlItemFor(st *podurl.State, err string) string {
	for _, p := range st.Pods() {
		if p != nil && !p.Valid() && staticpod.KubeletMessage(p.Issues) == err {
			return fmt.Sprintf("%d (%s/%s)", p.Index, p.Namespace, p.Name)
		}
	}
	return ""
}
