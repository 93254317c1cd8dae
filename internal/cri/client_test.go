package cri

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeRuntime serves a fixed node: one static pod sandbox with a crashed and a running container.
type fakeRuntime struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	events     bool
	hang       chan struct{}
	eventsSent chan struct{}
}

const (
	sbID = "sb1"
	c1ID = "c1111111111111111111111111111111111111111111111111111111111111111"
	c2ID = "c2222222222222222222222222222222222222222222222222222222222222222"
)

var created = time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC)

func (f *fakeRuntime) Version(_ context.Context, _ *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	if f.hang != nil {
		<-f.hang // answers only after the client gave up
	}
	return &runtimeapi.VersionResponse{RuntimeName: "containerd", RuntimeVersion: "1.6.20", RuntimeApiVersion: "v1"}, nil
}

func (f *fakeRuntime) Status(context.Context, *runtimeapi.StatusRequest) (*runtimeapi.StatusResponse, error) {
	return &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: "RuntimeReady", Status: true},
		{Type: "NetworkReady", Status: false, Reason: "NetworkPluginNotReady", Message: "cni plugin not initialized"},
	}}}, nil
}

var podLabels = map[string]string{LabelPodName: "web-node1", LabelPodNamespace: "default", LabelPodUID: "0123456789abcdef0123456789abcdef"}

func (f *fakeRuntime) ListPodSandbox(context.Context, *runtimeapi.ListPodSandboxRequest) (*runtimeapi.ListPodSandboxResponse, error) {
	return &runtimeapi.ListPodSandboxResponse{Items: []*runtimeapi.PodSandbox{{
		Id:        sbID,
		Metadata:  &runtimeapi.PodSandboxMetadata{Name: "web-node1", Namespace: "default", Uid: podLabels[LabelPodUID], Attempt: 0},
		State:     runtimeapi.PodSandboxState_SANDBOX_READY,
		CreatedAt: created.UnixNano(),
		Labels:    podLabels,
	}, {
		Id:    "gone",
		State: runtimeapi.PodSandboxState_SANDBOX_NOTREADY,
	}}}, nil
}

func (f *fakeRuntime) PodSandboxStatus(_ context.Context, req *runtimeapi.PodSandboxStatusRequest) (*runtimeapi.PodSandboxStatusResponse, error) {
	if req.PodSandboxId != sbID {
		return nil, status.Error(codes.NotFound, "no such sandbox")
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: &runtimeapi.PodSandboxStatus{
		Id:      sbID,
		Network: &runtimeapi.PodSandboxNetworkStatus{Ip: "10.0.0.5"},
		Linux:   &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{Options: &runtimeapi.NamespaceOption{Network: runtimeapi.NamespaceMode_NODE}}},
	}}, nil
}

func containerLabels(name string) map[string]string {
	l := map[string]string{LabelContainerName: name}
	for k, v := range podLabels {
		l[k] = v
	}
	return l
}

func (f *fakeRuntime) ListContainers(context.Context, *runtimeapi.ListContainersRequest) (*runtimeapi.ListContainersResponse, error) {
	return &runtimeapi.ListContainersResponse{Containers: []*runtimeapi.Container{{
		Id: c1ID, PodSandboxId: sbID,
		Metadata:    &runtimeapi.ContainerMetadata{Name: "app", Attempt: 3},
		Image:       &runtimeapi.ImageSpec{Image: "sha256:abc"},
		ImageRef:    "sha256:abc",
		State:       runtimeapi.ContainerState_CONTAINER_RUNNING,
		CreatedAt:   created.UnixNano(),
		Labels:      containerLabels("app"),
		Annotations: map[string]string{AnnotationRestartCount: "3"},
	}, {
		Id: c2ID, PodSandboxId: sbID,
		Metadata:    &runtimeapi.ContainerMetadata{Name: "side", Attempt: 0},
		State:       runtimeapi.ContainerState_CONTAINER_RUNNING,
		Labels:      containerLabels("side"),
		Annotations: map[string]string{AnnotationRestartCount: "bogus"},
	}}}, nil
}

