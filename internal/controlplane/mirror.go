package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spdoc/spdoc/internal/kubeapi"
)

// Annotations the kubelet puts on static pods and their mirror pods (pkg/kubelet/types).
const (
	AnnotationConfigHash   = "kubernetes.io/config.hash"
	AnnotationConfigMirror = "kubernetes.io/config.mirror"
	AnnotationConfigSource = "kubernetes.io/config.source"
)

// DefaultAPITimeout bounds every API server and kubelet call: the report must not hang on a
// server that accepts connections and never answers.
const DefaultAPITimeout = 3 * time.Second

// Unchecked reasons: why the mirror pods (or the kubelet's pods) could not be read.
const (
	ReasonNoKubeconfig  = "no-kubeconfig"  // no kubeconfig found (a standalone kubelet has no mirror pods)
	ReasonKubeconfig    = "kubeconfig"     // the kubeconfig does not load
	ReasonUnreachable   = "unreachable"    // connection refused, no route
	ReasonTimeout       = "timeout"        // no answer in time
	ReasonUnauthorized  = "unauthorized"   // 401: the credentials are not accepted
	ReasonForbidden     = "forbidden"      // 403
	ReasonTLS           = "tls"            // the server's certificate is not trusted, or ours is refused
	ReasonServerError   = "server-error"   // 5xx
	ReasonWebhookDown   = "webhook-authz"  // kubelet 500: its webhook authorizer cannot reach the API server
	ReasonNotListening  = "not-listening"  // kubelet port closed
	ReasonNoCredentials = "no-credentials" // no client certificate the kubelet would accept
)

// MirrorPod is a mirror pod of this node as the API server has it.
type MirrorPod struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	UID       string    `json:"uid"`
	Hash      string    `json:"hash,omitempty"`   // kubernetes.io/config.hash
	Mirror    string    `json:"mirror,omitempty"` // kubernetes.io/config.mirror: the static pod hash it mirrors
	Phase     string    `json:"phase,omitempty"`
	Ready     bool      `json:"ready"`
	Created   time.Time `json:"created,omitzero"`
	Deleting  bool      `json:"deleting,omitempty"`
}

// MirrorState is what the API server says about this node's mirror pods.
type MirrorState struct {
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// From says how the kubeconfig was found: flag, kubelet --kubeconfig, default.
	From    string      `json:"from,omitempty"`
	Server  string      `json:"server,omitempty"`
	Node    string      `json:"node"`
	Checked bool        `json:"checked"`
	Reason  string      `json:"reason,omitempty"` // when not Checked
	Error   string      `json:"error,omitempty"`
	Pods    []MirrorPod `json:"pods,omitempty"`
	// NodeRegistered says whether the Node object exists (mirror pods need it).
	NodeRegistered *bool `json:"nodeRegistered,omitempty"`
}

// MirrorOptions say how to reach the API server.
type MirrorOptions struct {
	Kubeconfig string
	From       string
	Node       string
	Timeout    time.Duration
}

// ReadMirrorPods lists the mirror pods of opts.Node with the kubeconfig. It never fails: a
// kubeconfig that does not load, an API server that refuses, times out or denies is recorded as
// the state's Reason and Error.
func ReadMirrorPods(ctx context.Context, opts MirrorOptions) *MirrorState {
	st := &MirrorState{Kubeconfig: opts.Kubeconfig, From: opts.From, Node: opts.Node}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultAPITimeout
	}
	if opts.Kubeconfig == "" {
		st.Reason, st.Error = ReasonNoKubeconfig, "no kubeconfig: the kubelet runs without one (standalone) or it was not found; name one with --kubeconfig"
		return st
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	if err != nil {
		st.Reason, st.Error = ReasonKubeconfig, fmt.Sprintf("kubeconfig %s: %v", opts.Kubeconfig, err)
		return st
	}
	st.Server = cfg.Host
	cfg.Timeout = opts.Timeout
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "spdoc"
	cs, err := kubeapi.New(cfg)
	if err != nil {
		st.Reason, st.Error = ReasonKubeconfig, fmt.Sprintf("kubeconfig %s: %v", opts.Kubeconfig, err)
		return st
	}
	ctx, cancel := context.WithTimeout(ctx, 2*opts.Timeout)
	defer cancel()
	list, err := cs.ListPods(ctx, "", metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", opts.Node).String(),
	})
	if err != nil {
		st.Reason, st.Error = apiReason(err, cfg), apiError(err, cfg)
		return st
	}
	st.Checked = true
	for i := range list.Items {
		p := &list.Items[i]
		m, ok := p.Annotations[AnnotationConfigMirror]
		if !ok {
			continue
		}
		mp := MirrorPod{
			Namespace: p.Namespace, Name: p.Name, UID: string(p.UID), Hash: p.Annotations[AnnotationConfigHash],
			Mirror: m, Phase: string(p.Status.Phase), Ready: podReady(p.Status), Created: p.CreationTimestamp.UTC(),
			Deleting: p.DeletionTimestamp != nil,
		}
		st.Pods = append(st.Pods, mp)
	}
	if _, err := cs.GetNode(ctx, opts.Node); err == nil {
		t := true
		st.NodeRegistered = &t
	} else if apierrors.IsNotFound(err) {
		f := false
		st.NodeRegistered = &f
	}
	return st
}

func podReady(s corev1.PodStatus) bool {
	for _, c := range s.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// apiReason classifies a client-go error.
func apiReason(err error, cfg *rest.Config) string {
	var se *apierrors.StatusError
	switch {
	case apierrors.IsUnauthorized(err):
		return ReasonUnauthorized
	case apierrors.IsForbidden(err):
		return ReasonForbidden
	case errors.As(err, &se) && se.ErrStatus.Code >= 500:
		return ReasonServerError
	}
	return netReason(err)
}

// netReason classifies a transport error.
func netReason(err error) string {
	var ne net.Error
	var ue *url.Error
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), strings.Contains(msg, "connection refused"),
		strings.Contains(msg, "no route to host"), strings.Contains(msg, "network is unreachable"),
		strings.Contains(msg, "no such host"):
		return ReasonUnreachable
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout(),
		strings.Contains(msg, "Client.Timeout"), strings.Contains(msg, "deadline exceeded"):
		return ReasonTimeout
	case strings.Contains(msg, "x509:"), strings.Contains(msg, "tls:"):
		return ReasonTLS
	case errors.As(err, &ue) && errors.Is(ue.Err, os.ErrDeadlineExceeded):
		return ReasonTimeout
	}
	return ReasonUnreachable
}

// apiError says what failed in a user's terms.
func apiError(err error, cfg *rest.Config) string {
	switch apiReason(err, cfg) {
	case ReasonUnreachable:
		return fmt.Sprintf("the API server %s is unreachable: %v", cfg.Host, err)
	case ReasonTimeout:
		return fmt.Sprintf("the API server %s did not answer within %s: %v", cfg.Host, cfg.Timeout, err)
	case ReasonUnauthorized:
		return fmt.Sprintf("the API server %s does not accept the kubeconfig's credentials (401): %v", cfg.Host, err)
	case ReasonForbidden:
		return fmt.Sprintf("the API server %s denies listing this node's pods (403): %v", cfg.Host, err)
	case ReasonTLS:
		return fmt.Sprintf("TLS with the API server %s failed: %v", cfg.Host, err)
	}
	return fmt.Sprintf("the API server %s answered with an error: %v", cfg.Host, err)
}
