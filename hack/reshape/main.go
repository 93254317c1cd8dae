// Command reshape rewrites a captured kubelet log (testdata/nodes/*/var/log/kubelet.log) into the
// shape another tool would have printed it in, to build golden nodes for the shapes users paste:
//
//	reshape -shape short-precise -months 'janv.,févr.,mars,avril,mai,juin,juil.,août,sept.,oct.,nov.,déc.' -year 2026 IN > OUT
//	    journalctl -o short-precise under a French LC_TIME: "<%b> <%d> <hh:mm:ss.uuuuuu> <host> kubelet[<pid>]: <line>";
//	    continuation lines of a multi-line record indented to the message column, as journalctl does.
//	reshape -shape talosctl -node 172.20.0.2 IN > OUT
//	    talosctl logs kubelet -n 172.20.0.2: "<node>: <line>".
//	reshape -shape interleave A B … > OUT
//	    several talosctl outputs merged in time order (talosctl -n a,b prints them as they arrive).
//
// Only the prefix changes: every kubelet line stays verbatim (the -months names come from glibc's
// locale sources, /usr/share/i18n/locales/<locale> abmon).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

func main() {
	shape := flag.String("shape", "", "short-precise, talosctl or interleave")
	months := flag.String("months", "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec", "the 12 abbreviated month names (%b) of the locale, comma-separated")
	year := flag.Int("year", time.Now().Year(), "year of the first klog line (klog has none)")
	host := flag.String("host", "node1", "host name journald prints")
	node := flag.String("node", "", "talosctl node address prefix")
	flag.Parse()
	var err error
	switch *shape {
	case "short-precise":
		err = shortPrecise(os.Stdout, flag.Arg(0), strings.Split(*months, ","), *year, *host)
	case "talosctl":
		err = talos(os.Stdout, flag.Arg(0), *node)
	case "interleave":
		err = interleave(os.Stdout, flag.Args(), *year)
	default:
		err = fmt.Errorf("-shape must be short-precise, talosctl or interleave")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "reshape:", err)
		os.Exit(2)
	}
}

func lines(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"), nil
}

func shortPrecise(w io.Writer, in string, months []string, year int, host string) error {
	if len(months) != 12 {
		return fmt.Errorf("-months needs 12 names, got %d", len(months))
	}
	ls, err := lines(in)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	p := kubeletlog.Parser{Year: year, Location: time.UTC}
	indent := ""
	for _, l := range ls {
		r, ok := p.Parse([]byte(l))
		if !ok || r.Format != kubeletlog.FormatKlog || r.Damage != "" {
			// a continuation line of the record before: journalctl indents it to the message
			fmt.Fprintf(bw, "%s%s\n", indent, l)
			continue
		}
		t := r.TS
		prefix := fmt.Sprintf("%s %02d %s %s kubelet[%d]: ", months[t.Month()-1], t.Day(), t.Format("15:04:05.000000"), host, r.PID)
		indent = strings.Repeat(" ", len([]rune(prefix)))
		fmt.Fprintf(bw, "%s%s\n", prefix, l)
	}
	return bw.Flush()
}

func talos(w io.Writer, in, node string) error {
	if node == "" {
		return fmt.Errorf("-node is required")
	}
	ls, err := lines(in)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, l := range ls {
		fmt.Fprintf(bw, "%s: %s\n", node, l)
	}
	return bw.Flush()
}

// interleave merges files by record time, each file's own order kept (a k-way merge); a line
// without a time goes with the line before it.
func interleave(w io.Writer, files []string, year int) error {
	type line struct {
		ts   time.Time
		text string
	}
	var all [][]line
	for _, f := range files {
		ls, err := lines(f)
		if err != nil {
			return err
		}
		p := kubeletlog.Parser{Year: year, Location: time.UTC}
		var last time.Time
		var out []line
		for _, l := range ls {
			if r, ok := p.Parse([]byte(l)); ok && !r.TS.IsZero() {
				last = r.TS
			}
			out = append(out, line{ts: last, text: l})
		}
		all = append(all, out)
	}
	bw := bufio.NewWriter(w)
	next := make([]int, len(all))
	for {
		best := -1
		for i, ls := range all {
			if next[i] < len(ls) && (best < 0 || ls[next[i]].ts.Before(all[best][next[best]].ts)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		bw.WriteString(all[best][next[best]].text)
		bw.WriteByte('\n')
		next[best]++
	}
	return bw.Flush()
}
