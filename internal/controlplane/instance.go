package controlplane

import (
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Arg is one command-line flag of a container, where it sits in the manifest.
type Arg struct {
	Name     string `json:"name"`            // without dashes
	Value    string `json:"-"`               // never serialized: a flag value may be a secret
	HasValue bool   `json:"-"`               // --name=value or --name value
	Field    string `json:"field,omitempty"` // spec.containers[0].command[3]
	Line     int    `json:"line,omitempty"`  // 1-based manifest line, 0 when unknown
}

// Instance is one container of a static pod that runs a known component.
type Instance struct {
	Pod         string    `json:"pod"` // static pod ID <ns>-<name>
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Manifest    string    `json:"manifest"`
	Container   string    `json:"container"`
	Component   Component `json:"component"`
	HostNetwork bool      `json:"hostNetwork,omitempty"`
	Args        []Arg     `json:"args,omitempty"`
	// Endpoints are the addresses it serves on (Serves, kept so a bundle has them).
	Endpoints []Endpoint `json:"endpoints,omitempty"`

	ci  int // container index in the pod spec
	pod *corev1.Pod
	// onNode: the instance runs on the node itself (the kubelet): its paths are node paths.
	onNode bool
}

// Flag returns the last value of a flag (the one the component uses) and whether it is set.
func (in *Instance) Flag(name string) (Arg, bool) {
	for i := len(in.Args) - 1; i >= 0; i-- {
		if in.Args[i].Name == name {
			return in.Args[i], true
		}
	}
	return Arg{}, false
}

// FlagLine is the manifest line of a flag, 0 when the flag is not in the manifest.
func (in *Instance) FlagLine(name string) int {
	a, _ := in.Flag(name)
	return a.Line
}

// Identify says which known component a container runs: the base name of its command's first
// word (kubeadm's manifests: command: [kube-apiserver, …]), else of its image repository
// (registry.k8s.io/etcd:3.6.4-0 with no command runs etcd).
func Identify(c *corev1.Container) (Component, bool) {
	words := commandWords(c)
	if len(c.Command) > 0 && len(words) > 0 {
		if comp, ok := byBinary(words[0]); ok {
			return comp, true
		}
	}
	repo := c.Image
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return byBinary(path.Base(repo))
}

func byBinary(word string) (Component, bool) {
	base := path.Base(word)
	for _, c := range Components {
		if base == string(c) {
			return c, true
		}
	}
	// Images and binaries with a suffix: kube-apiserver-amd64, etcd-v3.6, haproxy2.
	for _, c := range Components {
		if rest, ok := strings.CutPrefix(base, string(c)); ok && rest != "" && strings.ContainsAny(rest[:1], "-_.0123456789") {
			return c, true
		}
	}
	return "", false
}

// commandWords is command followed by args; a `sh -c "script"` command is split into the
// script's words.
func commandWords(c *corev1.Container) []string {
	words := append(append([]string(nil), c.Command...), c.Args...)
	if len(words) >= 3 && isShell(words[0]) && words[1] == "-c" {
		return strings.Fields(words[2])
	}
	return words
}

func isShell(w string) bool {
	switch path.Base(w) {
	case "sh", "bash", "ash", "dash":
		return true
	}
	return false
}

// Instances finds the containers of a pod that run known components, with their flags and the
// manifest lines of those flags (lines may be nil: every Line is then 0).
func Instances(podID, manifest string, pod *corev1.Pod, lines func(field string) int) []*Instance {
	if pod == nil {
		return nil
	}
	if lines == nil {
		lines = func(string) int { return 0 }
	}
	var out []*Instance
	for ci := range pod.Spec.Containers {
		c := &pod.Spec.Containers[ci]
		comp, ok := Identify(c)
		if !ok {
			continue
		}
		in := &Instance{
			Pod: podID, Namespace: pod.Namespace, Name: pod.Name, Manifest: manifest,
			Container: c.Name, Component: comp, HostNetwork: pod.Spec.HostNetwork, ci: ci, pod: pod,
		}
		if in.Namespace == "" {
			in.Namespace = corev1.NamespaceDefault
		}
		in.Args = parseArgs(comp, c, ci, lines)
		out = append(out, in)
	}
	return out
}

// argWord is one word of the command line and the manifest field it came from.
type argWord struct {
	word  string
	field string
}

func containerWords(c *corev1.Container, ci int) []argWord {
	prefix := "spec.containers[" + strconv.Itoa(ci) + "]."
	var out []argWord
	if len(c.Command) >= 3 && isShell(c.Command[0]) && c.Command[1] == "-c" {
		f := prefix + "command[2]"
		for _, w := range strings.Fields(c.Command[2]) {
			out = append(out, argWord{w, f})
		}
		for i, a := range c.Args {
			out = append(out, argWord{a, prefix + "args[" + strconv.Itoa(i) + "]"})
		}
		return out
	}
	for i, w := range c.Command {
		out = append(out, argWord{w, prefix + "command[" + strconv.Itoa(i) + "]"})
	}
	for i, a := range c.Args {
		out = append(out, argWord{a, prefix + "args[" + strconv.Itoa(i) + "]"})
	}
	return out
}

// parseArgs reads flags the way pflag (and Go's flag package, for etcd) accept them: --name=value,
// -name=value, and --name value for flags known to take a file. The binary itself is skipped.
func parseArgs(comp Component, c *corev1.Container, ci int, lines func(string) int) []Arg {
	words := containerWords(c, ci)
	if len(c.Command) > 0 && len(words) > 0 {
		if _, ok := byBinary(words[0].word); ok {
			words = words[1:]
		}
	}
	var out []Arg
	for i := 0; i < len(words); i++ {
		w := words[i].word
		if !strings.HasPrefix(w, "-") || w == "-" || w == "--" {
			continue
		}
		name := strings.TrimLeft(w, "-")
		a := Arg{Field: words[i].field, Line: lines(words[i].field)}
		if n, v, ok := strings.Cut(name, "="); ok {
			a.Name, a.Value, a.HasValue = n, v, true
		} else {
			a.Name = name
			if takesValue(comp, name) && i+1 < len(words) && !strings.HasPrefix(words[i+1].word, "-") {
				a.Value, a.HasValue = words[i+1].word, true
				i++
			}
		}
		out = append(out, a)
	}
	return out
}

// valueFlags are flags spdoc reads the value of besides the file flags.
var valueFlags = map[string]bool{
	"advertise-address": true, "bind-address": true, "secure-port": true, "etcd-servers": true,
	"listen-client-urls": true, "listen-peer-urls": true, "advertise-client-urls": true,
	"initial-advertise-peer-urls": true, "listen-metrics-urls": true, "client-cert-auth": false,
}

func takesValue(comp Component, name string) bool {
	if _, ok := Spec(comp, name); ok {
		return true
	}
	if comp == HAProxy || comp == Keepalived {
		return name == "f" || name == "use-file"
	}
	return valueFlags[name]
}

// hostPathOf maps a path inside the container to the node path it comes from through a hostPath
// volume (longest mountPath prefix wins). ok is false when the path is not from the node.
func (in *Instance) hostPathOf(p string) (host, volume, hostPathType string, ok bool) {
	if in.onNode {
		return path.Clean(p), "", "", path.IsAbs(p)
	}
	if in.pod == nil || in.ci >= len(in.pod.Spec.Containers) {
		return "", "", "", false
	}
	c := &in.pod.Spec.Containers[in.ci]
	if !path.IsAbs(p) {
		wd := c.WorkingDir
		if wd == "" {
			wd = "/"
		}
		p = path.Join(wd, p)
	}
	p = path.Clean(p)
	best := -1
	for i, m := range c.VolumeMounts {
		mp := path.Clean(m.MountPath)
		if p != mp && !strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/") {
			continue
		}
		if best < 0 || len(mp) > len(path.Clean(c.VolumeMounts[best].MountPath)) {
			best = i
		}
	}
	if best < 0 {
		return "", "", "", false
	}
	m := c.VolumeMounts[best]
	for _, v := range in.pod.Spec.Volumes {
		if v.Name != m.Name {
			continue
		}
		if v.HostPath == nil {
			return "", v.Name, "", false
		}
		rel := strings.TrimPrefix(p, path.Clean(m.MountPath))
		base := v.HostPath.Path
		if m.SubPath != "" {
			base = path.Join(base, m.SubPath)
		}
		t := ""
		if v.HostPath.Type != nil {
			t = string(*v.HostPath.Type)
		}
		return path.Join(base, rel), v.Name, t, true
	}
	return "", m.Name, "", false
}

