package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/spdoc/spdoc/internal/api"
)

func init() { subcommands = append(subcommands, newVersionCmd) }

// versionString is spdoc's version: the release set at link time (-X main.agentVersion=v1.2.3),
// else the VCS revision the binary was built from (with +dirty for uncommitted changes).
func versionString() string {
	if agentVersion != "dev" {
		return agentVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return "dev"
	}
	return "dev-" + shortID(rev) + dirty
}

type versionOptions struct {
	agent  agentFlags
	output string
	stdout io.Writer
}

// versionInfo is what `spdoc version -o json` prints: this binary, and each agent asked.
type versionInfo struct {
	Client api.VersionInfo          `json:"client"`
	Agents map[string]agentVersionV `json:"agents,omitempty"`
}

type agentVersionV struct {
	*api.VersionInfo `json:",inline"`
	Error            string `json:"error,omitempty"`
}

func newVersionCmd() *cobra.Command {
	o := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print spdoc's version (and, with --agent, each agent's)",
		Example: `  spdoc version
  spdoc version --agent unix:///run/spdoc/agent.sock -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.stdout = cmd.OutOrStdout()
			if o.output != "text" && o.output != "json" {
				return usageError{fmt.Errorf("--output %q: want text or json", o.output)}
			}
			return o.Run(cmd.Context())
		},
	}
	o.agent.AddFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text|json")
	return cmd
}

func (o *versionOptions) Run(ctx context.Context) error {
	info := versionInfo{Client: api.VersionInfo{Version: versionString(), APIVersion: api.Version, GoVersion: runtime.Version()}}
	failed := 0
	for _, t := range o.agent.targets {
		if info.Agents == nil {
			info.Agents = map[string]agentVersionV{}
		}
		v, err := agentVersionOf(ctx, t, o.agent.creds)
		if err != nil {
			failed++
			info.Agents[t] = agentVersionV{Error: err.Error()}
			continue
		}
		info.Agents[t] = agentVersionV{VersionInfo: v}
	}
	if o.output == "json" {
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(info); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(o.stdout, "spdoc %s (API %s, %s)\n", info.Client.Version, info.Client.APIVersion, info.Client.GoVersion)
		for _, t := range o.agent.targets {
			a := info.Agents[t]
			if a.Error != "" {
				fmt.Fprintf(o.stdout, "agent %s: %s\n", t, a.Error)
				continue
			}
			fmt.Fprintf(o.stdout, "agent %s: spdoc %s (API %s, %s, node %s)\n", t, a.Version, a.APIVersion, a.GoVersion, orDash(a.Node))
		}
	}
	if failed > 0 {
		return exitCodeError{2}
	}
	return nil
}

func agentVersionOf(ctx context.Context, target string, creds agentClientFlags) (*api.VersionInfo, error) {
	c, err := newClientForAgent(target, creds)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	v, ok := c.(interface {
		Version(context.Context) (*api.VersionInfo, error)
	})
	if !ok {
		return nil, fmt.Errorf("%s does not report a version", target)
	}
	return v.Version(ctx)
}
