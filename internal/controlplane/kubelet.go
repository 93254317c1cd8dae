package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// KubeletContainer is one container status as the kubelet reports it.
type KubeletContainer struct {
	Name         string `json:"name"`
	Ready        bool   `json:"ready"`
	Started      *bool  `json:"started,omitempty"`
	RestartCount int32  `json:"restartCount"`
	State        string `json:"state"` // running, waiting, terminated
	Reason       string `json:"reason,omitempty"`
	Message      string `json:"message,omitempty"`
	ExitCode     *int32 `json:"exitCode,omitempty"`
	// LastReason and LastExitCode are the previous instance's termination.
	LastReason   string `json:"lastReason,omitempty"`
	LastExitCode *int32 `json:"lastExitCode,omitempty"`
}

// KubeletPod is a static pod's status as the kubelet holds it (probe-driven Ready, waiting
// reasons such as CrashLoopBackOff).
type KubeletPod struct {
	Namespace  string             `json:"namespace"`
	Name       string             `json:"name"`
	UID        string             `json:"uid"`
	Hash       string             `json:"hash,omitempty"`
	Phase      string             `json:"phase,omitempty"`
	Ready      bool               `json:"ready"`
	Reason     string             `json:"reason,omitempty"`
	Message    string             `json:"message,omitempty"`
	Containers []KubeletContainer `json:"containers,omitempty"`
}

// KubeletPods is what the kubelet's /pods said, or why it could not be read.
type KubeletPods struct {
	URL  string `json:"url,omitempty"`
	Auth string `json:"auth,omitempty"` // "read-only port", "client certificate <file>"
	// Status is the HTTP status of the last attempt (0: no answer).
	Status int          `json:"status,omitempty"`
	OK     bool         `json:"ok"`
	Reason string       `json:"reason,omitempty"`
	Error  string       `json:"error,omitempty"`
	Pods   []KubeletPod `json:"pods,omitempty"`
	// Tried lists every attempt, in order, when the first did not succeed.
	Tried []string `json:"tried,omitempty"`
}

// KubeletOptions say how to reach the kubelet on this node.
type KubeletOptions struct {
	Host string // default 127.0.0.1
	// ReadOnlyPort is the kubelet config's readOnlyPort (0: disabled, the default).
	ReadOnlyPort int
	// Port is the authenticated port (default 10250).
	Port int
	// ClientCert and ClientKey are a client certificate the kubelet accepts (kubeadm's
	// apiserver-kubelet-client). Empty: the authenticated port is not tried.
	ClientCert, ClientKey string
	// ServerCAs are PEM files the kubelet's serving certificate is verified against (its own
	// self-signed kubelet.crt, or the cluster CA when serving certificates are bootstrapped).
	ServerCAs []string
	Timeout   time.Duration
}

// ReadKubeletPods asks the kubelet for its pods: the read-only port when enabled, else the
// authenticated port with the client certificate. A refusal is classified honestly: 401 (the
// kubelet does not accept the certificate), 403 (its authorizer denies nodes/proxy), 500 (its
// webhook authorizer could not ask the API server — what happens while the API server is down).
func ReadKubeletPods(ctx context.Context, o KubeletOptions) *KubeletPods {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = 10250
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultAPITimeout
	}
	var res *KubeletPods
	if o.ReadOnlyPort > 0 {
		res = getPods(ctx, &http.Client{Timeout: o.Timeout}, "http://"+net.JoinHostPort(o.Host, strconv.Itoa(o.ReadOnlyPort))+"/pods", "read-only port")
		if res.OK {
			return res
		}
	}
	if o.ClientCert == "" || o.ClientKey == "" {
		if res != nil {
			return res
		}
		return &KubeletPods{Reason: ReasonNoCredentials, Error: "the kubelet's read-only port is disabled and no client certificate it accepts was found (kubeadm's /etc/kubernetes/pki/apiserver-kubelet-client.crt, or the API server's --kubelet-client-certificate)"}
	}
	tlsCfg, err := kubeletTLS(o)
	var next *KubeletPods
	if err != nil {
		next = &KubeletPods{Reason: ReasonNoCredentials, Error: err.Error(), Auth: "client certificate " + o.ClientCert}
	} else {
		c := &http.Client{Timeout: o.Timeout, Transport: &http.Transport{TLSClientConfig: tlsCfg, TLSHandshakeTimeout: o.Timeout}}
		next = getPods(ctx, c, "https://"+net.JoinHostPort(o.Host, strconv.Itoa(o.Port))+"/pods", "client certificate "+o.ClientCert)
	}
	if res != nil {
		next.Tried = append([]string{res.URL + ": " + res.Error}, next.Tried...)
	}
	return next
}

