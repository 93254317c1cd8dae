package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spdoc/spdoc/internal/podurl"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// StaticPodURLFile is the captured URL source (a podurl.State) a support bundle writes at the top
// of a copied node; --root reads it, since a copy cannot fetch the node's 127.0.0.1.
const StaticPodURLFile = "static-pod-url.json"

// TalosStatusEndpoint is RuntimeState.Endpoint when the runtime view is Talos's StaticPodStatus
// resources of a talosctl support bundle (the kubelet's /pods as Talos kept it), not the CRI.
const TalosStatusEndpoint = "talos:staticpodstatuses"

// urlSource is the kubelet's staticPodURL: its config, overridden by the running kubelet's
// --manifest-url flags. ok is false when none is configured.
func (r resolved) urlSource() (podurl.Source, bool, error) {
	var src podurl.Source
	if r.cfg != nil {
		freq, _ := time.ParseDuration(r.cfg.HTTPCheckFrequency)
		src, _ = podurl.FromConfig(r.cfg.StaticPodURL, r.cfg.StaticPodURLHeader, freq, "kubelet-config "+r.KubeletConfig)
	}
	if r.kubelet != nil {
		var err error
		if src, err = podurl.ApplyFlags(src, r.kubelet.args); err != nil {
			return src, src.URL != "", err
		}
	}
	return src, src.URL != "", nil
}

// urlOnly is a kubelet that reads static pods only from its URL (Talos with
// disableManifestsDirectory): no staticPodPath and no --manifests flag, so no directory to scan.
func (l *Local) urlOnly(r resolved) bool {
	if l.opts.ManifestDir != "" || r.cfg == nil || r.cfg.StaticPodPath != "" {
		return false
	}
	_, ok, _ := r.urlSource()
	return ok
}

// staticPodURL fetches the URL source as the kubelet does (live), or loads the captured one
// (Root/static-pod-url.json). nil when there is none.
func (l *Local) staticPodURL(ctx context.Context, r resolved, nodeName string, addErr func(string, error)) *podurl.State {
	if l.opts.Root != "" {
		data, err := os.ReadFile(filepath.Join(l.opts.Root, StaticPodURLFile))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				addErr("static-pod-url", err)
			}
			return nil
		}
		var st podurl.State
		if err := json.Unmarshal(data, &st); err != nil {
			addErr("static-pod-url", fmt.Errorf("%s: %w", StaticPodURLFile, err))
			return nil
		}
		if st.Captured == "" {
			st.Captured = StaticPodURLFile
		}
		relabel(&st)
		return &st
	}
	src, ok, err := r.urlSource()
	if err != nil {
		addErr("static-pod-url", err)
	}
	if !ok {
		return nil
	}
	return podurl.Fetch(ctx, src, podurl.Options{NodeName: nodeName})
}

// relabel restores the pods' Source after a JSON round trip (they point at the list's URL).
func relabel(st *podurl.State) {
	if st.List == nil || st.List.File == nil {
		return
	}
	for i, p := range st.List.File.Pods {
		if p == nil {
			st.List.File.Pods[i] = &staticpod.StaticPod{Index: i, Source: st.URL}
			continue
		}
		if p.Source == "" {
			p.Source = st.URL
		}
	}
}

// SourceFiles are every static pod source of the snapshot, as the kubelet reads them: the
// manifest dir's files, then the URL source's list (one "file" whose Path is the URL).
func (s *Snapshot) SourceFiles() []*staticpod.File {
	if s == nil {
		return nil
	}
	var out []*staticpod.File
	if s.Manifests != nil {
		out = append(out, s.Manifests.Files...)
	}
	if s.StaticPodURL != nil && s.StaticPodURL.List != nil && s.StaticPodURL.List.File != nil {
		out = append(out, s.StaticPodURL.List.File)
	}
	return out
}

// StaticPods are the pods of every source, manifests first.
func (s *Snapshot) StaticPods() []*staticpod.StaticPod {
	var out []*staticpod.StaticPod
	for _, f := range s.SourceFiles() {
		if f != nil {
			out = append(out, f.Pods...)
		}
	}
	return out
}
