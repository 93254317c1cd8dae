package main

import (
	"context"

	"github.com/spf13/cobra"
)

func init() { diagnoseHooks = append(diagnoseHooks, addNPDFlag) }

// addNPDFlag makes `spdoc diagnose --npd` a node-problem-detector custom plugin: one line on
// stdout (root cause first, cut at --width, default NPD's 80), exit 0 OK, 1 problem, 2 unknown
// (spdoc could not read the node). deploy/npd has the custom-plugin-monitor config.
func addNPDFlag(cmd *cobra.Command, o *diagnoseOptions) {
	var npd bool
	cmd.Flags().BoolVar(&npd, "npd", false, "node-problem-detector custom plugin mode: one line, root cause first, exit 0 OK / 1 problem / 2 unknown (same as -o npd)")
	prev := o.beforeSnapshot
	o.beforeSnapshot = func(ctx context.Context) error {
		if npd {
			o.output = "npd"
			o.color = false
		}
		if prev != nil {
			return prev(ctx)
		}
		return nil
	}
}
