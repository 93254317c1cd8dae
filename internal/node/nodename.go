package node

import (
	"os"
	"strings"

	"github.com/spdoc/spdoc/internal/staticpod"
)

// Node name sources (NodeInfo.NameSource).
const (
	NameFromFlag       = "flag"
	NameFromPodLogDirs = "pod-log-dirs"
	NameFromKubeletLog = "kubelet-log"
	NameFromRuntime    = "runtime"
	NameFromHostname   = "hostname"
	NameUnknown        = "unknown"
)

// detectNodeName picks the node name: the flag, else the suffix that turns the most manifest names
// into pod names seen in pod log dirs, then kubelet records, then runtime sandboxes (static pods
// are named <manifest name>-<node>), else (live only) the lowercased hostname. A copied node whose
// name can't be detected gets no name: this machine's hostname would be wrong there.
func detectNodeName(flag string, s *Snapshot, live bool) NodeInfo {
	host, _ := os.Hostname()
	if flag != "" {
		return NodeInfo{Name: flag, NameSource: NameFromFlag, Hostname: host}
	}
	pods := s.StaticPods() // the manifests' and the URL source's
	type seen struct{ ns, name string }
	var fromDirs, fromLog, fromRuntime []seen
	for _, d := range s.PodLogs {
		fromDirs = append(fromDirs, seen{d.Namespace, d.Name})
	}
	if s.KubeletLog != nil {
		for _, r := range s.KubeletLog.Records {
			if r.PodName != "" {
				fromLog = append(fromLog, seen{r.PodNamespace, r.PodName})
			}
		}
	}
	if s.Runtime != nil {
		for _, sb := range s.Runtime.Sandboxes {
			fromRuntime = append(fromRuntime, seen{sb.Namespace, sb.Name})
		}
	}
	for _, src := range []struct {
		name string
		seen []seen
	}{{NameFromPodLogDirs, fromDirs}, {NameFromKubeletLog, fromLog}, {NameFromRuntime, fromRuntime}} {
		votes := map[string]map[string]bool{} // suffix → manifest pods it explains
		for _, p := range pods {
			ns := p.Namespace
			if ns == "" {
				ns = "default"
			}
			for _, sn := range src.seen {
				if sn.ns != "" && sn.ns != ns {
					continue
				}
				if rest, ok := strings.CutPrefix(sn.name, p.Name+"-"); ok && rest != "" {
					if votes[rest] == nil {
						votes[rest] = map[string]bool{}
					}
					votes[rest][staticpod.ID(ns, p.Name)] = true
				}
			}
		}
		best, n := "", 0
		for _, suffix := range sortedKeys(votes) {
			if len(votes[suffix]) > n {
				best, n = suffix, len(votes[suffix])
			}
		}
		if best != "" {
			return NodeInfo{Name: best, NameSource: src.name, Hostname: host}
		}
	}
	if !live {
		return NodeInfo{NameSource: NameUnknown}
	}
	return NodeInfo{Name: strings.ToLower(host), NameSource: NameFromHostname, Hostname: host}
}
