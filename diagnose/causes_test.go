package diagnose

import (
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/kubeletlog"
)

// fbuild is a finding builder for cause tests: kind, container, and options.
func fbuild(kind Kind, container string, opts ...func(*findingBuilder)) *findingBuilder {
	b := &findingBuilder{f: Finding{Kind: kind, Severity: defaultSeverity(kind), Container: container}}
	for _, o := range opts {
		o(b)
	}
	return b
}

func during(from, to int) func(*findingBuilder) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func(b *findingBuilder) {
		b.first, b.last = t0.Add(time.Duration(from)*time.Second), t0.Add(time.Duration(to)*time.Second)
	}
}

func past(b *findingBuilder) { b.f.History = true }

func detail(d string) func(*findingBuilder) {
	return func(b *findingBuilder) { b.f.Detail = d }
}

func exit(code int32) func(*findingBuilder) {
	return func(b *findingBuilder) { b.f.ExitCode = &code }
}

func probe(typ string) func(*findingBuilder) {
	return func(b *findingBuilder) {
		b.recs = append(b.recs, &kubeletlog.Record{Msg: "Probe failed", Fields: map[string]string{"probeType": typ}})
	}
}

func severity(s Severity) func(*findingBuilder) {
	return func(b *findingBuilder) { b.f.Severity = s }
}

// causeCase is one case of TestCauseRules.
type causeCase struct {
	name          string
	cause, effect *findingBuilder
	pod           func(*podState) // extra pod facts; the cause and effect are the pod's findings
	want          bool
}

// moreCauseCases holds the cases of cause rules registered in other files (each file's tests add
// theirs in an init function).
var moreCauseCases = map[string][]causeCase{}

