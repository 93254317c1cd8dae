package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runSpdocSplit runs spdoc with separate stdout and stderr.
func runSpdocSplit(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

type podKinds map[string][]string

func reportKinds(t *testing.T, js string) podKinds {
	t.Helper()
	var r struct {
		Pods []struct {
			ID       string `json:"id"`
			State    string `json:"state"`
			Findings []struct {
				Kind string `json:"kind"`
			} `json:"findings"`
		} `json:"pods"`
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, js)
	}
	out := podKinds{}
	for _, p := range r.Pods {
		for _, f := range p.Findings {
			out[p.ID+" "+p.State] = append(out[p.ID+" "+p.State], f.Kind)
		}
	}
	return out
}

func TestDiagnoseBundleRoundTrip(t *testing.T) {
	root := "../../testdata/nodes/broken"
	out := filepath.Join(t.TempDir(), "node1.tar.gz")

	want, _, err := runSpdocSplit(t, "diagnose", "--root", root, "-o", "json")
	var ec exitCodeError
	if !errors.As(err, &ec) || ec.code != 1 {
		t.Fatalf("diagnose of the broken node: %v", err)
	}
	_, stderr, err := runSpdocSplit(t, "diagnose", "--root", root, "-o", "json", "--bundle", out, "--redact-pattern", `busybox(:[0-9.]+)`)
	if !errors.As(err, &ec) || ec.code != 1 {
		t.Fatalf("diagnose --bundle: %v", err)
	}
	if !strings.Contains(stderr, "wrote support bundle "+out) {
		t.Errorf("no bundle summary on stderr: %q", stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Fatalf("bundle not written: %v", err)
	}
	got, _, err := runSpdocSplit(t, "diagnose", "--bundle-in", out, "-o", "json")
	if !errors.As(err, &ec) || ec.code != 1 {
		t.Fatalf("diagnose --bundle-in: %v", err)
	}
	wk, gk := reportKinds(t, want), reportKinds(t, got)
	if len(wk) == 0 {
		t.Fatal("the original report has no findings")
	}
	for pod, k := range wk {
		if strings.Join(gk[pod], ",") != strings.Join(k, ",") {
			t.Errorf("%s: %v, from the bundle %v", pod, k, gk[pod])
		}
	}
	if len(gk) != len(wk) {
		t.Errorf("pods with findings: %d, from the bundle %d", len(wk), len(gk))
	}
}

func TestDiagnoseBundleFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--redact-pattern", "("}, "--redact-pattern"},
		{[]string{"--redact-pattern", "x*"}, "empty string"},
		{[]string{"--bundle-in", "x.tar.gz", "--root", "."}, "--bundle-in and --root"},
		{[]string{"--bundle-in", filepath.Join(t.TempDir(), "missing.tar.gz")}, "--bundle-in"},
		{[]string{"--root", "../../testdata/nodes/broken", "--bundle", filepath.Join(t.TempDir(), "no", "dir", "b.tar.gz")}, "--bundle"},
	} {
		_, _, err := runSpdocSplit(t, append([]string{"diagnose"}, tt.args...)...)
		var ec exitCodeError
		if err == nil || errors.As(err, &ec) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("diagnose %v: error %v, want one mentioning %q (exit 2)", tt.args, err, tt.want)
		}
	}
}
