package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/node"
)

// agentProcEnv makes the test binary run an agent process instead of the tests (TestMain calls
// runAgentProcess): tests that SIGKILL a real agent process need no `go build` of spdoc, which
// kept the fast tier waiting. The process wires the agent as `spdoc agent --no-runtime` does.
const agentProcEnv = "SPDOC_TEST_AGENT_PROCESS"

// agentProcess is an agent process on config cfg, manifest dir md, unix socket sock and kubelet
// log klog; start it with Start.
func agentProcess(cfg, md, sock, klog string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), agentProcEnv+"=1", "SPDOC_TEST_AGENT_CONFIG="+cfg, "SPDOC_TEST_AGENT_MANIFESTS="+md,
		"SPDOC_TEST_AGENT_SOCKET="+sock, "SPDOC_TEST_AGENT_KUBELET_LOG="+klog)
	return cmd
}

// runAgentProcess is the agent process: it runs until SIGTERM/SIGINT (or is killed).
func runAgentProcess() int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	md := os.Getenv("SPDOC_TEST_AGENT_MANIFESTS")
	local := node.NewLocal(node.LocalOptions{ManifestDir: md, KubeletLog: os.Getenv("SPDOC_TEST_AGENT_KUBELET_LOG"), NoRuntime: true})
	defer local.Close()
	a, err := New(Options{
		ConfigPath: os.Getenv("SPDOC_TEST_AGENT_CONFIG"), ManifestDir: md, Codec: StaticPodCodec{}, Node: local,
		Analyze:         func(s *node.Snapshot) *diagnose.Report { return diagnose.Analyze(s, diagnose.Options{}) },
		RefreshInterval: time.Hour, Logger: log,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 2
	}
	ln, err := Listen(ListenOptions{Addr: "unix://" + os.Getenv("SPDOC_TEST_AGENT_SOCKET")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { _ = Serve(ctx, a, ln) }()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		return 1
	}
	return 0
}