// Endpoint is an address a component serves on.
type Endpoint struct {
	Host string `json:"host"` // "" or 0.0.0.0/:: for every address
	Port int    `json:"port"`
	Why  string `json:"why"` // the flag or probe that needs it
}

// unspecified reports whether host means every address.
func unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// urlEndpoints parses a comma-separated URL list flag (etcd's --listen-client-urls).
func urlEndpoints(v, why string, defPort int) []Endpoint {
	var out []Endpoint
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			continue
		}
		port := defPort
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err == nil {
				port = n
			}
		}
		if u.Scheme == "unix" || u.Scheme == "unixs" {
			continue
		}
		out = append(out, Endpoint{Host: u.Hostname(), Port: port, Why: "--" + why})
	}
	return out
}

// Serves lists the addresses the component listens on, from its flags and defaults.
func (in *Instance) Serves() []Endpoint {
	portFlag := func(def int) int {
		if a, ok := in.Flag("secure-port"); ok {
			if n, err := strconv.Atoi(a.Value); err == nil {
				return n
			}
		}
		return def
	}
	bind := ""
	if a, ok := in.Flag("bind-address"); ok {
		bind = a.Value
	}
	switch in.Component {
	case KubeAPIServer:
		return []Endpoint{{Host: bind, Port: portFlag(DefaultAPIServerPort), Why: "--secure-port"}}
	case KubeControllerManager:
		return []Endpoint{{Host: bind, Port: portFlag(DefaultControllerManagerPort), Why: "--secure-port"}}
	case KubeScheduler:
		return []Endpoint{{Host: bind, Port: portFlag(DefaultSchedulerPort), Why: "--secure-port"}}
	case Etcd:
		var out []Endpoint
		client := "http://localhost:2379"
		if a, ok := in.Flag("listen-client-urls"); ok {
			client = a.Value
		}
		out = append(out, urlEndpoints(client, "listen-client-urls", DefaultEtcdClientPort)...)
		peer := "http://localhost:2380"
		if a, ok := in.Flag("listen-peer-urls"); ok {
			peer = a.Value
		}
		out = append(out, urlEndpoints(peer, "listen-peer-urls", DefaultEtcdPeerPort)...)
		if a, ok := in.Flag("listen-metrics-urls"); ok {
			out = append(out, urlEndpoints(a.Value, "listen-metrics-urls", 0)...)
		}
		return out
	}
	return nil
}

