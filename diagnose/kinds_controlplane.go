// Control-plane kinds: what spdoc says about the components a control plane runs as static pods
// (etcd, kube-apiserver, kube-controller-manager, kube-scheduler…) from the files their flags
// name, their crashed instances' own last lines, the ports they need, the API server's mirror
// pods and stale instances. The checks are in rules_controlplane.go.

package diagnose

import (
	"fmt"
	"strings"
)

const (
	KindUnknownFlag           Kind = "UnknownFlag"
	KindCertificateExpired    Kind = "CertificateExpired"
	KindCertificateInvalid    Kind = "CertificateInvalid"
	KindReferencedFileMissing Kind = "ReferencedFileMissing"
	KindPortInUse             Kind = "PortInUse"
	KindStaleInstance         Kind = "StaleInstance"
	KindComponentError        Kind = "ComponentError"
	KindDependencyUnreachable Kind = "DependencyUnreachable"
	KindCertificateExpiring   Kind = "CertificateExpiring"
	KindMirrorPodMissing      Kind = "MirrorPodMissing"
	KindMirrorPodOutdated     Kind = "MirrorPodOutdated"
	KindMirrorPodsUnchecked   Kind = "MirrorPodsUnchecked"
)

// The checks write each finding's texts (they know the file, flag, port, holder); Describe keeps
// them and gives a bare finding words of its own.
func init() {
	registerKinds(
		kindSpec{Kind: KindStaleInstance, Rank: 131, Severity: SeverityError, Describe: describeCP(
			"an old instance of the pod still runs beside the new one",
			"After a manifest change the kubelet skips deleting the old instance while its API source is not ready (\"skipping delete because sources aren't ready yet\"), so both run and fight for the same ports.",
			"crictl pods --name <pod>; crictl stopp <old-sandbox-id> && crictl rmp <old-sandbox-id>")},
		kindSpec{Kind: KindUnknownFlag, Rank: 132, Severity: SeverityError, Container: true, Describe: describeCP(
			"the component does not accept a flag of its command",
			"The component exits at start on a flag its version does not define (removed or renamed in this release).",
			"remove or rename the flag in the manifest")},
		kindSpec{Kind: KindCertificateExpired, Rank: 133, Severity: SeverityError, Container: true, Describe: describeCP(
			"a certificate the component uses has expired",
			"TLS peers refuse an expired certificate: clients cannot connect, the component cannot authenticate.",
			"kubeadm certs check-expiration; kubeadm certs renew <name>, then restart the component")},
		kindSpec{Kind: KindCertificateInvalid, Rank: 134, Severity: SeverityError, Container: true, Describe: describeCP(
			"a certificate or key the component uses is not valid",
			"The file does not parse, its key does not match, it does not cover the address served on, or it is not signed by the CA that must verify it.",
			"openssl x509 -noout -text -in <file>; re-issue it from the right CA")},
		kindSpec{Kind: KindReferencedFileMissing, Rank: 136, Severity: SeverityError, Container: true, Describe: describeCP(
			"a file the component's flags name is missing",
			"The component reads the file at start; without it, it exits.",
			"restore the file on the node (or fix the flag and the hostPath volume)")},
		kindSpec{Kind: KindPortInUse, Rank: 137, Severity: SeverityError, Container: true, Describe: describeCP(
			"a port the component needs is already in use",
			"With hostNetwork the pod binds the node's own ports; another process holds it, so the component cannot listen and exits.",
			"ss -ltnp; stop whatever holds the port")},
		kindSpec{Kind: KindComponentError, Rank: 138, Severity: SeverityError, Container: true, Describe: describeCP(
			"the component reports an error it cannot start past",
			"The last lines of the failed instance say why it exits.",
			"read the component's log: spdoc logs <pod> --previous")},
		kindSpec{Kind: KindDependencyUnreachable, Rank: 139, Severity: SeverityError, Container: true, Describe: describeCP(
			"the component cannot reach a service it depends on",
			"The component dials a dependency (the API server etcd, the controllers the API server) and gets no connection.",
			"check the dependency's own pod first")},
		kindSpec{Kind: KindCertificateExpiring, Rank: 161, Severity: SeverityWarning, Container: true, Describe: describeCP(
			"a certificate the component uses expires within 30 days",
			"kubeadm warns 30 days ahead too (kubeadm certs check-expiration); once expired, TLS peers refuse it.",
			"kubeadm certs renew <name> (or re-issue it from its CA), then restart the component")},
		kindSpec{Kind: KindMirrorPodMissing, Rank: 261, Severity: SeverityWarning, Describe: describeCP(
			"the pod runs, but has no mirror pod: invisible to kubectl",
			"The kubelet creates a mirror pod in the API server for each static pod; without it kubectl get pods does not show the pod.",
			"grep 'Failed creating a mirror pod' in the kubelet log")},
		kindSpec{Kind: KindMirrorPodOutdated, Rank: 262, Severity: SeverityWarning, Describe: describeCP(
			"the mirror pod shows an older version of the manifest",
			"Its kubernetes.io/config.mirror is not the hash of the manifest the kubelet runs now; kubectl shows stale spec and status.",
			"the kubelet replaces it once it can reach the API server; check the kubelet log for mirror pod errors")},
		kindSpec{Kind: KindMirrorPodsUnchecked, Rank: 263, Severity: SeverityInfo, Describe: describeCP(
			"mirror pods cannot be checked",
			"spdoc reads mirror pods from the API server with the kubelet's kubeconfig; it could not.",
			"spdoc diagnose --kubeconfig FILE")},
	)
}

