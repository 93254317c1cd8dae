// Package redact replaces secrets in pods, manifests, logs and reports with stable tokens.
//
// A secret becomes "[REDACTED-<8 hex>]" where the hex is an HMAC of the secret under the
// Redactor's key: the same secret always gives the same token within one Redactor (so lines stay
// comparable), and without the key a token cannot be brute-forced back to a guessed value. Every
// token starts with "[REDACTED", which is what the diagnose output promises.
//
// What counts as a secret:
//   - values whose NAME looks secret (env vars, annotations, YAML keys, command-line flags):
//     names with password, passwd, secret, token, credential, apikey, passphrase, privatekey
//     ("strong") are always redacted; names with key, cert, private, auth, cookie, session,
//     salt, signature ("weak") are redacted unless the value is a file path. Names ending in
//     file, path, dir, url, host, port, name, enabled… are configuration, not secrets
//     (--tls-private-key-file=/etc/…, SECRET_NAME=db). true/false and empty values are kept.
//   - in any text: PEM blocks (private keys and certificates, also split over several lines or
//     with escaped \n), Authorization headers and bearer tokens, passwords in URLs
//     (https://user:pass@host), key=value / "key":"value" / --flag value pairs with a strong
//     name anywhere in a line ("stderr: password = x", INI, dotenv, Python dumps), curl -u/--user
//     user:password, JWTs, AWS access key IDs, GitHub tokens (ghp_…, github_pat_…), Slack tokens
//     and webhook URLs, env name/value pairs inside JSON, and the caller's extra patterns.
//   - in YAML: every value of an HTTP header map (the kubelet config's staticPodURLHeader).
//
// Counts (never values) are kept per place and kind for a redactions.json.
package redact

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// TokenPrefix starts every replacement.
const TokenPrefix = "[REDACTED"

// Kinds of redaction reported by Counts.
const (
	KindEnv            = "env"             // env value with a secret-looking name
	KindArg            = "arg"             // command-line flag value with a secret-looking name
	KindAnnotation     = "annotation"      // annotation with a secret-looking name
	KindField          = "field"           // YAML/JSON field with a secret-looking name
	KindPEMPrivateKey  = "pem-private-key" // -----BEGIN … PRIVATE KEY-----
	KindPEMCertificate = "pem-certificate" // -----BEGIN CERTIFICATE-----
	KindPEM            = "pem"             // any other PEM block
	KindBearer         = "bearer"          // Authorization headers, bearer tokens
	KindURLPassword    = "url-password"    // scheme://user:pass@host
	KindKeyValue       = "key-value"       // password=…, "token":"…", --token …
	KindJWT            = "jwt"             // eyJ….eyJ….…
	KindPattern        = "pattern"         // an Options.Extra pattern
	KindBase64         = "base64"          // a line that is one long base64 run (a PEM body line seen alone)
	KindHeader         = "header"          // a value of an HTTP header map (staticPodURLHeader)
	KindUserPassword   = "user-password"   // curl -u/--user user:password
	KindToken          = "token"           // a well-known token format: AWS key IDs, GitHub and Slack tokens, Slack webhooks
)

// Options configure a Redactor.
type Options struct {
	// Extra patterns (--redact-pattern). A pattern with a capture group redacts the first group,
	// otherwise the whole match.
	Extra []*regexp.Regexp
	// Disabled turns redaction off (--no-redact): every method returns its input unchanged.
	Disabled bool
	// Key for the token HMAC. Empty: 32 random bytes. A bundle derives it from the collected
	// data so the same node state gives the same bytes while tokens stay unguessable.
	Key []byte
}

// Redaction is how many secrets of one kind were replaced in one place.
type Redaction struct {
	Where string `json:"where"`
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

type countKey struct{ where, kind string }

type shared struct {
	key      []byte
	extra    []*regexp.Regexp
	disabled bool

	mu     sync.Mutex
	counts map[countKey]int
}

// Redactor replaces secrets. It is safe for concurrent use; views made with In share the key
// and the counts.
type Redactor struct {
	s     *shared
	where string
}

// New returns a Redactor.
func New(opts Options) *Redactor {
	key := opts.Key
	if len(key) == 0 && !opts.Disabled {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			// crypto/rand never fails on supported platforms; a fixed key would still redact.
			key = []byte("spdoc-redact-fallback-key")
		}
	}
	return &Redactor{s: &shared{
		key:      append([]byte(nil), key...),
		extra:    opts.Extra,
		disabled: opts.Disabled,
		counts:   map[countKey]int{},
	}}
}

