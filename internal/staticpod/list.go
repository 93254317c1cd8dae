package staticpod

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ListResult is a body of the kubelet's HTTP static pod source (staticPodURL) decoded the way
// pkg/kubelet/config/http.go does: the whole body is one source, and one invalid item makes the
// kubelet reject all of it.
type ListResult struct {
	// File holds the items (Path and every pod's Source are the URL, Index their position).
	// File.Parse is set when the body is neither a Pod nor a PodList.
	File *File `json:"file"`
	// List is true when the body is a PodList (false: a single Pod).
	List bool `json:"list"`
	// Blocking is the index of the first item the kubelet rejects, -1 when it accepts the list.
	// The kubelet stops at that item: its error names no item, and no item of the list is applied.
	Blocking int `json:"blocking"`
	// KubeletError is the error the kubelet's URL source returns for this body ("" when accepted):
	// the text that follows err= in its "Failed to read pods from URL" line.
	KubeletError string `json:"kubeletError,omitempty"`
	// Duplicates are indexes of items whose <ns>/<name> repeats an earlier item: the kubelet
	// ignores them ("Pod failed validation due to duplicate pod name, ignoring") but applies the rest.
	Duplicates []int `json:"duplicates,omitempty"`
}

// BlockingPod is the item that makes the kubelet reject the whole list, nil when none does.
func (r *ListResult) BlockingPod() *StaticPod {
	if r == nil || r.File == nil || r.Blocking < 0 || r.Blocking >= len(r.File.Pods) {
		return nil
	}
	return r.File.Pods[r.Blocking]
}

// DecodeList decodes what the kubelet's URL source read from url, for a kubelet on nodeName (the
// static pod names it validates are <name>-<node>; "" validates the names as written). Like the
// kubelet, it first tries the body as a single Pod (YAML or JSON), then as a PodList, validates
// the items in order and stops the kubelet's verdict at the first invalid one; unlike the kubelet,
// it keeps validating the rest, so every bad item is known, and it names the one that blocks.
// The size cap (MaxManifestSize) is the caller's, since the kubelet applies it while reading.
// It never panics on any input.
func DecodeList(url string, data []byte, nodeName string) *ListResult {
	sum := sha256.Sum256(data)
	res := &ListResult{Blocking: -1, File: &File{
		Path: url, Name: url, Kind: KindManifest, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
	}}
	idx := indexLines(data)

	// First as a single pod (the kubelet's tryDecodeSinglePod: ToJSON, then decode).
	j, perr := toJSON(data)
	var singleErr error
	if perr == nil {
		obj, _, err := codecs.UniversalDeserializer().Decode(j, nil, nil)
		if pod, ok := obj.(*corev1.Pod); ok && err == nil {
			sp := newStaticPod(pod, url, 0)
			sp.Issues = urlItemIssues(pod, nodeName, append(append([]Issue(nil), idx.dups...), strictIssues(j)...))
			res.File.Pods = []*StaticPod{sp}
			res.verdict()
			return res
		}
		singleErr = err
		if err == nil {
			singleErr = fmt.Errorf("invalid pod: %T", obj)
		}
	} else {
		singleErr = fmt.Errorf("%s", perr.Msg)
	}

	// Then as a list (tryDecodePodList decodes the raw body: YAML or JSON).
	obj, gvk, err := codecs.UniversalDeserializer().Decode(data, nil, nil)
	list, ok := obj.(*corev1.PodList)
	if err != nil || !ok {
		listErr := err
		if listErr == nil {
			kind := "unknown"
			if gvk != nil {
				kind = gvk.Kind
			}
			listErr = fmt.Errorf("invalid pods list: kind %q", kind)
		} else if runtime.IsNotRegisteredError(err) && gvk != nil {
			listErr = fmt.Errorf("no kind %q is registered for version %q in scheme \"pkg/runtime/scheme.go:110\"", gvk.Kind, gvk.GroupVersion().String())
		}
		pe := &ParseError{Msg: fmt.Sprintf("couldn't parse as single (%v) or multiple pods (%v)", singleErr, listErr)}
		pe.Line = idx.errorLine(pe.Msg)
		res.File.Parse = pe
		// The kubelet puts the whole body in this error; it is not repeated here.
		res.KubeletError = fmt.Sprintf("%s: received '…', but couldn't parse as single (%v) or multiple pods (%v)", url, singleErr, listErr)
		return res
	}
	res.List = true
	seen := map[string]bool{}
	for i := range list.Items {
		pod := list.Items[i].DeepCopy()
		sp := newStaticPod(pod, url, i)
		sp.Issues = urlItemIssues(pod, nodeName, nil)
		res.File.Pods = append(res.File.Pods, sp)
		if pod.Name == "" {
			continue
		}
		key := sp.Namespace + "/" + pod.Name
		if seen[key] {
			res.Duplicates = append(res.Duplicates, i)
		}
		seen[key] = true
	}
	res.verdict()
	return res
}

