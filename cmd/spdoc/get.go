package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podref"
	"github.com/spdoc/spdoc/internal/staticpod"
)

func init() { subcommands = append(subcommands, newGetCmd) }

// getResource is one resource kind of `spdoc get`, with its aliases (kubectl/talosctl style).
type getResource struct {
	Name    string
	Aliases []string
}

var getResources = []getResource{
	{"staticpods", []string{"staticpod", "sp"}},
	{"staticpodstatus", []string{"staticpodstatuses", "sps"}},
}

// resourceOf returns the canonical name for s (a name or alias), or "".
func resourceOf(s string) string {
	s = strings.ToLower(s)
	for _, r := range getResources {
		if s == r.Name || slices.Contains(r.Aliases, s) {
			return r.Name
		}
	}
	return ""
}

func resourceList() string {
	var parts []string
	for _, r := range getResources {
		parts = append(parts, fmt.Sprintf("%s (%s)", r.Name, strings.Join(r.Aliases, ", ")))
	}
	return strings.Join(parts, ", ")
}

type getOptions struct {
	node      nodeFlags
	output    string
	template  string // of -o jsonpath=…
	namespace string
	allNS     bool
	selector  string
	watch     bool
	interval  time.Duration
	talos     bool // -o yaml|json in the shape of talosctl get staticpodstatus (get_talos.go)

	kind     string
	refs     []podref.Ref
	sel      labels.Selector
	format   *getOutput
	stdout   io.Writer
	stderr   io.Writer
	printed  map[string]string // watch: the last line printed per pod
	header   bool
	multiple bool
}

