package cri_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/testnode"
)

// TestRootKubeletCRI runs a static pod on a real containerd + kubelet (needs root and the
// packages of hack/setup-node.sh) and checks what the client reads, then stops containerd and
// checks that the client reports the runtime as unreachable.
func TestRootKubeletCRI(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	if err := n.WriteManifest("web.yaml", testnode.HealthyPod("web")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := cri.New(ctx, n.RuntimeEndpoint, cri.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.RuntimeName != "containerd" || st.APIVersion == "" {
		t.Errorf("Status = %+v", st)
	}
	conds := map[string]bool{}
	for _, cond := range st.Conditions {
		conds[cond.Type] = cond.Status
	}
	if !conds["RuntimeReady"] {
		t.Errorf("RuntimeReady = false: %+v", st.Conditions)
	}

	podName := "web-" + n.NodeName
	var main cri.Container
	n.WaitFor(t, 90*time.Second, "container main of "+podName+" running", func() (bool, string) {
		cs, err := c.ListContainers(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, ct := range cs {
			if ct.PodName == podName && ct.Name == "main" && ct.State == "CONTAINER_RUNNING" {
				main = ct
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d containers, none running for %s", len(cs), podName)
	})
	if main.PodNamespace != "default" || main.PodUID == "" || main.SandboxID == "" || main.PID <= 0 ||
		main.StartedAt.IsZero() || main.Image == "" {
		t.Errorf("container = %+v", main)
	}
	if _, err := os.Stat(main.LogPath); err != nil {
		t.Errorf("log path %q: %v", main.LogPath, err)
	}
	sbs, err := c.ListSandboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sb := range sbs {
		if sb.ID == main.SandboxID {
			found = true
			if sb.Name != podName || sb.Namespace != "default" || sb.UID != main.PodUID || sb.State != "SANDBOX_READY" || !sb.HostNetwork {
				t.Errorf("sandbox = %+v", sb)
			}
		}
	}
	if !found {
		t.Errorf("sandbox %s of the container not listed in %+v", main.SandboxID, sbs)
	}

	// containerd 1.6 lacks GetContainerEvents; newer runtimes stream.
	evctx, cancel := context.WithCancel(ctx)
	if _, err := c.ContainerEvents(evctx); err != nil && !errors.Is(err, cri.ErrUnsupported) {
		t.Errorf("ContainerEvents: %v, want nil or ErrUnsupported", err)
	}
	cancel()

	if err := n.StopContainerd(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Status(ctx); !errors.Is(err, cri.ErrUnreachable) {
		t.Errorf("after stopping containerd: err = %v, want ErrUnreachable", err)
	}
	if _, err := cri.New(ctx, n.RuntimeEndpoint); err != nil && !errors.Is(err, cri.ErrUnreachable) {
		t.Errorf("New after stop: %v", err)
	}
}
