package agent

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/spdoc/spdoc/diagnose"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func crashReport(problem bool) *diagnose.Report {
	r := &diagnose.Report{Node: diagnose.NodeReport{Name: "n1"}, Pods: []diagnose.PodReport{
		{ID: "kube-system-etcd", Namespace: "kube-system", Name: "etcd", KubeletName: "etcd-n1"},
		{ID: "default-web", Namespace: "default", Name: "web", KubeletName: "web-n1"},
	}}
	if problem {
		r.Pods[0].Findings = []diagnose.Finding{{Kind: diagnose.KindCrashLoop, Severity: diagnose.SeverityError, Container: "etcd",
			Title: "container etcd keeps crashing (exit code 1)", Hint: "spdoc logs kube-system/etcd -p"}}
		r.Pods[1].Findings = []diagnose.Finding{{Kind: diagnose.KindImageNotPresent, Severity: diagnose.SeverityError, Title: "image web:1 is not on the node"}}
	}
	return r
}

func nodeCondition(t *testing.T, cs *fake.Clientset) *corev1.NodeCondition {
	t.Helper()
	n, err := cs.CoreV1().Nodes().Get(context.Background(), "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == ConditionStaticPodsHealthy {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

func events(t *testing.T, cs *fake.Clientset) []corev1.Event {
	t.Helper()
	var out []corev1.Event
	for _, ns := range []string{"default", "kube-system"} {
		l, err := cs.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.Items...)
	}
	return out
}

func TestKubeReporterCondition(t *testing.T) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}}}}
	cs := fake.NewClientset(node)
	clk := &clock{time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	k, err := NewKubeReporter(KubeReporterOptions{Client: fakeAPI{cs}, NodeName: "n1", Heartbeat: 5 * time.Minute, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k.Sync(ctx, crashReport(false))
	c := nodeCondition(t, cs)
	if c == nil || c.Status != corev1.ConditionTrue || c.Reason != "StaticPodsRunning" {
		t.Fatalf("healthy: condition %+v", c)
	}
	n, _ := cs.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if len(n.Status.Conditions) != 2 {
		t.Errorf("the kubelet's Ready condition must stay: %+v", n.Status.Conditions)
	}
	clk.advance(time.Minute)
	k.Sync(ctx, crashReport(true))
	c = nodeCondition(t, cs)
	if c.Status != corev1.ConditionFalse || c.Reason != "CrashLoop" || c.Message != "spdoc: kube-system/etcd: container etcd keeps crashing (exit code 1) (+1 more: spdoc diagnose)" {
		t.Errorf("problem: condition %+v", c)
	}
	if !c.LastTransitionTime.Time.Equal(clk.t) {
		t.Errorf("transition time %v, want %v", c.LastTransitionTime, clk.t)
	}
	transition := clk.t
	updates := k.Stats().ConditionUpdates
	// Unchanged within the heartbeat: nothing sent. After it: re-sent, transition time kept.
	clk.advance(time.Minute)
	k.Sync(ctx, crashReport(true))
	if got := k.Stats().ConditionUpdates; got != updates {
		t.Errorf("unchanged condition re-sent before the heartbeat (%d → %d updates)", updates, got)
	}
	clk.advance(5 * time.Minute)
	k.Sync(ctx, crashReport(true))
	c = nodeCondition(t, cs)
	if k.Stats().ConditionUpdates != updates+1 || !c.LastHeartbeatTime.Time.Equal(clk.t) || !c.LastTransitionTime.Time.Equal(transition) {
		t.Errorf("heartbeat: %d updates, condition %+v (transition want %v)", k.Stats().ConditionUpdates, c, transition)
	}
	// Healthy again: the condition goes back to True only once that has lasted Settle (2m).
	k.Sync(ctx, crashReport(false))
	clk.advance(time.Minute)
	k.Sync(ctx, crashReport(false))
	if c = nodeCondition(t, cs); c.Status != corev1.ConditionFalse {
		t.Errorf("healthy for 1m: condition %s, want still False (not settled)", c.Status)
	}
	clk.advance(time.Minute)
	k.Sync(ctx, crashReport(false))
	if c = nodeCondition(t, cs); c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(clk.t) {
		t.Errorf("healthy for 2m: condition %+v, want True from now", c)
	}
}

func TestKubeReporterEvents(t *testing.T) {
	mirror := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "etcd-n1", Namespace: "kube-system", UID: "mirror-uid",
		Annotations: map[string]string{"kubernetes.io/config.mirror": "abc"}}}
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, mirror)
	clk := &clock{time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	k, err := NewKubeReporter(KubeReporterOptions{Client: fakeAPI{cs}, NodeName: "n1", EventBackoff: 5 * time.Minute, MaxEventBackoff: 20 * time.Minute, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k.Sync(ctx, crashReport(true))
	evs := events(t, cs)
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2 (one per root cause): %+v", len(evs), evs)
	}
	byReason := map[string]corev1.Event{}
	for _, e := range evs {
		byReason[e.Reason] = e
	}
	etcd := byReason["CrashLoop"]
	if etcd.InvolvedObject.Kind != "Pod" || etcd.InvolvedObject.UID != "mirror-uid" || etcd.InvolvedObject.FieldPath != "spec.containers{etcd}" ||
		etcd.Type != corev1.EventTypeWarning || etcd.Source.Component != "spdoc-agent" {
		t.Errorf("crash loop event not on the mirror pod's container: %+v", etcd)
	}
	web := byReason["ImageNotPresent"]
	if web.InvolvedObject.Kind != "Node" || web.InvolvedObject.Name != "n1" || web.Message != "default/web: image web:1 is not on the node" {
		t.Errorf("a pod without mirror pod is reported on the Node: %+v", web)
	}
	// Persisting: no new event. Gone and back within the backoff (a flap): none. After it: one.
	k.Sync(ctx, crashReport(true))
	clk.advance(time.Minute)
	k.Sync(ctx, crashReport(false))
	clk.advance(time.Minute)
	k.Sync(ctx, crashReport(true))
	if n := len(events(t, cs)); n != 2 {
		t.Errorf("%d events after a persisting problem and a quick flap, want 2", n)
	}
	k.Sync(ctx, crashReport(false))
	clk.advance(5 * time.Minute)
	k.Sync(ctx, crashReport(true))
	if n := len(events(t, cs)); n != 4 {
		t.Errorf("%d events after the problem came back past the backoff, want 4", n)
	}
	// The backoff doubled: back again after 6 minutes is still too soon.
	k.Sync(ctx, crashReport(false))
	clk.advance(6 * time.Minute)
	k.Sync(ctx, crashReport(true))
	if n := len(events(t, cs)); n != 4 {
		t.Errorf("%d events, want 4: the second flap must wait a doubled backoff", n)
	}
}

// A flapping pod for an hour at one flap a minute costs a handful of events, not sixty.
func TestKubeReporterFlapBounded(t *testing.T) {
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	clk := &clock{time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	k, _ := NewKubeReporter(KubeReporterOptions{Client: fakeAPI{cs}, NodeName: "n1", Now: clk.now})
	for i := range 60 {
		k.Sync(context.Background(), crashReport(i%2 == 0))
		clk.advance(time.Minute)
	}
	st := k.Stats()
	if st.Events > 8 || st.Events < 2 || st.ConditionUpdates > 15 || st.Errors != 0 {
		t.Errorf("an hour of flapping: %+v, want 2..8 events, at most a heartbeat's worth of condition updates, no errors", st)
	}
	t.Logf("an hour of one flap a minute: %+v", st)
}

func TestKubeReporterRefused(t *testing.T) {
	cs := fake.NewClientset(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	cs.PrependReactor("patch", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "n1", errors.New(`User "system:serviceaccount:spdoc:spdoc-agent" cannot patch resource "nodes/status"`))
	})
	k, _ := NewKubeReporter(KubeReporterOptions{Client: fakeAPI{cs}, NodeName: "n1"})
	changed := 0
	k.onChange = func() { changed++ }
	k.Sync(context.Background(), crashReport(false))
	fs := k.Findings()
	if len(fs) != 1 || fs[0].Severity != diagnose.SeverityWarning || fs[0].Title != "the API server refuses the agent's node condition or events (RBAC)" {
		t.Fatalf("findings %+v", fs)
	}
	if changed != 1 {
		t.Errorf("onChange called %d times, want 1", changed)
	}
	cs.ReactionChain = cs.ReactionChain[1:]
	k.Sync(context.Background(), crashReport(false))
	if fs := k.Findings(); len(fs) != 0 || changed != 2 {
		t.Errorf("after the API accepts again: findings %v, onChange %d", fs, changed)
	}
}

// fakeAPI is the reporter's KubeAPI over client-go's fake clientset (unit tests only; the real
// client, internal/kubeapi, is tested against a real API server in apiserver_root_test.go).
type fakeAPI struct{ cs *fake.Clientset }

func (f fakeAPI) PatchNodeStatus(ctx context.Context, name string, patch []byte) error {
	_, err := f.cs.CoreV1().Nodes().PatchStatus(ctx, name, patch)
	return err
}

func (f fakeAPI) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	return f.cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (f fakeAPI) CreateEvent(ctx context.Context, namespace string, ev *corev1.Event) (*corev1.Event, error) {
	return f.cs.CoreV1().Events(namespace).Create(ctx, ev, metav1.CreateOptions{})
}
