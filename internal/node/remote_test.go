package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/podlog"
)

// fakeAgent serves a canned API on a unix socket and records the queries it got.
func fakeAgent(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

func TestDialRemoteTargets(t *testing.T) {
	for _, tc := range []struct {
		target string
		want   string // "" = ok, else part of the error
	}{
		{"unix:///run/spdoc/agent.sock", ""},
		{"/run/spdoc/agent.sock", ""},
		{"https://node1:7443", ""},
		{"http://node1:7443", "plain TCP is not supported"},
		{"tcp://node1:7443", "plain TCP is not supported"},
		{"unix://", "want unix:///path"},
		{"https://", "want https://host:port"},
		{"ftp://x", "want unix:///path or https://host:port"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			_, err := DialRemote(tc.target, RemoteOptions{})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want ok", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := DialRemote("https://node1:7443", RemoteOptions{Cert: "only-cert.crt"}); err == nil || !strings.Contains(err.Error(), "both --cert and --key") {
		t.Errorf("cert without key: %v", err)
	}
	if _, err := DialRemote("https://node1:7443", RemoteOptions{CA: filepath.Join(t.TempDir(), "missing.crt")}); err == nil || !strings.Contains(err.Error(), "missing.crt") {
		t.Errorf("missing CA: %v, want the file named", err)
	}
}

func TestRemoteStreams(t *testing.T) {
	var gotQuery string
	target := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		gotQuery = r.URL.RawQuery
		switch r.URL.Path {
		case api.PathLogs:
			w.Header().Set("Content-Type", api.ContentTypeNDJSON)
			enc := json.NewEncoder(w)
			enc.Encode(podlog.Line{TS: time.Unix(1, 0).UTC(), Stream: "stdout", Msg: "hello"})
			enc.Encode(podlog.Line{TS: time.Unix(2, 0).UTC(), Stream: "stderr", Msg: "world"})
			if r.URL.Query().Get(api.ParamPrevious) == "1" {
				enc.Encode(api.Error{Error: "log file rotated away"})
			}
		case api.PathKubeletLog:
			json.NewEncoder(w).Encode(kubeletlog.Record{Msg: "Could not process manifest file", Path: "/etc/kubernetes/manifests/x.yaml", Level: "E"})
		case api.PathSnapshot:
			json.NewEncoder(w).Encode(Snapshot{Node: NodeInfo{Name: "node1"}})
		case api.PathStaticPodStatus:
			if r.URL.Query().Get(api.ParamWatch) == "1" {
				enc := json.NewEncoder(w)
				enc.Encode(api.Event[api.StaticPodStatus]{Type: api.Added, Object: api.StaticPodStatus{ID: "default-web", Ready: true}})
				enc.Encode(api.Event[api.StaticPodStatus]{Type: api.Bookmark})
				enc.Encode(api.Event[api.StaticPodStatus]{Type: api.Deleted, Object: api.StaticPodStatus{ID: "default-web"}})
				return
			}
			json.NewEncoder(w).Encode(api.List[api.StaticPodStatus]{Items: []api.StaticPodStatus{{ID: "default-web", Ready: true}}})
		case api.PathApply:
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(api.Error{Error: "reader (mtls) has role spdoc:reader; POST /v1/apply needs spdoc:admin"})
		default:
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(api.Error{Error: "no such API path"})
		}
	})
	c, err := NewRemote(target, RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.(*Remote)
	ctx := context.Background()
	if !strings.HasPrefix(c.Describe(), "agent unix://") {
		t.Errorf("Describe = %q", c.Describe())
	}

	var lines []string
	err = c.ContainerLog(ctx, LogRequest{Namespace: "default", Pod: "web", Container: "main", Tail: 10, Since: 5 * time.Minute},
		func(l podlog.Line) error { lines = append(lines, l.Stream+":"+l.Msg); return nil })
	if err != nil || strings.Join(lines, ",") != "stdout:hello,stderr:world" {
		t.Errorf("ContainerLog = %v, %v", lines, err)
	}
	for _, want := range []string{"namespace=default", "pod=web", "container=main", "tail=10", "since=5m0s"} {
		if !strings.Contains(gotQuery, want) {
			t.Errorf("query %q lacks %s", gotQuery, want)
		}
	}
	err = c.ContainerLog(ctx, LogRequest{Pod: "web", Previous: true, Tail: -1}, func(podlog.Line) error { return nil })
	if err == nil || !errors.Is(err, ErrAgent) || !strings.Contains(err.Error(), "rotated away") {
		t.Errorf("error line in stream: err = %v, want ErrAgent with the agent's message", err)
	}
	stop := errors.New("stop")
	if err := c.ContainerLog(ctx, LogRequest{Pod: "web"}, func(podlog.Line) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error not returned: %v", err)
	}

	var recs []kubeletlog.Record
	if err := c.KubeletLog(ctx, KubeletLogRequest{Pod: "web", Follow: true}, func(r kubeletlog.Record) error { recs = append(recs, r); return nil }); err != nil || len(recs) != 1 || recs[0].Path == "" {
		t.Errorf("KubeletLog = %+v, %v", recs, err)
	}
	if !strings.Contains(gotQuery, "follow=1") {
		t.Errorf("follow not sent: %q", gotQuery)
	}
	snap, err := c.Snapshot(ctx)
	if err != nil || snap.Node.Name != "node1" {
		t.Errorf("Snapshot = %+v, %v", snap, err)
	}
	sts, err := r.StaticPodStatuses(ctx)
	if err != nil || len(sts) != 1 || !sts[0].Ready {
		t.Errorf("StaticPodStatuses = %+v, %v", sts, err)
	}
	var evs []string
	if err := r.WatchStaticPodStatuses(ctx, func(ev api.Event[api.StaticPodStatus]) error {
		evs = append(evs, fmt.Sprintf("%s %s", ev.Type, ev.Object.ID))
		return nil
	}); err != nil || strings.Join(evs, ",") != "ADDED default-web,BOOKMARK ,DELETED default-web" {
		t.Errorf("watch = %v, %v", evs, err)
	}
	_, err = r.Apply(ctx, []byte("pods: []\n"))
	if err == nil || !errors.Is(err, ErrAgent) || !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "needs spdoc:admin") {
		t.Errorf("Apply as reader: %v", err)
	}
	if _, err := r.Health(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown path: %v, want 404", err)
	}
}

