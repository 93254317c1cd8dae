// Package podref resolves what a user types to name a static pod, in every form spdoc and the
// tools around it print: ns/name, the static pod ID ns-name (talosctl), the manifest name, the
// kubelet's pod name name-node, the pod UID, the manifest file, and talosctl-style
// ns/pod:container[:container-id] exactly as `spdoc containers` prints it. A name that matches
// nothing is ErrNotFound with the closest names ("did you mean").
package podref

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// ErrNotFound is wrapped when a reference names no pod (node.ErrNotFound is this sentinel).
var ErrNotFound = errors.New("not found")

// ErrAmbiguous is wrapped when a reference names several pods and the command needs one.
var ErrAmbiguous = errors.New("ambiguous")

// Ref is a parsed reference.
type Ref struct {
	Raw         string
	Namespace   string // empty: any
	Pod         string
	Container   string // empty: none named
	ContainerID string // a (prefix of a) container ID, from ns/pod:container:id
}

// Parse splits [NAMESPACE/]POD[:CONTAINER[:ID]].
func Parse(s string) (Ref, error) {
	r := Ref{Raw: s}
	rest := strings.TrimSpace(s)
	rest = strings.TrimPrefix(rest, "└─ ") // pasted from the containers tree
	if rest == "" {
		return r, errors.New("empty pod name")
	}
	// A manifest file path (/etc/kubernetes/manifests/web.yaml, ./web.yaml) names the pod by its file.
	if strings.HasPrefix(rest, "/") || strings.HasPrefix(rest, ".") || strings.Count(rest, "/") > 1 {
		r.Pod = rest
		return r, nil
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		r.Namespace, rest = rest[:i], rest[i+1:]
		if r.Namespace == "" {
			return r, fmt.Errorf("%q: empty namespace before '/'", s)
		}
	}
	parts := strings.Split(rest, ":")
	if len(parts) > 3 {
		return r, fmt.Errorf("%q: want [NAMESPACE/]POD[:CONTAINER[:ID]]", s)
	}
	r.Pod = parts[0]
	if len(parts) > 1 {
		r.Container = parts[1]
		if r.Container == "" {
			return r, fmt.Errorf("%q: empty container name after ':'", s)
		}
	}
	if len(parts) > 2 {
		r.ContainerID = parts[2]
	}
	if r.Pod == "" {
		return r, fmt.Errorf("%q: no pod name; want [NAMESPACE/]POD[:CONTAINER]", s)
	}
	return r, nil
}

// Pod is one pod as the references can name it.
type Pod struct {
	Namespace   string // "default" when the manifest leaves it empty
	Name        string // metadata.name in the manifest
	ID          string // <ns>-<name>
	KubeletName string // <name>-<node>, empty when the node name is unknown
	UID         string
	File        string // manifest file path
}

// Matches reports whether r names p (its container part is not looked at).
func (r Ref) Matches(p Pod) bool {
	x := r.Pod
	if r.Namespace != "" {
		return r.Namespace == p.Namespace && (x == p.Name || x == p.KubeletName && x != "")
	}
	switch {
	case x == p.Name, x == p.ID, p.KubeletName != "" && x == p.KubeletName, p.UID != "" && x == p.UID:
		return true
	case p.File != "" && (x == p.File || x == filepath.Base(p.File)):
		return true
	case len(x) >= 8 && p.UID != "" && strings.HasPrefix(p.UID, x): // a UID shortened like the report prints it
		return true
	}
	return false
}

// Find returns the indexes of pods r names; none is a NotFoundError.
func Find(r Ref, pods []Pod) ([]int, error) {
	var idx []int
	for i, p := range pods {
		if r.Matches(p) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, &NotFoundError{Ref: r, Suggestions: Suggest(r, pods, 3)}
	}
	return idx, nil
}

// One returns the one pod r names: a NotFoundError, or an ambiguity error naming the candidates
// as ns/name.
func One(r Ref, pods []Pod) (int, error) {
	idx, err := Find(r, pods)
	if err != nil {
		return -1, err
	}
	if len(idx) > 1 {
		var names []string
		for _, i := range idx {
			names = append(names, pods[i].Namespace+"/"+pods[i].Name)
		}
		return -1, fmt.Errorf("pod %q is %w: %s; name it as namespace/name", r.Raw, ErrAmbiguous, strings.Join(names, ", "))
	}
	return idx[0], nil
}

// NotFoundError says which reference named nothing and what was close.
type NotFoundError struct {
	Ref         Ref
	Suggestions []string // ns/name
}

func (e *NotFoundError) Error() string {
	msg := fmt.Sprintf("static pod %q not found", e.Ref.Raw)
	if e.Ref.Namespace != "" {
		msg = fmt.Sprintf("static pod %q not found in namespace %s", e.Ref.Pod, e.Ref.Namespace)
	}
	if len(e.Suggestions) > 0 {
		msg += "; did you mean " + strings.Join(e.Suggestions, ", ") + "?"
	}
	return msg
}

// Is makes errors.Is(err, ErrNotFound) true (node.ErrNotFound is the same sentinel).
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Suggest returns up to n pods (as ns/name) whose names are closest to r: a name containing
// the reference or contained in it first, then by edit distance, within a third of the length.
func Suggest(r Ref, pods []Pod, n int) []string {
	type cand struct {
		name string
		dist int
	}
	x := strings.ToLower(r.Pod)
	var cs []cand
	seen := map[string]bool{}
	for _, p := range pods {
		full := p.Namespace + "/" + p.Name
		if seen[full] {
			continue
		}
		best := -1
		for _, form := range []string{p.Name, p.ID, p.KubeletName, full} {
			f := strings.ToLower(form)
			if f == "" {
				continue
			}
			d := distance(x, f)
			if strings.Contains(f, x) || strings.Contains(x, f) {
				d = min(d, 1)
			}
			if limit := max(2, len(x)/3); d <= limit && (best < 0 || d < best) {
				best = d
			}
		}
		if best >= 0 {
			seen[full] = true
			cs = append(cs, cand{full, best})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].name < cs[j].name
	})
	var out []string
	for _, c := range cs {
		if len(out) == n {
			break
		}
		out = append(out, c.name)
	}
	return out
}

// distance is the Levenshtein distance of a and b (bytes; names are ASCII).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Names lists the pods as ns/name, sorted, for messages.
func Names(pods []Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Namespace+"/"+p.Name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
