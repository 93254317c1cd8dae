// Package staticpod decodes and validates static pod manifests the way the kubelet does, and
// knows how the kubelet names the pods it creates from them.
package staticpod

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Severity of a validation issue.
type Severity string

const (
	SeverityError   Severity = "error"   // the kubelet rejects the manifest
	SeverityWarning Severity = "warning" // accepted, but probably not what the author meant
)

// Issue is one validation result, shaped like the kubelet's field errors
// ("spec.containers[0].image: Required value").
type Issue struct {
	Field string `json:"field,omitempty"`
	// Type is a field.ErrorType string ("Required value", "Invalid value", "Duplicate value",
	// "Unsupported value", "Not found", "Forbidden") for what the kubelet rejects, or one of
	// "Unknown field", "Duplicate field", "Not recommended" (warnings) and, from CheckPaths,
	// "Parse error", "Unreadable", "Directory", "Backup file", "Duplicate pod".
	Type     string   `json:"type"`
	Value    string   `json:"value,omitempty"`
	Detail   string   `json:"detail,omitempty"`
	Severity Severity `json:"severity"`
	Line     int      `json:"line,omitempty"` // 1-based line in the source file, 0 when unknown

	kubelet string // the kubelet's rendering of this field error (field.Error.Error()), for KubeletMessage
}

func (i Issue) String() string {
	var b strings.Builder
	if i.Field != "" {
		b.WriteString(i.Field)
		b.WriteString(": ")
	}
	b.WriteString(i.Type)
	if i.Value != "" {
		fmt.Fprintf(&b, ": %q", i.Value)
	}
	if i.Detail != "" {
		b.WriteString(": ")
		b.WriteString(i.Detail)
	}
	return b.String()
}

// StaticPod is one pod defined by a manifest file (or by an agent config entry).
type StaticPod struct {
	ID        string      `json:"id"` // <namespace>-<name>, Talos style
	Namespace string      `json:"namespace"`
	Name      string      `json:"name"`
	Source    string      `json:"source"`          // file the pod was read from
	Index     int         `json:"index,omitempty"` // position inside a PodList / config list
	Line      int         `json:"line,omitempty"`  // 1-based line where the pod starts in an agent config, 0 for manifests
	Pod       *corev1.Pod `json:"pod,omitempty"`
	Issues    []Issue     `json:"issues,omitempty"`
	// UID is the pod UID if the manifest sets metadata.uid. Otherwise the kubelet derives it from a
	// hash of its internal Pod type, which cannot be recomputed without k8s.io/kubernetes; the
	// correlation learns it from the runtime, pod log dirs and kubelet records instead.
	UID string `json:"uid,omitempty"`
}

// Valid reports whether the kubelet would accept the pod (no error-severity issues).
func (p *StaticPod) Valid() bool {
	for _, i := range p.Issues {
		if i.Severity == SeverityError {
			return false
		}
	}
	return true
}

// KubeletName is the name the kubelet gives the pod on node: metadata.name + "-" + lowercase(node).
func (p *StaticPod) KubeletName(node string) string { return PodName(p.Name, node) }

// PodName is metadata.name + "-" + lowercase(nodeName), as the kubelet names static pods.
func PodName(name, nodeName string) string { return name + "-" + strings.ToLower(nodeName) }

// ID is the Talos-style identifier <namespace>-<name>; namespace defaults to "default".
func ID(namespace, name string) string {
	if namespace == "" {
		namespace = corev1.NamespaceDefault
	}
	return namespace + "-" + name
}

// FileKind says what the kubelet does with a directory entry.
type FileKind string

const (
	KindManifest   FileKind = "manifest"   // a regular file the kubelet reads
	KindDir        FileKind = "dir"        // a directory: the kubelet does not recurse
	KindIgnored    FileKind = "ignored"    // a dotfile: the kubelet ignores it
	KindUnreadable FileKind = "unreadable" // stat/read failed (permission, symlink loop…)
)

// ParseError is a manifest that does not decode at all.
type ParseError struct {
	Line int    `json:"line,omitempty"` // 1-based, 0 when unknown
	Msg  string `json:"msg"`
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// File is one entry of the manifest directory.
type File struct {
	Path    string    `json:"path"`
	Name    string    `json:"name"`
	Kind    FileKind  `json:"kind"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modTime"`
	SHA256  string    `json:"sha256,omitempty"`
	Backup  bool      `json:"backup,omitempty"` // a backup/editor leftover (*.bak, *~, *.swp…) that the kubelet loads anyway
	Err     string    `json:"err,omitempty"`    // read error for KindUnreadable
	// Link is where the entry points, as written, when it is a symlink.
	Link  string       `json:"link,omitempty"`
	Parse *ParseError  `json:"parseError,omitempty"`
	Pods  []*StaticPod `json:"pods,omitempty"`
	// Warnings are file-level issues that are not tied to one pod (e.g. more than one YAML
	// document). Unknown fields of the pod are in the pod's Issues.
	Warnings []Issue `json:"warnings,omitempty"`
}

// DirScan is the manifest directory as the kubelet sees it.
type DirScan struct {
	Dir    string  `json:"dir"`
	Exists bool    `json:"exists"`
	Err    string  `json:"err,omitempty"` // missing, not a dir, unreadable
	Files  []*File `json:"files"`
}

// Pods returns every pod of every file, in file order.
func (s *DirScan) Pods() []*StaticPod {
	if s == nil {
		return nil
	}
	var out []*StaticPod
	for _, f := range s.Files {
		out = append(out, f.Pods...)
	}
	return out
}
