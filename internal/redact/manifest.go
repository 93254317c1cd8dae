package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// Manifest redacts a raw manifest (YAML or JSON, one or more documents) and keeps its line
// structure, so line numbers in validation and parse errors stay valid for the redacted copy.
//
// Values are found structurally: env entries ({name, value}) with secret names, fields and
// annotations with secret names, secret flags in command/args lists, and any scalar in which
// String finds a secret. A replaced scalar is written double-quoted so the document still
// decodes to the same shape. Full-line comments are redacted as text. A file that does not
// parse as YAML is redacted line by line (PEM blocks, pairs, a name:/value: pair heuristic).
func (r *Redactor) Manifest(data []byte) []byte {
	if r.s.disabled || len(data) == 0 {
		return data
	}
	m := &manifest{r: r, src: data, visited: map[*yaml.Node]bool{}}
	m.index()
	if oddLineBreaks(data) {
		// yaml.v3 counts lone \r and Unicode line separators as line breaks; positions would
		// not match lines split on \n. Real manifests never have them.
		return m.lineFallback()
	}
	parsed := m.walkDocuments()
	if !parsed {
		return m.lineFallback()
	}
	m.comments()
	out := m.apply()
	if len(m.edits) > 0 && decodes(out) != nil {
		// Requoting broke the document (a YAML whitespace quirk): never hand out a
		// manifest that parses differently; redact line by line instead.
		return m.lineFallback()
	}
	return out
}

// decodes reports whether every document of data decodes.
func decodes(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

type edit struct {
	start, end int // byte offsets in src
	repl       string
}

type manifest struct {
	r          *Redactor
	src        []byte
	lineStart  []int // byte offset of each line (0-based)
	edits      []edit
	blockLines map[int]bool // lines inside block scalars (already handled)
	visited    map[*yaml.Node]bool
	// secrets are the values replaced whole; when a scalar could not be located in the source
	// (failed), every occurrence of them is replaced textually as a safety net.
	secrets []string
	failed  bool
	// fallbackLines are lines (0-based) whose scalar could not be located: redacted as text.
	fallbackLines map[int]bool
}

func (m *manifest) index() {
	m.lineStart = []int{0}
	for i, c := range m.src {
		if c == '\n' {
			m.lineStart = append(m.lineStart, i+1)
		}
	}
	m.blockLines = map[int]bool{}
	m.fallbackLines = map[int]bool{}
}

// line returns line n (0-based) without its newline.
func (m *manifest) line(n int) string {
	start := m.lineStart[n]
	end := len(m.src)
	if n+1 < len(m.lineStart) {
		end = m.lineStart[n+1] - 1
	}
	return string(m.src[start:end])
}

// offset converts a yaml.v3 position (1-based line, 1-based column in characters) to a byte offset.
func (m *manifest) offset(line, col int) (int, bool) {
	if line < 1 || line > len(m.lineStart) || col < 1 {
		return 0, false
	}
	l := m.line(line - 1)
	off := 0
	for i := 1; i < col; i++ {
		if off >= len(l) {
			return 0, false
		}
		_, w := utf8.DecodeRuneInString(l[off:])
		off += w
	}
	return m.lineStart[line-1] + off, true
}

// walkDocuments decodes every document and records edits; false when the file is not YAML.
func (m *manifest) walkDocuments() bool {
	dec := yaml.NewDecoder(bytes.NewReader(m.src))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			m.edits = nil
			return false
		}
		m.walk(&doc, "")
		m.lineComments(&doc, map[*yaml.Node]bool{})
	}
}

// walk visits n; key is the mapping key n is the value of ("" for sequence items/documents).
func (m *manifest) walk(n *yaml.Node, key string) {
	if n == nil || m.visited[n] {
		return
	}
	m.visited[n] = true
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			m.walk(c, "")
		}
	case yaml.SequenceNode:
		if (key == "command" || key == "args") && allScalars(n.Content) {
			m.args(n.Content)
			return
		}
		for _, c := range n.Content {
			m.walk(c, "")
		}
	case yaml.MappingNode:
		m.mapping(n, key)
	case yaml.ScalarNode:
		m.scalar(n)
	}
}

func allScalars(ns []*yaml.Node) bool {
	for _, n := range ns {
		if n.Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

func (m *manifest) mapping(n *yaml.Node, key string) {
	fieldKind := KindField
	if key == "annotations" {
		fieldKind = KindAnnotation
	}
	// An env entry: {name: DB_PASSWORD, value: x}.
	var envName string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "name" && n.Content[i+1].Kind == yaml.ScalarNode {
			envName = n.Content[i+1].Value
		}
	}
	headers := headerMap(key)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			m.walk(k, "")
			m.walk(v, "")
			continue
		}
		if headers {
			// header name → value(s): credentials whatever the header is called.
			vals := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				vals = v.Content
			}
			for _, hv := range vals {
				if hv.Kind == yaml.ScalarNode && !keepValue(hv.Value) {
					m.visited[hv] = true
					m.secret(hv, KindHeader)
				} else {
					m.walk(hv, "")
				}
			}
			m.visited[v] = true
			continue
		}
		if v.Kind != yaml.ScalarNode {
			m.walk(v, k.Value)
			continue
		}
		m.visited[v] = true
		switch {
		case k.Value == "value" && envName != "" && secretValue(envName, v.Value):
			m.secret(v, KindEnv)
		case secretValue(k.Value, v.Value):
			m.secret(v, fieldKind)
		default:
			m.scalar(v)
		}
	}
}

