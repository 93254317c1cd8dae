// Package controlplane holds what spdoc knows about the components a control plane runs as static
// pods — etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kube-vip, haproxy and
// keepalived: which of their flags name files (certificates, keys, CAs, kubeconfigs,
// service-account keys, data dirs), how to check those files on the node, what their crashed
// instances say in their last lines, which ports they need and who holds them, and what the API
// server and the kubelet say about their pods. It reads; diagnose explains.
package controlplane

// Component is a control-plane program spdoc knows, named as its binary.
type Component string

const (
	Etcd                  Component = "etcd"
	KubeAPIServer         Component = "kube-apiserver"
	KubeControllerManager Component = "kube-controller-manager"
	KubeScheduler         Component = "kube-scheduler"
	KubeVIP               Component = "kube-vip"
	HAProxy               Component = "haproxy"
	Keepalived            Component = "keepalived"
	// Kubelet is not a static pod: its kubeconfig (the client certificate it reaches the API
	// server with) is checked like a component's file.
	Kubelet Component = "kubelet"
)

// Components lists every known component in a stable order.
var Components = []Component{Etcd, KubeAPIServer, KubeControllerManager, KubeScheduler, KubeVIP, HAProxy, Keepalived}

// FileKind says what a flag's file is and so which checks apply to it.
type FileKind string

const (
	FileCert       FileKind = "cert"         // PEM certificate (a leaf, maybe followed by its chain)
	FileKey        FileKind = "key"          // PEM private key, paired with a FileCert flag
	FileCA         FileKind = "ca"           // PEM bundle of CA certificates
	FileKubeconfig FileKind = "kubeconfig"   // kubeconfig (its embedded and referenced certs are checked)
	FileSAPublic   FileKind = "sa-key"       // service-account verification keys (public keys, certs or private keys)
	FileSAPrivate  FileKind = "sa-signing"   // service-account signing private key
	FileDataDir    FileKind = "data-dir"     // a directory the component keeps its state in
	FileCertDir    FileKind = "cert-dir"     // a directory certificates are written to when no cert is named
	FileConfig     FileKind = "config"       // a configuration file read at start (presence only: may hold secrets)
	FileCertKey    FileKind = "cert-key"     // "cert,key[:names]" pair (--tls-sni-cert-key)
	FileKubeSchedC FileKind = "sched-config" // KubeSchedulerConfiguration (clientConnection.kubeconfig is followed)
)

// FlagSpec is one flag of a component that names a file.
type FlagSpec struct {
	Name string   // without dashes
	Kind FileKind // what the file is
	// Pair is the certificate flag a key flag belongs to (and the key flag of a certificate).
	Pair string
	// Serving marks a certificate the component serves with: its SANs must cover the address
	// it serves on.
	Serving bool
	// Optional marks a flag whose file may legitimately be absent at start (none today; kept so a
	// future flag can say so instead of being left out).
	Optional bool
}

// The tables below are the upstream flag definitions that name files, checked against the
// sources of Kubernetes v1.34 and etcd v3.6 (file:line of each definition in the comments).

// apiserverGeneric are the flags k8s.io/apiserver's options give every server built on it
// (kube-apiserver, kube-controller-manager, kube-scheduler).
var apiserverServing = []FlagSpec{
	{Name: "tls-cert-file", Kind: FileCert, Pair: "tls-private-key-file", Serving: true}, // apiserver/pkg/server/options/serving.go:175
	{Name: "tls-private-key-file", Kind: FileKey, Pair: "tls-cert-file"},                 // serving.go:181
	{Name: "cert-dir", Kind: FileCertDir},                                                // serving.go:171
	{Name: "tls-sni-cert-key", Kind: FileCertKey},                                        // serving.go:197
	{Name: "client-ca-file", Kind: FileCA},                                               // authentication.go:205
	{Name: "requestheader-client-ca-file", Kind: FileCA},                                 // authentication.go:146
}

var delegatingAuth = []FlagSpec{
	{Name: "authentication-kubeconfig", Kind: FileKubeconfig}, // apiserver/pkg/server/options/authentication.go:312
	{Name: "authorization-kubeconfig", Kind: FileKubeconfig},  // apiserver/pkg/server/options/authorization.go:145
}

