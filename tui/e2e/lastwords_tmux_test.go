package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// lastWords is what the captured crashloop container (and the talosctl fixture's) wrote to
// stderr before it exited.
const lastWords = "fatal: cannot open /etc/app/config.yaml: no such file or directory"

// TestTUILastWordsInView: at 80x24 the container pane is 23 columns wide; the failed instance's
// stderr is shown whole at its top, without scrolling, on a captured node and on a talosctl
// bundle, and stays there when the log is scrolled.
func TestTUILastWordsInView(t *testing.T) {
	t.Run("captured node", func(t *testing.T) {
		s := startCaptured(t, "lastwords", 80, 24, t.TempDir())
		s.waitScreen(15*time.Second, "the crashloop log", regexp.MustCompile(`starting app`))
		assertWords(t, s.stableScreen(5*time.Second))
		s.keys("Enter", "g") // focus the log and go to its oldest line
		time.Sleep(500 * time.Millisecond)
		assertWords(t, s.stableScreen(5*time.Second))
	})
	t.Run("talosctl bundle", func(t *testing.T) {
		fixture, err := filepath.Abs("../../testdata/talos/support.zip")
		if err != nil {
			t.Fatal(err)
		}
		s := startTmux(t, fmt.Sprintf("lastwords-talos-%d", tmuxSeq.Add(1)), 80, 24,
			fmt.Sprintf("cd %s && env NO_COLOR=1 TERM=xterm %s tui --bundle-in %s --bundle-node 10.5.0.2", t.TempDir(), sharedSpdoc(t), fixture))
		s.waitScreen(30*time.Second, "the pod list", regexp.MustCompile(`static pods \(3\)`))
		s.keys("j") // kube-system-crashloop
		s.waitScreen(15*time.Second, "the crashloop log", regexp.MustCompile(`starting app`))
		assertWords(t, s.stableScreen(5*time.Second))
	})
}

// assertWords checks that the container pane shows lastWords whole (wrapped over its rows).
func assertWords(t *testing.T, screen string) {
	t.Helper()
	text := paneText(screen, "container app")
	if !strings.Contains(strings.Join(strings.Fields(text), " "), lastWords) {
		t.Errorf("the container pane does not show the failed instance's last words %q whole:\n%s\n--- screen\n%s", lastWords, text, screen)
	}
}

// paneText returns the rows inside the box whose top border starts with title, one per line, cut
// to the box's columns.
func paneText(screen, title string) string {
	rows := strings.Split(screen, "\n")
	for i, r := range rows {
		rr := []rune(r)
		at := strings.Index(r, "╭  "+title)
		if at < 0 {
			at = strings.Index(r, "╭▶ "+title) // the focused pane
		}
		if at < 0 {
			continue
		}
		left := len([]rune(r[:at]))
		col := left
		right := col
		for right < len(rr) && rr[right] != '╮' {
			right++
		}
		var out []string
		for _, b := range rows[i+1:] {
			br := []rune(b)
			if len(br) <= right || br[left] == '╰' {
				break
			}
			out = append(out, strings.TrimRight(string(br[left+1:right]), " "))
		}
		return strings.Join(out, "\n")
	}
	return ""
}
