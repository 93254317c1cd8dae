package main

import (
	"errors"
	"strings"
	"testing"
)

// TestDiagnoseConventions: a summary table first, diagnose POD scopes the report, an unknown
// pod is NotFound (exit 1), --width 80 wraps everything (evidence and next steps too), advice
// shared by many pods is printed once, and --since that leaves no record says so.
func TestDiagnoseConventions(t *testing.T) {
	out, errOut, err := runSpdocSplit(t, "diagnose", "--root", capturedRoot, "--width", "80")
	var ec exitCodeError
	if !errors.As(err, &ec) || ec.code != 1 {
		t.Fatalf("exit %v, want 1 (problems)", err)
	}
	for _, l := range strings.Split(out, "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns at --width 80: %q", n, l)
		}
	}
	table := strings.Index(out, "  POD                       STATE      RESTARTS  TOP FINDING")
	first := strings.Index(out, "POD default/crashloop  CrashLoop")
	if table < 0 || first < 0 || table > first {
		t.Errorf("no pod summary table before the details:\n%s", out)
	}
	if n := strings.Count(out, "no requests or limits: BestEffort"); n != 1 {
		t.Errorf("the BestEffort advice printed %d times, want once under ON SEVERAL PODS", n)
	}
	if !strings.Contains(out, "on 11 pods: default/crashloop, default/dup") {
		t.Errorf("the shared advice does not name its pods:\n%s", out)
	}
	if errOut != "" {
		t.Errorf("stderr: %s", errOut)
	}

	out, _, err = runSpdocSplit(t, "diagnose", "default/crashloop-node1:app:da6ee16e324e", "missing-image", "--root", capturedRoot)
	if !errors.As(err, &ec) || ec.code != 1 {
		t.Fatalf("exit %v, want 1", err)
	}
	if !strings.Contains(out, "2 static pods") || !strings.Contains(out, "POD default/crashloop ") || !strings.Contains(out, "POD default/missing-image ") || strings.Contains(out, "POD default/healthy") {
		t.Errorf("diagnose PODS does not scope the report:\n%s", out)
	}
	if !strings.Contains(out, "NetworkNotReady") {
		t.Errorf("node findings left out of a scoped report:\n%s", out)
	}

	_, _, err = runSpdocSplit(t, "diagnose", "crashlop", "--root", capturedRoot)
	if err == nil || !strings.Contains(err.Error(), "did you mean default/crashloop?") || exitCode(err) != 1 {
		t.Errorf("unknown pod: %v (exit %d), want NotFound with a suggestion, exit 1", err, exitCode(err))
	}

	_, errOut, _ = runSpdocSplit(t, "diagnose", "--kubelet-log", capturedRoot+"/var/log/kubelet.log", "--manifests", capturedRoot+"/etc/kubernetes/manifests", "--no-runtime", "--since", "10m")
	if !strings.Contains(errOut, "no kubelet records in the last 10m; newest 2026-11-24 22:26:51 UTC") {
		t.Errorf("--since that excludes every record: stderr %q", errOut)
	}
}
