package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
	"github.com/spdoc/spdoc/internal/podref"
	"github.com/spdoc/spdoc/internal/staticpod"
)

func init() { subcommands = append(subcommands, newLogsCmd) }

type logsOptions struct {
	node          nodeFlags
	follow        bool
	tail          int
	previous      bool
	timestamps    bool
	kubelet       bool
	pod           string
	container     string
	allContainers bool
	prefix        bool
	sinceTime     string
	output        string

	sinceAbs   time.Time // --since-time
	regex      bool      // the POD argument was taken as a regex
	query      string    // the POD argument
	ref        podref.Ref
	kubeletReq node.KubeletLogRequest
	color      bool
	stdout     io.Writer
	stderr     io.Writer
}

func newLogsCmd() *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs POD[:CONTAINER] | REGEX | --kubelet [--pod POD]",
		Short: "Print static pod container logs (one pod, or every pod a regex matches), or the kubelet log",
		Long: `logs prints container logs from the pod log files the kubelet writes, without the API
server. POD is any name spdoc prints: namespace/name, the static pod ID namespace-name, the
manifest name, the kubelet's name-node, the UID, or namespace/pod:container[:id] from spdoc
containers. When POD names no pod it is a regular expression over the pods' names (like
stern): every matching pod's log is printed, each line prefixed with its pod and container,
coloured per pod on a terminal. A pod with several containers prints its first (or its
kubectl.kubernetes.io/default-container) and says so; -c picks one, --all-containers all.

With -f it follows the log across rotation and container restarts. -p shows the instance before
the current one (what crashed). --kubelet prints the kubelet's records instead, readable (-o raw
for the original lines), all or with --pod only those about one pod.`,
		Example: `  spdoc logs kube-system/kube-apiserver
  spdoc logs web -c app -p --tail 50
  spdoc logs 'kube-(apiserver|scheduler)' -f --since 10m
  spdoc logs etcd --all-containers --since-time 2026-11-24T22:00:00Z -t
  spdoc logs --kubelet --pod kube-system/etcd --since 1d
  spdoc logs kube-system/etcd -f --agent https://cp1:7443,https://cp2:7443 --ca ca.crt --cert reader.crt --key reader.key`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 || o.kubelet {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completePods(cmd.Context(), &o.node, true), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: runLifecycle(o),
	}
	o.node.AddFlags(cmd.Flags())
	o.node.AddAgentFlags(cmd.Flags())
	o.node.AddBundleInFlag(cmd.Flags())
	hideFlags(cmd, "log-tail", "max-records")
	fs := cmd.Flags()
	fs.Lookup("since").Usage = "only lines newer than this: 10m, 2h, 1d (for --kubelet the default is 1h from journald, the whole file otherwise)"
	fs.BoolVarP(&o.follow, "follow", "f", false, "keep printing new lines (across log rotation and container restarts) until interrupted")
	fs.IntVar(&o.tail, "tail", -1, "print only the last N lines of each log (-1: all)")
	fs.BoolVarP(&o.previous, "previous", "p", false, "the previous container instance (the one before the current restart)")
	fs.BoolVarP(&o.timestamps, "timestamps", "t", false, "prefix each container log line with its timestamp and stream")
	fs.StringVarP(&o.container, "container", "c", "", "the container to print (default: the pod's default container)")
	fs.BoolVar(&o.allContainers, "all-containers", false, "every container of the pod")
	fs.BoolVar(&o.prefix, "prefix", false, "prefix each line with namespace/pod/container (always on when several logs are printed)")
	fs.StringVar(&o.sinceTime, "since-time", "", "only lines at or after this RFC 3339 time (2026-11-24T22:00:00Z)")
	fs.BoolVar(&o.kubelet, "kubelet", false, "print kubelet log records instead of a container log")
	fs.StringVar(&o.pod, "pod", "", "with --kubelet: only records about this POD")
	fs.StringVarP(&o.output, "output", "o", "text", "with --kubelet: text (time, level, message, fields) or raw (the kubelet's lines)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "raw"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("pod", func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return completePods(c.Context(), &o.node, false), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func (o *logsOptions) Complete(cmd *cobra.Command, args []string) error {
	o.stdout, o.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f, ok := o.stdout.(*os.File); ok && term.IsTerminal(f.Fd()) && os.Getenv("NO_COLOR") == "" {
		o.color = true
	}
	if o.sinceTime != "" {
		t, err := time.Parse(time.RFC3339Nano, o.sinceTime)
		if err != nil {
			return fmt.Errorf("--since-time %q: want an RFC 3339 time like 2026-11-24T22:00:00Z", o.sinceTime)
		}
		if cmd.Flags().Changed("since") {
			return errors.New("--since and --since-time: pick one")
		}
		o.sinceAbs = t
	}
	if o.kubelet {
		if len(args) > 0 {
			return fmt.Errorf("--kubelet takes no pod argument; use --pod %s", args[0])
		}
		o.kubeletReq = node.KubeletLogRequest{Tail: o.tail, Follow: o.follow, Since: o.node.since}
		if o.pod != "" {
			r, err := podref.Parse(o.pod)
			if err != nil {
				return fmt.Errorf("--pod %w", err)
			}
			if r.Container != "" {
				return fmt.Errorf("--pod %q: the kubelet log is per pod, not per container", o.pod)
			}
			o.kubeletReq.Namespace, o.kubeletReq.Pod = r.Namespace, r.Pod
		}
		return nil
	}
	if o.pod != "" {
		return errors.New("--pod only goes with --kubelet; name the pod as the argument: spdoc logs POD")
	}
	if cmd.Flags().Changed("output") {
		return errors.New("--output is for --kubelet (text or raw)")
	}
	if len(args) == 0 {
		return errors.New("name a pod: spdoc logs POD[:CONTAINER] (or a regex, or --kubelet); spdoc get sps lists them")
	}
	o.query = args[0]
	r, err := podref.Parse(args[0])
	if err != nil {
		r = podref.Ref{Raw: args[0], Pod: args[0]} // maybe a regex ("a|b", "x:.*")
	}
	o.ref = r
	if r.Container != "" && o.container != "" && r.Container != o.container {
		return fmt.Errorf("%s names container %s but -c says %s", args[0], r.Container, o.container)
	}
	if o.container == "" {
		o.container = r.Container
	}
	return nil
}

