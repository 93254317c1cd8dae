// Node phase: the kubelet process, the kubelet log, the runtime status and unreadable sources.

package diagnose

import (
	"fmt"
	"strings"
	"time"
)

// nodeRules: kubelet process, kubelet log, runtime status, unreadable sources.
func (a *analyzer) nodeRules() {
	s := a.s
	if s.Kubelet != nil && s.Kubelet.Checked && !s.Kubelet.Running {
		a.node.get(KindKubeletNotRunning, "").pre = []Evidence{{Source: "process", Line: "no kubelet process found", Count: 1}}
	}
	logMissing := false
	switch {
	case s.KubeletLog == nil:
		logMissing = true
		a.node.get(KindKubeletLogMissing, "").pre = []Evidence{{Source: "kubelet-log", Line: "no kubelet log was read", Count: 1}}
	case s.KubeletLog.Error != "":
		logMissing = true
		a.node.get(KindKubeletLogMissing, "").pre = []Evidence{{Source: "kubelet-log:" + s.KubeletLog.Source, Line: s.KubeletLog.Error, Count: 1}}
	case s.KubeletLog.Stats.Parsed == 0 && len(s.KubeletLog.Records) == 0:
		logMissing = true
		a.logWithoutRecords() // kinds_kubelet.go: empty, not a kubelet log, or nothing relevant
	default:
		last := s.KubeletLog.Stats.Last
		// Only on a live node: a copied node (--root) is old by nature.
		if s.Paths.Root == "" && (s.Kubelet == nil || !s.Kubelet.Checked) && a.opts.StaleLog > 0 && !last.IsZero() && !s.Taken.IsZero() && s.Taken.Sub(last) > a.opts.StaleLog {
			b := a.node.getSeverity(KindKubeletNotRunning, "", SeverityWarning)
			b.pre = []Evidence{{Source: "kubelet-log:" + s.KubeletLog.Source, TS: last, Line: fmt.Sprintf("last record %s before the snapshot", s.Taken.Sub(last).Round(time.Second)), Count: 1}}
			b.variant = "stale"
		}
	}
	if s.KubeletLog != nil && s.KubeletLog.Truncated {
		b := a.node.getAbout(KindKubeletLogTruncated, About{Subject: "kubelet-log"}, SeverityInfo)
		b.pre = []Evidence{{Source: "kubelet-log:" + s.KubeletLog.Source,
			Line: fmt.Sprintf("only the newest %d relevant records were kept", len(s.KubeletLog.Records)), Count: 1}}
	}
	rt := s.Runtime
	runtimeDown := false
	if rt != nil && !rt.Reachable {
		runtimeDown = true
		line := rt.Error
		if line == "" {
			line = "not reachable"
		}
		a.node.get(KindRuntimeUnreachable, "").pre = []Evidence{{Source: criSource(rt.Endpoint), Line: line, Count: 1}}
	}
	if rt != nil && rt.Status != nil {
		for _, c := range rt.Status.Conditions {
			if c.Status {
				continue
			}
			line := strings.TrimSpace(fmt.Sprintf("%s=false reason:%s message:%s", c.Type, c.Reason, c.Message))
			switch c.Type {
			case "RuntimeReady":
				a.node.get(KindRuntimeUnreachable, "").pre = append(a.node.get(KindRuntimeUnreachable, "").pre, Evidence{Source: criSource(rt.Endpoint), Line: line, Count: 1})
			case "NetworkReady":
				b := a.node.get(KindNetworkNotReady, "")
				b.pre = append(b.pre, Evidence{Source: criSource(rt.Endpoint), Line: line, Count: 1})
			}
		}
	}
	for _, e := range s.Errors {
		if (e.Source == "runtime" && runtimeDown) || (e.Source == "kubelet-log" && logMissing) || e.Source == "manifests" && a.node.find(KindManifestDirMissing) != nil {
			continue
		}
		sev := SeverityWarning
		if (e.Source == "pod-logs" || e.Source == "container-logs") && strings.Contains(e.Error, "no such file or directory") {
			sev = SeverityInfo // no container logs (yet): nothing is lost but the log tails
		}
		b := a.node.getAbout(KindSourceError, About{Subject: e.Source}, sev)
		b.pre = append(b.pre, Evidence{Source: e.Source, Line: e.Error, Count: 1})
	}
}
