package diagnose

import (
	"fmt"
	"strings"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podurl"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// The kubelet's URL source (staticPodURL; every static pod of a Talos node since 1.3): its pods
// are static pods like the manifests' ones (the "manifest" is the URL), and the list as a whole
// has a failure mode files do not have — one invalid item and the kubelet rejects all of it,
// so every other pod stays at the version it last accepted.

// sourceFiles are the static pod sources of a snapshot: the manifest files, then the URL's list.
func sourceFiles(s *node.Snapshot) []*staticpod.File { return s.SourceFiles() }

// urlOnly: the kubelet has no manifest dir, only its URL (Talos's disableManifestsDirectory).
func urlOnly(s *node.Snapshot) bool { return s.Manifests == nil && s.StaticPodURL != nil }

// urlEvent collects the kubelet's URL-source records (they are not classified like pod records).
type urlEvent struct {
	rec   *kubeletlog.Record
	event podurl.Event
}

// urlRecord takes the kubelet's URL-source records out of the normal classification.
func (a *analyzer) urlRecord(r *kubeletlog.Record) bool {
	ev := podurl.Classify(r.Msg)
	if ev == podurl.EventNone {
		return false
	}
	a.urlEvents = append(a.urlEvents, urlEvent{rec: r, event: ev})
	return true
}

// urlSourceRules explains the URL source: the fetch (as the kubelet would do it), the kubelet's
// verdict on the list, and its log lines, misleading success included.
func (a *analyzer) urlSourceRules() {
	st := a.s.StaticPodURL
	failures := a.urlFailures()
	if st == nil {
		// No URL known (not configured, or a copied node without the capture): the log alone.
		if len(failures) > 0 {
			b := a.node.get(KindStaticPodListRejected, "", SeverityWarning)
			b.f.Detail = "log-only"
			b.pre = append(b.pre, a.urlEvidence(nil)...)
		}
		return
	}
	where := st.URL
	if st.Captured != "" {
		where += " (as captured in " + st.Captured + ")"
	}
	switch {
	case st.Error != "":
		b := a.node.get(KindSourceError, "static-pod-url", SeverityError)
		b.f.Detail = "static-pod-url"
		b.pre = append(b.pre, Evidence{Source: "static-pod-url:" + st.URL, TS: st.Fetched, Line: st.Error, Count: 1})
		b.pre = append(b.pre, a.urlEvidence(nil)...)
	case st.Rejected():
		b := a.node.get(KindStaticPodListRejected, "", SeverityError)
		b.f.File = st.URL
		blocking := st.List.BlockingPod()
		line := st.List.KubeletError
		if blocking != nil {
			b.f.Pod = blocking.ID
			line = fmt.Sprintf("item %d (%s/%s): %s", blocking.Index, blocking.Namespace, blocking.Name, st.List.KubeletError)
		}
		b.pre = append(b.pre, Evidence{Source: "static-pod-url:" + where, TS: st.Fetched, Line: line, Count: 1})
		b.pre = append(b.pre, a.urlEvidence(st)...)
	case len(failures) > 0:
		// The list is accepted now; the log shows it was rejected before.
		b := a.node.get(KindStaticPodListRejected, "", SeverityInfo)
		b.f.History = true
		b.f.File = st.URL
		b.pre = append(b.pre, a.urlEvidence(st)...)
	}
}

// urlFailures are the records of a rejected body.
func (a *analyzer) urlFailures() []urlEvent {
	var out []urlEvent
	for _, e := range a.urlEvents {
		if (e.event == podurl.EventFailed || e.event == podurl.EventDropping) && podurl.BodyRejected(e.rec.Err) {
			out = append(out, e)
		}
	}
	return out
}

// urlEvidence renders the URL-source records in order; a success right after a rejected body
// is marked for what it is. Repeats collapse.
func (a *analyzer) urlEvidence(st *podurl.State) []Evidence {
	var out []Evidence
	lastRejected := false
	for _, e := range a.urlEvents {
		r := e.rec
		var line string
		switch e.event {
		case podurl.EventFailed, podurl.EventDropping:
			line = r.Msg + ": " + r.Err
			if podurl.BodyRejected(r.Err) {
				lastRejected = true
				if who := urlItemFor(st, r.Err); who != "" {
					line += " — item " + who
				}
			} else {
				lastRejected = false
			}
			if e.event == podurl.EventDropping {
				line += " — the kubelet logs further failures only at -v=4: the log goes quiet while it persists"
			}
		case podurl.EventSucceeded:
			if lastRejected {
				line = r.Msg + " — misleading: the kubelet read the same rejected body again and skipped it; nothing was applied"
			} else {
				line = r.Msg
			}
			lastRejected = false
		default:
			continue // configured/watching: context, not evidence
		}
		src := recordSource(r)
		if n := len(out); n > 0 && out[n-1].Line == line {
			out[n-1].Count++
			out[n-1].Last = r.TS
			continue
		}
		out = append(out, Evidence{Source: src, TS: r.TS, Line: line, Count: 1})
	}
	if max := 2 * a.opts.MaxEvidence; len(out) > max {
		out = append(out[:max/2:max/2], out[len(out)-max/2:]...)
	}
	return out
}

// urlItemFor names the current item whose kubelet error is err ("1 (kube-system/bad)"), "" if none.
func urlItemFor(st *podurl.State, err string) string {
	if st == nil || st.List == nil {
		return ""
	}
	for _, p := range st.Pods() {
		if p != nil && !p.Valid() && staticpod.KubeletMessage(p.Issues) == err {
			return fmt.Sprintf("%d (%s/%s)", p.Index, p.Namespace, p.Name)
		}
	}
	return ""
}

// describeTalos writes the texts of the URL-source findings; false for other kinds.
func describeTalos(f *Finding, b *fb, tc textCtx) bool {
	switch {
	case f.Kind == KindStaticPodListRejected:
		st := tc.url
		freq := podurl.DefaultCheckFrequency
		if st != nil && st.CheckFrequency > 0 {
			freq = st.CheckFrequency
		}
		if f.Detail == "log-only" {
			f.Title = "the kubelet rejected the static pod list of its staticPodURL (from its log)"
			f.Detail = "The kubelet's URL source rejects the whole list when one item is invalid, and then keeps every pod of the list at the version it last accepted. spdoc could not fetch the list itself, so it cannot name the item."
			f.Hint = "fetch the URL (the kubelet config's staticPodURL) and check it: spdoc validate; on Talos: talosctl get staticpods -o yaml"
			return true
		}
		if f.History {
			f.Title = "the kubelet rejected the static pod list before; the list it is served now is accepted"
			f.Detail = "While the list was rejected, every pod of it stayed at its last accepted version. The current list passes the kubelet's checks."
			f.Hint = "nothing to do now; to keep a bad pod from freezing the others again, serve the list with spdoc agent --serve-url"
			return true
		}
		if st == nil || st.List == nil {
			return false
		}
		blocking := st.List.BlockingPod()
		var others []string
		for _, p := range st.Pods() {
			if p != nil && (blocking == nil || p.Index != blocking.Index) {
				others = append(others, p.Namespace+"/"+p.Name)
			}
		}
		item := "the list"
		if blocking != nil {
			item = fmt.Sprintf("item %d (%s/%s)", blocking.Index, blocking.Namespace, blocking.Name)
		}
		f.Title = fmt.Sprintf("the kubelet rejects the whole static pod list from %s: %s is invalid", st.URL, item)
		frozen := "every pod of the list"
		if len(others) > 0 {
			frozen = fmt.Sprintf("the other %s (%s)", plural(len(others), "pod", "pods"), strings.Join(others, ", "))
		}
		f.Detail = fmt.Sprintf("The kubelet's URL source decodes the list and stops at the first invalid item; its error (%q) names no item. Nothing of the list is applied, so %s stay at the version the kubelet last accepted: changes are not applied, new pods do not start, removed ones keep running. It polls every %s but logs the failure at default verbosity only for the first 3 consecutive failures; and since it stores the body before decoding it, the next poll of the same bytes logs \"Successfully read pods from URL\" although nothing was applied.",
			st.List.KubeletError, frozen, freq)
		if blocking != nil {
			f.Hint = fmt.Sprintf("fix or remove %s/%s in what serves %s (on Talos: machine.pods in the machine config; check with spdoc validate); with spdoc agent --serve-url a bad pod is held back and never blocks the others", blocking.Namespace, blocking.Name, st.URL)
		} else {
			f.Hint = "make the URL serve a v1 Pod or PodList (spdoc validate checks it)"
		}
		return true
	case f.Kind == KindSourceError && f.Detail == "static-pod-url":
		st := tc.url
		f.Title = "the kubelet's staticPodURL cannot be read: " + ellipsis(firstPre(b), 120)
		f.Container = ""
		f.Detail = "spdoc fetched the URL as the kubelet does (10 s timeout, 10 MiB cap, 200 OK only) and it failed. The kubelet then keeps the pods of the last list it read; it logs \"Failed to read pods from URL\" at default verbosity only 3 times in a row."
		url := "the URL"
		if st != nil {
			url = st.URL
		}
		f.Hint = "check what serves " + url + " (on Talos: the machined static pod server; talosctl logs kubelet)"
		return true
	}
	return false
}

func firstPre(b *fb) string {
	if len(b.pre) > 0 {
		return b.pre[0].Line
	}
	return firstErr(b)
}

// urlPodText rewrites the texts of a finding about a pod of the URL list where the file-based
// wording would mislead: an invalid item does not just stop its own pod, it blocks the list.
func urlPodText(f *Finding, tc textCtx) {
	if tc.url == nil || tc.file == "" || tc.file != tc.url.URL {
		return
	}
	switch f.Kind {
	case KindManifestInvalid:
		f.Title = "pod of the kubelet's URL list is invalid: " + strings.TrimPrefix(f.Title, "manifest rejected by the kubelet: ")
		f.Detail = "The kubelet reads this pod from its staticPodURL (" + tc.url.URL + ") as one item of a list, and validates each item: an invalid item makes it reject the whole list (see StaticPodListRejected), not just this pod."
		f.Hint = "fix this pod where the list is served from (on Talos: machine.pods of the machine config)"
	}
}