// TestCauseRules: each row of the cause table, asked about a cause and an effect. Every rule needs
// a case where it explains and one where it must not.
func TestCauseRules(t *testing.T) {
	type tcase = causeCase
	blocked := func(p *podState) { p.networkBlocked = true }
	withInvalid := func(p *podState) { p.fs.list = append(p.fs.list, fbuild(KindManifestInvalid, "")) }
	cases := map[string][]tcase{
		"invalid manifest explains what happened to the pod since": {
			{"removal after the manifest broke", fbuild(KindManifestInvalid, "", during(10, 20)), fbuild(KindPodRemoved, "", during(15, 15)), nil, true},
			{"crash loop while invalid", fbuild(KindManifestInvalid, "", during(10, 20)), fbuild(KindCrashLoop, "app", during(12, 30)), nil, true},
			{"facts without records", fbuild(KindManifestInvalid, ""), fbuild(KindSandboxFailed, ""), nil, true},
			{"trouble that ended before is history, not an effect", fbuild(KindManifestInvalid, "", during(10, 20)), fbuild(KindCrashLoop, "app", during(1, 5)), nil, false},
			{"a past invalid manifest explains nothing", fbuild(KindManifestInvalid, "", during(10, 20), past), fbuild(KindPodRemoved, "", during(15, 15)), nil, false},
			{"a history effect stays history", fbuild(KindManifestInvalid, "", during(10, 20)), fbuild(KindCrashLoop, "app", during(15, 16), past), nil, false},
			{"warnings are the author's, not the kubelet's", fbuild(KindManifestInvalid, ""), fbuild(KindManifestWarning, ""), nil, false},
			{"a duplicate is its own problem", fbuild(KindManifestInvalid, ""), fbuild(KindDuplicatePod, ""), nil, false},
		},
		"pod network down explains sandbox failures": {
			{"blocked pod's sandbox", fbuild(KindNetworkNotReady, ""), fbuild(KindSandboxFailed, ""), blocked, true},
			{"pod not blocked (hostNetwork or running)", fbuild(KindNetworkNotReady, ""), fbuild(KindSandboxFailed, ""), nil, false},
			{"past sandbox failure", fbuild(KindNetworkNotReady, ""), fbuild(KindSandboxFailed, "", past), blocked, false},
			{"an image pull is not the network's doing", fbuild(KindNetworkNotReady, ""), fbuild(KindImagePullFailed, "app"), blocked, false},
		},
		"failing liveness probe explains the kill and restart": {
			{"crash loop exit 137", fbuild(KindProbeFailed, "app", probe("Liveness")), fbuild(KindCrashLoop, "app", exit(137)), nil, true},
			{"restart exit 143", fbuild(KindProbeFailed, "app", probe("Startup")), fbuild(KindContainerRestarted, "app", exit(143)), nil, true},
			{"probe type unknown", fbuild(KindProbeFailed, "app"), fbuild(KindCrashLoop, "app", exit(137)), nil, true},
			{"exit 1 is the program's own", fbuild(KindProbeFailed, "app", probe("Liveness")), fbuild(KindCrashLoop, "app", exit(1)), nil, false},
			{"no exit code", fbuild(KindProbeFailed, "app", probe("Liveness")), fbuild(KindCrashLoop, "app"), nil, false},
			{"another container's probe", fbuild(KindProbeFailed, "sidecar", probe("Liveness")), fbuild(KindCrashLoop, "app", exit(137)), nil, false},
			{"readiness probes never kill", fbuild(KindProbeFailed, "app", probe("Readiness")), fbuild(KindCrashLoop, "app", exit(137)), nil, false},
			{"OOM kill is the kernel's", fbuild(KindProbeFailed, "app", probe("Liveness")), fbuild(KindOOMKilled, "app", exit(137)), nil, false},
		},
		"duplicate definitions explain the flapping": {
			{"removal", fbuild(KindDuplicatePod, ""), fbuild(KindPodRemoved, ""), nil, true},
			{"crash loop", fbuild(KindDuplicatePod, ""), fbuild(KindCrashLoop, "app"), nil, true},
			{"mirror pod refusal is the API server's", fbuild(KindDuplicatePod, ""), fbuild(KindMirrorPodFailed, ""), nil, false},
			{"manifest warning", fbuild(KindDuplicatePod, ""), fbuild(KindManifestWarning, ""), nil, false},
			{"history", fbuild(KindDuplicatePod, ""), fbuild(KindPodRemoved, "", past), nil, false},
			{"a current invalid manifest explains instead", fbuild(KindDuplicatePod, ""), fbuild(KindPodRemoved, ""), withInvalid, false},
		},
		"kubelet not running explains a pod that never started": {
			{"kubelet process missing", fbuild(KindKubeletNotRunning, ""), fbuild(KindPodNotStarted, ""), nil, true},
			{"only a stale log (warning)", fbuild(KindKubeletNotRunning, "", severity(SeverityWarning)), fbuild(KindPodNotStarted, ""), nil, false},
			{"a crash loop needs a running kubelet", fbuild(KindKubeletNotRunning, ""), fbuild(KindCrashLoop, "app"), nil, false},
		},
		"sandbox image unavailable explains blocked pods": {
			{"the pod's sandbox", fbuild(KindSandboxImageUnavailable, ""), fbuild(KindSandboxFailed, ""), nil, true},
			{"a pod that never started", fbuild(KindSandboxImageUnavailable, ""), fbuild(KindPodNotStarted, ""), nil, true},
			{"a past sandbox failure", fbuild(KindSandboxImageUnavailable, ""), fbuild(KindSandboxFailed, "", past), nil, false},
			{"an app image pull is the app's", fbuild(KindSandboxImageUnavailable, ""), fbuild(KindImagePullFailed, "app"), nil, false},
			{"a crash loop ran, so it had a sandbox", fbuild(KindSandboxImageUnavailable, ""), fbuild(KindCrashLoop, "app"), nil, false},
		},
		"kubelet crash loop explains a pod that never started": {
			{"never started", fbuild(KindKubeletCrashLoop, ""), fbuild(KindPodNotStarted, ""), nil, true},
			{"a container's own crash loop", fbuild(KindKubeletCrashLoop, ""), fbuild(KindCrashLoop, "app"), nil, false},
		},
		"known kubelet volume wait explains the mount timeout": {
			{"the wait", fbuild(KindKubeletKnownIssue, "", detail(issueVolumeWait)), fbuild(KindVolumeMountFailed, ""), nil, true},
			{"another known issue", fbuild(KindKubeletKnownIssue, "", detail(issueCgroupDriver)), fbuild(KindVolumeMountFailed, ""), nil, false},
			{"not a volume finding", fbuild(KindKubeletKnownIssue, "", detail(issueVolumeWait)), fbuild(KindCrashLoop, "app"), nil, false},
		},
	}
	for name, cs := range moreCauseCases {
		cases[name] = cs
	}
	for _, rule := range causeRules {
		cs, ok := cases[rule.Name]
		if !ok {
			t.Errorf("cause rule %q has no cases in TestCauseRules", rule.Name)
			continue
		}
		delete(cases, rule.Name)
		var yes, no bool
		for _, c := range cs {
			yes, no = yes || c.want, no || !c.want
			t.Run(rule.Name+"/"+c.name, func(t *testing.T) {
				if c.cause.f.Kind != rule.Cause {
					t.Fatalf("case cause is %s, the rule's is %s", c.cause.f.Kind, rule.Cause)
				}
				p := &podState{}
				p.fs.list = []*findingBuilder{c.cause, c.effect}
				if c.pod != nil {
					c.pod(p)
				}
				if got := rule.Explains(p, c.cause, c.effect); got != c.want {
					t.Errorf("Explains(%s, %s) = %v, want %v", c.cause.f.Kind, c.effect.f.Kind, got, c.want)
				}
			})
		}
		if !yes || !no {
			t.Errorf("cause rule %q needs a case where it explains and one where it does not", rule.Name)
		}
	}
	for name := range cases {
		t.Errorf("cases for %q, which is not a cause rule", name)
	}
}

