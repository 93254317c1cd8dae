package podlog

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spdoc/spdoc/internal/safefs"
)

// ParsePodDirName splits "<ns>_<pod>_<uid>". Namespaces and pod names are DNS names and cannot
// contain '_', so the first two '_' separate the parts.
func ParsePodDirName(name string) (ns, pod, uid string, ok bool) {
	parts := strings.SplitN(name, "_", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// ScanPodDirs lists <podLogsDir>/<ns>_<pod>_<uid>/<container>/<n>.log, sorted by namespace,
// pod name and UID; containers by name; instances ascending. Entries that don't have this shape
// are ignored. A missing podLogsDir is an error wrapping fs.ErrNotExist.
func ScanPodDirs(podLogsDir string) ([]PodDir, error) {
	ents, err := safefs.ReadDir(podLogsDir)
	if err != nil {
		return nil, fmt.Errorf("reading pod logs dir: %w", err)
	}
	var out []PodDir
	for _, e := range ents {
		ns, pod, uid, ok := ParsePodDirName(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		pd := PodDir{Namespace: ns, Name: pod, UID: uid, Path: filepath.Join(podLogsDir, e.Name())}
		cents, err := safefs.ReadDir(pd.Path)
		if err != nil {
			// Unreadable pod dir: list it without containers rather than hide it.
			out = append(out, pd)
			continue
		}
		for _, ce := range cents {
			if !ce.IsDir() {
				continue
			}
			cd := ContainerDir{Name: ce.Name(), Path: filepath.Join(pd.Path, ce.Name())}
			cd.Instances = instances(cd.Path)
			pd.Containers = append(pd.Containers, cd)
		}
		sort.Slice(pd.Containers, func(i, j int) bool { return pd.Containers[i].Name < pd.Containers[j].Name })
		out = append(out, pd)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.UID < b.UID
	})
	return out, nil
}

// instances returns the restart counts n that have an <n>.log in dir, ascending.
func instances(dir string) []int {
	ents, err := safefs.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if n, ok := instanceOf(e.Name()); ok && !e.IsDir() {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

// instanceOf parses "<n>.log" (not the rotated "<n>.log.<timestamp>[.gz]").
func instanceOf(name string) (int, bool) {
	s, ok := strings.CutSuffix(name, ".log")
	if !ok || s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}

// Instances returns the restart counts that have an <n>.log in the container dir, ascending.
func Instances(containerDir string) []int { return instances(containerDir) }

// ContainerLogPath is <podDir>/<container>/<instance>.log.
func ContainerLogPath(podDir, container string, instance int) string {
	return filepath.Join(podDir, container, strconv.Itoa(instance)+".log")
}

// InstancePath is the <instance>.log inside the container dir.
func (cd ContainerDir) InstancePath(instance int) string {
	return filepath.Join(cd.Path, strconv.Itoa(instance)+".log")
}

// Current returns the latest instance (highest restart count) of the container dir.
func Current(cd ContainerDir) (int, bool) {
	if len(cd.Instances) == 0 {
		return 0, false
	}
	return cd.Instances[len(cd.Instances)-1], true
}

// Previous returns the instance before the latest one — what `kubectl logs --previous` shows.
func Previous(cd ContainerDir) (int, bool) {
	if len(cd.Instances) < 2 {
		return 0, false
	}
	return cd.Instances[len(cd.Instances)-2], true
}

// Ref names a container by pod namespace, pod name and container name.
type Ref struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Container string `json:"container"`
}

func (r Ref) String() string { return r.Namespace + "/" + r.Pod + "/" + r.Container }

// ParseContainerLogName splits a /var/log/containers symlink name
// "<pod>_<ns>_<container>-<64 hex id>.log".
func ParseContainerLogName(name string) (id string, ref Ref, ok bool) {
	s, found := strings.CutSuffix(name, ".log")
	if !found {
		return "", Ref{}, false
	}
	i := strings.LastIndexByte(s, '-')
	if i < 0 || !isHexID(s[i+1:]) {
		return "", Ref{}, false
	}
	parts := strings.SplitN(s[:i], "_", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", Ref{}, false
	}
	return s[i+1:], Ref{Namespace: parts[1], Pod: parts[0], Container: parts[2]}, true
}

// InstanceFile names one instance's log file: <podDir>/<container>/<instance>.log under the pod
// logs dir.
type InstanceFile struct {
	PodDir    string // <ns>_<pod>_<uid>
	Container string
	Instance  int
}

func (f InstanceFile) String() string {
	return f.PodDir + "/" + f.Container + "/" + strconv.Itoa(f.Instance) + ".log"
}

// LinkedInstances maps the container IDs of the instances of one container of pod ns/pod (every
// UID it had) to their log files, from the kubelet's /var/log/containers links
// "<pod>_<ns>_<container>-<id>.log" that point at "../pods/<podDir>/<container>/<n>.log".
// Unreadable dirs and other names are ignored.
func LinkedInstances(varLogContainersDir, ns, pod, container string) map[string]InstanceFile {
	ents, err := safefs.ReadDir(varLogContainersDir)
	if err != nil {
		return nil
	}
	out := map[string]InstanceFile{}
	for _, e := range ents {
		id, ref, ok := ParseContainerLogName(e.Name())
		if !ok || ref.Container != container || ref.Namespace != ns || ref.Pod != pod {
			continue
		}
		target, err := safefs.Readlink(filepath.Join(varLogContainersDir, e.Name()))
		if err != nil {
			continue
		}
		n, ok := instanceOf(filepath.Base(target))
		podDir := filepath.Base(filepath.Dir(filepath.Dir(target)))
		if !ok || filepath.Base(filepath.Dir(target)) != container || !strings.HasPrefix(podDir, ns+"_"+pod+"_") {
			continue
		}
		out[id] = InstanceFile{PodDir: podDir, Container: container, Instance: n}
	}
	return out
}

func isHexID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ContainerIDs maps container IDs to their pod and container from the symlink names in
// /var/log/containers (which outlive a stopped runtime). Other names are ignored.
func ContainerIDs(varLogContainersDir string) (map[string]Ref, error) {
	ents, err := safefs.ReadDir(varLogContainersDir)
	if err != nil {
		return nil, fmt.Errorf("reading container logs dir: %w", err)
	}
	out := make(map[string]Ref, len(ents))
	for _, e := range ents {
		if id, ref, ok := ParseContainerLogName(e.Name()); ok {
			out[id] = ref
		}
	}
	return out, nil
}
