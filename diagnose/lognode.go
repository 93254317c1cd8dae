package diagnose

import (
	"strings"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
)

// selectLogNode keeps, of a kubelet log that interleaves several nodes (`talosctl logs kubelet
// -n a,b`: every line prefixed with its node), the records of the node under diagnosis: the
// prefix equal to its name, else the one whose records name its static pods (<name>-<node>) or the
// node itself most often, else the one with the most records. Other nodes' records would blame
// this node's manifests for their errors. It returns s itself when the log has one node or none,
// else a shallow copy with the chosen records, and the chosen node.
func selectLogNode(s *node.Snapshot, nodeName string) (*node.Snapshot, string) {
	if s.KubeletLog == nil || len(s.KubeletLog.Stats.Nodes) < 2 {
		return s, ""
	}
	if nodeName == "" {
		nodeName = s.Node.Name
	}
	recs := s.KubeletLog.Records
	suffix := "-" + strings.ToLower(nodeName)
	score, count := map[string]int{}, map[string]int{}
	for i := range recs {
		r := &recs[i]
		if r.Node == "" {
			continue
		}
		count[r.Node]++
		if nodeName == "" {
			continue
		}
		switch {
		case r.Node == nodeName:
			score[r.Node] += 1000
		case strings.HasSuffix(r.PodName, suffix), r.Fields["node"] == nodeName, strings.Contains(r.Msg+" "+r.Err, suffix+"_"):
			score[r.Node]++
		}
	}
	best := ""
	for _, n := range s.KubeletLog.Stats.Nodes {
		if best == "" || score[n] > score[best] || (score[n] == score[best] && count[n] > count[best]) {
			best = n
		}
	}
	if best == "" {
		return s, ""
	}
	kept := make([]kubeletlog.Record, 0, count[best])
	for i := range recs {
		if recs[i].Node == "" || recs[i].Node == best {
			kept = append(kept, recs[i])
		}
	}
	cp := *s
	kl := *s.KubeletLog
	kl.Records = kept
	kl.Stats.Kubelet = kubeletlog.FactsOf(kept) // its version, start-ups and last words only
	cp.KubeletLog = &kl
	return &cp, best
}
