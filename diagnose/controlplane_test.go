package diagnose

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/controlplane"
	"github.com/spdoc/spdoc/internal/controlplane/pkitest"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/podview"
)

func init() {
	words := func(b *findingBuilder) {
		b.post = append(b.post, Evidence{Source: wordsSourcePrefix + "kube-system_kube-apiserver-node1/kube-apiserver/3.log", Line: "stderr: …"})
	}
	cp := "kube-apiserver"
	for _, k := range []Kind{KindUnknownFlag, KindReferencedFileMissing, KindCertificateExpired, KindCertificateInvalid, KindPortInUse, KindComponentError, KindDependencyUnreachable} {
		moreCauseCases["the component's last words ("+string(k)+") explain its crash loop"] = []causeCase{
			{"its own crash loop", fbuild(k, cp, words), fbuild(KindCrashLoop, cp), nil, true},
			{"its failing readiness probe", fbuild(k, cp, words), fbuild(KindProbeFailed, cp), nil, true},
			{"another container's crash loop", fbuild(k, cp, words), fbuild(KindCrashLoop, "sidecar"), nil, false},
			{"a crash loop that is history", fbuild(k, cp, words), fbuild(KindCrashLoop, cp, past), nil, false},
			{"without words it is not this rule", fbuild(k, cp), fbuild(KindCrashLoop, cp), nil, false},
		}
	}
	for _, k := range []Kind{KindUnknownFlag, KindReferencedFileMissing, KindCertificateExpired, KindCertificateInvalid} {
		other := func(p *podState) { p.fs.list = append(p.fs.list, fbuild(KindDependencyUnreachable, cp, words)) }
		moreCauseCases["a broken file the component needs ("+string(k)+") explains its crash loop"] = []causeCase{
			{"the component said nothing classified", fbuild(k, cp), fbuild(KindCrashLoop, cp), nil, true},
			{"its words name another cause", fbuild(k, cp), fbuild(KindCrashLoop, cp), other, false},
			{"a warning explains nothing", fbuild(k, cp, severity(SeverityWarning)), fbuild(KindCrashLoop, cp), nil, false},
			{"another container", fbuild(k, cp), fbuild(KindCrashLoop, "other"), nil, false},
		}
	}
	moreCauseCases["a stale instance explains the port fight and the crash loop"] = []causeCase{
		{"port in use", fbuild(KindStaleInstance, ""), fbuild(KindPortInUse, cp), nil, true},
		{"crash loop", fbuild(KindStaleInstance, ""), fbuild(KindCrashLoop, cp), nil, true},
		{"an expired certificate is its own", fbuild(KindStaleInstance, ""), fbuild(KindCertificateExpired, cp), nil, false},
	}
	missing := func(b *findingBuilder) {
		b.pre = append(b.pre, Evidence{Source: "file:/etc/kubernetes/scheduler.conf", Line: "/etc/kubernetes/scheduler.conf does not exist on the node"})
	}
	mountRec := func(path string) func(*findingBuilder) {
		return func(b *findingBuilder) {
			b.recs = append(b.recs, &kubeletlog.Record{Msg: "Error syncing pod, skipping", Err: `unmounted volumes=[kubeconfig]: MountVolume.SetUp failed for volume "kubeconfig" : hostPath type check failed: ` + path + ` is not a file`})
		}
	}
	moreCauseCases["a missing referenced file explains the kubelet's mount failure"] = []causeCase{
		{"the same path", fbuild(KindReferencedFileMissing, "kube-scheduler", missing), fbuild(KindVolumeMountFailed, "", mountRec("/etc/kubernetes/scheduler.conf")), nil, true},
		{"another path", fbuild(KindReferencedFileMissing, "kube-scheduler", missing), fbuild(KindVolumeMountFailed, "", mountRec("/srv/data")), nil, false},
		{"a past mount failure", fbuild(KindReferencedFileMissing, "kube-scheduler", missing), fbuild(KindVolumeMountFailed, "", mountRec("/etc/kubernetes/scheduler.conf"), past), nil, false},
	}
	moreCauseCases["a missing mirror pod explains the kubelet's mirror pod errors"] = []causeCase{
		{"the kubelet's refusal", fbuild(KindMirrorPodMissing, ""), fbuild(KindMirrorPodFailed, ""), nil, true},
		{"a crash loop is not the API server's", fbuild(KindMirrorPodMissing, ""), fbuild(KindCrashLoop, cp), nil, false},
	}
}

