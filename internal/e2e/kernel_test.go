package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/kernlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/testnode"
	"github.com/spdoc/spdoc/internal/testtier"
)

// oomPod fills its memory until the kernel's OOM killer kills it, over and over: a static pod
// whose container's memory cgroup has a 24 MiB limit.
func oomPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: default
spec:
  hostNetwork: true
  containers:
  - name: hog
    image: %s
    imagePullPolicy: Never
    command: ["sh", "-c", "echo filling memory; a=0123456789abcdef; while :; do a=$a$a; done"]
    resources:
      requests: {cpu: 10m, memory: 24Mi}
      limits: {memory: 24Mi}
`, name, testnode.BusyboxImage)
}

// TestRootKubeletKernelOOM runs a static pod the real kernel OOM-kills under a real kubelet and
// containerd, then gives spdoc diagnose the real kernel log with --kernel-log in each form it
// is copied in: util-linux dmesg, raw /dev/kmsg records, and the dmesg.log talosctl support writes
// (machined's "%s: %7s: [%s]: %s" of the same records). Each time the kill must land on the
// container and explain its crash loop (or its OOMKilled restarts); once more with
// --kernel-log /dev/kmsg, the ring buffer read live; and by a running `spdoc agent --kernel-log
// /dev/kmsg` in the report it serves at /v1/report, following the ring buffer as the kernel
// keeps killing the container.
func TestRootKubeletKernelOOM(t *testing.T) {
	testtier.RealNode(t)
	requireSpdoc(t)
	n := testnode.Start(t, testnode.Options{})
	if err := n.WriteManifest("oom.yaml", oomPod("oom")); err != nil {
		t.Fatal(err)
	}
	waitReport(t, n, 3*time.Minute, "the container is OOM-killed and restarted", func(r *diagnose.Report) string {
		for _, k := range []diagnose.Kind{diagnose.KindCrashLoop, diagnose.KindOOMKilled} {
			if len(find(r, k, "oom.yaml", "oom")) > 0 {
				return ""
			}
		}
		return "no crash loop or OOMKilled finding of pod oom yet"
	})

	dir := t.TempDir()
	dmesg, err := exec.Command("dmesg").Output()
	if err != nil {
		t.Fatalf("dmesg: %v", err)
	}
	raw := readKmsg(t)
	forms := map[string][]byte{
		"dmesg.txt": dmesg,
		"kmsg.txt":  raw,
		"dmesg.log": talosDmesg(t, raw),
	}
	// The copies first, while the runtime still knows the killed instance: the kubelet removes a
	// dead container once a newer one of the same name has died (MaxPerPodContainer 1), and after
	// that only the kubelet's own records could name its pod. The agent below waits for the next
	// kill, by which time that may have happened.
	for name, data := range forms {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := diagnoseNode(n, "--kernel-log", p)
			if err != nil {
				t.Fatal(err)
			}
			if why := oomExplained(r, p); why != "" {
				t.Errorf("%s\nreport:\n%s", why, summary(r))
			}
		})
	}
	// The ring buffer itself, read live.
	t.Run("/dev/kmsg", func(t *testing.T) {
		r, err := diagnoseNode(n, "--kernel-log", "/dev/kmsg")
		if err != nil {
			t.Fatal(err)
		}
		if why := oomExplained(r, "/dev/kmsg"); why != "" {
			t.Errorf("%s\nreport:\n%s", why, summary(r))
		}
	})
	t.Run("agent", func(t *testing.T) {
		agentReportsOOM(t, n)
	})

}

