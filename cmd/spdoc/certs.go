package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/agent"
	"github.com/spdoc/spdoc/internal/api"
)

func init() { subcommands = append(subcommands, newCertsCmd) }

type certsOptions struct {
	out    string
	hosts  []string
	days   int
	force  bool
	client string
	role   string
	stdout io.Writer
}

func newCertsCmd() *cobra.Command {
	o := &certsOptions{}
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Create a CA, an agent server certificate and admin/reader client certificates (ECDSA P-256)",
		Long: `certs writes ca.crt/ca.key, server.crt/server.key (for spdoc agent --tls-cert/--tls-key,
with ca.crt as --client-ca), admin.crt/admin.key (organization spdoc:admin) and
reader.crt/reader.key (spdoc:reader) into --out. Keys are mode 0600. With --client NAME it
instead adds one client certificate signed by the existing CA in --out.`,
		Example: `  spdoc certs --out /etc/spdoc/pki --hosts node1,10.0.0.5
  spdoc certs --out /etc/spdoc/pki --client alice --role reader`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stdout = cmd.OutOrStdout()
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.out, "out", "", "output directory (created with mode 0700)")
	cmd.Flags().StringSliceVar(&o.hosts, "hosts", nil, "DNS names and IPs of the agent (localhost and 127.0.0.1 are always included)")
	cmd.Flags().IntVar(&o.days, "days", 365, "validity in days")
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite existing files")
	cmd.Flags().StringVar(&o.client, "client", "", "only add a client certificate with this common name")
	cmd.Flags().StringVar(&o.role, "role", "reader", "role of --client: reader or admin")
	return cmd
}

func (o *certsOptions) Validate() error {
	if o.out == "" {
		return errors.New("--out is required")
	}
	if o.days <= 0 {
		return fmt.Errorf("--days %d: must be positive", o.days)
	}
	if o.client != "" && o.role != "reader" && o.role != "admin" {
		return fmt.Errorf("--role %q: want reader or admin", o.role)
	}
	if strings.ContainsAny(o.client, "/\\") || strings.HasPrefix(o.client, ".") {
		return fmt.Errorf("--client %q: must be a plain name (it becomes <name>.crt)", o.client)
	}
	return nil
}

func (o *certsOptions) Run(context.Context) error {
	validity := time.Duration(o.days) * 24 * time.Hour
	if o.client != "" {
		role := api.RoleReader
		if o.role == "admin" {
			role = api.RoleAdmin
		}
		if err := agent.ClientCert(o.out, o.client, role, validity); err != nil {
			return err
		}
		fmt.Fprintf(o.stdout, "wrote %s/%s.crt and %s.key (%s)\n", o.out, o.client, o.client, role)
		return nil
	}
	if err := agent.GenerateCerts(agent.CertOptions{Dir: o.out, Hosts: o.hosts, Validity: validity, Overwrite: o.force}); err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "wrote %s into %s\n", strings.Join(agent.CertFiles, ", "), o.out)
	return nil
}
