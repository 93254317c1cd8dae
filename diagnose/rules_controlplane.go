// The control-plane checks (kinds in kinds_controlplane.go): referenced files, a crashed
// component's last words, ports, stale instances, mirror pods and the kubelet's own pod status.

package diagnose

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
)

func init() {
	registerChecks(check{Name: "controlplane", Run: func(a *analyzer) { a.controlPlaneRules() }})
	registerCauseRules(controlPlaneCauses()...)
}

// failureKinds are what a component's own words (or a broken file) explain.
var failureKinds = map[Kind]bool{KindCrashLoop: true, KindContainerFailed: true, KindContainerRestarted: true, KindProbeFailed: true}

// wordsSource marks evidence that is a classified line of the failed instance.
const wordsSourcePrefix = "pod-log:"

func hasWords(b *findingBuilder) bool {
	for _, e := range b.post {
		if strings.HasPrefix(e.Source, wordsSourcePrefix) {
			return true
		}
	}
	return false
}

// controlPlaneCauses: a crashed component's own last words explain its crash loop (first), then
// a broken file it needs does when its words say nothing; a stale instance explains the port
// fight; a missing mirror pod explains the kubelet's refusals.
func controlPlaneCauses() []causeRule {
	var out []causeRule
	order := []Kind{KindUnknownFlag, KindReferencedFileMissing, KindCertificateExpired, KindCertificateInvalid, KindPortInUse, KindComponentError, KindDependencyUnreachable}
	out = append(out, causeRule{
		Name: "a stale instance explains the port fight and the crash loop", Priority: 104, Cause: KindStaleInstance,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			return !effect.f.History && (effect.f.Kind == KindPortInUse || effect.f.Kind == KindComponentError || failureKinds[effect.f.Kind])
		},
	})
	for i, k := range order {
		k := k
		out = append(out, causeRule{
			Name: "the component's last words (" + string(k) + ") explain its crash loop", Priority: 105 + i, Cause: k,
			Explains: func(p *podState, cause, effect *findingBuilder) bool {
				return failureKinds[effect.f.Kind] && !effect.f.History && cause.f.Container == effect.f.Container && hasWords(cause)
			},
		})
	}
	for i, k := range order[:4] {
		k := k
		out = append(out, causeRule{
			Name: "a broken file the component needs (" + string(k) + ") explains its crash loop", Priority: 120 + i, Cause: k,
			Explains: func(p *podState, cause, effect *findingBuilder) bool {
				if !failureKinds[effect.f.Kind] || effect.f.History || cause.f.Container != effect.f.Container || cause.f.Severity != SeverityError {
					return false
				}
				for _, other := range p.fs.list {
					if other != cause && other.f.Container == effect.f.Container && hasWords(other) {
						return false // the component said something else: that explains it
					}
				}
				return true
			},
		})
	}
	out = append(out, causeRule{
		// A hostPath of type File/Directory whose path is missing: the kubelet cannot mount it.
		Name: "a missing referenced file explains the kubelet's mount failure", Priority: 125, Cause: KindReferencedFileMissing,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			if effect.f.Kind != KindVolumeMountFailed || effect.f.History {
				return false
			}
			for _, e := range cause.pre {
				file, ok := strings.CutPrefix(e.Source, "file:")
				if !ok || file == "" {
					continue
				}
				for _, r := range effect.recs {
					if strings.Contains(r.Msg+" "+r.Err, file) {
						return true
					}
				}
				for _, x := range effect.pre {
					if strings.Contains(x.Line, file) {
						return true
					}
				}
			}
			return false
		},
	})
	out = append(out, causeRule{
		Name: "a missing mirror pod explains the kubelet's mirror pod errors", Priority: 130, Cause: KindMirrorPodMissing,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			return effect.f.Kind == KindMirrorPodFailed
		},
	})
	return out
}

func (a *analyzer) controlPlaneRules() {
	a.staleInstances()
	cp := a.s.ControlPlane
	if cp == nil {
		return
	}
	a.cpFiles(cp)
	a.cpLastWords(cp)
	a.cpPorts(cp)
	a.cpMirror(cp)
	a.cpKubelet(cp)
}

// ---- referenced files ----

func problemKind(p controlplane.ProblemKind) Kind {
	switch p {
	case controlplane.ProblemMissing, controlplane.ProblemUnreadable, controlplane.ProblemEmpty, controlplane.ProblemWrongType:
		return KindReferencedFileMissing
	case controlplane.ProblemExpired, controlplane.ProblemNotYetValid:
		return KindCertificateExpired
	case controlplane.ProblemExpiring:
		return KindCertificateExpiring
	}
	return KindCertificateInvalid
}

// flagEvidence points at the manifest line of a file flag.
func flagEvidence(f *controlplane.FileCheck) Evidence {
	src := "manifest:" + f.Manifest
	if f.Line > 0 {
		src += ":" + strconv.Itoa(f.Line)
	}
	line := f.FlagRef() + "=" + f.Path
	if f.HostPath != "" && f.HostPath != f.Path {
		line += " (node: " + f.HostPath + ")"
	}
	if f.Volume != "" {
		line += fmt.Sprintf(" via hostPath volume %q", f.Volume)
		if f.HostPathType != "" {
			line += " type " + f.HostPathType
		}
	}
	return Evidence{Source: src, Line: line, Count: 1}
}

