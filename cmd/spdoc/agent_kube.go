package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spdoc/spdoc/agent"
	"github.com/spdoc/spdoc/internal/kubeapi"
)

// kubeReporter builds the node condition and event reporter from --kubeconfig, or from the pod's
// service account when the agent runs in a DaemonSet. Nil when neither is there or
// --report-node-status=false: the agent then works without an API server, as on any node.
func (o *agentOptions) kubeReporter(log *slog.Logger) (*agent.KubeReporter, error) {
	if !o.reportNodeStatus {
		return nil, nil
	}
	var cfg *rest.Config
	var err error
	switch {
	case o.kubeconfig != "":
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", o.kubeconfig, err)
		}
	case os.Getenv("KUBERNETES_SERVICE_HOST") != "":
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster API credentials: %w (or set --kubeconfig)", err)
		}
	default:
		log.Info("no API server credentials (--kubeconfig): node condition and events are off")
		return nil, nil
	}
	cfg.Timeout = 10 * time.Second
	cfg.UserAgent = "spdoc-agent/" + agentVersion
	cs, err := kubeapi.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	nodeName := o.nodeName
	if nodeName == "" {
		nodeName = os.Getenv("NODE_NAME") // the DaemonSet's downward API
	}
	return agent.NewKubeReporter(agent.KubeReporterOptions{Client: cs, NodeName: nodeName, Logger: log})
}
