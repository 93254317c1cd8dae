package redact

import (
	"fmt"
	"strings"
	"testing"
)

// TestCanary plants one distinct canary in every context the package promises to cover and
// checks that none survives, whichever entry point sees it.
func TestCanary(t *testing.T) {
	var canaries []string
	next := func() string {
		c := fmt.Sprintf("cnry%04dzq", len(canaries))
		canaries = append(canaries, c)
		return c
	}
	var lines []string
	for _, tmpl := range []string{
		"password=%s", "passwd: %s", `"token":"%s"`, `client_secret="%s"`, "--token %s", "--password=%s",
		"Authorization: Bearer %s", "authorization: Basic %s", "bearer %s", "https://admin:%s@example.com/x",
		`{"name":"DB_PASSWORD","value":"%s"}`, "api_key=%s", "X-Api-Key: %s", "GITHUB_TOKEN=%s", "aws_secret_access_key = %s",
	} {
		lines = append(lines, "msg "+fmt.Sprintf(tmpl, next())+" tail")
	}
	pem := "-----BEGIN OPENSSH PRIVATE KEY-----\n" + next() + "AAAABBBB\n" + next() + "CCCC==\n-----END OPENSSH PRIVATE KEY-----"
	lines = append(lines, strings.Split(pem, "\n")...)
	lines = append(lines, `{"msg":"crt","v":"`+strings.ReplaceAll("-----BEGIN CERTIFICATE-----\n"+next()+"\n-----END CERTIFICATE-----", "\n", `\n`)+`"}`)
	lines = append(lines, "jwt eyJ"+next()+"XXXX.eyJ"+next()+"YYYY.sig")

	r := newTest()
	text := strings.Join(lines, "\n")
	outs := map[string]string{"String": r.String(text), "Manifest": string(r.Manifest([]byte(text)))}
	lr := r.Lines()
	var streamed []string
	for _, l := range lines {
		streamed = append(streamed, lr.Line(l))
	}
	outs["Lines"] = strings.Join(streamed, "\n")
	for name, out := range outs {
		for _, c := range canaries {
			if strings.Contains(out, c) {
				t.Errorf("%s: canary %q survived:\n%s", name, c, out)
			}
		}
		if !strings.Contains(out, "msg ") || !strings.Contains(out, " tail") {
			t.Errorf("%s: surrounding text lost", name)
		}
	}
	if len(r.Counts()) == 0 {
		t.Errorf("no counts recorded")
	}
}
