package staticpod

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
)

// MaxManifestSize is the kubelet's cap on a manifest file (maxConfigLength in
// pkg/kubelet/config/common.go). A bigger file is an error, not a truncated read.
const MaxManifestSize = 10 << 20

// ErrTooLarge is the kubelet's error for a manifest above MaxManifestSize
// (k8s.io/utils/io.ErrLimitReached).
var ErrTooLarge = errors.New("the read limit is reached")

// Issue types beyond the apimachinery field.ErrorType strings.
const (
	TypeUnknownField   = "Unknown field"
	TypeDuplicateField = "Duplicate field"
	TypeNotRecommended = "Not recommended"
)

// codecs decodes only core/v1, like the kubelet's file source (which accepts a single Pod).
var codecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		panic(err) // static registration, cannot fail at run time
	}
	return serializer.NewCodecFactory(scheme)
}()

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// DecodeFile decodes one manifest file the way the kubelet's file source does: YAML (or JSON) is
// converted with sigs.k8s.io/yaml (only the first YAML document is read), decoded as a single
// core/v1 Pod, then validated. Parse failures go to File.Parse with the kubelet's message shape
// (`couldn't parse as pod(yaml: line 4: …)`); the pod's validation issues and unknown fields (the
// kubelet silently drops them) go to the StaticPod's Issues, with source lines where they can be
// found. It never panics on any input.
func DecodeFile(path string, data []byte) *File {
	sum := sha256.Sum256(data)
	f := &File{
		Path:   path,
		Name:   filepath.Base(path),
		Kind:   KindManifest,
		Size:   int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]),
		Backup: IsBackupName(filepath.Base(path)),
	}
	if len(data) > MaxManifestSize {
		f.Parse = &ParseError{Msg: ErrTooLarge.Error() + fmt.Sprintf(" (the kubelet reads at most %d bytes, the file has %d)", MaxManifestSize, len(data))}
		return f
	}
	idx := indexLines(data)
	if idx.docs > 1 {
		f.Warnings = append(f.Warnings, Issue{
			Type:     TypeNotRecommended,
			Detail:   fmt.Sprintf("the file has %d YAML documents; the kubelet reads only the first", idx.docs),
			Severity: SeverityWarning,
			Line:     idx.secondDoc,
		})
	}
	j, pod, perr := decodePod(data)
	if perr != nil {
		if perr.Line == 0 {
			perr.Line = idx.errorLine(perr.Msg)
		}
		if !looksLikeManifest(data) {
			perr.Msg = hideContent(perr.Msg)
		}
		f.Parse = perr
		return f
	}
	sp := newStaticPod(pod, path, 0)
	sp.Issues = podIssues(pod, j, idx)
	f.Pods = []*StaticPod{sp}
	return f
}

// podIssues is everything wrong with a decoded pod: keys set twice, unknown fields (from its JSON
// form j), then Validate, each with its line from idx.
func podIssues(pod *corev1.Pod, j []byte, idx *lineIndex) []Issue {
	issues := append([]Issue(nil), idx.dups...)
	for _, is := range append(strictIssues(j), Validate(pod)...) {
		is.Line = idx.line(is.Field)
		issues = append(issues, is)
	}
	return issues
}

// manifestKeyRE finds a top-level apiVersion or kind key (YAML or JSON).
var manifestKeyRE = regexp.MustCompile(`(?m)(^["']?|[{,]\s*")(apiVersion|kind)["']?\s*:`)

// looksLikeManifest reports whether data sets apiVersion or kind: a file that does not is not a
// manifest (a symlink to /etc/shadow, a credentials file), and its content must not be quoted.
func looksLikeManifest(data []byte) bool { return manifestKeyRE.Match(data) }

// echoREs find what decoder errors quote of the input: the whole object of a missing kind or
// version, `values` of unmarshal errors, map keys.
var echoREs = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?s) is missing in '.*'`), " is missing in the file"},
	{regexp.MustCompile("(?s)`[^`]*`"), "`…`"},
	{regexp.MustCompile(`(?s)invalid map key: .*`), "invalid map key"},
}

