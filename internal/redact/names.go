package redact

import (
	"strings"
	"unicode"
)

// nameClass says how secret a name (env var, flag, annotation, field) looks.
type nameClass int

const (
	nameNone   nameClass = iota
	nameWeak             // secret unless the value is a file path (TLS_KEY, --client-cert…)
	nameStrong           // always secret (PASSWORD, --token…)
)

var strongWords = map[string]bool{
	"password": true, "passwd": true, "pass": true, "passphrase": true, "pwd": true,
	"secret": true, "secrets": true, "token": true, "tokens": true,
	"credential": true, "credentials": true, "creds": true,
	"apikey": true, "privatekey": true, "clientsecret": true, "accesskey": true,
	"pat": true, "webhook": true, "webhooks": true, // GITHUB_PAT, SLACK_WEBHOOK: the value is the credential
}

// strongSubstrings catch names written without separators (DBPASSWORD, mytoken).
var strongSubstrings = []string{"password", "passwd", "secret", "token", "credential", "apikey", "privatekey", "passphrase", "webhook"}

var weakWords = map[string]bool{
	"key": true, "keys": true, "cert": true, "certificate": true, "private": true,
	"auth": true, "authorization": true, "cookie": true, "session": true, "salt": true,
	"signature": true, "sas": true, "dsn": true, "license": true,
}

// safeLast are last words that make a name configuration rather than a secret
// (--tls-private-key-file, SECRET_NAME, TOKEN_TTL, AUTH_URL).
var safeLast = map[string]bool{
	"file": true, "files": true, "path": true, "paths": true, "dir": true, "directory": true,
	"location": true, "url": true, "uri": true, "endpoint": true, "host": true, "hostname": true,
	"port": true, "enabled": true, "enable": true, "disabled": true, "disable": true, "mode": true,
	"type": true, "ttl": true, "timeout": true, "duration": true, "expiry": true, "expiration": true,
	"length": true, "size": true, "algorithm": true, "algo": true, "name": true, "names": true,
	"ref": true, "kind": true, "format": true, "version": true, "count": true, "seconds": true,
	"namespace": true, "header": true, "usage": true, "usages": true, "groups": true, "mount": true,
}

// wholeSafe are names that contain a secret word but are well-known non-secrets.
var wholeSafe = map[string]bool{
	"pwd": true, "oldpwd": true, "pass": true, "key": true, "keys": true,
	"authorization-mode": true, "authorization_mode": true,
}

// classify splits name into lower-case words (on separators and camelCase) and classifies it.
func classify(name string) nameClass {
	name = strings.Trim(name, "-_. \"'")
	if name == "" || len(name) > 128 || wholeSafe[strings.ToLower(name)] {
		return nameNone
	}
	words := splitWords(name)
	if len(words) == 0 {
		return nameNone
	}
	if last := words[len(words)-1]; safeLast[last] {
		// A webhook's URL is its credential (SLACK_WEBHOOK_URL).
		if (last == "url" || last == "uri") && strings.Contains(strings.Join(words, ""), "webhook") {
			return nameStrong
		}
		return nameNone
	}
	class := nameNone
	for _, w := range words {
		switch {
		case strongWords[w]:
			return nameStrong
		case weakWords[w]:
			class = nameWeak
		}
	}
	joined := strings.Join(words, "")
	for _, s := range strongSubstrings {
		if strings.Contains(joined, s) {
			return nameStrong
		}
	}
	return class
}

func splitWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, c := range rs {
		switch {
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			flush()
		case unicode.IsUpper(c) && i > 0 && (unicode.IsLower(rs[i-1]) ||
			(i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))):
			flush()
			cur = append(cur, c)
		default:
			cur = append(cur, c)
		}
	}
	flush()
	return words
}

// keepValue reports values that are never secrets whatever their name: empty, booleans and
// values that are already tokens.
func keepValue(v string) bool {
	t := strings.TrimSpace(v)
	switch strings.ToLower(t) {
	case "", "true", "false", "yes", "no", "null", "none", "<nil>":
		return true
	}
	return strings.HasPrefix(t, TokenPrefix)
}

// looksLikePath reports a file path (the value of --client-key=/etc/… is not the key).
func looksLikePath(v string) bool {
	if strings.ContainsAny(v, " \t\n") {
		return false
	}
	return strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "../") || strings.HasPrefix(v, "~/")
}

// secretValue decides whether the value of a structured name (env, flag, annotation, field)
// must be redacted.
func secretValue(name, value string) bool {
	if keepValue(value) {
		return false
	}
	switch classify(name) {
	case nameStrong:
		return true
	case nameWeak:
		return !looksLikePath(value)
	}
	return false
}
