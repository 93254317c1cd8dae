package agent

import (
	"errors"

	"github.com/spdoc/spdoc/internal/staticpod"
)

// StaticPodCodec is the agent's codec: internal/staticpod's config loader (spdoc `pods:`, Talos
// machine config, KubeStaticPodConfig), the validator of `spdoc validate`, its renderer and
// file naming.
type StaticPodCodec struct{}

var _ Codec = StaticPodCodec{}

// Load parses a config file into its pods.
func (StaticPodCodec) Load(path string, data []byte) ([]*staticpod.StaticPod, error) {
	cfg, err := staticpod.LoadConfig(path, data)
	if err != nil {
		return nil, err
	}
	return cfg.Pods, nil
}

// Validate adds nothing: LoadConfig already ran the kubelet-equivalent validator on every pod
// and put the issues, with config lines, into StaticPod.Issues (running it twice costs a
// noticeable part of a 100-pod reconcile).
func (StaticPodCodec) Validate(p *staticpod.StaticPod) []staticpod.Issue {
	if p.Pod == nil {
		return []staticpod.Issue{{Field: "pod", Type: "Required value", Severity: staticpod.SeverityError, Line: p.Line}}
	}
	return nil
}

// Render renders the manifest file.
func (StaticPodCodec) Render(p *staticpod.StaticPod) ([]byte, error) {
	return staticpod.RenderManifest(p)
}

// FileName is <prefix><namespace>-<name>.yaml.
func (StaticPodCodec) FileName(prefix string, p *staticpod.StaticPod) string {
	return staticpod.FileName(prefix, p)
}

// errLine is the config line an error points at, 0 when unknown.
func errLine(err error) int {
	var ce *staticpod.ConfigError
	if errors.As(err, &ce) {
		return ce.Line
	}
	var pe *staticpod.ParseError
	if errors.As(err, &pe) {
		return pe.Line
	}
	return 0
}
