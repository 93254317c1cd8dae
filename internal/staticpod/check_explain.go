package staticpod

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// Problem types that explain what a file is when it is not a pod manifest, and conflicts
// between pods.
const (
	TypeNotAPod          = "Not a Pod"
	TypeNotAManifest     = "Not a manifest"
	TypeAgentConfig      = "Agent config"
	TypeBadQuantity      = "Invalid quantity"
	TypeHostPortConflict = "Host port conflict"
	TypeNoManifests      = "No manifests"
)

// templateOf says where the pod of a workload kind is, for "not a Pod" advice.
var templateOf = map[string]string{
	"Deployment": "spec.template", "DaemonSet": "spec.template", "StatefulSet": "spec.template",
	"ReplicaSet": "spec.template", "ReplicationController": "spec.template", "Job": "spec.template",
	"CronJob": "spec.jobTemplate.spec.template", "PodTemplate": "template",
}

// PodTemplateField says where the pod of a workload kind is (Deployment: spec.template); ok is
// false for a kind that holds no pod (Namespace, ConfigMap, Kustomization…).
func PodTemplateField(kind string) (string, bool) {
	t, ok := templateOf[kind]
	return t, ok
}

// NotAPodSeverity is how bad another object in the manifest directory is: a workload (it has a pod
// template) was meant to run and nothing does — an error; any other object (a Namespace, a
// ConfigMap, a Kustomization) is only in the wrong place — a warning: the kubelet logs an error for
// it on every re-list and runs nothing from it, and nothing was meant to run. spdoc diagnose's
// NotAPod follows the same rule, so validate and diagnose agree.
func NotAPodSeverity(kind string) Severity {
	if _, ok := templateOf[kind]; ok {
		return SeverityError
	}
	return SeverityWarning
}

func isKustomizationName(path string) bool {
	switch strings.ToLower(filepath.Base(path)) {
	case "kustomization.yaml", "kustomization.yml", "kustomization":
		return true
	}
	return false
}

// explainParse replaces the decoder's message for a file that does not decode as a pod with
// what the file is, when that can be told: binary data, another kind of object (where its pod
// template is), an spdoc agent config, or a resource quantity that does not parse (its field
// and value). ok is false when the decoder's message stands.
func explainParse(path string, config bool) (Issue, bool) {
	data, err := os.ReadFile(path)
	if err != nil || len(data) > 8<<20 {
		return Issue{}, false
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return Issue{Type: TypeNotAManifest, Severity: SeverityError,
			Detail: "binary data, not YAML or JSON: this is not a manifest (the kubelet rejects it too); move it out of the manifest directory"}, true
	}
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil || top == nil {
		return Issue{}, false
	}
	kind, _ := top["kind"].(string)
	apiVersion, _ := top["apiVersion"].(string)
	switch {
	case !config && (top["pods"] != nil || top["machine"] != nil || kind == "KubeStaticPodConfig"):
		return Issue{Type: TypeAgentConfig, Severity: SeverityError,
			Detail: "this is an spdoc agent config, not a manifest: check it with spdoc validate --config " + path}, true
	case kind == "" && isKustomizationName(path):
		return Issue{Type: TypeNotAPod, Severity: NotAPodSeverity("Kustomization"),
			Detail: "a static pod is `kind: Pod`; this is a kustomization, not an object the kubelet can run; keep it out of the manifest directory"}, true
	case kind != "" && kind != "Pod":
		d := fmt.Sprintf("a static pod is `kind: Pod`; this is a %s (%s)", kind, apiVersion)
		if t, ok := PodTemplateField(kind); ok {
			d += fmt.Sprintf("; its pod is under %s: make a kind: Pod of that metadata and spec", t)
		} else {
			d += "; the kubelet runs only Pods from its manifest directory"
		}
		return Issue{Type: TypeNotAPod, Severity: NotAPodSeverity(kind), Detail: d}, true
	}
	if field, value, ok := badQuantity(top); ok {
		return Issue{Field: field, Type: TypeBadQuantity, Value: value, Severity: SeverityError,
			Detail: "not a quantity: use a number with an optional suffix like 100m, 0.5, 64Mi, 1Gi"}, true
	}
	return Issue{}, false
}

