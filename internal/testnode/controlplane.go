package testnode

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/testtier"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// KubernetesVersion is the version of every Kubernetes binary the harness builds (the kubelet,
// kubeadm and the control-plane components), so kubeadm and the kubelet agree.
const KubernetesVersion = "v1.34.4"

// EtcdVersion is the etcd server built for the control plane: the one kubeadm v1.34 deploys
// (cmd/kubeadm/app/constants DefaultEtcdVersion "3.6.5-0"), served by the Go module proxy.
const EtcdVersion = "v3.6.5"

// The static pods of a kubeadm control plane: component name = container name = manifest base.
const (
	Etcd                  = "etcd"
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
)

// ControlPlaneComponents lists the four static pods kubeadm writes, in start order.
var ControlPlaneComponents = []string{Etcd, KubeAPIServer, KubeControllerManager, KubeScheduler}

// KubernetesDir is where kubeadm and the node's processes see the node's configuration; on this
// machine it is ControlPlane.KubernetesDir (a bind mount in the node's mount namespace).
const KubernetesDir = "/etc/kubernetes"

// ControlPlaneOptions tune a control-plane node.
type ControlPlaneOptions struct {
	Options // the node's containerd and kubelet (LogFormat, Verbosity, Kubelet, Logf, StartTimeout)
	// NoCNI leaves the node without a CNI config: the kubelet then reports the network not ready
	// and the Node NotReady, as on a fresh `kubeadm init` before a network add-on. The control
	// plane's hostNetwork pods run either way.
	NoCNI bool
	// WaitTimeout bounds the wait for a healthy control plane (four Ready static pods and their
	// mirror pods); 0 means 5 minutes.
	WaitTimeout time.Duration
	// Binaries maps a component (kubeadm, kube-apiserver, kube-controller-manager,
	// kube-scheduler, etcd) to its binary; missing ones come from $SPDOC_K8S_BIN_DIR
	// (<component>-<version> files), else hack/build-k8s.sh and hack/build-etcd.sh (cached).
	Binaries map[string]string
}

// ControlPlanePorts are the free ports this node's components listen on, in place of the
// well-known ones, so several control planes run side by side.
type ControlPlanePorts struct {
	APIServer         int // 6443
	EtcdClient        int // 2379
	EtcdPeer          int // 2380
	EtcdMetrics       int // 2381 (etcd's probes)
	ControllerManager int // 10257
	Scheduler         int // 10259
	Kubelet           int // 10250
}

// ControlPlaneFiles are the paths of kubeadm's files as the node's processes see them (under
// /etc/kubernetes); Node.HostPath maps any of them to this machine.
type ControlPlaneFiles struct {
	Manifests         map[string]string // component → /etc/kubernetes/manifests/<component>.yaml
	PKI               string            // /etc/kubernetes/pki
	AdminConf         string
	SuperAdminConf    string
	KubeletConf       string
	ControllerManager string // controller-manager.conf
	Scheduler         string // scheduler.conf
}

// ControlPlane is a kubeadm-made control-plane node: a Node whose containerd and kubelet run in a
// private mount namespace where /etc/kubernetes is the node's own directory; kubeadm wrote its
// certificates, kubeconfigs and static pod manifests there; the kubelet runs them from the
// locally built images, registers the Node with the API server and creates mirror pods.
type ControlPlane struct {
	*Node
	// Version is the control plane's (kubeadm, kube-apiserver, kube-controller-manager,
	// kube-scheduler: checked to be KubernetesVersion); KubeletVersion the kubelet's, within
	// the version skew policy of it (checkKubeletSkew).
	Version        string
	KubeletVersion string
	KubeadmConfig  string // host path of the kubeadm InitConfiguration+ClusterConfiguration
	KubernetesDir  string // host path of the node's /etc/kubernetes
	EtcdDataDir    string // host path of etcd's data dir (the same inside the namespace)
	Files          ControlPlaneFiles
	Ports          ControlPlanePorts
	APIServerURL   string // https://<AdvertiseAddress>:<Ports.APIServer>, as in the kubeconfigs
	// AdvertiseAddress is the API server's address: this machine's first global IPv4 address.
	// kubeadm replaces a loopback advertise address by the address of the default route's
	// interface anyway (ChooseAPIServerBindAddress), and fails where it cannot find one.
	AdvertiseAddress string
	Images           map[string]string // component → image ref kubeadm's manifests use
	RESTConfig       *rest.Config      // from admin.conf
	Client           kubernetes.Interface

	binaries map[string]string
}