// describeCP keeps the texts a check wrote and fills what it left empty.
func describeCP(title, detail, hint string) func(f *Finding, b *findingBuilder, tc textCtx) {
	return func(f *Finding, b *findingBuilder, tc textCtx) {
		if f.Title == "" {
			f.Title = title
			if len(b.pre) > 0 {
				f.Title += ": " + ellipsis(b.pre[0].Line, 120)
			}
		}
		if f.Detail == "" {
			f.Detail = detail
		}
		if f.Hint == "" {
			f.Hint = hint
		}
	}
}

// kubeadmCertName is the `kubeadm certs renew` name of a kubeadm-managed file, "" for others.
func kubeadmCertName(hostPath string) (name string, isCA bool) {
	switch hostPath {
	case "/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/etcd/ca.crt", "/etc/kubernetes/pki/front-proxy-ca.crt":
		return "", true
	}
	names := map[string]string{
		"/etc/kubernetes/pki/apiserver.crt":                "apiserver",
		"/etc/kubernetes/pki/apiserver.key":                "apiserver",
		"/etc/kubernetes/pki/apiserver-kubelet-client.crt": "apiserver-kubelet-client",
		"/etc/kubernetes/pki/apiserver-kubelet-client.key": "apiserver-kubelet-client",
		"/etc/kubernetes/pki/apiserver-etcd-client.crt":    "apiserver-etcd-client",
		"/etc/kubernetes/pki/apiserver-etcd-client.key":    "apiserver-etcd-client",
		"/etc/kubernetes/pki/front-proxy-client.crt":       "front-proxy-client",
		"/etc/kubernetes/pki/front-proxy-client.key":       "front-proxy-client",
		"/etc/kubernetes/pki/etcd/server.crt":              "etcd-server",
		"/etc/kubernetes/pki/etcd/server.key":              "etcd-server",
		"/etc/kubernetes/pki/etcd/peer.crt":                "etcd-peer",
		"/etc/kubernetes/pki/etcd/peer.key":                "etcd-peer",
		"/etc/kubernetes/pki/etcd/healthcheck-client.crt":  "etcd-healthcheck-client",
		"/etc/kubernetes/admin.conf":                       "admin.conf",
		"/etc/kubernetes/super-admin.conf":                 "super-admin.conf",
		"/etc/kubernetes/controller-manager.conf":          "controller-manager.conf",
		"/etc/kubernetes/scheduler.conf":                   "scheduler.conf",
	}
	return names[hostPath], false
}

// renewHint is the way to a fresh certificate for a file, and how to restart a static pod.
func renewHint(hostPath, manifest, issuer string) string {
	restart := "then restart the pod: move " + manifest + " out of the manifest directory and back (the kubelet restarts a static pod only when its manifest changes)"
	name, isCA := kubeadmCertName(hostPath)
	switch {
	case name != "":
		return fmt.Sprintf("kubeadm certs check-expiration; kubeadm certs renew %s; %s", name, restart)
	case isCA:
		return "a CA cannot be renewed in place by kubeadm: rotate it (https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/) and re-issue what it signed; " + restart
	}
	if issuer != "" {
		return fmt.Sprintf("re-issue %s from its CA (%s); %s", hostPath, issuer, restart)
	}
	return fmt.Sprintf("re-issue %s; %s", hostPath, restart)
}

func manifestBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
