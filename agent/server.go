package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"time"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/redact"
)

// maxApplyBody caps POST /v1/apply bodies.
const maxApplyBody = maxConfigSize

// NewHandler returns the HTTP API of a. Every request must carry an identity (a unix socket peer
// or a verified client certificate, see Serve); readers may GET, only admins may apply.
func NewHandler(a *Agent) http.Handler {
	s := &server{a: a, log: a.log, red: redact.New(a.opts.Redact),
		streams: &streamSlots{max: a.opts.MaxStreamsPerIdentity, n: map[string]int{}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.PathStaticPods, s.reader(func(w http.ResponseWriter, r *http.Request) { serveSet(s, w, r, a.pods) }))
	mux.HandleFunc("GET "+api.PathStaticPodStatus, s.reader(func(w http.ResponseWriter, r *http.Request) { serveSet(s, w, r, a.stats) }))
	mux.HandleFunc("GET "+api.PathFindings, s.reader(func(w http.ResponseWriter, r *http.Request) { serveSet(s, w, r, a.finds) }))
	mux.HandleFunc("GET "+api.PathReport, s.reader(s.report))
	mux.HandleFunc("GET "+api.PathSnapshot, s.reader(s.snapshot))
	mux.HandleFunc("GET "+api.PathLogs, s.reader(s.logs))
	mux.HandleFunc("GET "+api.PathKubeletLog, s.reader(s.kubeletLog))
	mux.HandleFunc("POST "+api.PathApply, s.admin(s.apply))
	mux.HandleFunc("GET "+api.PathConfig, s.require(api.RoleAdmin, s.config, "the agent config may hold secrets"))
	mux.HandleFunc("GET "+api.PathHealthz, s.reader(s.healthz))
	mux.HandleFunc("GET "+api.PathVersion, s.reader(s.version))
	mux.Handle("GET "+api.PathMetrics, s.reader(a.MetricsHandler().ServeHTTP))
	mux.HandleFunc("/", s.reader(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such API path %s %s (this agent serves %s)", r.Method, r.URL.Path, api.Version))
	}))
	return mux
}

type server struct {
	a   *Agent
	log *slog.Logger
	red *redact.Redactor // what readers (and admins without ?raw=1) receive goes through it
	// streams caps the long-lived streams (watch, follow) per identity.
	streams *streamSlots
}

func (s *server) reader(h http.HandlerFunc) http.HandlerFunc { return s.require(api.RoleReader, h, "") }
func (s *server) admin(h http.HandlerFunc) http.HandlerFunc  { return s.require(api.RoleAdmin, h, "") }

// require refuses requests without role; why, when set, is told to a refused reader.
func (s *server) require(role string, h http.HandlerFunc, why string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := IdentityOf(r)
		switch {
		case id == nil:
			writeError(w, http.StatusUnauthorized, "unauthenticated: connect over the unix socket or present a client certificate signed by the agent's client CA")
			return
		case id.Role == "":
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s has no spdoc role: the client certificate's organization must be %s or %s", id, api.RoleReader, api.RoleAdmin))
			return
		case role == api.RoleAdmin && id.Role != api.RoleAdmin:
			s.log.Warn("refused: admin role required", "path", r.URL.Path, "who", id.Name, "role", id.Role, "via", id.Via)
			msg := fmt.Sprintf("%s has role %s; %s %s needs %s", id, id.Role, r.Method, r.URL.Path, api.RoleAdmin)
			if why != "" {
				msg += " (" + why + ")"
			}
			writeError(w, http.StatusForbidden, msg)
			return
		}
		h(w, r)
	}
}

