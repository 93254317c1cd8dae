package diagnose

import "github.com/spdoc/spdoc/internal/kubeletlog"

// ClassifyRecord says which finding kind one kubelet record gives on its own (ok=false: none),
// without the correlation of a whole snapshot. The agent uses it to count followed records by kind.
func ClassifyRecord(r *kubeletlog.Record) (Kind, bool) {
	c, ok := classify(r)
	return c.kind, ok
}
