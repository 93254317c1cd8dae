// Package diagnose turns a node.Snapshot into a Report: every relevant kubelet record and runtime
// fact is attributed to the static pod it concerns, classified into findings and explained.
// Analyze is a pure function of the snapshot.
package diagnose

import (
	"strings"
	"time"
)

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
	EvidenceOmitted int `json:"evidenceOmitted,omitempty"`
	// What the finding is about (its identity, with Kind): a static pod, a manifest (or config)
	// file, a container of the pod, or for node-level findings a subject such as the source spdoc
	// could not read (kubelet-log, pod-logs, runtime…).
	Pod       string `json:"pod,omitempty"`       // static pod ID <ns>-<name>
	File      string `json:"file,omitempty"`      // manifest path
	Container string `json:"container,omitempty"` // container name
	Subject   string `json:"subject,omitempty"`   // node-level: what else it is about
	ExitCode  *int32 `json:"exitCode,omitempty"`
	// History marks a past problem that was followed by a healthy run.
	History bool `json:"history,omitempty"`
	// Cause names the finding (Kind) that explains this one, when root-cause ordering folded it.
	Cause Kind `json:"cause,omitempty"`
}

// About is what a finding is about: with its Kind, the finding's identity.
type About struct {
	Pod, File, Container, Subject string
}

// NewFinding starts a finding of kind about a, with the kind's default severity (the catalogue).
// Findings made outside Analyze (the agent's, about its own config and writes) are built with it,
// so they carry their identity in the same fields; the caller writes the texts and evidence.
func NewFinding(kind Kind, a About) Finding {
	return Finding{Kind: kind, Severity: defaultSeverity(kind), Pod: a.Pod, File: a.File, Container: a.Container, Subject: a.Subject}
}

// About returns what f is about.
func (f *Finding) About() About {
	return About{Pod: f.Pod, File: f.File, Container: f.Container, Subject: f.Subject}
}

// Identity is a stable key for what the finding is about — kind, pod, file, container, subject —
// never its title, evidence or severity: a crash loop keeps its identity from one restart to the
// next (watch clients see it MODIFIED, not deleted and added again).
func (f *Finding) Identity() string {
	return strings.Join([]string{string(f.Kind), f.Pod, f.File, f.Container, f.Subject}, "\x00")
}