// headerMap reports a mapping of HTTP header names to values: the kubelet config's
// staticPodURLHeader (map[string][]string), and any field named …Headers/…Header that holds a map.
func headerMap(key string) bool {
	k := strings.ToLower(key)
	return strings.HasSuffix(k, "headers") || strings.HasSuffix(k, "header")
}

// args handles a command/args list like Redactor.Args, scalar by scalar.
func (m *manifest) args(items []*yaml.Node) {
	for i := 0; i < len(items); i++ {
		n := items[i]
		m.visited[n] = true
		a := n.Value
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			m.scalar(n)
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		if hasValue {
			if secretValue(name, value) {
				m.secrets = append(m.secrets, value)
				m.replace(n, name+"="+m.r.redact(KindArg, value))
			} else {
				m.scalar(n)
			}
			continue
		}
		if i+1 < len(items) && !strings.HasPrefix(items[i+1].Value, "-") && secretValue(name, items[i+1].Value) {
			m.visited[items[i+1]] = true
			m.secret(items[i+1], KindArg)
			i++
		}
	}
}

// secret replaces the whole value of n with its token.
func (m *manifest) secret(n *yaml.Node, kind string) {
	tok := m.r.redact(kind, n.Value)
	m.secrets = append(m.secrets, n.Value)
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		m.block(n, func(string) string { return tok })
		return
	}
	m.replace(n, tok)
}

// scalar redacts whatever String finds inside an ordinary value.
func (m *manifest) scalar(n *yaml.Node) {
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		lr := m.r.Lines()
		m.block(n, lr.Line)
		return
	}
	if v := m.r.String(n.Value); v != n.Value {
		m.replace(n, v)
	}
}

// replace writes value double-quoted over the source of scalar n, padding with the newlines
// the original spanned.
func (m *manifest) replace(n *yaml.Node, value string) {
	start, ok := m.offset(n.Line, n.Column)
	var end int
	if ok {
		end, ok = m.scalarEnd(n, &start)
	}
	if !ok {
		m.failed = true
		for l := n.Line - 1; l <= n.Line-1+strings.Count(n.Value, "\n") && l < len(m.lineStart); l++ {
			if l >= 0 {
				m.fallbackLines[l] = true
			}
		}
		return
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(value) // a string always encodes
	quoted := strings.TrimSuffix(b.String(), "\n")
	quoted += strings.Repeat("\n", bytes.Count(m.src[start:end], []byte("\n")))
	m.edits = append(m.edits, edit{start: start, end: end, repl: quoted})
}

// oddLineBreaks reports line breaks other than \n and \r\n.
func oddLineBreaks(data []byte) bool {
	for i, c := range data {
		if c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			return true
		}
	}
	return bytes.Contains(data, []byte("\u0085")) || bytes.Contains(data, []byte("\u2028")) || bytes.Contains(data, []byte("\u2029"))
}

// scalarEnd finds the byte offset just past the source of a flow scalar starting at start.
// start moves past node properties (!!str, &anchor).
func (m *manifest) scalarEnd(n *yaml.Node, start *int) (int, bool) {
	src := m.src
	// Skip node properties: an explicit tag (!!str) and an anchor (&a), in either order.
	for *start < len(src) && (src[*start] == '!' || src[*start] == '&') {
		i := *start
		for i < len(src) && src[i] != ' ' && src[i] != '\t' && src[i] != '\n' && src[i] != '\r' {
			i++
		}
		for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
			i++
		}
		*start = i
	}
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if *start >= len(src) || src[*start] != '"' {
			return 0, false
		}
		for i := *start + 1; i < len(src); i++ {
			switch src[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
		return 0, false
	case n.Style&yaml.SingleQuotedStyle != 0:
		if *start >= len(src) || src[*start] != '\'' {
			return 0, false
		}
		for i := *start + 1; i < len(src); i++ {
			if src[i] == '\'' {
				if i+1 < len(src) && src[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, true
			}
		}
		return 0, false
	default:
		// Plain scalar: walk its words in the source (folding turns line breaks into spaces).
		i := *start
		words := strings.Fields(n.Value)
		if len(words) == 0 {
			return 0, false
		}
		for wi, w := range words {
			if wi > 0 {
				for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\r' || src[i] == '\n') {
					i++
				}
			}
			if !bytes.HasPrefix(src[i:], []byte(w)) {
				return 0, false
			}
			i += len(w)
		}
		return i, true
	}
}

