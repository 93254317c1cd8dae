package cri

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Capture is a runtime's state as written to a file by a node capture (hack/capture's
// runtime.json): the CRI messages themselves in their JSON form — "version" (VersionResponse),
// "status" (RuntimeStatus), "sandboxes" ([]PodSandboxStatus), "containers" ([]ContainerStatus).
type Capture struct {
	Version    *runtimeapi.VersionResponse    `json:"version"`
	Status     *runtimeapi.RuntimeStatus      `json:"status"`
	Sandboxes  []*runtimeapi.PodSandboxStatus `json:"sandboxes"`
	Containers []*runtimeapi.ContainerStatus  `json:"containers"`
	Infos      map[string]map[string]string   `json:"infos,omitempty"` // container ID → verbose info
}

// DecodeCapture reads a Capture and converts it into spdoc's types.
func DecodeCapture(data []byte, endpoint string) (*RuntimeStatus, []Sandbox, []Container, error) {
	var c Capture
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, nil, nil, fmt.Errorf("decoding captured CRI state: %w", err)
	}
	st := statusFrom(endpoint, c.Version, c.Status)
	var sbs []Sandbox
	for _, s := range c.Sandboxes {
		if s != nil {
			sbs = append(sbs, sandboxFromStatus(s))
		}
	}
	var cs []Container
	for _, s := range c.Containers {
		if s == nil {
			continue
		}
		co := Container{}
		containerFromStatus(&co, s, c.Infos[s.GetId()])
		cs = append(cs, co)
	}
	return st, sbs, cs, nil
}

func statusFrom(endpoint string, v *runtimeapi.VersionResponse, st *runtimeapi.RuntimeStatus) *RuntimeStatus {
	out := &RuntimeStatus{
		Endpoint:       endpoint,
		RuntimeName:    v.GetRuntimeName(),
		RuntimeVersion: v.GetRuntimeVersion(),
		APIVersion:     v.GetRuntimeApiVersion(),
	}
	for _, cond := range st.GetConditions() {
		out.Conditions = append(out.Conditions, Condition{
			Type: cond.GetType(), Status: cond.GetStatus(), Reason: cond.GetReason(), Message: cond.GetMessage(),
		})
	}
	return out
}

// sandboxLike is what PodSandbox (list) and PodSandboxStatus have in common.
type sandboxLike interface {
	GetId() string
	GetMetadata() *runtimeapi.PodSandboxMetadata
	GetState() runtimeapi.PodSandboxState
	GetCreatedAt() int64
	GetLabels() map[string]string
	GetAnnotations() map[string]string
}

func newSandbox(s sandboxLike) Sandbox {
	md := s.GetMetadata()
	sb := Sandbox{
		ID:          s.GetId(),
		Name:        md.GetName(),
		Namespace:   md.GetNamespace(),
		UID:         md.GetUid(),
		Attempt:     md.GetAttempt(),
		State:       SandboxState(s.GetState().String()),
		CreatedAt:   nsTime(s.GetCreatedAt()),
		Labels:      s.GetLabels(),
		Annotations: s.GetAnnotations(),
	}
	fillFromLabels(&sb.Name, sb.Labels[LabelPodName])
	fillFromLabels(&sb.Namespace, sb.Labels[LabelPodNamespace])
	fillFromLabels(&sb.UID, sb.Labels[LabelPodUID])
	return sb
}

func sandboxFromStatus(s *runtimeapi.PodSandboxStatus) Sandbox {
	sb := newSandbox(s)
	sandboxDetails(&sb, s)
	return sb
}

func sandboxDetails(sb *Sandbox, s *runtimeapi.PodSandboxStatus) {
	sb.IP = s.GetNetwork().GetIp()
	sb.HostNetwork = s.GetLinux().GetNamespaces().GetOptions().GetNetwork() == runtimeapi.NamespaceMode_NODE
}

// containerFromStatus fills co from a ContainerStatus (and its verbose info), keeping what the
// list already set when the status lacks it.
func containerFromStatus(co *Container, s *runtimeapi.ContainerStatus, info map[string]string) {
	if co.ID == "" {
		co.ID = s.GetId()
	}
	if co.Labels == nil {
		co.Labels = s.GetLabels()
	}
	if co.Annotations == nil {
		co.Annotations = s.GetAnnotations()
	}
	fillFromLabels(&co.Name, s.GetMetadata().GetName())
	fillFromLabels(&co.Name, co.Labels[LabelContainerName])
	fillFromLabels(&co.PodName, co.Labels[LabelPodName])
	fillFromLabels(&co.PodNamespace, co.Labels[LabelPodNamespace])
	fillFromLabels(&co.PodUID, co.Labels[LabelPodUID])
	if co.Attempt == 0 {
		co.Attempt = s.GetMetadata().GetAttempt()
	}
	if n, err := strconv.Atoi(co.Annotations[AnnotationRestartCount]); err == nil {
		co.RestartCount = n
	}
	if co.CreatedAt.IsZero() {
		co.CreatedAt = nsTime(s.GetCreatedAt())
	}
	co.State = ContainerState(s.GetState().String())
	co.StartedAt = nsTime(s.GetStartedAt())
	co.FinishedAt = nsTime(s.GetFinishedAt())
	co.ExitCode = s.GetExitCode()
	co.Reason = s.GetReason()
	co.Message = s.GetMessage()
	co.LogPath = s.GetLogPath()
	if img := s.GetImage().GetImage(); img != "" {
		co.Image = img
	}
	if ref := s.GetImageRef(); ref != "" {
		co.ImageRef = ref
	}
	if v := info["info"]; v != "" {
		co.PID = int(gjson.Get(v, "pid").Int())
	}
}
