package redact

import (
	"regexp"
	"strings"
)

// pattern is one free-text rule: every match of re whose groups pass check has group replaced.
type pattern struct {
	kind  string
	hint  string   // lower-case substring that must occur for re to be tried (cheap pre-filter)
	hints []string // or: one of these lower-case substrings must occur
	re    *regexp.Regexp
	group int                           // capture group holding the secret
	name  int                           // capture group holding a name to classify (0: none)
	check func(name, value string) bool // nil: always redact
	// keyQuote and valueQuote are the groups of the quotes around a key and its value: a quoted
	// key with an unquoted numeric value is kept.
	keyQuote, valueQuote int
	// needAny lists bytes of which one must occur for re to be tried.
	needAny string
	// quote is the group holding the escaping before a JSON quote ("" or `\`) when the secret is
	// a whole JSON value (an object): the token is written as a JSON string so the record stays valid.
	quote int
}

// maxRestarts bounds how often one line is searched again from inside a rejected value.
const maxRestarts = 32

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E' {
			return false
		}
	}
	return true
}

// strongOnly accepts only names that always mean a secret: free text is full of words like
// "key" that are not.
func strongOnly(name, value string) bool {
	return !keepValue(value) && classify(name) == nameStrong
}

func envPair(name, value string) bool { return secretValue(name, value) }

var patterns = []pattern{
	{
		// Authorization: Bearer xyz / "authorization":"Basic xyz" / authorization=xyz
		kind: KindBearer, hint: "authorization", group: 1,
		re:    regexp.MustCompile(`(?i)\bauthorization\b["']?\s*[:=]\s*["']?\s*(?:(?:bearer|basic|token|digest|negotiate)\s+)?([^\s"',;\\]+)`),
		check: func(_, v string) bool { return !keepValue(v) },
	},
	{
		kind: KindBearer, hint: "bearer", group: 1,
		re:    regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9\-._~+/=]+)`),
		check: func(_, v string) bool { return len(v) >= 8 },
	},
	{
		kind: KindURLPassword, hint: "://", group: 1,
		re: regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@"'<>]*:([^@\s/"'<>]+)@`),
	},
	{
		// env entries inside JSON: {"name":"DB_PASSWORD","value":"…"} (last-applied-configuration,
		// report JSON, pod specs in logs).
		kind: KindEnv, hint: `"value"`, group: 2, name: 1, check: envPair,
		re: regexp.MustCompile(`"name"\s*:\s*"([^"\\]+)"\s*,\s*"value"\s*:\s*"((?:[^"\\]|\\.)*)"`),
	},
	{
		// env vars in Go struct dumps the kubelet prints at higher verbosity:
		// EnvVar{Name:DB_PASSWORD,Value:x,ValueFrom:nil,} and {Name:DB_PASSWORD Value:x ValueFrom:nil}.
		kind: KindEnv, hint: "value:", group: 2, name: 1, check: envPair,
		re: regexp.MustCompile(`\bName:([^,{}\s]+)[, ]Value:([^,{}\s]*)`),
	},
	{
		// password=x, "token":"x", client_secret: x, --token=x
		// A quoted key with an unquoted number ("burstTokens":10) is a JSON number, not a secret:
		// replacing it would also break the JSON.
		kind: KindKeyValue, group: 4, name: 1, check: strongOnly, keyQuote: 2, valueQuote: 3, needAny: "=:", hints: strongHints,
		re: regexp.MustCompile(`([A-Za-z0-9_.\-]+)(\\?["']?)\s*[=:]\s*(\\?["']?)([^\s"'&,;{}()\[\]\\:=][^\s"'&,;})\]\\]*)`),
	},
	{
		// --token xyz, --password xyz (flag and value as separate words)
		kind: KindKeyValue, needAny: "-", hints: strongHints, group: 2, name: 1, check: strongOnly,
		re: regexp.MustCompile(`(?:^|[\s"'])(--?[A-Za-z0-9][A-Za-z0-9_.\-]*)\s+([^\s\-"'\[][^\s"']*)`),
	},
	{
		// curl -u user:pass, --user user:pass, --user=user:pass, -uuser:pass (also inside sh -c)
		kind: KindUserPassword, needAny: ":", hints: []string{"-u", "--user"}, group: 1,
		check: func(_, v string) bool { return !isNumber(v) && !keepValue(v) }, // docker -u 1000:1000 is uid:gid
		re:    regexp.MustCompile(`(?:^|[\s"'])(?:-u\s*|--user(?:\s+|=))["']?[^\s"':@]+:([^\s"']+)`),
	},
	{
		// AWS access key IDs (AKIA… long-term, ASIA… temporary, and the other IAM ID prefixes)
		kind: KindToken, hints: []string{"akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"},
		re: regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b`),
	},
	{
		// GitHub tokens: classic (ghp_ gho_ ghu_ ghs_ ghr_) and fine-grained (github_pat_)
		kind: KindToken, hints: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		re: regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{20,255})\b`),
	},
	{
		// Slack tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxo-) and webhook paths
		kind: KindToken, hint: "xox",
		re: regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`),
	},
	{
		kind: KindToken, hint: "hooks.slack.com/", group: 1,
		re: regexp.MustCompile(`hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9/_\-]+)`),
	},
	{
		kind: KindJWT, hint: "eyj",
		re: regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`),
	},
	{
		// base64 of "-----BEGIN": kubeconfig client-key-data, certificate-authority-data…
		kind: KindPEM, hint: "ls0tls1crudjt",
		re: regexp.MustCompile(`LS0tLS1CRUdJT[A-Za-z0-9+/=]*`),
	},
}