// StartControlPlane starts a control-plane node for a test, waits until it is healthy, and stops
// it in t.Cleanup. It fails the test with what to run when the machine lacks something.
func StartControlPlane(t testing.TB, opts ControlPlaneOptions) *ControlPlane {
	t.Helper()
	testtier.RealNode(t)
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	c, err := NewControlPlane(context.Background(), opts)
	if err != nil {
		t.Fatalf("testnode: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testnode %s: kubelet log tail:\n%s", c.NodeName, c.Tail(c.KubeletLog, 40))
		}
		if err := c.Close(); err != nil {
			t.Errorf("testnode: stopping control-plane node: %v", err)
		}
	})
	return c
}

// NewControlPlane starts a control-plane node and waits until it is healthy; the caller must
// Close it. StartControlPlane is the testing wrapper.
func NewControlPlane(ctx context.Context, opts ControlPlaneOptions) (_ *ControlPlane, err error) {
	if opts.WaitTimeout == 0 {
		opts.WaitTimeout = 5 * time.Minute
	}
	bins, err := controlPlaneBinaries(opts.Binaries)
	if err != nil {
		return nil, err
	}
	// The harness runs the control plane at KubernetesVersion and the kubelet the caller
	// chose ($SPDOC_KUBELET): make sure the builds are what they claim, and that the pair is one
	// Kubernetes supports, before starting anything.
	for _, comp := range []string{"kubeadm", KubeAPIServer, KubeControllerManager, KubeScheduler} {
		v, err := binaryVersion(ctx, comp, bins[comp])
		if err != nil {
			return nil, err
		}
		if v != KubernetesVersion {
			return nil, fmt.Errorf("%s %s is %s, but the harness runs the control plane at %s: %w (build it with hack/build-k8s.sh -v %s %s)",
				comp, bins[comp], v, KubernetesVersion, ErrVersionSkew, KubernetesVersion, comp)
		}
	}
	kubelet, err := findKubelet(opts.Kubelet)
	if err != nil {
		return nil, err
	}
	kv, err := binaryVersion(ctx, "kubelet", kubelet)
	if err != nil {
		return nil, err
	}
	if err := checkKubeletSkew(kv, KubernetesVersion); err != nil {
		return nil, err
	}
	opts.Kubelet = kubelet
	c := &ControlPlane{Version: KubernetesVersion, KubeletVersion: kv, binaries: bins}
	opts.CNI = !opts.NoCNI
	start := time.Now()
	n, err := newNode(ctx, opts.Options, c.prepare)
	if err != nil {
		return nil, err
	}
	c.Node = n
	defer func() {
		if err != nil {
			if cerr := n.Close(); cerr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, cerr)
			}
		}
	}()
	c.Ports.Kubelet = n.kubeletPorts[0]
	if err := c.connect(); err != nil {
		return nil, err
	}
	// What `kubeadm init` does once the API answers: store its config in the cluster and
	// bootstrap RBAC for admin.conf (kubeadm:cluster-admins, which apiserver-kubelet-client's
	// organisation also names, so the kubelet's webhook authorizer lets it read /pods); then,
	// with the Node registered, label and taint it as a control plane.
	if err := c.waitAPI(ctx, opts.WaitTimeout); err != nil {
		return nil, err
	}
	if _, err := c.Kubeadm(ctx, "init", "phase", "upload-config", "all", "--config", c.KubeadmConfig); err != nil {
		return nil, err
	}
	if err := c.WaitHealthy(ctx, opts.WaitTimeout); err != nil {
		return nil, err
	}
	if _, err := c.Kubeadm(ctx, "init", "phase", "mark-control-plane", "--config", c.KubeadmConfig); err != nil {
		return nil, err
	}
	n.logf("testnode %s: control plane healthy in %s (API %s, kubeadm files in %s)",
		n.NodeName, time.Since(start).Round(time.Second), c.APIServerURL, c.KubernetesDir)
	return c, nil
}

