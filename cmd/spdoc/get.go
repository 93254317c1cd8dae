package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/staticpod"
)

func init() { subcommands = append(subcommands, newGetCmd) }

// Resource kinds of `spdoc get`, with their aliases (talosctl style).
var getKinds = map[string]string{
	"staticpods": "staticpods", "staticpod": "staticpods", "sp": "staticpods",
	"staticpodstatus": "staticpodstatus", "staticpodstatuses": "staticpodstatus", "sps": "staticpodstatus",
}

var outputFormats = []string{"table", "json", "yaml"}

type getOptions struct {
	node   nodeFlags
	output string
	kind   string
	ids    []string
	talos  bool // -o yaml|json in the shape of talosctl get staticpodstatus (get_talos.go)

	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
}

func newGetCmd() *cobra.Command {
	o := &getOptions{}
	cmd := &cobra.Command{
		Use:   "get staticpods|staticpodstatus [ID...]",
		Short: "List static pods (from the manifest dir) or their status (from the runtime and kubelet log)",
		Long: `get lists the static pods defined in the manifest directory (staticpods) or their status
(staticpodstatus: containers ready, state, restarts, age — from the container runtime and the
kubelet log, so it works on every node, with or without an API server).

IDs are <namespace>-<name>, as in talosctl; with IDs only those pods are listed.`,
		Example: `  spdoc get staticpods
  spdoc get staticpodstatus -o yaml
  spdoc get sp kube-system-kube-apiserver -o json
  spdoc get staticpodstatus --agent https://node1:7443,https://node2:7443 --ca ca.crt --cert reader.crt --key reader.key`,
		Args:      cobra.MinimumNArgs(1),
		ValidArgs: []string{"staticpods", "staticpodstatus"},
		RunE:      runLifecycle(o),
	}
	o.node.AddFlags(cmd.Flags())
	o.node.AddAgentFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: "+strings.Join(outputFormats, "|"))
	cmd.Flags().BoolVar(&o.talos, "talos", false, "staticpodstatus -o yaml|json in talosctl's shape (node, metadata, spec: the PodStatus), for scripts written for talosctl get staticpodstatus")
	return cmd
}

func (o *getOptions) Complete(cmd *cobra.Command, args []string) error {
	o.stdout, o.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	o.now = time.Now
	o.kind = getKinds[strings.ToLower(args[0])]
	if o.kind == "" {
		return fmt.Errorf("unknown resource %q: want staticpods or staticpodstatus", args[0])
	}
	o.ids = args[1:]
	return nil
}

func (o *getOptions) Validate() error {
	if !slices.Contains(outputFormats, o.output) {
		return fmt.Errorf("--output %q: want one of %s", o.output, strings.Join(outputFormats, ", "))
	}
	if o.talos && (o.kind != "staticpodstatus" || o.output == "table") {
		return fmt.Errorf("--talos prints staticpodstatus as talosctl does: use it with get staticpodstatus -o yaml or -o json")
	}
	return o.node.Validate()
}

// staticPodItem is one static pod as `get staticpods -o json|yaml` prints it.
type staticPodItem struct {
	Node    string               `json:"node"`
	ID      string               `json:"id"`
	Version string               `json:"version"` // sha256 prefix of the manifest file
	Source  string               `json:"source"`
	Valid   bool                 `json:"valid"`
	Error   string               `json:"error,omitempty"` // file that does not decode
	Pod     *staticpod.StaticPod `json:"staticPod,omitempty"`
}

// staticPodStatusItem is one pod status as `get staticpodstatus -o json|yaml` prints it.
type staticPodStatusItem struct {
	Node string `json:"node"`
	diagnose.PodReport
}

