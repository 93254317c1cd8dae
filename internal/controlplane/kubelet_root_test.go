package controlplane

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/controlplane/pkitest"
	"github.com/spdoc/spdoc/internal/testnode"
)

// TestRootKubeletReadsPods asks a real kubelet (v1.34, standalone, anonymous + AlwaysAllow) for
// its pods both ways: the read-only port, and 10250 with a client certificate while its
// self-signed serving certificate is verified against the file it wrote; a wrong CA is refused.
func TestRootKubeletReadsPods(t *testing.T) {
	n := testnode.Start(t, testnode.Options{})
	if err := n.WriteManifest("crash.yaml", testnode.CrashLoopPod("crash", "fatal: no config", 3)); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Port         int `json:"port"`
		ReadOnlyPort int `json:"readOnlyPort"`
	}
	data, err := os.ReadFile(n.KubeletConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil || cfg.Port == 0 || cfg.ReadOnlyPort == 0 {
		t.Fatalf("kubelet config ports %+v: %v", cfg, err)
	}
	var res *KubeletPods
	n.WaitFor(t, 90*time.Second, "the kubelet reports crash's restart", func() (bool, string) {
		res = ReadKubeletPods(context.Background(), KubeletOptions{ReadOnlyPort: cfg.ReadOnlyPort, Timeout: 2 * time.Second})
		for _, p := range res.Pods {
			if strings.HasPrefix(p.Name, "crash-") && len(p.Containers) == 1 && p.Containers[0].RestartCount > 0 {
				return true, ""
			}
		}
		return false, res.Error + " " + strconv.Itoa(len(res.Pods)) + " pods"
	})
	if !res.OK || res.Auth != "read-only port" {
		t.Fatalf("read-only port: %+v", res)
	}
	p := res.Pods[0]
	c := p.Containers[0]
	if p.Hash == "" || p.UID != p.Hash || p.Ready || c.LastExitCode == nil || *c.LastExitCode != 3 {
		t.Errorf("crash pod from the kubelet = %+v", p)
	}

	root := t.TempDir()
	if _, err := pkitest.Write(root, pkitest.Options{}); err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(root, "etc/kubernetes/pki/apiserver-kubelet-client.crt")
	key := filepath.Join(root, "etc/kubernetes/pki/apiserver-kubelet-client.key")
	serving := filepath.Join(n.KubeletRootDir, "pki", "kubelet.crt")
	res = ReadKubeletPods(context.Background(), KubeletOptions{Port: cfg.Port, ClientCert: cert, ClientKey: key, ServerCAs: []string{serving}, Timeout: 3 * time.Second})
	if !res.OK || len(res.Pods) != 1 || !strings.Contains(res.Auth, "apiserver-kubelet-client.crt") {
		t.Errorf("10250 with the kubelet's own serving certificate: %+v", res)
	}
	res = ReadKubeletPods(context.Background(), KubeletOptions{Port: cfg.Port, ClientCert: cert, ClientKey: key,
		ServerCAs: []string{filepath.Join(root, "etc/kubernetes/pki/ca.crt")}, Timeout: 3 * time.Second})
	if res.OK || res.Reason != ReasonTLS {
		t.Errorf("10250 verified against an unrelated CA: %+v", res)
	}
}