// strongHints are lower-case pieces of every strong name (see strongWords and
// strongSubstrings): a line without any of them has no name/value pair to redact.
// "pat" is only a hint right before a separator: "path" is in nearly every kubelet line.
var strongHints = []string{"pass", "pwd", "secret", "token", "cred", "api", "private", "access", "webhook",
	"pat=", "pat:", `pat"`, "pat'", "pat ", `pat\"`}

// applies reports whether the cheap pre-filters let p run on s (lower is s in lower case).
func (p *pattern) applies(s, lower string) bool {
	if p.needAny != "" && !strings.ContainsAny(s, p.needAny) {
		return false
	}
	if p.hint != "" && !strings.Contains(lower, p.hint) {
		return false
	}
	if len(p.hints) == 0 {
		return true
	}
	for _, h := range p.hints {
		if strings.Contains(lower, h) {
			return true
		}
	}
	return false
}

func (p *pattern) apply(r *Redactor, s string) string {
	var b strings.Builder
	last, pos := 0, 0
	restarts := 0 // bounded: "a:a:a:…" must not turn quadratic
	for pos <= len(s) {
		loc := p.re.FindStringSubmatchIndex(s[pos:])
		if loc == nil {
			break
		}
		for i := range loc {
			if loc[i] >= 0 {
				loc[i] += pos
			}
		}
		gs, ge := loc[2*p.group], loc[2*p.group+1]
		next := loc[1]
		if next == loc[0] {
			next++ // empty match: move on
		}
		ok := gs >= 0 && ge > gs && !strings.HasPrefix(s[gs:ge], TokenPrefix)
		if ok && p.keyQuote > 0 && loc[2*p.keyQuote+1] > loc[2*p.keyQuote] && loc[2*p.valueQuote+1] == loc[2*p.valueQuote] && isNumber(s[gs:ge]) {
			ok = false
		}
		if ok && p.check != nil {
			name := ""
			if p.name > 0 && loc[2*p.name] >= 0 {
				name = s[loc[2*p.name]:loc[2*p.name+1]]
			}
			ok = p.check(name, s[gs:ge])
		}
		if !ok {
			// The value may itself be a name ("stderr: password = x") or hold a pair
			// ("old: password=x"): search again from it. A plain word is searched once more at
			// most (linear); a value holding separators is bounded by maxRestarts ("a:a:a:…").
			if gs > loc[0] {
				switch {
				case !strings.ContainsAny(s[gs:ge], "=:"):
					next = gs
				case restarts < maxRestarts:
					next = gs
					restarts++
				}
			}
			pos = next
			continue
		}
		b.WriteString(s[last:gs])
		tok := r.redact(p.kind, s[gs:ge])
		if p.quote > 0 && loc[2*p.quote] >= 0 {
			q := s[loc[2*p.quote]:loc[2*p.quote+1]] + `"`
			tok = q + tok + q
		}
		b.WriteString(tok)
		last, pos = ge, ge
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
