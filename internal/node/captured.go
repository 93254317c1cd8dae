package node

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// capturedAt is when a copied node (--root) was captured, which is what its report's time and
// every age in it are relative to, not when the copy is read: the time a support bundle
// recorded (node.json), else the newest event in the copy (kubelet log record, container or
// sandbox change in runtime.json). Zero when the copy says nothing.
func capturedAt(root string, s *Snapshot) time.Time {
	if data, err := os.ReadFile(filepath.Join(root, "node.json")); err == nil && len(data) < 1<<20 {
		var info struct {
			Taken time.Time `json:"taken"`
		}
		if json.Unmarshal(data, &info) == nil && !info.Taken.IsZero() {
			return info.Taken
		}
	}
	var t time.Time
	later := func(c time.Time) {
		if c.After(t) {
			t = c
		}
	}
	if s.KubeletLog != nil {
		later(s.KubeletLog.Stats.Last)
	}
	if s.Runtime != nil {
		for _, sb := range s.Runtime.Sandboxes {
			later(sb.CreatedAt)
		}
		for _, c := range s.Runtime.Containers {
			later(c.CreatedAt)
			later(c.StartedAt)
			later(c.FinishedAt)
		}
	}
	return t
}
