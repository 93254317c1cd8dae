package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/spdoc/spdoc/agent"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
)

func init() { subcommands = append(subcommands, newApplyCmd) }

// agentClientFlags are the credentials for talking to an agent over TCP (https://).
type agentClientFlags struct {
	ca, cert, key string
	raw           bool // ask for unredacted data (admins only): diagnose --no-redact
}

func (f *agentClientFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.ca, "ca", "", "CA of the agent's server certificate (https:// agents)")
	fs.StringVar(&f.cert, "cert", "", "client certificate (spdoc certs: admin.crt or reader.crt)")
	fs.StringVar(&f.key, "key", "", "client key")
}

// newClientForAgent returns a node.Client for one agent address (unix:///path or
// https://host:port); the lead's --agent fan-out uses it per agent.
func newClientForAgent(target string, f agentClientFlags) (node.Client, error) {
	return node.NewRemote(target, node.RemoteOptions{CA: f.ca, Cert: f.cert, Key: f.key, Raw: f.raw})
}

type applyOptions struct {
	agent  string
	creds  agentClientFlags
	file   string
	stdout io.Writer
	stdin  io.Reader
}

func newApplyCmd() *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Send a new static pod config to an agent (admin only); - reads stdin",
		Long: `apply sends FILE to the agent, which validates it, writes it as its config file
atomically and reconciles the manifest directory. A config that does not parse or has a pod
the kubelet would reject is refused and nothing changes. Exit status: 0 applied, 1 refused
(the reasons are printed), 2 spdoc or the connection failed.`,
		Example: `  spdoc apply pods.yaml
  spdoc apply pods.yaml --agent https://node1:7443 --ca pki/ca.crt --cert pki/admin.crt --key pki/admin.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stdout, o.stdin = cmd.OutOrStdout(), cmd.InOrStdin()
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.agent, "agent", agent.DefaultListen, "agent address: unix:///path or https://host:port")
	o.creds.AddFlags(cmd.Flags())
	return cmd
}

func (o *applyOptions) Complete(args []string) error {
	o.file = args[0]
	return nil
}

func (o *applyOptions) Validate() error {
	if o.agent == "" {
		return errors.New("--agent is empty")
	}
	return nil
}

func (o *applyOptions) Run(ctx context.Context) error {
	var data []byte
	var err error
	if o.file == "-" {
		data, err = io.ReadAll(io.LimitReader(o.stdin, 16<<20))
	} else {
		data, err = os.ReadFile(o.file)
	}
	if err != nil {
		return fmt.Errorf("reading config %q: %w", o.file, err)
	}
	r, err := node.DialRemote(o.agent, node.RemoteOptions{CA: o.creds.ca, Cert: o.creds.cert, Key: o.creds.key})
	if err != nil {
		return err
	}
	defer r.Close()
	res, err := r.Apply(ctx, data)
	if res != nil {
		printApplyResult(o.stdout, o.file, res)
	}
	if err != nil {
		if res != nil && errors.Is(err, node.ErrAgent) {
			return exitCodeError{1}
		}
		return err
	}
	return nil
}

func printApplyResult(w io.Writer, file string, res *api.ApplyResult) {
	if res.ParseError != "" {
		fmt.Fprintf(w, "refused: %s does not parse: %s\n", file, res.ParseError)
		return
	}
	for _, p := range res.Invalid {
		fmt.Fprintf(w, "refused: pod %s is invalid:\n", p.ID)
		for _, i := range p.Issues {
			loc := ""
			if i.Line > 0 {
				loc = fmt.Sprintf("%s:%d: ", file, i.Line)
			}
			fmt.Fprintf(w, "  %s%s (%s)\n", loc, i.String(), i.Severity)
		}
	}
	if len(res.Invalid) > 0 {
		fmt.Fprintln(w, "nothing was changed")
		return
	}
	for _, f := range res.Written {
		fmt.Fprintf(w, "written   %s\n", f)
	}
	for _, f := range res.Unchanged {
		fmt.Fprintf(w, "unchanged %s\n", f)
	}
	for _, f := range res.Removed {
		fmt.Fprintf(w, "removed   %s\n", f)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "error     %s\n", e)
	}
	if res.OK() {
		fmt.Fprintf(w, "applied to %s\n", res.Config)
	}
}
