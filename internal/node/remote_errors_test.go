package node

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoteErrorsSayWhatToDo: a missing socket says the agent is not running and how to
// check; a 404 is NotFound with the agent's message.
func TestRemoteErrorsSayWhatToDo(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	r, err := NewRemote("unix://"+sock, RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Snapshot(context.Background())
	if !errors.Is(err, ErrAgentUnreachable) || !strings.Contains(err.Error(), "is it running? (systemctl status spdoc-agent)") {
		t.Errorf("missing socket: %v", err)
	}

	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"pod \"ghost\" not found on node1"}`))
	})}
	go srv.Serve(l)
	defer srv.Close()
	_, err = r.Snapshot(context.Background())
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `pod "ghost" not found on node1`) {
		t.Errorf("404: %v", err)
	}
}
