package controlplane

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/spdoc/spdoc/internal/controlplane/pkitest"
)

func staticPodJSON(name, hash string, mirror bool, ready bool) corev1.Pod {
	p := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name + "-node1", Namespace: "kube-system", UID: types.UID("u-" + name), Annotations: map[string]string{AnnotationConfigHash: hash, AnnotationConfigSource: "file"}},
		Spec:       corev1.PodSpec{NodeName: "node1"},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if mirror {
		p.Annotations[AnnotationConfigMirror] = hash
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	return p
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// kubeconfigFor writes a kubeconfig that trusts the test server.
func kubeconfigFor(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: srv.URL, CertificateAuthorityData: ca}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t0ken"}
	cfg.Contexts["x"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "x"
	p := filepath.Join(t.TempDir(), "kubelet.conf")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadMirrorPods(t *testing.T) {
	var gotSelector string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/pods":
			gotSelector = r.URL.Query().Get("fieldSelector")
			writeJSON(w, corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: []corev1.Pod{
				staticPodJSON("etcd", "aaa", true, true),
				staticPodJSON("kube-apiserver", "bbb", true, false),
				{ObjectMeta: metav1.ObjectMeta{Name: "coredns-x", Namespace: "kube-system"}}, // not a mirror pod
			}})
		case "/api/v1/nodes/node1":
			writeJSON(w, corev1.Node{TypeMeta: metav1.TypeMeta{Kind: "Node", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "node1"}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	st := ReadMirrorPods(context.Background(), MirrorOptions{Kubeconfig: kubeconfigFor(t, srv), Node: "node1"})
	if !st.Checked || st.Error != "" {
		t.Fatalf("state = %+v", st)
	}
	if gotSelector != "spec.nodeName=node1" {
		t.Errorf("field selector %q", gotSelector)
	}
	if len(st.Pods) != 2 || st.Pods[0].Name != "etcd-node1" || st.Pods[0].Mirror != "aaa" || !st.Pods[0].Ready || st.Pods[1].Ready {
		t.Errorf("pods = %+v", st.Pods)
	}
	if st.NodeRegistered == nil || !*st.NodeRegistered {
		t.Errorf("node registered = %v", st.NodeRegistered)
	}
}

func TestReadMirrorPodsFailures(t *testing.T) {
	hang := make(chan struct{})
	hanging := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(hang)
	denied := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
	}))
	defer denied.Close()
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closedCfg := kubeconfigFor(t, closed)
	closed.Close()
	garbage := filepath.Join(t.TempDir(), "garbage.conf")
	must(t, os.WriteFile(garbage, []byte("\x00\x01 not yaml: [\n"), 0o600))

	tests := []struct {
		name, kubeconfig, reason, want string
	}{
		{"no kubeconfig", "", ReasonNoKubeconfig, "standalone"},
		{"garbage kubeconfig", garbage, ReasonKubeconfig, garbage},
		{"missing kubeconfig", filepath.Join(t.TempDir(), "nope.conf"), ReasonKubeconfig, "nope.conf"},
		{"API server down", closedCfg, ReasonUnreachable, "unreachable"},
		{"API server hangs", kubeconfigFor(t, hanging), ReasonTimeout, "did not answer"},
		{"credentials refused", kubeconfigFor(t, denied), ReasonUnauthorized, "401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			st := ReadMirrorPods(context.Background(), MirrorOptions{Kubeconfig: tt.kubeconfig, Node: "node1", Timeout: 300 * time.Millisecond})
			if st.Checked || st.Reason != tt.reason || !strings.Contains(st.Error, tt.want) {
				t.Errorf("state = checked %v reason %q error %q; want reason %q containing %q", st.Checked, st.Reason, st.Error, tt.reason, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s: a hanging API server must not hang the report", d)
			}
		})
	}
}

// kubeletServer is a TLS server that requires a client certificate, like the kubelet's 10250.
func kubeletServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "kubelet.crt")
	must(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	return srv, ca
}