// FileFlags are the flags of each component that name files.
var FileFlags = map[Component][]FlagSpec{
	KubeAPIServer: concat(apiserverServing, []FlagSpec{
		{Name: "etcd-certfile", Kind: FileCert, Pair: "etcd-keyfile"},                    // apiserver/pkg/server/options/etcd.go:180
		{Name: "etcd-keyfile", Kind: FileKey, Pair: "etcd-certfile"},                     // etcd.go:177
		{Name: "etcd-cafile", Kind: FileCA},                                              // etcd.go:183
		{Name: "encryption-provider-config", Kind: FileConfig},                           // etcd.go:186
		{Name: "kubelet-client-certificate", Kind: FileCert, Pair: "kubelet-client-key"}, // kubernetes/cmd/kube-apiserver/app/options/options.go:143
		{Name: "kubelet-client-key", Kind: FileKey, Pair: "kubelet-client-certificate"},  // options.go:146
		{Name: "kubelet-certificate-authority", Kind: FileCA},                            // options.go:149
		{Name: "proxy-client-cert-file", Kind: FileCert, Pair: "proxy-client-key-file"},  // kubernetes/pkg/controlplane/apiserver/options/options.go:174
		{Name: "proxy-client-key-file", Kind: FileKey, Pair: "proxy-client-cert-file"},   // options.go:182
		{Name: "peer-ca-file", Kind: FileCA},                                             // options.go:187
		{Name: "service-account-signing-key-file", Kind: FileSAPrivate},                  // options.go:207
		{Name: "service-account-key-file", Kind: FileSAPublic},                           // kubernetes/pkg/kubeapiserver/options/authentication.go:407
		{Name: "oidc-ca-file", Kind: FileCA},                                             // authentication.go:70
		{Name: "token-auth-file", Kind: FileConfig},                                      // authentication.go:447
		{Name: "authentication-token-webhook-config-file", Kind: FileKubeconfig},         // authentication.go:453
		{Name: "authentication-config", Kind: FileConfig},                                // authentication.go:321
		{Name: "authorization-webhook-config-file", Kind: FileKubeconfig},                // kubernetes/pkg/kubeapiserver/options/authorization.go:43
		{Name: "authorization-policy-file", Kind: FileConfig},                            // authorization.go:47
		{Name: "authorization-config", Kind: FileConfig},                                 // authorization.go:48
		{Name: "admission-control-config-file", Kind: FileConfig},                        // apiserver/pkg/server/options/admission.go:117
		{Name: "audit-policy-file", Kind: FileConfig},                                    // apiserver/pkg/server/options/audit.go:258
		{Name: "audit-webhook-config-file", Kind: FileKubeconfig},                        // audit.go:539
		{Name: "egress-selector-config-file", Kind: FileConfig},                          // apiserver/pkg/server/options/egress_selector.go:51
		{Name: "tracing-config-file", Kind: FileConfig},                                  // apiserver/pkg/server/options/tracing.go:81
	}),
	KubeControllerManager: concat(apiserverServing, delegatingAuth, []FlagSpec{
		{Name: "kubeconfig", Kind: FileKubeconfig},                                                                          // kubernetes/cmd/kube-controller-manager/app/options/options.go:299
		{Name: "root-ca-file", Kind: FileCA},                                                                                // serviceaccountcontroller.go:38
		{Name: "service-account-private-key-file", Kind: FileSAPrivate},                                                     // serviceaccountcontroller.go:36
		{Name: "cluster-signing-cert-file", Kind: FileCA, Pair: "cluster-signing-key-file"},                                 // csrsigningcontroller.go:38
		{Name: "cluster-signing-key-file", Kind: FileKey, Pair: "cluster-signing-cert-file"},                                // csrsigningcontroller.go:39
		{Name: "cluster-signing-kubelet-serving-cert-file", Kind: FileCA, Pair: "cluster-signing-kubelet-serving-key-file"}, // csrsigningcontroller.go:40
		{Name: "cluster-signing-kubelet-serving-key-file", Kind: FileKey, Pair: "cluster-signing-kubelet-serving-cert-file"},
		{Name: "cluster-signing-kubelet-client-cert-file", Kind: FileCA, Pair: "cluster-signing-kubelet-client-key-file"}, // csrsigningcontroller.go:42
		{Name: "cluster-signing-kubelet-client-key-file", Kind: FileKey, Pair: "cluster-signing-kubelet-client-cert-file"},
		{Name: "cluster-signing-kube-apiserver-client-cert-file", Kind: FileCA, Pair: "cluster-signing-kube-apiserver-client-key-file"}, // csrsigningcontroller.go:44
		{Name: "cluster-signing-kube-apiserver-client-key-file", Kind: FileKey, Pair: "cluster-signing-kube-apiserver-client-cert-file"},
		{Name: "cluster-signing-legacy-unknown-cert-file", Kind: FileCA, Pair: "cluster-signing-legacy-unknown-key-file"}, // csrsigningcontroller.go:46
		{Name: "cluster-signing-legacy-unknown-key-file", Kind: FileKey, Pair: "cluster-signing-legacy-unknown-cert-file"},
		{Name: "cloud-config", Kind: FileConfig},            // cloud-provider/options/cloudprovider.go:40
		{Name: "leader-migration-config", Kind: FileConfig}, // controller-manager/pkg/leadermigration/options/options.go:53
	}),
	KubeScheduler: concat(apiserverServing, delegatingAuth, []FlagSpec{
		{Name: "kubeconfig", Kind: FileKubeconfig}, // kubernetes/cmd/kube-scheduler/app/options/deprecated.go:46
		{Name: "config", Kind: FileKubeSchedC},     // kubernetes/cmd/kube-scheduler/app/options/options.go:203
	}),
	Etcd: {
		{Name: "data-dir", Kind: FileDataDir},                                          // etcd/server/embed/config.go:754
		{Name: "wal-dir", Kind: FileDataDir},                                           // config.go:755
		{Name: "cert-file", Kind: FileCert, Pair: "key-file", Serving: true},           // config.go:842
		{Name: "key-file", Kind: FileKey, Pair: "cert-file"},                           // config.go:843
		{Name: "client-cert-file", Kind: FileCert, Pair: "client-key-file"},            // config.go:844
		{Name: "client-key-file", Kind: FileKey, Pair: "client-cert-file"},             // config.go:845
		{Name: "trusted-ca-file", Kind: FileCA},                                        // config.go:849
		{Name: "peer-cert-file", Kind: FileCert, Pair: "peer-key-file", Serving: true}, // config.go:851
		{Name: "peer-key-file", Kind: FileKey, Pair: "peer-cert-file"},                 // config.go:852
		{Name: "peer-client-cert-file", Kind: FileCert, Pair: "peer-client-key-file"},  // config.go:853
		{Name: "peer-client-key-file", Kind: FileKey, Pair: "peer-client-cert-file"},   // config.go:854
		{Name: "peer-trusted-ca-file", Kind: FileCA},                                   // config.go:856
		{Name: "client-crl-file", Kind: FileConfig},                                    // config.go:847
		{Name: "peer-crl-file", Kind: FileConfig},                                      // config.go:859
		{Name: "discovery-cert", Kind: FileCert, Pair: "discovery-key"},                // config.go:826
		{Name: "discovery-key", Kind: FileKey, Pair: "discovery-cert"},                 // config.go:827
		{Name: "discovery-cacert", Kind: FileCA},                                       // config.go:828
		{Name: "config-file", Kind: FileConfig},                                        // etcd/server/etcdmain/config.go:129
	},
	// kube-vip is configured by environment and a kubeconfig it mounts; its manager command
	// takes --k8sConfigPath (kube-vip cmd/kube-vip.go, default /etc/kubernetes/admin.conf).
	KubeVIP: {
		{Name: "k8sConfigPath", Kind: FileKubeconfig},
	},
	// haproxy -f <config> (may repeat); keepalived -f/--use-file <config>.
	HAProxy:    {{Name: "f", Kind: FileConfig}},
	Keepalived: {{Name: "use-file", Kind: FileConfig}, {Name: "f", Kind: FileConfig}},
}

