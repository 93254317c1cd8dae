package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/diagnose/bundle"
	"github.com/spdoc/spdoc/internal/manifestdir"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/redact"
	"github.com/spdoc/spdoc/internal/staticpod"
	"github.com/spdoc/spdoc/tui"
	"github.com/spdoc/spdoc/tui/common"
	"github.com/spdoc/spdoc/tui/styles"
)

func init() { subcommands = append(subcommands, newTUICmd) }

type tuiOptions struct {
	node    nodeFlags
	agent   string
	agents  []string // --agent, the same flag type as every command's; one for the TUI
	creds   agentClientFlags
	refresh time.Duration
	buffer  int
	editor  string
	dir     string

	bundleIn   string // --bundle-in: a spdoc bundle or a talosctl support bundle, read-only
	bundleNode string // --bundle-node: which node folder of a talosctl bundle
}

func newTUICmd() *cobra.Command {
	o := &tuiOptions{}
	cmd := &cobra.Command{
		Use:   "tui",
		Short: "Interactive troubleshooting: static pods, kubelet findings and live logs side by side",
		Long: `tui shows every static pod of the node with a status badge and its top finding; for the
selected pod its root-cause finding with evidence and next step, and its live container log
next to the kubelet log lines about it. d shows the full report (S saves it as markdown),
e edits the pod's manifest in $EDITOR, validated before it is written atomically (with
--agent: the agent's config, for the pods the agent manages, validated and applied through the
agent; needs an admin certificate). ? lists every key.

On the live node by default (no agent needed); --agent reads a remote spdoc agent;
--root DIR opens a copied node or an unpacked support bundle read-only.`,
		Example: `  spdoc tui
  spdoc tui --manifests /etc/kubernetes/manifests --kubelet-log /var/log/kubelet.log
  spdoc tui --agent unix:///run/spdoc/agent.sock
  spdoc tui --agent https://node1:7443 --ca pki/ca.crt --cert pki/reader.crt --key pki/reader.key
  spdoc tui --root ./bundle --node-name node1`,
		Args: cobra.NoArgs,
		RunE: runLifecycle(o),
	}
	o.node.AddFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringSliceVar(&o.agents, "agent", nil, "read a remote spdoc agent (unix:///run/spdoc/agent.sock or https://host:port) instead of this machine; the TUI shows one node")
	o.creds.AddFlags(fs)
	fs.DurationVar(&o.refresh, "refresh", 2*time.Second, "how often the node is read again")
	fs.IntVar(&o.buffer, "buffer-lines", 10000, "lines kept per log pane (older lines are dropped)")
	fs.StringVar(&o.dir, "save-dir", "", "where s and S offer to save logs and reports (default $XDG_STATE_HOME/spdoc, else ~/.local/state/spdoc, else $TMPDIR/spdoc; never the manifest dir)")
	fs.StringVar(&o.bundleIn, "bundle-in", "", "open a support bundle read-only: a spdoc bundle (tar.gz) or a talosctl support bundle (zip)")
	fs.StringVar(&o.bundleNode, "bundle-node", "", "with a talosctl support bundle: the node folder to open (default: the first)")
	return cmd
}

// Complete picks the editor ($VISUAL, then $EDITOR) and the directory saved files go to
// ($XDG_STATE_HOME/spdoc…: never the working directory, often the manifest dir on a node).
// On a live node the TUI re-reads the node every --refresh, so unless --since is given it reads
// the last hour of the kubelet log (a seek, not a scan) rather than a possibly huge whole file;
// the kubelet repeats every current problem well within that window.
func (o *tuiOptions) Complete(cmd *cobra.Command, _ []string) error {
	if o.node.root == "" && o.bundleIn == "" && !cmd.Flags().Changed("since") {
		o.node.since = time.Hour
	}
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if e := os.Getenv(v); e != "" {
			o.editor = e
			break
		}
	}
	if o.dir == "" {
		o.dir = common.DefaultSaveDir()
	}
	return nil
}

func (o *tuiOptions) Validate() error {
	switch len(o.agents) {
	case 0:
	case 1:
		o.agent = o.agents[0]
	default:
		return fmt.Errorf("--agent %s: the TUI shows one node; pick one agent (diagnose, get and logs read several)", strings.Join(o.agents, ","))
	}
	if o.refresh < 100*time.Millisecond {
		return fmt.Errorf("--refresh %s: must be at least 100ms", o.refresh)
	}
	if o.buffer < 100 {
		return fmt.Errorf("--buffer-lines %d: must be at least 100", o.buffer)
	}
	if o.agent != "" && o.node.root != "" {
		return errors.New("--agent and --root name two different sources: pick one")
	}
	if o.agent == "" {
		return o.node.Validate()
	}
	return nil
}

// Run starts the TUI over the node client until the user quits.
func (o *tuiOptions) Run(ctx context.Context) error {
	var client node.Client
	var err error
	o.node.bundleNode = o.bundleNode // also for --root of an unzipped talosctl bundle
	if o.bundleIn != "" {
		if o.agent != "" || o.node.root != "" {
			return errors.New("--bundle-in names the node: drop --agent and --root")
		}
		unpacked := ""
		closeIn, err := bundleIn(ctx, &o.node, o.bundleIn, o.bundleNode, func(p string) error {
			dir, err := os.MkdirTemp("", "spdoc-bundle-")
			if err != nil {
				return err
			}
			unpacked = dir
			o.node.root = dir
			return bundle.Extract(ctx, p, dir)
		})
		defer func() {
			closeIn()
			if unpacked != "" {
				os.RemoveAll(unpacked)
			}
		}()
		if err != nil {
			return fmt.Errorf("--bundle-in: %w", err)
		}
	}
	if o.agent != "" {
		client, err = newClientForAgent(o.agent, o.creds)
	} else {
		client, err = o.node.Client(ctx)
	}
	if err != nil {
		return fmt.Errorf("connecting to the node: %w", err)
	}
	defer client.Close()
	red := redact.New(redact.Options{})
	env := tui.Env{
		Client: client,
		Analyze: func(s *node.Snapshot) *diagnose.Report {
			r := diagnose.Analyze(s, diagnose.Options{})
			addBundleLimits(s, r, o.node.preset)
			r.Redact(red.String)
			return r
		},
		Render: func(w io.Writer, r *diagnose.Report, format string) error {
			return diagnose.Render(w, r, format, diagnose.RenderOptions{})
		},
		Decode:      staticpod.DecodeFile,
		Editor:      o.editor,
		Dir:         o.dir,
		Refresh:     o.refresh,
		BufferLines: o.buffer,
	}
	// Editing writes the manifest dir of this machine. A copied node (--root) is read-only. An
	// agent owns only the pods of its config, whose apply replaces the file whole: e on one of
	// them edits the agent's config (GET /v1/config, then apply; admin only), other manifests of
	// the agent's node stay read-only.
	switch r, isRemote := client.(*node.Remote); {
	case isRemote:
		env.Agent = r
	case o.agent == "" && o.node.root == "" && o.bundleIn == "":
		env.Manifests = tui.LocalManifests{WriteFile: manifestdir.Write}
	}
	renderer := styles.NewRenderer()
	styles.DetectBackground(renderer, styles.QueryTimeout)
	p := tea.NewProgram(tui.New(env, renderer), tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("running the TUI: %w", err)
	}
	return nil
}
