package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/internal/kubeletlog"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podlog"
)

func init() { subcommands = append(subcommands, newLogsCmd) }

type logsOptions struct {
	node       nodeFlags
	follow     bool
	tail       int
	previous   bool
	timestamps bool
	kubelet    bool
	pod        string

	containerReq node.LogRequest
	kubeletReq   node.KubeletLogRequest
	stdout       io.Writer
	stderr       io.Writer
}

func newLogsCmd() *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs [NAMESPACE/]POD[:CONTAINER] | --kubelet [--pod NAMESPACE/POD]",
		Short: "Print a static pod container's log, or the kubelet log (about one pod)",
		Long: `logs prints a container's log from the pod log files the kubelet writes, without the API
server: POD is the manifest name (web), the kubelet's pod name (web-node1), the static pod ID
(default-web) or the pod UID. With -f it follows the log across rotation and container
restarts. --previous shows the instance before the current one (what crashed).

--kubelet prints kubelet log records instead (all, or with --pod only those about that pod).`,
		Example: `  spdoc logs kube-system/kube-apiserver
  spdoc logs web:app --previous --tail 50
  spdoc logs web -f --since 10m
  spdoc logs --kubelet --pod kube-system/etcd --tail 20
  spdoc logs kube-system/etcd -f --agent https://cp1:7443,https://cp2:7443 --ca ca.crt --cert reader.crt --key reader.key`,
		Args: cobra.MaximumNArgs(1),
		RunE: runLifecycle(o),
	}
	o.node.AddFlags(cmd.Flags())
	o.node.AddAgentFlags(cmd.Flags())
	_ = cmd.Flags().MarkHidden("log-tail")    // not used by this command
	_ = cmd.Flags().MarkHidden("max-records") // not used by this command
	cmd.Flags().Lookup("since").Usage = "only lines newer than this (e.g. 10m); for --kubelet default: 1h from journald, the whole file otherwise"
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep printing new lines (across log rotation and container restarts) until interrupted")
	cmd.Flags().IntVar(&o.tail, "tail", -1, "print only the last N lines (-1: all)")
	cmd.Flags().BoolVarP(&o.previous, "previous", "p", false, "the previous container instance (the one before the current restart)")
	cmd.Flags().BoolVar(&o.timestamps, "timestamps", false, "prefix each container log line with its timestamp and stream")
	cmd.Flags().BoolVar(&o.kubelet, "kubelet", false, "print kubelet log records instead of a container log")
	cmd.Flags().StringVar(&o.pod, "pod", "", "with --kubelet: only records about this [NAMESPACE/]POD")
	return cmd
}

// parsePodRef splits [namespace/]pod[:container].
func parsePodRef(s string) (ns, pod, container string, err error) {
	rest := s
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		ns, rest = rest[:i], rest[i+1:]
		if ns == "" {
			return "", "", "", fmt.Errorf("%q: empty namespace before '/'", s)
		}
	}
	pod, container, _ = strings.Cut(rest, ":")
	if pod == "" {
		return "", "", "", fmt.Errorf("%q: no pod name; want [NAMESPACE/]POD[:CONTAINER]", s)
	}
	if strings.ContainsAny(pod, "/:") || strings.ContainsAny(container, "/:") {
		return "", "", "", fmt.Errorf("%q: want [NAMESPACE/]POD[:CONTAINER]", s)
	}
	return ns, pod, container, nil
}

func (o *logsOptions) Complete(cmd *cobra.Command, args []string) error {
	o.stdout, o.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
	if o.kubelet {
		if len(args) > 0 {
			return fmt.Errorf("--kubelet takes no pod argument; use --pod %s", args[0])
		}
		o.kubeletReq = node.KubeletLogRequest{Tail: o.tail, Follow: o.follow, Since: o.node.since}
		if o.pod != "" {
			ns, pod, c, err := parsePodRef(o.pod)
			if err != nil {
				return fmt.Errorf("--pod %w", err)
			}
			if c != "" {
				return fmt.Errorf("--pod %q: the kubelet log is per pod, not per container", o.pod)
			}
			o.kubeletReq.Namespace, o.kubeletReq.Pod = ns, pod
		}
		return nil
	}
	if o.pod != "" {
		return errors.New("--pod only goes with --kubelet")
	}
	if len(args) == 0 {
		return errors.New("name a pod: spdoc logs [NAMESPACE/]POD[:CONTAINER] (or --kubelet)")
	}
	ns, pod, c, err := parsePodRef(args[0])
	if err != nil {
		return err
	}
	o.containerReq = node.LogRequest{Namespace: ns, Pod: pod, Container: c, Previous: o.previous, Tail: o.tail, Follow: o.follow, Since: o.node.since}
	return nil
}

func (o *logsOptions) Validate() error {
	if o.tail < -1 {
		return fmt.Errorf("--tail %d: want -1 (all) or a count", o.tail)
	}
	if o.previous && o.follow {
		return errors.New("--previous shows an instance that has ended: it can't be followed")
	}
	if o.kubelet && (o.previous || o.timestamps) {
		return errors.New("--previous and --timestamps are for container logs, not --kubelet")
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
	// emit writes one line, prefixed with the node when several are read; it flushes every
	// line while following, so output appears as it arrives.
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
		return ignoreCanceled(ctx, o.stream(ctx, targets[0].Client, "", emit))
	}
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = ignoreCanceled(ctx, o.stream(ctx, t.Client, t.Label+": ", emit))
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

// stream sends one node's container or kubelet log lines to emit.
func (o *logsOptions) stream(ctx context.Context, client node.Client, prefix string, emit func(prefix, line string) error) error {
	if o.kubelet {
		return client.KubeletLog(ctx, o.kubeletReq, func(r kubeletlog.Record) error {
			return emit(prefix, strings.TrimRight(r.Raw, "\n"))
		})
	}
	return client.ContainerLog(ctx, o.containerReq, func(l podlog.Line) error {
		if o.timestamps {
			return emit(prefix, l.TS.Format(time.RFC3339Nano)+" "+l.Stream+" "+l.Msg)
		}
		return emit(prefix, l.Msg)
	})
}

// ignoreCanceled turns the end of a follow by Ctrl-C into a clean exit.
func ignoreCanceled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
