package controlplane

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// MaxFileSize caps what is read of one referenced file: certificates, keys and kubeconfigs are
// kilobytes; anything larger is not what the flag expects.
const MaxFileSize = 1 << 20

// ProblemKind classifies what is wrong with a referenced file.
type ProblemKind string

const (
	ProblemMissing     ProblemKind = "missing"    // absent on the node
	ProblemUnreadable  ProblemKind = "unreadable" // permission denied, not a regular file, too large
	ProblemEmpty       ProblemKind = "empty"      // exists with no content (a FileOrCreate hostPath made it)
	ProblemWrongType   ProblemKind = "wrong-type" // a directory where a file is expected, or the reverse
	ProblemGarbage     ProblemKind = "garbage"    // not the PEM / kubeconfig the flag expects
	ProblemExpired     ProblemKind = "expired"    // NotAfter in the past
	ProblemNotYetValid ProblemKind = "not-yet-valid"
	ProblemExpiring    ProblemKind = "expiring" // within ExpiryWarning
	ProblemKeyMismatch ProblemKind = "key-mismatch"
	ProblemSAN         ProblemKind = "san"   // a serving certificate does not cover the address served on
	ProblemChain       ProblemKind = "chain" // not signed by the CA that must verify it
	ProblemNotCA       ProblemKind = "not-ca"
)

// Problem is one thing wrong with a referenced file.
type Problem struct {
	Kind    ProblemKind `json:"kind"`
	Message string      `json:"message"`
	// Cert is the subject of the certificate concerned, when the file holds several.
	Cert string `json:"cert,omitempty"`
	// NotAfter is the expiry of the certificate concerned (expired, expiring).
	NotAfter time.Time `json:"notAfter,omitzero"`
}

// KubeconfigInfo is the non-secret part of a kubeconfig: where it points and which certificates
// it carries or names.
type KubeconfigInfo struct {
	Context string `json:"context,omitempty"`
	Server  string `json:"server,omitempty"`
	User    string `json:"user,omitempty"`
	// ClientCertFile and CAFile are the node paths the kubeconfig names instead of embedding.
	ClientCertFile string `json:"clientCertFile,omitempty"`
	ClientKeyFile  string `json:"clientKeyFile,omitempty"`
	CAFile         string `json:"caFile,omitempty"`
	// Auth says how the user authenticates: client-certificate, token, exec, none.
	Auth string `json:"auth,omitempty"`
}

