package e2e

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// These tests drive the real spdoc binary in tmux over a node captured from a real kubelet
// (testdata/nodes/broken, read with --root), at 80x24 — the smallest terminal the TUI must
// serve — and at a large size. They need tmux, not root.

var update = flag.Bool("update", false, "rewrite the golden screens under testdata/")

var (
	spdocOnce sync1
	spdocPath string
)

type sync1 struct{ done bool }

// sharedSpdoc builds spdoc once for the package.
func sharedSpdoc(t *testing.T) string {
	t.Helper()
	if !spdocOnce.done {
		spdocPath = buildSpdoc(t)
		// buildSpdoc puts it in the first test's TempDir: keep a copy for the package.
		dst := filepath.Join(os.TempDir(), fmt.Sprintf("spdoc-e2e-%d", os.Getpid()))
		data, err := os.ReadFile(spdocPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
		spdocPath, spdocOnce.done = dst, true
	}
	return spdocPath
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if spdocPath != "" {
		os.Remove(spdocPath)
	}
	os.Exit(code)
}

// copyNode copies the captured node into dir/node, so the TUI reads it by a relative path
// (stable screens) and a test may write into it.
func copyNode(t *testing.T, dir string) string {
	t.Helper()
	src := "../../testdata/nodes/broken"
	dst := filepath.Join(dir, "node")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// startCaptured runs spdoc tui on a copy of the captured node in dir, size w×h.
func startCaptured(t *testing.T, name string, w, h int, dir string, env ...string) *tmuxSession {
	t.Helper()
	copyNode(t, dir)
	return startCapturedIn(t, name, w, h, dir, env...)
}

var tmuxSeq atomic.Int64

// startCapturedIn runs spdoc tui --root node in dir (the working directory), size w×h.
func startCapturedIn(t *testing.T, name string, w, h int, dir string, env ...string) *tmuxSession {
	t.Helper()
	cmd := fmt.Sprintf("cd %s && env NO_COLOR=1 TERM=xterm %s %s tui --root node --refresh 1h", dir, strings.Join(env, " "), sharedSpdoc(t))
	// A tmux server (socket) of its own per call: a subtest reusing the name of the one before
	// would start while that server is still exiting ("server exited unexpectedly").
	s := startTmux(t, fmt.Sprintf("%s-%d-%d", name, os.Getpid(), tmuxSeq.Add(1)), w, h, cmd)
	s.waitScreen(20*time.Second, "the pod list", regexp.MustCompile(`static pods \(13\)`))
	return s
}

// row returns the screen row holding the list cursor ("> ").
func cursorRow(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "│> ") {
			return l
		}
	}
	return ""
}

// TestTUITypeAhead: three j sent in one tmux send-keys (one read for the program, one
// KeyRunes "jjj") move the cursor three rows; "jk" in one read moves down then up.
func TestTUITypeAhead(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			s := startCaptured(t, "typeahead", size[0], size[1], t.TempDir())
			s.keys("jjj")
			s.waitScreen(15*time.Second, "cursor on the 4th pod", regexp.MustCompile(`(?m)^│> Running\s+default-healthy`))
			s.keys("jjk")
			s.waitScreen(15*time.Second, "cursor on the 5th pod", regexp.MustCompile(`(?m)^│> Invalid\s+default-invalid`))
		})
	}
}

