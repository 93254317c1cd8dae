package node

import (
	"context"

	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// ListPods is the part of a snapshot that names the node's static pods: the manifest dir, the
// pod log dirs and the node name. It reads neither the kubelet log nor the runtime, so it
// costs milliseconds whatever the size of the logs (spdoc logs resolves names with it).
func (l *Local) ListPods(ctx context.Context) (*Snapshot, error) {
	r := l.resolve()
	s := &Snapshot{Taken: l.now(), Paths: r.Paths}
	s.Manifests = staticpod.ScanDir(r.ManifestDir)
	if dirs, err := podlog.ScanPodDirs(r.PodLogsDir); err == nil {
		s.PodLogs = dirs
	} else {
		s.Errors = append(s.Errors, SourceError{Source: "pod-logs", Error: err.Error()})
	}
	s.Node = detectNodeName(l.opts.NodeName, s, l.opts.Root == "")
	return s, ctx.Err()
}
