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
	// FormatText is a line with no klog or JSON record after a syslog/journald header: what the
	// kubelet (or systemd about the kubelet unit) wrote unformatted — flag warnings, panics,
	// "kubelet.service: Main process exited".
	FormatText Format = "text"
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

	// Where the line came from, when its shape says so (see Shape).
	Shape      Shape  `json:"shape,omitempty"`
	Host       string `json:"host,omitempty"`       // syslog/journald host name
	Unit       string `json:"unit,omitempty"`       // syslog identifier or unit (kubelet, systemd, hyperkube…)
	Node       string `json:"node,omitempty"`       // talosctl node address prefix
	PastedLine int64  `json:"pastedLine,omitempty"` // a line number pasted in front (grep -n, cat -n)
	// Damage lists what was wrong with the line (comma-separated Damage* values); the record
	// holds what could be read.
	Damage string `json:"damage,omitempty"`
	// Vocab names the kubelet versions of the message table entry ("1.19-1.20") that mapped an
	// unstructured sentence onto its structured message (see Vocabulary).
	Vocab string `json:"vocab,omitempty"`
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

	// Shapes counts parsed records per line shape (journald short-precise, talosctl…).
	Shapes map[Shape]int64 `json:"shapes,omitempty"`
	// YearSource says where klog's missing year came from (YearFrom* values); empty when no
	// record needed one.
	YearSource string `json:"yearSource,omitempty"`
	// Damaged counts records read from damaged lines (cut, glued, wrapped, head missing).
	Damaged int64 `json:"damaged,omitempty"`
	// Joined counts continuation lines joined to the record before them.
	Joined int64 `json:"joined,omitempty"`
	// FirstLine is the first line read (capped), to show what a file that is no kubelet log holds.
	FirstLine string `json:"firstLine,omitempty"`
	// Sniffed counts records among the first lines the prefilter dropped: a kubelet log with
	// nothing relevant has some, a file that is no kubelet log has none.
	Sniffed int64 `json:"sniffed,omitempty"`
	// Nodes lists the talosctl node prefixes seen, in order of appearance (capped).
	Nodes []string `json:"nodes,omitempty"`
	// Kubelet is what the log says about the kubelet process itself.
	Kubelet KubeletFacts `json:"kubelet,omitzero"`
}
