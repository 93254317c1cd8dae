package testnode

import "time"

// URLSource is the kubelet's HTTP static pod source: since Talos 1.3 every static pod of a Talos
// node comes from one PodList served on 127.0.0.1 this way.
type URLSource struct {
	// URL is the kubelet's staticPodURL.
	URL string
	// Header is staticPodURLHeader (sent with every poll; the kubelet logs it at start).
	Header map[string][]string
	// CheckFrequency is httpCheckFrequency; 0 means 1s (the kubelet's default is 20s).
	CheckFrequency time.Duration
	// NoManifestDir leaves staticPodPath unset (Talos's disableManifestsDirectory): the URL is
	// the node's only static pod source.
	NoManifestDir bool
}

// withURLSource adds the URL source to a kubelet configuration.
func (n *Node) withURLSource(cfg map[string]any) map[string]any {
	u := n.opts.URLSource
	if u == nil || u.URL == "" {
		return cfg
	}
	cfg["staticPodURL"] = u.URL
	if len(u.Header) > 0 {
		cfg["staticPodURLHeader"] = u.Header
	}
	freq := u.CheckFrequency
	if freq <= 0 {
		freq = time.Second
	}
	cfg["httpCheckFrequency"] = freq.String()
	if u.NoManifestDir {
		delete(cfg, "staticPodPath")
	}
	return cfg
}
