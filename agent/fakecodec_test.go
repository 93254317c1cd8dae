package agent

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/spdoc/spdoc/internal/staticpod"
)

// testCodec is a small codec for unit tests of the reconciler mechanics (what is written,
// removed, kept), independent of the full validator in internal/staticpod: a config is
// `pods: [Pod…]`; a pod is invalid when a container has no image.
type testCodec struct{}

func (testCodec) Load(path string, data []byte) ([]*staticpod.StaticPod, error) {
	var cfg struct {
		Pods []corev1.Pod `json:"pods"`
	}
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []*staticpod.StaticPod
	for i := range cfg.Pods {
		p := &cfg.Pods[i]
		ns := p.Namespace
		if ns == "" {
			ns = "default"
		}
		out = append(out, &staticpod.StaticPod{ID: staticpod.ID(ns, p.Name), Namespace: ns, Name: p.Name, Source: path, Index: i, Pod: p})
	}
	return out, nil
}

func (testCodec) Validate(p *staticpod.StaticPod) []staticpod.Issue {
	var out []staticpod.Issue
	if len(p.Pod.Spec.Containers) == 0 {
		out = append(out, staticpod.Issue{Field: "spec.containers", Type: "Required value", Severity: staticpod.SeverityError})
	}
	for i, c := range p.Pod.Spec.Containers {
		if c.Image == "" {
			out = append(out, staticpod.Issue{Field: fmt.Sprintf("spec.containers[%d].image", i), Type: "Required value", Severity: staticpod.SeverityError})
		}
	}
	return out
}

func (testCodec) Render(p *staticpod.StaticPod) ([]byte, error) {
	pod := p.Pod.DeepCopy()
	pod.APIVersion, pod.Kind = "v1", "Pod"
	return yaml.Marshal(pod)
}

func (testCodec) FileName(prefix string, p *staticpod.StaticPod) string {
	return prefix + p.Namespace + "-" + p.Name + ".yaml"
}
