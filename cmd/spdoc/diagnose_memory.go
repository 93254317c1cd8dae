package main

import (
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// diagnoseGCPercent is the Go GC target of `spdoc diagnose`. It is a one-shot batch whose live
// data is bounded (at most --max-records kubelet records, the manifests, the report): with the
// default target (100) its heap grows to twice that before a collection, with 50 to one and a
// half. Once the kubelet log's pass builds the records it kept, the live data grows to the run's
// peak, and the target drops to diagnoseBuildGCPercent (kubeletlog.BuildGCPercent): the scan's
// garbage is gone by then and a collection costs little. On a 1 GiB error-dense kubelet log that
// is 53-56 MB peak RSS, 57-60 MB with 50 throughout and 63-67 MB with 100, for about 0.1 s more
// CPU per step (BENCHMARKS.md). GOGC, when set, wins.
const (
	diagnoseGCPercent      = 50
	diagnoseBuildGCPercent = 25
)

func init() {
	diagnoseHooks = append(diagnoseHooks, func(cmd *cobra.Command, _ *diagnoseOptions) {
		run := cmd.RunE
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if _, set := os.LookupEnv("GOGC"); !set {
				debug.SetGCPercent(diagnoseGCPercent)
				kubeletlog.BuildGCPercent = diagnoseBuildGCPercent
			}
			return run(c, args)
		}
	})
}