func (o *getOptions) Run(ctx context.Context) error {
	targets, err := o.node.Targets(ctx)
	if err != nil {
		return err
	}
	defer closeTargets(targets)
	snaps, readErr := snapshotAll(ctx, targets, stderrOr(o.stderr))
	if len(snaps) == 0 {
		return readErr
	}
	want := func(id string) bool { return len(o.ids) == 0 || slices.Contains(o.ids, id) }
	switch o.kind {
	case "staticpods":
		var items []staticPodItem
		for _, snap := range snaps {
			items = append(items, staticPodItems(snap, want)...)
		}
		if o.output == "table" {
			err = printStaticPods(o.stdout, items)
		} else {
			err = printStructured(o.stdout, o.output, items)
		}
	default:
		var items []staticPodStatusItem
		for _, snap := range snaps {
			report := diagnose.Analyze(snap, diagnose.Options{})
			for _, p := range report.Pods {
				if want(p.ID) {
					items = append(items, staticPodStatusItem{Node: report.Node.Name, PodReport: p})
				}
			}
		}
		if o.talos {
			err = printTalos(o.stdout, o.output, talosStatuses(items))
		} else if o.output == "table" {
			err = printStaticPodStatus(o.stdout, items, o.now())
		} else {
			err = printStructured(o.stdout, o.output, items)
		}
	}
	if err != nil {
		return err
	}
	return readErr
}

func staticPodItems(snap *node.Snapshot, want func(string) bool) []staticPodItem {
	var items []staticPodItem
	for _, f := range snap.SourceFiles() { // the manifests, then the kubelet's staticPodURL list
		if f.Kind != staticpod.KindManifest {
			continue
		}
		version := f.SHA256
		if len(version) > 12 {
			version = version[:12]
		}
		if f.Parse != nil {
			id := "(" + f.Name + ")"
			if want(id) || len(f.Pods) == 0 && want(f.Name) {
				items = append(items, staticPodItem{Node: snap.Node.Name, ID: id, Version: version, Source: f.Path, Error: f.Parse.Error()})
			}
			continue
		}
		for _, p := range f.Pods {
			if want(p.ID) {
				items = append(items, staticPodItem{Node: snap.Node.Name, ID: p.ID, Version: version, Source: f.Path, Valid: p.Valid(), Pod: p})
			}
		}
	}
	return items
}

func printStaticPods(w io.Writer, items []staticPodItem) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNAMESPACE\tTYPE\tID\tVERSION\tVALID\tSOURCE")
	for _, it := range items {
		ns, valid := "-", "yes"
		if it.Pod != nil {
			ns = it.Pod.Namespace
			if ns == "" {
				ns = "default"
			}
			if !it.Valid {
				valid = "no: " + firstError(it.Pod)
			}
		} else {
			valid = "no: " + it.Error
		}
		fmt.Fprintf(tw, "%s\t%s\tStaticPod\t%s\t%s\t%s\t%s\n", orDash(it.Node), ns, it.ID, orDash(it.Version), clipText(valid, 60), it.Source)
	}
	return tw.Flush()
}

func firstError(p *staticpod.StaticPod) string {
	for _, i := range p.Issues {
		if i.Severity == staticpod.SeverityError {
			return i.String()
		}
	}
	return ""
}

func printStaticPodStatus(w io.Writer, items []staticPodStatusItem, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNAMESPACE\tID\tREADY\tSTATE\tRESTARTS\tAGE")
	for _, it := range items {
		ready := 0
		var started time.Time
		for _, c := range it.Containers {
			if c.Ready {
				ready++
			}
			if !c.StartedAt.IsZero() && (started.IsZero() || c.StartedAt.Before(started)) {
				started = c.StartedAt
			}
		}
		age := "-"
		if !started.IsZero() {
			age = humanAge(now.Sub(started))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%d\t%s\n", orDash(it.Node), it.Namespace, it.ID, ready, len(it.Containers), it.State, it.Restarts, age)
	}
	return tw.Flush()
}

// printStructured prints items as {"items": […]} in JSON or YAML.
func printStructured(w io.Writer, format string, items any) error {
	list := map[string]any{"items": items}
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return err
		}
	} else {
		data = append(data, '\n')
	}
	_, err = w.Write(data)
	return err
}

// humanAge renders a duration like kubectl's AGE column (45s, 12m, 3h, 5d).
func humanAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < 2*time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clipText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