// prepare runs on the unstarted node: ports, the mount namespace, and the hooks that import the
// control-plane images, run kubeadm, and make the kubelet kubeadm's.
func (c *ControlPlane) prepare(n *Node) error {
	c.Node = n
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	c.Ports = ControlPlanePorts{APIServer: ports[0], EtcdClient: ports[1], EtcdPeer: ports[2],
		EtcdMetrics: ports[3], ControllerManager: ports[4], Scheduler: ports[5]}
	if c.AdvertiseAddress, err = advertiseAddress(); err != nil {
		return err
	}
	c.APIServerURL = "https://" + net.JoinHostPort(c.AdvertiseAddress, fmt.Sprint(c.Ports.APIServer))
	c.KubernetesDir = filepath.Join(n.Root, "etc/kubernetes")
	c.EtcdDataDir = filepath.Join(n.Root, "var/lib/etcd")
	c.KubeadmConfig = filepath.Join(n.Root, "kubeadm.yaml")
	c.Files = ControlPlaneFiles{
		Manifests:         map[string]string{},
		PKI:               KubernetesDir + "/pki",
		AdminConf:         KubernetesDir + "/admin.conf",
		SuperAdminConf:    KubernetesDir + "/super-admin.conf",
		KubeletConf:       KubernetesDir + "/kubelet.conf",
		ControllerManager: KubernetesDir + "/controller-manager.conf",
		Scheduler:         KubernetesDir + "/scheduler.conf",
	}
	for _, comp := range ControlPlaneComponents {
		c.Files.Manifests[comp] = KubernetesDir + "/manifests/" + comp + ".yaml"
	}
	if err := os.MkdirAll(c.EtcdDataDir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", c.EtcdDataDir, err)
	}
	ns, err := startMountNamespace([]bindMount{{Source: c.KubernetesDir, Target: KubernetesDir}})
	if err != nil {
		return err
	}
	n.ns = ns
	n.afterImages = c.kubeadmInit
	n.kubeletTweak = c.kubeletConfig
	return nil
}

// kubeadmInit imports the control-plane images and lets kubeadm write the node's files.
func (c *ControlPlane) kubeadmInit(ctx context.Context) error {
	if err := c.writeKubeadmConfig(); err != nil {
		return err
	}
	out, err := c.Kubeadm(ctx, "config", "images", "list", "--config", c.KubeadmConfig)
	if err != nil {
		return err
	}
	c.Images = map[string]string{}
	for _, ref := range strings.Fields(string(out)) {
		name := ref[strings.LastIndex(ref, "/")+1:]
		name = name[:strings.Index(name, ":")]
		if _, ok := c.binaries[name]; ok && name != "kubeadm" {
			c.Images[name] = ref
		}
	}
	for _, comp := range ControlPlaneComponents {
		if c.Images[comp] == "" {
			return fmt.Errorf("kubeadm config images list names no image for %s:\n%s", comp, out)
		}
	}
	if err := c.importControlPlaneImages(ctx); err != nil {
		return err
	}
	for _, phase := range [][]string{{"certs", "all"}, {"kubeconfig", "all"}, {"etcd", "local"}, {"control-plane", "all"}} {
		args := append([]string{"init", "phase"}, phase...)
		if _, err := c.Kubeadm(ctx, append(args, "--config", c.KubeadmConfig)...); err != nil {
			return err
		}
	}
	return nil
}