func TestRemoteUnreachable(t *testing.T) {
	c, err := NewRemote("unix://"+filepath.Join(t.TempDir(), "none.sock"), RemoteOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Snapshot(context.Background())
	if err == nil || errors.Is(err, ErrAgent) || !strings.Contains(err.Error(), "none.sock") {
		t.Errorf("err = %v, want a transport error naming the socket", err)
	}
}

func TestRemoteConfig(t *testing.T) {
	const cfg = "pods: []\n"
	var big atomic.Bool
	target := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != api.PathConfig:
			w.WriteHeader(http.StatusNotFound)
		case r.Header.Get("X-Role") == "reader":
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(api.Error{Error: "reader (mtls) has role spdoc:reader; GET /v1/config needs spdoc:admin"})
		case big.Load():
			w.Header().Set("Content-Type", api.ContentTypeYAML)
			w.Write([]byte(strings.Repeat("#\n", maxConfigBody/2+1)))
		default:
			w.Header().Set("Content-Type", api.ContentTypeYAML)
			w.Header().Set(api.HeaderConfigPath, "/etc/spdoc/pods.yaml")
			w.Write([]byte(cfg))
		}
	})
	r, err := DialRemote(target, RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	data, path, err := r.Config(ctx)
	if err != nil || string(data) != cfg || path != "/etc/spdoc/pods.yaml" {
		t.Errorf("Config = %q, %q, %v", data, path, err)
	}
	big.Store(true)
	if _, _, err := r.Config(ctx); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized config: err = %v", err)
	}
	big.Store(false)
	// A reader: the transport adds the header the fake agent reads as the role.
	r.hc.Transport = roleTransport{r.hc.Transport}
	if _, _, err := r.Config(ctx); err == nil || !errors.Is(err, ErrAgent) || !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "needs spdoc:admin") {
		t.Errorf("reader: err = %v, want the agent's 403", err)
	}
}

type roleTransport struct{ next http.RoundTripper }

func (rt roleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Role", "reader")
	return rt.next.RoundTrip(req)
}
