package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// exitCodeError ends the process with code without printing anything more (the command already
// reported). Exit codes: 0 healthy, 1 problems found, 2 spdoc itself failed.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// subcommands is filled by each command file's init, so command files stay independent.
var subcommands []func() *cobra.Command

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "spdoc",
		Short: "spdoc, the static pod doctor: writes, watches and diagnoses Kubernetes static pods",
		Long: `spdoc writes, watches and diagnoses Kubernetes static pods on a node.

It answers what the kubelet did with each manifest and why a static pod is not running,
even when the API server is down: from the manifest directory, the kubelet log, the
container runtime (CRI) and the pod log files.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, c := range subcommands {
		root.AddCommand(c())
	}
	return root
}

// lifecycle is the stern-style flow of a command's options: Complete fills what the flags leave
// open, Validate checks what can be checked without touching the node, Run does the work.
type lifecycle interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// runLifecycle is a cobra RunE that drives o through Complete → Validate → Run.
func runLifecycle(o lifecycle) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}
