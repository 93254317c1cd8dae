package controlplane

import (
	"net"
	"strings"
)

// chainRule says that the certificate a flag names must be verifiable by the CA another flag
// names — because a peer verifies it with that CA at run time. Only relations that must hold for
// the control plane to work are listed.
type chainRule struct {
	leafComp Component
	leafFlag string // a cert flag, or a kubeconfig flag (its client certificate)
	caComp   Component
	caFlag   string // a CA flag, or a kubeconfig flag (its certificate-authority)
	// when, if set, must hold on the CA side's instance (e.g. etcd only checks client certs with
	// --client-cert-auth=true).
	when func(ca *Instance) bool
	why  string
}

func flagTrue(name string) func(*Instance) bool {
	return func(in *Instance) bool {
		a, ok := in.Flag(name)
		return ok && (!a.HasValue || strings.EqualFold(a.Value, "true"))
	}
}

var chainRules = []chainRule{
	{Etcd, "peer-cert-file", Etcd, "peer-trusted-ca-file", flagTrue("peer-client-cert-auth"), "etcd members verify each other's peer certificate with --peer-trusted-ca-file"},
	{KubeAPIServer, "etcd-certfile", Etcd, "trusted-ca-file", flagTrue("client-cert-auth"), "etcd verifies the API server's client certificate with its --trusted-ca-file"},
	{Etcd, "cert-file", KubeAPIServer, "etcd-cafile", nil, "the API server verifies etcd's serving certificate with its --etcd-cafile"},
	{KubeAPIServer, "proxy-client-cert-file", KubeAPIServer, "requestheader-client-ca-file", nil, "aggregated API servers verify the front-proxy client certificate with --requestheader-client-ca-file"},
	{KubeControllerManager, "kubeconfig", KubeAPIServer, "client-ca-file", nil, "the API server verifies client certificates with its --client-ca-file"},
	{KubeScheduler, "kubeconfig", KubeAPIServer, "client-ca-file", nil, "the API server verifies client certificates with its --client-ca-file"},
	{KubeScheduler, "config", KubeAPIServer, "client-ca-file", nil, "the API server verifies client certificates with its --client-ca-file"},
	{KubeAPIServer, "tls-cert-file", KubeControllerManager, "kubeconfig", nil, "kube-controller-manager verifies the API server's certificate with its kubeconfig's certificate-authority"},
	{KubeAPIServer, "tls-cert-file", KubeScheduler, "kubeconfig", nil, "kube-scheduler verifies the API server's certificate with its kubeconfig's certificate-authority"},
}

// crossCheck adds the problems that need two files: key pairs, serving SANs, CA chains.
func crossCheck(instances []*Instance, files []FileCheck) {
	byFlag := func(in *Instance, flag string) *FileCheck {
		for i := range files {
			f := &files[i]
			if f.Pod == in.Pod && f.Container == in.Container && f.Flag == flag {
				return f
			}
		}
		return nil
	}
	for _, in := range instances {
		for i := range files {
			f := &files[i]
			if f.Pod != in.Pod || f.Container != in.Container {
				continue
			}
			spec, _ := Spec(in.Component, f.Flag)
			// Key pairs.
			if f.Kind == FileKey && f.Key != nil && spec.Pair != "" {
				if cf := byFlag(in, spec.Pair); cf != nil && len(cf.Certs) > 0 {
					m := cf.Certs[0].PublicKey == f.Key.PublicKey
					f.Key.Matches, f.Key.Pair = &m, "--"+spec.Pair
					if !m {
						p := f.add(ProblemKeyMismatch, "%s (%s) is not the key of %s (%s, %s): the component cannot serve or authenticate with this pair",
							f.HostPath, f.FlagRef(), cf.HostPath, cf.FlagRef(), cf.Certs[0].Subject)
						p.Cert = cf.Certs[0].Subject
					}
				}
			}
			// --tls-sni-cert-key pairs: the key follows its cert in the same flag.
			if f.Kind == FileKey && f.Key != nil && spec.Kind == FileCertKey && i > 0 {
				cf := &files[i-1]
				if cf.Flag == f.Flag && cf.Kind == FileCert && len(cf.Certs) > 0 && cf.Certs[0].PublicKey != f.Key.PublicKey {
					f.add(ProblemKeyMismatch, "%s is not the key of %s (both in --%s)", f.HostPath, cf.HostPath, f.Flag)
				}
			}
			// Serving SANs.
			if spec.Serving && f.Kind == FileCert && len(f.Certs) > 0 {
				for _, host := range servedHosts(in, f.Flag) {
					if !f.Certs[0].covers(host) {
						p := f.add(ProblemSAN, "%s (%s) is served on %s but is valid only for %s", f.HostPath, f.FlagRef(), host, orStr(f.Certs[0].SANs(), "no names"))
						p.Cert = f.Certs[0].Subject
					}
				}
			}
		}
	}
	// CA chains.
	for _, r := range chainRules {
		for _, leafIn := range instances {
			if leafIn.Component != r.leafComp {
				continue
			}
			leaf := byFlag(leafIn, r.leafFlag)
			if leaf == nil {
				continue
			}
			leafCert, inter, ok := leafOf(leaf)
			if !ok {
				continue
			}
			for _, caIn := range instances {
				if caIn.Component != r.caComp || (r.when != nil && !r.when(caIn)) {
					continue
				}
				caf := byFlag(caIn, r.caFlag)
				if caf == nil {
					continue
				}
				cas := casOf(caf)
				if len(cas) == 0 {
					continue
				}
				if r.leafComp == KubeAPIServer && r.leafFlag == "tls-cert-file" && !pointsAtLocal(caf, leafIn) {
					continue // the kubeconfig points at another API server (a VIP or load balancer)
				}
				if !signedBy(leafCert, inter, cas) {
					p := leaf.add(ProblemChain, "%s (%s, issued by %s) is not signed by the CA in %s (%s of %s, %s): %s",
						leaf.HostPath, leaf.FlagRef(), leafCert.Issuer, caf.HostPath, caf.FlagRef(), caIn.Pod, cas[0].Subject, r.why)
					p.Cert = leafCert.Subject
				}
			}
		}
	}
	saKeys(instances, files, byFlag)
}