// FileCheck is one file a component's flag names, as found on the node.
type FileCheck struct {
	Pod       string    `json:"pod"`
	Container string    `json:"container"`
	Component Component `json:"component"`
	Flag      string    `json:"flag"`
	Kind      FileKind  `json:"kind"`
	// Default is set when no flag names the file and the component reads its default.
	Default bool `json:"default,omitempty"`
	// Path is the path the component sees; HostPath the node path it comes from (via a hostPath
	// volume). Files not from the node (inside the image, in an emptyDir) are not checked.
	Path         string `json:"path"`
	HostPath     string `json:"hostPath,omitempty"`
	Volume       string `json:"volume,omitempty"`
	HostPathType string `json:"hostPathType,omitempty"`
	Manifest     string `json:"manifest"`
	Line         int    `json:"line,omitempty"`
	Field        string `json:"field,omitempty"`

	Exists   bool   `json:"exists"`
	Readable bool   `json:"readable"`
	Dir      bool   `json:"dir,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Mode     string `json:"mode,omitempty"`
	Error    string `json:"error,omitempty"`

	Certs      []CertInfo      `json:"certs,omitempty"`
	Key        *KeyInfo        `json:"key,omitempty"`
	PublicKeys []string        `json:"publicKeys,omitempty"` // service-account verification keys (SHA-256)
	Kubeconfig *KubeconfigInfo `json:"kubeconfig,omitempty"`
	Problems   []Problem       `json:"problems,omitempty"`
}

func (f *FileCheck) add(kind ProblemKind, format string, args ...any) *Problem {
	f.Problems = append(f.Problems, Problem{Kind: kind, Message: fmt.Sprintf(format, args...)})
	return &f.Problems[len(f.Problems)-1]
}

// FlagRef renders "--flag" (or "--flag (default)").
func (f *FileCheck) FlagRef() string {
	if f.Default {
		return "--" + f.Flag + " (default)"
	}
	return "--" + f.Flag
}

// CheckOptions tune Check.
type CheckOptions struct {
	// Now is the time expiry is measured against (the snapshot's time).
	Now time.Time
	// ExpiryWarning overrides the 30-day warning window.
	ExpiryWarning time.Duration
}

// Check reads every file the instances' flags name from fsys (paths relative to the node root:
// os.DirFS("/") on a live node, the root-confined reader of a copied one) and checks it: present,
// readable, certificates parse and are in their validity period (a warning within 30 days), keys
// match their certificates, serving certificates cover the address served on, and certificates
// chain to the CA that has to verify them. It never fails: every problem is in a FileCheck.
func Check(fsys fs.FS, instances []*Instance, opts CheckOptions) []FileCheck {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.ExpiryWarning <= 0 {
		opts.ExpiryWarning = ExpiryWarning
	}
	var out []FileCheck
	for _, in := range instances {
		for _, ref := range in.fileRefs() {
			fc := ref
			checkFile(fsys, in, &fc)
			out = append(out, fc)
		}
	}
	crossCheck(instances, out)
	for i := range out {
		expiry(&out[i], opts)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Pod != out[j].Pod {
			return out[i].Pod < out[j].Pod
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// CheckKubeletKubeconfig checks the kubelet's own kubeconfig (a node path): its client
// certificate's expiry above all — an expired one cuts the kubelet off the API server (no mirror
// pods, the node NotReady) while every static pod keeps running. flag says where the path came
// from ("kubeconfig" for the kubelet's --kubeconfig).
func CheckKubeletKubeconfig(fsys fs.FS, p, flag string, opts CheckOptions) FileCheck {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.ExpiryWarning <= 0 {
		opts.ExpiryWarning = ExpiryWarning
	}
	in := &Instance{Component: Kubelet, Container: "kubelet", onNode: true}
	fc := FileCheck{Component: Kubelet, Flag: flag, Kind: FileKubeconfig, Path: p, HostPath: path.Clean(p)}
	checkFile(fsys, in, &fc)
	expiry(&fc, opts)
	return fc
}

// fileRefs lists the files the instance's flags (and defaults) name.
func (in *Instance) fileRefs() []FileCheck {
	var out []FileCheck
	seenKind := map[FileKind]bool{}
	for _, a := range in.Args {
		spec, ok := Spec(in.Component, a.Name)
		if !ok || !a.HasValue || a.Value == "" {
			continue
		}
		vals := []string{a.Value}
		if spec.Kind == FileCertKey {
			// --tls-sni-cert-key cert.crt,cert.key[:names]
			v, _, _ := strings.Cut(a.Value, ":")
			vals = strings.Split(v, ",")
		}
		if spec.Kind == FileSAPublic {
			vals = strings.Split(a.Value, ",")
		}
		for i, v := range vals {
			kind := spec.Kind
			if spec.Kind == FileCertKey {
				kind = FileCert
				if i == 1 {
					kind = FileKey
				}
			}
			if spec.Kind == FileSAPublic {
				kind = FileSAPublic
			}
			out = append(out, in.ref(a.Name, kind, strings.TrimSpace(v), a.Line, a.Field, false))
		}
		seenKind[spec.Kind] = true
	}
	for _, d := range DefaultFiles[in.Component] {
		if _, set := in.Flag(d.Flag); set || seenKind[d.Kind] {
			continue
		}
		fc := in.ref(d.Flag, d.Kind, d.Path, 0, "", true)
		if fc.HostPath == "" {
			continue // the default is inside the image: nothing on the node to check
		}
		out = append(out, fc)
	}
	return out
}

func (in *Instance) ref(flag string, kind FileKind, p string, line int, field string, def bool) FileCheck {
	fc := FileCheck{
		Pod: in.Pod, Container: in.Container, Component: in.Component, Flag: flag, Kind: kind,
		Default: def, Path: p, Manifest: in.Manifest, Line: line, Field: field,
	}
	fc.HostPath, fc.Volume, fc.HostPathType, _ = in.hostPathOf(p)
	return fc
}

// relPath turns a node path into an fs.FS path.
func relPath(p string) string {
	p = strings.TrimLeft(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

// readCapped reads a regular file up to MaxFileSize.
func readCapped(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(relPath(p))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes: not a %s", MaxFileSize, "certificate, key or kubeconfig")
	}
	return data, nil
}

func checkFile(fsys fs.FS, in *Instance, fc *FileCheck) {
	if fc.HostPath == "" {
		return // not from the node: inside the image or an emptyDir
	}
	st, err := fs.Stat(fsys, relPath(fc.HostPath))
	if err != nil {
		fc.Error = err.Error()
		if errors.Is(err, fs.ErrNotExist) {
			fc.add(ProblemMissing, "%s does not exist on the node", fc.HostPath)
		} else {
			fc.add(ProblemUnreadable, "%s cannot be read: %v", fc.HostPath, errors.Unwrap(err))
		}
		return
	}
	fc.Exists, fc.Dir, fc.Size, fc.Mode = true, st.IsDir(), st.Size(), st.Mode().String()
	wantDir := fc.Kind == FileDataDir || fc.Kind == FileCertDir
	if wantDir {
		if !st.IsDir() {
			fc.add(ProblemWrongType, "%s is not a directory (%s)", fc.HostPath, st.Mode().Type())
			return
		}
		if _, err := fs.ReadDir(fsys, relPath(fc.HostPath)); err != nil {
			fc.Error = err.Error()
			fc.add(ProblemUnreadable, "directory %s cannot be listed: %v", fc.HostPath, errors.Unwrap(err))
			return
		}
		fc.Readable = true
		return
	}
	if st.IsDir() {
		fc.add(ProblemWrongType, "%s is a directory, %s names a file", fc.HostPath, fc.FlagRef())
		return
	}
	if !st.Mode().IsRegular() {
		fc.add(ProblemUnreadable, "%s is not a regular file (%s)", fc.HostPath, st.Mode().Type())
		return
	}
	if fc.Kind == FileConfig {
		// Presence and readability only: such files may hold secrets (encryption keys, tokens).
		f, err := fsys.Open(relPath(fc.HostPath))
		if err != nil {
			fc.Error = err.Error()
			fc.add(ProblemUnreadable, "%s cannot be opened: %v", fc.HostPath, errors.Unwrap(err))
			return
		}
		f.Close()
		fc.Readable = true
		if st.Size() == 0 {
			fc.add(ProblemEmpty, "%s is empty%s", fc.HostPath, emptyWhy(fc))
		}
		return
	}
	data, err := readCapped(fsys, fc.HostPath)
	if err != nil {
		fc.Error = err.Error()
		fc.add(ProblemUnreadable, "%s cannot be read: %v", fc.HostPath, err)
		return
	}
	fc.Readable = true
	if len(strings.TrimSpace(string(data))) == 0 {
		fc.add(ProblemEmpty, "%s is empty%s", fc.HostPath, emptyWhy(fc))
		return
	}
	switch fc.Kind {
	case FileCert, FileCA:
		certs, err := ParseCerts(data, "")
		fc.Certs = certs
		if err != nil {
			fc.add(ProblemGarbage, "%s is not a valid certificate: %v", fc.HostPath, err)
			return
		}
		if fc.Kind == FileCA && !certs[0].IsCA && certs[0].Subject != certs[0].Issuer {
			fc.add(ProblemNotCA, "%s holds %q, which is not a CA certificate", fc.HostPath, certs[0].Subject)
		}
	case FileKey, FileSAPrivate:
		k, err := ParseKey(data)
		if err != nil {
			fc.add(ProblemGarbage, "%s is not a valid private key: %v", fc.HostPath, err)
			return
		}
		fc.Key = k
	case FileSAPublic:
		keys, err := ParsePublicKeys(data)
		fc.PublicKeys = keys
		if err != nil {
			fc.add(ProblemGarbage, "%s holds no usable service-account key: %v", fc.HostPath, err)
		}
	case FileKubeconfig:
		checkKubeconfig(fsys, in, fc, data)
	case FileKubeSchedC:
		checkSchedulerConfig(fsys, in, fc, data)
	}
}

func emptyWhy(fc *FileCheck) string {
	if fc.HostPathType == "FileOrCreate" {
		return fmt.Sprintf(" (its hostPath volume %q has type FileOrCreate: the kubelet creates an empty file when the real one is missing)", fc.Volume)
	}
	return ""
}

// checkKubeconfig reads a kubeconfig: its current context's server and user, the certificates
// it embeds (client and CA) and the files it names (checked as the component would read them).
func checkKubeconfig(fsys fs.FS, in *Instance, fc *FileCheck, data []byte) {
	cfg, err := clientcmd.Load(data)
	if err != nil {
		fc.add(ProblemGarbage, "%s is not a valid kubeconfig: %v", fc.HostPath, err)
		return
	}
	ki := &KubeconfigInfo{Context: cfg.CurrentContext}
	fc.Kubeconfig = ki
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		if cfg.CurrentContext == "" {
			fc.add(ProblemGarbage, "%s has no current-context", fc.HostPath)
		} else {
			fc.add(ProblemGarbage, "%s: current-context %q is not defined", fc.HostPath, cfg.CurrentContext)
		}
		return
	}
	ki.User = ctx.AuthInfo
	if cl, ok := cfg.Clusters[ctx.Cluster]; ok {
		ki.Server = cl.Server
		if len(cl.CertificateAuthorityData) > 0 {
			certs, err := ParseCerts(cl.CertificateAuthorityData, "certificate-authority-data of cluster "+ctx.Cluster)
			if err != nil {
				fc.add(ProblemGarbage, "%s: certificate-authority-data of cluster %q: %v", fc.HostPath, ctx.Cluster, err)
			}
			fc.Certs = append(fc.Certs, certs...)
		} else if cl.CertificateAuthority != "" {
			ki.CAFile = kubeconfigPath(fc, cl.CertificateAuthority)
			certs, err := readCertsAt(fsys, in, ki.CAFile, "certificate-authority "+ki.CAFile)
			if err != nil {
				fc.add(problemOf(err), "%s: certificate-authority %s: %v", fc.HostPath, ki.CAFile, err)
			}
			fc.Certs = append(fc.Certs, certs...)
		}
	} else {
		fc.add(ProblemGarbage, "%s: cluster %q of context %q is not defined", fc.HostPath, ctx.Cluster, cfg.CurrentContext)
	}
	user, ok := cfg.AuthInfos[ctx.AuthInfo]
	if !ok {
		fc.add(ProblemGarbage, "%s: user %q of context %q is not defined", fc.HostPath, ctx.AuthInfo, cfg.CurrentContext)
		return
	}
	ki.Auth = authKind(user)
	var leaf []CertInfo
	from := "client-certificate-data of user " + ctx.AuthInfo
	switch {
	case len(user.ClientCertificateData) > 0:
		certs, err := ParseCerts(user.ClientCertificateData, from)
		if err != nil {
			fc.add(ProblemGarbage, "%s: client-certificate-data of user %q: %v", fc.HostPath, ctx.AuthInfo, err)
		}
		leaf = certs
	case user.ClientCertificate != "":
		ki.ClientCertFile = kubeconfigPath(fc, user.ClientCertificate)
		certs, err := readCertsAt(fsys, in, ki.ClientCertFile, "client-certificate "+ki.ClientCertFile)
		if err != nil {
			fc.add(problemOf(err), "%s: client-certificate %s: %v", fc.HostPath, ki.ClientCertFile, err)
		}
		leaf = certs
	}
	fc.Certs = append(fc.Certs, leaf...)
	var key *KeyInfo
	switch {
	case len(user.ClientKeyData) > 0:
		k, err := ParseKey(user.ClientKeyData)
		if err != nil {
			fc.add(ProblemGarbage, "%s: client-key-data of user %q: %v", fc.HostPath, ctx.AuthInfo, err)
		}
		key = k
	case user.ClientKey != "":
		ki.ClientKeyFile = kubeconfigPath(fc, user.ClientKey)
		if host, _, _, ok := in.hostPathOf(ki.ClientKeyFile); ok {
			data, err := readCapped(fsys, host)
			if err != nil {
				fc.add(problemOf(err), "%s: client-key %s: %v", fc.HostPath, ki.ClientKeyFile, err)
			} else if k, err := ParseKey(data); err != nil {
				fc.add(ProblemGarbage, "%s: client-key %s: %v", fc.HostPath, ki.ClientKeyFile, err)
			} else {
				key = k
			}
		}
	}
	if key != nil && len(leaf) > 0 {
		m := key.PublicKey == leaf[0].PublicKey
		if !m {
			p := fc.add(ProblemKeyMismatch, "%s: the client key of user %q does not belong to its client certificate (%s)", fc.HostPath, ctx.AuthInfo, leaf[0].Subject)
			p.Cert = leaf[0].Subject
		}
	}
}

func authKind(u *clientcmdapi.AuthInfo) string {
	switch {
	case len(u.ClientCertificateData) > 0 || u.ClientCertificate != "":
		return "client-certificate"
	case u.Token != "" || u.TokenFile != "":
		return "token"
	case u.Exec != nil:
		return "exec"
	case u.AuthProvider != nil:
		return "auth-provider"
	case u.Username != "":
		return "basic"
	}
	return "none"
}

// kubeconfigPath resolves a path named inside a kubeconfig relative to the kubeconfig's own
// directory (as clientcmd does), in the container's view.
func kubeconfigPath(fc *FileCheck, p string) string {
	if path.IsAbs(p) {
		return p
	}
	return path.Join(path.Dir(fc.Path), p)
}

func readCertsAt(fsys fs.FS, in *Instance, p, from string) ([]CertInfo, error) {
	host, _, _, ok := in.hostPathOf(p)
	if !ok {
		return nil, nil // inside the image: nothing to check
	}
	data, err := readCapped(fsys, host)
	if err != nil {
		return nil, err
	}
	return ParseCerts(data, from)
}

func problemOf(err error) ProblemKind {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return ProblemMissing
	case errors.Is(err, ErrNoPEM):
		return ProblemGarbage
	}
	var perr *fs.PathError
	if errors.As(err, &perr) {
		return ProblemUnreadable
	}
	return ProblemGarbage
}

// checkSchedulerConfig follows a KubeSchedulerConfiguration's clientConnection.kubeconfig.
func checkSchedulerConfig(fsys fs.FS, in *Instance, fc *FileCheck, data []byte) {
	var cfg struct {
		ClientConnection struct {
			Kubeconfig string `json:"kubeconfig"`
		} `json:"clientConnection"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		fc.add(ProblemGarbage, "%s is not a valid scheduler configuration: %v", fc.HostPath, err)
		return
	}
	kc := cfg.ClientConnection.Kubeconfig
	if kc == "" {
		return
	}
	host, _, _, ok := in.hostPathOf(kc)
	if !ok {
		return
	}
	kdata, err := readCapped(fsys, host)
	if err != nil {
		fc.add(problemOf(err), "%s: clientConnection.kubeconfig %s: %v", fc.HostPath, kc, err)
		return
	}
	checkKubeconfig(fsys, in, fc, kdata)
}

