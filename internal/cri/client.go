package cri

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// DefaultEndpoint is containerd's CRI socket.
const DefaultEndpoint = "unix:///run/containerd/containerd.sock"

// DefaultTimeout bounds every call unless WithTimeout says otherwise.
const DefaultTimeout = 2 * time.Second

// Sentinel error kinds, wrapped with the endpoint and the runtime's message.
var (
	// ErrUnreachable: the socket is absent, refuses connections or does not answer in time —
	// the runtime is down.
	ErrUnreachable = errors.New("container runtime unreachable")
	// ErrUnsupported: the runtime does not implement the call (containerd 1.6 has no
	// GetContainerEvents).
	ErrUnsupported = errors.New("not supported by the container runtime")
)

// Labels and annotations the kubelet puts on sandboxes and containers.
const (
	LabelPodName           = "io.kubernetes.pod.name"
	LabelPodNamespace      = "io.kubernetes.pod.namespace"
	LabelPodUID            = "io.kubernetes.pod.uid"
	LabelContainerName     = "io.kubernetes.container.name"
	AnnotationRestartCount = "io.kubernetes.container.restartCount"
)

// Event is a container lifecycle event from GetContainerEvents.
type Event struct {
	ContainerID  string    `json:"containerID"`
	Type         string    `json:"type"` // CONTAINER_CREATED_EVENT, CONTAINER_STARTED_EVENT, CONTAINER_STOPPED_EVENT, CONTAINER_DELETED_EVENT
	At           time.Time `json:"at"`
	SandboxID    string    `json:"sandboxID,omitempty"`
	PodName      string    `json:"podName,omitempty"`
	PodNamespace string    `json:"podNamespace,omitempty"`
	PodUID       string    `json:"podUID,omitempty"`
}

// Client is what spdoc asks the container runtime.
type Client interface {
	// Endpoint is the normalized unix:// endpoint.
	Endpoint() string
	// Status returns Version and Status (RuntimeReady, NetworkReady conditions).
	Status(ctx context.Context) (*RuntimeStatus, error)
	// ListSandboxes returns every pod sandbox with its status details.
	ListSandboxes(ctx context.Context) ([]Sandbox, error)
	// ListContainers returns every container with its ContainerStatus details.
	ListContainers(ctx context.Context) ([]Container, error)
	// ContainerEvents streams container events until ctx is done or the stream breaks (the channel
	// is closed then). A runtime without the call gives an error wrapping ErrUnsupported.
	ContainerEvents(ctx context.Context) (<-chan Event, error)
	Close() error
}

// Option configures New.
type Option func(*options)

type options struct {
	timeout time.Duration
}

// WithTimeout bounds each call (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

type client struct {
	endpoint string
	path     string
	opts     options
	conn     *grpc.ClientConn
	rs       runtimeapi.RuntimeServiceClient
}

// NormalizeEndpoint turns "unix:///path" or a bare "/path" into the unix:// endpoint and the
// socket path. Other schemes are rejected: CRI runtimes listen on unix sockets.
func NormalizeEndpoint(endpoint string) (string, string, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	path := endpoint
	if rest, ok := strings.CutPrefix(endpoint, "unix://"); ok {
		path = rest
	} else if strings.Contains(endpoint, "://") {
		return "", "", fmt.Errorf("runtime endpoint %q: only unix:// sockets are supported", endpoint)
	}
	if !strings.HasPrefix(path, "/") {
		return "", "", fmt.Errorf("runtime endpoint %q: want unix:///absolute/path or /absolute/path", endpoint)
	}
	return "unix://" + path, path, nil
}

// New connects to the CRI runtime at endpoint ("unix:///run/containerd/containerd.sock" or a bare
// socket path). A missing socket gives an error wrapping ErrUnreachable; other connection failures
// surface on the first call, also as ErrUnreachable.
func New(ctx context.Context, endpoint string, opts ...Option) (Client, error) {
	o := options{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	ep, path, err := NormalizeEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("runtime %s: no socket: %w", ep, ErrUnreachable)
		}
		return nil, fmt.Errorf("runtime %s: %w: %w", ep, ErrUnreachable, err)
	}
	conn, err := grpc.NewClient(ep,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)),
	)
	if err != nil {
		return nil, fmt.Errorf("runtime %s: %w", ep, err)
	}
	return &client{endpoint: ep, path: path, opts: o, conn: conn, rs: runtimeapi.NewRuntimeServiceClient(conn)}, nil
}

func (c *client) Endpoint() string { return c.endpoint }

func (c *client) Close() error { return c.conn.Close() }

// call runs one RPC with the per-call timeout.
func call[Req, Resp any](ctx context.Context, c *client, name string, fn func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.timeout)
	defer cancel()
	resp, err := fn(ctx, req)
	if err != nil {
		return resp, c.wrap(name, err)
	}
	return resp, nil
}

