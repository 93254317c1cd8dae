package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
	"github.com/spdoc/spdoc/internal/node"
	"github.com/spdoc/spdoc/internal/podview"
)

// TestStatusesAgreeWithDiagnose: `spdoc get staticpodstatus` (Statuses) and `spdoc diagnose`
// (Analyze) read the runtime through the same view (internal/podview), so on the same snapshot
// they list the same current container instances, and the report's pod state only refines the
// runtime's with what the runtime cannot know. Runs over nodes captured from a real kubelet.
func TestStatusesAgreeWithDiagnose(t *testing.T) {
	for _, root := range []string{"../testdata/nodes/broken", "../testdata/nodes/broken-text"} {
		t.Run(root, func(t *testing.T) {
			c := node.NewLocal(node.LocalOptions{Root: root, NodeName: "node1"})
			defer c.Close()
			snap, err := c.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if snap.Runtime == nil || !snap.Runtime.Reachable || len(snap.Runtime.Containers) == 0 {
				t.Fatalf("%s/runtime.json gave no runtime view", root)
			}
			rep := diagnose.Analyze(snap, diagnose.Options{})
			statuses := map[string]api.StaticPodStatus{}
			for _, st := range Statuses(snap) {
				statuses[st.ID] = st
			}
			compared := 0
			for _, p := range rep.Pods {
				st, ok := statuses[p.ID]
				if !ok {
					continue // an orphan: known from the log only, the agent lists manifests
				}
				compared++
				// both list containers in a stable order: diagnose by name, the agent manifest first
				var dc, ac []string
				for _, c := range p.Containers {
					dc = append(dc, fmt.Sprintf("%s/%s/%s/%d", c.Name, c.ID, c.State, c.RestartCount))
				}
				for _, c := range st.Containers {
					ac = append(ac, fmt.Sprintf("%s/%s/%s/%d", c.Name, c.ID, c.State, c.RestartCount))
				}
				slices.Sort(dc)
				slices.Sort(ac)
				if strings.Join(dc, " ") != strings.Join(ac, " ") {
					t.Errorf("%s: diagnose containers %v, agent %v", p.ID, dc, ac)
				}
				if !refines(st.Phase, p.State) {
					t.Errorf("%s: diagnose says %s, the runtime view %s", p.ID, p.State, st.Phase)
				}
			}
			if compared < 5 {
				t.Fatalf("compared %d pods; the captured node has more", compared)
			}
		})
	}
}

// refines: the report's state is the runtime's, or one the runtime cannot see (a manifest the
// kubelet rejects or that is gone, a crash loop the kubelet log shows, a problem that blocks the
// start). Running is never made up, nor taken away without a reason.
func refines(runtime, report podview.State) bool {
	switch {
	case report == runtime:
		return true
	case report == podview.Invalid || report == podview.Gone || report == podview.CrashLoop:
		return true
	case report == podview.Pending:
		return runtime == podview.NotStarted || runtime == podview.CrashLoop
	}
	return false
}
