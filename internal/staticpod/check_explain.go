package staticpod

import (
	"bytes"
	"fmt"
	"os"
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
	case kind != "" && kind != "Pod":
		d := fmt.Sprintf("a static pod is `kind: Pod`; this is a %s (%s)", kind, apiVersion)
		if t, ok := templateOf[kind]; ok {
			d += fmt.Sprintf("; its pod is under %s: make a kind: Pod of that metadata and spec", t)
		} else {
			d += "; the kubelet runs only Pods from its manifest directory"
		}
		return Issue{Type: TypeNotAPod, Severity: SeverityError, Detail: d}, true
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

// hostPorts records the host ports a pod on the host network binds.
type hostPortUse struct {
	path, pod string
	line      int
}

// podHostPortConflicts reports pods on the host network that bind the same port and protocol:
// the second one's container cannot start ("address already in use").
func podHostPortConflicts(pods []placedPod) []Problem {
	used := map[string]hostPortUse{}
	var out []Problem
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
					out = append(out, Problem{Path: pp.path, Pod: me, Issue: Issue{
						Field: fmt.Sprintf("spec.containers[%d].ports[%d]", i, j), Type: TypeHostPortConflict,
						Value: key, Severity: SeverityError,
						Detail: fmt.Sprintf("pod %s (%s) also binds %s on the host network: one of them cannot start (address already in use)", prev.pod, prev.path, key)}})
					continue
				}
				used[key] = hostPortUse{path: pp.path, pod: me}
			}
		}
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