func newGetCmd() *cobra.Command {
	o := &getOptions{}
	cmd := &cobra.Command{
		Use:     "get RESOURCE [POD...]",
		Aliases: []string{"g"},
		Short:   "List static pods (from the manifest dir) or their status (from the runtime and kubelet log)",
		Long: `get lists the static pods defined in the manifest directory (staticpods, sp) or their
status (staticpodstatus, sps): READY counts the containers the manifest declares, STATUS is what
kubectl's STATUS column would say (CrashLoopBackOff, ErrImageNeverPull, ImagePullBackOff,
ContainerCreating, …; Invalid when the kubelet rejects the manifest), AGE is relative to when the
data was read (the capture time for a copied node). It works without an API server.

POD is any name spdoc prints: namespace/name, the static pod ID namespace-name, the manifest
name, the kubelet's name-node, the UID, the manifest file, or namespace/pod:container[:id] from
spdoc containers. A name that matches nothing is an error (exit 1) with the closest names.`,
		Example: `  spdoc get sps
  spdoc get sps -o wide
  spdoc get sp kube-system/kube-apiserver -o yaml
  spdoc get sps -n kube-system -l tier=control-plane -w
  spdoc get sps -o jsonpath='{range .items[*]}{.id}{"\t"}{.state}{"\n"}{end}'
  spdoc get sps --agent https://node1:7443,https://node2:7443 --ca ca.crt --cert reader.crt --key reader.key`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("name a resource: %s", resourceList())}
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				var out []string
				for _, r := range getResources {
					out = append(out, r.Name)
					out = append(out, r.Aliases...)
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			}
			return completePods(cmd.Context(), &o.node, false), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: runLifecycle(o),
	}
	o.node.AddFlags(cmd.Flags())
	o.node.AddAgentFlags(cmd.Flags())
	o.node.AddBundleInFlag(cmd.Flags())
	hideFlags(cmd, "log-tail")
	fs := cmd.Flags()
	fs.StringVarP(&o.output, "output", "o", "", "output format: "+getOutputNames()+" (default: a table that fits 80 columns)")
	fs.StringVarP(&o.namespace, "namespace", "n", "", "only pods of this namespace")
	fs.BoolVarP(&o.allNS, "all-namespaces", "A", false, "pods of every namespace (what get lists without -n: static pods live in several)")
	fs.StringVarP(&o.selector, "selector", "l", "", "label selector on the manifests' pod labels (tier=control-plane, app in (a,b), !canary)")
	fs.BoolVarP(&o.watch, "watch", "w", false, "after the list, print a pod again whenever its row changes (until interrupted)")
	fs.DurationVar(&o.interval, "watch-interval", 2*time.Second, "with --watch: how often the node is read again")
	fs.BoolVar(&o.talos, "talos", false, "staticpodstatus -o yaml|json in talosctl's shape (node, metadata, spec: the PodStatus), for scripts written for talosctl get staticpodstatus")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, f := range getOutputs {
			out = append(out, f.Name+"\t"+f.Help)
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	})
	_ = cmd.RegisterFlagCompletionFunc("namespace", func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return completeNamespaces(c.Context(), &o.node), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func (o *getOptions) Complete(cmd *cobra.Command, args []string) error {
	o.stdout, o.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	o.kind = resourceOf(args[0])
	if o.kind == "" {
		msg := fmt.Sprintf("unknown resource %q: spdoc get knows %s", args[0], resourceList())
		if l := strings.ToLower(args[0]); l == "pods" || l == "pod" || l == "po" {
			msg += "; static pods are staticpods, their state staticpodstatus"
		}
		return fmt.Errorf("%s", msg)
	}
	for _, a := range args[1:] {
		r, err := podref.Parse(a)
		if err != nil {
			return err
		}
		o.refs = append(o.refs, r)
	}
	name, tmpl, _ := strings.Cut(o.output, "=")
	if name == "" {
		name = "table"
	}
	for i := range getOutputs {
		if getOutputs[i].Name == name {
			o.format = &getOutputs[i]
		}
	}
	o.template = tmpl
	return nil
}

func (o *getOptions) Validate() error {
	switch {
	case o.format == nil:
		return fmt.Errorf("--output %q: want one of %s", o.output, getOutputNames())
	case o.format.Name == "jsonpath" && o.template == "":
		return fmt.Errorf("--output jsonpath needs a template: -o jsonpath='{.items[*].id}'")
	case o.format.Name != "jsonpath" && o.template != "":
		return fmt.Errorf("--output %s takes no =…", o.format.Name)
	case o.talos && (o.kind != "staticpodstatus" || o.format.Name != "yaml" && o.format.Name != "json"):
		return fmt.Errorf("--talos prints staticpodstatus as talosctl does: use it with get staticpodstatus -o yaml or -o json")
	case o.allNS && o.namespace != "":
		return fmt.Errorf("--namespace and --all-namespaces: pick one")
	case o.watch && o.interval < 100*time.Millisecond:
		return fmt.Errorf("--watch-interval %s: must be at least 100ms", o.interval)
	}
	if o.selector != "" {
		sel, err := labels.Parse(o.selector)
		if err != nil {
			return fmt.Errorf("--selector %q: %w", o.selector, err)
		}
		o.sel = sel
	}
	return o.node.Validate()
}

// getList is what a get prints: the items of the one resource asked for, from every node read.
type getList struct {
	Kind     string
	Pods     []staticPodItem
	Statuses []staticPodStatusItem
	// Taken is when the data was read (a copy: captured); AGE is relative to it.
	Taken time.Time
	// Nodes is how many nodes were asked (the table adds NODE when several).
	Nodes int
}

func (l *getList) items() any {
	if l.Kind == "staticpods" {
		return nonNil(l.Pods)
	}
	return nonNil(l.Statuses)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (o *getOptions) Run(ctx context.Context) error {
	targets, err := o.node.Targets(ctx)
	if err != nil {
		return err
	}
	defer closeTargets(targets)
	list, readErr, err := o.read(ctx, targets)
	if err != nil {
		return err
	}
	if err := o.print(list); err != nil {
		return err
	}
	if readErr != nil {
		return readErr
	}
	if !o.watch {
		return nil
	}
	t := time.NewTicker(o.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		list, readErr, err := o.read(ctx, targets)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil || readErr != nil {
			fmt.Fprintf(stderrOr(o.stderr), "spdoc: %v\n", errorsJoin(err, readErr))
			continue
		}
		if err := o.print(list); err != nil {
			return err
		}
	}
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// read snapshots every target and keeps the pods the arguments and filters name. A named pod
// that is on no node is a NotFound error.
func (o *getOptions) read(ctx context.Context, targets []nodeTarget) (*getList, error, error) {
	snaps, readErr := snapshotAll(ctx, targets, stderrOr(o.stderr))
	if len(snaps) == 0 {
		return nil, nil, readErr
	}
	list := &getList{Kind: o.kind, Nodes: len(targets)}
	found := make([]bool, len(o.refs))
	var cands []podref.Pod
	for _, snap := range snaps {
		if snap.Taken.After(list.Taken) {
			list.Taken = snap.Taken
		}
		report := diagnose.Analyze(snap, diagnose.Options{})
		o.node.pasteableReport(report, targetOf(targets, snap))
		lbls := podLabels(snap)
		for _, p := range report.Pods {
			c := podref.Pod{Namespace: p.Namespace, Name: p.Name, ID: p.ID, KubeletName: p.KubeletName, UID: p.UID, File: p.Manifest}
			cands = append(cands, c)
			if !o.want(c, lbls[p.ID], found) {
				continue
			}
			if o.kind == "staticpodstatus" {
				list.Statuses = append(list.Statuses, staticPodStatusItem{Node: report.Node.Name, Status: p.KubectlStatus(), Declared: declared(snap, p.ID), PodReport: p})
			}
		}
		if o.kind == "staticpods" {
			for _, it := range staticPodItems(snap) {
				c := podref.Pod{Namespace: it.namespace(), Name: it.name(), ID: it.ID, File: it.Source}
				if it.Pod != nil {
					c.UID = it.Pod.UID
					if snap.Node.Name != "" {
						c.KubeletName = it.Pod.KubeletName(snap.Node.Name)
					}
				}
				if it.Pod == nil {
					cands = append(cands, c)
				}
				if o.want(c, lbls[it.ID], found) {
					it.Source = o.nodePath(it.Source, targets, snap)
					list.Pods = append(list.Pods, it)
				}
			}
		}
	}
	for i, ok := range found {
		if !ok {
			return nil, nil, &podref.NotFoundError{Ref: o.refs[i], Suggestions: podref.Suggest(o.refs[i], cands, 3)}
		}
	}
	return list, readErr, nil
}

// nodePath names a manifest by its path on the node (not the copy's).
func (o *getOptions) nodePath(p string, targets []nodeTarget, snap *node.Snapshot) string {
	if fn := o.node.pasteable(targetOf(targets, snap)); fn != nil {
		return fn(p)
	}
	return p
}

// want applies the namespace, selector and POD arguments to one pod, marking which argument
// found it.
func (o *getOptions) want(c podref.Pod, lbls map[string]string, found []bool) bool {
	if o.namespace != "" && c.Namespace != o.namespace {
		return false
	}
	if o.sel != nil && !o.sel.Matches(labels.Set(lbls)) {
		return false
	}
	if len(o.refs) == 0 {
		return true
	}
	hit := false
	for i, r := range o.refs {
		if r.Matches(c) {
			found[i], hit = true, true
		}
	}
	return hit
}

// podLabels are the manifests' pod labels by static pod ID.
func podLabels(snap *node.Snapshot) map[string]map[string]string {
	out := map[string]map[string]string{}
	if snap.Manifests == nil {
		return out
	}
	for _, p := range snap.Manifests.Pods() {
		if p.Pod != nil {
			out[p.ID] = p.Pod.Labels
		}
	}
	return out
}

// declared is how many containers the manifest of pod id declares (what READY counts to).
func declared(snap *node.Snapshot, id string) int {
	if snap.Manifests == nil {
		return 0
	}
	for _, p := range snap.Manifests.Pods() {
		if p.ID == id && p.Pod != nil {
			return len(p.Pod.Spec.Containers)
		}
	}
	return 0
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

func (it staticPodItem) namespace() string {
	if it.Pod == nil {
		return "-"
	}
	if it.Pod.Namespace == "" {
		return "default"
	}
	return it.Pod.Namespace
}

func (it staticPodItem) name() string {
	if it.Pod == nil {
		return it.ID
	}
	return it.Pod.Name
}

// staticPodStatusItem is one pod status as `get staticpodstatus -o json|yaml` prints it.
type staticPodStatusItem struct {
	Node string `json:"node"`
	// Status is what kubectl's STATUS column would show.
	Status string `json:"status"`
	// Declared is how many containers the manifest declares.
	Declared int `json:"declaredContainers"`
	diagnose.PodReport
}

func staticPodItems(snap *node.Snapshot) []staticPodItem {
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
			items = append(items, staticPodItem{Node: snap.Node.Name, ID: "(" + f.Name + ")", Version: version, Source: f.Path, Error: f.Parse.Error()})
			continue
		}
		for _, p := range f.Pods {
			items = append(items, staticPodItem{Node: snap.Node.Name, ID: p.ID, Version: version, Source: f.Path, Valid: p.Valid(), Pod: p})
		}
	}
	return items
}

// ready is READY: running-and-ready containers of those the manifest declares.
func (it staticPodStatusItem) ready() string {
	n := 0
	for _, c := range it.Containers {
		if c.Ready {
			n++
		}
	}
	total := it.Declared
	if total == 0 {
		total = len(it.Containers)
	}
	return fmt.Sprintf("%d/%d", n, total)
}

// restarts is RESTARTS like kubectl: the count, and how long ago the last one was.
func (it staticPodStatusItem) restarts(now time.Time) string {
	s := strconv.Itoa(it.Restarts)
	var last time.Time
	for _, c := range it.Containers {
		if c.RestartCount > 0 && c.StartedAt.After(last) {
			last = c.StartedAt
		}
	}
	if it.Restarts > 0 && !last.IsZero() && !now.IsZero() {
		s += " (" + humanAge(now.Sub(last)) + " ago)"
	}
	return s
}

func (it staticPodStatusItem) age(now time.Time) string {
	var started time.Time
	for _, c := range it.Containers {
		if !c.StartedAt.IsZero() && (started.IsZero() || c.StartedAt.Before(started)) {
			started = c.StartedAt
		}
	}
	if started.IsZero() || now.IsZero() {
		return "-"
	}
	return humanAge(now.Sub(started))
}

// getOutput is one -o value of spdoc get. Add a row for a new format; Print gets the whole list
// of the resource asked for.
type getOutput struct {
	Name  string // the -o value; "jsonpath" takes =TEMPLATE
	Help  string
	Print func(o *getOptions, w io.Writer, l *getList) error
}

var getOutputs = []getOutput{
	{"table", "columns that fit 80 wide", func(o *getOptions, w io.Writer, l *getList) error { return o.printTable(w, l, false) }},
	{"wide", "every column", func(o *getOptions, w io.Writer, l *getList) error { return o.printTable(w, l, true) }},
	{"name", "one RESOURCE/ID a line, for xargs", printNames},
	{"json", `{"items": […]}`, func(_ *getOptions, w io.Writer, l *getList) error { return printStructured(w, "json", l.items()) }},
	{"yaml", "items: […]", func(_ *getOptions, w io.Writer, l *getList) error { return printStructured(w, "yaml", l.items()) }},
	{"jsonpath", "jsonpath=TEMPLATE: kubectl's JSONPath over the JSON form", func(o *getOptions, w io.Writer, l *getList) error {
		return printJSONPath(w, o.template, l.items())
	}},
}

func getOutputNames() string {
	var names []string
	for _, f := range getOutputs {
		n := f.Name
		if n == "jsonpath" {
			n += "=…"
		}
		names = append(names, n)
	}
	return strings.Join(names, "|")
}

func (o *getOptions) print(l *getList) error {
	if o.talos {
		return printTalos(o.stdout, o.format.Name, talosStatuses(l.Statuses))
	}
	if !o.watch {
		return o.format.Print(o, o.stdout, l)
	}
	// Watching: rows are printed again only when they change (kubectl get -w).
	if o.format.Name != "table" && o.format.Name != "wide" && o.format.Name != "name" {
		return o.format.Print(o, o.stdout, l)
	}
	return o.printTable(o.stdout, l, o.format.Name == "wide")
}

func printNames(o *getOptions, w io.Writer, l *getList) error {
	if len(l.Pods)+len(l.Statuses) == 0 && !o.watch {
		fmt.Fprintf(stderrOr(o.stderr), "No %s found%s.\n", l.Kind, o.scopeText())
	}
	for _, it := range l.Pods {
		fmt.Fprintf(w, "staticpod/%s\n", it.ID)
	}
	for _, it := range l.Statuses {
		fmt.Fprintf(w, "staticpodstatus/%s\n", it.ID)
	}
	return nil
}

// printTable prints the list as kubectl does: NAMESPACE NAME … that fit 80 columns, more with
// wide. While watching only rows that changed since the last print are printed.
func (o *getOptions) printTable(w io.Writer, l *getList, wide bool) error {
	var header []string
	var rows [][]string
	var keys []string
	multi := l.Nodes > 1 || o.multiple
	o.multiple = multi
	if l.Kind == "staticpods" {
		header = []string{"NAMESPACE", "NAME", "FILE", "VALID"}
		if wide {
			header = []string{"NAMESPACE", "NAME", "ID", "VERSION", "VALID", "SOURCE"}
		}
		for _, it := range l.Pods {
			valid := "yes"
			switch {
			case it.Pod == nil:
				valid = "no: " + it.Error
			case !it.Valid:
				valid = "no: " + firstError(it.Pod)
			}
			var row []string
			if wide {
				row = []string{it.namespace(), it.name(), it.ID, orDash(it.Version), clipText(valid, 60), it.Source}
			} else {
				row = []string{it.namespace(), clipText(it.name(), 30), clipText(baseName(it.Source), 24), valid}
			}
			rows = append(rows, row)
			keys = append(keys, it.Node+"/"+it.ID)
		}
	} else {
		header = []string{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"}
		if wide {
			header = append(header, "ID", "UID", "MANIFEST")
		}
		for _, it := range l.Statuses {
			row := []string{it.Namespace, clipText(it.Name, 30), it.ready(), it.Status, it.restarts(l.Taken), it.age(l.Taken)}
			if wide {
				row = append(row, it.ID, orDash(it.UID), it.Manifest)
			}
			rows = append(rows, row)
			keys = append(keys, it.Node+"/"+it.ID)
		}
	}
	if multi || wide {
		header = append([]string{"NODE"}, header...)
		for i := range rows {
			node := strings.SplitN(keys[i], "/", 2)[0]
			rows[i] = append([]string{orDash(node)}, rows[i]...)
		}
	}
	if o.format.Name == "name" {
		return printNames(o, w, l)
	}
	if !wide {
		fitLastColumn(header, rows, 80)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	if o.watch {
		if o.printed == nil {
			o.printed = map[string]string{}
		}
		if !o.header {
			fmt.Fprintln(tw, strings.Join(header, "\t"))
			o.header = true
		}
		for i, r := range rows {
			line := strings.Join(r, "\t")
			if o.printed[keys[i]] != line {
				o.printed[keys[i]] = line
				fmt.Fprintln(tw, line)
			}
		}
		return tw.Flush()
	}
	if len(rows) == 0 {
		fmt.Fprintf(stderrOr(o.stderr), "No %s found%s.\n", l.Kind, o.scopeText())
		return nil
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fitLastColumn clips the last column so that rows printed with 3 spaces between columns fit
// in width (the last column is the free text: a validation error).
func fitLastColumn(header []string, rows [][]string, width int) {
	used := 0
	for c := 0; c < len(header)-1; c++ {
		w := len([]rune(header[c]))
		for _, r := range rows {
			w = max(w, len([]rune(r[c])))
		}
		used += w + 3
	}
	room := max(width-used, 12)
	for _, r := range rows {
		r[len(r)-1] = clipText(r[len(r)-1], room)
	}
}

// scopeText says which filter left nothing (kubectl: "No resources found in x namespace.").
func (o *getOptions) scopeText() string {
	var parts []string
	if o.namespace != "" {
		parts = append(parts, "in namespace "+o.namespace)
	}
	if o.selector != "" {
		parts = append(parts, "matching "+o.selector)
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func firstError(p *staticpod.StaticPod) string {
	for _, i := range p.Issues {
		if i.Severity == staticpod.SeverityError {
			return i.String()
		}
	}
	return ""
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
