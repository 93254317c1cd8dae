package diagnose

import (
	"fmt"
	"strings"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/podurl"
)

// The kinds of the kubelet's URL source (staticPodURL; every static pod of a Talos node since
// 1.3). Their rule is the "static-pod-url" check (rules_talos.go); the kubelet's own records of
// the source are claimed by the record rows below so no other row reads them.
const (
	// KindStaticPodListRejected: the kubelet rejects the whole PodList of its URL because one item
	// is invalid; every other pod of the list stays at the version it last accepted. Names the item.
	KindStaticPodListRejected Kind = "StaticPodListRejected"
	// KindStaticPodURLUnreachable: the URL cannot be read (refused, timeout, not 200, too large,
	// empty); the kubelet keeps the pods of the last list it read.
	KindStaticPodURLUnreachable Kind = "StaticPodURLUnreachable"
)

func init() {
	registerKinds(
		kindSpec{Kind: KindStaticPodURLUnreachable, Rank: 17, Severity: SeverityError, Describe: describeStaticPodURLUnreachable},
		kindSpec{Kind: KindStaticPodListRejected, Rank: 43, Severity: SeverityError, Describe: describeStaticPodListRejected},
	)
	registerRecordRules(
		recordRule{priority: 40, kind: KindStaticPodListRejected, scope: scopeNode, match: func(r *kubeletlog.Record, _ string) bool {
			ev := podurl.Classify(r.Msg)
			return (ev == podurl.EventFailed || ev == podurl.EventDropping) && podurl.BodyRejected(r.Err)
		}},
		recordRule{priority: 41, kind: KindStaticPodURLUnreachable, scope: scopeNode, match: func(r *kubeletlog.Record, _ string) bool {
			ev := podurl.Classify(r.Msg)
			return ev == podurl.EventFailed || ev == podurl.EventDropping
		}},
	)
	registerChecks(check{Name: "static-pod-url", Run: (*analyzer).urlSourceRules})
	// A pod of the URL list is not a manifest file: an invalid one blocks the whole list. The
	// core ManifestInvalid entry words it for files; this wraps it for URL pods only.
	if s := catalogue[KindManifestInvalid]; s != nil && s.Describe != nil {
		fileDescribe := s.Describe
		s.Describe = func(f *Finding, b *findingBuilder, tc textCtx) {
			fileDescribe(f, b, tc)
			urlPodText(f, tc)
		}
	}
}

func describeStaticPodListRejected(f *Finding, b *findingBuilder, tc textCtx) {
	st := tc.url
	freq := podurl.DefaultCheckFrequency
	if st != nil && st.CheckFrequency > 0 {
		freq = st.CheckFrequency
	}
	quirks := fmt.Sprintf("It polls every %s but logs a failure at default verbosity only for the first 3 consecutive ones; and since it stores the body before decoding it, its next poll of the same bytes logs \"Successfully read pods from URL\" although nothing was applied.", freq)
	switch {
	case f.History:
		f.Title = "the kubelet rejected its static pod list before; the list served now is accepted"
		f.Detail = "While the list was rejected, every pod of it stayed at the version the kubelet last accepted. The list served now passes the kubelet's checks. " + quirks
		f.Hint = "nothing to do now; to keep one bad pod from freezing the others again, serve the list with spdoc agent --serve-url"
		return
	case st == nil || st.List == nil:
		f.Title = "the kubelet rejected the static pod list of its staticPodURL: " + ellipsis(firstErr(b), 100)
		f.Detail = "The kubelet's URL source rejects the whole list when one item is invalid and keeps every pod of it at the version it last accepted; its error names no item, and spdoc could not read the list to name it. " + quirks
		f.Hint = "check the list with spdoc validate --pod-list <the kubelet config's staticPodURL> (on Talos: talosctl get staticpods -o yaml)"
		return
	}
	blocking := st.List.BlockingPod()
	var others []string
	for _, p := range st.Pods() {
		if p != nil && (blocking == nil || p.Index != blocking.Index) {
			others = append(others, p.Namespace+"/"+p.Name)
		}
	}
	item := "the list does not decode"
	if blocking != nil {
		item = fmt.Sprintf("item %d (%s/%s) is invalid", blocking.Index, blocking.Namespace, blocking.Name)
	}
	f.Title = fmt.Sprintf("the kubelet rejects the whole static pod list from %s: %s", st.URL, item)
	frozen := "every pod it ran from the list"
	if len(others) > 0 {
		frozen = fmt.Sprintf("the other %s (%s)", plural(len(others), "pod", "pods"), strings.Join(others, ", "))
	}
	f.Detail = fmt.Sprintf("The kubelet's URL source decodes the list and stops at the first invalid item; its error (%q) names no item. Nothing of the list is applied, so %s stay at the version the kubelet last accepted: changes are not applied, new pods do not start, removed ones keep running. %s",
		st.List.KubeletError, frozen, quirks)
	if blocking != nil {
		f.Hint = fmt.Sprintf("fix or remove %s/%s where the list is served from (on Talos: machine.pods of the machine config); check the list with spdoc validate --pod-list %s; spdoc agent --serve-url holds a bad pod back instead of blocking the others", blocking.Namespace, blocking.Name, st.URL)
	} else {
		f.Hint = "make " + st.URL + " serve a v1 Pod or PodList (spdoc validate --pod-list " + st.URL + " checks it)"
	}
}

func describeStaticPodURLUnreachable(f *Finding, b *findingBuilder, tc textCtx) {
	url := "its staticPodURL"
	if tc.url != nil {
		url = tc.url.URL
	}
	if f.History {
		f.Title = "the kubelet could not read " + url + " for a while; it answers now"
		f.Detail = "While the URL failed, the kubelet kept the pods of the last list it read. The kubelet logs \"Failed to read pods from URL\" at default verbosity only 3 times in a row, then at -v=4."
		f.Hint = "nothing to do now; if it recurs, check what serves the URL"
		return
	}
	f.Title = "the kubelet cannot read its static pod list from " + url + ": " + ellipsis(firstPre(b), 110)
	f.Detail = "The kubelet reads the URL with a 10 s timeout, at most 10 MiB, and only a 200 answer with a body counts; spdoc fetched it the same way. Meanwhile the kubelet keeps the pods of the last list it read (none after a restart), and logs \"Failed to read pods from URL\" at default verbosity only 3 times in a row."
	f.Hint = "check what serves " + url + " (on Talos: machined's static pod server; talosctl logs kubelet, talosctl service machined)"
}

func firstPre(b *findingBuilder) string {
	if len(b.pre) > 0 {
		return b.pre[0].Line
	}
	return firstErr(b)
}

// urlPodText rewrites ManifestInvalid for a pod of the URL list, where the file wording misleads:
// an invalid item does not just stop its own pod, it blocks the whole list.
func urlPodText(f *Finding, tc textCtx) {
	if tc.url == nil || tc.file == "" || tc.file != tc.url.URL {
		return
	}
	f.Title = "pod of the kubelet's URL list is invalid: " + strings.TrimPrefix(f.Title, "manifest rejected by the kubelet: ")
	f.Detail = "The kubelet reads this pod from its staticPodURL (" + tc.url.URL + ") as one item of a list, and validates each item: an invalid item makes it reject the whole list (see StaticPodListRejected), not just this pod."
	f.Hint = "fix this pod where the list is served from (on Talos: machine.pods of the machine config)"
}