// leafOf is the certificate a file presents: the first cert of a cert file, the client
// certificate of a kubeconfig.
func leafOf(f *FileCheck) (CertInfo, []CertInfo, bool) {
	switch f.Kind {
	case FileCert:
		if len(f.Certs) > 0 {
			return f.Certs[0], f.Certs[1:], true
		}
	case FileKubeconfig, FileKubeSchedC:
		for i, c := range f.Certs {
			if strings.HasPrefix(c.From, "client-certificate") {
				return c, f.Certs[i+1:], true
			}
		}
	}
	return CertInfo{}, nil, false
}

// casOf is the CA bundle a file provides: a CA file's certs, a kubeconfig's certificate-authority.
func casOf(f *FileCheck) []CertInfo {
	switch f.Kind {
	case FileCA:
		return f.Certs
	case FileKubeconfig, FileKubeSchedC:
		var out []CertInfo
		for _, c := range f.Certs {
			if strings.HasPrefix(c.From, "certificate-authority") {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

// pointsAtLocal reports whether a kubeconfig's server is the API server instance on this node
// (loopback, or its advertise/bind address).
func pointsAtLocal(kc *FileCheck, api *Instance) bool {
	if kc.Kubeconfig == nil {
		return false
	}
	host := serverHost(kc.Kubeconfig.Server)
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, f := range []string{"advertise-address", "bind-address"} {
		if a, ok := api.Flag(f); ok && a.Value == host {
			return true
		}
	}
	return false
}

// servedHosts are the addresses clients reach a serving certificate's component on.
func servedHosts(in *Instance, certFlag string) []string {
	var hosts []string
	add := func(h string) {
		if unspecified(h) {
			return
		}
		for _, x := range hosts {
			if x == h {
				return
			}
		}
		hosts = append(hosts, h)
	}
	switch in.Component {
	case KubeAPIServer:
		if a, ok := in.Flag("advertise-address"); ok {
			add(a.Value)
		} else if a, ok := in.Flag("bind-address"); ok {
			add(a.Value)
		}
	case Etcd:
		urls := []string{"advertise-client-urls"}
		if certFlag == "peer-cert-file" {
			urls = []string{"initial-advertise-peer-urls"}
		}
		for _, f := range urls {
			if a, ok := in.Flag(f); ok {
				for _, e := range urlEndpoints(a.Value, f, 0) {
					add(e.Host)
				}
			}
		}
	}
	return hosts
}

// saKeys checks that the service-account signing keys can be verified by the API server: the
// public half of --service-account-signing-key-file (and the controller manager's
// --service-account-private-key-file) must be among --service-account-key-file's keys.
func saKeys(instances []*Instance, files []FileCheck, byFlag func(*Instance, string) *FileCheck) {
	for _, api := range instances {
		if api.Component != KubeAPIServer {
			continue
		}
		var verify []string
		var verifyFiles []string
		for i := range files {
			f := &files[i]
			if f.Pod == api.Pod && f.Container == api.Container && f.Flag == "service-account-key-file" {
				verify = append(verify, f.PublicKeys...)
				verifyFiles = append(verifyFiles, f.HostPath)
			}
		}
		if len(verify) == 0 {
			continue
		}
		has := func(k string) bool {
			for _, v := range verify {
				if v == k {
					return true
				}
			}
			return false
		}
		for _, in := range instances {
			flag := ""
			switch in.Component {
			case KubeAPIServer:
				if in != api {
					continue
				}
				flag = "service-account-signing-key-file"
			case KubeControllerManager:
				flag = "service-account-private-key-file"
			default:
				continue
			}
			f := byFlag(in, flag)
			if f == nil || f.Key == nil || has(f.Key.PublicKey) {
				continue
			}
			f.add(ProblemChain, "%s (%s of %s) is not among the API server's --service-account-key-file keys (%s): tokens it signs are rejected",
				f.HostPath, f.FlagRef(), in.Pod, strings.Join(verifyFiles, ", "))
		}
	}
}
