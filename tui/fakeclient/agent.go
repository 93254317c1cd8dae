package fakeclient

import (
	"context"
	"fmt"
	"sync"

	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
)

// Agent is a fake agent config API (the TUI's common.AgentConfig): a config file, the static pods
// rendered from it and the configs applied to it.
type Agent struct {
	mu      sync.Mutex
	path    string
	config  []byte
	pods    []api.StaticPod
	applied [][]byte
	reads   int

	// ConfigErr makes Config fail (a reader certificate's 403).
	ConfigErr error
	// Refuse, when set, is the answer of the next Apply (with an error), like an agent whose own
	// check turns the config down; the config stays as it was.
	Refuse *api.ApplyResult
}

// NewAgent returns an agent whose config at path is config and which owns pods.
func NewAgent(path string, config []byte, pods ...api.StaticPod) *Agent {
	return &Agent{path: path, config: config, pods: pods}
}

// StaticPods lists the pods the agent owns.
func (a *Agent) StaticPods(context.Context) ([]api.StaticPod, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]api.StaticPod(nil), a.pods...), nil
}

// Config returns the current config and its path, or ConfigErr.
func (a *Agent) Config(context.Context) ([]byte, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reads++
	if a.ConfigErr != nil {
		return nil, "", a.ConfigErr
	}
	return append([]byte(nil), a.config...), a.path, nil
}

// Apply records config and replaces the current one (unless Refuse is set); the result says
// every owned manifest was written.
func (a *Agent) Apply(_ context.Context, config []byte) (*api.ApplyResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.applied = append(a.applied, append([]byte(nil), config...))
	if r := a.Refuse; r != nil {
		a.Refuse = nil
		return r, fmt.Errorf("fake agent: %w: config not fully applied (HTTP 422)", node.ErrAgent)
	}
	a.config = append([]byte(nil), config...)
	res := &api.ApplyResult{Config: a.path}
	for _, p := range a.pods {
		res.Written = append(res.Written, p.Manifest)
	}
	return res, nil
}

// SetConfig changes the config behind the TUI's back (another apply, an edit on the node).
func (a *Agent) SetConfig(config []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.config = append([]byte(nil), config...)
}

// Applied returns every config sent to Apply, refused ones included.
func (a *Agent) Applied() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([][]byte(nil), a.applied...)
}

// ConfigReads counts Config calls.
func (a *Agent) ConfigReads() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reads
}
