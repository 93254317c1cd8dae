package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

func isControl(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }

// decodeAll decodes every document the way Manifest does.
func decodeAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func FuzzLog(f *testing.F) {
	for _, s := range []string{"", "password=x", `{"token":"abc","burstTokens":10}`, `{"password":"a\"b","x":["Bearer abcdefghij"]}`, pemKey, "Authorization: Bearer abcdefgh1234", jwt,
		`{"name":"DB_PASSWORD","value":"x\"y"}`, "https://u:p@h", "-----BEGIN X-----", "--token \x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := newTest()
		if strings.Contains(s, "CANARY") {
			return
		}
		line := strings.ReplaceAll(s, "\n", " ") + " password=CANARY123"
		if got := r.Log(line); strings.Contains(got, "CANARY123") {
			t.Fatalf("Log(%q) = %q: planted secret survived", line, got)
		}
		if !strings.Contains(s, "\n") && json.Valid([]byte(s)) {
			if got := r.Log(s); !json.Valid([]byte(got)) {
				t.Fatalf("Log broke a JSON line: %q → %q", s, got)
			}
		}
		if got := r.String(s); strings.Count(got, "\n") != strings.Count(s, "\n") {
			t.Fatalf("String(%q) changed the line count: %q", s, got)
		}
	})
}

func FuzzManifest(f *testing.F) {
	f.Add([]byte(manifestYAML))
	f.Add([]byte(`{"kind":"Pod","spec":{"containers":[{"env":[{"name":"TOKEN","value":"x"}]}]}}`))
	f.Add([]byte("a: |\n  -----BEGIN PRIVATE KEY-----\n  abc\nb: 'it''s'\nc: \"q\\\"\"\n"))
	f.Add([]byte("- !!str --password=x\n- &a tok\n- *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newTest()
		got := r.Manifest(data)
		if bytes.Count(got, []byte("\n")) != bytes.Count(data, []byte("\n")) {
			t.Fatalf("Manifest changed the line count:\n%q\n→\n%q", data, got)
		}
		if oddLineBreaks(data) || bytes.ContainsFunc(data, isControl) || decodeAll(data) != nil {
			// Not YAML, or YAML whose whitespace quirks (tabs, control characters) can turn a
			// requoted scalar invalid: Manifest falls back to line-based redaction there and
			// only the line count is promised.
			return
		}
		if err := decodeAll(got); err != nil {
			t.Fatalf("valid YAML became invalid: %v\n%q\n→\n%q", err, data, got)
		}
	})
}
