// Package kubeletlog parses kubelet log lines in any of the formats a node produces (JSON,
// klog text, journald export), auto-detected per line, and reads log sources with bounded memory.
package kubeletlog

import "time"

// Format of a kubelet log line.
type Format string

const (
	FormatJSON    Format = "json"    // --logging-format=json
	FormatKlog    Format = "klog"    // E1124 21:55:04.100165 1234 file.go:187] "msg" key="value"
	FormatJournal Format = "journal" // journalctl -o json, kubelet line in MESSAGE
)

// Record is one parsed kubelet log record. Well-known keys get fields; every other key is kept in
// Fields as a string (nested objects as their compact JSON / klog text).
type Record struct {
	Source        string            `json:"source,omitempty"` // file path, "stdin" or "journal"
	Line          int64             `json:"line,omitempty"`   // 1-based line number in Source, 0 when unknown
	Offset        int64             `json:"offset,omitempty"` // byte offset of the line in Source
	Format        Format            `json:"format"`
	TS            time.Time         `json:"ts"`
	Level         string            `json:"level"` // I, W, E, F
	V             int               `json:"v,omitempty"`
	Caller        string            `json:"caller,omitempty"` // file.go:187
	PID           int               `json:"pid,omitempty"`
	Msg           string            `json:"msg"`
	Err           string            `json:"err,omitempty"`
	Path          string            `json:"path,omitempty"`
	PodName       string            `json:"podName,omitempty"`      // from "pod":{"name"} or pod="ns/name"
	PodNamespace  string            `json:"podNamespace,omitempty"` // from "pod":{"namespace"} or pod="ns/name"
	PodUID        string            `json:"podUID,omitempty"`
	ContainerID   string            `json:"containerID,omitempty"` // without the runtime prefix (containerd://)
	ContainerName string            `json:"containerName,omitempty"`
	Image         string            `json:"image,omitempty"`
	Fields        map[string]string `json:"fields,omitempty"`
	Raw           string            `json:"raw"` // the original line (the kubelet's line for journald), capped
}

// Stats describe one pass over a log source. With a Prefilter, Parsed and Skipped count only the
// lines the prefilter let through (the rest are never parsed).
type Stats struct {
	Bytes    int64     `json:"bytes"`           // bytes read (uncompressed; after a --since seek, from there)
	Lines    int64     `json:"lines"`           // lines read
	Parsed   int64     `json:"parsed"`          // lines recognised as a record
	Skipped  int64     `json:"skipped"`         // lines in no known format, or longer than MaxLine: counted, never fatal
	Relevant int64     `json:"relevant"`        // records passed to the callback (after Since/Until)
	First    time.Time `json:"first,omitempty"` // timestamp of the first parsed record
	Last     time.Time `json:"last,omitempty"`  // timestamp of the last parsed record
}