// hideContent removes the file content a decoder error quotes (the kubelet's own message
// "Object 'Kind' is missing in '<the whole file as JSON>'" among them), keeping its shape.
func hideContent(msg string) string {
	const prefix = "couldn't parse as pod("
	if strings.HasSuffix(msg, " is missing in 'null')") || strings.HasSuffix(msg, " is missing in '{}')") {
		return msg // an empty (half-written) file: the kubelet's exact words, nothing to hide
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(msg, prefix), ")")
	hidden := inner
	for _, e := range echoREs {
		hidden = e.re.ReplaceAllString(hidden, e.repl)
	}
	if hidden == inner {
		return msg
	}
	return prefix + hidden + "; content not shown: the file does not look like a manifest)"
}

// newStaticPod fills the identity fields of a decoded pod.
func newStaticPod(pod *corev1.Pod, source string, index int) *StaticPod {
	ns := pod.Namespace
	if ns == "" {
		ns = corev1.NamespaceDefault
	}
	return &StaticPod{
		ID:        ID(ns, pod.Name),
		Namespace: ns,
		Name:      pod.Name,
		Source:    source,
		Index:     index,
		Pod:       pod,
		UID:       string(pod.UID),
	}
}

// toJSON is the kubelet's conversion (k8s.io/apimachinery/pkg/util/yaml.ToJSON): JSON is passed
// through, anything else goes through sigs.k8s.io/yaml, which reads the first document only.
func toJSON(data []byte) ([]byte, *ParseError) {
	j, err := utilyaml.ToJSON(data)
	if err != nil {
		return nil, parseError(err)
	}
	return j, nil
}

func parseError(err error) *ParseError {
	pe := &ParseError{Msg: "couldn't parse as pod(" + err.Error() + ")"}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		pe.Line, _ = strconv.Atoi(m[1])
	}
	return pe
}

// decodePod converts data to JSON and decodes it as one core/v1 Pod.
func decodePod(data []byte) ([]byte, *corev1.Pod, *ParseError) {
	j, perr := toJSON(data)
	if perr != nil {
		return nil, nil, perr
	}
	pod, err := decodePodJSON(j)
	if err != nil {
		return nil, nil, parseError(err)
	}
	return j, pod, nil
}

// decodePodJSON decodes j as exactly one core/v1 Pod, with the kubelet decoder's errors
// (`Object 'Kind' is missing in …`) or `invalid pod: …` for any other object.
func decodePodJSON(j []byte) (*corev1.Pod, error) {
	obj, gvk, err := codecs.UniversalDeserializer().Decode(j, nil, nil)
	if err != nil {
		if runtime.IsNotRegisteredError(err) && gvk != nil {
			// The kubelet's decoder knows only the core group; this is its message, scheme name included.
			return nil, fmt.Errorf("no kind %q is registered for version %q in scheme \"pkg/runtime/scheme.go:110\"", gvk.Kind, gvk.GroupVersion().String())
		}
		return nil, err
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		return o, nil
	case *corev1.PodList:
		return nil, fmt.Errorf("invalid pod: a v1 PodList with %d items; the kubelet's manifest directory accepts exactly one Pod per file", len(o.Items))
	default:
		return nil, fmt.Errorf("invalid pod: kind %q is not a Pod", gvk.Kind)
	}
}

// strictIssues reports unknown and duplicate fields of the Pod JSON j.
func strictIssues(j []byte) []Issue {
	var p corev1.Pod
	strict, err := kjson.UnmarshalStrict(j, &p, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil
	}
	var out []Issue
	for _, se := range strict {
		msg := se.Error()
		is := Issue{Severity: SeverityWarning}
		switch {
		case strings.HasPrefix(msg, "unknown field "):
			is.Type = TypeUnknownField
			is.Field = unquote(strings.TrimPrefix(msg, "unknown field "))
			is.Detail = "not a field of a v1 Pod: the kubelet ignores it (misspelt or wrongly indented?)"
		case strings.HasPrefix(msg, "duplicate field "):
			is.Type = TypeDuplicateField
			is.Field = unquote(strings.TrimPrefix(msg, "duplicate field "))
			is.Detail = "the field is set twice: the last value wins"
		default:
			is.Type = TypeUnknownField
			is.Detail = msg
		}
		out = append(out, is)
	}
	return out
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}