func (f *fakeRuntime) ContainerStatus(_ context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	if req.ContainerId != c1ID {
		return nil, status.Error(codes.NotFound, "gone")
	}
	return &runtimeapi.ContainerStatusResponse{
		Status: &runtimeapi.ContainerStatus{
			Id:         c1ID,
			State:      runtimeapi.ContainerState_CONTAINER_EXITED,
			StartedAt:  created.Add(time.Second).UnixNano(),
			FinishedAt: created.Add(2 * time.Second).UnixNano(),
			ExitCode:   137,
			Reason:     "OOMKilled",
			Message:    "out of memory",
			Image:      &runtimeapi.ImageSpec{Image: "docker.io/library/busybox:1.36"},
			LogPath:    "/var/log/pods/default_web-node1_0123/app/3.log",
		},
		Info: map[string]string{"info": `{"pid":4242,"sandboxID":"sb1"}`},
	}, nil
}

func (f *fakeRuntime) GetContainerEvents(_ *runtimeapi.GetEventsRequest, srv runtimeapi.RuntimeService_GetContainerEventsServer) error {
	if !f.events {
		return status.Error(codes.Unimplemented, "method GetContainerEvents not implemented")
	}
	<-f.eventsSent // the test says when to send, so the first answer comes after the call timeout
	err := srv.Send(&runtimeapi.ContainerEventResponse{
		ContainerId:        c1ID,
		ContainerEventType: runtimeapi.ContainerEventType_CONTAINER_STOPPED_EVENT,
		CreatedAt:          created.UnixNano(),
		PodSandboxStatus:   &runtimeapi.PodSandboxStatus{Id: sbID, Metadata: &runtimeapi.PodSandboxMetadata{Name: "web-node1", Namespace: "default", Uid: "u"}},
	})
	if err != nil {
		return err
	}
	<-srv.Context().Done()
	return nil
}

// serve starts the fake on a unix socket in a temp dir and returns the socket path.
func serve(t *testing.T, f *fakeRuntime) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "cri.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(s, f)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return sock
}

