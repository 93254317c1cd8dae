// Command capture-talos runs a real test node (internal/testnode: containerd + a standalone
// kubelet v1.34) the way Talos runs its kubelet since 1.3 — static pods only from a PodList
// served on 127.0.0.1 (staticPodURL, with a header, no manifest dir) — provokes the freeze of the
// URL source (a changed pod and an invalid new pod in one list: the kubelet rejects all of it,
// then logs a misleading success), and writes what `talosctl support` would collect from that
// node, in the layout of github.com/siderolabs/go-talos-support's collectors:
//
//	<node>/service-logs/kubelet.log                        the kubelet's log (JSON)
//	<node>/kubernetes-logs/kube-system/<c>[-exited].log    CRI log files of kube-system containers
//	<node>/resources/staticpods.kubernetes.talos.dev.yaml  metadata + spec (= the Pod) per pod
//	<node>/resources/staticpodstatuses.kubernetes.talos.dev.yaml   metadata + spec (= PodStatus)
//	<node>/resources/kubeletspecs.kubernetes.talos.dev.yaml        the kubelet config
//	<node>/resources/nodenames.kubernetes.talos.dev.yaml           the node name
//
// The same node data is written twice: as a control plane (-cp) and, without
// staticpodstatuses (Talos builds them only on control planes), as a worker (-worker).
// Everything is real kubelet and runtime output; only the layout is talosctl's. The temp root
// of the test node is removed from every path.
//
// Usage (as root): go run ./hack/capture-talos -out testdata/talos/support.zip
package main

import (
	"archive/zip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"sigs.k8s.io/yaml"

	"github.com/spdoc/spdoc/internal/testnode"
)

func main() {
	out := flag.String("out", "", "zip file to write (replaced)")
	nodeName := flag.String("node-name", "talos-cp-1", "node name of the captured kubelet")
	timeout := flag.Duration("timeout", 4*time.Minute, "how long to wait for each step")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "capture-talos: -out FILE is required")
		os.Exit(2)
	}
	if err := run(*out, *nodeName, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "capture-talos:", err)
		os.Exit(1)
	}
}

// server is Talos's static pod server: it serves whatever list it is given, unchecked.
type server struct {
	mu   sync.Mutex
	body []byte
}

func (s *server) set(b []byte) { s.mu.Lock(); s.body = b; s.mu.Unlock() }
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(s.body)
}

// pod is a test pod in kube-system with a rev label.
func pod(manifest, rev string) (map[string]any, error) {
	var p map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &p); err != nil {
		return nil, err
	}
	meta := p["metadata"].(map[string]any)
	meta["namespace"] = "kube-system"
	meta["labels"] = map[string]any{"rev": rev}
	return p, nil
}

func list(pods ...map[string]any) ([]byte, error) {
	return yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "PodList", "items": pods})
}

