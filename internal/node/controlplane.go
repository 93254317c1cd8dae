package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/safefs"
)

// ControlPlaneFile is the control-plane state a support bundle writes at the top of a copied node
// (certificate metadata, port owners, mirror pods, the kubelet's pod status — never a key);
// --root loads it instead of reading /proc and asking the API server.
const ControlPlaneFile = "controlplane.json"

// maxControlPlaneFile caps controlplane.json (certificate metadata of a few dozen files).
const maxControlPlaneFile = 16 << 20

// Default kubeadm locations the control-plane checks fall back on.
const (
	DefaultKubeletKubeconfig = "/etc/kubernetes/kubelet.conf"
	DefaultKubeletCertDir    = "/var/lib/kubelet/pki"
	DefaultKubeletClientCert = "/etc/kubernetes/pki/apiserver-kubelet-client.crt"
	DefaultKubeletClientKey  = "/etc/kubernetes/pki/apiserver-kubelet-client.key"
	DefaultClusterCA         = "/etc/kubernetes/pki/ca.crt"
)

// nodeFS is how the control-plane checks read node files: through safefs, the node package's
// reader — regular files only, never blocking on a FIFO, and under --root confined to the copy
// (Snapshot holds the confinement while it reads), so no symlink in it leads a read outside.
type nodeFS struct{ root string }

func (n nodeFS) path(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if n.root == "" {
		return "/" + name, nil
	}
	return filepath.Join(n.root, filepath.FromSlash(name)), nil
}

func (n nodeFS) Open(name string) (fs.File, error) {
	p, err := n.path(name)
	if err != nil {
		return nil, err
	}
	return safefs.Open(p)
}

func (n nodeFS) Stat(name string) (fs.FileInfo, error) {
	p, err := n.path(name)
	if err != nil {
		return nil, err
	}
	return safefs.Stat(p)
}

func (n nodeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := n.path(name)
	if err != nil {
		return nil, err
	}
	return safefs.ReadDir(p)
}

// controlPlane checks what the control-plane static pods need; nil when none runs here.
func (l *Local) controlPlane(ctx context.Context, s *Snapshot, r resolved, addErr func(string, error)) *controlplane.State {
	fsys := nodeFS{root: l.opts.Root}
	// A manifest's path is a node path (under Root on a copied node): read it the same way.
	read := func(p string) ([]byte, error) {
		if l.opts.Root != "" {
			rel, err := filepath.Rel(l.opts.Root, p)
			if err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) >= 3 && rel[:3] == "../" {
				return nil, fmt.Errorf("%s is outside the node root", p)
			}
			return fs.ReadFile(fsys, filepath.ToSlash(rel))
		}
		return fs.ReadFile(fsys, strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "/"))
	}
	instances := controlplane.FromScan(s.Manifests, read)
	if l.opts.Root != "" {
		// A bundle carries what was found on the live node.
		data, err := safefs.ReadFile(filepath.Join(l.opts.Root, ControlPlaneFile), maxControlPlaneFile)
		switch {
		case err == nil:
			var st controlplane.State
			if err := json.Unmarshal(data, &st); err != nil {
				addErr("control-plane", fmt.Errorf("%s: %w", filepath.Join(l.opts.Root, ControlPlaneFile), err))
			} else {
				return &st
			}
		case !errors.Is(err, fs.ErrNotExist):
			addErr("control-plane", fmt.Errorf("reading %s: %w", ControlPlaneFile, err))
		}
	}
	var live *controlplane.LiveOptions
	if l.opts.Root == "" {
		live = l.liveOptions(s, r, instances)
	}
	// Mirror pods matter for every static pod, but only where there is an API server to ask: a
	// node with no control-plane pod and no kubeconfig (a standalone kubelet) has nothing to add.
	if len(instances) == 0 && (live == nil || live.Mirror.Kubeconfig == "") {
		if _, err := fs.Stat(fsys, strings.TrimPrefix(DefaultKubeletKubeconfig, "/")); l.opts.Root == "" || err != nil {
			return nil
		}
	}
	st := controlplane.Read(ctx, fsys, instances, s.Taken, live)
	// The kubelet's own kubeconfig: its client certificate is how it reaches the API server.
	kc, from := "", ""
	switch {
	case live != nil && live.Mirror.Kubeconfig != "":
		kc, from = live.Mirror.Kubeconfig, "kubeconfig"
	case l.opts.Root != "":
		if _, err := fs.Stat(fsys, strings.TrimPrefix(DefaultKubeletKubeconfig, "/")); err == nil {
			kc, from = DefaultKubeletKubeconfig, "kubeconfig (default)"
		}
	}
	if filepath.IsAbs(kc) && (live == nil || live.Mirror.From != "--kubeconfig") {
		st.Files = append(st.Files, controlplane.CheckKubeletKubeconfig(fsys, kc, from, controlplane.CheckOptions{Now: s.Taken}))
	}
	if l.opts.Root != "" {
		st.PortsError = "not read: a copied node (--root) has no processes"
	}
	return st
}

// liveOptions say how to reach the API server and the kubelet on this node.
func (l *Local) liveOptions(s *Snapshot, r resolved, instances []*controlplane.Instance) *controlplane.LiveOptions {
	live := &controlplane.LiveOptions{ProcDir: "/proc", Cache: l.live}
	live.Mirror = controlplane.MirrorOptions{Node: s.Node.Name, Timeout: l.opts.APITimeout}
	live.Kubelet = controlplane.KubeletOptions{Timeout: l.opts.APITimeout}
	if l.opts.NoAPI {
		live.Mirror.Kubeconfig, live.Mirror.From = "", "--no-api"
		live.Kubelet = controlplane.KubeletOptions{}
		return live
	}
	switch {
	case l.opts.Kubeconfig != "":
		live.Mirror.Kubeconfig, live.Mirror.From = l.opts.Kubeconfig, "--kubeconfig"
	case r.kubelet != nil && r.kubelet.kubeconfigFlag != "":
		live.Mirror.Kubeconfig, live.Mirror.From = r.kubelet.kubeconfigFlag, "the kubelet's --kubeconfig"
	default:
		if _, err := os.Stat(DefaultKubeletKubeconfig); err == nil {
			live.Mirror.Kubeconfig, live.Mirror.From = DefaultKubeletKubeconfig, "default"
		}
	}
	k := &live.Kubelet
	if r.cfg != nil {
		k.ReadOnlyPort, k.Port = r.cfg.ReadOnlyPort, r.cfg.Port
		if r.cfg.TLSCertFile != "" {
			k.ServerCAs = append(k.ServerCAs, r.cfg.TLSCertFile)
		}
	}
	certDir := DefaultKubeletCertDir
	if r.kubelet != nil && r.kubelet.certDirFlag != "" {
		certDir = r.kubelet.certDirFlag
	}
	k.ServerCAs = append(k.ServerCAs, filepath.Join(certDir, "kubelet.crt"))
	// The API server's own kubelet client certificate is one the kubelet accepts.
	k.ClientCert, k.ClientKey = DefaultKubeletClientCert, DefaultKubeletClientKey
	ca := DefaultClusterCA
	for _, in := range instances {
		if in.Component != controlplane.KubeAPIServer {
			continue
		}
		cert, okc := in.FlagHostPath("kubelet-client-certificate")
		key, okk := in.FlagHostPath("kubelet-client-key")
		if okc && okk {
			k.ClientCert, k.ClientKey = cert, key
		}
		if p, ok := in.FlagHostPath("client-ca-file"); ok {
			ca = p
		}
	}
	k.ServerCAs = append(k.ServerCAs, ca)
	return live
}
