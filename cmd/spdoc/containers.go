package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podview"
)

func init() { subcommands = append(subcommands, newContainersCmd) }

type containersOptions struct {
	node   nodeFlags
	output string
	static bool

	stdout io.Writer
	stderr io.Writer
}

func newContainersCmd() *cobra.Command {
	o := &containersOptions{}
	cmd := &cobra.Command{
		Use:   "containers",
		Short: "List pod sandboxes and their containers as the container runtime (CRI) sees them",
		Long: `containers lists every pod sandbox and its containers from the CRI runtime, like
talosctl containers --kubernetes: IDs are <namespace>/<pod>:<container>:<short container id>.
With --root it shows the runtime state captured in DIR/runtime.json.`,
		Example: `  spdoc containers
  spdoc containers --static -o json
  spdoc containers --agent unix:///run/spdoc/agent.sock`,
		Args: cobra.NoArgs,
		RunE: runLifecycle(o),
	}
	o.node.AddFlags(cmd.Flags())
	o.node.AddAgentFlags(cmd.Flags())
	o.node.AddBundleInFlag(cmd.Flags())
	_ = cmd.Flags().MarkHidden("log-tail")    // not used by this command
	_ = cmd.Flags().MarkHidden("max-records") // not used by this command
	_ = cmd.Flags().MarkHidden("since")       // not used by this command
	_ = cmd.Flags().MarkHidden("kubelet-log") // not used by this command
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: "+strings.Join(containersFormats, "|"))
	cmd.Flags().BoolVar(&o.static, "static", false, "only static pods (pod names ending in -<node name>)")
	return cmd
}

func (o *containersOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.stdout, o.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	return nil
}

func (o *containersOptions) Validate() error {
	if !slices.Contains(containersFormats, o.output) {
		return fmt.Errorf("--output %q: want one of %s", o.output, strings.Join(containersFormats, ", "))
	}
	if o.node.noRuntime {
		return errors.New("containers lists what the runtime reports: --no-runtime makes no sense with it")
	}
	return o.node.Validate()
}

// podContainers is a sandbox with its containers, newest sandbox first per pod.
type podContainers struct {
	Node       string          `json:"node"`
	Sandbox    cri.Sandbox     `json:"sandbox"`
	Containers []cri.Container `json:"containers"`
}

func (o *containersOptions) Run(ctx context.Context) error {
	o.node.logTail = 0 // no container log tails needed
	targets, err := o.node.Targets(ctx)
	if err != nil {
		return err
	}
	defer closeTargets(targets)
	snaps, readErr := snapshotAll(ctx, targets, stderrOr(o.stderr))
	var groups []podContainers
	for _, snap := range snaps {
		rt := snap.Runtime
		var rtErr error
		limit, fromBundle := talosLimit(targets, snap)
		switch {
		case rt == nil && fromBundle:
			rtErr = fmt.Errorf("the talosctl support bundle has no container state for this node: %s", limit)
		case rt == nil:
			rtErr = fmt.Errorf("no runtime state for %s (a copied node needs runtime.json)", snap.Node.Name)
		case !rt.Reachable:
			rtErr = fmt.Errorf("container runtime: %s", rt.Error)
		}
		if rtErr != nil {
			if len(targets) == 1 {
				return rtErr
			}
			fmt.Fprintf(stderrOr(o.stderr), "spdoc: %s: %v\n", labelOf(targets, snap), rtErr)
			if !fromBundle {
				// A talosctl bundle without a node's status is what the bundle is (Talos keeps
				// StaticPodStatus on control planes only), as diagnose says; not a failed read.
				readErr = fmt.Errorf("not every node's runtime could be read")
			}
			continue
		}
		groups = append(groups, groupContainers(snap, o.static)...)
	}
	if len(snaps) == 0 {
		return readErr
	}
	if o.output != "table" {
		if err := printStructured(o.stdout, o.output, groups); err != nil {
			return err
		}
		return readErr
	}
	tw := tabwriter.NewWriter(o.stdout, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNAMESPACE\tID\tIMAGE\tPID\tSTATUS")
	for _, g := range groups {
		sb := g.Sandbox
		fmt.Fprintf(tw, "%s\tk8s.io\t%s/%s\t%s\t%s\t%s\n", orDash(g.Node), sb.Namespace, sb.Name, "(sandbox)", "-", sb.State)
		for _, c := range g.Containers {
			pid := "-"
			if c.PID > 0 {
				pid = strconv.Itoa(c.PID)
			}
			status := string(c.State)
			if c.State == cri.ContainerExited {
				status = fmt.Sprintf("%s (%s, exit %d)", c.State, orDash(c.Reason), c.ExitCode)
			}
			fmt.Fprintf(tw, "%s\tk8s.io\t└─ %s/%s:%s:%s\t%s\t%s\t%s\n", orDash(g.Node), sb.Namespace, sb.Name, c.Name, shortID(c.ID), c.Image, pid, status)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return readErr
}

// groupContainers puts containers under their sandboxes, pods sorted by namespace/name and
// sandboxes newest first, containers by name then newest attempt first.
func groupContainers(snap *node.Snapshot, staticOnly bool) []podContainers {
	rt := snap.Runtime
	suffix := "-" + strings.ToLower(snap.Node.Name)
	byID := map[string]int{}
	var groups []podContainers
	for _, sb := range rt.Sandboxes {
		if staticOnly && (snap.Node.Name == "" || !strings.HasSuffix(sb.Name, suffix)) {
			continue
		}
		byID[sb.ID] = len(groups)
		groups = append(groups, podContainers{Node: snap.Node.Name, Sandbox: sb})
	}
	// A captured runtime (ContainerStatus only) has no sandbox IDs: fall back to the newest
	// sandbox of the same pod UID.
	byUID := map[string]int{}
	for i, g := range groups {
		if j, ok := byUID[g.Sandbox.UID]; !ok || podview.Newer(&g.Sandbox, &groups[j].Sandbox) {
			byUID[g.Sandbox.UID] = i
		}
	}
	for _, c := range rt.Containers {
		i, ok := byID[c.SandboxID]
		if !ok && c.PodUID != "" {
			i, ok = byUID[c.PodUID]
		}
		if ok {
			groups[i].Containers = append(groups[i].Containers, c)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i].Sandbox, groups[j].Sandbox
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return podview.Newer(&a, &b) // the pod's current sandbox first, as diagnose and the agent see it
	})
	for _, g := range groups {
		sort.SliceStable(g.Containers, func(i, j int) bool {
			a, b := g.Containers[i], g.Containers[j]
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			return podview.NewerInstance(a, b) // the current instance first
		})
	}
	return groups
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

var containersFormats = []string{"table", "json", "yaml"}