// badQuantity finds the first resources.requests/limits (or ephemeral-storage, overhead)
// value that does not parse as a quantity, with its field path.
func badQuantity(pod map[string]any) (field, value string, ok bool) {
	spec, _ := pod["spec"].(map[string]any)
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for i, c := range cs {
			cm, _ := c.(map[string]any)
			res, _ := cm["resources"].(map[string]any)
			for _, kind := range []string{"requests", "limits"} {
				m, _ := res[kind].(map[string]any)
				names := make([]string, 0, len(m))
				for n := range m {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					v := fmt.Sprint(m[n])
					if _, err := resource.ParseQuantity(v); err != nil {
						return fmt.Sprintf("spec.%s[%d].resources.%s.%s", list, i, kind, n), v, true
					}
				}
			}
		}
	}
	return "", "", false
}

// hostPortUse records where a pod on the host network binds a port.
type hostPortUse struct {
	path, pod string
}

// HostPortConflict is a port and protocol two pods on the host network both bind: Pod (the later
// one in the kubelet's order, the one CheckPaths reports) and Other.
type HostPortConflict struct {
	Port      string // protocol/port, e.g. TCP/8080
	Pod, Path string // namespace/name and file of the later pod
	Field     string // its port's field path
	Other     string // namespace/name of the earlier pod
	OtherPath string // its file
}

// HostPortConflicts lists the pods of files (in the kubelet's order: a directory scan's) on the
// host network that bind the same port and protocol: whichever starts second cannot listen.
func HostPortConflicts(files []*File) []HostPortConflict {
	var placed []placedPod
	for _, f := range files {
		if f == nil || f.Kind == KindIgnored || f.Kind == KindDir || f.Kind == KindUnreadable {
			continue
		}
		for _, p := range f.Pods {
			if p != nil {
				placed = append(placed, placedPod{path: f.Path, pod: p})
			}
		}
	}
	return conflictsOf(placed)
}

func conflictsOf(pods []placedPod) []HostPortConflict {
	used := map[string]hostPortUse{}
	var out []HostPortConflict
	for _, pp := range pods {
		p := pp.pod
		if p.Pod == nil || !p.Pod.Spec.HostNetwork {
			continue
		}
		for i, c := range p.Pod.Spec.Containers {
			for j, port := range c.Ports {
				n := port.HostPort
				if n == 0 {
					n = port.ContainerPort // on the host network the container port is the host's
				}
				if n == 0 {
					continue
				}
				proto := string(port.Protocol)
				if proto == "" {
					proto = "TCP"
				}
				key := proto + "/" + strconv.Itoa(int(n))
				me := p.Namespace + "/" + p.Name
				if prev, ok := used[key]; ok && prev.pod != me {
					out = append(out, HostPortConflict{Port: key, Pod: me, Path: pp.path, Field: fmt.Sprintf("spec.containers[%d].ports[%d]", i, j),
						Other: prev.pod, OtherPath: prev.path})
					continue
				}
				used[key] = hostPortUse{path: pp.path, pod: me}
			}
		}
	}
	return out
}

// podHostPortConflicts reports pods on the host network that bind the same port and protocol:
// the second one's container cannot start ("address already in use").
func podHostPortConflicts(pods []placedPod) []Problem {
	var out []Problem
	for _, c := range conflictsOf(pods) {
		out = append(out, Problem{Path: c.Path, Pod: c.Pod, Issue: Issue{
			Field: c.Field, Type: TypeHostPortConflict, Value: c.Port, Severity: SeverityError,
			Detail: fmt.Sprintf("pod %s (%s) also binds %s on the host network: one of them cannot start (address already in use)", c.Other, c.OtherPath, c.Port)}})
	}
	return out
}

type placedPod struct {
	path string
	pod  *StaticPod
}

// explain runs after CheckPaths read everything: better words for files that are not pod
// manifests, host port conflicts between the pods read, and an error when nothing was read.
func (r *CheckResult) explain(paths []string, opts CheckOptions) {
	for i, p := range r.Problems {
		if p.Type != TypeParseError || p.Path == "" {
			continue
		}
		if is, ok := explainParse(p.Path, opts.Config); ok {
			if is.Line == 0 {
				is.Line = p.Line
			}
			r.count(p.Severity, -1)
			r.count(is.Severity, 1)
			r.Problems[i].Issue = is
		}
	}
	for _, c := range podHostPortConflicts(r.placed) {
		r.add(c)
	}
	if r.Files == 0 {
		r.add(Problem{Path: strings.Join(paths, " "), Issue: Issue{Type: TypeNoManifests, Severity: SeverityError,
			Detail: "nothing to validate: no manifest file here (the kubelet skips dotfiles and subdirectories)"}})
	}
}
