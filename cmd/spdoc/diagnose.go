package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podref"
	"github.com/spdoc/spdoc/internal/redact"
)

func init() { subcommands = append(subcommands, newDiagnoseCmd) }

// diagnoseHooks let other files extend `spdoc diagnose` without editing this one (the support
// bundle adds --bundle and --bundle-in in diagnose_bundle.go). Each hook runs once while the
// command is built: it may add flags to cmd and set the hook fields of o:
//   - o.beforeSnapshot runs after flag validation, before the node client is created (e.g. unpack a
//     bundle and point o.node at it as --root);
//   - o.afterReport runs after the report is built and redacted, before it is printed (e.g. write
//     a bundle from the same snapshot). An error from either fails the command with exit code 2.
//
// Redaction options live in o.redact (--no-redact sets Disabled; hooks may add Extra patterns).
var diagnoseHooks []func(*cobra.Command, *diagnoseOptions)

type diagnoseOptions struct {
	node   nodeFlags
	refs   []podref.Ref
	wrap   bool
	output string
	redact redact.Options
	width  int

	stdout io.Writer
	stderr io.Writer
	color  bool

	beforeSnapshot func(ctx context.Context) error
	afterReport    func(ctx context.Context, snap *node.Snapshot, report *diagnose.Report) error
}

func newDiagnoseCmd() *cobra.Command {
	o := &diagnoseOptions{}
	cmd := &cobra.Command{
		Use:   "diagnose [POD...]",
		Short: "Explain what the kubelet did with every static pod on this node, and why",
		Long: `diagnose reads the manifest directory, the kubelet log, the container runtime and the pod
log files, attributes every relevant record to its static pod and prints findings with the
root cause first, the evidence and a concrete next step.

On the live node by default; --root DIR reads a copied node filesystem (no runtime).
With POD arguments (any name spdoc prints) the report covers those pods, and the node's
findings that concern every pod.
Exit status: 0 healthy, 1 problems found, 2 spdoc itself failed.`,
		Example: `  spdoc diagnose
  spdoc diagnose kube-system/etcd --width 80
  spdoc diagnose -o markdown > ticket.md
  spdoc diagnose --root ./node-copy --node-name node1 -o json
  spdoc diagnose --agent https://node1:7443,https://node2:7443 --ca ca.crt --cert reader.crt --key reader.key`,
		ValidArgsFunction: func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
			return completePods(cmd.Context(), &o.node, false), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: runLifecycle(o),
	}
	o.node.AddFlags(cmd.Flags())
	o.node.AddAgentFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(diagnose.Formats, cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: "+strings.Join(diagnose.Formats, "|"))
	cmd.Flags().BoolVar(&o.redact.Disabled, "no-redact", false, "print secrets (env values, --password= args, PEM blocks, bearer tokens) as they are")
	cmd.Flags().IntVar(&o.width, "width", 0, "wrap text output at this many columns, evidence and next steps too (default: the terminal's width; piped: 100, and evidence stays one line per record for grep)")
	for _, h := range diagnoseHooks {
		h(cmd, o)
	}
	return cmd
}

// Complete fills what the flags leave open: the output stream and whether it gets colour.
func (o *diagnoseOptions) Complete(cmd *cobra.Command, args []string) error {
	o.stdout, o.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	for _, a := range args {
		r, err := podref.Parse(a)
		if err != nil {
			return err
		}
		o.refs = append(o.refs, r)
	}
	o.wrap = o.width > 0
	if f, ok := o.stdout.(*os.File); ok && term.IsTerminal(f.Fd()) {
		_, noColor := os.LookupEnv("NO_COLOR")
		o.color = !noColor
		if o.width == 0 {
			if w, _, err := term.GetSize(f.Fd()); err == nil && w > 40 {
				o.width, o.wrap = w, true
			}
		}
	}
	return nil
}

func (o *diagnoseOptions) Validate() error {
	if err := o.node.Validate(); err != nil {
		return err
	}
	if !slices.Contains(diagnose.Formats, o.output) && o.output != "md" {
		return fmt.Errorf("--output %q: want one of %s", o.output, strings.Join(diagnose.Formats, ", "))
	}
	if o.width < 0 {
		return fmt.Errorf("--width %d: must not be negative", o.width)
	}
	return nil
}

// Run snapshots the node, analyzes, redacts and prints the report; problems exit with 1. With
// several agents every node is read at once and the reports follow each other (a JSON array
// with -o json); a node that can't be read is reported on stderr and makes the exit code 2.
func (o *diagnoseOptions) Run(ctx context.Context) error {
	if o.beforeSnapshot != nil {
		if err := o.beforeSnapshot(ctx); err != nil {
			return err
		}
	}
	// An agent redacts what it sends; --no-redact asks it for the raw data (admins only).
	o.node.agent.creds.raw = o.redact.Disabled
	targets, err := o.node.Targets(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the node: %w", err)
	}
	defer closeTargets(targets)
	snaps, readErr := snapshotAll(ctx, targets, stderrOr(o.stderr))
	if len(snaps) == 0 {
		return readErr
	}
	red := redact.New(o.redact)
	reports := make([]*diagnose.Report, 0, len(snaps))
	problems := false
	for _, snap := range snaps {
		if msg := sinceNotice(snap, o.node.since); msg != "" {
			fmt.Fprintf(stderrOr(o.stderr), "spdoc: %s: %s\n", orDefault(snap.Node.Name, "node"), msg)
		}
		report := diagnose.Analyze(snap, diagnose.Options{})
		if err := o.scope(report); err != nil {
			return err
		}
		report.Redact(red.String)
		if o.afterReport != nil {
			if err := o.afterReport(ctx, snap, report); err != nil {
				return err
			}
		}
		o.node.pasteableReport(report, targetOf(targets, snap))
		problems = problems || report.Problems()
		reports = append(reports, report)
	}
	if err := o.render(reports); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	switch {
	case readErr != nil:
		fmt.Fprintf(stderrOr(o.stderr), "spdoc: %v\n", readErr)
		return exitCodeError{2}
	case problems:
		return exitCodeError{1}
	}
	return nil
}

// scope keeps the pods the arguments name; a name that matches no pod is NotFound (exit 1).
func (o *diagnoseOptions) scope(r *diagnose.Report) error {
	if len(o.refs) == 0 {
		return nil
	}
	var cands []podref.Pod
	for _, p := range r.Pods {
		cands = append(cands, podref.Pod{Namespace: p.Namespace, Name: p.Name, ID: p.ID, KubeletName: p.KubeletName, UID: p.UID, File: p.Manifest})
	}
	for _, ref := range o.refs {
		if _, err := podref.Find(ref, cands); err != nil {
			return err
		}
	}
	r.Scope(func(p diagnose.PodReport) bool {
		c := podref.Pod{Namespace: p.Namespace, Name: p.Name, ID: p.ID, KubeletName: p.KubeletName, UID: p.UID, File: p.Manifest}
		for _, ref := range o.refs {
			if ref.Matches(c) {
				return true
			}
		}
		return false
	})
	return nil
}

func (o *diagnoseOptions) render(reports []*diagnose.Report) error {
	opts := diagnose.RenderOptions{Color: o.color, Width: o.width, WrapAll: o.wrap}
	if len(reports) == 1 {
		return diagnose.Render(o.stdout, reports[0], o.output, opts)
	}
	if o.output == "json" {
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(o.stdout)
		}
		if err := diagnose.Render(o.stdout, r, o.output, opts); err != nil {
			return err
		}
	}
	return nil
}
