package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"testing"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/podlog"
)

// TestErrorClassesRoundTrip: every class maps to its status and back; file system errors get
// their class without losing their message.
func TestErrorClassesRoundTrip(t *testing.T) {
	for class, status := range map[error]int{ErrNotFound: 404, ErrForbidden: 403, ErrUnauthenticated: 401, ErrInvalid: 400, ErrUnavailable: 503} {
		wrapped := fmt.Errorf("pod %q: %w", "web", class)
		if got := HTTPStatus(wrapped); got != status {
			t.Errorf("HTTPStatus(%v) = %d, want %d", wrapped, got, status)
		}
		if back := FromHTTPStatus(status); back != class {
			t.Errorf("FromHTTPStatus(%d) = %v, want %v", status, back, class)
		}
	}
	if HTTPStatus(errors.New("boom")) != 500 || FromHTTPStatus(500) != nil || HTTPStatus(nil) != 200 {
		t.Error("an error without a class is a 500, and a 500 has no class")
	}
	_, err := os.Open("/nonexistent/spdoc")
	if c := withClass(err); !errors.Is(c, ErrNotFound) || !errors.Is(c, fs.ErrNotExist) || c.Error() != err.Error() || HTTPStatus(c) != 404 {
		t.Errorf("withClass(%v) = %v", err, c)
	}
	perm := &fs.PathError{Op: "open", Path: "/var/log/pods/x/0.log", Err: fs.ErrPermission}
	if c := withClass(perm); !errors.Is(c, ErrForbidden) || c.Error() != perm.Error() || HTTPStatus(c) != 403 {
		t.Errorf("withClass(%v) = %v", perm, c)
	}
}

// TestRemoteErrorClasses: whatever the agent answers — a status, or an error line ending a stream
// that had started with 200 — Remote wraps the class and ErrAgent.
func TestRemoteErrorClasses(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 413, 422, 503, 500} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			addr := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				_ = json.NewEncoder(w).Encode(api.Error{Error: "the agent's words", Status: status})
			})
			r, err := DialRemote(addr, RemoteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, err = r.Version(context.Background())
			want := FromHTTPStatus(status)
			if !errors.Is(err, ErrAgent) || (want != nil && !errors.Is(err, want)) {
				t.Errorf("status %d: %v, want ErrAgent and %v", status, err, want)
			}
			for _, other := range []error{ErrNotFound, ErrForbidden, ErrInvalid, ErrUnavailable, ErrUnauthenticated} {
				if other != want && errors.Is(err, other) {
					t.Errorf("status %d also is %v", status, other)
				}
			}
		})
	}
	addr := fakeAgent(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		_ = json.NewEncoder(w).Encode(podlog.Line{Msg: "first"})
		_ = json.NewEncoder(w).Encode(api.Error{Error: "container log rotated away", Status: 404})
	})
	r, err := DialRemote(addr, RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n int
	err = r.ContainerLog(context.Background(), LogRequest{Pod: "web", Tail: -1}, func(podlog.Line) error { n++; return nil })
	if n != 1 || !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrAgent) {
		t.Errorf("stream ending in a 404 error line: %d lines, %v", n, err)
	}
}