// Kubeadm runs the node's kubeadm with args inside its mount namespace and returns its stdout.
func (c *ControlPlane) Kubeadm(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := c.Command(ctx, c.binaries["kubeadm"], append(args, "--v=1")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("kubeadm %s: %w\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	c.logf("testnode %s: kubeadm %s", c.NodeName, strings.Join(args, " "))
	return stdout.Bytes(), nil
}

// writeKubeadmConfig writes the kubeadm config: this node's name, runtime socket and free ports
// (etcd's through its extraArgs, which kubeadm also passes on to the API server's
// --etcd-servers), and patches that move the controller-manager's and scheduler's probe ports
// with their --secure-port (kubeadm fixes those container ports at 10257 and 10259).
func (c *ControlPlane) writeKubeadmConfig() error {
	patches := filepath.Join(c.Root, "kubeadm-patches")
	if err := os.MkdirAll(patches, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", patches, err)
	}
	for comp, port := range map[string]int{KubeControllerManager: c.Ports.ControllerManager, KubeScheduler: c.Ports.Scheduler} {
		patch := fmt.Sprintf(`[{"op": "replace", "path": "/spec/containers/0/ports/0/containerPort", "value": %d}]`+"\n", port)
		if err := os.WriteFile(filepath.Join(patches, comp+"+json.json"), []byte(patch), 0o644); err != nil {
			return fmt.Errorf("writing kubeadm patch: %w", err)
		}
	}
	client := fmt.Sprintf("https://127.0.0.1:%d", c.Ports.EtcdClient)
	peer := fmt.Sprintf("https://127.0.0.1:%d", c.Ports.EtcdPeer)
	cfg := fmt.Sprintf(`apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: %[13]s
  bindPort: %[1]d
nodeRegistration:
  name: %[2]s
  criSocket: %[3]s
  imagePullPolicy: Never
patches:
  directory: %[4]s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: %[2]s
kubernetesVersion: %[5]s
certificatesDir: %[6]s
etcd:
  local:
    dataDir: %[7]s
    extraArgs:
    - name: listen-client-urls
      value: %[8]s
    - name: advertise-client-urls
      value: %[8]s
    - name: listen-peer-urls
      value: %[9]s
    - name: initial-advertise-peer-urls
      value: %[9]s
    - name: initial-cluster
      value: %[2]s=%[9]s
    - name: listen-metrics-urls
      value: http://127.0.0.1:%[10]d
controllerManager:
  extraArgs:
  - name: secure-port
    value: "%[11]d"
scheduler:
  extraArgs:
  - name: secure-port
    value: "%[12]d"
`, c.Ports.APIServer, c.NodeName, c.RuntimeEndpoint, patches, c.Version, c.Files.PKI, c.EtcdDataDir,
		client, peer, c.Ports.EtcdMetrics, c.Ports.ControllerManager, c.Ports.Scheduler, c.AdvertiseAddress)
	if err := os.WriteFile(c.KubeadmConfig, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("writing kubeadm config: %w", err)
	}
	return nil
}

// kubeletConfig makes the node's kubelet a kubeadm control-plane kubelet: static pods from
// /etc/kubernetes/manifests, kubelet.conf to reach the API server, and kubeadm's defaults for its
// own API (no read-only port; x509 client certs from the cluster CA and webhook authentication
// and authorization through the API server).
func (c *ControlPlane) kubeletConfig(cfg map[string]any) []string {
	cfg["staticPodPath"] = KubernetesDir + "/manifests"
	cfg["readOnlyPort"] = 0
	cfg["address"] = "0.0.0.0" // the API server reaches it at the Node's InternalIP
	cfg["rotateCertificates"] = true
	cfg["authentication"] = map[string]any{
		"anonymous": map[string]any{"enabled": false},
		"webhook":   map[string]any{"enabled": true, "cacheTTL": "0s"},
		"x509":      map[string]any{"clientCAFile": c.Files.PKI + "/ca.crt"},
	}
	cfg["authorization"] = map[string]any{
		"mode":    "Webhook",
		"webhook": map[string]any{"cacheAuthorizedTTL": "0s", "cacheUnauthorizedTTL": "0s"},
	}
	return []string{"--kubeconfig", c.Files.KubeletConf}
}

// connect builds the admin client from kubeadm's admin.conf.
func (c *ControlPlane) connect() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.HostPath(c.Files.AdminConf))
	if err != nil {
		return fmt.Errorf("loading admin.conf: %w", err)
	}
	cfg.Timeout = 10 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client from admin.conf: %w", err)
	}
	c.RESTConfig, c.Client = cfg, client
	return nil
}