func TestReadKubeletPods(t *testing.T) {
	root := t.TempDir()
	if _, err := pkitest.Write(root, pkitest.Options{}); err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(root, "etc/kubernetes/pki/apiserver-kubelet-client.crt")
	key := filepath.Join(root, "etc/kubernetes/pki/apiserver-kubelet-client.key")
	podList := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: []corev1.Pod{staticPodJSON("etcd", "aaa", false, true)}}
	crash := staticPodJSON("kube-apiserver", "bbb", false, false)
	crash.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "kube-apiserver", RestartCount: 4,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 1m20s restarting failed container"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}},
	}}
	podList.Items = append(podList.Items, crash, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-pod", Annotations: map[string]string{AnnotationConfigSource: "api"}}})

	tests := []struct {
		name   string
		status int
		body   string
		reason string
		want   string
	}{
		{"ok", 200, "", "", ""},
		{"401", 401, "Unauthorized", ReasonUnauthorized, "clientCAFile"},
		{"403", 403, "Forbidden (user=system:node:node1, verb=get, resource=nodes, subresource(s)=[proxy])", ReasonForbidden, "nodes/proxy"},
		{"500 webhook down", 500, "Authorization error (user=kube-apiserver-kubelet-client, verb=get, resource=nodes, subresource=proxy)", ReasonWebhookDown, "API server"},
		{"500 other", 500, "boom", ReasonServerError, "boom"},
		{"not a PodList", 200, "<html>", ReasonServerError, "not a PodList"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, ca := kubeletServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/pods" || len(r.TLS.PeerCertificates) == 0 {
					http.Error(w, "bad request", 400)
					return
				}
				if tt.status == 200 && tt.body == "" {
					writeJSON(w, podList)
					return
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			host, port := hostPort(t, srv.URL)
			res := ReadKubeletPods(context.Background(), KubeletOptions{Host: host, Port: port, ClientCert: cert, ClientKey: key, ServerCAs: []string{ca}, Timeout: time.Second})
			if tt.reason == "" {
				if !res.OK || len(res.Pods) != 2 {
					t.Fatalf("res = %+v", res)
				}
				c := res.Pods[1].Containers[0]
				if res.Pods[0].Ready != true || res.Pods[1].Ready || c.State != "waiting" || c.Reason != "CrashLoopBackOff" || c.RestartCount != 4 || c.LastExitCode == nil || *c.LastExitCode != 1 {
					t.Errorf("pods = %+v", res.Pods)
				}
				if !strings.Contains(res.Auth, "apiserver-kubelet-client.crt") {
					t.Errorf("auth = %q", res.Auth)
				}
				return
			}
			if res.OK || res.Reason != tt.reason || res.Status != tt.status || !strings.Contains(res.Error, tt.want) {
				t.Errorf("res = ok %v reason %q status %d error %q; want %q %d %q", res.OK, res.Reason, res.Status, res.Error, tt.reason, tt.status, tt.want)
			}
		})
	}
}

func TestReadKubeletPodsRefusesUnverifiedKubelet(t *testing.T) {
	root := t.TempDir()
	if _, err := pkitest.Write(root, pkitest.Options{}); err != nil {
		t.Fatal(err)
	}
	srv, _ := kubeletServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, corev1.PodList{}) })
	host, port := hostPort(t, srv.URL)
	// The cluster CA did not sign httptest's certificate: no pods, a TLS reason.
	res := ReadKubeletPods(context.Background(), KubeletOptions{Host: host, Port: port,
		ClientCert: filepath.Join(root, "etc/kubernetes/pki/apiserver-kubelet-client.crt"),
		ClientKey:  filepath.Join(root, "etc/kubernetes/pki/apiserver-kubelet-client.key"),
		ServerCAs:  []string{filepath.Join(root, "etc/kubernetes/pki/ca.crt")}, Timeout: time.Second})
	if res.OK || res.Reason != ReasonTLS {
		t.Errorf("res = %+v", res)
	}
}

func TestReadKubeletPodsReadOnlyPortAndFallback(t *testing.T) {
	ro := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, corev1.PodList{Items: []corev1.Pod{staticPodJSON("etcd", "aaa", false, true)}})
	}))
	defer ro.Close()
	host, port := hostPort(t, ro.URL)
	res := ReadKubeletPods(context.Background(), KubeletOptions{Host: host, ReadOnlyPort: port, Timeout: time.Second})
	if !res.OK || res.Auth != "read-only port" || len(res.Pods) != 1 {
		t.Fatalf("res = %+v", res)
	}
	// Nothing listens and no credentials: a clear reason, fast.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().(*net.TCPAddr).Port
	l.Close()
	res = ReadKubeletPods(context.Background(), KubeletOptions{Host: "127.0.0.1", ReadOnlyPort: dead, Timeout: time.Second})
	if res.OK || res.Reason != ReasonNotListening {
		t.Errorf("res = %+v", res)
	}
	res = ReadKubeletPods(context.Background(), KubeletOptions{Timeout: time.Second})
	if res.OK || res.Reason != ReasonNoCredentials {
		t.Errorf("res = %+v", res)
	}
}

func hostPort(t *testing.T, u string) (string, int) {
	t.Helper()
	hp := u[strings.Index(u, "://")+3:]
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func TestReadCachesLiveAnswers(t *testing.T) {
	var calls int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/pods" {
			calls++
		}
		writeJSON(w, corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}})
	}))
	defer srv.Close()
	cache := &LiveCache{TTL: 10 * time.Second}
	live := &LiveOptions{ProcDir: t.TempDir(), Cache: cache, Mirror: MirrorOptions{Kubeconfig: kubeconfigFor(t, srv), Node: "node1"}}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, at := range []time.Duration{0, 5 * time.Second, 11 * time.Second} {
		st := Read(context.Background(), os.DirFS(t.TempDir()), nil, now.Add(at), live)
		if st.Mirror == nil || !st.Mirror.Checked {
			t.Fatalf("read %d: mirror %+v", i, st.Mirror)
		}
	}
	if calls != 2 {
		t.Errorf("API server asked %d times, want 2 (the second read within the TTL is cached)", calls)
	}
}