// wrap classifies a gRPC error into the sentinel kinds.
func (c *client) wrap(op string, err error) error {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		return fmt.Errorf("runtime %s: %s: %w: %w", c.endpoint, op, ErrUnreachable, err)
	case codes.Unimplemented:
		return fmt.Errorf("runtime %s: %s: %w: %w", c.endpoint, op, ErrUnsupported, err)
	}
	return fmt.Errorf("runtime %s: %s: %w", c.endpoint, op, err)
}

func (c *client) Status(ctx context.Context) (*RuntimeStatus, error) {
	v, err := call(ctx, c, "Version", c.rs.Version, &runtimeapi.VersionRequest{})
	if err != nil {
		return nil, err
	}
	st, err := call(ctx, c, "Status", c.rs.Status, &runtimeapi.StatusRequest{})
	if err != nil {
		return nil, err
	}
	out := statusFrom(c.endpoint, v, st.GetStatus())
	return out, nil
}

func (c *client) ListSandboxes(ctx context.Context) ([]Sandbox, error) {
	resp, err := call(ctx, c, "ListPodSandbox", c.rs.ListPodSandbox, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil, err
	}
	out := make([]Sandbox, 0, len(resp.GetItems()))
	for _, s := range resp.GetItems() {
		sb := newSandbox(s)
		// The sandbox may be removed between list and status: keep what the list said.
		if st, err := call(ctx, c, "PodSandboxStatus", c.rs.PodSandboxStatus, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: s.GetId()}); err == nil {
			sandboxDetails(&sb, st.GetStatus())
		} else if errors.Is(err, ErrUnreachable) {
			return nil, err
		}
		out = append(out, sb)
	}
	return out, nil
}

func fillFromLabels(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func (c *client) ListContainers(ctx context.Context) ([]Container, error) {
	resp, err := call(ctx, c, "ListContainers", c.rs.ListContainers, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, err
	}
	out := make([]Container, 0, len(resp.GetContainers()))
	for _, ct := range resp.GetContainers() {
		labels := ct.GetLabels()
		co := Container{
			ID:           ct.GetId(),
			SandboxID:    ct.GetPodSandboxId(),
			Name:         ct.GetMetadata().GetName(),
			PodName:      labels[LabelPodName],
			PodNamespace: labels[LabelPodNamespace],
			PodUID:       labels[LabelPodUID],
			Attempt:      ct.GetMetadata().GetAttempt(),
			Image:        ct.GetImage().GetImage(),
			ImageRef:     ct.GetImageRef(),
			State:        ContainerState(ct.GetState().String()),
			CreatedAt:    nsTime(ct.GetCreatedAt()),
			Labels:       labels,
			Annotations:  ct.GetAnnotations(),
		}
		fillFromLabels(&co.Name, labels[LabelContainerName])
		if n, err := strconv.Atoi(ct.GetAnnotations()[AnnotationRestartCount]); err == nil {
			co.RestartCount = n
		}
		st, err := call(ctx, c, "ContainerStatus", c.rs.ContainerStatus, &runtimeapi.ContainerStatusRequest{ContainerId: ct.GetId(), Verbose: true})
		switch {
		case err == nil:
			containerFromStatus(&co, st.GetStatus(), st.GetInfo())
		case errors.Is(err, ErrUnreachable):
			return nil, err
		}
		out = append(out, co)
	}
	return out, nil
}

func (c *client) ContainerEvents(ctx context.Context) (<-chan Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.rs.GetContainerEvents(ctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		cancel()
		return nil, c.wrap("GetContainerEvents", err)
	}
	// A runtime without the call answers at once with a trailers-only Unimplemented status; one
	// that has it may send nothing (not even headers) until the first event. Wait for the first
	// answer at most one call timeout.
	first := make(chan error, 1)
	var firstEv *runtimeapi.ContainerEventResponse
	go func() {
		ev, err := stream.Recv()
		firstEv = ev
		first <- err
	}()
	var pending bool
	select {
	case err := <-first:
		if err != nil {
			cancel()
			return nil, c.wrap("GetContainerEvents", err)
		}
	case <-time.After(c.opts.timeout):
		pending = true
	}
	out := make(chan Event, 64)
	go func() {
		defer cancel()
		defer close(out)
		send := func(ev *runtimeapi.ContainerEventResponse) bool {
			e := Event{
				ContainerID: ev.GetContainerId(),
				Type:        ev.GetContainerEventType().String(),
				At:          nsTime(ev.GetCreatedAt()),
			}
			if sb := ev.GetPodSandboxStatus(); sb != nil {
				e.SandboxID = sb.GetId()
				e.PodName = sb.GetMetadata().GetName()
				e.PodNamespace = sb.GetMetadata().GetNamespace()
				e.PodUID = sb.GetMetadata().GetUid()
			}
			select {
			case out <- e:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if pending {
			select {
			case err := <-first:
				if err != nil {
					return
				}
			case <-ctx.Done():
				return
			}
		}
		if !send(firstEv) {
			return
		}
		for {
			ev, err := stream.Recv()
			if err != nil || !send(ev) {
				return
			}
		}
	}()
	return out, nil
}

func nsTime(ns int64) time.Time {
	if ns <= 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