func run(out, nodeName string, timeout time.Duration) error {
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	srv := &server{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	url := "http://" + ln.Addr().String() + "/"

	web1, _ := pod(testnode.HealthyPod("web"), "1")
	web2, _ := pod(testnode.HealthyPod("web"), "2")
	crash, _ := pod(testnode.CrashLoopPod("crashloop", "fatal: cannot open /etc/app/config.yaml: no such file or directory", 3), "1")
	bad, _ := pod(testnode.NoContainersPod("bad"), "1")
	first, err := list(web1, crash)
	if err != nil {
		return err
	}
	srv.set(first)

	n, err := testnode.New(context.Background(), testnode.Options{NodeName: nodeName, Logf: logf, URLSource: &testnode.URLSource{
		URL: url, Header: map[string][]string{"X-Talos-Token": {"capture-secret-token"}}, NoManifestDir: true}})
	if err != nil {
		return err
	}
	defer func() {
		if err := n.Close(); err != nil {
			logf("stopping node: %v", err)
		}
	}()
	rev := func(name string) string {
		p, err := n.Pod("kube-system", name)
		if err != nil || p == nil {
			return ""
		}
		return p.Labels["rev"]
	}
	restarts := func(name string) int32 {
		p, err := n.Pod("kube-system", name)
		if err != nil || p == nil {
			return 0
		}
		for _, cs := range p.Status.ContainerStatuses {
			return cs.RestartCount
		}
		return 0
	}
	if err := testnode.Poll(timeout, func() (bool, string) {
		return rev("web") == "1" && restarts("crashloop") >= 2, fmt.Sprintf("web rev %q, crashloop restarts %d", rev("web"), restarts("crashloop"))
	}); err != nil {
		return err
	}
	// The edit that freezes the node: web changes and a bad pod is added, in one list.
	second, err := list(web2, bad, crash)
	if err != nil {
		return err
	}
	srv.set(second)
	if err := testnode.Poll(timeout, func() (bool, string) {
		data, _ := os.ReadFile(n.KubeletLog)
		i := strings.Index(string(data), "Failed to read pods from URL")
		return i >= 0 && strings.Contains(string(data[i:]), "Successfully read pods from URL"), "waiting for the failure and the success"
	}); err != nil {
		return err
	}
	time.Sleep(3 * time.Second)
	if r := rev("web"); r != "1" {
		return fmt.Errorf("web is at rev %q: the kubelet did not freeze the list", r)
	}
	logf("capture-talos: frozen as expected (web rev 1 while rev 2 is served)")
	return writeBundle(n, out, nodeName, url, second)
}

// writeBundle writes the talosctl layout for a control plane and a worker view of the node.
func writeBundle(n *testnode.Node, out, nodeName, url string, served []byte) error {
	rewrite := func(b []byte) []byte { return []byte(strings.ReplaceAll(string(b), n.Root, "")) }
	kubeletLog, err := os.ReadFile(n.KubeletLog)
	if err != nil {
		return err
	}
	cfgJSON, err := os.ReadFile(n.KubeletConfig)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(rewrite(cfgJSON), &cfg); err != nil {
		return err
	}
	var servedList struct {
		Items []map[string]any `json:"items"`
	}
	if err := yaml.Unmarshal(served, &servedList); err != nil {
		return err
	}
	pods, err := n.PodsFromReadOnlyPort()
	if err != nil {
		return err
	}
	logs, err := containerLogs(n)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339)
	meta := func(typ, id, owner string) map[string]any {
		return map[string]any{"namespace": "k8s", "type": typ, "id": id, "version": 1, "owner": owner, "phase": "running", "created": now, "updated": now}
	}
	var staticPods, statuses []map[string]any
	for _, p := range servedList.Items {
		m := p["metadata"].(map[string]any)
		staticPods = append(staticPods, map[string]any{"metadata": meta("StaticPods.kubernetes.talos.dev", fmt.Sprintf("%s-%s", m["namespace"], m["name"]), "k8s.ExtraManifestController"), "spec": p})
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, p := range pods {
		st, err := json.Marshal(p.Status)
		if err != nil {
			return err
		}
		var spec map[string]any
		if err := json.Unmarshal(rewrite(st), &spec); err != nil {
			return err
		}
		statuses = append(statuses, map[string]any{"metadata": meta("StaticPodStatuses.kubernetes.talos.dev", p.Namespace+"/"+p.Name, "k8s.StaticPodStatusController"), "spec": spec})
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	write := func(name string, data []byte) error {
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	docs := func(rs []map[string]any) ([]byte, error) {
		var b strings.Builder
		for i, r := range rs {
			y, err := yaml.Marshal(r)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				b.WriteString("---\n")
			}
			b.Write(y)
		}
		return []byte(b.String()), nil
	}
	for _, dir := range []string{"10.5.0.2", "10.5.0.3"} {
		worker := dir == "10.5.0.3"
		if err := write(dir+"/service-logs/kubelet.log", rewrite(kubeletLog)); err != nil {
			return err
		}
		for _, l := range logs {
			if err := write(dir+"/kubernetes-logs/kube-system/"+l.name, rewrite(l.data)); err != nil {
				return err
			}
		}
		sp, err := docs(staticPods)
		if err != nil {
			return err
		}
		if err := write(dir+"/resources/staticpods.kubernetes.talos.dev.yaml", sp); err != nil {
			return err
		}
		if !worker {
			st, err := docs(statuses)
			if err != nil {
				return err
			}
			if err := write(dir+"/resources/staticpodstatuses.kubernetes.talos.dev.yaml", st); err != nil {
				return err
			}
		}
		ks, err := docs([]map[string]any{{"metadata": meta("KubeletSpecs.kubernetes.talos.dev", "kubelet", "k8s.KubeletSpecController"),
			"spec": map[string]any{"image": "ghcr.io/siderolabs/kubelet:v1.34.4", "args": []string{"--config=/etc/kubernetes/kubelet.yaml"}, "config": cfg, "expectedNodename": nodeName}}})
		if err != nil {
			return err
		}
		if err := write(dir+"/resources/kubeletspecs.kubernetes.talos.dev.yaml", ks); err != nil {
			return err
		}
		nn, err := docs([]map[string]any{{"metadata": meta("NodeNames.kubernetes.talos.dev", "nodename", "k8s.NodenameController"),
			"spec": map[string]any{"nodename": nodeName, "hostname": nodeName, "skipNodeRegistration": false}}})
		if err != nil {
			return err
		}
		if err := write(dir+"/resources/nodenames.kubernetes.talos.dev.yaml", nn); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Sync()
}

type logFile struct {
	name string
	data []byte
}

// containerLogs are the CRI log files of every kube-system container, named as talosctl names
// them: <container>.log, or <container>-exited.log when the container has no process.
func containerLogs(n *testnode.Node) ([]logFile, error) {
	rs, conn, err := n.RuntimeClient()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := rs.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
	if err != nil {
		return nil, err
	}
	sort.Slice(cs.Containers, func(i, j int) bool { return cs.Containers[i].CreatedAt < cs.Containers[j].CreatedAt })
	var out []logFile
	for _, c := range cs.Containers {
		if c.Labels["io.kubernetes.pod.namespace"] != "kube-system" {
			continue
		}
		st, err := rs.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.Id})
		if err != nil || st.Status.LogPath == "" {
			continue
		}
		data, err := os.ReadFile(st.Status.LogPath)
		if err != nil {
			continue
		}
		name := c.Metadata.Name + ".log"
		if st.Status.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
			name = c.Metadata.Name + "-exited.log"
		}
		out = append(out, logFile{name: filepath.Base(name), data: data})
	}
	return out, nil
}
