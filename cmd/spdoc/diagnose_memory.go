package main

import (
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// diagnoseGCPercent is the Go GC target of `spdoc diagnose`. It is a one-shot batch whose live
// data is bounded (at most --max-records kubelet records, the manifests, the report): with the
// default target (100) its heap grows to twice that before a collection, with 50 to one and a
// half. On a 1 GiB error-dense kubelet log that is 57-60 MB peak RSS instead of 63-67 on an idle
// machine, for about 0.2 s more CPU (BENCHMARKS.md). GOGC, when set, wins.
const diagnoseGCPercent = 50

func init() {
	diagnoseHooks = append(diagnoseHooks, func(cmd *cobra.Command, _ *diagnoseOptions) {
		run := cmd.RunE
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if _, set := os.LookupEnv("GOGC"); !set {
				debug.SetGCPercent(diagnoseGCPercent)
			}
			return run(c, args)
		}
	})
}
