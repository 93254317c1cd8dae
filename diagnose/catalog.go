// The kind catalogue: everything spdoc knows about a finding Kind sits in one kindSpec — its rank
// in a report, whether it concerns one container, whether it keeps the pod from starting, its
// default severity and the function that writes its title, detail and hint. kindRank,
// containerKind, blockingKind, defaultSeverity and describe all read it; nothing else lists kinds.
//
// HOW TO ADD A KIND (say PortInUse): three things, in a file of your own
// (diagnose/kinds_controlplane.go), so nobody else's file grows.
//
// 1. The entry: the constant, its kindSpec and its describe function side by side.
//
//	const KindPortInUse Kind = "PortInUse"
//
//	func init() {
//		registerKinds(kindSpec{Kind: KindPortInUse, Rank: 95, Severity: SeverityError,
//			Blocking: true, Describe: describePortInUse})
//	}
//
//	func describePortInUse(f *Finding, b *findingBuilder, tc textCtx) {
//		f.Title = "port 2379 is already in use by " + …  // what happened, with the specifics
//		f.Detail = "…"                                  // why, in the kubelet's/runtime's terms
//		f.Hint = "ss -ltnp 'sport = :2379'"              // the next step
//	}
//
// Rank orders findings of equal severity in a report, lower first: root causes (manifest dir,
// runtime, kubelet) before what they cause (sandbox, image, container) before context (history,
// sources). Take a free number between the neighbours in coreKinds (kinds.go, steps of 10);
// ranks are unique. Severity is the default fs.get gives it. Container: about one container of
// the pod. Blocking: keeps the pod from starting. Describe must write a non-empty Title, Detail
// and Hint even for a bare finding (no records, no pod): TestCatalogue calls it that way. Use
// firstErr(b), tc.fileRef(), tc.podRef(), tc.logsCmd(…) and the evidence in b.pre / b.recs.
//
// 2. Its rule, what produces it — one of:
//   - a kubelet log wording: a recordRule row registered with registerRecordRules (rules.go), with
//     a priority below any broader row that would match its text too (first match wins; the core
//     rows step by 100); internal/kubeletlog's prefilter must keep the line;
//   - a fact of the snapshot (a certificate, a port, a flag): a check registered with
//     registerChecks(check{Name: "ports", Run: func(a *analyzer) {…}}) that adds findings with
//     a.node.get(kind, ""), a.pods[id].fs.get(kind, container) or a.file(path).fs.get(kind, "");
//     checks run after the runtime phase, before causes are folded;
//   - a causal link (etcd down explains the API server's crash loop): a causeRule row registered
//     with registerCauseRules, with an explicit Priority (see causes.go).
//
// 3. Its tests: a table test for the rule (an input that yields the kind, one that must not); for
// a record rule, its kubelet lines (as the kubelet of each version writes them) registered from
// your _test.go with registerRecordSamples — TestRecordRulesSurviveThePrefilter checks the log
// prefilter keeps them and they classify to your kind; a case per causeRule in TestCauseRules;
// and the kind's name in README.md's "Kinds:" list (TestCatalogueREADME checks that list).
//
// Findings carry what they are about in Pod, File, Container and Subject (About); that, with the
// kind, is their identity (Finding.Identity, the agent's watch key), so never put a sub-kind in
// Detail or a source name in Container: use a builder variant or Subject.

package diagnose

import (
	"fmt"
	"math"
	"sort"
)

// kindSpec is one catalogue entry: everything the engine and the renderers know about a Kind.
type kindSpec struct {
	Kind Kind
	// Rank orders findings of equal severity in a report: lower first (root causes first).
	Rank int
	// Severity is the default: what fs.get gives a new finding of this kind.
	Severity Severity
	// Container: the finding is about one container of the pod (a record names it, or the pod's
	// only container); otherwise it is about the whole pod, file or node.
	Container bool
	// Blocking: when current, it keeps the pod from starting (state Pending, not Running).
	Blocking bool
	// Describe writes Title, Detail and Hint: what happened, why, and the next step.
	Describe func(f *Finding, b *findingBuilder, tc textCtx)
	// DescribesCause: Describe words the finding's Cause itself; otherwise a folded finding's
	// detail ends with "Explained by <Cause> above." (or its cause rule's own Describe).
	DescribesCause bool
}

// catalogue holds every registered kind.
var catalogue = map[Kind]*kindSpec{}

// registerKinds adds entries to the catalogue; call it from an init function beside the entries.
// A kind registered twice is a programming error caught by every test run.
func registerKinds(specs ...kindSpec) {
	for i := range specs {
		s := specs[i]
		if _, dup := catalogue[s.Kind]; dup {
			panic(fmt.Sprintf("diagnose: kind %s registered twice", s.Kind))
		}
		catalogue[s.Kind] = &s
	}
}

// kinds lists the catalogue in rank order.
func kinds() []*kindSpec {
	out := make([]*kindSpec, 0, len(catalogue))
	for _, s := range catalogue {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rank != out[j].Rank {
			return out[i].Rank < out[j].Rank
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// Kinds returns every finding kind spdoc can report, in report rank order (part of the JSON contract).
func Kinds() []Kind {
	var out []Kind
	for _, s := range kinds() {
		out = append(out, s.Kind)
	}
	return out
}

// kindRank places k in a report; a kind outside the catalogue (built by hand elsewhere) goes last.
func kindRank(k Kind) int {
	if s := catalogue[k]; s != nil {
		return s.Rank
	}
	return math.MaxInt
}

func containerKind(k Kind) bool { s := catalogue[k]; return s != nil && s.Container }
func blockingKind(k Kind) bool  { s := catalogue[k]; return s != nil && s.Blocking }

// defaultSeverity is the catalogue's severity for k; error for a kind outside it.
func defaultSeverity(k Kind) Severity {
	if s := catalogue[k]; s != nil && s.Severity != "" {
		return s.Severity
	}
	return SeverityError
}

// check produces findings from facts of the snapshot (not from kubelet records). Checks run after
// the runtime phase and before causes are folded, in Name order.
type check struct {
	Name string
	Run  func(a *analyzer)
}

var checks []check

// registerChecks adds checks; call it from an init function beside the check.
func registerChecks(cs ...check) {
	checks = append(checks, cs...)
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].Name < checks[j].Name })
}
