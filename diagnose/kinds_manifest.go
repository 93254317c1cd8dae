package diagnose

import (
	"fmt"
	"strings"

	"github.com/spdoc/spdoc/internal/staticpod"
)

// KindHostPortConflict: two static pods on the host network declare the same port and protocol
// (spdoc validate's "Host port conflict"). Both bind the node's own port, so whichever starts
// second cannot listen ("address already in use") and crash-loops.
const KindHostPortConflict Kind = "HostPortConflict"

func init() {
	registerKinds(kindSpec{Kind: KindHostPortConflict, Rank: 75, Severity: SeverityError, Describe: describeHostPortConflict})
	registerChecks(check{Name: "host-ports", Run: (*analyzer).hostPortConflicts})
	registerCauseRules(causeRule{
		Name: "a host port another static pod binds explains the pod's crash loop", Priority: 140, Cause: KindHostPortConflict,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			switch effect.f.Kind {
			case KindCrashLoop, KindContainerFailed, KindPortInUse:
				return !effect.f.History && !cause.f.History && cause.f.Severity == SeverityError
			}
			return false
		},
	})
}

// hostPortConflicts puts each conflict validate reports on the pod validate names (the later
// one in the kubelet's order). When the runtime shows that pod running and the other one not, it
// is the other one that lost the port; when both run, they bind different addresses (or one does
// not bind the port it declares): context, not a problem.
func (a *analyzer) hostPortConflicts() {
	if a.s.Manifests == nil {
		return
	}
	rtUp := a.s.Runtime != nil && a.s.Runtime.Reachable
	for _, c := range staticpod.HostPortConflicts(a.s.Manifests.Files) {
		pod, other := a.pods[podID(c.Pod)], a.pods[podID(c.Other)]
		if pod == nil || other == nil {
			continue
		}
		sev := SeverityError
		if rtUp {
			switch pr, or := pod.view.Running(), other.view.Running(); {
			case pr && or:
				sev = SeverityInfo
			case pr:
				pod, other = other, pod
				c.Path, c.OtherPath = c.OtherPath, c.Path
			}
		}
		b := pod.fs.getAbout(KindHostPortConflict, About{Subject: c.Port}, sev)
		b.variant = other.e.ns + "/" + other.e.name
		b.pre = append(b.pre,
			Evidence{Source: "manifest:" + c.Path, Line: fmt.Sprintf("pod %s/%s binds %s on the host network", pod.e.ns, pod.e.name, c.Port), Count: 1},
			Evidence{Source: "manifest:" + c.OtherPath, Line: fmt.Sprintf("pod %s binds %s on the host network", b.variant, c.Port), Count: 1})
	}
}

// podID turns validate's namespace/name into the pod ID namespace-name.
func podID(nsName string) string {
	return strings.Replace(nsName, "/", "-", 1)
}

func describeHostPortConflict(f *Finding, b *findingBuilder, tc textCtx) {
	port := orDefault(f.Subject, "a port")
	other := orDefault(b.variant, "another static pod")
	f.Title = fmt.Sprintf("%s binds %s on the host network too: only one of them can listen", other, port)
	f.Detail = fmt.Sprintf("Both pods run on the host network and declare %s, so both bind the node's own port; the one that starts second gets \"address already in use\" and exits.", port)
	f.Hint = "give one of the pods another port (its command's listen flag and the declared port) or remove one of them; ss -ltnp shows who holds it now"
	if f.Severity == SeverityInfo {
		f.Title = fmt.Sprintf("%s declares %s on the host network too, but both pods run", other, port)
		f.Detail = "Both pods declare the same host port, yet both run: they listen on different addresses, or one does not bind the port it declares. It bites when that changes."
	}
}