// DefaultFile is a file a component reads when none of its flags names it.
type DefaultFile struct {
	Flag string // the flag that would override it
	Path string // path inside the container
	Kind FileKind
}

// DefaultFiles are the files a component reads by default, checked like a flag's when the flag
// is absent (kube-vip reads the admin kubeconfig unless --k8sConfigPath says otherwise; the
// haproxy image's CMD names /usr/local/etc/haproxy/haproxy.cfg; keepalived reads
// /etc/keepalived/keepalived.conf).
var DefaultFiles = map[Component][]DefaultFile{
	KubeVIP:    {{Flag: "k8sConfigPath", Path: "/etc/kubernetes/admin.conf", Kind: FileKubeconfig}},
	HAProxy:    {{Flag: "f", Path: "/usr/local/etc/haproxy/haproxy.cfg", Kind: FileConfig}},
	Keepalived: {{Flag: "use-file", Path: "/etc/keepalived/keepalived.conf", Kind: FileConfig}},
}

func concat(parts ...[]FlagSpec) []FlagSpec {
	var out []FlagSpec
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Spec returns the spec of a component's file flag.
func Spec(c Component, flag string) (FlagSpec, bool) {
	for _, s := range FileFlags[c] {
		if s.Name == flag {
			return s, true
		}
	}
	return FlagSpec{}, false
}

// Default ports (the component's own defaults, used when its flags do not say).
const (
	DefaultAPIServerPort         = 6443  // --secure-port
	DefaultControllerManagerPort = 10257 // --secure-port
	DefaultSchedulerPort         = 10259 // --secure-port
	DefaultEtcdClientPort        = 2379
	DefaultEtcdPeerPort          = 2380
)