// expiry adds expired / not-yet-valid / expiring problems for every certificate of the file.
func expiry(fc *FileCheck, opts CheckOptions) {
	for _, c := range fc.Certs {
		what := c.Subject
		if c.From != "" {
			what += " (" + c.From + ")"
		}
		switch {
		case opts.Now.After(c.NotAfter):
			p := fc.add(ProblemExpired, "certificate %s expired on %s (%s ago)", what, c.NotAfter.Format(time.RFC3339), roundDur(opts.Now.Sub(c.NotAfter)))
			p.Cert, p.NotAfter = c.Subject, c.NotAfter
		case opts.Now.Before(c.NotBefore):
			p := fc.add(ProblemNotYetValid, "certificate %s is not valid before %s (is the node's clock right?)", what, c.NotBefore.Format(time.RFC3339))
			p.Cert, p.NotAfter = c.Subject, c.NotAfter
		case c.NotAfter.Sub(opts.Now) < opts.ExpiryWarning:
			p := fc.add(ProblemExpiring, "certificate %s expires on %s (in %s)", what, c.NotAfter.Format(time.RFC3339), roundDur(c.NotAfter.Sub(opts.Now)))
			p.Cert, p.NotAfter = c.Subject, c.NotAfter
		}
	}
}

func roundDur(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return d.Round(time.Second).String()
}

// serverHost is the host of a URL ("" when it does not parse).
func serverHost(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