func (o *logsOptions) Validate() error {
	switch {
	case o.tail < -1:
		return fmt.Errorf("--tail %d: want -1 (all) or a count", o.tail)
	case o.previous && o.follow:
		return errors.New("--previous shows an instance that has ended: it can't be followed")
	case o.previous && o.ref.ContainerID != "":
		return fmt.Errorf("%s names one instance by its ID: drop --previous", o.ref.Raw)
	case o.kubelet && (o.previous || o.container != "" || o.allContainers):
		return errors.New("--previous, --container and --all-containers are for container logs, not --kubelet")
	case o.allContainers && o.container != "":
		return errors.New("--all-containers and --container: pick one")
	case o.output != "text" && o.output != "raw":
		return fmt.Errorf("--output %q: want text or raw", o.output)
	}
	return o.node.Validate()
}

func (o *logsOptions) Run(ctx context.Context) error {
	targets, err := o.node.Targets(ctx)
	if err != nil {
		return err
	}
	defer closeTargets(targets)
	w := bufio.NewWriterSize(o.stdout, 64<<10)
	defer w.Flush()
	var mu sync.Mutex
	// emit writes one line with its prefix; it flushes every line while following, so output
	// appears as it arrives.
	emit := func(prefix, line string) error {
		mu.Lock()
		defer mu.Unlock()
		w.WriteString(prefix)
		w.WriteString(line)
		w.WriteByte('\n')
		if o.follow {
			return w.Flush()
		}
		return nil
	}
	if len(targets) == 1 {
		return ignoreCanceled(ctx, o.stream(ctx, targets[0], "", emit))
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ignoreCanceled(ctx, o.stream(ctx, t, t.Label+": ", emit))
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			fmt.Fprintf(stderrOr(o.stderr), "spdoc: %s: %v\n", targets[i].Label, err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d nodes failed", failed, len(targets))
	}
	return nil
}

// logTarget is one container log to print.
type logTarget struct {
	ns, pod, container string // pod: the kubelet's pod name when known
	label              string // namespace/pod/container for the prefix
	color              int
}

// since is the --since duration for one node: --since, or --since-time counted back from that
// node's now (a copy's capture time).
func (o *logsOptions) since(ctx context.Context, c node.Client) time.Duration {
	if o.sinceAbs.IsZero() {
		return o.node.since
	}
	now := time.Now()
	if l, ok := c.(*node.Local); ok {
		now = l.LogTime(ctx)
	}
	return max(now.Sub(o.sinceAbs), time.Nanosecond)
}

// stream sends one node's logs to emit.
func (o *logsOptions) stream(ctx context.Context, t nodeTarget, prefix string, emit func(prefix, line string) error) error {
	if o.kubelet {
		req := o.kubeletReq
		req.Since = o.since(ctx, t.Client)
		return t.Client.KubeletLog(ctx, req, func(r kubeletlog.Record) error {
			if o.output == "raw" {
				return emit(prefix, strings.TrimRight(r.Raw, "\n"))
			}
			return emit(prefix, readableRecord(r))
		})
	}
	logs, err := o.selectLogs(ctx, t)
	if err != nil {
		return err
	}
	many := len(logs) > 1 || o.prefix || o.regex
	since := o.since(ctx, t.Client)
	run := func(lt logTarget) error {
		p := prefix
		if many {
			p += o.paint(lt.color, "["+lt.label+"]") + " "
		}
		req := node.LogRequest{Namespace: lt.ns, Pod: lt.pod, Container: lt.container, Previous: o.previous, ContainerID: o.ref.ContainerID, Tail: o.tail, Follow: o.follow, Since: since}
		err := t.Client.ContainerLog(ctx, req, func(l podlog.Line) error {
			if o.timestamps {
				return emit(p, l.TS.Format(time.RFC3339Nano)+" "+l.Stream+" "+l.Msg)
			}
			return emit(p, l.Msg)
		})
		if err != nil && len(logs) > 1 && errors.Is(err, node.ErrNotFound) {
			// One of several logs missing (a container that never started): say so, go on.
			fmt.Fprintf(stderrOr(o.stderr), "spdoc: %s: %v\n", lt.label, err)
			return nil
		}
		return err
	}
	if !o.follow {
		for _, lt := range logs {
			if err := run(lt); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(logs))
	var wg sync.WaitGroup
	for i, lt := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = run(lt)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// logPod is a pod the logs can come from: its names and containers in the manifest's order.
type logPod struct {
	ref        podref.Pod
	containers []string
	defaultC   string // kubectl.kubernetes.io/default-container
}

// selectLogs resolves the POD argument on one node to the container logs to print: the pod it
// names, else every pod its regex matches; an unknown name is NotFound with suggestions.
func (o *logsOptions) selectLogs(ctx context.Context, t nodeTarget) ([]logTarget, error) {
	pods, err := logPods(ctx, t.Client)
	if err != nil {
		return nil, err
	}
	cands := make([]podref.Pod, len(pods))
	for i, p := range pods {
		cands[i] = p.ref
	}
	var picked []int
	idx, findErr := podref.Find(o.ref, cands)
	switch {
	case findErr == nil && len(idx) > 1 && o.ref.Namespace == "":
		return nil, fmt.Errorf("pod %q is %w: %s; name it as namespace/name", o.query, podref.ErrAmbiguous, strings.Join(refNames(cands, idx), ", "))
	case findErr == nil:
		picked = idx
	default:
		re, reErr := regexp.Compile(o.query)
		if reErr == nil && looksLikeRegex(o.query) {
			for i, c := range cands {
				if re.MatchString(c.Namespace+"/"+c.Name) || re.MatchString(c.ID) || c.KubeletName != "" && re.MatchString(c.KubeletName) {
					picked = append(picked, i)
				}
			}
		}
		if len(picked) == 0 {
			return nil, findErr
		}
		o.regex = true
		if o.container != "" && o.ref.Container != "" {
			o.container = "" // "x:.*" was a regex, not pod:container
		}
	}
	var out []logTarget
	for n, i := range picked {
		p := pods[i]
		cs := p.containers
		switch {
		case o.allContainers:
		case o.container != "":
			if len(cs) > 0 && !slices.Contains(cs, o.container) {
				if len(picked) > 1 {
					continue // a regex over pods: only those that have this container
				}
				return nil, fmt.Errorf("container %q is not in pod %s/%s: %w (its containers: %s)", o.container, p.ref.Namespace, p.ref.Name, node.ErrNotFound, strings.Join(cs, ", "))
			}
			cs = []string{o.container}
		case len(cs) > 1:
			def := p.defaultC
			if def == "" || !slices.Contains(cs, def) {
				def = cs[0]
			}
			if len(picked) == 1 {
				fmt.Fprintf(stderrOr(o.stderr), "Defaulted container %q out of: %s\n", def, strings.Join(cs, ", "))
			}
			cs = []string{def}
		case len(cs) == 0:
			cs = []string{""} // no manifest: the only container with logs
		}
		pod := p.ref.KubeletName
		if pod == "" {
			pod = p.ref.Name
		}
		for _, c := range cs {
			label := p.ref.Namespace + "/" + pod
			if c != "" {
				label += "/" + c
			}
			out = append(out, logTarget{ns: p.ref.Namespace, pod: pod, container: c, label: label, color: n})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no pod matching %q has a container %q: %w", o.query, o.container, node.ErrNotFound)
	}
	return out, nil
}

func refNames(c []podref.Pod, idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, c[i].Namespace+"/"+c[i].Name)
	}
	return out
}

// looksLikeRegex reports whether s uses regular expression syntax, so a plain misspelt name is
// a NotFound with suggestions rather than a regex that matches nothing.
func looksLikeRegex(s string) bool { return strings.ContainsAny(s, `^$.*+?()[]{}|\`) }

// logPods lists the pods a log can come from: the manifests' pods with their containers, and
// pods that only have log dirs left (a removed manifest).
func logPods(ctx context.Context, c node.Client) ([]logPod, error) {
	snap, err := listSnapshot(ctx, c)
	if err != nil {
		return nil, err
	}
	var pods []logPod
	seen := map[string]bool{}
	suffix := "-" + strings.ToLower(snap.Node.Name)
	manifestPods(snap, func(ns string, p *staticpod.StaticPod) {
		key := ns + "/" + p.Name
		if seen[key] {
			return
		}
		seen[key] = true
		lp := logPod{ref: podref.Pod{Namespace: ns, Name: p.Name, ID: p.ID, UID: p.UID, File: p.Source}}
		if snap.Node.Name != "" {
			lp.ref.KubeletName = p.KubeletName(snap.Node.Name)
		}
		if p.Pod != nil {
			for _, ctr := range p.Pod.Spec.Containers {
				lp.containers = append(lp.containers, ctr.Name)
			}
			lp.defaultC = p.Pod.Annotations["kubectl.kubernetes.io/default-container"]
		}
		pods = append(pods, lp)
	})
	for _, d := range snap.PodLogs {
		base := strings.TrimSuffix(d.Name, suffix)
		if seen[d.Namespace+"/"+base] {
			for i := range pods {
				if pods[i].ref.Namespace == d.Namespace && pods[i].ref.Name == base && pods[i].ref.UID == "" {
					pods[i].ref.UID = d.UID
				}
			}
			continue
		}
		seen[d.Namespace+"/"+base] = true
		lp := logPod{ref: podref.Pod{Namespace: d.Namespace, Name: base, ID: d.Namespace + "-" + base, KubeletName: d.Name, UID: d.UID}}
		for _, c := range d.Containers {
			lp.containers = append(lp.containers, c.Name)
		}
		sort.Strings(lp.containers)
		pods = append(pods, lp)
	}
	return pods, nil
}

// listSnapshot reads what names pods on the node, cheaply on this machine (the kubelet log is
// not what logs needs).
func listSnapshot(ctx context.Context, c node.Client) (*node.Snapshot, error) {
	if l, ok := c.(*node.Local); ok {
		return l.ListPods(ctx)
	}
	return c.Snapshot(ctx)
}

// readableRecord renders a kubelet record for a person: time, level, message, the pod and
// container it is about, the error, then the other fields.
func readableRecord(r kubeletlog.Record) string {
	var b strings.Builder
	b.WriteString(r.TS.UTC().Format("2006-01-02 15:04:05.000"))
	b.WriteByte(' ')
	b.WriteString(orDash(r.Level))
	b.WriteByte(' ')
	b.WriteString(r.Msg)
	field := func(k, v string) {
		if v == "" {
			return
		}
		b.WriteString("  ")
		b.WriteString(k)
		b.WriteByte('=')
		if strings.ContainsAny(v, " \t\"=") {
			v = strconv.Quote(v)
		}
		b.WriteString(v)
	}
	if r.PodName != "" {
		field("pod", strings.TrimPrefix(r.PodNamespace+"/"+r.PodName, "/"))
	}
	field("container", r.ContainerName)
	field("path", r.Path)
	keys := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		if k != "errCauses" { // the same as err, as JSON
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(k, r.Fields[k])
	}
	field("err", r.Err)
	return b.String()
}

// paint colours s with the n-th of six colours (stern style: one colour per pod).
func (o *logsOptions) paint(n int, s string) string {
	if !o.color {
		return s
	}
	return "\x1b[" + strconv.Itoa(31+n%6) + "m" + s + "\x1b[0m"
}

// ignoreCanceled turns the end of a follow by Ctrl-C into a clean exit.
func ignoreCanceled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
