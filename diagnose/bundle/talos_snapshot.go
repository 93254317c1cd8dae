package bundle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/podurl"
	"github.com/spdoc/spdoc/internal/staticpod"
)

// Caps of what one node of a talosctl bundle contributes to a snapshot.
const (
	talosMaxResource   = 32 << 20 // one resources/*.yaml
	talosMaxRecords    = node.DefaultMaxRecords
	talosLogTail       = node.DefaultLogTail
	talosDefaultURL    = "http://127.0.0.1 (Talos static pod server)"
	talosRuntimeSource = node.TalosStatusEndpoint
)

// TalosResource is one document of a resources/*.yaml file: COSI metadata and the spec.
type TalosResource struct {
	Metadata struct {
		Namespace string `json:"namespace"`
		Type      string `json:"type"`
		ID        string `json:"id"`
		Version   any    `json:"version"`
		Phase     string `json:"phase"`
		Updated   string `json:"updated"`
	} `json:"metadata"`
	Spec json.RawMessage `json:"spec"`
}

// Resources decodes a node's resources/<definition>.yaml (YAML documents of metadata + spec);
// nil when the bundle has no such file.
func (b *TalosBundle) Resources(nodeDir, file string) ([]TalosResource, error) {
	name := nodeDir + "/" + file
	if b.Count(name) == 0 {
		return nil, nil
	}
	data, err := b.ReadFile(name, 0, talosMaxResource)
	if err != nil {
		return nil, err
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	var out []TalosResource
	for i := 0; ; i++ {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		raw, err := yamlv3.Marshal(&doc)
		if err != nil {
			return out, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		j, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return out, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		var r TalosResource
		if err := json.Unmarshal(j, &r); err != nil {
			return out, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		out = append(out, r)
	}
}

// TalosNode is what one node folder of a talosctl bundle gives: a snapshot and what the bundle
// cannot show about it.
type TalosNode struct {
	Dir      string // the folder: the node as given to talosctl (address or name)
	Snapshot *node.Snapshot
	// Limits say what this bundle cannot show for this node (one sentence each).
	Limits []string
}

// TalosSnapshot builds the snapshot of one node folder: the kubelet's service log, the static
// pods Talos serves the kubelet (resources/staticpods…, checked as the kubelet's URL source
// checks them), their status (resources/staticpodstatuses…, control planes only) as the runtime
// view, and the kube-system container logs matched to the static pods by container name.
func (b *TalosBundle) TalosSnapshot(ctx context.Context, nodeDir string) (*TalosNode, error) {
	tn := &TalosNode{Dir: nodeDir}
	s := &node.Snapshot{Paths: node.Paths{Root: b.Path + "!" + nodeDir}}
	tn.Snapshot = s
	addErr := func(src string, err error) {
		s.Errors = append(s.Errors, node.SourceError{Source: src, Error: err.Error()})
	}

	// The kubelet's log.
	logName := nodeDir + "/" + TalosKubeletLog
	s.Paths.KubeletLog = logName
	ks := &node.KubeletLogState{Source: logName}
	s.KubeletLog = ks
	if b.Count(logName) == 0 {
		ks.Error = "the bundle has no " + TalosKubeletLog
	} else if rc, err := b.Open(logName, 0); err != nil {
		ks.Error = err.Error()
	} else {
		var recs []kubeletlog.Record
		st, err := kubeletlog.Scan(ctx, rc, kubeletlog.ScanOptions{Source: logName, Prefilter: kubeletlog.Interesting}, func(r *kubeletlog.Record) error {
			if len(recs) >= talosMaxRecords {
				copy(recs, recs[1:])
				recs = recs[:len(recs)-1]
				ks.Truncated = true
			}
			recs = append(recs, *r)
			return nil
		})
		rc.Close()
		ks.Stats, ks.Records = st, recs
		if err != nil {
			ks.Error = err.Error()
		}
		s.Taken = st.Last
	}

	// The node name the kubelet uses (static pods are <name>-<node>).
	nodeName, err := b.nodeName(nodeDir)
	if err != nil {
		addErr("talos-nodename", err)
	}
	if nodeName != "" {
		s.Node = node.NodeInfo{Name: nodeName, NameSource: "talos:nodenames"}
	}

	// The static pods Talos serves the kubelet, as the kubelet's URL source would see the list.
	url, freq := b.kubeletURL(nodeDir)
	pods, err := b.Resources(nodeDir, TalosStaticPods)
	switch {
	case err != nil:
		addErr("talos-staticpods", err)
	case pods == nil:
		tn.Limits = append(tn.Limits, "no "+TalosStaticPods+": the static pods Talos serves the kubelet are unknown")
	default:
		body, err := podListBody(pods)
		if err != nil {
			addErr("talos-staticpods", err)
			break
		}
		st := &podurl.State{URL: url, From: "talos machine config (machine.pods) and control plane", CheckFrequency: freq,
			Captured: nodeDir + "/" + TalosStaticPods, Fetched: s.Taken, Status: "captured"}
		st.List = staticpod.DecodeList(url, body, nodeName)
		st.NodeName = nodeName
		s.StaticPodURL = st
	}
	if s.Node.Name == "" {
		s.Node = node.NodeInfo{Name: detectFromRecords(s), NameSource: "talos:kubelet-log"}
	}

	// Status: Talos's StaticPodStatus (the kubelet's /pods), only on control planes.
	statuses, err := b.Resources(nodeDir, TalosStaticPodStatus)
	switch {
	case err != nil:
		addErr("talos-staticpodstatuses", err)
	case statuses == nil:
		tn.Limits = append(tn.Limits, "no "+TalosStaticPodStatus+" (Talos builds it only on control-plane nodes, from the kubelet's /pods with its client certificate): container states and restart counts are unknown; the log and container logs still tell")
	default:
		s.Runtime = runtimeFromStatuses(statuses)
	}

	// The kernel's log: OOM kills, faults, disk and network errors of the node's processes.
	if dm := nodeDir + "/" + TalosDmesg; b.Count(dm) == 0 {
		tn.Limits = append(tn.Limits, "no "+TalosDmesg+": what the kernel did to the node's processes (OOM kills, segfaults, disk errors) is unknown")
	} else if rc, err := b.Open(dm, 0); err != nil {
		addErr("kernel-log", err)
	} else {
		s.Kernel = node.ReadKernelLog(ctx, rc, dm)
		rc.Close()
		if s.Kernel.Error != "" {
			addErr("kernel-log", errors.New(s.Kernel.Error))
		}
	}

	// kube-system container logs, by container name.
	tn.Limits = append(tn.Limits, b.logTails(nodeDir, s)...)
	tn.Limits = append(tn.Limits,
		"talosctl collects container logs of kube-system only, by container name: pods of other namespaces show no container log",
		"no CRI runtime state, no pod UIDs and no manifest files: the runtime view is the StaticPodStatus Talos kept, and the static pods are the list Talos serves")
	sort.Strings(tn.Limits)
	return tn, nil
}

// podListBody turns StaticPod resources (spec = the Pod) into the PodList Talos serves.
func podListBody(rs []TalosResource) ([]byte, error) {
	items := make([]json.RawMessage, 0, len(rs))
	for _, r := range rs {
		if len(r.Spec) == 0 || string(r.Spec) == "null" || string(r.Spec) == `"\u003cREDACTED\u003e"` || string(r.Spec) == `"<REDACTED>"` {
			continue
		}
		items = append(items, r.Spec)
	}
	return json.Marshal(map[string]any{"apiVersion": "v1", "kind": "PodList", "items": items})
}

// nodeName is the kubelet's node name from resources/nodenames… ("" when absent).
func (b *TalosBundle) nodeName(nodeDir string) (string, error) {
	rs, err := b.Resources(nodeDir, TalosNodenames)
	if err != nil || len(rs) == 0 {
		return "", err
	}
	var spec struct {
		Nodename string `json:"nodename"`
	}
	if err := json.Unmarshal(rs[0].Spec, &spec); err != nil {
		return "", fmt.Errorf("%s: %w", TalosNodenames, err)
	}
	return spec.Nodename, nil
}

// kubeletURL is the kubelet's staticPodURL and poll period from resources/kubeletspecs…
func (b *TalosBundle) kubeletURL(nodeDir string) (string, time.Duration) {
	rs, _ := b.Resources(nodeDir, TalosKubeletSpecs)
	for _, r := range rs {
		var spec struct {
			Config struct {
				StaticPodURL       string `json:"staticPodURL"`
				HTTPCheckFrequency string `json:"httpCheckFrequency"`
			} `json:"config"`
		}
		if json.Unmarshal(r.Spec, &spec) == nil && spec.Config.StaticPodURL != "" {
			d, _ := time.ParseDuration(spec.Config.HTTPCheckFrequency)
			return podurl.RedactURL(spec.Config.StaticPodURL), d
		}
	}
	return talosDefaultURL, 0
}

// detectFromRecords guesses the node name from the kubelet's records: the suffix of static pod
// names it logged ("Creating a mirror pod", SyncLoop) that the list's pods explain.
func detectFromRecords(s *node.Snapshot) string {
	if s.KubeletLog == nil {
		return ""
	}
	votes := map[string]int{}
	for _, p := range s.StaticPods() {
		for _, r := range s.KubeletLog.Records {
			if rest, ok := strings.CutPrefix(r.PodName, p.Name+"-"); ok && rest != "" && (r.PodNamespace == "" || r.PodNamespace == p.Namespace) {
				votes[rest]++
			}
		}
	}
	best, n := "", 0
	for k, v := range votes {
		if v > n || (v == n && k < best) {
			best, n = k, v
		}
	}
	return best
}

// runtimeFromStatuses turns Talos's StaticPodStatus resources (id <ns>/<kubelet pod name>, spec
// a PodStatus) into the runtime view the correlation reads.
func runtimeFromStatuses(rs []TalosResource) *node.RuntimeState {
	rt := &node.RuntimeState{Endpoint: talosRuntimeSource, Reachable: true,
		Status: &cri.RuntimeStatus{Endpoint: talosRuntimeSource, RuntimeName: "Talos StaticPodStatus", RuntimeVersion: "(talosctl bundle)"}}
	for _, r := range rs {
		ns, name, ok := strings.Cut(r.Metadata.ID, "/")
		if !ok {
			continue
		}
		var st corev1.PodStatus
		if err := json.Unmarshal(r.Spec, &st); err != nil {
			continue
		}
		sbID := "talos:" + r.Metadata.ID
		sb := cri.Sandbox{ID: sbID, Name: name, Namespace: ns, State: "SANDBOX_NOTREADY", IP: st.PodIP}
		if st.Phase == corev1.PodRunning {
			sb.State = "SANDBOX_READY"
		}
		if st.StartTime != nil {
			sb.CreatedAt = st.StartTime.Time
		}
		rt.Sandboxes = append(rt.Sandboxes, sb)
		for _, cs := range append(append([]corev1.ContainerStatus(nil), st.InitContainerStatuses...), st.ContainerStatuses...) {
			c := cri.Container{ID: trimRuntime(cs.ContainerID), SandboxID: sbID, Name: cs.Name, PodName: name, PodNamespace: ns,
				RestartCount: int(cs.RestartCount), Attempt: uint32(cs.RestartCount), Image: cs.Image, ImageRef: cs.ImageID, State: "CONTAINER_UNKNOWN"}
			switch {
			case cs.State.Running != nil:
				c.State, c.StartedAt = "CONTAINER_RUNNING", cs.State.Running.StartedAt.Time
			case cs.State.Terminated != nil:
				t := cs.State.Terminated
				c.State, c.ExitCode, c.Reason, c.Message = "CONTAINER_EXITED", t.ExitCode, t.Reason, t.Message
				c.StartedAt, c.FinishedAt = t.StartedAt.Time, t.FinishedAt.Time
				c.ID = orDefault(c.ID, trimRuntime(t.ContainerID))
			case cs.State.Waiting != nil:
				// Waiting (CrashLoopBackOff, ImagePullBackOff…): the last instance, if any, has exited.
				if t := cs.LastTerminationState.Terminated; t != nil {
					c.State, c.ExitCode, c.Reason, c.Message = "CONTAINER_EXITED", t.ExitCode, t.Reason, t.Message
					c.StartedAt, c.FinishedAt = t.StartedAt.Time, t.FinishedAt.Time
					c.ID = orDefault(c.ID, trimRuntime(t.ContainerID))
				} else {
					c.State, c.Reason, c.Message = "CONTAINER_CREATED", cs.State.Waiting.Reason, cs.State.Waiting.Message
				}
			}
			if c.ID == "" {
				c.ID = sbID + "/" + cs.Name
			}
			rt.Containers = append(rt.Containers, c)
		}
	}
	return rt
}

func trimRuntime(id string) string {
	if _, rest, ok := strings.Cut(id, "://"); ok {
		return rest
	}
	return id
}

// logTails reads kubernetes-logs/kube-system/<container>[-exited].log into the log tails of the
// static pods whose containers have that name. Talos names the files by container name alone,
// so a name shared by several kube-system pods, or several exited instances of one container
// (several entries with one name), cannot be told apart: the limits say so.
func (b *TalosBundle) logTails(nodeDir string, s *node.Snapshot) []string {
	var limits []string
	byContainer := map[string][]*staticpod.StaticPod{}
	for _, p := range s.StaticPods() {
		if p == nil || p.Pod == nil || p.Namespace != "kube-system" {
			continue
		}
		for _, c := range append(append([]corev1.Container(nil), p.Pod.Spec.InitContainers...), p.Pod.Spec.Containers...) {
			byContainer[c.Name] = append(byContainer[c.Name], p)
		}
	}
	dir := nodeDir + "/" + TalosKubernetesLogs + "/kube-system/"
	names := make([]string, 0, len(byContainer))
	for c := range byContainer {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		pods := byContainer[c]
		cur, prev := dir+c+".log", dir+c+talosExitedSuffix
		if b.Count(cur) == 0 && b.Count(prev) == 0 {
			continue
		}
		if len(pods) > 1 || b.Count(cur) > 1 {
			var ids []string
			for _, p := range pods {
				ids = append(ids, p.ID)
			}
			limits = append(limits, fmt.Sprintf("container name %q: %d log entries for %s; talosctl names logs by container name only, so they are not attributed", c, b.Count(cur)+b.Count(prev), strings.Join(ids, ", ")))
			continue
		}
		if n := b.Count(prev); n > 1 {
			limits = append(limits, fmt.Sprintf("%s: %d exited instances share this name; the last entry is shown as the previous instance", strings.TrimPrefix(prev, nodeDir+"/"), n))
		}
		p := pods[0]
		t := node.ContainerLogTail{Pod: p.Namespace + "/" + staticpod.PodName(p.Name, s.Node.Name), Container: c}
		if b.Count(cur) > 0 {
			t.Current, t.CurrentFrom = b.tail(cur, 0), cur
		}
		if n := b.Count(prev); n > 0 {
			t.Previous, t.PreviousFrom = b.tail(prev, n-1), prev
			if t.Current == nil {
				t.Current, t.Previous, t.CurrentFrom, t.PreviousFrom = t.Previous, nil, prev, ""
			}
		}
		s.LogTails = append(s.LogTails, t)
	}
	return limits
}

// tail is the last talosLogTail CRI lines of an entry (P parts joined).
func (b *TalosBundle) tail(name string, i int) []podlog.Line { return b.tailN(name, i, talosLogTail) }