// NeedsPorts lists every host port the container needs: its component's listeners, and with
// hostNetwork its declared container ports and the ports of its probes.
func (in *Instance) NeedsPorts() []Endpoint {
	out := in.Serves()
	if in.pod == nil || !in.HostNetwork {
		return dedupEndpoints(out)
	}
	c := &in.pod.Spec.Containers[in.ci]
	for _, p := range c.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			out = append(out, Endpoint{Host: p.HostIP, Port: int(p.ContainerPort), Why: "ports " + orStr(p.Name, strconv.Itoa(int(p.ContainerPort)))})
		}
	}
	for _, pr := range []struct {
		name string
		p    *corev1.Probe
	}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
		if pr.p == nil {
			continue
		}
		var port int
		switch {
		case pr.p.HTTPGet != nil:
			port = resolvePort(c, pr.p.HTTPGet.Port.IntValue(), pr.p.HTTPGet.Port.String())
		case pr.p.TCPSocket != nil:
			port = resolvePort(c, pr.p.TCPSocket.Port.IntValue(), pr.p.TCPSocket.Port.String())
		}
		if port > 0 {
			out = append(out, Endpoint{Port: port, Why: pr.name})
		}
	}
	return dedupEndpoints(out)
}

func resolvePort(c *corev1.Container, n int, s string) int {
	if n > 0 {
		return n
	}
	for _, p := range c.Ports {
		if p.Name == s {
			return int(p.ContainerPort)
		}
	}
	return 0
}

func dedupEndpoints(in []Endpoint) []Endpoint {
	seen := map[int]int{}
	var out []Endpoint
	for _, e := range in {
		if e.Port <= 0 {
			continue
		}
		if i, ok := seen[e.Port]; ok {
			if !strings.Contains(out[i].Why, e.Why) {
				out[i].Why += ", " + e.Why
			}
			if unspecified(out[i].Host) || !unspecified(e.Host) {
				continue
			}
			out[i].Host = e.Host
			continue
		}
		seen[e.Port] = len(out)
		out = append(out, e)
	}
	return out
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// FlagHostPath is the node path of the file a flag names (through the pod's hostPath volumes).
func (in *Instance) FlagHostPath(flag string) (string, bool) {
	a, ok := in.Flag(flag)
	if !ok || !a.HasValue || a.Value == "" {
		return "", false
	}
	h, _, _, ok := in.hostPathOf(a.Value)
	return h, ok
}