func TestClientAgainstFake(t *testing.T) {
	sock := serve(t, &fakeRuntime{})
	ctx := context.Background()
	for _, ep := range []string{"unix://" + sock, sock} {
		t.Run(ep, func(t *testing.T) {
			c, err := New(ctx, ep)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Endpoint() != "unix://"+sock {
				t.Errorf("Endpoint = %q", c.Endpoint())
			}
			st, err := c.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.RuntimeName != "containerd" || st.RuntimeVersion != "1.6.20" || st.APIVersion != "v1" || len(st.Conditions) != 2 ||
				!st.Conditions[0].Status || st.Conditions[1].Status || st.Conditions[1].Message != "cni plugin not initialized" {
				t.Errorf("Status = %+v", st)
			}
			sbs, err := c.ListSandboxes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(sbs) != 2 {
				t.Fatalf("got %d sandboxes, want 2", len(sbs))
			}
			sb := sbs[0]
			if sb.Name != "web-node1" || sb.Namespace != "default" || sb.State != "SANDBOX_READY" || sb.IP != "10.0.0.5" || !sb.HostNetwork || !sb.CreatedAt.Equal(created) {
				t.Errorf("sandbox = %+v", sb)
			}
			cs, err := c.ListContainers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 2 {
				t.Fatalf("got %d containers, want 2", len(cs))
			}
			app := cs[0]
			if app.Name != "app" || app.PodName != "web-node1" || app.PodNamespace != "default" || app.RestartCount != 3 ||
				app.State != "CONTAINER_EXITED" || app.ExitCode != 137 || app.Reason != "OOMKilled" || app.PID != 4242 ||
				app.Image != "docker.io/library/busybox:1.36" || app.LogPath == "" || !app.FinishedAt.Equal(created.Add(2*time.Second)) {
				t.Errorf("app container = %+v", app)
			}
			// A container whose status call fails keeps what the list said.
			side := cs[1]
			if side.Name != "side" || side.State != "CONTAINER_RUNNING" || side.RestartCount != 0 {
				t.Errorf("side container = %+v", side)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := New(ctx, "unix://"+filepath.Join(dir, "missing.sock"))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "missing.sock") {
		t.Fatalf("missing socket: err = %v, want ErrUnreachable naming the socket", err)
	}
	// A socket file nobody listens on: connection refused on the first call.
	sock := filepath.Join(dir, "dead.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	c, err := New(ctx, sock, WithTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Status(ctx)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "dead.sock") {
		t.Fatalf("refused: err = %v, want ErrUnreachable naming the socket", err)
	}
}

func TestTimeout(t *testing.T) {
	hang := make(chan struct{})
	sock := serve(t, &fakeRuntime{hang: hang})
	defer close(hang)
	c, err := New(context.Background(), sock, WithTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Status(context.Background()); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "DeadlineExceeded") {
		t.Fatalf("err = %v, want ErrUnreachable after the call timeout", err)
	}
}

func TestBadEndpoint(t *testing.T) {
	for _, ep := range []string{"tcp://127.0.0.1:1", "relative/path.sock", "unix://rel"} {
		if _, err := New(context.Background(), ep); err == nil || errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: err = %v, want an endpoint error", ep, err)
		}
	}
}

func TestContainerEvents(t *testing.T) {
	ctx := context.Background()
	t.Run("unimplemented", func(t *testing.T) {
		c, err := New(ctx, serve(t, &fakeRuntime{}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.ContainerEvents(ctx); !errors.Is(err, ErrUnsupported) {
			t.Fatalf("err = %v, want ErrUnsupported", err)
		}
	})
	t.Run("stream", func(t *testing.T) {
		f := &fakeRuntime{events: true, eventsSent: make(chan struct{})}
		c, err := New(ctx, serve(t, f), WithTimeout(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithCancel(ctx)
		ch, err := c.ContainerEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		close(f.eventsSent)
		select {
		case ev := <-ch:
			if ev.ContainerID != c1ID || ev.Type != "CONTAINER_STOPPED_EVENT" || ev.PodName != "web-node1" || !ev.At.Equal(created) {
				t.Errorf("event = %+v", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		cancel()
		select {
		case _, ok := <-ch:
			if ok {
				t.Fatal("unexpected second event")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("channel not closed after cancel")
		}
	})
}

func TestDecodeCaptureRealNode(t *testing.T) {
	data, err := os.ReadFile("../../testdata/nodes/broken/runtime.json")
	if err != nil {
		t.Fatal(err)
	}
	st, sbs, cs, err := DecodeCapture(data, "unix:///run/containerd.sock")
	if err != nil {
		t.Fatal(err)
	}
	if st.RuntimeName != "containerd" || len(st.Conditions) != 2 || st.Conditions[1].Type != "NetworkReady" || st.Conditions[1].Status {
		t.Errorf("status = %+v", st)
	}
	if len(sbs) != 9 || len(cs) != 6 {
		t.Fatalf("got %d sandboxes, %d containers; want 9, 6", len(sbs), len(cs))
	}
	var late *Container
	for i := range cs {
		if cs[i].PodName == "late-node1" {
			late = &cs[i]
		}
	}
	if late == nil || late.Name != "main" || late.PodNamespace != "default" || late.State != "CONTAINER_RUNNING" ||
		late.StartedAt.IsZero() || late.LogPath == "" || late.Image != "spdoc.local/busybox:1" {
		t.Errorf("late container = %+v", late)
	}
	if sbs[0].Name != "edited-node1" || sbs[0].State != "SANDBOX_NOTREADY" && sbs[0].State != "SANDBOX_READY" || !sbs[0].HostNetwork {
		t.Errorf("sandbox = %+v", sbs[0])
	}
	if _, _, _, err := DecodeCapture([]byte("{not json"), ""); err == nil {
		t.Error("garbage decoded without error")
	}
}
