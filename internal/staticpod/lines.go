package staticpod

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
)

// lineIndex maps kubelet-style field paths ("spec.containers[0].image") to 1-based source lines.
type lineIndex struct {
	lines     map[string]int
	docs      int // YAML documents in the file
	secondDoc int // line where the second document starts, 0 when there is none
	// dups are keys set twice in one mapping: go-yaml keeps the last value without a word.
	dups []Issue
	// quantities are the scalars under resources limits/requests (and emptyDir sizeLimit), to
	// place a "quantities must match" decode error, which names no field.
	quantities []scalarAt
}

type scalarAt struct {
	value string
	line  int
}

// indexLines walks the first YAML document of data. It is best effort: data that go.yaml.in/yaml/v3
// cannot parse yields an empty index (and every lookup 0).
func indexLines(data []byte) *lineIndex {
	idx := &lineIndex{lines: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil { // io.EOF or a syntax error: stop either way
			break
		}
		if len(n.Content) == 0 || isNull(n.Content[0]) {
			continue // an empty document, e.g. after a trailing "---"
		}
		idx.docs++
		switch idx.docs {
		case 1:
			idx.walk(&n, "")
		case 2:
			idx.secondDoc = n.Content[0].Line
		}
	}
	return idx
}

// indexNode indexes one node (a pod inside a config file), paths relative to it.
func indexNode(n *yaml.Node) *lineIndex {
	idx := &lineIndex{lines: map[string]int{}, docs: 1}
	idx.walk(n, "")
	return idx
}

func (idx *lineIndex) walk(n *yaml.Node, path string) {
	if n == nil {
		return
	}
	if _, ok := idx.lines[path]; !ok {
		idx.lines[path] = n.Line
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			idx.walk(c, path)
		}
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" {
				continue
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if first, ok := seen[k.Value]; ok {
				idx.dups = append(idx.dups, Issue{
					Field:    p,
					Type:     TypeDuplicateField,
					Detail:   fmt.Sprintf("also set on line %d: the kubelet silently uses the last value", first),
					Severity: SeverityWarning,
					Line:     k.Line,
				})
			}
			seen[k.Value] = k.Line
			idx.lines[p] = k.Line // the key line is where a user looks
			if v.Kind == yaml.ScalarNode && isQuantityPath(p) {
				idx.quantities = append(idx.quantities, scalarAt{v.Value, v.Line})
			}
			idx.walkChildren(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			idx.walk(c, p)
		}
	}
}

// walkChildren indexes the children of v under p without overwriting p's own (key) line.
func (idx *lineIndex) walkChildren(v *yaml.Node, p string) {
	if _, ok := idx.lines[p]; !ok {
		idx.lines[p] = v.Line
	}
	switch v.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		// Aliases are not followed: the anchor's lines are where to edit, and a recursive alias
		// (`a: &a [*a]`) would never end.
		idx.walk(v, p)
	}
}

// line returns the line of field, or of its nearest indexed parent, or 0.
func (idx *lineIndex) line(field string) int {
	if idx == nil || field == "" {
		return 0
	}
	p := normalizePath(field)
	for p != "" {
		if l, ok := idx.lines[p]; ok {
			return l
		}
		p = parentPath(p)
	}
	return 0
}

// normalizePath turns map-key subscripts (`limits[cpu]`, as field.Path renders map keys) into
// `.key` segments, the form the index uses; list indexes stay `[0]`.
func normalizePath(p string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '[')
		if i < 0 {
			b.WriteString(p)
			return b.String()
		}
		j := strings.IndexByte(p[i:], ']')
		if j < 0 {
			b.WriteString(p)
			return b.String()
		}
		key := p[i+1 : i+j]
		b.WriteString(p[:i])
		if _, err := strconv.Atoi(key); err == nil {
			b.WriteString("[" + key + "]")
		} else {
			b.WriteString("." + key)
		}
		p = p[i+j+1:]
	}
}

// parentPath drops the last segment: "a.b[0].c" → "a.b[0]" → "a.b" → "a" → "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// typeErrorLine finds the line of a JSON type error such as `Go struct field
// ContainerPort.spec.containers.ports.containerPort of type int32`, whose path has no list
// indexes: the first indexed field with that path (ignoring indexes) is taken.
func (idx *lineIndex) typeErrorLine(msg string) int {
	m := typeErrorRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	want := m[1]
	if i := strings.IndexByte(want, '.'); i >= 0 && want[:1] != strings.ToLower(want[:1]) {
		want = want[i+1:] // drop the Go type name
	}
	best := 0
	for p, l := range idx.lines {
		if stripIndexes(p) == want && (best == 0 || l < best) {
			best = l
		}
	}
	return best
}

var typeErrorRE = regexp.MustCompile(`Go struct field (\S+) of type`)

func stripIndexes(p string) string {
	var b strings.Builder
	depth := 0
	for _, r := range p {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isQuantityPath reports whether p holds a resource.Quantity in a Pod.
func isQuantityPath(p string) bool {
	parent := parentPath(p)
	return strings.HasSuffix(parent, ".resources.limits") || strings.HasSuffix(parent, ".resources.requests") ||
		strings.HasSuffix(p, ".emptyDir.sizeLimit") || strings.HasPrefix(parent, "spec.overhead")
}

// quantityErrorLine is the line of the first resource quantity that does not parse.
func (idx *lineIndex) quantityErrorLine() int {
	for _, q := range idx.quantities {
		if _, err := resource.ParseQuantity(q.value); err != nil {
			return q.line
		}
	}
	return 0
}

// errorLine places a decode error that names no line: a JSON type error by its field path, a
// malformed quantity by its value.
func (idx *lineIndex) errorLine(msg string) int {
	if strings.Contains(msg, "quantities must match") {
		return idx.quantityErrorLine()
	}
	return idx.typeErrorLine(msg)
}