// TestTUISaveNeverInManifestDir: started in the manifest directory, s offers the state dir,
// saves there, and says where; the manifest dir gets nothing. A path typed into the manifest
// dir is refused.
func TestTUISaveNeverInManifestDir(t *testing.T) {
	dir := t.TempDir()
	node := copyNode(t, dir)
	manifests := filepath.Join(node, "etc/kubernetes/manifests")
	state := filepath.Join(dir, "state")
	cmd := fmt.Sprintf("cd %s && env NO_COLOR=1 XDG_STATE_HOME=%s %s tui --root %s --refresh 1h", manifests, state, sharedSpdoc(t), node)
	s := startTmux(t, fmt.Sprintf("save-%d", os.Getpid()), 80, 24, cmd)
	s.waitScreen(20*time.Second, "the pod list", regexp.MustCompile(`static pods \(13\)`))
	before, _ := os.ReadDir(manifests)

	s.keys("s")
	s.waitScreen(15*time.Second, "the save prompt in the state dir", regexp.MustCompile(`save log to: ….*spdoc-log-default-crashloop-app\+kubelet-\d{8}-\d{6}\.log`))
	s.keys("Enter")
	s.waitScreen(15*time.Second, "where it was saved", regexp.MustCompile(`saved the log to /tmp/.*….*crashloop-app\+kubelet-\d{8}-\d{6}\.log`))
	saved, _ := filepath.Glob(filepath.Join(state, "spdoc", "spdoc-log-*"))
	if len(saved) != 1 {
		t.Fatalf("saved files in the state dir: %v", saved)
	}
	if data, _ := os.ReadFile(saved[0]); !strings.Contains(string(data), "fatal: cannot open /etc/app/config.yaml") {
		t.Errorf("the saved log lacks the container's line:\n%s", data)
	}

	s.keys("s")
	s.waitScreen(15*time.Second, "the save prompt", regexp.MustCompile(`save log to:`))
	s.keys("C-u")
	s.keys("-l", filepath.Join(manifests, "x.log"))
	s.keys("Enter")
	s.waitScreen(15*time.Second, "the refusal", regexp.MustCompile(`not saved: not saving into`))
	s.keys("Escape")
	after, _ := os.ReadDir(manifests)
	if len(after) != len(before) {
		t.Errorf("the manifest dir changed: %d entries, was %d", len(after), len(before))
	}
}

// TestTUIFilter: the filter applies as it is typed, ignores case for a lower-case pattern,
// says how many lines match in which pane, and esc clears it.
func TestTUIFilter(t *testing.T) {
	s := startCaptured(t, "filter", 80, 24, t.TempDir())
	s.keys("/")
	s.keys("-l", "FATAL")
	s.waitScreen(15*time.Second, "counts while typing", regexp.MustCompile(`/FATAL.*container log 0 of 2`))
	s.keys("BSpace", "BSpace", "BSpace", "BSpace", "BSpace")
	s.keys("-l", "fatal")
	s.waitScreen(15*time.Second, "smart case: fatal matches Fatal/fatal", regexp.MustCompile(`container log 1 of 2`))
	screen := s.capture()
	if strings.Contains(screen, "starting app") {
		t.Errorf("a line that does not match is still shown:\n%s", screen)
	}
	s.keys("-l", "zzz")
	s.waitScreen(15*time.Second, "nothing matches", regexp.MustCompile(`0 of 17 lines match /fatalzzz/ \(container log 0 of 2, kubelet log 0`))
	s.keys("Escape")
	s.waitScreen(15*time.Second, "esc clears", regexp.MustCompile(`filter cleared`))
	s.waitScreen(15*time.Second, "all lines again", regexp.MustCompile(`starting app`))
}

// TestTUIFooterAndNames at 80x24: the footer keeps ? and q and offers no e on a read-only
// copy; long names that share a beginning stay distinct.
func TestTUIFooterAndNames(t *testing.T) {
	s := startCaptured(t, "footer", 80, 24, t.TempDir())
	screen := s.capture()
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	footer := lines[len(lines)-1]
	if !strings.Contains(footer, "? help") || !strings.Contains(footer, "q quit") {
		t.Errorf("footer lacks ? or q: %q", footer)
	}
	if strings.Contains(footer, "e edit") {
		t.Errorf("footer offers e on a read-only copy: %q", footer)
	}
	var img, host string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "image") && strings.Contains(l, "Pending"):
			img = l
		case strings.Contains(l, "hostpat") && strings.Contains(l, "Pending"):
			host = l
		}
	}
	if img == "" || host == "" {
		t.Fatalf("missing-image and missing-hostpath rows are not distinguishable:\n%s", screen)
	}
	s.keys("?")
	s.waitScreen(15*time.Second, "help", regexp.MustCompile(`keys`))
	help := s.capture()
	if strings.Contains(help, "edit manifest") {
		t.Errorf("help offers e on a read-only copy:\n%s", help)
	}
	for _, k := range []string{"full screen", "view manifest", "follow", "filter logs"} {
		if !strings.Contains(help, k) {
			t.Errorf("help lacks %q:\n%s", k, help)
		}
	}
}

