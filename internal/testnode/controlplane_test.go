package testnode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRootKubeletControlPlane starts a kubeadm-made control plane and checks what the harness
// promises: kubeadm's files under the node's own /etc/kubernetes (and none on the host), the
// control-plane images under kubeadm's names, a registered control-plane Node, four Ready mirror
// pods that carry their static pod's hash, the kubelet's /pods over its authenticated port, and
// every component on this node's own ports.
func TestRootKubeletControlPlane(t *testing.T) {
	hostHadAdminConf := fileExists("/etc/kubernetes/admin.conf")
	c := StartControlPlane(t, ControlPlaneOptions{})
	ctx := context.Background()

	for _, f := range []string{c.Files.AdminConf, c.Files.SuperAdminConf, c.Files.KubeletConf, c.Files.ControllerManager,
		c.Files.Scheduler, c.Files.PKI + "/ca.crt", c.Files.PKI + "/apiserver.crt", c.Files.PKI + "/etcd/server.crt",
		c.Files.PKI + "/sa.pub", c.Files.PKI + "/front-proxy-ca.crt"} {
		if !strings.HasPrefix(f, "/etc/kubernetes/") {
			t.Errorf("%s: kubeadm's files should be named as the node sees them, under /etc/kubernetes", f)
		}
		if !fileExists(c.HostPath(f)) {
			t.Errorf("kubeadm did not write %s (host path %s)", f, c.HostPath(f))
		}
	}
	if !hostHadAdminConf && fileExists("/etc/kubernetes/admin.conf") {
		t.Errorf("kubeadm wrote the host's /etc/kubernetes/admin.conf: the mount namespace leaked")
	}
	for comp, want := range map[string]string{
		KubeAPIServer: "registry.k8s.io/kube-apiserver:" + KubernetesVersion,
		Etcd:          "registry.k8s.io/etcd:3.6.5-0",
	} {
		if c.Images[comp] != want {
			t.Errorf("image of %s = %q, want kubeadm's %q", comp, c.Images[comp], want)
		}
	}
	out, err := c.ctr(ctx, "images", "ls", "-q")
	if err != nil {
		t.Fatal(err)
	}
	for comp, ref := range c.Images {
		if !strings.Contains(string(out), ref) {
			t.Errorf("containerd lacks the %s image %s:\n%s", comp, ref, out)
		}
	}

	for comp, port := range map[string]int{
		Etcd:                  c.Ports.EtcdClient,
		KubeAPIServer:         c.Ports.APIServer,
		KubeControllerManager: c.Ports.ControllerManager,
		KubeScheduler:         c.Ports.Scheduler,
	} {
		data, err := os.ReadFile(c.ManifestPath(comp))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), fmt.Sprint(port)) {
			t.Errorf("%s manifest does not use this node's port %d:\n%s", comp, port, data)
		}
	}

	node, err := c.Client.CoreV1().Nodes().Get(ctx, c.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the kubelet did not register its Node: %v", err)
	}
	if _, ok := node.Labels["node-role.kubernetes.io/control-plane"]; !ok {
		t.Errorf("node %s lacks kubeadm's control-plane label: %v", node.Name, node.Labels)
	}
	mirrors, err := c.MirrorPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(mirrors) != len(ControlPlaneComponents) {
		t.Errorf("%d pods on the node, want the %d mirror pods: %v", len(mirrors), len(ControlPlaneComponents), podNames(mirrors))
	}
	for _, p := range mirrors {
		mirror, hash := p.Annotations[corev1.MirrorPodAnnotationKey], p.Annotations["kubernetes.io/config.hash"]
		if mirror == "" || mirror != hash {
			t.Errorf("mirror pod %s: config.mirror %q, config.hash %q: want equal and set", p.Name, mirror, hash)
		}
	}

	pods, err := c.KubeletPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, comp := range ControlPlaneComponents {
		if why := podReady(pods, metav1.NamespaceSystem, c.PodName(comp)); why != "" {
			t.Errorf("kubelet /pods: %s", why)
		}
	}

	body, err := c.Client.CoreV1().RESTClient().Get().AbsPath("/livez").DoRaw(ctx)
	if err != nil || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("API server /livez = %q, %v", body, err)
	}
	if !strings.HasSuffix(c.RESTConfig.Host, fmt.Sprintf(":%d", c.Ports.APIServer)) {
		t.Errorf("admin.conf server %s, want port %d", c.RESTConfig.Host, c.Ports.APIServer)
	}

	// RestartKubelet keeps the ports and the mirror pods come back healthy.
	if err := c.RestartKubelet(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
}

func podNames(pods []corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	return names
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestMountNamespaceHostPath maps namespace paths back to the node's directories.
func TestMountNamespaceHostPath(t *testing.T) {
	ns := &mountNamespace{binds: []bindMount{{Source: "/tmp/spdoc-node-1/etc/kubernetes", Target: "/etc/kubernetes"}}}
	for in, want := range map[string]string{
		"/etc/kubernetes":              "/tmp/spdoc-node-1/etc/kubernetes",
		"/etc/kubernetes/pki/ca.crt":   "/tmp/spdoc-node-1/etc/kubernetes/pki/ca.crt",
		"/etc/kubernetes-other/a":      "/etc/kubernetes-other/a",
		"/var/lib/etcd":                "/var/lib/etcd",
		filepath.Join("/etc", "hosts"): "/etc/hosts",
	} {
		if got := ns.hostPath(in); got != want {
			t.Errorf("hostPath(%q) = %q, want %q", in, got, want)
		}
	}
	var none *mountNamespace
	if got := none.hostPath("/etc/kubernetes/x"); got != "/etc/kubernetes/x" {
		t.Errorf("nil namespace hostPath = %q, want unchanged", got)
	}
}
