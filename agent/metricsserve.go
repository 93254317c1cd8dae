package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/spdoc/spdoc/internal/api"
)

// MetricsListener is where Prometheus scrapes the agent besides the API socket.
type MetricsListener struct {
	ln   net.Listener
	mtls bool
	addr string
}

// Close closes the listener (when it is not served).
func (m *MetricsListener) Close() error { return m.ln.Close() }

// Addr is the address actually bound (with the port the kernel chose for :0).
func (m *MetricsListener) Addr() net.Addr { return m.ln.Addr() }

// ListenMetrics opens the metrics listener. http://HOST:PORT is plain HTTP and only on a loopback
// address (a scraper on the node, or a sidecar proxy); tcp://HOST:PORT is mutual TLS like the API
// (TLSCert, TLSKey, ClientCA required; the client certificate needs a spdoc role, reader is enough).
func ListenMetrics(opts ListenOptions) (*MetricsListener, error) {
	u, err := url.Parse(opts.Addr)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid --metrics-listen %q: want http://127.0.0.1:PORT or tcp://HOST:PORT (mTLS)", opts.Addr)
	}
	switch u.Scheme {
	case "http":
		host, _, err := net.SplitHostPort(u.Host)
		if err != nil {
			return nil, fmt.Errorf("invalid --metrics-listen %q: %w", opts.Addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("refusing plain-HTTP metrics on %s: only a loopback address (127.0.0.1, [::1]) may serve without TLS; use tcp://%s with --tls-cert, --tls-key and --client-ca for mutual TLS", opts.Addr, u.Host)
		}
		ln, err := net.Listen("tcp", u.Host)
		if err != nil {
			return nil, fmt.Errorf("listening for metrics on %s: %w", opts.Addr, err)
		}
		return &MetricsListener{ln: ln, addr: opts.Addr}, nil
	case "tcp":
		ln, err := listenMTLS(u.Host, opts)
		if err != nil {
			return nil, fmt.Errorf("--metrics-listen: %w (or serve plain HTTP on loopback: http://127.0.0.1:PORT)", err)
		}
		return &MetricsListener{ln: ln, mtls: true, addr: opts.Addr}, nil
	}
	return nil, fmt.Errorf("invalid --metrics-listen %q: scheme must be http:// (loopback) or tcp:// (mTLS)", opts.Addr)
}

// ServeMetrics serves GET /metrics (and /healthz) on ml until ctx is done. Nothing else of the
// API is reachable there.
func ServeMetrics(ctx context.Context, a *Agent, ml *MetricsListener) error {
	mux := http.NewServeMux()
	h := a.MetricsHandler()
	s := &server{a: a, log: a.log}
	if ml.mtls {
		mux.Handle("GET "+api.PathMetrics, s.reader(h.ServeHTTP))
	} else {
		mux.Handle("GET "+api.PathMetrics, h)
	}
	mux.HandleFunc("GET "+api.PathHealthz, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, a.Health()) })
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	return serveUntilDone(ctx, srv, ml.ln)
}
