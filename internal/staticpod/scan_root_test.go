package staticpod

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/testnode"
	"github.com/spdoc/spdoc/internal/testtier"
)

// TestRootKubeletScanDirMatchesKubelet lays out a manifest directory with every kind of entry
// and checks that exactly the pods ScanDir says the kubelet loads are the ones a real kubelet
// runs, and that what ScanDir marks unreadable or as a directory the kubelet logs as such.
// Needs root and a real node (internal/testnode).
func TestRootKubeletScanDirMatchesKubelet(t *testing.T) {
	testtier.RealNode(t) // before building or checking anything: the fast tier skips at once
	if err := testnode.Requirements(); err != nil {
		t.Fatal(err)
	}
	n := testnode.Start(t, testnode.Options{})
	dir := n.ManifestDir
	outside := t.TempDir()
	write := func(path, pod string) {
		t.Helper()
		must(t, os.WriteFile(path, []byte(testnode.HealthyPod(pod)), 0o644))
	}
	// Written outside first, then moved in, so the kubelet never sees a half-written file.
	write(filepath.Join(outside, "linked.yaml"), "linked")
	write(filepath.Join(outside, "plain.yaml"), "plain")
	write(filepath.Join(outside, "old.yaml.bak"), "from-backup")
	write(filepath.Join(outside, ".hidden.yaml"), "hidden")
	must(t, os.Mkdir(filepath.Join(outside, "sub"), 0o755))
	write(filepath.Join(outside, "sub", "nested.yaml"), "nested")
	must(t, os.Symlink(filepath.Join(outside, "linked.yaml"), filepath.Join(outside, "link.yaml")))
	must(t, os.Symlink("/nonexistent/spdoc.yaml", filepath.Join(outside, "dangling.yaml")))
	must(t, os.Symlink("loop.yaml", filepath.Join(outside, "loop.yaml")))
	entries, err := os.ReadDir(outside)
	must(t, err)
	for _, e := range entries {
		if e.Name() == "linked.yaml" {
			continue // the symlink's target stays outside
		}
		must(t, os.Rename(filepath.Join(outside, e.Name()), filepath.Join(dir, e.Name())))
	}

	scan := ScanDir(dir)
	var want []string // pods ScanDir says the kubelet runs
	expectLog := map[string]string{}
	for _, f := range scan.Files {
		switch f.Kind {
		case KindManifest:
			if f.Parse == nil && f.Pods[0].Valid() {
				want = append(want, f.Pods[0].Name)
			}
		case KindDir:
			expectLog[f.Name] = "Provided manifest path is a directory, not recursing into manifest path"
		case KindUnreadable: // dangling symlink, symlink loop
			expectLog[f.Name] = "Could not get metadata"
		}
	}
	sort.Strings(want)
	if strings.Join(want, ",") != "from-backup,linked,plain" {
		t.Fatalf("ScanDir predicts pods %v, want from-backup, linked (via symlink), plain", want)
	}

	n.WaitFor(t, 60*time.Second, "the kubelet to run the predicted pods and log the rest", func() (bool, string) {
		pods, err := n.PodsFromReadOnlyPort()
		if err != nil {
			return false, err.Error()
		}
		var got []string
		for _, p := range pods {
			got = append(got, strings.TrimSuffix(p.Name, "-"+strings.ToLower(n.NodeName)))
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return false, "kubelet pods " + strings.Join(got, ",")
		}
		logData, err := os.ReadFile(n.KubeletLog)
		if err != nil {
			return false, err.Error()
		}
		for name, msg := range expectLog {
			found := false
			for _, line := range strings.Split(string(logData), "\n") {
				if strings.Contains(line, msg) && strings.Contains(line, filepath.Join(dir, name)+`"`) {
					found = true
					break
				}
			}
			if !found {
				return false, "no " + msg + " for " + name
			}
		}
		return true, ""
	})
}

// TestRootKubeletFIFOBlocksManifestSource shows what ScanFile warns about: a FIFO created in the
// manifest directory makes the kubelet's file source open it and block, so no manifest change is
// seen until something writes to the FIFO. Needs root and a real node (internal/testnode).
func TestRootKubeletFIFOBlocksManifestSource(t *testing.T) {
	testtier.RealNode(t) // before building or checking anything: the fast tier skips at once
	if err := testnode.Requirements(); err != nil {
		t.Fatal(err)
	}
	n := testnode.Start(t, testnode.Options{})
	fifo := filepath.Join(n.ManifestDir, "pipe")
	must(t, syscall.Mkfifo(fifo, 0o600))
	if f := ScanFile(fifo); f.Kind != KindUnreadable || !strings.Contains(f.Err, "blocks") {
		t.Fatalf("ScanFile(fifo) = %s %q, want unreadable with the blocking warning", f.Kind, f.Err)
	}
	// A non-blocking open for writing succeeds only while a reader holds the FIFO open: the
	// kubelet, stuck in open(2).
	var w *os.File
	n.WaitFor(t, 30*time.Second, "the kubelet to block opening the FIFO", func() (bool, string) {
		f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return false, err.Error()
		}
		w = f
		return true, ""
	})
	must(t, n.WriteManifest("after.yaml", testnode.HealthyPod("after")))
	must(t, w.Close()) // EOF: the kubelet reads an empty "manifest" and carries on
	n.WaitFor(t, 60*time.Second, "the kubelet to see after.yaml once the FIFO is released", func() (bool, string) {
		p, err := n.Pod("default", "after")
		if err != nil {
			return false, err.Error()
		}
		return p != nil, "no pod after yet"
	})
	logData, err := os.ReadFile(n.KubeletLog)
	must(t, err)
	if !strings.Contains(string(logData), fifo+`: couldn't parse as pod(Object 'Kind' is missing in 'null')`) {
		t.Errorf("the kubelet did not log reading the FIFO as an empty manifest")
	}
}
