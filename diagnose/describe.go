package diagnose

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spdoc/spdoc/internal/podurl"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// textCtx is what the texts of a finding may mention.
type textCtx struct {
	dir      string
	node     string
	endpoint string
	pod      *PodReport
	file     string
	orphan   bool
	spec     []*staticpod.StaticPod
	fileObj  *staticpod.File
	url      *podurl.State // the kubelet's URL source, when it has one
}

func (tc textCtx) podRef() string {
	if tc.pod == nil {
		return ""
	}
	return tc.pod.Namespace + "/" + tc.pod.Name
}

func (tc textCtx) fileRef() string {
	if tc.file != "" {
		return tc.file
	}
	if tc.dir != "" {
		return "the manifest in " + tc.dir
	}
	return "the manifest"
}

// image is the container's image: from the kubelet's records, else from the manifest.
var reImageInText = regexp.MustCompile(`[Ii]mage \\*"([^"\\ ]+)\\*"`)

func (tc textCtx) image(b *findingBuilder) string {
	for _, r := range b.recs {
		if r.Image != "" {
			return r.Image
		}
		if v := r.Fields["image"]; v != "" {
			return strings.Trim(v, `"`)
		}
		if m := reImageInText.FindStringSubmatch(r.Msg + " " + r.Err); m != nil {
			return m[1]
		}
	}
	for _, sp := range tc.spec {
		if sp.Pod == nil {
			continue
		}
		for _, c := range append(sp.Pod.Spec.InitContainers, sp.Pod.Spec.Containers...) {
			if c.Name == b.f.Container || b.f.Container == "" {
				return c.Image
			}
		}
	}
	return ""
}

func firstErr(b *findingBuilder) string {
	for _, r := range b.recs {
		if r.Err != "" {
			return r.Err
		}
	}
	for _, e := range b.pre {
		return e.Line
	}
	if len(b.recs) > 0 {
		return b.recs[0].Msg
	}
	return ""
}

func ellipsis(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// tailEllipsis keeps the end of a long error chain ("a: b: c: the real reason"), cut at a ": ".
func tailEllipsis(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	rest := s[len(s)-n:]
	if i := strings.Index(rest, ": "); i >= 0 && i+2 < len(rest) {
		rest = rest[i+2:]
	}
	return "…" + rest
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (tc textCtx) logsCmd(container string, previous bool) string {
	if tc.pod == nil {
		return ""
	}
	cmd := fmt.Sprintf("spdoc logs %s/%s", tc.pod.Namespace, tc.pod.Name)
	if container != "" {
		cmd += ":" + container
	}
	if previous {
		cmd += " --previous"
	}
	return cmd
}

// containerRef names the finding's container for a sentence: "container app", else "the container".
func containerRef(f *Finding) (name, ref string) {
	if f.Container != "" {
		return f.Container, "container " + f.Container
	}
	return "", "the container"
}

// describe writes Title, Detail and Hint through the kind's catalogue entry, then says what
// explains a folded finding.
func describe(f *Finding, b *findingBuilder, tc textCtx) {
	if s := catalogue[f.Kind]; s != nil && s.Describe != nil {
		s.Describe(f, b, tc)
	} else {
		f.Title = string(f.Kind) + ": " + ellipsis(firstErr(b), 120)
	}
	switch {
	case b.explainedBy != nil && b.explainedBy.Describe != nil:
		b.explainedBy.Describe(f)
	case f.Cause != "" && (catalogue[f.Kind] == nil || !catalogue[f.Kind].DescribesCause):
		f.Detail += fmt.Sprintf(" Explained by %s above.", f.Cause)
	}
}

func containerRunning(tc textCtx, container string) bool {
	if tc.pod == nil {
		return false
	}
	for _, c := range tc.pod.Containers {
		if c.Name == container {
			return c.State == "running"
		}
	}
	return false
}

func restarts(tc textCtx, container string) int {
	if tc.pod == nil {
		return 0
	}
	for _, c := range tc.pod.Containers {
		if c.Name == container {
			return c.RestartCount
		}
	}
	return 0
}

func lineSuffix(b *findingBuilder) string {
	for _, e := range b.pre {
		if i := strings.LastIndexByte(e.Source, ':'); i > 0 && strings.HasPrefix(e.Source, "manifest:") {
			if n := e.Source[i+1:]; n != "" && strings.Trim(n, "0123456789") == "" {
				return " at line " + n
			}
		}
	}
	return ""
}

var reParse = regexp.MustCompile(`couldn't parse as pod\((.*)\), please check`)

// parseReason keeps the decoder's words from the kubelet's "<path>: couldn't parse as pod(…)".
func parseReason(err string) string {
	if m := reParse.FindStringSubmatch(err); m != nil {
		return m[1]
	}
	return err
}

var reDesc = regexp.MustCompile(`desc = (.*)`)

// sandboxReason keeps the runtime's own words from a long CreatePodSandbox error chain.
func sandboxReason(err string) string {
	if m := reDesc.FindStringSubmatch(err); m != nil {
		return strings.Trim(m[1], `\"`)
	}
	return err
}

var reMountErrs = []*regexp.Regexp{
	regexp.MustCompile(`hostPath type check failed.*`),
	regexp.MustCompile(`MountVolume\.SetUp failed.*`),
	regexp.MustCompile(`unmounted volumes=\[[^\]]*\]`),
}

var reHostPathType = regexp.MustCompile(`hostPath type check failed: (\S+) is not a (directory|file|socket file|character device|block device)`)

// volumeReason picks the most specific words: the hostPath check, else the SetUp error.
func volumeReason(b *findingBuilder) string {
	for _, re := range reMountErrs {
		for _, r := range b.recs {
			if m := re.FindString(r.Msg + " " + r.Err); m != "" {
				return m
			}
		}
	}
	return firstErr(b)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func suffix(pre, s string) string {
	if s == "" {
		return ""
	}
	return pre + s
}
