// Command diagprof profiles the full diagnose pass (snapshot of a --root node + Analyze + JSON)
// the way `spdoc diagnose --root R --kubelet-log F -o json` runs it.
//
//	go run ./bench/kubeletlog/diagprof -cpuprofile cpu.prof -root R FILE
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
)

func main() {
	root := flag.String("root", "", "node root")
	cpuprofile := flag.String("cpuprofile", "", "CPU profile file")
	heapprofile := flag.String("heapprofile", "", "heap profile file, written -heapafter into the run")
	heapAfter := flag.Duration("heapafter", 0, "when to write -heapprofile (0: after Analyze)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: diagprof -root R [-cpuprofile F] FILE")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	writeHeap := func() {
		f, err := os.Create(*heapprofile)
		if err == nil {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	if *heapprofile != "" && *heapAfter > 0 {
		time.AfterFunc(*heapAfter, writeHeap)
	}
	t0 := time.Now()
	s, err := node.NewLocal(node.LocalOptions{Root: *root, KubeletLog: flag.Arg(0), NoRuntime: true}).Snapshot(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	t1 := time.Now()
	r := diagnose.Analyze(s, diagnose.Options{})
	t2 := time.Now()
	if *heapprofile != "" && *heapAfter == 0 {
		writeHeap()
	}
	if err := diagnose.Render(io.Discard, r, "json", diagnose.RenderOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	fmt.Fprintf(os.Stderr, "snapshot %v analyze %v render %v, %d records\n", t1.Sub(t0), t2.Sub(t1), time.Since(t2), len(s.KubeletLog.Records))
}