// certSummary is a certificate's metadata in one line.
func certSummary(c *controlplane.CertInfo) string {
	s := fmt.Sprintf("subject %s, issuer %s, valid %s to %s", c.Subject, c.Issuer, c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
	if sans := c.SANs(); sans != "" {
		s += ", SANs " + sans
	}
	return s
}

func (a *analyzer) addPre(b *findingBuilder, e Evidence) {
	for _, x := range b.pre {
		if x.Source == e.Source && x.Line == e.Line {
			return
		}
	}
	b.pre = append(b.pre, e)
}

func (a *analyzer) cpFiles(cp *controlplane.State) {
	count := map[*findingBuilder]int{}
	seen := map[*findingBuilder]map[string]bool{} // distinct files per finding
	for i := range cp.Files {
		f := &cp.Files[i]
		set := &a.node // the kubelet's own files are the node's
		if f.Pod != "" {
			pod := a.pods[f.Pod]
			if pod == nil {
				continue
			}
			set = &pod.fs
		}
		for _, p := range f.Problems {
			kind := problemKind(p.Kind)
			container := f.Container
			if f.Pod == "" {
				container = ""
			}
			b := set.get(kind, container)
			a.addPre(b, flagEvidence(f))
			line := p.Message
			for j := range f.Certs {
				if f.Certs[j].Subject == p.Cert || (p.Cert == "" && j == 0) {
					line += " — " + certSummary(&f.Certs[j])
					break
				}
			}
			a.addPre(b, Evidence{Source: "file:" + orDefault(f.HostPath, f.Path), Line: line, Count: 1})
			if seen[b] == nil {
				seen[b] = map[string]bool{}
			}
			file0 := orDefault(f.HostPath, f.Path)
			if seen[b][file0] {
				continue // the same file named by another flag (--kubeconfig and --authentication-kubeconfig)
			}
			seen[b][file0] = true
			count[b]++
			if count[b] > 1 {
				continue
			}
			where := fmt.Sprintf("%s, %s", f.FlagRef(), manifestBase(f.Manifest))
			if f.Line > 0 {
				where += fmt.Sprintf(" line %d", f.Line)
			}
			if f.Manifest == "" {
				where = "the " + string(f.Component) + "'s " + f.FlagRef()
			}
			file := orDefault(f.HostPath, f.Path)
			issuer := ""
			if len(f.Certs) > 0 {
				issuer = f.Certs[0].Issuer
			}
			comp := string(f.Component)
			if f.Component == controlplane.Kubelet {
				comp = "the kubelet (its client certificate reaches the API server; without it no mirror pods, no node status)"
			}
			switch kind {
			case KindCertificateExpired:
				b.f.Title = fmt.Sprintf("certificate %s (%s) %s", file, where, expiryPhrase(p))
				b.f.Detail = fmt.Sprintf("%s uses this certificate; TLS peers refuse it outside its validity period, so connections with it fail.", comp)
				b.f.Hint = renewHint(file, f.Manifest, issuer)
			case KindCertificateExpiring:
				b.f.Title = fmt.Sprintf("certificate %s (%s) %s", file, where, expiryPhrase(p))
				b.f.Detail = fmt.Sprintf("%s uses this certificate; kubeadm warns 30 days ahead (kubeadm certs check-expiration). Once expired, TLS peers refuse it.", comp)
				b.f.Hint = renewHint(file, f.Manifest, issuer)
			case KindCertificateInvalid:
				b.f.Title = fmt.Sprintf("%s (%s): %s", file, where, invalidPhrase(p))
				b.f.Detail = p.Message
				b.f.Hint = invalidHint(p.Kind, file, f.Manifest, issuer)
			case KindReferencedFileMissing:
				b.f.Title = fmt.Sprintf("%s named by %s (%s) %s", file, f.FlagRef(), manifestBase(f.Manifest)+lineOf(f.Line), missingPhrase(p.Kind))
				b.f.Detail = p.Message + fmt.Sprintf(". %s reads it at start and exits without it.", comp)
				if f.Manifest == "" {
					b.f.Title = fmt.Sprintf("%s named by %s %s", file, where, missingPhrase(p.Kind))
					b.f.Detail = p.Message + ". Without it the kubelet cannot reach the API server: static pods run, but no mirror pods and no node status."
				}
				if f.Volume != "" {
					b.f.Detail += fmt.Sprintf(" It comes from the hostPath volume %q", f.Volume)
					if f.HostPathType != "" {
						b.f.Detail += " (type " + f.HostPathType + ")"
					}
					b.f.Detail += "."
				}
				b.f.Hint = missingHint(f)
			}
		}
	}
	for b := range count {
		if b.f.Container == "" && strings.Contains(b.f.Title, "the kubelet's") && (b.f.Kind == KindCertificateExpired || b.f.Kind == KindCertificateExpiring) {
			b.f.Hint = kubeletCertHint
		}
	}
	for b, n := range count {
		if n > 1 {
			b.f.Title += fmt.Sprintf(" (and %d more)", n-1)
		}
	}
}

// kubeletCertHint: the kubelet renews its own client certificate; once it has expired it cannot.
const kubeletCertHint = "the kubelet renews its client certificate itself (rotateCertificates: true in its config; /var/lib/kubelet/pki/kubelet-client-current.pem) — check why it did not: journalctl -u kubelet | grep -i certificate; once expired, issue a new one (kubeadm: kubeadm kubeconfig user --org system:nodes --client-name system:node:$(hostname) > /etc/kubernetes/kubelet.conf on a control-plane node), then systemctl restart kubelet"

func lineOf(n int) string {
	if n <= 0 {
		return ""
	}
	return " line " + strconv.Itoa(n)
}

func expiryPhrase(p controlplane.Problem) string {
	switch p.Kind {
	case controlplane.ProblemNotYetValid:
		return "is not valid yet: " + p.Message
	case controlplane.ProblemExpiring:
		return "expires on " + p.NotAfter.Format(time.RFC3339)
	}
	return "expired on " + p.NotAfter.Format(time.RFC3339)
}

func invalidPhrase(p controlplane.Problem) string {
	switch p.Kind {
	case controlplane.ProblemKeyMismatch:
		return "key and certificate are not a pair"
	case controlplane.ProblemSAN:
		return "the certificate does not cover the address it is served on"
	case controlplane.ProblemChain:
		return "not signed by the CA that has to verify it"
	case controlplane.ProblemNotCA:
		return "not a CA certificate"
	}
	return "not a valid certificate, key or kubeconfig"
}

func invalidHint(k controlplane.ProblemKind, file, manifest, issuer string) string {
	switch k {
	case controlplane.ProblemKeyMismatch:
		return "compare: openssl x509 -noout -pubkey -in CERT | sha256sum; openssl pkey -pubout -in KEY | sha256sum — restore the matching pair or re-issue both; " + renewHint(file, manifest, issuer)
	case controlplane.ProblemSAN:
		return "re-issue it with the address in its SANs (kubeadm: apiServer.certSANs / etcd.local.serverCertSANs, remove the old cert and key, kubeadm init phase certs <name>), or serve on an address it covers"
	case controlplane.ProblemChain:
		return "re-issue it from the CA its peer trusts (or give the peer the CA that signed it); openssl verify -CAfile CA " + file
	}
	return "openssl x509 -noout -text -in " + file + " shows what is wrong; restore it from a backup or re-issue it — " + renewHint(file, manifest, issuer)
}

func missingPhrase(k controlplane.ProblemKind) string {
	switch k {
	case controlplane.ProblemEmpty:
		return "is empty"
	case controlplane.ProblemUnreadable:
		return "cannot be read"
	case controlplane.ProblemWrongType:
		return "has the wrong type"
	}
	return "does not exist"
}

func missingHint(f *controlplane.FileCheck) string {
	file := orDefault(f.HostPath, f.Path)
	name, isCA := kubeadmCertName(file)
	switch {
	case strings.HasSuffix(name, ".conf"):
		return fmt.Sprintf("restore %s (kubeadm: kubeadm init phase kubeconfig %s), then restart the pod by moving %s out of the manifest directory and back", file, strings.TrimSuffix(name, ".conf"), f.Manifest)
	case name != "":
		return fmt.Sprintf("restore %s (kubeadm: kubeadm init phase certs %s), or fix %s in %s", file, name, f.FlagRef(), f.Manifest)
	case isCA:
		return fmt.Sprintf("restore the CA %s from a backup (a new CA invalidates every certificate it signed), or fix %s in %s", file, f.FlagRef(), f.Manifest)
	}
	return fmt.Sprintf("restore %s on the node, or fix %s in %s", file, f.FlagRef(), f.Manifest)
}

// ---- last words ----

// failing reports whether the container of the pod is failing now (a current crash loop,
// failure or failing probe), from the runtime or the kubelet's log.
func (a *analyzer) failing(pod *podState, container string) bool {
	for _, b := range pod.fs.list {
		// A failing probe counts too: an etcd waiting on its data dir's lock hangs rather than
		// exits, and its words say why.
		if b.f.Container == container && !b.f.History && (b.f.Kind == KindCrashLoop || b.f.Kind == KindContainerFailed || b.f.Kind == KindOOMKilled || b.f.Kind == KindProbeFailed) {
			return true
		}
	}
	return false
}

// failedLines are the lines of the container's failed instance: the previous one when the
// current runs again, else the current one.
func (a *analyzer) failedLines(pod *podState, container string) ([]podlog.Line, string) {
	running := false
	if vc := pod.view.Container(container); vc != nil {
		running = vc.Running()
	}
	for _, t := range pod.e.tails {
		if t.Container != container {
			continue
		}
		lines, inst := t.Current, t.Instance
		if (running || len(lines) == 0) && len(t.Previous) > 0 {
			lines, inst = t.Previous, t.Instance-1
		}
		return lines, fmt.Sprintf("%s%s/%s/%d.log", wordsSourcePrefix, strings.ReplaceAll(t.Pod, "/", "_"), container, inst)
	}
	return nil, ""
}

func (a *analyzer) cpLastWords(cp *controlplane.State) {
	for _, in := range cp.Instances {
		pod := a.pods[in.Pod]
		if pod == nil || !a.failing(pod, in.Container) {
			continue
		}
		lines, src := a.failedLines(pod, in.Container)
		if len(lines) == 0 {
			continue
		}
		text := make([]string, len(lines))
		byText := map[string]podlog.Line{}
		for i, l := range lines {
			text[i] = l.Msg
			byText[strings.TrimSpace(l.Msg)] = l
		}
		w, _, ok := controlplane.LastWords(text)
		if !ok {
			continue
		}
		l := byText[w.Line]
		ev := Evidence{Source: src, TS: l.TS, Line: l.Stream + ": " + l.Msg, Count: 1}
		a.words(cp, pod, in, w, ev)
	}
}

func (a *analyzer) words(cp *controlplane.State, pod *podState, in *controlplane.Instance, w controlplane.Words, ev Evidence) {
	kind := Kind(w.Kind)
	b := pod.fs.get(kind, in.Container)
	b.post = append(b.post, ev)
	comp := string(in.Component)
	manifest := manifestBase(in.Manifest)
	said := ellipsis(tailEllipsis(w.Line, 200), 200)
	switch kind {
	case KindUnknownFlag:
		line := in.FlagLine(w.Flag)
		dash := "--"
		if len(w.Flag) == 1 {
			dash = "-" // a shorthand (pflag: unknown shorthand flag 'x')
		}
		if line > 0 {
			a.addPre(b, Evidence{Source: "manifest:" + in.Manifest + ":" + strconv.Itoa(line), Line: dash + w.Flag, Count: 1})
		}
		b.f.Title = fmt.Sprintf("%s does not accept %s%s (%s%s)", comp, dash, w.Flag, manifest, lineOf(line))
		b.f.Detail = fmt.Sprintf("%s exits at start: \"%s\". The flag is not defined in this version (removed, renamed, or misspelt).", comp, said)
		b.f.Hint = fmt.Sprintf("remove or rename %s%s in %s%s; the flags of this version: %s --help", dash, w.Flag, in.Manifest, lineOf(line), comp)
	case KindCertificateExpired, KindCertificateInvalid:
		if b.f.Title != "" {
			return // the file check named the file already; the words are its evidence
		}
		peer := a.peerOf(cp, w)
		b.f.Title = fmt.Sprintf("%s: TLS fails: %s", comp, ellipsis(x509Part(w.Line), 140))
		b.f.Detail = fmt.Sprintf("The failed instance's last words: \"%s\".", said)
		b.f.Hint = "openssl s_client -connect " + orDefault(w.Address, "HOST:PORT") + " shows the certificate presented; check expiry, SANs and the CA"
		if peer != nil {
			if f := a.servingCert(cp, peer); f != nil {
				b.f.Title = fmt.Sprintf("%s cannot talk to %s at %s: %s", comp, peer.Component, w.Address, ellipsis(x509Part(w.Line), 100))
				a.addPre(b, flagEvidence(f))
				for _, p := range f.Problems {
					a.addPre(b, Evidence{Source: "file:" + orDefault(f.HostPath, f.Path), Line: p.Message, Count: 1})
				}
				issuer := ""
				if len(f.Certs) > 0 {
					issuer = f.Certs[0].Issuer
					a.addPre(b, Evidence{Source: "file:" + orDefault(f.HostPath, f.Path), Line: certSummary(&f.Certs[0]), Count: 1})
				}
				b.f.Detail += fmt.Sprintf(" %s serves %s with %s (%s of %s).", peer.Component, w.Address, orDefault(f.HostPath, f.Path), f.FlagRef(), manifestBase(peer.Manifest))
				b.f.Hint = renewHint(orDefault(f.HostPath, f.Path), peer.Manifest, issuer)
			}
		}
	case KindReferencedFileMissing:
		if b.f.Title != "" {
			return
		}
		for i := range cp.Files {
			f := &cp.Files[i]
			match := f.Path == w.Path && w.Path != ""
			if w.Reason == "kubeconfig-empty" {
				match = (f.Kind == controlplane.FileKubeconfig || f.Kind == controlplane.FileKubeSchedC) && len(f.Problems) > 0
			}
			if f.Pod == in.Pod && f.Container == in.Container && match {
				a.addPre(b, flagEvidence(f))
				b.f.Title = fmt.Sprintf("%s named by %s (%s%s) does not exist", orDefault(f.HostPath, f.Path), f.FlagRef(), manifest, lineOf(f.Line))
				b.f.Hint = missingHint(f)
			}
		}
		if b.f.Title == "" && w.Reason == "kubeconfig-empty" {
			b.f.Title = comp + "'s kubeconfig is empty"
			b.f.Hint = "restore the kubeconfig (kubeadm: kubeadm init phase kubeconfig <name>); a hostPath volume of type FileOrCreate creates an empty file when the real one is missing"
		}
		if b.f.Title == "" {
			b.f.Title = fmt.Sprintf("%s cannot open %s: no such file or directory", comp, w.Path)
			b.f.Hint = fmt.Sprintf("restore %s, or fix the flag that names it in %s (is it mounted from the node by a hostPath volume?)", w.Path, in.Manifest)
		}
		b.f.Detail = fmt.Sprintf("%s exits at start: \"%s\".", comp, said)
	case KindPortInUse:
		a.portWords(cp, pod, in, w, b)
	case KindDependencyUnreachable:
		a.dependency(cp, in, w, b)
	case KindComponentError:
		b.f.Title, b.f.Detail, b.f.Hint = componentError(in, w, said)
	}
}

// x509Part keeps the TLS/x509 words of a long dial error.
func x509Part(line string) string {
	for _, k := range []string{"x509: ", "tls: ", "remote error: "} {
		if i := strings.Index(line, k); i >= 0 {
			return strings.TrimRight(line[i:], `"`)
		}
	}
	return line
}

// peerOf is the instance on this node serving the address a component dialed.
func (a *analyzer) peerOf(cp *controlplane.State, w controlplane.Words) *controlplane.Instance {
	return cp.ServedBy(w.Port())
}

// servingCert is the certificate file a peer serves with on the dialed port.
func (a *analyzer) servingCert(cp *controlplane.State, peer *controlplane.Instance) *controlplane.FileCheck {
	flag := map[controlplane.Component]string{controlplane.Etcd: "cert-file", controlplane.KubeAPIServer: "tls-cert-file",
		controlplane.KubeControllerManager: "tls-cert-file", controlplane.KubeScheduler: "tls-cert-file"}[peer.Component]
	for i := range cp.Files {
		f := &cp.Files[i]
		if f.Pod == peer.Pod && f.Container == peer.Container && f.Flag == flag {
			return f
		}
	}
	return nil
}

func componentError(in *controlplane.Instance, w controlplane.Words, said string) (title, detail, hint string) {
	comp := string(in.Component)
	detail = fmt.Sprintf("The failed instance's last words: \"%s\".", said)
	dataDir := "/var/lib/etcd"
	if a, ok := in.Flag("data-dir"); ok && a.Value != "" {
		dataDir = a.Value
	}
	switch w.Reason {
	case "etcd-no-space":
		return "etcd's database space is exceeded (NOSPACE alarm): writes are refused", detail + " etcd raises the NOSPACE alarm when the backend reaches --quota-backend-bytes and then only serves reads and deletes.",
			"etcdctl endpoint status -w table; etcdctl compact $(rev); etcdctl defrag; etcdctl alarm disarm — and raise --quota-backend-bytes if the data needs it"
	case "etcd-db-locked":
		return "etcd's database file is locked by another process", detail + " Another etcd (an old instance of this pod, or one outside Kubernetes) holds " + dataDir + "/member/snap/db.",
			"fuser -v " + dataDir + "/member/snap/db; stop the other etcd (crictl ps --name etcd)"
	case "etcd-data-dir":
		return "etcd cannot use its data dir " + dataDir, detail + " The data directory is unreadable, damaged, or belongs to another member or cluster.",
			"ls -la " + dataDir + "/member; if damaged: restore it from a snapshot (etcdutl snapshot restore) or remove this member and re-add it"
	case "etcd-member-removed":
		return "this etcd member was removed from the cluster", detail, "re-add the member (etcdctl member add) with a fresh data dir, or restore the cluster"
	case "etcd-cluster-config":
		return "etcd's cluster configuration does not match its data", detail, "check --name, --initial-cluster and --initial-advertise-peer-urls against etcdctl member list"
	case "permission-denied":
		return fmt.Sprintf("%s cannot access %s: permission denied", comp, w.Path), detail + " The component runs as a user (securityContext) that cannot read or write it.",
			fmt.Sprintf("ls -la %s; fix its owner or mode, or the pod's securityContext.runAsUser in %s", w.Path, in.Manifest)
	case "kubeconfig-empty":
		return comp + "'s kubeconfig is empty", detail + " A hostPath volume of type FileOrCreate creates an empty file when the real one is missing.",
			"restore the kubeconfig (kubeadm: kubeadm init phase kubeconfig <name>), then restart the pod"
	case "bind-cannot-assign":
		return fmt.Sprintf("%s cannot listen on %s: the address is not on this node", comp, w.Address), detail,
			"ip -br addr; fix the address flags (--advertise-address, --bind-address, --listen-*-urls) in " + in.Manifest
	}
	return comp + ": " + ellipsis(w.Line, 140), detail, "spdoc logs " + in.Namespace + "/" + in.Name + " --previous"
}

// ---- ports ----

// holderPod names the pod a holder's container belongs to.
func (a *analyzer) holderPod(h controlplane.PortHolder) (e *podEntry, desc string) {
	if h.ContainerID != "" {
		if e = a.ix.byCID[h.ContainerID]; e != nil {
			return e, fmt.Sprintf("container %s of static pod %s/%s", shortID(h.ContainerID), e.ns, e.kubeletName)
		}
		if a.s.Runtime != nil {
			for _, c := range a.s.Runtime.Containers {
				if c.ID == h.ContainerID {
					return nil, fmt.Sprintf("container %s (%s) of pod %s/%s", c.Name, shortID(c.ID), c.PodNamespace, c.PodName)
				}
			}
		}
		desc = "container " + shortID(h.ContainerID)
	}
	if h.PodUID != "" {
		if e = a.ix.byUID[h.PodUID]; e != nil {
			return e, fmt.Sprintf("pod %s/%s (uid %s)", e.ns, e.kubeletName, h.PodUID)
		}
		desc = strings.TrimSpace(desc + " of pod uid " + h.PodUID)
	}
	return nil, desc
}

func holderText(a *analyzer, hs []controlplane.PortHolder) string {
	var parts []string
	for _, h := range hs {
		s := h.Describe()
		if h.PID == 0 {
			s = "a socket whose owner spdoc cannot see"
		}
		if _, pd := a.holderPod(h); pd != "" {
			s += ", " + pd
		} else if h.PID != 0 {
			s += ", not in a container"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func holderEvidence(h controlplane.PortHolder) Evidence {
	line := fmt.Sprintf("%s listens on %s", h.Describe(), h.Addr)
	if len(h.Args) > 0 {
		line += ": " + ellipsis(strings.Join(h.Args, " "), 160)
	}
	if !h.Started.IsZero() {
		line += " (started " + h.Started.Format(time.RFC3339) + ")"
	}
	return Evidence{Source: "proc", TS: h.Started, Line: line, Count: 1}
}

// ownHolder: the holder is the pod's own current container (it listens on its own port).
func (a *analyzer) ownHolder(pod *podState, h controlplane.PortHolder) bool {
	for _, c := range pod.view.Containers {
		if h.ContainerID != "" && c.Current.ID == h.ContainerID {
			return true
		}
	}
	uid := a.currentUID(pod)
	return uid != "" && h.PodUID == uid
}

func (a *analyzer) portWords(cp *controlplane.State, pod *podState, in *controlplane.Instance, w controlplane.Words, b *findingBuilder) {
	port := w.Port()
	comp := string(in.Component)
	b.f.Title = fmt.Sprintf("%s cannot listen on %s: address already in use", comp, w.Address)
	b.f.Detail = "With hostNetwork the pod binds the node's own port; another process holds it, so the component exits at start."
	b.f.Hint = fmt.Sprintf("ss -ltnp 'sport = :%d'; stop whatever holds it", port)
	for _, u := range cp.Ports {
		if u.Pod != in.Pod || u.Port != port {
			continue
		}
		var others []controlplane.PortHolder
		for _, h := range u.Holders {
			if !a.ownHolder(pod, h) {
				others = append(others, h)
			}
		}
		if len(others) == 0 {
			continue
		}
		b.f.Title = fmt.Sprintf("port %d (%s) of %s is held by %s", port, u.Why, comp, holderText(a, others))
		for _, h := range others {
			a.addPre(b, holderEvidence(h))
		}
		b.f.Hint = portHint(a, pod, others, port)
	}
}

func portHint(a *analyzer, pod *podState, hs []controlplane.PortHolder, port int) string {
	for _, h := range hs {
		if e, _ := a.holderPod(h); e != nil && e == pod.e {
			if len(e.pods) > 1 {
				var files []string
				for _, sp := range e.pods {
					files = append(files, sp.Source)
				}
				return "the pod is defined twice (" + strings.Join(files, ", ") + "): the kubelet runs both and they fight for the port — remove the copy that should not run (a *.bak in the manifest directory is loaded too)"
			}
			return "an old instance of this pod holds it: see StaleInstance; crictl stopp <old sandbox>"
		}
		if e, _ := a.holderPod(h); e != nil {
			return fmt.Sprintf("static pod %s/%s uses the same port: change one of them, or remove the manifest that should not run (%s)", e.ns, e.kubeletName, e.manifest)
		}
		if h.ContainerID != "" {
			return "crictl ps | grep " + shortID(h.ContainerID) + "; stop that container"
		}
		if h.PID != 0 {
			return fmt.Sprintf("stop pid %d (%s): systemctl status %d shows which service started it", h.PID, h.Comm, h.PID)
		}
	}
	return fmt.Sprintf("ss -ltnp 'sport = :%d'", port)
}

// cpPorts: a pod that is not running while another process holds a port it needs.
func (a *analyzer) cpPorts(cp *controlplane.State) {
	for _, u := range cp.Ports {
		pod := a.pods[u.Pod]
		if pod == nil || pod.view.Running() {
			continue
		}
		if b := pod.fs.find(KindPortInUse); b != nil {
			continue // the component's own words said so, with the holder
		}
		var others []controlplane.PortHolder
		for _, h := range u.Holders {
			if !a.ownHolder(pod, h) {
				others = append(others, h)
			}
		}
		if len(others) == 0 || !a.failing(pod, u.Container) {
			continue
		}
		b := pod.fs.get(KindPortInUse, u.Container)
		b.f.Title = fmt.Sprintf("port %d (%s) of %s is held by %s", u.Port, u.Why, orDefault(string(u.Component), u.Container), holderText(a, others))
		b.f.Detail = "The container keeps failing while another process listens on a port it needs (hostNetwork: the node's own port)."
		b.f.Hint = portHint(a, pod, others, u.Port)
		for _, h := range others {
			a.addPre(b, holderEvidence(h))
		}
	}
}

// ---- dependencies ----

func (a *analyzer) dependency(cp *controlplane.State, in *controlplane.Instance, w controlplane.Words, b *findingBuilder) {
	comp := string(in.Component)
	port := w.Port()
	var peer *controlplane.Instance
	if port > 0 {
		peer = cp.ServedBy(port)
	} else if in.Component == controlplane.KubeAPIServer {
		for _, x := range cp.Instances {
			if x.Component == controlplane.Etcd {
				peer = x
			}
		}
	}
	how := map[string]string{"dial-refused": "connection refused", "dial-timeout": "no answer (timeout)", "etcd-timeout": "gave up waiting for etcd"}[w.Reason]
	target := w.Address
	depName := dependencyName(port, in)
	if peer != nil {
		depName = string(peer.Component)
	}
	if target == "" {
		target = depName
	}
	b.f.Title = fmt.Sprintf("%s cannot reach %s at %s: %s", comp, depName, target, how)
	if w.Address == "" {
		b.f.Title = fmt.Sprintf("%s cannot reach %s: %s", comp, depName, how)
	}
	b.f.Detail = fmt.Sprintf("The failed instance's last words: \"%s\".", ellipsis(tailEllipsis(w.Line, 200), 200))
	switch {
	case peer == nil:
		b.f.Detail += fmt.Sprintf(" No static pod on this node serves %s", orDefault(w.Address, depName))
		if a.dir != "" {
			b.f.Detail += fmt.Sprintf(" (no manifest in %s declares it)", a.dir)
		}
		b.f.Detail += "."
		if depName == "etcd" {
			b.f.Title += " — etcd is not running on this node"
			b.f.Hint = fmt.Sprintf("is etcd's manifest missing from %s? (kubeadm: kubeadm init phase etcd local); else check the etcd endpoints in --etcd-servers", orDefault(a.dir, "the manifest directory"))
		} else {
			b.f.Hint = "check that " + depName + " runs and listens on " + orDefault(w.Address, "its address")
		}
	default:
		pp := a.pods[peer.Pod]
		state := "not running"
		if pp != nil && pp.view.Running() {
			state = "running, but not answering there"
		}
		var why []string
		if pp != nil {
			for _, x := range pp.fs.list {
				if !x.f.History && x.f.Severity == SeverityError {
					why = append(why, string(x.f.Kind))
				}
			}
		}
		b.f.Title += fmt.Sprintf(" — %s (%s/%s) is %s", peer.Component, peer.Namespace, peer.Name, state)
		b.f.Detail += fmt.Sprintf(" %s is served on this node by the static pod %s (%s), which is %s", orDefault(w.Address, depName), peer.Pod, peer.Manifest, state)
		if len(why) > 0 {
			b.f.Detail += ": see its " + strings.Join(why, ", ") + " findings"
		}
		b.f.Detail += "."
		b.f.Hint = fmt.Sprintf("fix %s first (spdoc diagnose shows its pod %s/%s); %s recovers once it answers", peer.Component, peer.Namespace, peer.Name, comp)
	}
}

func dependencyName(port int, in *controlplane.Instance) string {
	switch {
	case port == controlplane.DefaultEtcdClientPort || port == controlplane.DefaultEtcdPeerPort:
		return "etcd"
	case port == controlplane.DefaultAPIServerPort:
		return "kube-apiserver"
	case in.Component == controlplane.KubeAPIServer:
		return "etcd"
	case in.Component == controlplane.KubeControllerManager || in.Component == controlplane.KubeScheduler:
		return "kube-apiserver"
	}
	return "its dependency"
}

// ---- stale instances ----

// staleGrace is how long two instances may run side by side before the old one counts as stale:
// when its sources are ready the kubelet kills the old instance within seconds of the new one.
const staleGrace = 30 * time.Second

// staleInstances: two ready sandboxes of one static pod with different UIDs — an old instance
// the kubelet did not delete (it skips deletes until its sources are ready) beside the new one.
func (a *analyzer) staleInstances() {
	rt := a.s.Runtime
	if rt == nil || !rt.Reachable {
		return
	}
	for _, id := range a.ix.order {
		pod := a.pods[id]
		var ready []cri.Sandbox
		uids := map[string]bool{}
		for _, sb := range pod.e.sandboxes {
			if sb.State == "SANDBOX_READY" {
				ready = append(ready, sb)
				uids[sb.UID] = true
			}
		}
		if len(uids) < 2 {
			continue
		}
		sort.Slice(ready, func(i, j int) bool { return ready[i].CreatedAt.Before(ready[j].CreatedAt) })
		newest := ready[len(ready)-1]
		if !a.s.Taken.IsZero() && a.s.Taken.Sub(newest.CreatedAt) < staleGrace {
			continue // a replacement under way: the kubelet kills the old instance within seconds
		}
		b := pod.fs.get(KindStaleInstance, "")
		var olds []string
		for _, sb := range ready {
			if sb.UID == newest.UID {
				continue
			}
			olds = append(olds, shortID(sb.ID))
			line := fmt.Sprintf("sandbox %s (uid %s) created %s is still ready", shortID(sb.ID), sb.UID, sb.CreatedAt.UTC().Format(time.RFC3339))
			for _, c := range rt.Containers {
				if c.SandboxID == sb.ID && c.State == "CONTAINER_RUNNING" {
					line += fmt.Sprintf("; container %s (%s) running since %s", c.Name, shortID(c.ID), c.StartedAt.UTC().Format(time.RFC3339))
				}
			}
			b.pre = append(b.pre, Evidence{Source: criSource(rt.Endpoint), TS: sb.CreatedAt, Line: line, Count: 1})
		}
		b.pre = append(b.pre, Evidence{Source: criSource(rt.Endpoint), TS: newest.CreatedAt,
			Line: fmt.Sprintf("sandbox %s (uid %s) created %s is the current manifest's", shortID(newest.ID), newest.UID, newest.CreatedAt.UTC().Format(time.RFC3339)), Count: 1})
		for i := range kubeletRecords(a.s) {
			r := &a.s.KubeletLog.Records[i]
			if strings.Contains(r.Msg, "sources aren't ready") || strings.Contains(r.Err, "sources aren't ready") {
				b.add(r)
			}
		}
		b.f.Title = fmt.Sprintf("an old instance of %s/%s (sandbox %s) still runs beside the new one (uid %s)", pod.e.ns, pod.e.kubeletName, strings.Join(olds, ", "), newest.UID)
		b.f.Detail = "The manifest changed while the kubelet could not reach the API server; the kubelet skips deleting the old instance until its sources are ready (\"skipping delete because sources aren't ready yet\"), so both run and fight for the same ports and files."
		b.f.Hint = fmt.Sprintf("stop the old instance: crictl stopp %s && crictl rmp %s (or bring the API server back so the kubelet deletes it)", strings.Join(olds, " "), strings.Join(olds, " "))
	}
}

// ---- mirror pods ----

func (a *analyzer) cpMirror(cp *controlplane.State) {
	m := cp.Mirror
	if m == nil {
		return
	}
	if !m.Checked {
		if m.Reason == controlplane.ReasonNoKubeconfig || m.From == "--no-api" {
			return
		}
		b := a.node.get(KindMirrorPodsUnchecked, "")
		b.f.Title = "mirror pods cannot be checked: " + uncheckedPhrase(m)
		b.f.Detail = m.Error + "."
		for _, in := range cp.Instances {
			if in.Component != controlplane.KubeAPIServer {
				continue
			}
			if pod := a.pods[in.Pod]; pod != nil && !pod.view.Running() {
				b.f.Detail += fmt.Sprintf(" The API server on this node (static pod %s) is not running: see its findings.", in.Pod)
			}
		}
		b.f.Detail += " Static pods run without the API server; only their mirror pods (what kubectl shows) wait for it."
		b.f.Hint = "this report does not need the API server; once it answers: kubectl get pods -A --field-selector spec.nodeName=" + m.Node
		b.pre = append(b.pre, Evidence{Source: "api:" + orDefault(m.Server, m.Kubeconfig), Line: m.Error, Count: 1})
		return
	}
	byName := map[string]*controlplane.MirrorPod{}
	for i := range m.Pods {
		byName[m.Pods[i].Namespace+"/"+m.Pods[i].Name] = &m.Pods[i]
	}
	for _, id := range a.ix.order {
		pod := a.pods[id]
		e := pod.e
		if e.orphan || !pod.valid || e.kubeletName == "" {
			continue
		}
		mp := byName[e.ns+"/"+e.kubeletName]
		if mp != nil {
			pod.rep.Mirror = mp
		}
		uid := a.currentUID(pod)
		src := "api:" + orDefault(m.Server, m.Kubeconfig)
		switch {
		case mp == nil:
			b := pod.fs.get(KindMirrorPodMissing, "")
			b.f.Title = fmt.Sprintf("no mirror pod %s/%s in the API server: the pod runs, but is invisible to kubectl", e.ns, e.kubeletName)
			if !pod.view.Running() {
				b.f.Title = fmt.Sprintf("no mirror pod %s/%s in the API server: kubectl cannot show this pod", e.ns, e.kubeletName)
			}
			b.f.Detail = "The kubelet creates a mirror pod for each static pod; the API server has none for this one."
			b.f.Hint = "the kubelet's reason is in its log (\"Failed creating a mirror pod\"); fix what the API server refuses in " + e.manifest
			if mf := pod.fs.find(KindMirrorPodFailed); mf != nil {
				why := firstErr(mf)
				b.f.Detail += " The kubelet's reason: " + ellipsis(why, 300) + "."
				b.f.Hint = mirrorHint(why, e.manifest)
				b.recs = append(b.recs, mf.recs...)
				b.first, b.last = mf.first, mf.last
			}
			if m.NodeRegistered != nil && !*m.NodeRegistered {
				b.f.Detail += fmt.Sprintf(" The Node %s is not registered: the kubelet creates mirror pods only once its Node object exists.", m.Node)
			}
			b.pre = append(b.pre, Evidence{Source: src, Line: fmt.Sprintf("no pod %s/%s with annotation %s on node %s", e.ns, e.kubeletName, controlplane.AnnotationConfigMirror, m.Node), Count: 1})
		case uid != "" && mp.Mirror != uid:
			b := pod.fs.get(KindMirrorPodOutdated, "")
			b.f.Title = fmt.Sprintf("mirror pod %s/%s shows an older manifest (config.mirror %s, running %s)", e.ns, e.kubeletName, mp.Mirror, uid)
			b.f.Detail = "kubectl shows the mirror pod of a previous version of the manifest: its spec and status are not what runs."
			b.f.Hint = "the kubelet replaces an outdated mirror pod when it syncs the pod; if it does not, look for \"Failed deleting a mirror pod\" / \"Failed creating a mirror pod\" in its log"
			b.pre = append(b.pre, Evidence{Source: src, TS: mp.Created, Line: fmt.Sprintf("mirror pod %s/%s uid %s annotation %s=%s", mp.Namespace, mp.Name, mp.UID, controlplane.AnnotationConfigMirror, mp.Mirror), Count: 1})
		}
	}
}

func uncheckedPhrase(m *controlplane.MirrorState) string {
	switch m.Reason {
	case controlplane.ReasonUnreachable:
		return "the API server " + m.Server + " is unreachable"
	case controlplane.ReasonTimeout:
		return "the API server " + m.Server + " does not answer"
	case controlplane.ReasonUnauthorized:
		return "the API server does not accept " + m.Kubeconfig + "'s credentials"
	case controlplane.ReasonForbidden:
		return "the API server denies " + m.Kubeconfig + " listing pods"
	case controlplane.ReasonTLS:
		return "TLS with the API server " + m.Server + " fails"
	case controlplane.ReasonKubeconfig:
		return "the kubeconfig " + m.Kubeconfig + " does not load"
	}
	return ellipsis(m.Error, 120)
}

var (
	reNSNotFound = regexp.MustCompile(`namespaces? \\?"([^"\\]+)\\?" not found`)
	rePCNotFound = regexp.MustCompile(`(?i)no PriorityClass with name (\S+) was found`)
)

func mirrorHint(why, manifest string) string {
	if m := reNSNotFound.FindStringSubmatch(why); m != nil {
		return fmt.Sprintf("the namespace %s does not exist in the API server: create it (kubectl create namespace %s) or change metadata.namespace in %s", m[1], m[1], manifest)
	}
	if m := rePCNotFound.FindStringSubmatch(why); m != nil {
		return fmt.Sprintf("the PriorityClass %s does not exist: create it or change spec.priorityClassName in %s", strings.Trim(m[1], `"\`), manifest)
	}
	switch {
	case strings.Contains(why, "may not reference"), strings.Contains(why, "can not create pods that reference"):
		return "static pods may not reference Secrets, ConfigMaps, ServiceAccounts or other API objects: replace them with hostPath files in " + manifest
	case strings.Contains(why, "NodeRestriction") || strings.Contains(why, "node restriction"):
		return "the NodeRestriction admission plugin refuses it: remove what it forbids (other-node references, API object references) from " + manifest
	case strings.Contains(why, "admission webhook"):
		return "an admission webhook denies the mirror pod: fix the pod in " + manifest + " or the webhook's policy"
	case strings.Contains(why, "violates PodSecurity"):
		return "PodSecurity admission refuses it: relax the namespace's pod-security label or fix the fields it names in " + manifest
	case strings.Contains(why, "already exists"):
		return "a pod with the mirror's name exists that is not this node's mirror: kubectl delete it"
	}
	return "fix what the API server refuses in " + manifest
}

// ---- the kubelet's own pod status ----

// kubeletAPIText says what the kubelet's /pods gave, or why it gave nothing.
func kubeletAPIText(k *controlplane.KubeletPods) string {
	switch {
	case k == nil:
		return ""
	case k.OK:
		return "/pods via " + k.Auth + ": pod status, readiness and waiting reasons from the kubelet"
	case k.Reason == controlplane.ReasonNoCredentials:
		return "not asked (" + k.Error + "): pod status from CRI"
	}
	s := "refused or unreachable"
	if k.Status != 0 {
		s += fmt.Sprintf(" (%d)", k.Status)
	}
	return s + ": " + k.Error + " — pod status from CRI"
}

func (a *analyzer) cpKubelet(cp *controlplane.State) {
	k := cp.Kubelet
	if k == nil || !k.OK {
		return
	}
	for _, id := range a.ix.order {
		pod := a.pods[id]
		for i := range k.Pods {
			kp := &k.Pods[i]
			if kp.Namespace == pod.e.ns && kp.Name == pod.e.kubeletName {
				pod.rep.Kubelet = kp
				pod.rep.StatusSource = "kubelet /pods (" + k.Auth + ")"
			}
		}
	}
}

// applyKubeletStatus: when the kubelet answered, Ready and waiting reasons come from it.
func applyKubeletStatus(pr *PodReport) {
	if pr.Kubelet == nil {
		return
	}
	r := pr.Kubelet.Ready
	pr.Ready = &r
	for i := range pr.Containers {
		for _, kc := range pr.Kubelet.Containers {
			if kc.Name != pr.Containers[i].Name {
				continue
			}
			pr.Containers[i].Ready = kc.Ready
			if kc.State == "waiting" && kc.Reason != "" {
				pr.Containers[i].Waiting = kc.Reason
			}
		}
	}
}

// statusSource says where a pod's status came from when the kubelet did not give it.
func (a *analyzer) statusSource(pod *podState, pr *PodReport) {
	switch {
	case pr.StatusSource != "":
	case len(pod.view.Containers) > 0:
		pr.StatusSource = "cri"
	case len(kubeletRecords(a.s)) > 0:
		// No runtime (a copied node): the state is inferred from the kubelet's records and the
		// pod log files.
		pr.StatusSource = "kubelet-log"
	case len(pod.e.tails) > 0:
		pr.StatusSource = "pod-logs"
	}
}

func kubeletRecords(s *node.Snapshot) []kubeletlog.Record {
	if s.KubeletLog == nil {
		return nil
	}
	return s.KubeletLog.Records
}
