package testnode

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

const healthyManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
spec:
  hostNetwork: true
  containers:
  - name: main
    image: spdoc.local/busybox:1
    imagePullPolicy: Never
    command: ["sh", "-c", "echo started; exec sleep 3600"]
`

// TestRootKubeletRunsStaticPod starts a real node and checks that a static pod written atomically
// runs, that its container log appears, and that Close removes everything.
func TestRootKubeletRunsStaticPod(t *testing.T) {
	n := Start(t, Options{})
	if err := n.WriteManifest("web.yaml", healthyManifest); err != nil {
		t.Fatal(err)
	}
	n.WaitFor(t, 90*time.Second, "pod web running and ready", func() (bool, string) {
		p, err := n.Pod("default", "web")
		if err != nil || p == nil {
			return false, fmt.Sprintf("pod not listed (err %v)", err)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("phase %s, statuses %+v", p.Status.Phase, p.Status.ContainerStatuses)
	})
	n.WaitFor(t, 30*time.Second, "container log with 'started'", func() (bool, string) {
		logs, _ := os.ReadDir(n.PodLogsDir)
		for _, d := range logs {
			data, err := os.ReadFile(n.PodLogsDir + "/" + d.Name() + "/main/0.log")
			if err == nil && strings.Contains(string(data), " stdout F started") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("pod log dirs %v", logs)
	})
	root := n.Root
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("node root %s still exists after Close (stat err %v)", root, err)
	}
}
