package agent

import (
	"testing"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
)

// TestFindingKeyIsIdentity: a crash loop whose title, evidence and exit code change with every
// restart keeps its key, so a watch client sees it MODIFIED, never DELETED and ADDED again; what it
// is about (kind, pod, file, container, subject) makes the key.
func TestFindingKeyIsIdentity(t *testing.T) {
	crash := func(restarts int, container string) diagnose.Finding {
		f := diagnose.NewFinding(diagnose.KindCrashLoop, diagnose.About{Pod: "kube-system-etcd", File: "/m/etcd.yaml", Container: container})
		f.Title = "container etcd keeps crashing (exit code 1, " + string(rune('0'+restarts)) + " restarts)"
		f.Evidence = []diagnose.Evidence{{Source: "cri", Line: "exited", Count: restarts}}
		return f
	}
	if findingKey(crash(3, "etcd")) != findingKey(crash(4, "etcd")) {
		t.Error("a crash loop's key changed with its restart count")
	}
	for name, other := range map[string]diagnose.Finding{
		"another container": crash(3, "sidecar"),
		"another pod":       diagnose.NewFinding(diagnose.KindCrashLoop, diagnose.About{Pod: "kube-system-apiserver", File: "/m/etcd.yaml", Container: "etcd"}),
		"another kind":      diagnose.NewFinding(diagnose.KindOOMKilled, diagnose.About{Pod: "kube-system-etcd", File: "/m/etcd.yaml", Container: "etcd"}),
		"another source":    diagnose.NewFinding(diagnose.KindSourceError, diagnose.About{Subject: "pod-logs"}),
	} {
		if findingKey(other) == findingKey(crash(3, "etcd")) {
			t.Errorf("%s has the crash loop's key", name)
		}
	}
	if a, b := diagnose.NewFinding(diagnose.KindSourceError, diagnose.About{Subject: "pod-logs"}), diagnose.NewFinding(diagnose.KindSourceError, diagnose.About{Subject: "runtime"}); findingKey(a) == findingKey(b) {
		t.Error("source errors about different sources share a key")
	}

	set := newWatchSet(func(f Finding) string { return f.Key })
	_, events, cancel := set.Watch()
	defer cancel()
	publish := func(f diagnose.Finding) { set.Replace([]Finding{{Key: findingKey(f), Finding: f}}) }
	publish(crash(3, "etcd"))
	publish(crash(4, "etcd"))
	var got []api.EventType
	for len(events) > 0 {
		got = append(got, (<-events).Type)
	}
	if len(got) != 2 || got[0] != api.Added || got[1] != api.Modified {
		t.Errorf("events %v, want [ADDED MODIFIED]", got)
	}
}

// TestNewFindingDefaults: findings built outside Analyze get the catalogue's severity and carry
// their identity in its fields.
func TestNewFindingDefaults(t *testing.T) {
	f := diagnose.NewFinding(diagnose.KindProbeFailed, diagnose.About{Pod: "p", Container: "c"})
	if f.Severity != diagnose.SeverityWarning || f.Pod != "p" || f.Container != "c" || f.About() != (diagnose.About{Pod: "p", Container: "c"}) {
		t.Errorf("NewFinding = %+v", f)
	}
}
