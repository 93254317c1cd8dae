package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/diagnose/bundle/talostest"
)

// talosBundle is the talosctl support bundle fixture (hack/capture-talos, a real kubelet v1.34.4
// fed by staticPodURL): node folder 10.5.0.2 a control plane, 10.5.0.3 the same as a worker
// (no StaticPodStatus).
const talosBundle = "../../testdata/talos/support.zip"

// diagnoseReports runs diagnose -o json and returns its reports (one per node folder).
func diagnoseReports(t *testing.T, args ...string) []diagnose.Report {
	t.Helper()
	out, err := runCmd(t, append([]string{"diagnose", "-o", "json"}, args...)...)
	if err != nil && exitCode(err) != 1 {
		t.Fatalf("diagnose %v: %v", args, err)
	}
	var rs []diagnose.Report
	if strings.HasPrefix(strings.TrimSpace(out), "[") {
		err = json.Unmarshal([]byte(out), &rs)
	} else {
		var r diagnose.Report
		err = json.Unmarshal([]byte(out), &r)
		rs = append(rs, r)
	}
	if err != nil {
		t.Fatalf("diagnose %v JSON: %v\n%.1000s", args, err, out)
	}
	return rs
}

// TestReadCommandsOnATalosBundle: get, containers and logs read a talosctl support bundle
// (--bundle-in support.zip, --bundle-node) the way diagnose does, and say what it says: the same
// static pods in the same states per node folder, the containers of its pods in their states, and
// the crashed instance's last words it shows.
func TestReadCommandsOnATalosBundle(t *testing.T) {
	dir := talostest.Unzip(t, talosBundle)
	for _, src := range []struct {
		name string
		args func(node string) []string
	}{
		{"--bundle-in support.zip", func(node string) []string {
			if node == "" {
				return []string{"--bundle-in", talosBundle}
			}
			return []string{"--bundle-in", talosBundle, "--bundle-node", node}
		}},
		{"--root of the unzipped bundle", func(node string) []string {
			if node == "" {
				return []string{"--root", dir}
			}
			return []string{"--root", dir, "--bundle-node", node}
		}},
		{"--root of one unzipped node folder", func(node string) []string {
			if node == "" {
				return []string{"--root", dir}
			}
			return []string{"--root", filepath.Join(dir, node)}
		}},
	} {
		t.Run(src.name, func(t *testing.T) { readTalosBundle(t, src.args) })
	}
}

