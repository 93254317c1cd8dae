// Package e2e runs spdoc against a real node (internal/testnode: containerd + a real kubelet)
// and checks that `spdoc diagnose -o json` explains each broken static pod. The tests need root
// and a kubelet (SPDOC_KUBELET or hack/build-kubelet.sh); run them with hack/test.sh.
package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/testnode"
	"github.com/spdoc/spdoc/internal/testtier"
)

// spdocBin is the spdoc binary built once by TestMain; buildErr says why it is missing.
var (
	spdocBin string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spdoc-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	spdocBin = filepath.Join(dir, "spdoc")
	if testtier.Enabled() { // every test here is real-node: the fast tier builds nothing
		out, err := exec.Command("go", "build", "-o", spdocBin, "github.com/spdoc/spdoc/cmd/spdoc").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/spdoc: %w\n%s", err, out)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireSpdoc fails the test at once when the spdoc binary could not be built.
func requireSpdoc(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatalf("e2e needs the spdoc binary: %v", buildErr)
	}
}

// diagnoseNode runs `spdoc diagnose -o json` in live mode against n and decodes the report.
// Exit code 0 (healthy) and 1 (problems found) both yield a report; anything else is an error.
func diagnoseNode(n *testnode.Node, extra ...string) (*diagnose.Report, error) {
	r, _, err := diagnoseExit(n, extra...)
	return r, err
}

// diagnoseExit is diagnoseNode that also returns the exit code (0 or 1).
func diagnoseExit(n *testnode.Node, extra ...string) (*diagnose.Report, int, error) {
	if buildErr != nil {
		return nil, 0, buildErr
	}
	args := append([]string{"diagnose", "-o", "json",
		"--manifests", n.ManifestDir,
		"--pod-logs-dir", n.PodLogsDir,
		"--kubelet-log", n.KubeletLog,
		"--runtime-endpoint", n.RuntimeEndpoint,
		"--node-name", n.NodeName,
	}, extra...)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(spdocBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	if err != nil {
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			return nil, 0, fmt.Errorf("spdoc %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
		}
		code = 1
	}
	var r diagnose.Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return nil, code, fmt.Errorf("decoding spdoc diagnose JSON: %v\nstdout: %.2000s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	return &r, code, nil
}

// located is a finding with where it sits in the report.
type located struct {
	diagnose.Finding
	pod  *diagnose.PodReport  // nil unless under pods[]
	file *diagnose.FileReport // nil unless under files[]
}

func (l located) String() string {
	where := "node"
	switch {
	case l.pod != nil:
		where = "pod " + l.pod.ID + " (" + l.pod.Manifest + ")"
	case l.file != nil:
		where = "file " + l.file.Path
	}
	return fmt.Sprintf("%s %s/%s %q history=%v", where, l.Kind, l.Severity, l.Title, l.History)
}

// concerns reports whether the finding is about the manifest file base name or pod name; with
// neither given, every finding qualifies.
func (l located) concerns(file, pod string) bool {
	if file == "" && pod == "" {
		return true
	}
	if file != "" {
		if filepath.Base(l.File) == file || (l.pod != nil && filepath.Base(l.pod.Manifest) == file) ||
			(l.file != nil && filepath.Base(l.file.Path) == file) {
			return true
		}
	}
	if pod != "" {
		id := "default-" + pod
		if l.Pod == id || (l.pod != nil && (l.pod.ID == id || l.pod.Name == pod)) {
			return true
		}
		if l.file != nil {
			for _, p := range l.file.Pods {
				if p == id {
					return true
				}
			}
		}
	}
	return false
}

// text is every human-readable string of the finding, evidence lines included.
func (l located) text() string {
	parts := []string{l.Title, l.Detail, l.Hint}
	for _, e := range l.Evidence {
		parts = append(parts, e.Line)
	}
	return strings.Join(parts, "\n")
}

func allFindings(r *diagnose.Report) []located {
	var out []located
	for _, f := range r.Node.Findings {
		out = append(out, located{Finding: f})
	}
	for i := range r.Pods {
		for _, f := range r.Pods[i].Findings {
			out = append(out, located{Finding: f, pod: &r.Pods[i]})
		}
	}
	for i := range r.Files {
		for _, f := range r.Files[i].Findings {
			out = append(out, located{Finding: f, file: &r.Files[i]})
		}
	}
	return out
}

// find returns the findings of kind about file or pod (either may be empty).
func find(r *diagnose.Report, kind diagnose.Kind, file, pod string) []located {
	var out []located
	for _, l := range allFindings(r) {
		if l.Kind == kind && l.concerns(file, pod) {
			out = append(out, l)
		}
	}
	return out
}

func podReport(r *diagnose.Report, name string) *diagnose.PodReport {
	for i := range r.Pods {
		if r.Pods[i].Name == name || r.Pods[i].ID == "default-"+name {
			return &r.Pods[i]
		}
	}
	return nil
}

func summary(r *diagnose.Report) string {
	var b strings.Builder
	for _, p := range r.Pods {
		fmt.Fprintf(&b, "pod %s state=%s manifest=%s\n", p.ID, p.State, p.Manifest)
	}
	for _, l := range allFindings(r) {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	return b.String()
}

// expectation is one scenario's condition on a report; it returns "" when met, else why not.
type expectation func(r *diagnose.Report) string

// waitReport polls spdoc diagnose until expect is met or timeout passes.
func waitReport(t *testing.T, n *testnode.Node, timeout time.Duration, desc string, expect expectation) *diagnose.Report {
	t.Helper()
	var last *diagnose.Report
	n.WaitFor(t, timeout, desc, func() (bool, string) {
		r, err := diagnoseNode(n)
		if err != nil {
			return false, err.Error()
		}
		last = r
		if why := expect(r); why != "" {
			return false, why + "\nreport:\n" + summary(r)
		}
		return true, ""
	})
	return last
}

// hasFinding expects a current or past finding of kind about file/pod whose text satisfies each
// of contains, and, when exit is non-nil, whose exit code equals *exit.
func hasFinding(kind diagnose.Kind, file, pod string, exit *int32, contains ...string) expectation {
	return func(r *diagnose.Report) string {
		fs := find(r, kind, file, pod)
		if len(fs) == 0 {
			return fmt.Sprintf("no %s finding about file %q / pod %q", kind, file, pod)
		}
	next:
		for _, f := range fs {
			if exit != nil && (f.ExitCode == nil || *f.ExitCode != *exit) {
				continue
			}
			for _, c := range contains {
				if !strings.Contains(f.text(), c) {
					continue next
				}
			}
			return ""
		}
		return fmt.Sprintf("%s finding about %q/%q lacks exit code %v or text %q: %v", kind, file, pod, exit, contains, fs)
	}
}

// evidenceHas expects a finding of kind about file/pod with an evidence line containing line.
func evidenceHas(kind diagnose.Kind, file, pod, line string) expectation {
	return func(r *diagnose.Report) string {
		for _, f := range find(r, kind, file, pod) {
			for _, e := range f.Evidence {
				if strings.Contains(e.Line, line) {
					return ""
				}
			}
		}
		return fmt.Sprintf("no %s finding about %q/%q has evidence %q", kind, file, pod, line)
	}
}

// healthy expects the pod Running/Ready with no current error finding.
func healthy(pod string) expectation {
	return func(r *diagnose.Report) string {
		p := podReport(r, pod)
		if p == nil {
			return "pod " + pod + " not in report"
		}
		if p.State != "Running" && p.State != "Ready" {
			return fmt.Sprintf("pod %s state %q, want Running or Ready", pod, p.State)
		}
		for _, f := range p.Findings {
			if f.Severity == diagnose.SeverityError && !f.History {
				return fmt.Sprintf("pod %s has error finding %s: %s", pod, f.Kind, f.Title)
			}
		}
		return ""
	}
}

func all(es ...expectation) expectation {
	return func(r *diagnose.Report) string {
		for _, e := range es {
			if why := e(r); why != "" {
				return why
			}
		}
		return ""
	}
}

func int32p(v int32) *int32 { return &v }
