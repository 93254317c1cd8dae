package controlplane

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/redact"
)

// PortHolder is a process listening on a port.
type PortHolder struct {
	PID     int       `json:"pid"`
	Comm    string    `json:"comm,omitempty"`
	Args    []string  `json:"args,omitempty"` // command line, secrets redacted, capped
	Addr    string    `json:"addr"`           // the address it listens on
	Started time.Time `json:"started,omitzero"`
	// ContainerID and PodUID come from the process's cgroup, when it runs in a container.
	ContainerID string `json:"containerID,omitempty"`
	PodUID      string `json:"podUID,omitempty"`
}

// Describe renders "pid 1234 (kube-apiserver)".
func (h *PortHolder) Describe() string {
	s := "pid " + strconv.Itoa(h.PID)
	if h.Comm != "" {
		s += " (" + h.Comm + ")"
	}
	return s
}

// PortUse is a port a static pod's container needs, with whoever listens on it now.
type PortUse struct {
	Pod       string       `json:"pod"`
	Container string       `json:"container"`
	Component Component    `json:"component,omitempty"`
	Port      int          `json:"port"`
	Host      string       `json:"host,omitempty"`
	Why       string       `json:"why"` // --secure-port, livenessProbe, ports probe-port…
	Holders   []PortHolder `json:"holders,omitempty"`
}

// listener is one LISTEN socket of /proc/net/tcp{,6}.
type listener struct {
	addr  string
	port  int
	inode string
}

// readListeners parses /proc/net/tcp and tcp6 (the network namespace spdoc runs in, which is the
// host's for a node tool and for hostNetwork pods).
func readListeners(procDir string) ([]listener, error) {
	var out []listener
	var firstErr error
	for _, name := range []string{"net/tcp", "net/tcp6"} {
		f, err := os.Open(filepath.Join(procDir, name))
		if err != nil {
			if firstErr == nil && !os.IsNotExist(err) {
				firstErr = err
			}
			continue
		}
		sc := bufio.NewScanner(f)
		first := true
		for sc.Scan() {
			if first {
				first = false
				continue // header
			}
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A = TCP_LISTEN
				continue
			}
			ip, port, err := parseHexAddr(fields[1])
			if err != nil {
				continue
			}
			out = append(out, listener{addr: net.JoinHostPort(ip, strconv.Itoa(port)), port: port, inode: fields[9]})
		}
		f.Close()
	}
	return out, firstErr
}

// parseHexAddr decodes the kernel's "0100007F:1A0B" (each 32-bit word in host byte order, which
// is little-endian on every platform Kubernetes runs on).
func parseHexAddr(s string) (string, int, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return "", 0, fmt.Errorf("bad address %q", s)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return "", 0, err
	}
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return "", 0, fmt.Errorf("bad address %q", s)
	}
	ip := make(net.IP, len(b))
	for w := 0; w < len(b); w += 4 {
		ip[w], ip[w+1], ip[w+2], ip[w+3] = b[w+3], b[w+2], b[w+1], b[w]
	}
	return ip.String(), int(port), nil
}

// socketOwners maps socket inodes to the PIDs holding them, scanning /proc/*/fd (only for the
// inodes asked for).
func socketOwners(procDir string, inodes map[string]bool) map[string][]int {
	out := map[string][]int{}
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return out
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		fdDir := filepath.Join(procDir, e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue // the process ended or is not ours to read
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			ino, ok := strings.CutPrefix(link, "socket:[")
			if !ok {
				continue
			}
			ino = strings.TrimSuffix(ino, "]")
			if inodes[ino] {
				out[ino] = appendUnique(out[ino], pid)
			}
		}
	}
	return out
}

