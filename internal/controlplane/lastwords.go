package controlplane

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Finding kinds the last words map to (the names diagnose's catalogue uses).
const (
	KindUnknownFlag           = "UnknownFlag"
	KindCertificateExpired    = "CertificateExpired"
	KindCertificateInvalid    = "CertificateInvalid"
	KindReferencedFileMissing = "ReferencedFileMissing"
	KindPortInUse             = "PortInUse"
	KindDependencyUnreachable = "DependencyUnreachable"
	KindComponentError        = "ComponentError"
)

// Words is one classified line of a crashed instance's log.
type Words struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"` // unknown-flag, x509-expired, dial-refused, bind-in-use, etcd-no-space…
	// What the line names, when it does.
	Flag    string `json:"flag,omitempty"`    // an unknown flag, without dashes
	Address string `json:"address,omitempty"` // host:port dialed or bound
	Path    string `json:"path,omitempty"`    // a file
	Line    string `json:"line"`              // the line, as the component wrote it
	// Rank orders several classified lines of one tail: the lower the more telling.
	Rank int `json:"-"`
}

// Port returns the port of Address (0 when none).
func (w *Words) Port() int {
	i := strings.LastIndex(w.Address, ":")
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(w.Address[i+1:])
	return n
}

// wordsRule is one row of the table: a line matching all of lits (and re, when set) is
// classified as kind/reason; re's named groups flag, addr and path fill the Words.
type wordsRule struct {
	kind   string
	reason string
	lits   []string // every literal must be in the line (cheap prefilter)
	any    []string // and at least one of these, when set
	re     *regexp.Regexp
}

var (
	reAddr    = `(?P<addr>\[?[0-9a-zA-Z.:_-]*\]?:[0-9]+)`
	rePath    = `(?P<path>/[^\s:"',]+)`
	wordsRank = map[string]int{}
)