// agentReportsOOM runs a real `spdoc agent --observe-only --kernel-log /dev/kmsg` on the node and
// waits until the report it serves explains pod oom's crash loop by the kernel's OOM kill, with
// a kill the kernel made after the agent started in the agent's snapshot: the ring buffer was
// followed, not only read once.
func agentReportsOOM(t *testing.T, n *testnode.Node) {
	before := map[int]bool{}
	if _, err := kernlog.Scan(context.Background(), bytes.NewReader(readKmsg(t)), "/dev/kmsg", func(ev kernlog.Event) error {
		if ev.Kind == kernlog.KindOOMKill {
			before[ev.PID] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	agentLog := filepath.Join(dir, "agent.log")
	lf, err := os.Create(agentLog)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, spdocBin, "agent", "--observe-only", "--kernel-log", "/dev/kmsg", "--listen", "unix://"+sock,
		"--manifests", n.ManifestDir, "--node-name", n.NodeName, "--kubelet-config", n.KubeletConfig, "--kubelet-log", n.KubeletLog,
		"--runtime-endpoint", n.RuntimeEndpoint, "--pod-logs-dir", n.PodLogsDir)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	var r diagnose.Report
	// The crash loop's back-off grows with each kill (10 s, 20 s, 40 s…): the next kill comes
	// within a few minutes.
	n.WaitFor(t, 4*time.Minute, "the agent's /v1/report explains the crash loop by an OOM kill made after it started", func() (bool, string) {
		rc, err := node.DialRemote("unix://"+sock, node.RemoteOptions{})
		if err != nil {
			return false, err.Error() + "\n" + tailString(agentLog)
		}
		defer rc.Close()
		s, err := rc.Snapshot(ctx)
		if err != nil {
			return false, err.Error() + "\n" + tailString(agentLog)
		}
		var kills []int
		newKill := false
		if s.Kernel != nil {
			for _, ev := range s.Kernel.Events {
				if ev.Kind == kernlog.KindOOMKill {
					kills = append(kills, ev.PID)
					newKill = newKill || !before[ev.PID]
				}
			}
		}
		if !newKill {
			return false, fmt.Sprintf("the agent's snapshot has kills of pids %v, all made before it started (%v)\n%s", kills, before, tailString(agentLog))
		}
		r = diagnose.Report{}
		if err := rc.GetJSON(ctx, api.PathReport, &r); err != nil {
			return false, err.Error() + "\n" + tailString(agentLog)
		}
		if why := oomExplained(&r, node.KernelDevice); why != "" {
			return false, why + "\nreport:\n" + summary(&r) + "\nagent log:\n" + tailString(agentLog)
		}
		t.Logf("kills in the agent's snapshot: pids %v; before it started: %v", kills, before)
		return true, ""
	})
	for _, f := range r.Node.Findings {
		if f.Kind == diagnose.KindSourceError && strings.Contains(f.Title+f.Detail, "kmsg") {
			t.Errorf("the agent could not read /dev/kmsg: %+v", f)
		}
	}
}

// oomExplained: pod oom has a current KernelOOMKill of container hog, for its memory cgroup's
// 24 MiB limit, with evidence from the file, and its crash findings are folded under it.
func oomExplained(r *diagnose.Report, file string) string {
	kills := find(r, diagnose.KindKernelOOMKill, "oom.yaml", "oom")
	if len(kills) == 0 {
		return "no KernelOOMKill on pod oom"
	}
	k := kills[0]
	// Put there by the container ID the memory cgroup names (containerd's /k8s.io/<id> on this
	// kubelet without cgroupsPerQOS), not by the process name.
	if k.Container != "hog" || k.History || k.Severity != diagnose.SeverityError || !strings.Contains(k.Title, "memory cgroup reached its limit of 24 MiB") ||
		!strings.Contains(k.Detail, "which is this static pod's") {
		return fmt.Sprintf("KernelOOMKill %+v", k.Finding)
	}
	if len(k.Evidence) == 0 || !strings.HasPrefix(k.Evidence[0].Source, "kernel-log:"+file+":") || !strings.Contains(k.Evidence[0].Line, "Killed process") {
		return fmt.Sprintf("KernelOOMKill evidence %+v", k.Evidence)
	}
	folded := 0
	for _, kind := range []diagnose.Kind{diagnose.KindCrashLoop, diagnose.KindOOMKilled, diagnose.KindContainerRestarted} {
		for _, f := range find(r, kind, "oom.yaml", "oom") {
			if f.History {
				continue
			}
			if f.Cause != diagnose.KindKernelOOMKill {
				return fmt.Sprintf("%s of hog has cause %q, want KernelOOMKill", f.Kind, f.Cause)
			}
			folded++
		}
	}
	if folded == 0 {
		return "no current crash finding of pod oom folded under KernelOOMKill"
	}
	return ""
}

// readKmsg reads the kernel's ring buffer from /dev/kmsg as it is (one record a read, then
// EAGAIN at its end).
func readKmsg(t *testing.T) []byte {
	t.Helper()
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("opening /dev/kmsg: %v", err)
	}
	defer f.Close()
	var out bytes.Buffer
	buf := make([]byte, 8192)
	for {
		n, err := syscall.Read(int(f.Fd()), buf)
		if errors.Is(err, syscall.EAGAIN) {
			return out.Bytes()
		}
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.EINVAL) {
			continue // overwritten while read; a record too long for buf
		}
		if err != nil {
			t.Fatalf("reading /dev/kmsg: %v", err)
		}
		out.Write(buf[:n])
	}
}

// talosDmesg writes /dev/kmsg records as Talos's machined does for talosctl dmesg and support
// (internal/app/machined/internal/server/v1alpha1: "%s: %7s: [%s]: %s" of go-kmsg's facility,
// priority, boot time plus the record's clock in RFC 3339 nano, and its text with the
// dictionary lines after it).
func talosDmesg(t *testing.T, raw []byte) []byte {
	t.Helper()
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	secs, err := strconv.ParseFloat(strings.Fields(string(up))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	boot := time.Now().Add(-time.Duration(secs * float64(time.Second)))
	var out bytes.Buffer
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if line == "" {
			continue
		}
		l, ok := kernlog.Parse(line)
		if !ok || l.Format != kernlog.FormatKmsg {
			out.WriteString(line) // a dictionary line (" SUBSYSTEM=…"): part of the message
			continue
		}
		fmt.Fprintf(&out, "%s: %7s: [%s]: %s\n", l.Facility, l.Priority, boot.Add(l.SinceBoot).UTC().Format(time.RFC3339Nano), l.Text)
	}
	return out.Bytes()
}
