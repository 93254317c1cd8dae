package staticpod

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// Config formats LoadConfig accepts; a file may mix documents of several.
const (
	FormatSpdoc          = "spdoc"                     // pods: [<Pod>, …]
	FormatTalosMachine   = "talos-machine"             // Talos v1alpha1 machine config: machine.pods
	FormatTalosStaticPod = "talos-kubestaticpodconfig" // Talos KubeStaticPodConfig documents
)

// MaxConfigSize caps an agent config file.
const MaxConfigSize = MaxManifestSize

// Config is an agent config: the static pods to render into the manifest directory.
type Config struct {
	Path    string   `json:"path"`
	Formats []string `json:"formats"` // the formats found, in document order, without repeats
	// Pods in config order. Source is "<path>#<index>", Line where the pod starts; Issues hold
	// the pod's validation result (lines are lines of the config file).
	Pods []*StaticPod `json:"pods"`
}

// ConfigError is a config that cannot be used at all; it names file, line and field:
// `pods.yaml: line 12: pods[2]: …`.
type ConfigError struct {
	Path  string
	Line  int
	Field string
	Msg   string
}

func (e *ConfigError) Error() string {
	var b bytes.Buffer
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// LoadConfig parses an agent config: spdoc's own `pods:` list of raw Pod objects, a Talos
// machine config (`machine: pods: […]`, other Talos documents in the same file are skipped) or
// Talos `KubeStaticPodConfig` documents (`apiVersion: v1alpha1`, `kind: KubeStaticPodConfig`,
// `name`, `pod`), several documents per file allowed. The YAML is read with go.yaml.in/yaml/v3,
// the YAML 1.2 semantics Talos uses.
//
// A config that cannot be used as a whole — YAML syntax, a document of no known shape, a pod
// that does not decode as a v1 Pod, two pods with the same namespace/name, an empty file — is a
// *ConfigError. Pods the kubelet would reject are returned with error Issues (the agent decides
// whether to write them). A pod without apiVersion/kind is accepted with a warning: the rendered
// manifest always carries `apiVersion: v1`, `kind: Pod`.
func LoadConfig(path string, data []byte) (*Config, error) {
	cerr := func(line int, field, format string, args ...any) error {
		return &ConfigError{Path: path, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxConfigSize {
		return nil, cerr(0, "", "config is %d bytes, more than the %d allowed", len(data), MaxConfigSize)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, cerr(0, "", "config is empty (write `pods: []` to remove every pod)")
	}
	cfg := &Config{Path: path, Pods: []*StaticPod{}}
	seen := map[string]*StaticPod{}
	addFormat := func(f string) {
		for _, x := range cfg.Formats {
			if x == f {
				return
			}
		}
		cfg.Formats = append(cfg.Formats, f)
	}
	addPod := func(n *yaml.Node, field string) error {
		sp, err := configPod(path, n, field, len(cfg.Pods))
		if err != nil {
			return err
		}
		key := sp.Namespace + "/" + sp.Name
		if prev, ok := seen[key]; ok && sp.Name != "" {
			return cerr(sp.Line, field, "pod %q is defined twice (also on line %d): both would be written to the same manifest", key, prev.Line)
		}
		seen[key] = sp
		cfg.Pods = append(cfg.Pods, sp)
		return nil
	}
	// addPods adds every pod of the list node at field (absent or null: none).
	addPods := func(list *yaml.Node, field string) error {
		if list == nil || isNull(list) {
			return nil
		}
		if list.Kind != yaml.SequenceNode {
			return cerr(list.Line, field, "must be a list of Pod objects")
		}
		for i, n := range list.Content {
			if err := addPod(n, field+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var d yaml.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// go-yaml v3 reports some scanner errors a line early (a tab on line 4 is "line 3");
			// v2, which the kubelet uses, names the right line for an error in the first document.
			if _, v2err := sigsyaml.YAMLToJSON(data); v2err != nil {
				err = v2err
			}
			return nil, yamlConfigError(path, err)
		}
		if len(d.Content) == 0 || isNull(d.Content[0]) {
			continue // an empty document (`---` at the end)
		}
		root := d.Content[0]
		if root.Kind != yaml.MappingNode {
			return nil, cerr(root.Line, "", "document %d is not a mapping: want `pods:`, a Talos machine config or a KubeStaticPodConfig", doc)
		}
		kind, apiVersion := scalar(root, "kind"), scalar(root, "apiVersion")
		switch {
		case kind == "KubeStaticPodConfig":
			addFormat(FormatTalosStaticPod)
			if apiVersion != "v1alpha1" {
				return nil, cerr(root.Line, "apiVersion", "KubeStaticPodConfig apiVersion %q is not supported (want v1alpha1)", apiVersion)
			}
			for i := 0; i+1 < len(root.Content); i += 2 {
				switch k := root.Content[i].Value; k {
				case "apiVersion", "kind", "name", "pod":
				default:
					return nil, cerr(root.Content[i].Line, k, "unknown field of KubeStaticPodConfig")
				}
			}
			name := scalar(root, "name")
			if name == "" {
				return nil, cerr(root.Line, "name", "static pod name is required in a KubeStaticPodConfig")
			}
			pod := child(root, "pod")
			if pod == nil || isNull(pod) {
				return nil, cerr(root.Line, "pod", "static pod spec is required in KubeStaticPodConfig %q", name)
			}
			if err := addPod(pod, fmt.Sprintf("KubeStaticPodConfig[%s].pod", name)); err != nil {
				return nil, err
			}
		case child(root, "machine") != nil:
			addFormat(FormatTalosMachine)
			m := child(root, "machine")
			if m.Kind != yaml.MappingNode {
				if isNull(m) {
					continue
				}
				return nil, cerr(m.Line, "machine", "must be a mapping")
			}
			if err := addPods(child(m, "pods"), "machine.pods"); err != nil {
				return nil, err
			}
		case child(root, "pods") != nil:
			addFormat(FormatSpdoc)
			for i := 0; i+1 < len(root.Content); i += 2 {
				if k := root.Content[i].Value; k != "pods" {
					return nil, cerr(root.Content[i].Line, k, "unknown field (an spdoc config has only `pods:`)")
				}
			}
			if err := addPods(child(root, "pods"), "pods"); err != nil {
				return nil, err
			}
		case kind != "" && apiVersion == "v1alpha1":
			// Another Talos document (HostnameConfig, KubeletConfig…): not about static pods.
		case kind == "Pod":
			return nil, cerr(root.Line, "", "document %d is a Pod manifest, not a config: list it under `pods:`", doc)
		default:
			return nil, cerr(root.Line, "", "document %d is not an spdoc config (`pods:`), a Talos machine config (`machine.pods`) or a KubeStaticPodConfig document", doc)
		}
	}
	return cfg, nil
}

// configPod decodes one pod node of a config.
func configPod(path string, n *yaml.Node, field string, index int) (*StaticPod, error) {
	fail := func(line int, format string, args ...any) error {
		return &ConfigError{Path: path, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil, fail(n.Line, "must be a Pod object (a mapping)")
	}
	var raw map[string]any
	if err := n.Decode(&raw); err != nil {
		return nil, fail(n.Line, "%v", err)
	}
	var defaulted []Issue
	for _, tm := range []struct{ key, value string }{{"apiVersion", "v1"}, {"kind", "Pod"}} {
		if _, ok := raw[tm.key]; !ok {
			raw[tm.key] = tm.value
			defaulted = append(defaulted, Issue{Field: tm.key, Type: "Required value", Value: tm.value, Severity: SeverityWarning, Line: n.Line,
				Detail: "missing: the rendered manifest gets " + tm.key + ": " + tm.value + " (the kubelet rejects a manifest without it)"})
		}
	}
	j, err := json.Marshal(raw)
	if err != nil {
		return nil, fail(n.Line, "cannot convert to JSON: %v", err)
	}
	idx := indexNode(n)
	pod, err := decodePodJSON(j)
	if err != nil {
		line := idx.errorLine(err.Error())
		if line == 0 {
			line = n.Line
		}
		return nil, fail(line, "not a valid v1 Pod: %v", err)
	}
	sp := newStaticPod(pod, path+"#"+strconv.Itoa(index), index)
	sp.Line = n.Line
	sp.Issues = append(defaulted, podIssues(pod, j, idx)...)
	return sp, nil
}

func yamlConfigError(path string, err error) error {
	ce := &ConfigError{Path: path, Msg: err.Error()}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		ce.Line, _ = strconv.Atoi(m[1])
	}
	return ce
}

// child returns the value of key in mapping n, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalar returns the scalar value of key in mapping n, or "".
func scalar(n *yaml.Node, key string) string {
	if c := child(n, key); c != nil && c.Kind == yaml.ScalarNode {
		return c.Value
	}
	return ""
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// RenderManifest renders the pod as the manifest file the kubelet reads: deterministic YAML
// (sigs.k8s.io/yaml, keys sorted) of the pod with apiVersion v1 and kind Pod set.
func RenderManifest(p *StaticPod) ([]byte, error) {
	if p == nil || p.Pod == nil {
		return nil, errors.New("rendering manifest: no pod")
	}
	pod := p.Pod.DeepCopy()
	pod.APIVersion, pod.Kind = "v1", "Pod"
	j, err := json.Marshal(pod)
	if err != nil {
		return nil, fmt.Errorf("rendering manifest for pod %q: %w", p.ID, err)
	}
	var obj map[string]any
	if err := json.Unmarshal(j, &obj); err != nil {
		return nil, fmt.Errorf("rendering manifest for pod %q: %w", p.ID, err)
	}
	if st, ok := obj["status"].(map[string]any); ok && len(st) == 0 {
		delete(obj, "status") // `status: {}` is noise in a manifest
	}
	out, err := sigsyaml.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("rendering manifest for pod %q: %w", p.ID, err)
	}
	return out, nil
}

// FileName is the manifest file name for p: `<prefix><namespace>-<name>.yaml` (prefix "spdoc-"
// for the agent, "talos-" to match Talos's layout).
func FileName(prefix string, p *StaticPod) string {
	return prefix + ID(p.Namespace, p.Name) + ".yaml"
}

// PodFromManifest is a convenience for callers holding a *corev1.Pod (e.g. after editing):
// the StaticPod with identity filled and validation issues (without source lines).
func PodFromManifest(pod *corev1.Pod, source string) *StaticPod {
	sp := newStaticPod(pod, source, 0)
	sp.Issues = Validate(pod)
	return sp
}