// TestTUIDiagnoseAtPod: d opens the report at the selected pod; / searches it.
func TestTUIDiagnoseAtPod(t *testing.T) {
	s := startCaptured(t, "diag", 80, 24, t.TempDir())
	s.keys("jjjjjjjj") // default-missing-image
	s.waitScreen(15*time.Second, "cursor on missing-image", regexp.MustCompile(`(?m)^│> Pending\s+defau.*image`))
	// A pod that never started says why in its log pane, and a copy is not retried forever.
	s.waitScreen(15*time.Second, "why there is no log", regexp.MustCompile(`no log: the container`))
	if strings.Contains(s.capture(), "reconnecting") {
		t.Errorf("a copied node's missing log is retried:\n%s", s.capture())
	}
	s.keys("d")
	s.waitScreen(15*time.Second, "the report at the pod", regexp.MustCompile(`(?m)^│POD default/missing-image `))
	s.keys("/")
	s.keys("-l", "ErrImageNeverPull")
	s.keys("Enter")
	s.waitScreen(15*time.Second, "a search result", regexp.MustCompile(`/ErrImageNeverPull/: match 1 of \d+`))
	s.keys("Escape")
	s.waitScreen(15*time.Second, "back to the pods", regexp.MustCompile(`static pods \(13\)`))
}

// TestTUIManifestView: y shows the manifest read-only, numbered, with the kubelet's problem
// under its line; esc goes back.
func TestTUIManifestView(t *testing.T) {
	s := startCaptured(t, "manifest", 80, 24, t.TempDir())
	s.keys("jj") // default-edited: image removed
	s.waitScreen(15*time.Second, "cursor on edited", regexp.MustCompile(`(?m)^│> Invalid\s+default-edited`))
	s.keys("y")
	s.waitScreen(15*time.Second, "the manifest", regexp.MustCompile(`manifest \(read-only\)`))
	s.waitScreen(15*time.Second, "numbered lines and the problem", regexp.MustCompile(`(?s)\s1 │ apiVersion: v1.*▲ error: spec\.containers\[0\]\.image: Required value`))
	s.keys("Escape")
	s.waitScreen(15*time.Second, "back to the pods", regexp.MustCompile(`static pods \(13\)`))
}

// TestTUIFullScreenLog: f gives the log pane the whole width; f again (or esc) restores.
func TestTUIFullScreenLog(t *testing.T) {
	s := startCaptured(t, "full", 80, 24, t.TempDir())
	s.keys("f")
	s.waitScreen(15*time.Second, "the container log full screen", regexp.MustCompile(`(?m)^╭▶ container app.*─╮$`))
	screen := s.capture()
	if strings.Contains(screen, "static pods (13)") {
		t.Errorf("the pod list is still shown:\n%s", screen)
	}
	if !strings.Contains(screen, "fatal: cannot open /etc/app/config.yaml: no such file or directory") {
		t.Errorf("the full-screen log cuts the line at 80 columns:\n%s", screen)
	}
	s.keys("Escape")
	s.waitScreen(15*time.Second, "back to the panes", regexp.MustCompile(`static pods \(13\)`))
}

// TestTUIGoldenScreens compares the first screen at 80x24 and 200x50 with testdata (-update
// rewrites them): a captured node read by a relative path is the same on every run.
func TestTUIGoldenScreens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 50}} {
		name := fmt.Sprintf("main-%dx%d", size[0], size[1])
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			copyNode(t, dir)
			s := startCapturedIn(t, "golden", size[0], size[1], dir)
			got := s.stableScreen(5 * time.Second)
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("screen differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

// stableScreen waits until two captures 300 ms apart are the same (the log panes fill in
// batches) and returns it.
func (s *tmuxSession) stableScreen(timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	prev := s.capture()
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		cur := s.capture()
		if cur == prev {
			return cur
		}
		prev = cur
	}
	s.t.Fatalf("the screen kept changing for %s", timeout)
	return ""
}