// block rewrites the content lines of a literal or folded block scalar with fn(content),
// keeping each line's indentation.
func (m *manifest) block(n *yaml.Node, fn func(string) string) {
	first := n.Line // 0-based index of the line after the header
	indent := -1
	for l := first; l < len(m.lineStart); l++ {
		text := m.line(l)
		trimmed := strings.TrimLeft(text, " ")
		if strings.TrimSpace(text) == "" {
			m.blockLines[l] = true
			continue
		}
		ind := len(text) - len(trimmed)
		if indent < 0 {
			indent = ind
			if indent == 0 {
				return
			}
		}
		if ind < indent {
			return
		}
		m.blockLines[l] = true
		content := text[indent:]
		if repl := fn(content); repl != content {
			s := m.lineStart[l] + indent
			m.edits = append(m.edits, edit{start: s, end: s + len(content), repl: repl})
		}
	}
}

// lineComments redacts end-of-line comments ("key: v  # token=…") as text; full-line comments
// are left to comments.
func (m *manifest) lineComments(n *yaml.Node, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	if c := n.LineComment; c != "" && !strings.Contains(c, "\n") && n.Line >= 1 {
		for l := n.Line - 1; l < len(m.lineStart) && l <= n.Line+1; l++ {
			text := m.line(l)
			i := strings.LastIndex(text, c)
			if i < 0 || m.blockLines[l] || strings.HasPrefix(strings.TrimSpace(text), "#") {
				continue
			}
			if repl := m.r.Log(c); repl != c {
				s := m.lineStart[l] + i
				m.edits = append(m.edits, edit{start: s, end: s + len(c), repl: repl})
			}
			break
		}
	}
	for _, c := range n.Content {
		m.lineComments(c, seen)
	}
}

// comments redacts full-line comments as text.
func (m *manifest) comments() {
	lr := m.r.Lines()
	for l := range m.lineStart {
		if m.blockLines[l] {
			continue
		}
		text := m.line(l)
		trimmed := strings.TrimLeft(text, " \t")
		if !strings.HasPrefix(trimmed, "#") {
			continue
		}
		if repl := lr.Line(trimmed); repl != trimmed {
			s := m.lineStart[l] + len(text) - len(trimmed)
			m.edits = append(m.edits, edit{start: s, end: s + len(trimmed), repl: repl})
		}
	}
}

func (m *manifest) apply() []byte {
	out := m.applyEdits()
	if !m.failed {
		return out
	}
	lines := strings.Split(string(out), "\n")
	for l := range m.fallbackLines {
		if l < len(lines) {
			lines[l] = m.r.Log(lines[l])
		}
	}
	text := strings.Join(lines, "\n")
	for _, sec := range m.secrets {
		for _, part := range strings.Split(sec, "\n") {
			if part = strings.TrimSpace(part); len(part) >= 3 {
				text = strings.ReplaceAll(text, part, m.r.Token(sec))
			}
		}
	}
	return []byte(text)
}

func (m *manifest) applyEdits() []byte {
	if len(m.edits) == 0 {
		return m.src
	}
	sort.SliceStable(m.edits, func(i, j int) bool { return m.edits[i].start < m.edits[j].start })
	var out bytes.Buffer
	last := 0
	for _, e := range m.edits {
		if e.start < last { // overlapping (an alias or a repeated node): first edit wins
			continue
		}
		out.Write(m.src[last:e.start])
		out.WriteString(e.repl)
		last = e.end
	}
	out.Write(m.src[last:])
	return out.Bytes()
}

var (
	nameLineRe  = regexp.MustCompile(`^\s*-?\s*"?name"?\s*:\s*["']?([^"'\s#]+)`)
	valueLineRe = regexp.MustCompile(`^(\s*-?\s*"?value"?\s*:\s*["']?)([^"'#]*?)(["']?\s*(?:#.*)?)$`)
)

// lineFallback redacts a file that is not valid YAML line by line.
func (m *manifest) lineFallback() []byte {
	lr := m.r.Lines()
	lines := strings.Split(string(m.src), "\n")
	pendingName, pendingFor := "", 0
	for i, l := range lines {
		if lr.InPEM() {
			lines[i] = lr.Line(l)
			continue
		}
		if pendingFor > 0 {
			pendingFor--
			if sm := valueLineRe.FindStringSubmatch(l); sm != nil && secretValue(pendingName, strings.TrimSpace(sm[2])) {
				lines[i] = sm[1] + m.r.redact(KindEnv, strings.TrimSpace(sm[2])) + sm[3]
				pendingFor = 0
				continue
			}
		}
		if sm := nameLineRe.FindStringSubmatch(l); sm != nil {
			pendingName, pendingFor = sm[1], 2
		}
		lines[i] = lr.Line(l)
	}
	return []byte(strings.Join(lines, "\n"))
}
