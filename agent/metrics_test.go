package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
)

func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parsing the exposition: %v\n%s", err, rec.Body)
	}
	return fams
}

// value finds the sample of family name whose labels include all of want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsFromState(t *testing.T) {
	root := t.TempDir()
	md := filepath.Join(root, "manifests")
	if err := os.Mkdir(md, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "pods.yaml")
	if err := os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"))), 0o600); err != nil {
		t.Fatal(err)
	}
	// A node captured from a real kubelet (testdata/nodes/broken): a crash loop, a healthy pod,
	// invalid manifests, and its CRI view in runtime.json.
	local := node.NewLocal(node.LocalOptions{Root: "../testdata/nodes/broken"})
	defer local.Close()
	a, err := New(Options{ConfigPath: cfg, ManifestDir: md, Codec: testCodec{}, Node: local,
		Analyze: func(s *node.Snapshot) *diagnose.Report { return diagnose.Analyze(s, diagnose.Options{}) },
		Version: "v-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a.reconcile()
	a.refresh(context.Background())
	fams := scrape(t, a.MetricsHandler())

	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{MetricStaticPodReady, map[string]string{"namespace": "default", "pod": "healthy"}, 1},
		{MetricStaticPodReady, map[string]string{"namespace": "default", "pod": "crashloop"}, 0},
		{MetricRestarts, map[string]string{"namespace": "default", "pod": "crashloop", "container": "app"}, 1},
		{MetricStaticPods, map[string]string{"namespace": "default", "pod": "crashloop", "state": "CrashLoop"}, 1},
		{MetricStaticPods, map[string]string{"namespace": "default", "pod": "crashloop", "state": "Running"}, 0},
		{MetricStaticPods, map[string]string{"namespace": "default", "pod": "invalid", "state": "Invalid"}, 1},
		{MetricFindings, map[string]string{"namespace": "default", "pod": "crashloop", "kind": "CrashLoop", "severity": "error"}, 1},
		{MetricFindings, map[string]string{"namespace": "default", "pod": "missing-image", "kind": "ImageNotPresent", "severity": "error"}, 1},
		{MetricSourceUp, map[string]string{"source": SourceKubeletLog}, 1},
		{MetricSourceUp, map[string]string{"source": SourceManifests}, 1},
		{MetricApplyTotal, map[string]string{"result": ApplyOK}, 1},
		{MetricApplyTotal, map[string]string{"result": ApplyInvalid}, 0},
		{MetricApplyDuration, nil, 1},
		{MetricInfo, map[string]string{"version": "v-test"}, 1},
	}
	for _, c := range checks {
		got, ok := value(fams, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if v, ok := value(fams, MetricLastApplySuccess, nil); !ok || v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("%s = %v, want about now", MetricLastApplySuccess, v)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("Go collector missing")
	}
	if _, ok := fams["process_resident_memory_bytes"]; !ok {
		t.Error("process collector missing")
	}
	// Exactly one state per pod is 1.
	for _, pod := range []string{"healthy", "crashloop", "invalid"} {
		ones := 0
		for _, m := range fams[MetricStaticPods].Metric {
			for _, l := range m.Label {
				if l.GetName() == "pod" && l.GetValue() == pod && m.Gauge.GetValue() == 1 {
					ones++
				}
			}
		}
		if ones != 1 {
			t.Errorf("pod %s has %d states at 1, want 1", pod, ones)
		}
	}

	// An invalid config counts as invalid and does not move the success timestamp.
	before, _ := value(fams, MetricLastApplySuccess, nil)
	time.Sleep(10 * time.Millisecond)
	// (written to the file: POST /v1/apply refuses an invalid config before it reaches the file)
	if err := os.WriteFile(cfg, []byte(config(podYAML("web", ""))), 0o600); err != nil {
		t.Fatal(err)
	}
	a.reconcile()
	fams = scrape(t, a.MetricsHandler())
	if v, _ := value(fams, MetricApplyTotal, map[string]string{"result": ApplyInvalid}); v != 1 {
		t.Errorf("invalid applies = %v, want 1", v)
	}
	// The reconciler's finding for the invalid pod is labelled with its namespace and name.
	if v, ok := value(fams, MetricFindings, map[string]string{"namespace": "default", "pod": "web", "kind": "ManifestInvalid"}); !ok || v != 1 {
		t.Errorf("ManifestInvalid finding for default/web: %v %v", v, ok)
	}
	if _, err := a.Apply([]byte("pods: [")); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, a.MetricsHandler())
	if v, _ := value(fams, MetricApplyTotal, map[string]string{"result": ApplyParseError}); v != 1 {
		t.Errorf("parse-error applies = %v, want 1", v)
	}
	if after, _ := value(fams, MetricLastApplySuccess, nil); after != before {
		t.Errorf("last success moved on failed applies: %v → %v", before, after)
	}
}

