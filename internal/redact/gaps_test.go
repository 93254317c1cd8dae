package redact

import (
	"strings"
	"testing"
)

// TestGaps: formats that survived an attacker's 55 planted canaries. Each line holds one canary
// ("cnry…"); none may survive Log, String, Lines or Manifest, and the text around it stays.
func TestGaps(t *testing.T) {
	lines := []string{
		// name = value / name: value anywhere in a line (INI, dotenv, Python dumps, prefixed)
		"stderr: password = cnryIniPw01",
		"[db] password = cnryIniPw02",
		"config: db_password: cnryPrefixed03",
		"settings {'password': 'cnryPyDict04', 'user': 'x'}",
		`settings {"password": "cnryPyDict05"}`,
		"export DB_PASSWORD=cnryDotenv06",
		"INFO loaded secret_key = cnrySecretKey07 from env",
		// curl credentials inside sh -c
		`sh -c "curl -u admin:cnryCurlU08 https://example.com/x"`,
		`sh -c 'curl --user admin:cnryCurlUser09 https://example.com/x'`,
		"curl --user=admin:cnryCurlUserEq10 https://example.com",
		"curl -uadmin:cnryCurlAttached11 https://example.com",
		// well-known token formats in free text
		"using key AKIACNRYAWSKEY12ABCD for s3",
		"clone with ghp_cnryGitHubToken13aaaaaaaaaaaaaaaaaaaaaaaa done",
		"token github_pat_11CNRY14aaaaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb ok",
		"posting to https://hooks.slack.com/services/T0CNRY15/B0CNRY15/cnrySlackHook15xxxxxxxx now",
		"got eyJhbGciOiJIUzI1NiJ9.eyJjbnJ5IjoxNn0.cnryJwtSig16xxxxxxxx in header",
		"xoxb-1234-5678-cnrySlackBot17xx posted",
		// env names that hold secrets
		"GITHUB_PAT=cnryPat18",
		"SLACK_WEBHOOK=cnryWebhook19",
		`{"name":"DEPLOY_PAT","value":"cnryPatJSON20"}`,
		`{"name":"ALERT_WEBHOOK_URL","value":"https://hooks.example.com/cnryWebhookURL21"}`,
	}
	canaries := func(out string) []string {
		var left []string
		for _, l := range lines {
			i := strings.Index(strings.ToLower(l), "cnry")
			j := i + 4
			for j < len(l) && (l[j] >= 'a' && l[j] <= 'z' || l[j] >= 'A' && l[j] <= 'Z' || l[j] >= '0' && l[j] <= '9') {
				j++
			}
			c := l[i:j]
			if strings.Contains(out, c) {
				left = append(left, c)
			}
		}
		return left
	}
	r := newTest()
	for _, l := range lines {
		out := r.Log(l)
		if left := canaries(out); len(left) > 0 {
			t.Errorf("Log(%q) = %q: %v survived", l, out, left)
		}
		if !strings.Contains(out, TokenPrefix) {
			t.Errorf("Log(%q) = %q: no token", l, out)
		}
	}
	text := strings.Join(lines, "\n")
	if left := canaries(r.String(text)); len(left) > 0 {
		t.Errorf("String: %v survived", left)
	}
	lr := r.Lines()
	var streamed []string
	for _, l := range lines {
		streamed = append(streamed, lr.Line(l))
	}
	if left := canaries(strings.Join(streamed, "\n")); len(left) > 0 {
		t.Errorf("Lines: %v survived", left)
	}
	// Text that is not a secret stays.
	for _, keep := range []string{
		"stderr: connection refused",
		"password authentication failed for user postgres",
		"sudo -u nobody true",
		"key: value",
		"pattern = [a-z]+",
		"path: /etc/kubernetes/pki",
	} {
		if out := r.Log(keep); out != keep {
			t.Errorf("Log(%q) = %q: not a secret", keep, out)
		}
	}
}

// TestManifestHeaders: the kubelet config's staticPodURLHeader values (and HTTP header maps in
// general) are credentials whatever the header is called.
func TestManifestHeaders(t *testing.T) {
	cfg := `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodURL: https://127.0.0.1:50000/pods
staticPodURLHeader:
  X-Talos-Token:
  - cnryHeader01
  Authorization: ["Bearer cnryHeader02"]
  X-Custom: [cnryHeader03, cnryHeader04]
staticPodPath: /etc/kubernetes/manifests
`
	out := string(newTest().Manifest([]byte(cfg)))
	for _, c := range []string{"cnryHeader01", "cnryHeader02", "cnryHeader03", "cnryHeader04"} {
		if strings.Contains(out, c) {
			t.Errorf("%s survived:\n%s", c, out)
		}
	}
	for _, keep := range []string{"X-Talos-Token:", "staticPodPath: /etc/kubernetes/manifests", "staticPodURL: https://127.0.0.1:50000/pods"} {
		if !strings.Contains(out, keep) {
			t.Errorf("lost %q:\n%s", keep, out)
		}
	}
}
