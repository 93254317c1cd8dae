// Package cri is a thin client over the CRI runtime service (k8s.io/cri-api) on the runtime's
// unix socket, reduced to what spdoc needs.
package cri

import (
	"strings"
	"time"
)

// SandboxState is the CRI PodSandboxState by its protobuf name (the wire value of runtime.json).
type SandboxState string

const (
	SandboxReady    SandboxState = "SANDBOX_READY"
	SandboxNotReady SandboxState = "SANDBOX_NOTREADY"
)

// Ready reports whether the sandbox is ready.
func (s SandboxState) Ready() bool { return s == SandboxReady }

// ContainerState is the CRI ContainerState by its protobuf name (the wire value of runtime.json).
type ContainerState string

const (
	ContainerCreated ContainerState = "CONTAINER_CREATED"
	ContainerRunning ContainerState = "CONTAINER_RUNNING"
	ContainerExited  ContainerState = "CONTAINER_EXITED"
	ContainerUnknown ContainerState = "CONTAINER_UNKNOWN"
)

// Short is the state as reports and statuses write it: running, exited, created, unknown.
func (s ContainerState) Short() string {
	switch s {
	case ContainerRunning:
		return "running"
	case ContainerExited:
		return "exited"
	case ContainerCreated:
		return "created"
	case "", ContainerUnknown:
		return "unknown"
	}
	return strings.ToLower(strings.TrimPrefix(string(s), "CONTAINER_"))
}

// Sandbox is a pod sandbox as the runtime reports it.
type Sandbox struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`      // io.kubernetes.pod.name
	Namespace   string            `json:"namespace"` // io.kubernetes.pod.namespace
	UID         string            `json:"uid"`       // io.kubernetes.pod.uid
	Attempt     uint32            `json:"attempt"`
	State       SandboxState      `json:"state"`
	CreatedAt   time.Time         `json:"createdAt"`
	IP          string            `json:"ip,omitempty"`
	HostNetwork bool              `json:"hostNetwork,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Container is a container with its ContainerStatus details.
type Container struct {
	ID           string            `json:"id"`
	SandboxID    string            `json:"sandboxID"`
	Name         string            `json:"name"`         // io.kubernetes.container.name
	PodName      string            `json:"podName"`      // io.kubernetes.pod.name
	PodNamespace string            `json:"podNamespace"` // io.kubernetes.pod.namespace
	PodUID       string            `json:"podUID"`       // io.kubernetes.pod.uid
	Attempt      uint32            `json:"attempt"`
	RestartCount int               `json:"restartCount"` // annotation io.kubernetes.container.restartCount
	Image        string            `json:"image"`
	ImageRef     string            `json:"imageRef,omitempty"`
	State        ContainerState    `json:"state"`
	CreatedAt    time.Time         `json:"createdAt"`
	StartedAt    time.Time         `json:"startedAt,omitempty"`
	FinishedAt   time.Time         `json:"finishedAt,omitempty"`
	ExitCode     int32             `json:"exitCode"`
	Reason       string            `json:"reason,omitempty"` // OOMKilled, Error, Completed…
	Message      string            `json:"message,omitempty"`
	LogPath      string            `json:"logPath,omitempty"`
	PID          int               `json:"pid,omitempty"` // from verbose info when the runtime gives it
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// Condition is one runtime condition (RuntimeReady, NetworkReady).
type Condition struct {
	Type    string `json:"type"`
	Status  bool   `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// RuntimeStatus is the answer of Version + Status.
type RuntimeStatus struct {
	Endpoint       string      `json:"endpoint"`
	RuntimeName    string      `json:"runtimeName"`
	RuntimeVersion string      `json:"runtimeVersion"`
	APIVersion     string      `json:"apiVersion"`
	Conditions     []Condition `json:"conditions"`
}