func TestMetricsRecordCounter(t *testing.T) {
	a, err := New(Options{ConfigPath: filepath.Join(t.TempDir(), "none.yaml"), ManifestDir: t.TempDir(), Codec: testCodec{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`{"ts":1764021306000.0,"caller":"kuberuntime/kuberuntime_manager.go:1","msg":"Error syncing pod, skipping","err":"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 10s restarting failed container=app pod=x_default(u)\"","pod":{"name":"x","namespace":"default"},"podUID":"u"}`,
		`{"ts":1764021306000.0,"caller":"kuberuntime/kuberuntime_manager.go:1","msg":"Error syncing pod, skipping","err":"failed to \"StartContainer\" for \"app\" with CrashLoopBackOff: \"back-off 20s restarting failed container=app pod=x_default(u)\"","pod":{"name":"x","namespace":"default"},"podUID":"u"}`,
		`{"ts":1764021306000.0,"caller":"kubelet/kubelet.go:1","msg":"something new the rules do not know"}`,
	} {
		r, ok := kubeletlog.ParseLine([]byte(line))
		if !ok {
			t.Fatalf("fixture does not parse: %s", line)
		}
		a.ObserveKubeletRecord(&r)
	}
	fams := scrape(t, a.MetricsHandler())
	if v, _ := value(fams, MetricKubeletLogRecords, map[string]string{"kind": "CrashLoop"}); v != 2 {
		t.Errorf("CrashLoop records = %v, want 2", v)
	}
	if v, _ := value(fams, MetricKubeletLogRecords, map[string]string{"kind": "other"}); v != 1 {
		t.Errorf("other records = %v, want 1", v)
	}
}

func TestListenMetrics(t *testing.T) {
	for _, addr := range []string{"http://0.0.0.0:0", "http://10.1.2.3:9707", "http://example.com:9707", "tcp://127.0.0.1:0", "ftp://127.0.0.1:1", "127.0.0.1:9707"} {
		if ml, err := ListenMetrics(ListenOptions{Addr: addr}); err == nil {
			ml.ln.Close()
			t.Errorf("ListenMetrics(%s) accepted, want refused", addr)
		}
	}
	ml, err := ListenMetrics(ListenOptions{Addr: "http://127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	serveMetricsOf(t, ml)
	base := "http://" + ml.Addr().String()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), MetricApplyTotal) {
		t.Errorf("GET /metrics: %d, body lacks %s", resp.StatusCode, MetricApplyTotal)
	}
	// Nothing of the API is served on the metrics listener.
	resp, err = http.Get(base + "/v1/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/snapshot on the metrics port: %d, want 404", resp.StatusCode)
	}
}

func TestSourceStates(t *testing.T) {
	snap := &node.Snapshot{
		Runtime:    &node.RuntimeState{Reachable: false, Error: "connection refused"},
		KubeletLog: &node.KubeletLogState{Source: "journal"},
		ControlPlane: &controlplane.State{
			Mirror:  &controlplane.MirrorState{Reason: controlplane.ReasonUnreachable, Error: "dial tcp 127.0.0.1:6443: connect: connection refused"},
			Kubelet: &controlplane.KubeletPods{OK: true},
		},
	}
	got := map[string]float64{}
	for _, s := range sourceStates(snap) {
		got[s.name] = s.up
	}
	want := map[string]float64{SourceRuntime: 0, SourceKubeletLog: 1, SourceAPIServer: 0, SourceKubeletAPI: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sources %v, want %v", got, want)
	}
	// Not configured (a standalone kubelet, no kubeconfig): no series rather than a false "down".
	snap.ControlPlane.Mirror = &controlplane.MirrorState{Reason: controlplane.ReasonNoKubeconfig}
	for _, s := range sourceStates(snap) {
		if s.name == SourceAPIServer {
			t.Errorf("apiserver without a kubeconfig exported as %v", s.up)
		}
	}
}

// TestListenMetricsMTLS: the TCP metrics listener is mutual TLS like the API: a reader
// certificate scrapes, a client without a certificate does not get past the handshake.
func TestListenMetricsMTLS(t *testing.T) {
	pki := t.TempDir()
	if err := GenerateCerts(CertOptions{Dir: pki}); err != nil {
		t.Fatal(err)
	}
	opts := ListenOptions{Addr: "tcp://127.0.0.1:0", TLSCert: filepath.Join(pki, "server.crt"), TLSKey: filepath.Join(pki, "server.key"), ClientCA: filepath.Join(pki, "ca.crt")}
	ml, err := ListenMetrics(opts)
	if err != nil {
		t.Fatal(err)
	}
	serveMetricsOf(t, ml)
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs, ServerName: "localhost", MinVersion: tls.VersionTLS13}}}
	}
	reader, err := tls.LoadX509KeyPair(filepath.Join(pki, "reader.crt"), filepath.Join(pki, "reader.key"))
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + ml.Addr().String() + "/metrics"
	resp, err := client(reader).Get(url)
	if err != nil {
		t.Fatalf("reader scrape: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), MetricApplyTotal) {
		t.Errorf("reader scrape: %d", resp.StatusCode)
	}
	if resp, err := client().Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("a client without a certificate got %d, want a failed handshake", resp.StatusCode)
	}
	if _, err := ListenMetrics(ListenOptions{Addr: "tcp://127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "mutual TLS") {
		t.Errorf("tcp metrics without certificates: %v, want a refusal naming mutual TLS", err)
	}
}

// serveMetricsOf serves the metrics of a config-less agent on ml until the test ends.
func serveMetricsOf(t *testing.T, ml *MetricsListener) {
	t.Helper()
	a, err := New(Options{ConfigPath: filepath.Join(t.TempDir(), "none.yaml"), ManifestDir: t.TempDir(), Codec: testCodec{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeMetrics(ctx, a, ml) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}