// TestCauseRulePriority: the table, not the order findings were found, decides the root cause;
// folding sets Cause, remembers the rule and escalates a cause that asks for it.
func TestCauseRulePriority(t *testing.T) {
	a := &analyzer{}
	t.Run("invalid manifest outranks the network", func(t *testing.T) {
		sandbox := fbuild(KindSandboxFailed, "", during(12, 14))
		p := &podState{networkBlocked: true}
		p.fs.list = []*findingBuilder{sandbox, fbuild(KindNetworkNotReady, ""), fbuild(KindManifestInvalid, "", during(10, 20))}
		a.foldCauses(p)
		if sandbox.f.Cause != KindManifestInvalid || sandbox.explainedBy == nil || sandbox.explainedBy.Cause != KindManifestInvalid {
			t.Errorf("sandbox failure explained by %q, want ManifestInvalid", sandbox.f.Cause)
		}
	})
	t.Run("duplicate escalates when it explains", func(t *testing.T) {
		dup, rm := fbuild(KindDuplicatePod, ""), fbuild(KindPodRemoved, "")
		p := &podState{}
		p.fs.list = []*findingBuilder{dup, rm}
		a.foldCauses(p)
		if rm.f.Cause != KindDuplicatePod || dup.f.Severity != SeverityError {
			t.Errorf("removal cause %q, duplicate severity %s; want DuplicatePod, error", rm.f.Cause, dup.f.Severity)
		}
		settleSeverity(p)
		if rm.f.Severity != SeverityInfo {
			t.Errorf("a folded finding is info, got %s", rm.f.Severity)
		}
	})
	t.Run("node-level cause", func(t *testing.T) {
		a := &analyzer{}
		a.node.get(KindKubeletNotRunning, "")
		ns := fbuild(KindPodNotStarted, "")
		p := &podState{}
		p.fs.list = []*findingBuilder{ns, fbuild(KindKubeletNotRunning, "")} // a pod-level one must not count
		a.node.list[0].f.Severity = SeverityWarning
		a.explain(p, ns)
		if ns.f.Cause != "" {
			t.Errorf("a stale kubelet log explained PodNotStarted: %q", ns.f.Cause)
		}
		a.node.list[0].f.Severity = SeverityError
		a.explain(p, ns)
		if ns.f.Cause != KindKubeletNotRunning {
			t.Errorf("kubelet not running did not explain PodNotStarted")
		}
	})
	t.Run("the rule's own words", func(t *testing.T) {
		crash := fbuild(KindCrashLoop, "app", exit(137))
		p := &podState{}
		p.fs.list = []*findingBuilder{fbuild(KindProbeFailed, "app", probe("Liveness")), crash}
		a.foldCauses(p)
		f := crash.f
		describe(&f, crash, textCtx{})
		if f.Title != "container app was killed and restarted by its failing liveness probe (exit code 137)" {
			t.Errorf("title %q", f.Title)
		}
	})
}
