package node

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/spdoc/spdoc/internal/podlog"
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

// logTime is what --since counts back from: now on a live node; for a copy its capture time
// (node.json of a bundle, else the newest event of runtime.json, else the newest line of the
// copy's container logs), so "the last 10 minutes" means the last 10 minutes before capture.
func (l *Local) logTime(ctx context.Context, r resolved) time.Time {
	if l.opts.Root == "" {
		return l.now()
	}
	s := &Snapshot{}
	s.Runtime = l.runtime(ctx, r, func(string, error) {})
	if t := capturedAt(l.opts.Root, s); !t.IsZero() {
		return t
	}
	var newest time.Time
	if dirs, err := podlog.ScanPodDirs(r.PodLogsDir); err == nil {
		for _, d := range dirs {
			for _, c := range d.Containers {
				n, ok := podlog.Current(c)
				if !ok {
					continue
				}
				if lines, _, err := podlog.TailEnd(c.InstancePath(n), 1); err == nil && len(lines) == 1 && lines[0].TS.After(newest) {
					newest = lines[0].TS
				}
			}
		}
	}
	if newest.IsZero() {
		return l.now()
	}
	return newest
}

// LogTime is what a --since duration counts back from: now, or a copy's capture time.
func (l *Local) LogTime(ctx context.Context) time.Time { return l.logTime(ctx, l.resolve()) }
