package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/testnode"
)

// agentPod is a hostNetwork busybox pod; an empty image makes it invalid (Required value).
func agentPod(name, tag string, image string) string {
	return fmt.Sprintf(`  - apiVersion: v1
    kind: Pod
    metadata:
      name: %s
      namespace: default
      annotations:
        spdoc.test/tag: %q
    spec:
      hostNetwork: true
      terminationGracePeriodSeconds: 1
      containers:
        - name: main
          image: %q
          imagePullPolicy: Never
          command: ["sh", "-c", "echo %s %s; exec sleep 3600"]
`, name, tag, image, name, tag)
}

// TestRootKubeletAgent runs the agent against a real kubelet + containerd node and drives it
// through its API over mutual TLS: config change → manifest → pod Ready; an invalid change keeps
// the running pod; a containerd restart heals by itself; removal stops the pod; unauthenticated
// clients and readers cannot apply.
func TestRootKubeletAgent(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	root := t.TempDir()
	certs := filepath.Join(root, "pki")
	if err := GenerateCerts(CertOptions{Dir: certs}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "etc", "pods.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	writeConfig := func(pods ...string) {
		t.Helper()
		tmp := cfg + ".tmp"
		if err := os.WriteFile(tmp, []byte("pods:\n"+strings.Join(pods, "")), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfg); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(agentPod("web", "v1", testnode.BusyboxImage))

	logs := &syncBuffer{}
	local := node.NewLocal(node.LocalOptions{ManifestDir: n.ManifestDir, PodLogsDir: n.PodLogsDir, KubeletLog: n.KubeletLog,
		KubeletConfig: n.KubeletConfig, RuntimeEndpoint: n.RuntimeEndpoint, NodeName: n.NodeName})
	rt := &Runtime{Endpoint: n.RuntimeEndpoint}
	defer rt.Close()
	log := slog.New(slog.NewJSONHandler(logs, nil))
	a, err := New(Options{
		ConfigPath: cfg, ManifestDir: n.ManifestDir, Codec: StaticPodCodec{}, Node: local,
		Analyze:         func(s *node.Snapshot) *diagnose.Report { return diagnose.Analyze(s, diagnose.Options{}) },
		RefreshInterval: 250 * time.Millisecond, Probe: NodeProbe(n.ManifestDir, rt),
		Triggers: []Trigger{RuntimeEvents(rt, log)}, KubeletLog: local.(LiveKubeletLog),
		Logger: log, Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(ListenOptions{Addr: "tcp://127.0.0.1:0", TLSCert: filepath.Join(certs, "server.crt"),
		TLSKey: filepath.Join(certs, "server.key"), ClientCA: filepath.Join(certs, "ca.crt")})
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- a.Run(ctx) }()
	go func() { done <- Serve(ctx, a, ln) }()
	defer func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("agent: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	remote := func(name string) *node.Remote {
		r, err := node.DialRemote("https://"+addr, node.RemoteOptions{CA: filepath.Join(certs, "ca.crt"),
			Cert: filepath.Join(certs, name+".crt"), Key: filepath.Join(certs, name+".key")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	admin, reader := remote("admin"), remote("reader")
	manifest := filepath.Join(n.ManifestDir, "spdoc-default-web.yaml")

	status := func(id string) (*api.StaticPodStatus, error) {
		sts, err := reader.StaticPodStatuses(ctx)
		if err != nil {
			return nil, err
		}
		for i := range sts {
			if sts[i].ID == id {
				return &sts[i], nil
			}
		}
		return nil, nil
	}
	waitReady := func(desc, tag string) *api.StaticPodStatus {
		t.Helper()
		var last *api.StaticPodStatus
		n.WaitFor(t, 3*time.Minute, desc, func() (bool, string) {
			st, err := status("default-web")
			if err != nil {
				return false, err.Error()
			}
			last = st
			if st == nil {
				return false, "no status for default-web"
			}
			b, _ := os.ReadFile(manifest)
			return st.Ready && strings.Contains(string(b), tag), fmt.Sprintf("phase %s ready %v runtimeError %q containers %+v", st.Phase, st.Ready, st.RuntimeError, st.Containers)
		})
		return last
	}

	// 1. config → file → kubelet starts the pod → Ready through the API.
	st := waitReady("web Ready via the agent API", "v1")
	if st.KubeletName != "web-"+strings.ToLower(n.NodeName) || len(st.Containers) != 1 || st.Containers[0].State != "running" {
		t.Errorf("status = %+v", st)
	}
	firstID := st.Containers[0].ID

	// 2. an invalid change is not written; the finding names the config; the pod keeps running.
	before, _ := os.ReadFile(manifest)
	writeConfig(agentPod("web", "v2", ""))
	n.WaitFor(t, 30*time.Second, "ManifestInvalid finding for the config", func() (bool, string) {
		fs, err := node.List[Finding](ctx, reader, api.PathFindings)
		if err != nil {
			return false, err.Error()
		}
		for _, f := range fs {
			if f.Kind == diagnose.KindManifestInvalid && f.Pod == "default-web" && f.File == cfg {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d findings, none ManifestInvalid for the config", len(fs))
	})
	if after, _ := os.ReadFile(manifest); string(after) != string(before) {
		t.Fatalf("invalid pod was written:\n%s", after)
	}
	pods, err := reader.StaticPods(ctx)
	if err != nil || len(pods) != 1 || pods[0].Valid || pods[0].Written {
		t.Errorf("staticpods after invalid change = %+v, %v", pods, err)
	}
	if st, err := status("default-web"); err != nil || st == nil || !st.Ready || st.Containers[0].ID != firstID {
		t.Errorf("previous version must keep running: %+v, %v", st, err)
	}

	// 3. a valid change rolls the pod.
	writeConfig(agentPod("web", "v3", testnode.BusyboxImage))
	waitReady("web Ready with the new manifest", "v3")

	// Container and kubelet logs through the API (NDJSON streams).
	n.WaitFor(t, 30*time.Second, "container log line of the new pod via /v1/logs", func() (bool, string) {
		var got []string
		err := reader.ContainerLog(ctx, node.LogRequest{Namespace: "default", Pod: "web", Tail: 10}, func(l podlog.Line) error {
			got = append(got, l.Msg)
			return nil
		})
		return err == nil && slices.Contains(got, "web v3"), fmt.Sprintf("lines %q, err %v", got, err)
	})
	// One instance by its ID, as spdoc containers prints it (ns/pod:container:id), through the API.
	byID := func(id string) ([]string, error) {
		var got []string
		err := reader.ContainerLog(ctx, node.LogRequest{Namespace: "default", Pod: "web", ContainerID: id, Tail: 10}, func(l podlog.Line) error {
			got = append(got, l.Msg)
			return nil
		})
		return got, err
	}
	var v3 string
	n.WaitFor(t, 30*time.Second, "the new pod's container in the status", func() (bool, string) {
		st, err := status("default-web")
		if err != nil || st == nil || len(st.Containers) == 0 {
			return false, fmt.Sprint(err)
		}
		v3 = st.Containers[0].ID
		return v3 != firstID && len(v3) > 13, "container " + v3
	})
	if got, err := byID(v3[:13]); err != nil || !slices.Contains(got, "web v3") {
		t.Errorf("log of instance %s: %q, %v", v3[:13], got, err)
	}
	if _, err := byID("0123456789abc"); err == nil || !strings.Contains(err.Error(), "no instance with ID 0123456789abc") {
		t.Errorf("an ID of no instance: err = %v, want it named", err)
	}
	n.WaitFor(t, 30*time.Second, "kubelet records about the pod via /v1/kubeletlog", func() (bool, string) {
		k := 0
		err := reader.KubeletLog(ctx, node.KubeletLogRequest{Namespace: "default", Pod: "web", Tail: 20}, func(kubeletlog.Record) error {
			k++
			return nil
		})
		return err == nil && k > 0, fmt.Sprintf("%d records, err %v", k, err)
	})

	// 4. containerd restarted → status recovers by itself.
	if err := n.StopContainerd(); err != nil {
		t.Fatal(err)
	}
	n.WaitFor(t, 30*time.Second, "status shows the runtime is unreachable", func() (bool, string) {
		st, err := status("default-web")
		if err != nil || st == nil {
			return false, fmt.Sprint(err)
		}
		return st.RuntimeError != "" && !st.Ready, fmt.Sprintf("phase %s ready %v", st.Phase, st.Ready)
	})
	if err := n.StartContainerd(); err != nil {
		t.Fatal(err)
	}
	waitReady("web Ready again after containerd restart", "v3")

	// 5. unauthenticated TCP is refused at the handshake; a reader cannot apply.
	if conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}); err == nil {
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
		if err == nil {
			t.Error("a client without a certificate could talk to the agent")
		}
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		fmt.Fprintf(c, "GET /v1/staticpods HTTP/1.0\r\n\r\n")
		b := make([]byte, 256)
		k, _ := c.Read(b)
		c.Close()
		if strings.Contains(string(b[:k]), "200 OK") {
			t.Error("plain HTTP over the TCP port was answered")
		}
	}
	if _, err := reader.Apply(ctx, []byte("pods: []\n")); !errors.Is(err, node.ErrForbidden) {
		t.Errorf("reader apply: %v, want 403", err)
	}
	if _, err := os.Stat(manifest); err != nil {
		t.Fatalf("reader apply removed the manifest: %v", err)
	}

	// 6. removed from config (by an admin over the API) → file and pod gone.
	res, err := admin.Apply(ctx, []byte("pods: []\n"))
	if err != nil || len(res.Removed) != 1 {
		t.Fatalf("admin apply: %+v, %v", res, err)
	}
	if _, err := os.Stat(manifest); !os.IsNotExist(err) {
		t.Errorf("manifest still there after removal: %v", err)
	}
	kubeletName := "web-" + strings.ToLower(n.NodeName)
	n.WaitFor(t, 2*time.Minute, "pod gone from the runtime", func() (bool, string) {
		snap, err := admin.Snapshot(ctx)
		if err != nil {
			return false, err.Error()
		}
		if snap.Runtime == nil || !snap.Runtime.Reachable {
			return false, "runtime not reachable in snapshot"
		}
		for _, c := range snap.Runtime.Containers {
			if c.PodName == kubeletName && c.State == "CONTAINER_RUNNING" {
				return false, "container " + c.ID + " still running"
			}
		}
		return true, ""
	})
	if st, err := status("default-web"); err != nil || st != nil {
		t.Errorf("status of a removed pod = %+v, %v; want none", st, err)
	}
}