// ManifestPath returns the host path of a component's static pod manifest.
func (c *ControlPlane) ManifestPath(component string) string {
	return filepath.Join(c.ManifestDir, component+".yaml")
}

// PodName is the name of a component's static pod (and mirror pod) on this node.
func (c *ControlPlane) PodName(component string) string {
	return component + "-" + strings.ToLower(c.NodeName)
}

// MirrorPods lists the API server's pods bound to this node (mirror pods of its static pods).
func (c *ControlPlane) MirrorPods(ctx context.Context) ([]corev1.Pod, error) {
	list, err := c.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: "spec.nodeName=" + c.NodeName,
	})
	if err != nil {
		return nil, fmt.Errorf("listing pods of node %s: %w", c.NodeName, err)
	}
	return list.Items, nil
}

// Healthy reports whether the Node is registered and every component has a Ready mirror pod,
// and if not, why not.
func (c *ControlPlane) Healthy(ctx context.Context) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Client.CoreV1().Nodes().Get(ctx, c.NodeName, metav1.GetOptions{}); err != nil {
		return false, fmt.Sprintf("node %s: %v", c.NodeName, err)
	}
	pods, err := c.MirrorPods(ctx)
	if err != nil {
		return false, err.Error()
	}
	var missing []string
	for _, comp := range ControlPlaneComponents {
		if why := mirrorPodReady(pods, c.PodName(comp)); why != "" {
			missing = append(missing, why)
		}
	}
	if len(missing) > 0 {
		return false, strings.Join(missing, "; ")
	}
	return true, ""
}

func mirrorPodReady(pods []corev1.Pod, name string) string {
	for _, p := range pods {
		if p.Name == name && p.Namespace == metav1.NamespaceSystem {
			if _, ok := p.Annotations[corev1.MirrorPodAnnotationKey]; !ok {
				return name + " has no " + corev1.MirrorPodAnnotationKey + " annotation"
			}
		}
	}
	return podReady(pods, metav1.NamespaceSystem, name)
}

// podReady returns "" when pods has namespace/name with condition Ready, else why not.
func podReady(pods []corev1.Pod, namespace, name string) string {
	for _, p := range pods {
		if p.Name != name || p.Namespace != namespace {
			continue
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				return ""
			}
		}
		return fmt.Sprintf("%s not Ready (phase %s)", name, p.Status.Phase)
	}
	return name + " not found"
}

// waitAPI waits until the API server answers /readyz with ok.
func (c *ControlPlane) waitAPI(ctx context.Context, timeout time.Duration) error {
	err := Poll(timeout, func() (bool, string) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		body, err := c.Client.CoreV1().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return false, fmt.Sprintf("%v %s", err, body)
		}
		return strings.TrimSpace(string(body)) == "ok", string(body)
	})
	if err != nil {
		return fmt.Errorf("API server %s not ready: %w\nkubelet log tail (%s):\n%s", c.APIServerURL, err, c.KubeletLog, c.Tail(c.KubeletLog, 30))
	}
	return nil
}

// WaitHealthy waits until Healthy; the error quotes the last reason and the kubelet log tail.
func (c *ControlPlane) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	if err := Poll(timeout, func() (bool, string) { return c.Healthy(ctx) }); err != nil {
		return fmt.Errorf("control plane of %s not healthy: %w\nkubelet log tail (%s):\n%s",
			c.NodeName, err, c.KubeletLog, c.Tail(c.KubeletLog, 30))
	}
	return nil
}