func (s *server) report(w http.ResponseWriter, r *http.Request) {
	v, ok := s.viewFor(w, r)
	if !ok {
		return
	}
	rep := v.report(s.a.Report())
	if rep == nil {
		writeError(w, http.StatusServiceUnavailable, "no report yet: the agent has not read the node (or runs without a node source)")
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *server) snapshot(w http.ResponseWriter, r *http.Request) {
	v, ok := s.viewFor(w, r)
	if !ok {
		return
	}
	snap := s.a.Snapshot()
	if snap == nil {
		writeError(w, http.StatusServiceUnavailable, "no snapshot yet: the agent has not read the node (or runs without a node source)")
		return
	}
	writeJSON(w, http.StatusOK, copyOf(v, snap))
}

// healthz answers 200 while the agent is ok, 503 when its view of the node is stale.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	h := s.a.Health()
	status := http.StatusOK
	if h.Status != api.HealthOK {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

func (s *server) version(w http.ResponseWriter, r *http.Request) {
	s.a.mu.RLock()
	nodeName := s.a.nodeName
	s.a.mu.RUnlock()
	writeJSON(w, http.StatusOK, api.VersionInfo{Version: s.a.opts.Version, APIVersion: api.Version, GoVersion: runtime.Version(), Node: nodeName})
}

func (s *server) apply(w http.ResponseWriter, r *http.Request) {
	id := IdentityOf(r)
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxApplyBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("reading config body: %v", err))
		return
	}
	res, err := s.a.Apply(data)
	if err != nil {
		s.log.Error("apply failed", "who", id.Name, "role", id.Role, "via", id.Via, "err", err)
		writeError(w, node.HTTPStatus(err), err.Error())
		return
	}
	s.log.Info("apply", "who", id.Name, "role", id.Role, "via", id.Via, "bytes", len(data), "ok", res.OK(),
		"written", len(res.Written), "removed", len(res.Removed), "invalid", len(res.Invalid), "parseError", res.ParseError)
	status := http.StatusOK
	if res.ParseError != "" || len(res.Invalid) > 0 {
		status = http.StatusUnprocessableEntity
	} else if len(res.Errors) > 0 {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, res)
}

// config answers the config file as it is on disk now (what the next apply replaces). Reads are
// logged with who did it, like applies: the file may hold secrets.
func (s *server) config(w http.ResponseWriter, r *http.Request) {
	id := IdentityOf(r)
	path := s.a.opts.ConfigPath
	data, err := readCapped(path, maxConfigSize)
	if err != nil {
		writeError(w, node.HTTPStatus(err), err.Error())
		return
	}
	s.log.Info("config read", "who", id.Name, "role", id.Role, "via", id.Via, "bytes", len(data))
	w.Header().Set("Content-Type", api.ContentTypeYAML)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set(api.HeaderConfigPath, path)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

func (s *server) logs(w http.ResponseWriter, r *http.Request) {
	nc := s.a.opts.Node
	if nc == nil {
		writeError(w, http.StatusServiceUnavailable, "this agent runs without a node source: no logs")
		return
	}
	q := r.URL.Query()
	req := node.LogRequest{Namespace: q.Get(api.ParamNamespace), Pod: q.Get(api.ParamPod), Container: q.Get(api.ParamContainer),
		Previous: boolParam(q.Get(api.ParamPrevious)), Follow: boolParam(q.Get(api.ParamFollow)), ContainerID: q.Get(api.ParamContainerID)}
	var err error
	if req.Tail, req.Since, err = tailSince(q); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Pod == "" {
		writeError(w, http.StatusBadRequest, "missing query parameter pod")
		return
	}
	v, ok := s.viewFor(w, r)
	if !ok {
		return
	}
	if req.Follow {
		release, ok := s.streams.acquire(w, r)
		if !ok {
			return
		}
		defer release()
	}
	lr := v.lines()
	st := newStream(w)
	err = nc.ContainerLog(r.Context(), req, func(l podlog.Line) error { return st.send(redactedPodLine(lr, l)) })
	st.finish(err)
}

func (s *server) kubeletLog(w http.ResponseWriter, r *http.Request) {
	nc := s.a.opts.Node
	if nc == nil {
		writeError(w, http.StatusServiceUnavailable, "this agent runs without a node source: no kubelet log")
		return
	}
	q := r.URL.Query()
	req := node.KubeletLogRequest{Namespace: q.Get(api.ParamNamespace), Pod: q.Get(api.ParamPod), Follow: boolParam(q.Get(api.ParamFollow))}
	var err error
	if req.Tail, req.Since, err = tailSince(q); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, ok := s.viewFor(w, r)
	if !ok {
		return
	}
	if req.Follow {
		release, ok := s.streams.acquire(w, r)
		if !ok {
			return
		}
		defer release()
	}
	lr := v.lines()
	st := newStream(w)
	err = nc.KubeletLog(r.Context(), req, func(rec kubeletlog.Record) error { return st.send(redactedRecord(v, lr, rec)) })
	st.finish(err)
}

// stream writes NDJSON. Until the first line is sent an error can still become a proper status;
// after that it is sent as a final {"error": …} line.
type stream struct {
	w       http.ResponseWriter
	enc     *json.Encoder
	rc      *http.ResponseController
	started bool
}

func newStream(w http.ResponseWriter) *stream {
	return &stream{w: w, enc: json.NewEncoder(w), rc: http.NewResponseController(w)}
}

func (s *stream) start() {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", api.ContentTypeNDJSON)
		s.w.Header().Set("Cache-Control", "no-store")
		s.w.WriteHeader(http.StatusOK)
	}
}

