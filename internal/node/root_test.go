package node_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/testnode"
)

// TestRootKubeletLocal reads a real node (containerd + kubelet, needs root and the packages of
// hack/setup-node.sh) through node.Local in live mode: the node name is detected, the runtime and
// the log tails are read, and a crash-looping container's log is followed across its restart.
func TestRootKubeletLocal(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	for name, m := range map[string]string{
		"web.yaml":   testnode.HealthyPod("web"),
		"crash.yaml": testnode.CrashLoopPod("crash", "fatal: no config", 3),
	} {
		if err := n.WriteManifest(name, m); err != nil {
			t.Fatal(err)
		}
	}
	c := node.NewLocal(node.LocalOptions{
		KubeletConfig: n.KubeletConfig,
		KubeletLog:    n.KubeletLog,
	})
	ctx := context.Background()
	var s *node.Snapshot
	n.WaitFor(t, 90*time.Second, "web running and crash's first instance logged", func() (bool, string) {
		var err error
		if s, err = c.Snapshot(ctx); err != nil {
			return false, err.Error()
		}
		var web, crash bool
		for _, lt := range s.LogTails {
			for _, l := range lt.Current {
				web = web || strings.Contains(l.Msg, "web started")
				crash = crash || strings.Contains(l.Msg, "fatal: no config")
			}
		}
		return web && crash, fmt.Sprintf("tails %+v errors %+v", s.LogTails, s.Errors)
	})
	if s.Paths.ManifestDir != n.ManifestDir || s.Paths.PodLogsDir != n.PodLogsDir || s.Paths.RuntimeEndpoint != n.RuntimeEndpoint {
		t.Errorf("paths from the kubelet config = %+v", s.Paths)
	}
	if s.Node.Name != n.NodeName || s.Node.NameSource != node.NameFromPodLogDirs {
		t.Errorf("node = %+v, want %s from pod log dirs", s.Node, n.NodeName)
	}
	if s.Runtime == nil || !s.Runtime.Reachable || s.Runtime.Status == nil || len(s.Runtime.Containers) == 0 {
		t.Fatalf("runtime = %+v", s.Runtime)
	}
	if s.Kubelet == nil || !s.Kubelet.Checked || !s.Kubelet.Running {
		t.Errorf("kubelet process = %+v", s.Kubelet)
	}
	if s.KubeletLog.Source != n.KubeletLog || len(s.KubeletLog.Records) == 0 {
		t.Errorf("kubelet log: source %s, %d records, error %q", s.KubeletLog.Source, len(s.KubeletLog.Records), s.KubeletLog.Error)
	}

	// Follow crash's log: the kubelet restarts it after a back-off and the next instance's
	// 1.log must be picked up.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var lines []string
	done := make(chan error, 1)
	go func() {
		done <- c.ContainerLog(fctx, node.LogRequest{Pod: "crash", Tail: -1, Follow: true}, func(l podlog.Line) error {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, l.Msg)
			return nil
		})
	}()
	n.WaitFor(t, 90*time.Second, "crash's second instance followed", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return strings.Count(strings.Join(lines, "\n"), "fatal: no config") >= 2, fmt.Sprintf("lines %q", lines)
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ContainerLog returned %v after cancel", err)
	}

	var recs []kubeletlog.Record
	if err := c.KubeletLog(ctx, node.KubeletLogRequest{Pod: "crash", Tail: -1}, func(r kubeletlog.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatal("no kubelet records about crash")
	}
	var uid string
	for _, d := range s.PodLogs {
		if d.Name == "crash-"+n.NodeName {
			uid = d.UID
		}
	}
	if uid == "" {
		t.Fatalf("no pod log dir for crash in %+v", s.PodLogs)
	}
	for _, r := range recs {
		if !strings.Contains(r.Raw, "crash-"+n.NodeName) && !strings.Contains(r.Raw, uid) {
			t.Errorf("record not about crash: %s", r.Raw)
		}
	}
}