func appendUnique(s []int, v int) []int {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

var (
	reContainerID = regexp.MustCompile(`(?:cri-containerd[-:]|crio[-:]|docker[-:]|containerd[-:]|/)([0-9a-f]{64})(?:\.scope)?\s*$`)
	rePodUID      = regexp.MustCompile(`pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})`)
)

// cgroupIDs finds the container ID and pod UID in /proc/<pid>/cgroup (cgroupfs:
// /kubepods/besteffort/pod<uid>/<id>; systemd: kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope).
func cgroupIDs(data string) (containerID, podUID string) {
	for _, line := range strings.Split(data, "\n") {
		if m := reContainerID.FindStringSubmatch(line); m != nil && containerID == "" {
			containerID = m[1]
		}
		if m := rePodUID.FindStringSubmatch(line); m != nil && podUID == "" {
			podUID = strings.ReplaceAll(m[1], "_", "-")
		}
	}
	return containerID, podUID
}

// bootTime is btime of /proc/stat.
func bootTime(procDir string) time.Time {
	data, err := os.ReadFile(filepath.Join(procDir, "stat"))
	if err != nil {
		return time.Time{}
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return time.Unix(n, 0)
			}
		}
	}
	return time.Time{}
}

// clockTicks is USER_HZ, 100 on every Linux architecture Kubernetes supports.
const clockTicks = 100

// procStart is when a process started: field 22 of /proc/<pid>/stat, after the ")" of comm.
func procStart(procDir string, pid int, boot time.Time) time.Time {
	if boot.IsZero() {
		return time.Time{}
	}
	data, err := os.ReadFile(filepath.Join(procDir, strconv.Itoa(pid), "stat"))
	if err != nil {
		return time.Time{}
	}
	s := string(data)
	i := strings.LastIndex(s, ")")
	if i < 0 {
		return time.Time{}
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return time.Time{}
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return boot.Add(time.Duration(ticks) * time.Second / clockTicks).UTC()
}

// maxArgs caps the command line kept for a holder.
const maxArgs = 16

func holder(procDir string, pid int, addr string, boot time.Time, red *redact.Redactor) PortHolder {
	h := PortHolder{PID: pid, Addr: addr}
	dir := filepath.Join(procDir, strconv.Itoa(pid))
	if b, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
		h.Comm = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(b) > 0 {
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) > maxArgs {
			args = append(args[:maxArgs], fmt.Sprintf("… %d more", len(args)-maxArgs))
		}
		h.Args = red.Args(args)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cgroup")); err == nil {
		h.ContainerID, h.PodUID = cgroupIDs(string(b))
	}
	h.Started = procStart(procDir, pid, boot)
	return h
}

// Ports finds, for every port the instances need, the processes listening on it now, from
// procDir (/proc). An error means the socket tables could not be read at all.
func Ports(procDir string, instances []*Instance) ([]PortUse, error) {
	var uses []PortUse
	for _, in := range instances {
		for _, e := range in.NeedsPorts() {
			uses = append(uses, PortUse{Pod: in.Pod, Container: in.Container, Component: in.Component, Port: e.Port, Host: e.Host, Why: e.Why})
		}
	}
	if len(uses) == 0 {
		return nil, nil
	}
	ls, err := readListeners(procDir)
	if err != nil && len(ls) == 0 {
		return uses, fmt.Errorf("reading listening sockets: %w", err)
	}
	want := map[int]bool{}
	for _, u := range uses {
		want[u.Port] = true
	}
	inodes := map[string]bool{}
	for _, l := range ls {
		if want[l.port] && l.inode != "0" {
			inodes[l.inode] = true
		}
	}
	owners := socketOwners(procDir, inodes)
	boot := bootTime(procDir)
	red := redact.New(redact.Options{})
	for i := range uses {
		u := &uses[i]
		for _, l := range ls {
			if l.port != u.Port || !overlaps(u.Host, l.addr) {
				continue
			}
			pids := owners[l.inode]
			if len(pids) == 0 {
				// A socket with no visible owner (another PID namespace, or we may not read its fds).
				u.Holders = append(u.Holders, PortHolder{Addr: l.addr})
				continue
			}
			for _, pid := range pids {
				u.Holders = append(u.Holders, holder(procDir, pid, l.addr, boot, red))
			}
		}
		sort.Slice(u.Holders, func(a, b int) bool { return u.Holders[a].PID < u.Holders[b].PID })
	}
	return uses, nil
}

// overlaps reports whether a listener on addr conflicts with binding host (same port): any
// unspecified side conflicts, otherwise the IPs must be equal.
func overlaps(host, addr string) bool {
	lh, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if unspecified(host) || unspecified(lh) || host == "localhost" {
		return true
	}
	a, b := net.ParseIP(host), net.ParseIP(lh)
	return a != nil && b != nil && a.Equal(b)
}