func (s *stream) send(v any) error {
	s.start()
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *stream) finish(err error) {
	if err == nil || errors.Is(err, errClientGone) {
		s.start()
		return
	}
	if !s.started {
		writeError(s.w, node.HTTPStatus(err), err.Error())
		return
	}
	_ = s.enc.Encode(api.Error{Error: err.Error(), Status: node.HTTPStatus(err)})
	_ = s.rc.Flush()
}

var errClientGone = errors.New("client gone")

// serveSet answers a list, or with ?watch=1 streams the current items as ADDED, a BOOKMARK, then
// every change until the client goes away.
func serveSet[T any](s *server, w http.ResponseWriter, r *http.Request, set *watchSet[T]) {
	v, ok := s.viewFor(w, r)
	if !ok {
		return
	}
	if !boolParam(r.URL.Query().Get(api.ParamWatch)) {
		writeJSON(w, http.StatusOK, api.List[T]{Items: copyOf(v, set.List())})
		return
	}
	release, ok := s.streams.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	initial, events, cancel := set.Watch()
	defer cancel()
	st := newStream(w)
	for _, it := range initial {
		if st.send(api.Event[T]{Type: api.Added, Object: copyOf(v, it)}) != nil {
			return
		}
	}
	var zero T
	if st.send(api.Event[T]{Type: api.Bookmark, Object: zero}) != nil {
		return
	}
	keepalive := time.NewTicker(30 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-events:
			if !ok {
				return // fell behind: the client re-lists
			}
			ev.Object = copyOf(v, ev.Object)
			if st.send(ev) != nil {
				return
			}
		case <-keepalive.C:
			if st.send(api.Event[T]{Type: api.Bookmark, Object: zero}) != nil {
				return
			}
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, api.Error{Error: msg, Status: status})
}

// tailSince reads ?tail (default -1: everything) and ?since.
func tailSince(q url.Values) (int, time.Duration, error) {
	tail, err := intParam(q.Get(api.ParamTail), -1)
	if err != nil {
		return 0, 0, err
	}
	since, err := durationParam(q.Get(api.ParamSince))
	return tail, since, err
}

func boolParam(s string) bool {
	b, err := strconv.ParseBool(s)
	return err == nil && b
}

func intParam(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("invalid query parameter tail=%q: want an integer", s)
	}
	return n, nil
}

func durationParam(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid query parameter since=%q: want a positive Go duration like 10m", s)
	}
	return d, nil
}