// urlItemIssues validates one item as the kubelet's URL source does (a missing name, then
// ValidatePodCreate on <name>-<node>, then API references: the order KubeletMessage keeps),
// after the decode-time issues.
func urlItemIssues(pod *corev1.Pod, nodeName string, pre []Issue) []Issue {
	return append(pre, ValidateOnNode(pod, nodeName)...)
}

// verdict finds the first item the kubelet rejects and its error.
func (r *ListResult) verdict() {
	for i, p := range r.File.Pods {
		if p.Valid() {
			continue
		}
		r.Blocking = i
		r.KubeletError = KubeletMessage(p.Issues)
		return
	}
}

// TypeListRejected is the problem type of a pod list the kubelet's URL source rejects whole.
const TypeListRejected = "List rejected"

// AddList adds a staticPodURL body: its items' problems (field paths prefixed items[N]) and,
// when the kubelet would reject it, which item blocks the whole list.
func (r *CheckResult) AddList(l *ListResult) {
	f := l.File
	r.Files++
	if f.Parse != nil {
		r.add(Problem{Path: f.Path, Issue: Issue{Type: TypeParseError, Detail: f.Parse.Msg, Severity: SeverityError, Line: f.Parse.Line}})
	}
	for _, p := range f.Pods {
		r.Pods++
		for _, is := range p.Issues {
			if l.List {
				is.Field = strings.TrimSuffix(fmt.Sprintf("items[%d].%s", p.Index, is.Field), ".")
			}
			r.add(Problem{Path: f.Path, Pod: p.Namespace + "/" + p.Name, Issue: is})
		}
	}
	for _, i := range l.Duplicates {
		p := f.Pods[i]
		r.add(Problem{Path: f.Path, Pod: p.Namespace + "/" + p.Name, Issue: Issue{Field: fmt.Sprintf("items[%d].metadata.name", i), Type: TypeDuplicatePod,
			Value: p.Namespace + "/" + p.Name, Severity: SeverityWarning, Detail: "an earlier item has this name: the kubelet ignores this one"}})
	}
	if p := l.BlockingPod(); p != nil {
		r.add(Problem{Path: f.Path, Pod: p.Namespace + "/" + p.Name, Issue: Issue{Type: TypeListRejected, Severity: SeverityError,
			Detail: fmt.Sprintf("the kubelet rejects the whole list at item %d (%s/%s) with %q: no pod of the list is updated, started or removed until it is fixed", p.Index, p.Namespace, p.Name, l.KubeletError)}})
	}
}

// Merge adds another result's counts and problems.
func (r *CheckResult) Merge(o *CheckResult) {
	r.Files += o.Files
	r.Pods += o.Pods
	r.Errors += o.Errors
	r.Warnings += o.Warnings
	r.Problems = append(r.Problems, o.Problems...)
}
