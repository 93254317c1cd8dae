// Package podlog reads the CRI container log files the kubelet writes under podLogsDir.
package podlog

import "time"

// Line is one logical container log line (P parts already joined).
type Line struct {
	TS     time.Time `json:"ts"`
	Stream string    `json:"stream"` // stdout | stderr
	Msg    string    `json:"msg"`
}

// ContainerDir is <podLogsDir>/<ns>_<pod>_<uid>/<container>/ with its instance files.
type ContainerDir struct {
	Name      string `json:"name"`
	Path      string `json:"path"`
	Instances []int  `json:"instances"` // restart counts that have a <n>.log, ascending
}

// PodDir is <podLogsDir>/<ns>_<pod>_<uid>/.
type PodDir struct {
	Namespace  string         `json:"namespace"`
	Name       string         `json:"name"` // the kubelet's pod name (<manifest name>-<node>)
	UID        string         `json:"uid"`
	Path       string         `json:"path"`
	Containers []ContainerDir `json:"containers"`
}
