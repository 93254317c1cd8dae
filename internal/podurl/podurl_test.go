package podurl

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const listBody = `{"apiVersion":"v1","kind":"PodList","items":[` +
	`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"kube-system"},"spec":{"containers":[{"name":"c","image":"x:1"}]}},` +
	`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad","namespace":"kube-system"},"spec":{}}]}`

func TestFetch(t *testing.T) {
	var gotHeader string
	mux := http.NewServeMux()
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		gotHeader = r.Header.Get("X-Token")
		w.Write([]byte(listBody))
	})
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat(" ", 1<<20))
		for i := 0; i < 11; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path    string
		client  *http.Client
		wantErr error
		errText string
		pods    int
		block   int
	}{
		{path: "/list", pods: 2, block: 1},
		{path: "/404", wantErr: ErrStatus, errText: "404 Not Found"},
		{path: "/empty", wantErr: ErrEmpty},
		{path: "/huge", wantErr: ErrTooLarge},
		{path: "/slow", client: &http.Client{Timeout: 100 * time.Millisecond}, errText: "Client.Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			src := Source{URL: srv.URL + tt.path + "?token=s3cr3t", Header: http.Header{"X-Token": {"hunter2"}}}
			body, _, err := Get(context.Background(), src, tt.client)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)) {
				t.Fatalf("err = %v, want %q", err, tt.errText)
			}
			if err != nil && (strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "hunter2")) {
				t.Fatalf("secret in error: %v", err)
			}
			if tt.wantErr == nil && tt.errText == "" {
				if err != nil || len(body) == 0 {
					t.Fatalf("Get: %v", err)
				}
				st := Fetch(context.Background(), src, Options{NodeName: "n1"})
				if gotHeader != "hunter2" {
					t.Errorf("header not sent: %q", gotHeader)
				}
				if len(st.Pods()) != tt.pods || st.List.Blocking != tt.block || !st.Rejected() {
					t.Errorf("pods %d blocking %d rejected %v", len(st.Pods()), st.List.Blocking, st.Rejected())
				}
				if strings.Contains(st.URL, "s3cr3t") || len(st.Headers) != 1 || st.Headers[0] != "X-Token" {
					t.Errorf("state not redacted: %q %v", st.URL, st.Headers)
				}
			}
		})
	}
}

func TestApplyFlags(t *testing.T) {
	src, ok := FromConfig("http://127.0.0.1:1/cfg", map[string][]string{"a": {"1"}}, 0, "kubelet-config c.yaml")
	if !ok || src.Header.Get("A") != "1" {
		t.Fatalf("FromConfig: %+v", src)
	}
	got, err := ApplyFlags(src, []string{"--config=c.yaml", "--manifest-url", "http://h/x", "--manifest-url-header=a:hello,b:again", "--manifest-url-header", "b:beautiful"})
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != "http://h/x" || got.From != "flag --manifest-url" {
		t.Errorf("url %q from %q", got.URL, got.From)
	}
	if v := got.Header.Values("B"); len(v) != 2 || v[0] != "again" || v[1] != "beautiful" || got.Header.Get("A") != "hello" {
		t.Errorf("headers %v", got.Header)
	}
	if _, err := ApplyFlags(src, []string{"--manifest-url-header=nocolonsecret"}); !errors.Is(err, ErrBadHeader) || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad header: %v", err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		msg  string
		want Event
	}{
		{MsgFailed, EventFailed},
		{MsgDropping, EventDropping},
		{MsgSucceeded, EventSucceeded},
		{MsgAdding, EventAdding},
		{MsgWatching, EventWatching},
		{"Failed to read pod", EventNone},
	}
	for _, tt := range tests {
		if got := Classify(tt.msg); got != tt.want {
			t.Errorf("Classify(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
	if !BodyRejected("invalid pod: [spec.containers: Required value]") || BodyRejected(`Get "http://x": dial tcp 127.0.0.1:1: connect: connection refused`) {
		t.Error("BodyRejected")
	}
	if !Unreachable("http://127.0.0.1:1/: 500 Internal Server Error") || Unreachable("invalid pod: x") {
		t.Error("Unreachable")
	}
}
