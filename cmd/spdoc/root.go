package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/internal/node"
)

// exitCodeError ends the process with code without printing anything more (the command already
// reported). Exit codes: 0 healthy, 1 problems found, 2 spdoc itself failed.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a mistake of the user (a bad flag value, a pod that does not exist): the message
// is printed and spdoc exits 1, like kubectl. Exit 2 stays for "spdoc itself failed".
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// userError wraps err as a usage error (nil stays nil).
func userError(err error) error {
	if err == nil {
		return nil
	}
	var ue usageError
	if errors.As(err, &ue) {
		return err
	}
	return usageError{err}
}

// started is set once cobra has parsed the flags and arguments and runs a command: an error
// before that (unknown command or flag, wrong number of arguments) is the user's.
var started bool

// exitCode maps an error from Execute to the process exit code: 0 none, the code of an
// exitCodeError, 1 for the user's mistakes (usage, NotFound), 2 when spdoc itself failed.
func exitCode(err error) int {
	var ec exitCodeError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return ec.code
	case errors.As(err, &ue), errors.Is(err, node.ErrNotFound), !started:
		return 1
	}
	return 2
}

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
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(*cobra.Command, []string) {
			started = true
		},
	}
	root.SetVersionTemplate("spdoc {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see spdoc %s --help)", err, c.Name())}
	})
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
		defer removeTempDirs()
		if err := o.Complete(cmd, args); err != nil {
			return userError(err)
		}
		if err := o.Validate(); err != nil {
			return userError(err)
		}
		return o.Run(cmd.Context())
	}
}