// In returns a view of r that records its redactions under where (a bundle path, "report"…).
func (r *Redactor) In(where string) *Redactor { return &Redactor{s: r.s, where: where} }

// Disabled reports whether redaction is off.
func (r *Redactor) Disabled() bool { return r.s.disabled }

// Counts returns the redactions so far, sorted by place and kind. Values are never kept.
func (r *Redactor) Counts() []Redaction {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	out := make([]Redaction, 0, len(r.s.counts))
	for k, n := range r.s.counts {
		out = append(out, Redaction{Where: k.where, Kind: k.kind, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Where != out[j].Where {
			return out[i].Where < out[j].Where
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// Token returns the stable replacement for secret without counting it.
func (r *Redactor) Token(secret string) string {
	m := hmac.New(sha256.New, r.s.key)
	m.Write([]byte(secret))
	return TokenPrefix + "-" + hex.EncodeToString(m.Sum(nil)[:4]) + "]"
}

// redact counts one redaction of kind and returns the token for secret.
func (r *Redactor) redact(kind, secret string) string {
	r.s.mu.Lock()
	r.s.counts[countKey{r.where, kind}]++
	r.s.mu.Unlock()
	return r.Token(secret)
}

// String redacts free text that may span several lines (an env value, a report, a whole log).
func (r *Redactor) String(s string) string {
	if r.s.disabled || s == "" {
		return s
	}
	if !strings.Contains(s, "\n") {
		return r.Log(s)
	}
	lr := r.Lines()
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = lr.Line(p)
	}
	return strings.Join(parts, "\n")
}

// Bytes is String for byte slices.
func (r *Redactor) Bytes(b []byte) []byte {
	if r.s.disabled || len(b) == 0 {
		return b
	}
	return []byte(r.String(string(b)))
}

// Log redacts one log line on its own. A PEM block that starts on the line and does not end
// there is redacted up to the end of the line; use Lines for files where it continues.
func (r *Redactor) Log(line string) string {
	if r.s.disabled || line == "" {
		return line
	}
	out, _ := r.inline(line)
	return out
}

// LineRedactor redacts a stream of lines, following PEM blocks across lines.
type LineRedactor struct {
	r     *Redactor
	inPEM bool
}

// Lines returns a redactor for consecutive lines of one file or stream.
func (r *Redactor) Lines() *LineRedactor { return &LineRedactor{r: r} }

// Line redacts the next line (without its newline).
func (l *LineRedactor) Line(s string) string {
	if l.r.s.disabled {
		return s
	}
	if l.inPEM {
		if end := strings.Index(s, pemEnd); end >= 0 {
			l.inPEM = false
			body := l.r.pemBody(s[:end])
			rest, open := l.r.inline(s[end:])
			l.inPEM = open
			return body + rest
		}
		if pemBodyLine(s) {
			return l.r.pemBody(s)
		}
		// Not base64 and no END: the block was cut off; treat the line as ordinary text.
		l.inPEM = false
	}
	out, open := l.r.inline(s)
	l.inPEM = open
	return out
}

// InPEM reports whether the stream is inside an unterminated PEM block.
func (l *LineRedactor) InPEM() bool { return l.inPEM }

const (
	pemBegin = "-----BEGIN "
	pemEnd   = "-----END "
)

var pemHeaderRe = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]+)-----`)

// pemBodyLine reports whether s can be a line inside a PEM block: one base64 run (padding only
// at its end) or an RFC 1421 header.
func pemBodyLine(s string) bool {
	t := strings.TrimSpace(s)
	if t == "" {
		return true
	}
	if strings.HasPrefix(t, "Proc-Type:") || strings.HasPrefix(t, "DEK-Info:") {
		return true
	}
	body := strings.TrimRight(t, "=")
	if len(t)-len(body) > 2 {
		return false
	}
	for i := 0; i < len(body); i++ {
		if !isB64(body[i]) || body[i] == '=' {
			return false
		}
	}
	return true
}

// blobAt returns where a trailing blob starts: a line that is a long base64 run with mixed case,
// alone or after a short label ("stderr: …") — a PEM body line seen without its header (a
// report shows log lines one by one) or a key printed alone. Hex (container IDs, UIDs, digests)
// and words do not qualify. -1: none.
func blobAt(s string) int {
	t := strings.TrimRight(s, " \t\r")
	i := strings.LastIndexAny(t, " \t") + 1
	if i > 24 || !blobLine(t[i:]) {
		return -1
	}
	return i
}

func blobLine(s string) bool {
	t := strings.TrimRight(s, "=")
	if len(t) < 40 {
		return false
	}
	var upper, lower, nonHex bool
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
			nonHex = nonHex || c > 'F'
		case c >= 'a' && c <= 'z':
			lower = true
			nonHex = nonHex || c > 'f'
		case c >= '0' && c <= '9', c == '+', c == '/':
		default:
			return false
		}
	}
	return upper && lower && nonHex
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
}

// pemBody replaces every base64 run of a PEM body with its token, keeping whitespace and
// escape sequences (\n in JSON strings) so line structure and string syntax survive.
func (r *Redactor) pemBody(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			b.WriteString(s[i : i+2])
			i += 2
		case isB64(c):
			j := i
			for j < len(s) && isB64(s[j]) {
				j++
			}
			b.WriteString(r.Token(s[i:j]))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func pemKind(label string) string {
	switch {
	case strings.Contains(label, "PRIVATE KEY"):
		return KindPEMPrivateKey
	case strings.Contains(label, "CERTIFICATE"):
		return KindPEMCertificate
	default:
		return KindPEM
	}
}

// inline redacts one line. It returns whether a PEM block begins on the line without ending.
func (r *Redactor) inline(s string) (string, bool) {
	open := false
	if strings.Contains(s, pemBegin) {
		s, open = r.pemBlocks(s)
	}
	lower := strings.ToLower(s)
	for i := range patterns {
		p := &patterns[i]
		if !p.applies(s, lower) {
			continue
		}
		if out := p.apply(r, s); out != s {
			s, lower = out, strings.ToLower(out)
		}
	}
	if i := blobAt(s); i >= 0 {
		end := len(strings.TrimRight(s, " \t\r"))
		s = s[:i] + r.redact(KindBase64, s[i:end]) + s[end:]
	}
	for _, re := range r.s.extra {
		s = replaceGroup(re, s, func(v string) string { return r.redact(KindPattern, v) })
	}
	return s, open
}

// pemBlocks redacts the bodies of every PEM block that starts on the line; headers stay so a
// reader still sees what was there.
func (r *Redactor) pemBlocks(s string) (string, bool) {
	var b strings.Builder
	for {
		loc := pemHeaderRe.FindStringSubmatchIndex(s)
		if loc == nil {
			b.WriteString(s)
			return b.String(), false
		}
		label := s[loc[2]:loc[3]]
		b.WriteString(s[:loc[1]])
		rest := s[loc[1]:]
		r.redact(pemKind(label), label)
		end := strings.Index(rest, pemEnd)
		if end < 0 {
			b.WriteString(r.pemBody(rest))
			return b.String(), true
		}
		b.WriteString(r.pemBody(rest[:end]))
		s = rest[end:]
		// Skip past the END marker so it is not mistaken for anything else.
		if m := pemEndRe.FindStringIndex(s); m != nil && m[0] == 0 {
			b.WriteString(s[:m[1]])
			s = s[m[1]:]
		}
	}
}

var pemEndRe = regexp.MustCompile(`-----END [A-Z0-9 ]+-----`)

// replaceGroup replaces the first capture group of every match of re (or the whole match when
// re has no group) with repl(value).
func replaceGroup(re *regexp.Regexp, s string, repl func(string) string) string {
	locs := re.FindAllStringSubmatchIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		start, end := loc[0], loc[1]
		if len(loc) >= 4 && loc[2] >= 0 {
			start, end = loc[2], loc[3]
		}
		if end <= start || start < last {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(repl(s[start:end]))
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}