func readTalosBundle(t *testing.T, source func(node string) []string) {
	src := func(node string, args ...string) []string { return append(args, source(node)...) }
	reports := diagnoseReports(t, source("")...)
	if len(reports) != 2 {
		t.Fatalf("diagnose read %d nodes of the bundle, want 2", len(reports))
	}
	var wantStates, wantIDs []string
	for _, r := range reports {
		for _, p := range r.Pods {
			wantStates = append(wantStates, fmt.Sprintf("%s %s %s", r.Node.Name, p.ID, p.State))
			wantIDs = append(wantIDs, r.Node.Name+" "+p.ID)
		}
	}
	sort.Strings(wantStates)
	sort.Strings(wantIDs)

	t.Run("get staticpodstatus: the states diagnose gives", func(t *testing.T) {
		out, err := runCmd(t, src("", "get", "staticpodstatus", "-o", "json")...)
		if err != nil {
			t.Fatalf("get: %v\n%s", err, out)
		}
		var list struct {
			Items []struct {
				Node, ID, State string
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range list.Items {
			got = append(got, fmt.Sprintf("%s %s %s", it.Node, it.ID, it.State))
		}
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(wantStates, "\n") {
			t.Errorf("get staticpodstatus:\n%s\nwant (diagnose):\n%s", strings.Join(got, "\n"), strings.Join(wantStates, "\n"))
		}
	})

	t.Run("get staticpods: the pods diagnose reports", func(t *testing.T) {
		out, err := runCmd(t, src("", "get", "staticpods", "-o", "json")...)
		if err != nil {
			t.Fatalf("get: %v\n%s", err, out)
		}
		var list struct {
			Items []struct{ Node, ID string } `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range list.Items {
			got = append(got, it.Node+" "+it.ID)
		}
		sort.Strings(got)
		if strings.Join(got, "\n") != strings.Join(wantIDs, "\n") {
			t.Errorf("get staticpods:\n%s\nwant (diagnose):\n%s", strings.Join(got, "\n"), strings.Join(wantIDs, "\n"))
		}
	})

	cp := diagnoseReports(t, source("10.5.0.2")...)[0]
	t.Run("containers: diagnose's containers in their states", func(t *testing.T) {
		out, err := runCmd(t, src("10.5.0.2", "containers", "-o", "json")...)
		if err != nil {
			t.Fatalf("containers: %v\n%s", err, out)
		}
		var list struct {
			Items []podContainers `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, g := range list.Items {
			for _, c := range g.Containers {
				got[g.Sandbox.Namespace+"/"+g.Sandbox.Name+":"+c.Name] = string(c.State)
			}
		}
		n := 0
		for _, p := range cp.Pods {
			for _, c := range p.Containers {
				n++
				key := p.Namespace + "/" + p.KubeletName + ":" + c.Name
				if want := "CONTAINER_" + strings.ToUpper(c.State); got[key] != want {
					t.Errorf("container %s: containers says %q, diagnose %q", key, got[key], want)
				}
			}
		}
		if n == 0 || len(got) != n {
			t.Errorf("containers lists %d containers, diagnose %d: %v", len(got), n, got)
		}
	})

	t.Run("containers on every node folder: a worker's missing status is the bundle's limit, not a failure", func(t *testing.T) {
		out, err := runCmd(t, src("", "containers")...)
		if err != nil || !strings.Contains(out, "CONTAINER_EXITED (Error, exit 3)") {
			t.Errorf("containers: %v\n%s", err, out)
		}
	})

	t.Run("logs: the crashed instance's last words diagnose shows", func(t *testing.T) {
		var words []string
		for _, p := range cp.Pods {
			for _, f := range p.Findings {
				if f.Kind != diagnose.KindCrashLoop || f.History {
					continue
				}
				for _, e := range f.Evidence {
					if strings.HasPrefix(e.Source, "pod-log:") {
						_, line, _ := strings.Cut(e.Line, ": ")
						words = append(words, line)
					}
				}
				out, err := runCmd(t, src("10.5.0.2", "logs", p.Namespace+"/"+p.Name)...)
				if err != nil {
					t.Fatalf("logs %s: %v\n%s", p.ID, err, out)
				}
				for _, w := range words {
					if !strings.Contains(out, w) {
						t.Errorf("logs %s lacks %q, which diagnose shows:\n%s", p.ID, w, out)
					}
				}
			}
		}
		if len(words) == 0 {
			t.Fatal("diagnose shows no crash tail on the control-plane folder")
		}
	})

	t.Run("logs --kubelet: the records diagnose read", func(t *testing.T) {
		out, err := runCmd(t, src("10.5.0.2", "logs", "--kubelet", "--pod", "kube-system/crashloop")...)
		if err != nil || !strings.Contains(out, "CrashLoopBackOff") {
			t.Errorf("logs --kubelet: %v\n%.2000s", err, out)
		}
	})

	t.Run("logs ns/pod:container:id as containers prints it", func(t *testing.T) {
		out, err := runCmd(t, src("10.5.0.2", "containers")...)
		if err != nil {
			t.Fatalf("containers: %v\n%s", err, out)
		}
		var ref string
		for _, l := range strings.Split(out, "\n") {
			if i := strings.Index(l, "kube-system/crashloop-talos-cp-1:app:"); i >= 0 {
				ref = strings.Fields(l[i:])[0]
			}
		}
		if ref == "" {
			t.Fatalf("containers lists no crashloop app instance:\n%s", out)
		}
		out, err = runCmd(t, src("10.5.0.2", "logs", ref)...)
		if err != nil || !strings.Contains(out, "fatal: cannot open /etc/app/config.yaml") {
			t.Errorf("logs %s: %v\n%s", ref, err, out)
		}
		_, err = runCmd(t, src("10.5.0.2", "logs", "kube-system/crashloop:app:0123abc")...)
		if err == nil || !strings.Contains(err.Error(), "no instance with ID 0123abc") || !strings.Contains(err.Error(), ref[strings.LastIndexByte(ref, ':')+1:]) {
			t.Errorf("unknown ID: err = %v, want it named with the IDs the bundle has", err)
		}
	})

	t.Run("an unknown node folder names the folders", func(t *testing.T) {
		_, err := runCmd(t, src("", "get", "staticpods", "--bundle-node", "10.5.0.9")...)
		if err == nil || !strings.Contains(err.Error(), "10.5.0.2, 10.5.0.3") {
			t.Errorf("err = %v, want the bundle's node folders", err)
		}
	})
}