// lastWordsRules: the messages are the components' own (sources noted), most specific first.
var lastWordsRules = []wordsRule{
	// pflag (kube-apiserver, kube-controller-manager, kube-scheduler via cobra; printed by
	// component-base/cli as "Error: unknown flag: --foo").
	{KindUnknownFlag, "unknown-flag", []string{"unknown flag: --"}, nil, regexp.MustCompile(`unknown flag: --(?P<flag>[^\s=",]+)`)},
	{KindUnknownFlag, "unknown-flag", []string{"unknown shorthand flag: "}, nil, regexp.MustCompile(`unknown shorthand flag: '(?P<flag>.)'`)},
	// Go's flag package (etcd: etcdmain/config.go parses with flag.ContinueOnError).
	{KindUnknownFlag, "unknown-flag", []string{"flag provided but not defined: -"}, nil, regexp.MustCompile(`flag provided but not defined: -+(?P<flag>[^\s=",]+)`)},
	{KindUnknownFlag, "unknown-flag", []string{"is not a valid flag"}, nil, regexp.MustCompile(`"(?P<flag>[^"]+)" is not a valid flag`)},

	// crypto/x509 (verify.go) and crypto/tls, as seen by the component verifying a peer.
	{KindCertificateExpired, "x509-expired", []string{"x509: certificate has expired or is not yet valid"}, nil, regexp.MustCompile(`(?:dial tcp |to connect to \{Addr: \\?")` + reAddr + `|x509`)},
	{KindCertificateExpired, "tls-peer-says-expired", []string{"remote error: tls: expired certificate"}, nil, nil},
	{KindCertificateInvalid, "x509-unknown-authority", []string{"x509: certificate signed by unknown authority"}, nil, regexp.MustCompile(`(?:dial tcp |to connect to \{Addr: \\?")` + reAddr + `|x509`)},
	{KindCertificateInvalid, "x509-san", []string{"x509: "}, []string{"certificate is valid for ", "certificate is not valid for any names", "doesn't contain any IP SANs", "relies on legacy Common Name field"}, regexp.MustCompile(`(?:dial tcp |to connect to \{Addr: \\?")` + reAddr + `|x509`)},
	{KindCertificateInvalid, "tls-key-mismatch", []string{"tls: private key does not match public key"}, nil, nil},
	{KindCertificateInvalid, "tls-no-pem", []string{"tls: failed to find "}, []string{"PEM data in certificate input", "PEM data in key input", "PEM block in"}, nil},
	{KindCertificateInvalid, "x509-parse", []string{"x509: "}, []string{"malformed certificate", "failed to parse", "cannot parse", "unsupported elliptic curve", "trailing data"}, nil},
	{KindCertificateInvalid, "tls-peer-rejected", []string{"remote error: tls: "}, []string{"bad certificate", "unknown certificate authority", "certificate required", "unknown certificate"}, regexp.MustCompile(`(?:dial tcp |to connect to \{Addr: \\?"|remote-addr[=:]"?)` + reAddr + `|remote error`)},

	// A file the component needs is absent, unreadable or empty.
	{KindReferencedFileMissing, "file-missing", []string{": no such file or directory"}, []string{"open ", "stat ", "read ", "lstat "}, regexp.MustCompile(`(?:open|stat|lstat|read) ` + rePath + `: no such file or directory`)},
	{KindComponentError, "permission-denied", []string{": permission denied"}, []string{"open ", "mkdir ", "stat ", "read ", "lock "}, regexp.MustCompile(`(?:open|mkdir|stat|read|lock|create) ` + rePath + `: permission denied`)},
	// An empty kubeconfig (a FileOrCreate hostPath made it): the file the flag names is as good as missing.
	{KindReferencedFileMissing, "kubeconfig-empty", []string{"invalid configuration: no configuration has been provided"}, nil, nil},

	// Listening (net.Listen: "listen tcp 0.0.0.0:6443: bind: address already in use").
	{KindPortInUse, "bind-in-use", []string{"bind: address already in use"}, nil, regexp.MustCompile(`listen tcp[46]? ` + reAddr + `: bind: address already in use`)},
	{KindComponentError, "bind-cannot-assign", []string{"bind: cannot assign requested address"}, nil, regexp.MustCompile(`listen tcp[46]? ` + reAddr + `: bind: cannot assign requested address`)},

	// etcd's data dir (etcd/server: storage/backend, etcdserver/bootstrap.go, etcdmain/etcd.go).
	{KindComponentError, "etcd-no-space", []string{"database space exceeded"}, nil, nil},
	{KindComponentError, "etcd-db-locked", []string{"db file is flocked by another process"}, nil, nil},
	{KindComponentError, "etcd-data-dir", []string{"has already been bootstrapped"}, nil, nil},
	{KindComponentError, "etcd-data-dir", []string{"cannot access data directory"}, nil, nil},
	{KindComponentError, "etcd-data-dir", []string{"failed to list data directory"}, nil, nil},
	{KindComponentError, "etcd-data-dir", []string{"invalid datadir"}, nil, nil},
	{KindComponentError, "etcd-data-dir", []string{"failed to find database snapshot file"}, nil, nil},
	{KindComponentError, "etcd-data-dir", []string{"crc mismatch"}, nil, nil},
	{KindComponentError, "etcd-data-dir", []string{"failed to open WAL"}, nil, nil},
	{KindComponentError, "etcd-data-dir", []string{"failed to recover v3 backend from snapshot"}, nil, nil},
	{KindComponentError, "etcd-member-removed", []string{"the member has been permanently removed from the cluster"}, nil, nil},
	{KindComponentError, "etcd-cluster-config", []string{"couldn't find local name"}, nil, nil},
	{KindComponentError, "etcd-cluster-config", []string{"error validating peerURLs"}, nil, nil},
	{KindComponentError, "etcd-cluster-config", []string{"member count is unequal"}, nil, nil},

	// Dialing a dependency: etcd from the API server (grpc addrConn), the API server from the
	// controller manager and scheduler (client-go).
	{KindDependencyUnreachable, "dial-refused", []string{"connect: connection refused"}, nil, regexp.MustCompile(`dial tcp ` + reAddr + `: connect: connection refused`)},
	{KindDependencyUnreachable, "dial-timeout", []string{"dial tcp "}, []string{"i/o timeout", "connect: no route to host", "connect: network is unreachable"}, regexp.MustCompile(`dial tcp ` + reAddr + `: `)},
	// kube-apiserver gives up on etcd (pkg/controlplane/instance.go:232).
	{KindDependencyUnreachable, "etcd-timeout", []string{"Error creating leases"}, []string{"context deadline exceeded", "storage factory"}, nil},
	{KindDependencyUnreachable, "etcd-timeout", []string{"rpc error: code = Unavailable"}, nil, regexp.MustCompile(`dial tcp ` + reAddr + `|rpc error`)},
}

