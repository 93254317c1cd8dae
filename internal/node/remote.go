package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/podlog"
)

// RemoteOptions are the credentials for an agent reached over TCP (https://): the CA that signed
// the agent's server certificate and this client's certificate and key (from `spdoc certs`).
// A unix socket needs none of them.
type RemoteOptions struct {
	CA   string
	Cert string
	Key  string
	// Timeout bounds non-streaming requests (default 30 s). Streams (follow, watch) end with ctx.
	Timeout time.Duration
	// Raw asks the agent for unredacted data (?raw=1); the agent allows it to admins only.
	Raw bool
}

// ErrAgent is wrapped by every error the agent answered (as opposed to transport errors).
var ErrAgent = errors.New("agent refused the request")

// Remote is a Client that asks an spdoc agent over its HTTP API.
type Remote struct {
	target  string
	base    string
	hc      *http.Client
	timeout time.Duration
	raw     bool
}

var _ Client = (*Remote)(nil)

// NewRemote returns a Client for the agent at target: unix:///run/spdoc/agent.sock (or a plain
// absolute socket path) or https://host:port. Use DialRemote for the agent-only methods (Apply,
// watches) or type-assert the result to *Remote.
func NewRemote(target string, opts RemoteOptions) (Client, error) {
	r, err := DialRemote(target, opts)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DialRemote is NewRemote returning the concrete *Remote. Nothing is sent until the first call.
func DialRemote(target string, opts RemoteOptions) (*Remote, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if strings.HasPrefix(target, "/") {
		target = "unix://" + target
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("invalid agent address %q: %w", target, err)
	}
	tr := &http.Transport{MaxIdleConns: 4, IdleConnTimeout: 90 * time.Second, ForceAttemptHTTP2: false}
	r := &Remote{target: target, timeout: opts.Timeout, raw: opts.Raw, hc: &http.Client{Transport: tr}}
	switch u.Scheme {
	case "unix":
		path := u.Path
		if path == "" {
			return nil, fmt.Errorf("invalid agent address %q: want unix:///path/to/agent.sock", target)
		}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		r.base = "http://spdoc-agent"
	case "https":
		if u.Host == "" {
			return nil, fmt.Errorf("invalid agent address %q: want https://host:port", target)
		}
		cfg, err := clientTLS(opts)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
		r.base = "https://" + u.Host
	case "http", "tcp":
		return nil, fmt.Errorf("agent address %q: plain TCP is not supported, the agent only speaks mutual TLS over TCP; use https://%s with --ca, --cert and --key", target, u.Host)
	default:
		return nil, fmt.Errorf("invalid agent address %q: want unix:///path or https://host:port", target)
	}
	return r, nil
}

func clientTLS(opts RemoteOptions) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13}
	if opts.CA != "" {
		pem, err := os.ReadFile(opts.CA)
		if err != nil {
			return nil, fmt.Errorf("reading agent CA %q: %w", opts.CA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading agent CA %q: no PEM certificate in it", opts.CA)
		}
		cfg.RootCAs = pool
	}
	if opts.Cert != "" || opts.Key != "" {
		if opts.Cert == "" || opts.Key == "" {
			return nil, errors.New("a client certificate needs both --cert and --key")
		}
		cert, err := tls.LoadX509KeyPair(opts.Cert, opts.Key)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate %q / key %q: %w", opts.Cert, opts.Key, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Describe says which agent this client talks to.
func (r *Remote) Describe() string { return "agent " + r.target }

// Target is the address given to NewRemote.
func (r *Remote) Target() string { return r.target }

// Close releases idle connections.
func (r *Remote) Close() error {
	r.hc.CloseIdleConnections()
	return nil
}

// Snapshot fetches the agent's last node snapshot; diagnose.Analyze runs on it locally.
func (r *Remote) Snapshot(ctx context.Context) (*Snapshot, error) {
	var s Snapshot
	if err := r.getJSON(ctx, api.PathSnapshot, nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ContainerLog streams a container's log lines from the agent.
func (r *Remote) ContainerLog(ctx context.Context, req LogRequest, fn func(podlog.Line) error) error {
	q := url.Values{}
	q.Set(api.ParamNamespace, req.Namespace)
	q.Set(api.ParamPod, req.Pod)
	if req.Container != "" {
		q.Set(api.ParamContainer, req.Container)
	}
	q.Set(api.ParamTail, strconv.Itoa(req.Tail))
	setBool(q, api.ParamFollow, req.Follow)
	setBool(q, api.ParamPrevious, req.Previous)
	if req.ContainerID != "" {
		q.Set(api.ParamContainerID, req.ContainerID)
	}
	if req.Since > 0 {
		q.Set(api.ParamSince, req.Since.String())
	}
	return streamItems(ctx, r, api.PathLogs, q, fn)
}

// KubeletLog streams kubelet log records from the agent.
func (r *Remote) KubeletLog(ctx context.Context, req KubeletLogRequest, fn func(kubeletlog.Record) error) error {
	q := url.Values{}
	if req.Namespace != "" {
		q.Set(api.ParamNamespace, req.Namespace)
	}
	if req.Pod != "" {
		q.Set(api.ParamPod, req.Pod)
	}
	q.Set(api.ParamTail, strconv.Itoa(req.Tail))
	setBool(q, api.ParamFollow, req.Follow)
	if req.Since > 0 {
		q.Set(api.ParamSince, req.Since.String())
	}
	return streamItems(ctx, r, api.PathKubeletLog, q, fn)
}

// streamItems reads an NDJSON stream of T in which the agent may end with an {"error": …}
// line (a failure after the first item was sent), returned as an error wrapping ErrAgent.
func streamItems[T any](ctx context.Context, r *Remote, path string, q url.Values, fn func(T) error) error {
	return stream(ctx, r, path, q, func(raw json.RawMessage) error {
		var e api.Error
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			if class := FromHTTPStatus(e.Status); class != nil {
				return fmt.Errorf("%s: %w: %w: %s", r.Describe(), ErrAgent, class, e.Error)
			}
			return fmt.Errorf("%s: %w: %s", r.Describe(), ErrAgent, e.Error)
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s: decoding %s stream: %w", r.Describe(), path, err)
		}
		return fn(v)
	})
}

// Apply sends a new config to the agent (admin only). A config that does not parse or has an
// invalid pod is rejected: the result says why and the error wraps ErrAgent.
func (r *Remote) Apply(ctx context.Context, config []byte) (*api.ApplyResult, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+api.PathApply, bytes.NewReader(config))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Describe(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: reading apply result: %w", r.Describe(), err)
	}
	var res api.ApplyResult
	switch resp.StatusCode {
	case http.StatusOK, http.StatusUnprocessableEntity, http.StatusInternalServerError:
		if json.Unmarshal(body, &res) == nil && res.Config != "" {
			if resp.StatusCode != http.StatusOK {
				if class := FromHTTPStatus(resp.StatusCode); class != nil { // 422: the config does not parse or a pod is invalid
					return &res, fmt.Errorf("%s: %w: %w: config not fully applied (HTTP %d)", r.Describe(), ErrAgent, class, resp.StatusCode)
				}
				return &res, fmt.Errorf("%s: %w: config not fully applied (HTTP %d)", r.Describe(), ErrAgent, resp.StatusCode)
			}
			return &res, nil
		}
	}
	return nil, r.httpError(http.MethodPost, api.PathApply, resp.StatusCode, body)
}

// Config fetches the agent's current config file and its path on the agent's node (admin only:
// a reader's certificate gets an error wrapping ErrAgent that says HTTP 403).
func (r *Remote) Config(ctx context.Context) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := r.get(ctx, api.PathConfig, nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxConfigBody+1))
	if err != nil {
		return nil, "", fmt.Errorf("%s: reading config: %w", r.Describe(), err)
	}
	if len(data) > maxConfigBody {
		return nil, "", fmt.Errorf("%s: config is more than %d bytes", r.Describe(), maxConfigBody)
	}
	return data, resp.Header.Get(api.HeaderConfigPath), nil
}

