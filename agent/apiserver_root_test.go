package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/kubeapi"
	"github.com/spdoc/spdoc/internal/testtier"
)

// apiServer is a real etcd and kube-apiserver from the cached builds (hack/build-etcd.sh,
// hack/build-k8s.sh), on loopback ports, with static tokens: "admin" (system:masters) and
// "nobody" (no group, no permission).
type apiServer struct {
	URL  string
	dir  string
	cmds []*exec.Cmd
}

func (s *apiServer) config(token string) *rest.Config {
	return &rest.Config{Host: s.URL, BearerToken: token, Timeout: 10 * time.Second,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
}

func buildOutput(t *testing.T, script string, args ...string) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(root, "hack", script), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, stderr.String())
	}
	lines := strings.Fields(string(out))
	return lines[len(lines)-1]
}

func startAPIServer(t *testing.T) *apiServer {
	t.Helper()
	testtier.RealNode(t)
	etcdBin := buildOutput(t, "build-etcd.sh")
	apiBin := buildOutput(t, "build-k8s.sh", "kube-apiserver")
	s := &apiServer{dir: t.TempDir()}
	t.Cleanup(func() {
		for i := len(s.cmds) - 1; i >= 0; i-- {
			_ = s.cmds[i].Process.Kill()
			_ = s.cmds[i].Wait()
		}
	})
	clientPort, peerPort, securePort := freeLoopbackPort(t), freeLoopbackPort(t), freeLoopbackPort(t)
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	s.start(t, "etcd", etcdBin, "--name=default", "--data-dir="+filepath.Join(s.dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL, "--initial-cluster=default="+peerURL)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	saKey := filepath.Join(s.dir, "sa.key")
	saPub := filepath.Join(s.dir, "sa.pub")
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	writeTestFile(t, saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	writeTestFile(t, saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	tokens := filepath.Join(s.dir, "tokens.csv")
	writeTestFile(t, tokens, []byte("admin-token,admin,admin-uid,system:masters\nnobody-token,nobody,nobody-uid\n"))
	s.start(t, "kube-apiserver", apiBin, "--etcd-servers="+etcdURL, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(securePort), "--cert-dir="+filepath.Join(s.dir, "certs"),
		"--service-account-issuer=https://kubernetes.default.svc", "--service-account-key-file="+saPub,
		"--service-account-signing-key-file="+saKey, "--token-auth-file="+tokens, "--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.96.0.0/16", "--enable-priority-and-fairness=false")
	s.URL = "https://127.0.0.1:" + strconv.Itoa(securePort)
	cs := kubernetes.NewForConfigOrDie(s.config("admin-token"))
	waitUntil(t, 3*time.Minute, "kube-apiserver ready", func() bool {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		return err == nil && string(body) == "ok"
	})
	return s
}

func (s *apiServer) start(t *testing.T, name, bin string, args ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(s.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	s.cmds = append(s.cmds, cmd)
	t.Cleanup(func() {
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s log tail:\n%s", name, b)
		}
	})
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRootKubeAPIServerReporter runs the node condition and event reporter against a real
// kube-apiserver: with the shipped RBAC (deploy/kustomize/base/rbac.yaml, bound to the agent's
// service account and impersonated) it sets StaticPodsHealthy and records events on the mirror
// pod and the Node; an identity without RBAC gets a finding, not a crash. The shipped DaemonSet
// passes the API server's validation (server-side dry run).
func TestRootKubeAPIServerReporter(t *testing.T) {
	s := startAPIServer(t)
	ctx := context.Background()
	admin := kubernetes.NewForConfigOrDie(s.config("admin-token"))
	mustCreate := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, metav1.CreateOptions{})
	mustCreate(err)
	_, err = admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "spdoc-system"}}, metav1.CreateOptions{})
	mustCreate(err)
	_, err = admin.CoreV1().ServiceAccounts("spdoc-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "spdoc-agent"}}, metav1.CreateOptions{})
	mustCreate(err)
	mirror := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "etcd-n1", Namespace: "kube-system",
		Annotations: map[string]string{"kubernetes.io/config.mirror": "abc", "kubernetes.io/config.source": "file"}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "etcd", Image: "registry.k8s.io/etcd:3.6.5-0"}}}}
	mirror, err = admin.CoreV1().Pods("kube-system").Create(ctx, mirror, metav1.CreateOptions{})
	mustCreate(err)

	// The shipped RBAC, as kubectl would apply it.
	rbacDocs := bytes.Split(mustRead(t, "../deploy/kustomize/base/rbac.yaml"), []byte("\n---\n"))
	for _, d := range rbacDocs {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(d, &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			mustCreate(yaml.UnmarshalStrict(d, &r))
			_, err = admin.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{})
			mustCreate(err)
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			mustCreate(yaml.UnmarshalStrict(d, &b))
			_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &b, metav1.CreateOptions{})
			mustCreate(err)
		}
	}
	// The shipped DaemonSet passes the API server's own validation.
	var ds appsv1.DaemonSet
	mustCreate(yaml.UnmarshalStrict(mustRead(t, "../deploy/kustomize/base/daemonset.yaml"), &ds))
	_, err = admin.AppsV1().DaemonSets("spdoc-system").Create(ctx, &ds, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Errorf("the API server rejects deploy/kustomize/base/daemonset.yaml: %v", err)
	}

	saCfg := s.config("admin-token")
	saCfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:spdoc-system:spdoc-agent"}
	agentClient, err := kubeapi.New(saCfg)
	mustCreate(err)
	k, err := NewKubeReporter(KubeReporterOptions{Client: agentClient, NodeName: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	k.Sync(ctx, crashReport(true))
	if fs := k.Findings(); len(fs) != 0 {
		t.Fatalf("with the shipped RBAC the reporter failed: %+v", fs)
	}
	node, err := admin.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	mustCreate(err)
	var cond *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == ConditionStaticPodsHealthy {
			cond = &node.Status.Conditions[i]
		}
	}
	if cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != string(diagnose.KindCrashLoop) {
		t.Errorf("node condition %+v, want StaticPodsHealthy False CrashLoop", cond)
	}
	evs, err := admin.CoreV1().Events("kube-system").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=etcd-n1"})
	mustCreate(err)
	if len(evs.Items) != 1 || evs.Items[0].Reason != "CrashLoop" || evs.Items[0].InvolvedObject.UID != mirror.UID {
		t.Errorf("events on the mirror pod: %+v", evs.Items)
	}
	evs, err = admin.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Node,involvedObject.name=n1"})
	mustCreate(err)
	if len(evs.Items) != 1 || evs.Items[0].Reason != "ImageNotPresent" {
		t.Errorf("events on the Node: %+v", evs.Items)
	}

	// An identity without RBAC: a finding that names RBAC, nothing written.
	nobody, err := kubeapi.New(s.config("nobody-token"))
	mustCreate(err)
	k2, _ := NewKubeReporter(KubeReporterOptions{Client: nobody, NodeName: "n1"})
	k2.Sync(ctx, crashReport(false))
	fs := k2.Findings()
	if len(fs) == 0 || !strings.Contains(fs[0].Title, "RBAC") || !strings.Contains(fs[0].Detail, "forbidden") {
		t.Errorf("refused reporter findings: %+v", fs)
	}
	node, _ = admin.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	for _, c := range node.Status.Conditions {
		if c.Type == ConditionStaticPodsHealthy && c.Status != corev1.ConditionFalse {
			t.Errorf("a refused reporter changed the condition: %+v", c)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