func init() {
	for i, r := range lastWordsRules {
		if _, ok := wordsRank[r.kind]; !ok {
			wordsRank[r.kind] = i
		}
	}
}

// logText is the text to classify of one log line: a zap/JSON line (etcd) becomes its msg and
// string fields; klog's quoting (\" inside err="…") is undone.
func logText(line string) string {
	t := strings.TrimSpace(line)
	if strings.HasPrefix(t, "{") && gjson.Valid(t) {
		var b strings.Builder
		gjson.Parse(t).ForEach(func(k, v gjson.Result) bool {
			switch k.String() {
			case "level", "ts", "caller", "logger", "stacktrace":
				return true
			}
			if v.Type == gjson.String || v.Type == gjson.JSON {
				if b.Len() > 0 {
					b.WriteString(" ")
				}
				b.WriteString(k.String())
				b.WriteString(`="`)
				b.WriteString(v.String())
				b.WriteString(`"`)
			}
			return true
		})
		return b.String()
	}
	return strings.ReplaceAll(t, `\"`, `"`)
}

// Classify returns the classification of one log line of a control-plane component.
func Classify(line string) (Words, bool) {
	text := logText(line)
	for _, r := range lastWordsRules {
		if !hasAll(text, r.lits) || (len(r.any) > 0 && !hasAny(text, r.any)) {
			continue
		}
		w := Words{Kind: r.kind, Reason: r.reason, Line: strings.TrimSpace(line), Rank: wordsRank[r.kind]}
		if r.re != nil {
			if m := r.re.FindStringSubmatch(text); m != nil {
				for i, name := range r.re.SubexpNames() {
					switch name {
					case "flag":
						w.Flag = m[i]
					case "addr":
						w.Address = strings.Trim(m[i], `\"`)
					case "path":
						w.Path = m[i]
					}
				}
			}
		}
		return w, true
	}
	return Words{}, false
}

// specific counts what a classification names (an address, flag or path): among lines of one
// kind, the one that names the most wins.
func (w *Words) specific() int {
	n := 0
	for _, s := range []string{w.Address, w.Flag, w.Path} {
		if s != "" {
			n++
		}
	}
	return n
}

// LastWords classifies the lines of a crashed instance (oldest first) and returns the most
// telling classification — the best-ranked kind, among equals the line naming the most (an
// address, a flag, a path), then the latest — and every
// distinct one it saw.
func LastWords(lines []string) (best Words, all []Words, ok bool) {
	seen := map[string]bool{}
	for _, l := range lines {
		w, hit := Classify(l)
		if !hit {
			continue
		}
		key := w.Kind + "|" + w.Reason + "|" + w.Flag + "|" + w.Address + "|" + w.Path
		if !seen[key] {
			seen[key] = true
			all = append(all, w)
		}
		if !ok || w.Rank < best.Rank || (w.Rank == best.Rank && w.specific() >= best.specific()) {
			best, ok = w, true
		}
	}
	return best, all, ok
}

func hasAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func hasAny(s string, subs []string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