// maxConfigBody caps GET /v1/config (the agent reads at most 8 MiB of config).
const maxConfigBody = 8 << 20

// StaticPods lists the static pods the agent renders from its config.
func (r *Remote) StaticPods(ctx context.Context) ([]api.StaticPod, error) {
	return List[api.StaticPod](ctx, r, api.PathStaticPods)
}

// StaticPodStatuses lists the status of every static pod of the agent's manifest dir.
func (r *Remote) StaticPodStatuses(ctx context.Context) ([]api.StaticPodStatus, error) {
	return List[api.StaticPodStatus](ctx, r, api.PathStaticPodStatus)
}

// WatchStaticPods calls fn for every event until ctx is done, fn fails or the agent ends the stream.
func (r *Remote) WatchStaticPods(ctx context.Context, fn func(api.Event[api.StaticPod]) error) error {
	return Watch(ctx, r, api.PathStaticPods, fn)
}

// WatchStaticPodStatuses calls fn for every status event.
func (r *Remote) WatchStaticPodStatuses(ctx context.Context, fn func(api.Event[api.StaticPodStatus]) error) error {
	return Watch(ctx, r, api.PathStaticPodStatus, fn)
}

// Health asks /healthz.
func (r *Remote) Health(ctx context.Context) (*api.Health, error) {
	var h api.Health
	if err := r.getJSON(ctx, api.PathHealthz, nil, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// Version asks /version.
func (r *Remote) Version(ctx context.Context) (*api.VersionInfo, error) {
	var v api.VersionInfo
	if err := r.getJSON(ctx, api.PathVersion, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// GetJSON decodes the answer of GET path into v (e.g. api.PathReport into a diagnose.Report,
// which this package cannot name: diagnose imports node).
func (r *Remote) GetJSON(ctx context.Context, path string, v any) error {
	return r.getJSON(ctx, path, nil, v)
}

// List fetches a list resource (api.PathStaticPods, api.PathStaticPodStatus, api.PathFindings).
func List[T any](ctx context.Context, r *Remote, path string) ([]T, error) {
	var l api.List[T]
	if err := r.getJSON(ctx, path, nil, &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// Watch streams the events of a list resource: first ADDED for every current item, a BOOKMARK,
// then changes. It returns nil when the agent ends the stream (the caller re-watches).
func Watch[T any](ctx context.Context, r *Remote, path string, fn func(api.Event[T]) error) error {
	q := url.Values{}
	q.Set(api.ParamWatch, "1")
	return stream(ctx, r, path, q, fn)
}

func (r *Remote) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := r.get(ctx, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s: decoding %s: %w", r.Describe(), path, err)
	}
	return nil
}

// get sends GET and turns non-2xx answers into errors carrying the agent's message.
func (r *Remote) get(ctx context.Context, path string, q url.Values) (*http.Response, error) {
	u := r.base + path
	if r.raw {
		q = cloneValues(q)
		q.Set(api.ParamRaw, "1")
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, r.transportError(err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, statusError(resp.StatusCode, r.httpError(http.MethodGet, path, resp.StatusCode, body))
	}
	return resp, nil
}

func (r *Remote) httpError(method, path string, status int, body []byte) error {
	var e api.Error
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if class := FromHTTPStatus(status); class != nil {
		return fmt.Errorf("%s: %s %s: %w: %w: %s (HTTP %d)", r.Describe(), method, path, ErrAgent, class, msg, status)
	}
	return fmt.Errorf("%s: %s %s: %w: %s (HTTP %d)", r.Describe(), method, path, ErrAgent, msg, status)
}

// maxLine caps one NDJSON line (a kubelet record may carry a 1 MiB raw line).
const maxLine = 4 << 20

func stream[T any](ctx context.Context, r *Remote, path string, q url.Values, fn func(T) error) error {
	resp, err := r.get(ctx, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			return fmt.Errorf("%s: decoding %s stream: %w", r.Describe(), path, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s: reading %s stream: %w", r.Describe(), path, err)
	}
	return nil
}

func setBool(q url.Values, k string, v bool) {
	if v {
		q.Set(k, "1")
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