const (
	uidAPI   = "3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a88"
	uidEtcd2 = "4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b99"
	cidAPI   = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"
	cidAPI0  = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
)

// cpFixture is a kubeadm control-plane node: the named kubeadm manifests, a PKI under a temp root
// (alter changes certificates), and the control-plane state spdoc would read from it.
func cpFixture(t *testing.T, alter map[string]func(*x509.Certificate), manifests ...string) (*fixture, string) {
	t.Helper()
	f := newFixture(t)
	root := t.TempDir()
	if _, err := pkitest.Write(root, pkitest.Options{Now: f.s.Taken, Alter: alter}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "var/lib/etcd"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, m := range manifests {
		data, err := os.ReadFile(filepath.Join("../internal/controlplane/testdata/kubeadm", m))
		if err != nil {
			t.Fatal(err)
		}
		f.manifest(m, string(data))
	}
	return f, root
}

func (f *fixture) controlPlane(root string) *fixture {
	ins := controlplane.FromScan(f.s.Manifests, func(p string) ([]byte, error) {
		return os.ReadFile(filepath.Join("../internal/controlplane/testdata/kubeadm", filepath.Base(p)))
	})
	f.s.ControlPlane = &controlplane.State{Instances: ins, Files: controlplane.Check(os.DirFS(root), ins, controlplane.CheckOptions{Now: f.s.Taken})}
	return f
}

func findingOf(t *testing.T, r *Report, pod string, kind Kind) Finding {
	t.Helper()
	for _, p := range r.Pods {
		if p.ID != pod {
			continue
		}
		for _, f := range p.Findings {
			if f.Kind == kind {
				return f
			}
		}
	}
	t.Fatalf("no %s on %s; outline: %v", kind, pod, outline(r))
	return Finding{}
}

func TestControlPlaneExpiredCertificate(t *testing.T) {
	f, root := cpFixture(t, map[string]func(*x509.Certificate){
		"apiserver": func(c *x509.Certificate) { c.NotAfter = t0.Add(-24 * time.Hour) },
		"etcd-peer": func(c *x509.Certificate) { c.NotAfter = t0.Add(10 * 24 * time.Hour) },
	}, "etcd.yaml", "kube-apiserver.yaml")
	f.controlPlane(root)
	r := Analyze(f.s, Options{})
	exp := findingOf(t, r, "kube-system-kube-apiserver", KindCertificateExpired)
	for _, want := range []string{"/etc/kubernetes/pki/apiserver.crt", "--tls-cert-file", "kube-apiserver.yaml line 40", "expired on 2025-11-23"} {
		if !strings.Contains(exp.Title, want) {
			t.Errorf("title %q lacks %q", exp.Title, want)
		}
	}
	if !strings.Contains(exp.Hint, "kubeadm certs renew apiserver") || exp.Severity != SeverityError || exp.Container != "kube-apiserver" {
		t.Errorf("finding = %+v", exp)
	}
	if len(exp.Evidence) < 2 || exp.Evidence[0].Source != "manifest:/etc/kubernetes/manifests/kube-apiserver.yaml:40" {
		t.Errorf("evidence = %+v", exp.Evidence)
	}
	warn := findingOf(t, r, "kube-system-etcd", KindCertificateExpiring)
	if warn.Severity != SeverityWarning || !strings.Contains(warn.Title, "/etc/kubernetes/pki/etcd/peer.crt") || !strings.Contains(warn.Hint, "kubeadm certs renew etcd-peer") {
		t.Errorf("expiring = %+v", warn)
	}
	if !r.Problems() {
		t.Error("an expired certificate is a problem")
	}
}

// TestControlPlaneEtcdDown: etcd's manifest is gone; the API server crash-loops on connection
// refused to 2379; the root cause is etcd, the crash loop folded under it.
func TestControlPlaneEtcdDown(t *testing.T) {
	f, root := cpFixture(t, nil, "kube-apiserver.yaml")
	f.runtime(true).sandbox("kube-system", "kube-apiserver-node1", uidAPI, true).
		container(uidAPI, "kube-apiserver", cidAPI0, "CONTAINER_EXITED", 2, 1, "Error", 100).
		container(uidAPI, "kube-apiserver", cidAPI, "CONTAINER_EXITED", 3, 1, "Error", 200).
		tail("kube-system", "kube-apiserver-node1", uidAPI, "kube-apiserver", 3, []string{
			`stderr I1124 21:58:20.000000       1 options.go:249] external host was not specified, using 10.0.0.10`,
			`stderr W1124 21:58:21.123456       1 logging.go:55] [core] [Channel #1 SubChannel #2]grpc: addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379", ServerName: "127.0.0.1:2379", }. Err: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:2379: connect: connection refused"`,
			`stderr F1124 21:58:40.000000       1 instance.go:232] Error creating leases: error creating storage factory: context deadline exceeded`,
		}, nil)
	f.controlPlane(root)
	r := Analyze(f.s, Options{})
	dep := findingOf(t, r, "kube-system-kube-apiserver", KindDependencyUnreachable)
	if dep.Cause != "" || dep.Severity != SeverityError || !strings.Contains(dep.Title, "etcd") || !strings.Contains(dep.Title, "127.0.0.1:2379") {
		t.Errorf("dependency = %+v", dep)
	}
	cl := findingOf(t, r, "kube-system-kube-apiserver", KindCrashLoop)
	if cl.Cause != KindDependencyUnreachable {
		t.Errorf("crash loop cause = %q, want DependencyUnreachable; outline %v", cl.Cause, outline(r))
	}
	// Root cause first.
	for _, p := range r.Pods {
		if p.ID == "kube-system-kube-apiserver" && p.Findings[0].Kind != KindDependencyUnreachable {
			t.Errorf("first finding %s", p.Findings[0].Kind)
		}
	}
}

func TestControlPlaneEtcdCrashingExplainsAPIServer(t *testing.T) {
	f, root := cpFixture(t, nil, "etcd.yaml", "kube-apiserver.yaml")
	f.runtime(true).sandbox("kube-system", "kube-apiserver-node1", uidAPI, true).sandbox("kube-system", "etcd-node1", uidEtcd2, true).
		container(uidAPI, "kube-apiserver", cidAPI, "CONTAINER_EXITED", 3, 1, "Error", 200).
		container(uidEtcd2, "etcd", strings.Repeat("e", 64), "CONTAINER_EXITED", 4, 1, "Error", 210).
		tail("kube-system", "kube-apiserver-node1", uidAPI, "kube-apiserver", 3, []string{
			`stderr W1124 21:58:21.123456       1 logging.go:55] [core] [Channel #1 SubChannel #2]grpc: addrConn.createTransport failed to connect to {Addr: "127.0.0.1:2379", ServerName: "127.0.0.1:2379", }. Err: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:2379: connect: connection refused"`,
		}, nil).
		tail("kube-system", "etcd-node1", uidEtcd2, "etcd", 4, []string{
			`stderr {"level":"fatal","ts":"2025-11-24T21:58:00.000Z","caller":"etcdmain/etcd.go:204","msg":"discovery failed","error":"member 8e9e05c52164694d has already been bootstrapped"}`,
		}, nil)
	f.controlPlane(root)
	r := Analyze(f.s, Options{})
	ce := findingOf(t, r, "kube-system-etcd", KindComponentError)
	if !strings.Contains(ce.Title, "data dir /var/lib/etcd") {
		t.Errorf("etcd = %+v", ce)
	}
	dep := findingOf(t, r, "kube-system-kube-apiserver", KindDependencyUnreachable)
	if !strings.Contains(dep.Title, "etcd (kube-system/etcd) is not running") || !strings.Contains(dep.Detail, "ComponentError") {
		t.Errorf("dependency = %+v", dep)
	}
}

func TestControlPlaneUnknownFlagAndPortInUse(t *testing.T) {
	f, root := cpFixture(t, nil, "kube-apiserver.yaml")
	// Add a flag this version does not know, on its own manifest line.
	f.s.Manifests.Files = nil
	data, _ := os.ReadFile("../internal/controlplane/testdata/kubeadm/kube-apiserver.yaml")
	yaml := strings.Replace(string(data), "    - --allow-privileged=true\n", "    - --allow-privileged=true\n    - --insecure-port=8080\n", 1)
	f.manifest("kube-apiserver.yaml", yaml)
	f.runtime(true).sandbox("kube-system", "kube-apiserver-node1", uidAPI, true).
		container(uidAPI, "kube-apiserver", cidAPI, "CONTAINER_EXITED", 3, 1, "Error", 200).
		tail("kube-system", "kube-apiserver-node1", uidAPI, "kube-apiserver", 3, []string{`stderr Error: unknown flag: --insecure-port`}, nil)
	ins := controlplane.FromScan(f.s.Manifests, func(string) ([]byte, error) { return []byte(yaml), nil })
	f.s.ControlPlane = &controlplane.State{Instances: ins, Files: controlplane.Check(os.DirFS(root), ins, controlplane.CheckOptions{Now: f.s.Taken})}
	r := Analyze(f.s, Options{})
	uf := findingOf(t, r, "kube-system-kube-apiserver", KindUnknownFlag)
	if !strings.Contains(uf.Title, "--insecure-port") || !strings.Contains(uf.Title, "kube-apiserver.yaml line 17") {
		t.Errorf("unknown flag = %+v", uf)
	}
	if cl := findingOf(t, r, "kube-system-kube-apiserver", KindCrashLoop); cl.Cause != KindUnknownFlag {
		t.Errorf("crash loop cause %q", cl.Cause)
	}
	// The crash loop is explained, not gone: the pod crash-loops (the kubelet's waiting reason is
	// CrashLoopBackOff), with UnknownFlag as its root cause.
	for _, p := range r.Pods {
		if p.ID != "kube-system-kube-apiserver" {
			continue
		}
		if p.State != podview.CrashLoop || p.KubectlStatus() != "CrashLoopBackOff" {
			t.Errorf("explained crash loop: state %s, STATUS %s; want CrashLoop, CrashLoopBackOff", p.State, p.KubectlStatus())
		}
		if top := p.Findings[0]; top.Kind != KindUnknownFlag {
			t.Errorf("top finding %s, want the root cause UnknownFlag", top.Kind)
		}
	}

	// Port 6443 held by another process: the holder is named.
	f.s.LogTails[0].Current = nil
	f.tail("kube-system", "kube-apiserver-node1", uidAPI, "kube-apiserver", 3, []string{
		`stderr E1124 21:58:00.000000       1 run.go:72] "command failed" err="failed to create listener: failed to listen on 0.0.0.0:6443: listen tcp 0.0.0.0:6443: bind: address already in use"`}, nil)
	f.s.LogTails = f.s.LogTails[1:]
	f.s.ControlPlane.Ports = []controlplane.PortUse{{Pod: "kube-system-kube-apiserver", Container: "kube-apiserver", Component: controlplane.KubeAPIServer, Port: 6443, Why: "--secure-port",
		Holders: []controlplane.PortHolder{{PID: 4242, Comm: "haproxy", Addr: "0.0.0.0:6443", Args: []string{"haproxy", "-f", "/etc/haproxy/haproxy.cfg"}}}}}
	r = Analyze(f.s, Options{})
	pu := findingOf(t, r, "kube-system-kube-apiserver", KindPortInUse)
	if !strings.Contains(pu.Title, "pid 4242 (haproxy)") || !strings.Contains(pu.Title, "port 6443") || !strings.Contains(pu.Hint, "pid 4242") {
		t.Errorf("port in use = %+v", pu)
	}
}

func TestControlPlaneStaleInstance(t *testing.T) {
	f, root := cpFixture(t, nil, "kube-apiserver.yaml")
	f.runtime(true).sandbox("kube-system", "kube-apiserver-node1", uidWeb, true).sandbox("kube-system", "kube-apiserver-node1", uidAPI, true)
	f.s.Runtime.Sandboxes[1].CreatedAt = t0.Add(5 * time.Minute)
	f.container(uidWeb, "kube-apiserver", cidAPI0, "CONTAINER_RUNNING", 0, 0, "", 10).
		container(uidAPI, "kube-apiserver", cidAPI, "CONTAINER_EXITED", 3, 1, "Error", 400).
		tail("kube-system", "kube-apiserver-node1", uidAPI, "kube-apiserver", 3, []string{
			`stderr E1124 21:58:00.000000       1 run.go:72] "command failed" err="failed to create listener: failed to listen on 0.0.0.0:6443: listen tcp 0.0.0.0:6443: bind: address already in use"`}, nil)
	f.controlPlane(root)
	f.s.ControlPlane.Ports = []controlplane.PortUse{{Pod: "kube-system-kube-apiserver", Container: "kube-apiserver", Port: 6443, Why: "--secure-port",
		Holders: []controlplane.PortHolder{{PID: 99, Comm: "kube-apiserver", Addr: ":::6443", ContainerID: cidAPI0, PodUID: uidWeb}}}}
	r := Analyze(f.s, Options{})
	st := findingOf(t, r, "kube-system-kube-apiserver", KindStaleInstance)
	if st.Cause != "" || !strings.Contains(st.Hint, "crictl stopp sb-"+uidWeb[:10]) {
		t.Errorf("stale = %+v", st)
	}
	if pu := findingOf(t, r, "kube-system-kube-apiserver", KindPortInUse); pu.Cause != KindStaleInstance || !strings.Contains(pu.Title, "kube-system/kube-apiserver-node1") {
		t.Errorf("port in use = %+v", pu)
	}
}

func TestControlPlaneMirrorPods(t *testing.T) {
	f, root := cpFixture(t, nil, "etcd.yaml", "kube-apiserver.yaml")
	f.runtime(true).sandbox("kube-system", "kube-apiserver-node1", uidAPI, true).sandbox("kube-system", "etcd-node1", uidEtcd2, true).
		container(uidAPI, "kube-apiserver", cidAPI, "CONTAINER_RUNNING", 0, 0, "", 10).
		container(uidEtcd2, "etcd", strings.Repeat("e", 64), "CONTAINER_RUNNING", 0, 0, "", 10).
		log(30, `{"ts":%T,"caller":"kubelet/kubelet.go:1950","msg":"Failed creating a mirror pod","pod":{"name":"etcd-node1","namespace":"kube-system"},"err":"pods \"etcd-node1\" is forbidden: static pods may not reference secrets"}`)
	f.controlPlane(root)
	f.s.ControlPlane.Mirror = &controlplane.MirrorState{Node: "node1", Server: "https://10.0.0.10:6443", Checked: true, Pods: []controlplane.MirrorPod{
		{Namespace: "kube-system", Name: "kube-apiserver-node1", Mirror: "0000aaaa", Hash: "0000aaaa"}}}
	r := Analyze(f.s, Options{})
	miss := findingOf(t, r, "kube-system-etcd", KindMirrorPodMissing)
	if !strings.Contains(miss.Title, "invisible to kubectl") || !strings.Contains(miss.Detail, "static pods may not reference secrets") || !strings.Contains(miss.Hint, "hostPath") {
		t.Errorf("missing = %+v", miss)
	}
	if mf := findingOf(t, r, "kube-system-etcd", KindMirrorPodFailed); mf.Cause != KindMirrorPodMissing {
		t.Errorf("mirror failed cause %q", mf.Cause)
	}
	out := findingOf(t, r, "kube-system-kube-apiserver", KindMirrorPodOutdated)
	if !strings.Contains(out.Title, uidAPI) {
		t.Errorf("outdated = %+v", out)
	}

	// The API server down: one info finding saying why.
	f.s.ControlPlane.Mirror = &controlplane.MirrorState{Node: "node1", Server: "https://10.0.0.10:6443", Kubeconfig: "/etc/kubernetes/kubelet.conf", Reason: controlplane.ReasonUnreachable,
		Error: "the API server https://10.0.0.10:6443 is unreachable: dial tcp 10.0.0.10:6443: connect: connection refused"}
	r = Analyze(f.s, Options{})
	var un *Finding
	for i := range r.Node.Findings {
		if r.Node.Findings[i].Kind == KindMirrorPodsUnchecked {
			un = &r.Node.Findings[i]
		}
	}
	if un == nil || un.Severity != SeverityInfo || !strings.Contains(un.Title, "unreachable") || !strings.Contains(un.Detail, "connection refused") {
		t.Fatalf("unchecked = %+v", un)
	}
}

func TestControlPlaneKubeletStatus(t *testing.T) {
	f, root := cpFixture(t, nil, "kube-apiserver.yaml")
	f.runtime(true).sandbox("kube-system", "kube-apiserver-node1", uidAPI, true).
		container(uidAPI, "kube-apiserver", cidAPI, "CONTAINER_RUNNING", 0, 0, "", 10)
	f.controlPlane(root)
	f.s.ControlPlane.Kubelet = &controlplane.KubeletPods{OK: true, Auth: "read-only port", Pods: []controlplane.KubeletPod{{
		Namespace: "kube-system", Name: "kube-apiserver-node1", Ready: false,
		Containers: []controlplane.KubeletContainer{{Name: "kube-apiserver", Ready: false, State: "running"}}}}}
	r := Analyze(f.s, Options{})
	p := r.Pods[0]
	if p.StatusSource != "kubelet /pods (read-only port)" || p.Ready == nil || *p.Ready || p.Containers[0].Ready {
		t.Errorf("pod = source %q ready %v containers %+v", p.StatusSource, p.Ready, p.Containers)
	}
	f.s.ControlPlane.Kubelet = &controlplane.KubeletPods{Reason: controlplane.ReasonWebhookDown}
	r = Analyze(f.s, Options{})
	if p := r.Pods[0]; p.StatusSource != "cri" || p.Ready != nil || !p.Containers[0].Ready {
		t.Errorf("pod without the kubelet = source %q ready %v", p.StatusSource, p.Ready)
	}
	// The kubelet backs off restarting it (the runtime caught the instance before it exited):
	// its waiting reason is the state and the STATUS.
	f.s.ControlPlane.Kubelet = &controlplane.KubeletPods{OK: true, Auth: "read-only port", Pods: []controlplane.KubeletPod{{
		Namespace: "kube-system", Name: "kube-apiserver-node1",
		Containers: []controlplane.KubeletContainer{{Name: "kube-apiserver", State: "waiting", Reason: "CrashLoopBackOff"}}}}}
	r = Analyze(f.s, Options{})
	if p := r.Pods[0]; p.State != podview.CrashLoop || p.KubectlStatus() != "CrashLoopBackOff" {
		t.Errorf("kubelet backing off: state %s STATUS %s, want CrashLoop, CrashLoopBackOff", p.State, p.KubectlStatus())
	}
}

func TestControlPlaneKubeletClientCertificate(t *testing.T) {
	f, root := cpFixture(t, map[string]func(*x509.Certificate){
		"kubelet.conf": func(c *x509.Certificate) { c.NotAfter = t0.Add(-time.Hour) },
	}, "kube-apiserver.yaml")
	f.controlPlane(root)
	f.s.ControlPlane.Files = append(f.s.ControlPlane.Files,
		controlplane.CheckKubeletKubeconfig(os.DirFS(root), "/etc/kubernetes/kubelet.conf", "kubeconfig", controlplane.CheckOptions{Now: f.s.Taken}))
	r := Analyze(f.s, Options{})
	var got *Finding
	for i := range r.Node.Findings {
		if r.Node.Findings[i].Kind == KindCertificateExpired {
			got = &r.Node.Findings[i]
		}
	}
	if got == nil || !strings.Contains(got.Title, "/etc/kubernetes/kubelet.conf") || !strings.Contains(got.Title, "the kubelet's --kubeconfig") ||
		!strings.Contains(got.Hint, "rotateCertificates") || !strings.Contains(got.Detail, "mirror pods") {
		t.Fatalf("kubelet certificate finding = %+v\noutline %v\n%+v", got, outline(r), r.Node.Findings)
	}
}

func TestControlPlaneKubeletAPIRefusalIsSaid(t *testing.T) {
	f, root := cpFixture(t, nil, "kube-apiserver.yaml")
	f.runtime(true).sandbox("kube-system", "kube-apiserver-node1", uidAPI, true).
		container(uidAPI, "kube-apiserver", cidAPI, "CONTAINER_RUNNING", 0, 0, "", 10)
	f.controlPlane(root)
	f.s.ControlPlane.Kubelet = &controlplane.KubeletPods{Status: 500, Reason: controlplane.ReasonWebhookDown,
		Error: "the kubelet could not authorize the request (500 Authorization error (user=kube-apiserver-kubelet-client, verb=get, resource=nodes, subresource=proxy))"}
	r := Analyze(f.s, Options{})
	if !strings.Contains(r.Node.KubeletAPI, "500") || !strings.Contains(r.Node.KubeletAPI, "pod status from CRI") {
		t.Errorf("kubelet API = %q", r.Node.KubeletAPI)
	}
	var buf strings.Builder
	if err := Render(&buf, r, "text", RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "kubelet API refused or unreachable (500)") || !strings.Contains(buf.String(), "status from cri") {
		t.Errorf("text report lacks the kubelet API line or the status source:\n%s", buf.String())
	}
}

func TestControlPlaneReplacementUnderWayIsNotStale(t *testing.T) {
	f, root := cpFixture(t, nil, "kube-apiserver.yaml")
	f.runtime(true).sandbox("kube-system", "kube-apiserver-node1", uidWeb, true).sandbox("kube-system", "kube-apiserver-node1", uidAPI, true)
	f.s.Runtime.Sandboxes[1].CreatedAt = f.s.Taken.Add(-5 * time.Second)
	f.container(uidWeb, "kube-apiserver", cidAPI0, "CONTAINER_RUNNING", 0, 0, "", 10)
	f.controlPlane(root)
	r := Analyze(f.s, Options{})
	for _, fd := range r.Pods[0].Findings {
		if fd.Kind == KindStaleInstance {
			t.Errorf("a replacement 5 s old is reported stale: %s", fd.Title)
		}
	}
}

// TestControlPlaneEmptyKubeconfigWords: the scheduler's kubeconfig emptied by its FileOrCreate
// volume; its words ("no configuration has been provided") join the file finding, which then
// explains the crash loop.
func TestControlPlaneEmptyKubeconfigWords(t *testing.T) {
	f, root := cpFixture(t, nil, "kube-scheduler.yaml")
	if err := os.WriteFile(filepath.Join(root, "etc/kubernetes/scheduler.conf"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	uid := "5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"
	f.runtime(true).sandbox("kube-system", "kube-scheduler-node1", uid, true).
		container(uid, "kube-scheduler", cidAPI, "CONTAINER_EXITED", 3, 1, "Error", 200).
		tail("kube-system", "kube-scheduler-node1", uid, "kube-scheduler", 3, []string{
			`stderr E1124 21:58:00.000000       1 run.go:72] "command failed" err="invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable"`}, nil)
	f.controlPlane(root)
	r := Analyze(f.s, Options{})
	rf := findingOf(t, r, "kube-system-kube-scheduler", KindReferencedFileMissing)
	if !strings.Contains(rf.Title, "/etc/kubernetes/scheduler.conf") || !strings.Contains(rf.Detail, "FileOrCreate") {
		t.Errorf("file finding = %+v", rf)
	}
	if cl := findingOf(t, r, "kube-system-kube-scheduler", KindCrashLoop); cl.Cause != KindReferencedFileMissing {
		t.Errorf("crash loop cause %q; outline %v", cl.Cause, outline(r))
	}
	for _, p := range r.Pods {
		for _, fd := range p.Findings {
			if fd.Kind == KindComponentError {
				t.Errorf("a ComponentError beside the file finding: %s", fd.Title)
			}
		}
	}
}

func TestMirrorHint(t *testing.T) {
	for why, want := range map[string]string{
		`pods "refused-node1" is forbidden: namespaces "spdoc-absent" not found`:                  "metadata.namespace",
		`pods \"refused-node1\" is forbidden: namespaces \"spdoc-absent\" not found`:              "kubectl create namespace spdoc-absent",
		`pods "x-node1" is forbidden: no PriorityClass with name high was found`:                  "spec.priorityClassName",
		`pods "x-node1" is forbidden: a mirror pod may not reference secrets`:                     "hostPath",
		`pods "x-node1" is forbidden: node "node1" can not create pods that reference configmaps`: "hostPath",
	} {
		if got := mirrorHint(why, "/etc/kubernetes/manifests/x.yaml"); !strings.Contains(got, want) {
			t.Errorf("%s: hint %q lacks %q", why, got, want)
		}
	}
}
