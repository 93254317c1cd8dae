// Package diagnose turns a node.Snapshot into a Report: every relevant kubelet record and runtime
// fact is attributed to the static pod it concerns, classified into findings and explained.
// Analyze is a pure function of the snapshot.
package diagnose

import "time"

// Kind is the stable, machine-readable finding vocabulary (part of the JSON output contract);
// every Kind has an entry in the catalogue (catalog.go).
type Kind string

// Severity orders findings: error (the pod is not running as declared), warning (it will bite),
// info (history or context).
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Evidence is one source line backing a finding; repeats are collapsed (first TS, last Last, Count).
type Evidence struct {
	Source string    `json:"source"` // kubelet-log:<file>:<line>, manifest:<path>:<line>, cri, pod-log:<path>
	TS     time.Time `json:"ts,omitzero"`
	Last   time.Time `json:"last,omitzero"`
	Line   string    `json:"line"`
	Count  int       `json:"count"`
}

// Finding is a classified, attributed problem (or piece of history) with its evidence and a next step.
type Finding struct {
	Kind     Kind       `json:"kind"`
	Severity Severity   `json:"severity"`
	Title    string     `json:"title"`
	Detail   string     `json:"detail"`
	Hint     string     `json:"hint"`
	Evidence []Evidence `json:"evidence"`
	// EvidenceOmitted counts distinct evidence lines dropped by the cap (first and last are kept).
	EvidenceOmitted int    `json:"evidenceOmitted,omitempty"`
	Pod             string `json:"pod,omitempty"`       // static pod ID <ns>-<name>
	File            string `json:"file,omitempty"`      // manifest path
	Container       string `json:"container,omitempty"` // container name
	ExitCode        *int32 `json:"exitCode,omitempty"`
	// History marks a past problem that was followed by a healthy run.
	History bool `json:"history,omitempty"`
	// Cause names the finding (Kind) that explains this one, when root-cause ordering folded it.
	Cause Kind `json:"cause,omitempty"`
}
