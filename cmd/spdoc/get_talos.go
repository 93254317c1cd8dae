package main

import (
	"bytes"
	"encoding/json"
	"io"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/podview"
)

// talosResource is one resource as `talosctl get … -o yaml|json` prints it: the node, COSI
// metadata and the spec. For StaticPodStatus the spec is the pod's PodStatus.
type talosResource struct {
	Node     string        `json:"node" yaml:"node"`
	Metadata talosMetadata `json:"metadata" yaml:"metadata"`
	Spec     any           `json:"spec" yaml:"spec"`
}

type talosMetadata struct {
	Namespace string `json:"namespace" yaml:"namespace"`
	Type      string `json:"type" yaml:"type"`
	ID        string `json:"id" yaml:"id"`
	Version   int    `json:"version" yaml:"version"`
	Owner     string `json:"owner" yaml:"owner"`
	Phase     string `json:"phase" yaml:"phase"`
}

// talosStatuses turns pod reports into Talos's StaticPodStatus resources (id
// <namespace>/<kubelet pod name>, spec a v1 PodStatus), so scripts written for `talosctl get
// staticpodstatus -o yaml` work on every node — workers too, where Talos has none, since spdoc's
// status comes from the runtime. Pods the kubelet does not run (invalid) have no status.
func talosStatuses(items []staticPodStatusItem) []talosResource {
	var out []talosResource
	for _, it := range items {
		p := it.PodReport
		if p.State == podview.Invalid || p.KubeletName == "" {
			continue
		}
		out = append(out, talosResource{
			Node: it.Node,
			Metadata: talosMetadata{Namespace: "k8s", Type: "StaticPodStatuses.kubernetes.talos.dev",
				ID: p.Namespace + "/" + p.KubeletName, Version: 1, Owner: "spdoc", Phase: "running"},
			Spec: podStatusJSON(podStatusOf(&p)),
		})
	}
	return out
}

// podStatusOf is the PodStatus the kubelet would report, from what spdoc knows of the pod.
func podStatusOf(p *diagnose.PodReport) corev1.PodStatus {
	st := corev1.PodStatus{Phase: corev1.PodPending}
	switch p.State {
	case podview.Running, podview.CrashLoop:
		st.Phase = corev1.PodRunning // a crash-looping pod is Running with a waiting container
	case podview.Unknown:
		st.Phase = corev1.PodUnknown
	}
	ready := len(p.Containers) > 0
	var start time.Time
	for _, c := range p.Containers {
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, RestartCount: int32(c.RestartCount), Ready: c.Ready}
		if c.ID != "" {
			cs.ContainerID = "containerd://" + c.ID
		}
		switch c.State {
		case "running":
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.StartedAt)}
			started := true
			cs.Started = &started
		case "exited":
			term := &corev1.ContainerStateTerminated{Reason: c.Reason, StartedAt: metav1.NewTime(c.StartedAt), FinishedAt: metav1.NewTime(c.FinishedAt), ContainerID: cs.ContainerID}
			if c.ExitCode != nil {
				term.ExitCode = *c.ExitCode
			}
			if p.State == podview.CrashLoop || c.Waiting != "" {
				// The kubelet shows the dead instance as lastState and the container waiting.
				cs.LastTerminationState.Terminated = term
				cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: orDefault(c.Waiting, "CrashLoopBackOff")}
			} else {
				cs.State.Terminated = term
			}
		default:
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: orDefault(c.Waiting, "ContainerCreating")}
		}
		if !c.Ready {
			ready = false
		}
		if !c.StartedAt.IsZero() && (start.IsZero() || c.StartedAt.Before(start)) {
			start = c.StartedAt
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	if p.Ready != nil {
		ready = *p.Ready
	}
	if !start.IsZero() {
		t := metav1.NewTime(start)
		st.StartTime = &t
	}
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		return corev1.PodCondition{Type: t, Status: s}
	}
	st.Conditions = []corev1.PodCondition{
		cond(corev1.PodInitialized, st.Phase != corev1.PodPending || len(p.Containers) > 0),
		cond(corev1.PodReady, ready),
		cond(corev1.ContainersReady, ready),
		cond(corev1.PodScheduled, true),
	}
	return st
}

// podStatusJSON is the PodStatus as its JSON field names (what Talos marshals), zero times dropped.
func podStatusJSON(st corev1.PodStatus) map[string]any {
	b, _ := json.Marshal(st)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// printTalos writes resources as talosctl does: YAML documents (4-space indent) separated by
// "---", or one JSON object per resource.
func printTalos(w io.Writer, format string, rs []talosResource) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "    ")
		for _, r := range rs {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	for i, r := range rs {
		// Through JSON first, so the spec keeps the Kubernetes field names and omits empty ones.
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		var doc yamlv3.Node
		if err := yamlv3.Unmarshal(b, &doc); err != nil {
			return err
		}
		styleBlock(&doc)
		var buf bytes.Buffer
		enc := yamlv3.NewEncoder(&buf)
		enc.SetIndent(4)
		if err := enc.Encode(&doc); err != nil {
			return err
		}
		enc.Close()
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// styleBlock turns JSON's flow style into YAML's block style.
func styleBlock(n *yamlv3.Node) {
	n.Style &^= yamlv3.FlowStyle
	if n.Kind == yamlv3.ScalarNode && n.Style&(yamlv3.DoubleQuotedStyle) != 0 && n.Tag == "!!str" {
		n.Style = 0
	}
	for _, c := range n.Content {
		styleBlock(c)
	}
}