// kubeletTLS builds the client TLS config: the client certificate, and the kubelet's serving
// certificate verified against ServerCAs without a host name check (we dial the loopback
// address; the certificate is pinned to the files on this node instead). With no CA file
// found, the connection is refused rather than trusted blindly.
func kubeletTLS(o KubeletOptions) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(o.ClientCert, o.ClientKey)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s: %w", o.ClientCert, err)
	}
	pool := x509.NewCertPool()
	var loaded []string
	for _, f := range o.ServerCAs {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pool.AppendCertsFromPEM(data) {
			loaded = append(loaded, f)
		}
	}
	if len(loaded) == 0 {
		return nil, fmt.Errorf("no certificate to verify the kubelet's serving certificate with (tried %s)", strings.Join(o.ServerCAs, ", "))
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		// The standard verification checks the name; the kubelet's self-signed certificate
		// names the host, not 127.0.0.1. Verify the chain against the node's files instead.
		InsecureSkipVerify: true, //nolint:gosec // replaced by VerifyPeerCertificate below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the kubelet presented no certificate")
			}
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			inter := x509.NewCertPool()
			for _, r := range raw[1:] {
				if c, err := x509.ParseCertificate(r); err == nil {
					inter.AddCert(c)
				}
			}
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			if err != nil {
				return fmt.Errorf("the kubelet's serving certificate (%s) is not signed by %s: %w", leaf.Subject, strings.Join(loaded, ", "), err)
			}
			return nil
		},
		MinVersion: tls.VersionTLS12,
	}, nil
}

// maxPodsBody caps the kubelet's answer (a PodList of every pod on the node).
const maxPodsBody = 32 << 20

func getPods(ctx context.Context, c *http.Client, u, auth string) *KubeletPods {
	res := &KubeletPods{URL: u, Auth: auth}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		res.Reason, res.Error = ReasonUnreachable, err.Error()
		return res
	}
	resp, err := c.Do(req)
	if err != nil {
		res.Reason = netReason(err)
		if res.Reason == ReasonUnreachable {
			res.Reason = ReasonNotListening
		}
		res.Error = fmt.Sprintf("GET %s: %v", u, err)
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPodsBody))
	if err != nil {
		res.Reason, res.Error = netReason(err), fmt.Sprintf("GET %s: reading the answer: %v", u, err)
		return res
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		res.Reason = ReasonUnauthorized
		res.Error = fmt.Sprintf("the kubelet refused the client certificate (401 %s): it is not signed by the kubelet's authentication.x509.clientCAFile, or anonymous access is off", text)
		return res
	case resp.StatusCode == http.StatusForbidden:
		res.Reason = ReasonForbidden
		res.Error = fmt.Sprintf("the kubelet's authorizer denied the request (403 %s): the certificate's user may not get nodes/proxy", text)
		return res
	case resp.StatusCode == http.StatusInternalServerError && strings.Contains(strings.ToLower(text), "authoriz"):
		// pkg/kubelet/server/auth.go: "Authorization error (user=…, verb=get, resource=nodes, subresource=proxy)"
		res.Reason = ReasonWebhookDown
		res.Error = fmt.Sprintf("the kubelet could not authorize the request (500 %s): its webhook authorizer asks the API server, which did not answer", text)
		return res
	case resp.StatusCode != http.StatusOK:
		res.Reason = ReasonServerError
		res.Error = fmt.Sprintf("the kubelet answered %d: %s", resp.StatusCode, text)
		return res
	}
	var list corev1.PodList
	if err := json.Unmarshal(body, &list); err != nil {
		res.Reason, res.Error = ReasonServerError, fmt.Sprintf("the kubelet's /pods is not a PodList: %v", err)
		return res
	}
	res.OK = true
	for i := range list.Items {
		p := &list.Items[i]
		if src := p.Annotations[AnnotationConfigSource]; src != "file" && src != "http" {
			continue // only static pods
		}
		res.Pods = append(res.Pods, kubeletPod(p))
	}
	return res
}

func kubeletPod(p *corev1.Pod) KubeletPod {
	kp := KubeletPod{
		Namespace: p.Namespace, Name: p.Name, UID: string(p.UID), Hash: p.Annotations[AnnotationConfigHash],
		Phase: string(p.Status.Phase), Ready: podReady(p.Status), Reason: p.Status.Reason, Message: p.Status.Message,
	}
	for _, cs := range p.Status.ContainerStatuses {
		kc := KubeletContainer{Name: cs.Name, Ready: cs.Ready, Started: cs.Started, RestartCount: cs.RestartCount}
		switch {
		case cs.State.Running != nil:
			kc.State = "running"
		case cs.State.Waiting != nil:
			kc.State, kc.Reason, kc.Message = "waiting", cs.State.Waiting.Reason, cs.State.Waiting.Message
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			kc.State, kc.Reason, kc.Message = "terminated", t.Reason, t.Message
			ec := t.ExitCode
			kc.ExitCode = &ec
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			kc.LastReason = t.Reason
			ec := t.ExitCode
			kc.LastExitCode = &ec
		}
		if len(kc.Message) > 500 {
			kc.Message = kc.Message[:500] + "…"
		}
		kp.Containers = append(kp.Containers, kc)
	}
	return kp
}
