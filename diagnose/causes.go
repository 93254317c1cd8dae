package diagnose

import (
	"fmt"
	"sort"
)

// causeRule is one causal link: a finding of kind Cause explains another finding (the effect),
// which is then folded under it (Finding.Cause set, severity info, listed after the root cause).
//
// Folding tries the rules in Priority order (lower first) for every finding that nothing explains
// yet; the first rule with a cause finding that Explains the effect wins. A new causal link is one
// row here (or in a file of your own, with registerCauseRules) and one case in TestCauseRules.
type causeRule struct {
	// Name says the link in a few words; TestCauseRules needs a case for every name.
	Name     string
	Priority int
	Cause    Kind
	// OnNode: the cause is a node-level finding (the kubelet, the runtime); else a finding of the pod.
	OnNode bool
	// Escalate: the cause becomes an error when it explains a current finding.
	Escalate bool
	// Explains reports whether cause explains effect in pod p. It is only asked about two
	// different findings, cause of kind Cause, effect with no cause yet.
	Explains func(p *podState, cause, effect *findingBuilder) bool
	// Describe, when set, rewrites the effect's texts; else its detail ends with "Explained by <Cause> above."
	Describe func(f *Finding)
}

var causeRules []causeRule

// registerCauseRules adds rows to the cause table; call it from an init function beside the rows.
func registerCauseRules(rules ...causeRule) {
	causeRules = append(causeRules, rules...)
	sort.SliceStable(causeRules, func(i, j int) bool { return causeRules[i].Priority < causeRules[j].Priority })
}

// coreCauses are the causal links spdoc has always folded, strongest first.
var coreCauses = []causeRule{
	{
		// The kubelet drops a pod whose manifest became invalid: everything that happened to the
		// pod since (removal, kills, failed restarts) follows from it.
		Name: "invalid manifest explains what happened to the pod since", Priority: 100, Cause: KindManifestInvalid,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			if cause.f.History || effect.f.History || effect.f.Kind == KindManifestWarning || effect.f.Kind == KindDuplicatePod {
				return false
			}
			return !endedBefore(effect, cause) // earlier trouble is history (historyBeforeInvalid)
		},
	},
	{
		// A pod without hostNetwork cannot get a sandbox while the CNI network is down.
		Name: "pod network down explains sandbox failures", Priority: 200, Cause: KindNetworkNotReady,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			return p.networkBlocked && effect.f.Kind == KindSandboxFailed && !effect.f.History
		},
	},
	{
		// A container killed by its failing liveness (or startup) probe exits 137 or 143.
		Name: "failing liveness probe explains the kill and restart", Priority: 300, Cause: KindProbeFailed,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			if effect.f.Kind != KindCrashLoop && effect.f.Kind != KindContainerRestarted || effect.f.ExitCode == nil {
				return false
			}
			code := *effect.f.ExitCode
			return (code == 137 || code == 143) && cause.f.Container == effect.f.Container && probeType(cause) != "Readiness"
		},
		Describe: func(f *Finding) {
			_, cref := containerRef(f)
			f.Title = fmt.Sprintf("%s was killed and restarted by its failing liveness probe (exit code %d)", cref, *f.ExitCode)
			f.Detail = "The kubelet killed the container because its liveness probe kept failing, then started it again."
			f.Hint = "fix the probe or what it checks (see ProbeFailed above)"
		},
	},
	{
		// Two manifests for one pod: the kubelet flaps between them (ADD/REMOVE, kill, recreate).
		Name: "duplicate definitions explain the flapping", Priority: 400, Cause: KindDuplicatePod, Escalate: true,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			switch effect.f.Kind {
			case KindManifestWarning, KindMirrorPodFailed:
				return false
			}
			return !effect.f.History && p.currentInvalid() == nil
		},
	},
	{
		// No kubelet, no pod: nothing reads the manifest directory.
		Name: "kubelet not running explains a pod that never started", Priority: 500, Cause: KindKubeletNotRunning, OnNode: true,
		Explains: func(p *podState, cause, effect *findingBuilder) bool {
			return effect.f.Kind == KindPodNotStarted && cause.f.Severity == SeverityError
		},
	},
}

func init() { registerCauseRules(coreCauses...) }

// endedBefore: the effect's last record is older than the cause's first.
func endedBefore(effect, cause *findingBuilder) bool {
	return !effect.last.IsZero() && !cause.first.IsZero() && effect.last.Before(cause.first)
}

// foldCauses explains every finding of the pod that nothing explains yet.
func (a *analyzer) foldCauses(p *podState) {
	for _, effect := range p.fs.list {
		a.explain(p, effect)
	}
}

// explain finds the first rule whose cause explains effect and folds effect under it.
func (a *analyzer) explain(p *podState, effect *findingBuilder) {
	if effect.f.Cause != "" {
		return
	}
	for i := range causeRules {
		rule := &causeRules[i]
		set := &p.fs
		if rule.OnNode {
			set = &a.node
		}
		for _, cause := range set.list {
			if cause == effect || cause.f.Kind != rule.Cause || !rule.Explains(p, cause, effect) {
				continue
			}
			effect.f.Cause = rule.Cause
			effect.explainedBy = rule
			if rule.Escalate && !effect.f.History {
				cause.f.Severity = SeverityError
			}
			return
		}
	}
}
