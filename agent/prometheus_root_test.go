package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/testnode"
	"github.com/spdoc/spdoc/internal/testtier"
)

// TestRootKubeletPrometheus runs the whole metrics path for real: a kubelet and containerd
// (internal/testnode), an observing agent serving /metrics on loopback, and Debian's Prometheus
// scraping it every second with the shipped alert rules. Breaking the pod's manifest must turn
// spdoc_static_pod_ready from 1 to 0 in Prometheus and put StaticPodNotReady in pending.
func TestRootKubeletPrometheus(t *testing.T) {
	promBin := testtier.Tool(t, "prometheus")
	n := testnode.Start(t, testnode.Options{})
	if err := n.WriteManifest("web.yaml", testnode.HealthyPod("web")); err != nil {
		t.Fatal(err)
	}

	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	local := node.NewLocal(node.LocalOptions{ManifestDir: n.ManifestDir, PodLogsDir: n.PodLogsDir, KubeletLog: n.KubeletLog,
		KubeletConfig: n.KubeletConfig, RuntimeEndpoint: n.RuntimeEndpoint, NodeName: n.NodeName})
	defer local.Close()
	rt := &Runtime{Endpoint: n.RuntimeEndpoint}
	defer rt.Close()
	var a *Agent
	a, err := New(Options{
		ManifestDir: n.ManifestDir, Codec: StaticPodCodec{}, Node: local, ObserveOnly: true,
		Analyze: func(s *node.Snapshot) *diagnose.Report {
			return diagnose.Analyze(s, diagnose.Options{NodeName: n.NodeName})
		},
		RefreshInterval: 250 * time.Millisecond, Probe: NodeProbe(n.ManifestDir, rt),
		Triggers: []Trigger{RuntimeEvents(rt, log)}, KubeletLog: local.(LiveKubeletLog),
		Logger: log, Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	ml, err := ListenMetrics(ListenOptions{Addr: "http://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- a.Run(ctx) }()
	go func() { done <- ServeMetrics(ctx, a, ml) }()
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

	// Prometheus, on loopback, with the shipped rules evaluated every second.
	dir := t.TempDir()
	rules, err := filepath.Abs("../deploy/prometheus/spdoc-rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	promPort := freeLoopbackPort(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: spdoc-agent
    static_configs:
      - targets: [%q]
`, rules, ml.Addr().String())
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(context.Background())
	prom := exec.CommandContext(pctx, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address=127.0.0.1:"+strconv.Itoa(promPort))
	promLog := &syncBuffer{}
	prom.Stdout, prom.Stderr = promLog, promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		pcancel()
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", promLog.String())
		}
	}()
	api := "http://127.0.0.1:" + strconv.Itoa(promPort)
	ready := func() (float64, bool) {
		return promQuery(t, api, `spdoc_static_pod_ready{job="spdoc-agent",namespace="default",pod="web"}`)
	}
	waitUntil(t, 3*time.Minute, "Prometheus sees web ready (1)", func() bool { v, ok := ready(); return ok && v == 1 })

	// Break the manifest: the kubelet stops the pod and rejects the file.
	if err := n.WriteManifest("web.yaml", testnode.NoContainersPod("web")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*time.Minute, "Prometheus sees web not ready (0)", func() bool { v, ok := ready(); return ok && v == 0 })
	waitUntil(t, time.Minute, "StaticPodNotReady pending", func() bool { return alertState(t, api, "StaticPodNotReady", "web") == "pending" })
	if v, ok := promQuery(t, api, `spdoc_findings{job="spdoc-agent",kind="ManifestInvalid"}`); !ok || v < 1 {
		t.Errorf("spdoc_findings{kind=ManifestInvalid} = %v (present %v), want >= 1", v, ok)
	}
}

func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(time.Second)
	}
}

// promQuery runs an instant query and returns the first sample's value.
func promQuery(t *testing.T, api, q string) (float64, bool) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(api + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var out struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Status != "success" || len(out.Data.Result) == 0 {
		return 0, false
	}
	s, _ := out.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// alertState is the state of alert name for pod ("" when not active).
func alertState(t *testing.T, api, name, pod string) string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(api + "/api/v1/alerts")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string
				State  string
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return ""
	}
	for _, a := range out.Data.Alerts {
		if a.Labels["alertname"] == name && a.Labels["pod"] == pod {
			return a.State
		}
	}
	return ""
}
