// Command scan is the benchmark's stand-in for a full `spdoc diagnose` pass over a kubelet log:
// kubeletlog.ScanFile with the Interesting prefilter, passing on the newest 20,000 records as
// diagnose does (-last; counts per message are over those).
//
//	go run ./bench/kubeletlog/scan [-since 10m] FILE
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

func main() {
	since := flag.Duration("since", 0, "only records newer than this (seeks on an uncompressed file)")
	all := flag.Bool("all", false, "parse every line (no prefilter)")
	jsonOut := flag.Bool("json", false, "also print stats and record counts per message as JSON")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	noRepeat := flag.Bool("norepeat", false, "parse every relevant line in full (no repeat cache): the baseline")
	last := flag.Int("last", 20000, "pass only the newest N records on, like diagnose's --max-records (0: all)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scan:", err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: scan [-since DURATION] [-all] FILE")
		os.Exit(2)
	}
	opts := kubeletlog.ScanOptions{Prefilter: kubeletlog.Interesting}
	if *all {
		opts.Prefilter = nil
	}
	opts.NoRepeatCache, opts.Last = *noRepeat, *last
	if *since > 0 {
		opts.Since = time.Now().Add(-*since)
	}
	start := time.Now()
	byMsg := map[string]int{}
	var errors int
	st, err := kubeletlog.ScanFile(context.Background(), flag.Arg(0), opts, func(r *kubeletlog.Record) error {
		if r.Level == "E" || r.Level == "W" || r.Level == "F" {
			errors++
		}
		byMsg[r.Msg]++
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "scan:", err)
		pprof.StopCPUProfile()
		os.Exit(2)
	}
	fmt.Printf("records=%d errors=%d lines=%d bytes=%d elapsed=%.1fms\n", st.Relevant, errors, st.Lines, st.Bytes,
		float64(time.Since(start).Microseconds())/1000)
	if *jsonOut {
		out, _ := json.Marshal(struct {
			Stats  kubeletlog.Stats `json:"stats"`
			Errors int              `json:"errors"`
			ByMsg  map[string]int   `json:"byMsg"`
		}{st, errors, byMsg})
		fmt.Println(string(out))
	}
}
