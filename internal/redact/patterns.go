package redact

import (
	"regexp"
	"strings"
)

// pattern is one free-text rule: every match of re whose groups pass check has group replaced.
type pattern struct {
	kind  string
	hint  string // lower-case substring that must occur for re to be tried (cheap pre-filter)
	re    *regexp.Regexp
	group int                           // capture group holding the secret
	name  int                           // capture group holding a name to classify (0: none)
	check func(name, value string) bool // nil: always redact
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
		re: regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)`),
	},
	{
		kind: KindURLPassword, hint: "://", group: 1,
		re: regexp.MustCompile(`\b[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@"'<>]*:([^@\s/"'<>]+)@`),
	},
	{
		// env entries inside JSON: {"name":"DB_PASSWORD","value":"…"} (last-applied-configuration,
		// report JSON, pod specs in logs).
		kind: KindEnv, hint: `"value"`, group: 2, name: 1, check: envPair,
		re: regexp.MustCompile(`"name"\s*:\s*"([^"\\]{1,256})"\s*,\s*"value"\s*:\s*"((?:[^"\\]|\\.)*)"`),
	},
	{
		// password=x, "token":"x", client_secret: x, --token=x
		kind: KindKeyValue, group: 3, name: 1, check: strongOnly,
		re: regexp.MustCompile(`([A-Za-z0-9_.\-]{2,128})(\\?["']?\s*[=:]\s*)(?:\\?["']?)([^\s"'&,;{}()\[\]\\][^\s"'&,;})\]\\]*)`),
	},
	{
		// --token xyz, --password xyz (flag and value as separate words)
		kind: KindKeyValue, hint: "-", group: 2, name: 1, check: strongOnly,
		re: regexp.MustCompile(`(?:^|[\s"'])(--?[A-Za-z0-9][A-Za-z0-9_.\-]{1,127})\s+([^\s\-"'\[][^\s"']*)`),
	},
	{
		kind: KindJWT, hint: "eyj",
		re: regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*`),
	},
	{
		// base64 of "-----BEGIN": kubeconfig client-key-data, certificate-authority-data…
		kind: KindPEM, hint: "ls0tls1crudjt",
		re: regexp.MustCompile(`LS0tLS1CRUdJT[A-Za-z0-9+/=]*`),
	},
}

func (p *pattern) apply(r *Redactor, s string) string {
	if p.hint != "" && !containsFold(s, p.hint) {
		return s
	}
	var b strings.Builder
	last, pos := 0, 0
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
		if ok && p.check != nil {
			name := ""
			if p.name > 0 && loc[2*p.name] >= 0 {
				name = s[loc[2*p.name]:loc[2*p.name+1]]
			}
			ok = p.check(name, s[gs:ge])
		}
		if !ok {
			// The value may itself hold a pair ("old: password=x"): search again from it.
			if gs > loc[0] {
				next = gs
			}
			pos = next
			continue
		}
		b.WriteString(s[last:gs])
		b.WriteString(r.redact(p.kind, s[gs:ge]))
		last, pos = ge, ge
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// containsFold reports whether s contains the lower-case ASCII needle, ignoring case.
func containsFold(s, needle string) bool {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
