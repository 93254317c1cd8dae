package controlplane

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func apiserverInstance(port int) *Instance {
	pod := &corev1.Pod{}
	pod.Name, pod.Namespace = "kube-apiserver", "kube-system"
	pod.Spec.HostNetwork = true
	pod.Spec.Containers = []corev1.Container{{
		Name:    "kube-apiserver",
		Command: []string{"kube-apiserver", "--secure-port=" + strconv.Itoa(port), "--advertise-address=10.0.0.10"},
	}}
	return Instances("kube-system-kube-apiserver", "/etc/kubernetes/manifests/kube-apiserver.yaml", pod, nil)[0]
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(data), 0o644))
}

// TestPortsFakeProc: a listener on 0.0.0.0:6443 held by a containerd container (systemd cgroup
// driver), another on 127.0.0.1:2379 that nobody asked about, a non-listening 6443 socket.
func TestPortsFakeProc(t *testing.T) {
	proc := t.TempDir()
	writeFile(t, filepath.Join(proc, "net/tcp"), `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:094F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22222 1 0000000000000000 100 0 0 10 0
   2: 0A00000A:192B 0B00000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 33333 1 0000000000000000 100 0 0 10 0
`)
	writeFile(t, filepath.Join(proc, "net/tcp6"), `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
`)
	writeFile(t, filepath.Join(proc, "stat"), "cpu  1 2 3\nbtime 1764547200\n")
	id := strings.Repeat("ab", 32)
	pd := filepath.Join(proc, "4242")
	writeFile(t, filepath.Join(pd, "comm"), "kube-apiserver\n")
	writeFile(t, filepath.Join(pd, "cmdline"), "kube-apiserver\x00--secure-port=6443\x00--token-auth-file=/x\x00--oidc-client-secret=hunter2\x00")
	writeFile(t, filepath.Join(pd, "cgroup"), "12:memory:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0123abcd_4567_89ab_cdef_0123456789ab.slice/cri-containerd-"+id+".scope\n")
	writeFile(t, filepath.Join(pd, "stat"), "4242 (kube-apiserver) S 1 4242 4242 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 12 0 360000 100 10 0\n")
	must(t, os.MkdirAll(filepath.Join(pd, "fd"), 0o755))
	must(t, os.Symlink("socket:[12345]", filepath.Join(pd, "fd", "7")))
	must(t, os.Symlink("/dev/null", filepath.Join(pd, "fd", "0")))

	uses, err := Ports(proc, []*Instance{apiserverInstance(6443)})
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 1 || uses[0].Port != 6443 {
		t.Fatalf("uses = %+v", uses)
	}
	hs := uses[0].Holders
	if len(hs) != 1 {
		t.Fatalf("holders = %+v", hs)
	}
	h := hs[0]
	if h.PID != 4242 || h.Comm != "kube-apiserver" || h.Addr != "0.0.0.0:6443" || h.ContainerID != id || h.PodUID != "0123abcd-4567-89ab-cdef-0123456789ab" {
		t.Errorf("holder = %+v", h)
	}
	if want := time.Unix(1764547200+3600, 0).UTC(); !h.Started.Equal(want) {
		t.Errorf("started = %v, want %v", h.Started, want)
	}
	if strings.Contains(strings.Join(h.Args, " "), "hunter2") {
		t.Errorf("secret in args: %q", h.Args)
	}
}

func TestParseHexAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:094F":                         "127.0.0.1:2383",
		"00000000:192B":                         "0.0.0.0:6443",
		"00000000000000000000000001000000:0050": "::1:80",
		"00000000000000000000000000000000:192B": ":::6443",
	} {
		ip, port, err := parseHexAddr(in)
		if err != nil || ip+":"+strconv.Itoa(port) != want {
			t.Errorf("%s = %s:%d %v, want %s", in, ip, port, err, want)
		}
	}
	if _, _, err := parseHexAddr("zz:1"); err == nil {
		t.Error("garbage accepted")
	}
}

func TestCgroupIDs(t *testing.T) {
	id := strings.Repeat("0f", 32)
	for _, tc := range []struct{ data, id, uid string }{
		{"0::/kubepods/besteffort/pod6f1c0f9e-4d6a-4b7e-9b3c-2a1d0e9f8c7b/" + id + "\n", id, "6f1c0f9e-4d6a-4b7e-9b3c-2a1d0e9f8c7b"},
		{"1:name=systemd:/system.slice/containerd.service/kubepods-besteffort-pod6f1c0f9e_4d6a_4b7e_9b3c_2a1d0e9f8c7b.slice:cri-containerd:" + id + "\n", id, "6f1c0f9e-4d6a-4b7e-9b3c-2a1d0e9f8c7b"},
		{"0::/system.slice/kubelet.service\n", "", ""},
		// A static pod's UID is the 32-hex config hash.
		{"0::/kubepods/burstable/pod0123456789abcdef0123456789abcdef/" + id + "\n", id, "0123456789abcdef0123456789abcdef"},
	} {
		gotID, gotUID := cgroupIDs(tc.data)
		if gotID != tc.id || gotUID != tc.uid {
			t.Errorf("%q: %q %q", tc.data, gotID, gotUID)
		}
	}
}

// TestPortsRealProcess: a real process (this test binary re-executed) listens on a port; Ports
// finds it through the real /proc.
func TestPortsRealProcess(t *testing.T) {
	if os.Getenv("SPDOC_PORTS_HELPER") == "1" {
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=TestPortsHelperProcess")
	cmd.Env = append(os.Environ(), "SPDOC_PORTS_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "PORT ")))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	uses, err := Ports("/proc", []*Instance{apiserverInstance(port)})
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 1 || len(uses[0].Holders) != 1 {
		t.Fatalf("uses = %+v", uses)
	}
	h := uses[0].Holders[0]
	if h.PID != cmd.Process.Pid || h.Addr != "127.0.0.1:"+strconv.Itoa(port) || h.Started.IsZero() || len(h.Args) == 0 {
		t.Errorf("holder = %+v, want pid %d", h, cmd.Process.Pid)
	}
}

func TestPortsHelperProcess(t *testing.T) {
	if os.Getenv("SPDOC_PORTS_HELPER") != "1" {
		return
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(3)
	}
	fmt.Printf("PORT %d\n", l.Addr().(*net.TCPAddr).Port)
	time.Sleep(time.Minute)
	os.Exit(0)
}
