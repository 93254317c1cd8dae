package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/internal/podurl"
	"github.com/spdoc/spdoc/internal/staticpod"
)

func init() { subcommands = append(subcommands, newValidateCmd) }

type validateOptions struct {
	paths  []string
	output string
	strict bool
	config bool

	stdinFile string // where "-" was copied to
	podList   bool   // --pod-list: staticPodURL bodies (files or http(s):// URLs)
	nodeName  string // --node-name: the kubelet validates <name>-<node>

	stdout io.Writer
}

func newValidateCmd() *cobra.Command {
	o := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate FILE|DIR|-...",
		Short: "Check static pod manifests offline with the kubelet's rules",
		Long: `validate decodes and validates static pod manifests the way the kubelet does, without a
node: what the kubelet would reject (errors) and what commonly bites static pods (warnings).
A directory is read like the kubelet reads its manifest directory (no recursion, dotfiles
skipped) and also checked for pods defined twice and backup files the kubelet would load.
With --config, files are agent configs (spdoc pods:, Talos machine.pods, KubeStaticPodConfig).

A file that is not a pod manifest says what it is (another kind of object, an agent config,
binary data); pods on the host network that bind the same port are a conflict. "-" reads a
manifest from stdin. Each problem is one line: path:line: field: Type: detail (error|warning).
Exit status: 0 valid, 1 errors found (or warnings with --strict, or nothing to validate),
2 spdoc itself failed.`,
		Example: `  spdoc validate /etc/kubernetes/manifests
  spdoc validate --strict image/rootfs/etc/kubernetes/manifests/*.yaml
  spdoc validate --config /etc/spdoc/pods.yaml -o json
  kubectl get pod x -o yaml | spdoc validate -
  spdoc validate --pod-list --node-name talos-cp-1 http://127.0.0.1:50000/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return userError(err)
			}
			if err := o.Validate(); err != nil {
				return userError(err)
			}
			defer removeTempDirs()
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text|json")
	cmd.Flags().BoolVar(&o.strict, "strict", false, "fail (exit 1) on warnings too")
	cmd.Flags().BoolVar(&o.config, "config", false, "read files as spdoc agent configs instead of manifests")
	cmd.Flags().BoolVar(&o.podList, "pod-list", false, "read each argument as what the kubelet's staticPodURL serves (a PodList or Pod): a file, or an http(s):// URL fetched as the kubelet does; says which item makes the kubelet reject the whole list")
	cmd.Flags().StringVar(&o.nodeName, "node-name", "", "with --pod-list: the node name the kubelet appends to pod names (<name>-<node>) before it validates them")
	return cmd
}

func (o *validateOptions) Complete(cmd *cobra.Command, args []string) error {
	o.paths = append([]string(nil), args...)
	o.stdout = cmd.OutOrStdout()
	for i, p := range o.paths {
		if p != "-" {
			continue
		}
		if o.stdinFile != "" {
			return errors.New("- (stdin) named twice")
		}
		data, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 8<<20))
		if err != nil {
			return fmt.Errorf("reading stdin: %w", err)
		}
		dir, err := os.MkdirTemp("", "spdoc-validate-")
		if err != nil {
			return err
		}
		tempMu.Lock()
		tempDirs = append(tempDirs, dir)
		tempMu.Unlock()
		o.stdinFile = filepath.Join(dir, "stdin.yaml")
		if err := os.WriteFile(o.stdinFile, data, 0o600); err != nil {
			return err
		}
		o.paths[i] = o.stdinFile
	}
	return nil
}

func (o *validateOptions) Validate() error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	if o.podList && o.config {
		return errors.New("--pod-list and --config read files two different ways: pick one")
	}
	return nil
}

// Run validates every path and prints the problems; errors (or warnings with --strict) exit 1.
func (o *validateOptions) Run() error {
	var files []string
	res := &staticpod.CheckResult{Problems: []staticpod.Problem{}}
	for _, p := range o.paths {
		if !o.podList || !(strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://")) {
			files = append(files, p)
			continue
		}
		// Fetched as the kubelet's URL source does (timeout, size cap, 200 only); a URL that
		// cannot be read is a tool failure, like a missing file.
		body, _, err := podurl.Get(context.Background(), podurl.Source{URL: p}, nil)
		if err != nil {
			return err
		}
		res.AddList(staticpod.DecodeList(podurl.RedactURL(p), body, o.nodeName))
	}
	if len(files) > 0 {
		fr, err := staticpod.CheckPaths(files, staticpod.CheckOptions{Config: o.config, PodList: o.podList, NodeName: o.nodeName})
		if errors.Is(err, fs.ErrNotExist) {
			return userError(err)
		}
		if err != nil {
			return err
		}
		res.Merge(fr)
	}
	if o.stdinFile != "" {
		for i := range res.Problems {
			res.Problems[i].Path = strings.ReplaceAll(res.Problems[i].Path, o.stdinFile, "(stdin)")
		}
	}
	var err error
	if o.output == "json" {
		err = res.WriteJSON(o.stdout)
	} else {
		err = res.WriteText(o.stdout)
	}
	if err != nil {
		return errors.Join(errors.New("writing the result"), err)
	}
	if res.Errors > 0 || (o.strict && res.Warnings > 0) {
		return exitCodeError{1}
	}
	return nil
}