// advertiseAddress returns the first global unicast IPv4 address of an up interface.
func advertiseAddress() (string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("listing interfaces: %w", err)
	}
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 || strings.HasPrefix(iface.Name, "spdoc") {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ipn.IP.String(), nil
			}
		}
	}
	return "", errors.New("no global IPv4 address on this machine for the API server to advertise (kubeadm will not advertise a loopback address)")
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// controlPlaneBinaries resolves kubeadm, the three control-plane components and etcd.
func controlPlaneBinaries(explicit map[string]string) (map[string]string, error) {
	bins := map[string]string{}
	for k, v := range explicit {
		bins[k] = v
	}
	k8s := []string{"kubeadm", KubeAPIServer, KubeControllerManager, KubeScheduler}
	var needK8s []string
	for _, comp := range append(k8s, Etcd) {
		if bins[comp] != "" {
			continue
		}
		if dir := os.Getenv("SPDOC_K8S_BIN_DIR"); dir != "" {
			version := KubernetesVersion
			if comp == Etcd {
				version = EtcdVersion
			}
			bins[comp] = filepath.Join(dir, comp+"-"+version)
			continue
		}
		if comp != Etcd {
			needK8s = append(needK8s, comp)
		}
	}
	if len(needK8s) > 0 {
		paths, err := runBuildScript("hack/build-k8s.sh", append([]string{"-v", KubernetesVersion}, needK8s...)...)
		if err != nil {
			return nil, err
		}
		if len(paths) != len(needK8s) {
			return nil, fmt.Errorf("hack/build-k8s.sh printed %d paths for %d components: %q", len(paths), len(needK8s), paths)
		}
		for i, comp := range needK8s {
			bins[comp] = paths[i]
		}
	}
	if bins[Etcd] == "" {
		paths, err := runBuildScript("hack/build-etcd.sh", EtcdVersion)
		if err != nil {
			return nil, err
		}
		bins[Etcd] = paths[len(paths)-1]
	}
	for comp, p := range bins {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s binary: %w (build with hack/build-k8s.sh and hack/build-etcd.sh)", comp, err)
		}
	}
	return bins, nil
}

// runBuildScript runs a hack/ build script (which returns at once when its output is cached) and
// returns the paths it prints.
func runBuildScript(rel string, args ...string) ([]string, error) {
	script, err := findRepoFile(rel)
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s failed (run it by hand): %w\n%s", rel, err, stderr.String())
	}
	paths := strings.Fields(string(out))
	if len(paths) == 0 {
		return nil, errors.New(rel + " printed no path")
	}
	return paths, nil
}

// KubeletPods reads /pods from the kubelet's authenticated port as the API server would: with
// kubeadm's apiserver-kubelet-client certificate (authorized through the kubelet's webhook, so
// only while the API server answers). The kubelet's self-signed serving cert is trusted as is.
func (c *ControlPlane) KubeletPods(ctx context.Context) ([]corev1.Pod, error) {
	pki := c.HostPath(c.Files.PKI)
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "apiserver-kubelet-client.crt"), filepath.Join(pki, "apiserver-kubelet-client.key"))
	if err != nil {
		return nil, fmt.Errorf("kubelet /pods: client cert: %w", err)
	}
	serving, err := os.ReadFile(filepath.Join(c.KubeletRootDir, "pki", "kubelet.crt"))
	if err != nil {
		return nil, fmt.Errorf("kubelet /pods: kubelet serving cert: %w", err)
	}
	block, _ := pem.Decode(serving)
	if block == nil {
		return nil, errors.New("kubelet /pods: kubelet serving cert: no PEM block")
	}
	client := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			// The kubelet's self-signed cert names its hostname, not 127.0.0.1: trust exactly
			// the certificate in its cert dir instead of a name.
			InsecureSkipVerify: true,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 || !bytes.Equal(raw[0], block.Bytes) {
					return errors.New("kubelet presented a certificate other than its kubelet.crt")
				}
				return nil
			},
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/pods", c.Ports.Kubelet), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("kubelet /pods: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("kubelet /pods: reading: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("kubelet /pods: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	var list corev1.PodList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("kubelet /pods: decoding: %w", err)
	}
	return list.Items, nil
}
