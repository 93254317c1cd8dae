package redact

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func newTest() *Redactor { return New(Options{Key: []byte("test-key")}) }

const (
	pemKey = "-----BEGIN RSA PRIVATE KEY-----\n" +
		"MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n" +
		"KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm\n" +
		"-----END RSA PRIVATE KEY-----"
	pemCert = "-----BEGIN CERTIFICATE-----\n" +
		"MIIBszCCAV2gAwIBAgIUJ8Ddpu4Y0qzkzhWTqEmd8Z2TD9gwDQYJKoZIhvcNAQEL\n" +
		"-----END CERTIFICATE-----"
	jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJlX2J5dGVz"
)

func TestLog(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		gone     []string // must not survive
		kept     []string // must survive
		wantKind string
	}{
		{"authorization header", `GET /api Authorization: Bearer abcdefghijklmnop123`, []string{"abcdefghijklmnop123"}, []string{"Authorization: Bearer [REDACTED-"}, KindBearer},
		{"basic auth header", `"authorization":"Basic dXNlcjpwYXNzd29yZA=="`, []string{"dXNlcjpwYXNzd29yZA"}, []string{`"authorization":"Basic [REDACTED-`}, KindBearer},
		{"bearer prose", `using bearer sk_live_0123456789abcdef for call`, []string{"sk_live_0123456789abcdef"}, []string{"for call"}, KindBearer},
		{"url password", `dial postgres://admin:hunter2pw@db:5432/app`, []string{"hunter2pw"}, []string{"postgres://admin:[REDACTED-", "@db:5432/app"}, KindURLPassword},
		{"url without password", `GET https://10.0.0.1:6443/api/v1`, nil, []string{"https://10.0.0.1:6443/api/v1"}, ""},
		{"json kv", `{"ts":1.5,"msg":"login","password":"pa55word","user":"bob"}`, []string{"pa55word"}, []string{`"user":"bob"`, `"password":"[REDACTED-`}, KindKeyValue},
		{"klog kv", `I1124 21:55:04.100165 1234 x.go:1] "auth" client_secret="cs-123456" user="bob"`, []string{"cs-123456"}, []string{`user="bob"`}, KindKeyValue},
		{"query string", `GET /cb?code=1&access_token=AT-998877&state=x`, []string{"AT-998877"}, []string{"state=x"}, KindKeyValue},
		{"escaped json", `err="{\"token\":\"tk-445566\"}"`, []string{"tk-445566"}, nil, KindKeyValue},
		{"flag with space", `exec app --password hunter3x --verbose`, []string{"hunter3x"}, []string{"--verbose"}, KindKeyValue},
		{"flag equals", `kubelet --bootstrap-token=abcdef.0123456789abcdef`, []string{"0123456789abcdef"}, []string{"--bootstrap-token="}, KindKeyValue},
		{"path flag kept", `--tls-private-key-file=/etc/kubernetes/pki/apiserver.key`, nil, []string{"/etc/kubernetes/pki/apiserver.key"}, ""},
		{"bool kept", `--anonymous-auth=false token=true`, nil, []string{"--anonymous-auth=false", "token=true"}, ""},
		{"jwt", `sa token ` + jwt + ` expired`, []string{"c2lnbmF0dXJlX2J5dGVz", "eyJpc3Mi"}, []string{"sa token [REDACTED-", " expired"}, KindJWT},
		{"pem escaped in json", `{"msg":"cert","data":"` + strings.ReplaceAll(pemKey, "\n", `\n`) + `"}`, []string{"MIIBOgIBAAJBAKj34", "KUpRKfFLfRYC9"}, []string{`-----BEGIN RSA PRIVATE KEY-----\n[REDACTED-`, `\n-----END RSA PRIVATE KEY-----"}`}, KindPEMPrivateKey},
		{"pem cert one line", `ca ` + strings.ReplaceAll(pemCert, "\n", " ") + ` ok`, []string{"MIIBszCCAV2gAwIB"}, []string{"-----BEGIN CERTIFICATE----- [REDACTED-", "ok"}, KindPEMCertificate},
		{"pem truncated", `-----BEGIN EC PRIVATE KEY-----MHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY`, []string{"MHcCAQEEIIrYSS"}, nil, KindPEMPrivateKey},
		{"kubeconfig client-key-data", `client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=`, []string{"LS0tLS1CRUdJTiBSU0Eg"}, []string{"client-key-data: [REDACTED-"}, KindPEM},
		{"kubelet record untouched", `{"ts":1732485304100.2,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/web.yaml","err":"invalid pod: [spec.containers: Required value]"}`, nil, []string{`"err":"invalid pod: [spec.containers: Required value]"`, `"path":"/etc/kubernetes/manifests/web.yaml"`}, ""},
		{"klog untouched", `E1124 21:55:04.100165 1234 kuberuntime_manager.go:1] "CreatePodSandbox for pod failed" err="rpc error: code = Unknown" pod="kube-system/etcd-node1" podUID="8f9c"`, nil, []string{`pod="kube-system/etcd-node1" podUID="8f9c"`}, ""},
		{"no secret", "plain text line", nil, []string{"plain text line"}, ""},
		{"pem body alone", "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu", []string{"MIIBOgIBAAJBAKj34"}, []string{"[REDACTED-"}, KindBase64},
		{"pem body in evidence", "stderr: MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu", []string{"MIIBOgIBAAJBAKj34"}, []string{"stderr: [REDACTED-"}, KindBase64},
		{"container id kept", "3f49c9fda8427320b68d79cc9d8180ec5d57007ed06e6a37ca6408f005e3b8b7", nil, []string{"3f49c9fda8427320b68d79cc9d8180ec5d57007ed06e6a37ca6408f005e3b8b7"}, ""},
		{"long word kept", "Supercalifragilisticexpialidocious-and-more-words", nil, []string{"Supercalifragilistic"}, ""},
		{"go struct env", `Container{Name:app,Env:[]EnvVar{EnvVar{Name:DB_PASSWORD,Value:pw-struct-1,ValueFrom:nil,},EnvVar{Name:MODE,Value:fast,}}`, []string{"pw-struct-1"}, []string{"Value:fast", "Name:DB_PASSWORD,Value:[REDACTED-"}, KindEnv},
		{"go struct env spaces", `{Name:API_TOKEN Value:tok-struct-2 ValueFrom:nil}`, []string{"tok-struct-2"}, []string{"ValueFrom:nil"}, KindEnv},
		{"json number kept", `{"msg":"rate","burstTokens":10,"qps":100}`, nil, []string{`"burstTokens":10`}, ""},
		{"numeric password", `login password=123456 ok`, []string{"123456"}, []string{"ok"}, KindKeyValue},
		{"kubelet flag", `{"msg":"FLAG: --storage-driver-password=\"root\"","v":1}`, []string{`root`}, []string{`--storage-driver-password=\"[REDACTED-`}, KindKeyValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTest()
			got := r.Log(tt.in)
			for _, g := range tt.gone {
				if strings.Contains(got, g) {
					t.Errorf("Log(%q) = %q: %q survived", tt.in, got, g)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(got, k) {
					t.Errorf("Log(%q) = %q: want %q kept", tt.in, got, k)
				}
			}
			counts := r.Counts()
			if tt.wantKind == "" {
				if got != tt.in || len(counts) != 0 {
					t.Errorf("Log(%q) = %q, counts %v; want unchanged", tt.in, got, counts)
				}
				return
			}
			found := false
			for _, c := range counts {
				found = found || c.Kind == tt.wantKind && c.Count > 0
			}
			if !found {
				t.Errorf("counts %v: want kind %q", counts, tt.wantKind)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		want nameClass
	}{
		{"DB_PASSWORD", nameStrong},
		{"dbPassword", nameStrong},
		{"MYSQLPASSWD", nameStrong},
		{"GITHUB_TOKEN", nameStrong},
		{"--bootstrap-token", nameStrong},
		{"--client-secret", nameStrong},
		{"AWS_SECRET_ACCESS_KEY", nameStrong},
		{"API_KEY", nameStrong},
		{"apiKey", nameStrong},
		{"x-api-key", nameStrong},
		{"SIGNING_KEY", nameWeak},
		{"--etcd-keyfile", nameNone},
		{"--tls-private-key-file", nameNone},
		{"TLS_KEY", nameWeak},
		{"--client-cert", nameWeak},
		{"SECRET_NAME", nameNone},
		{"TOKEN_TTL", nameNone},
		{"AUTH_URL", nameNone},
		{"secretName", nameNone},
		{"PWD", nameNone},
		{"--authorization-mode", nameNone},
		{"key", nameNone},
		{"LOG_LEVEL", nameNone},
		{"HOME", nameNone},
		{"", nameNone},
	}
	for _, tt := range tests {
		if got := classify(tt.name); got != tt.want {
			t.Errorf("classify(%q) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestArgs(t *testing.T) {
	r := newTest()
	in := []string{"kube-apiserver", "--token-auth-file=/etc/tokens.csv", "--password", "pw-0001", "--client-key=inline-key-data",
		"--client-key=/etc/k.key", "--verbose", "--oidc-client-secret=cs-0002", "sh", "-c", "app --token=tk-0003 run"}
	got := r.Args(in)
	joined := strings.Join(got, " ")
	for _, gone := range []string{"pw-0001", "inline-key-data", "cs-0002", "tk-0003"} {
		if strings.Contains(joined, gone) {
			t.Errorf("Args: %q survived in %q", gone, joined)
		}
	}
	for _, kept := range []string{"--token-auth-file=/etc/tokens.csv", "--client-key=/etc/k.key", "--verbose", "--password", "app --token="} {
		if !strings.Contains(joined, kept) {
			t.Errorf("Args: want %q kept in %q", kept, joined)
		}
	}
	if len(got) != len(in) {
		t.Fatalf("Args changed length: %d → %d", len(in), len(got))
	}
	if in[3] != "pw-0001" {
		t.Errorf("Args modified its input")
	}
}

func TestStableTokens(t *testing.T) {
	r := newTest()
	a := r.Log("password=samesecret1")
	b := r.In("other").Log(`{"token":"samesecret1"}`)
	tokA := regexp.MustCompile(`\[REDACTED-[0-9a-f]{8}\]`).FindString(a)
	if tokA == "" || !strings.Contains(b, tokA) {
		t.Fatalf("same secret gave different tokens: %q vs %q", a, b)
	}
	if c := r.Log("password=othersecret"); strings.Contains(c, tokA) {
		t.Errorf("different secrets share a token: %q", c)
	}
	// Different keys: different tokens (a token alone cannot be matched against a guess).
	r1, r2 := New(Options{}), New(Options{})
	if r1.Token("x") == r2.Token("x") {
		t.Errorf("two random-key redactors gave the same token")
	}
	if !strings.HasPrefix(r1.Token("x"), "[REDACTED") {
		t.Errorf("token %q does not start with [REDACTED", r1.Token("x"))
	}
}

func TestCountsPerPlace(t *testing.T) {
	r := newTest()
	r.In("b.log").Log("password=x1 token=x2")
	r.In("a.log").Log("Authorization: Bearer abcdefgh12345")
	got := r.Counts()
	want := []Redaction{{Where: "a.log", Kind: KindBearer, Count: 1}, {Where: "b.log", Kind: KindKeyValue, Count: 2}}
	if len(got) != len(want) {
		t.Fatalf("Counts = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Counts[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestDisabledAndExtra(t *testing.T) {
	off := New(Options{Disabled: true})
	in := "password=hunter2 " + pemKey
	if got := off.String(in); got != in {
		t.Errorf("disabled String changed input: %q", got)
	}
	if got := off.Manifest([]byte(in)); string(got) != in {
		t.Errorf("disabled Manifest changed input")
	}
	extra := New(Options{Key: []byte("k"), Extra: []*regexp.Regexp{
		regexp.MustCompile(`ACME-[0-9]{6}`),
		regexp.MustCompile(`customer=(\w+)`),
	}})
	got := extra.Log("id ACME-123456 customer=globex done")
	if strings.Contains(got, "ACME-123456") || strings.Contains(got, "globex") || !strings.Contains(got, "customer=[REDACTED-") {
		t.Errorf("extra patterns: %q", got)
	}
}

func TestLineRedactorMultiLinePEM(t *testing.T) {
	r := newTest()
	lr := r.Lines()
	in := append([]string{"starting"}, strings.Split(pemKey, "\n")...)
	in = append(in, "after the key password=pw-777", pemCert[:strings.Index(pemCert, "\n")], "MIIBszCCAV2gAwIBAgIUJ8Ddpu4Y0qzkzhWTqEmd8Z2TD9gwDQYJKoZIhvcNAQEL", "level=info cut off")
	var out []string
	for _, l := range in {
		out = append(out, lr.Line(l))
	}
	all := strings.Join(out, "\n")
	for _, gone := range []string{"MIIBOgIBAAJBAKj34", "KUpRKfFLfRYC9AIKjbJTWit", "pw-777", "MIIBszCCAV2gAwIB"} {
		if strings.Contains(all, gone) {
			t.Errorf("%q survived:\n%s", gone, all)
		}
	}
	for _, kept := range []string{"starting", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "level=info cut off"} {
		if !strings.Contains(all, kept) {
			t.Errorf("%q lost:\n%s", kept, all)
		}
	}
	if len(out) != len(in) {
		t.Errorf("line count changed")
	}
	// String on a multi-line value follows the block too.
	if s := r.String("key:\n" + pemKey + "\nend"); strings.Contains(s, "MIIBOgIBAAJBAKj34") || strings.Count(s, "\n") != strings.Count(pemKey, "\n")+2 {
		t.Errorf("String multi-line PEM: %q", s)
	}
}

func TestPod(t *testing.T) {
	r := newTest()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{
			"example.com/api-token": "ann-0001", "kubernetes.io/config.hash": "abc",
		}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Env: []corev1.EnvVar{{Name: "INIT_SECRET", Value: "init-0002"}}}},
			Containers: []corev1.Container{{
				Name:    "app",
				Command: []string{"app", "--token", "tok-0003"},
				Args:    []string{"--db-password=pw-0004", "--port=8080"},
				Env: []corev1.EnvVar{
					{Name: "DB_PASSWORD", Value: "pw-0005"},
					{Name: "TLS_KEY", Value: pemKey},
					{Name: "TLS_KEY_FILE", Value: "/etc/tls.key"},
					{Name: "LOG_LEVEL", Value: "debug"},
					{Name: "DSN_URL", Value: "mysql://root:pw-0006@db/app"},
				},
			}},
		},
	}
	got := r.Pod(pod)
	data, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"ann-0001", "init-0002", "tok-0003", "pw-0004", "pw-0005", "pw-0006", "MIIBOgIBAAJBAKj34"} {
		if bytes.Contains(data, []byte(gone)) {
			t.Errorf("%q survived Pod():\n%s", gone, data)
		}
	}
	for _, kept := range []string{"/etc/tls.key", "debug", "--port=8080", "abc", "mysql://root:"} {
		if !bytes.Contains(data, []byte(kept)) {
			t.Errorf("%q lost in Pod():\n%s", kept, data)
		}
	}
	if pod.Spec.Containers[0].Env[0].Value != "pw-0005" {
		t.Errorf("Pod modified its input")
	}
	if r.Pod(nil) != nil {
		t.Errorf("Pod(nil) != nil")
	}
}

const manifestYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: kube-system
  annotations:
    example.com/api-token: ann-0001
    kubernetes.io/description: "plain"
spec:
  containers:
  - name: app
    image: nginx:1.27
    command: ["app", "--password", "pw-0002", "--token=tok-0003"]
    args:
    - --client-secret=cs-0004
    - --tls-cert-file=/etc/x.crt
    - 'sh -c "curl -H ''Authorization: Bearer bt-000000005'' http://x"'
    env:
    - name: DB_PASSWORD
      value: pw-0006
    - name: QUOTED_TOKEN
      value: 'tok-0007'
    - name: PLAIN
      value: "ok"
    - name: TLS_KEY
      value: |
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7
        -----END PRIVATE KEY-----
    - name: CA_BUNDLE
      value: |
        -----BEGIN CERTIFICATE-----
        MIIBszCCAV2gAwIBAgIUJ8Ddpu4Y0qzkzhWTqEmd8Z2TD9gwDQYJ
        -----END CERTIFICATE-----
    - name: API_URL
      value: https://user:pw-0008@api.example.com/v1
    - name: FOLDED_SECRET
      value: >
        folded-0009
        continued-0010
    - name: MULTI_PLAIN_PASSWORD
      value: first-0011
        second-0012
    - name: COMMENTED
      value: plain # was token=cmt-0014
# old: password=cmt-0013
`

var manifestCanaries = []string{"ann-0001", "pw-0002", "tok-0003", "cs-0004", "bt-000000005", "pw-0006", "tok-0007", "MIIEvQIBADANBgkqhkiG9w0B",
	"MIIBszCCAV2gAwIBAgIUJ8D", "pw-0008", "folded-0009", "continued-0010", "first-0011", "second-0012", "cmt-0013", "cmt-0014"}

func TestManifest(t *testing.T) {
	r := newTest().In("etc/kubernetes/manifests/web.yaml")
	got := r.Manifest([]byte(manifestYAML))
	for _, c := range manifestCanaries {
		if bytes.Contains(got, []byte(c)) {
			t.Errorf("%q survived Manifest:\n%s", c, got)
		}
	}
	if n, m := bytes.Count(got, []byte("\n")), strings.Count(manifestYAML, "\n"); n != m {
		t.Errorf("line count %d, want %d:\n%s", n, m, got)
	}
	// Still decodes to the same shape: same containers, same env names, same arg count.
	var before, after corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(manifestYAML), &before); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(got, &after); err != nil {
		t.Fatalf("redacted manifest no longer decodes: %v\n%s", err, got)
	}
	bc, ac := before.Spec.Containers[0], after.Spec.Containers[0]
	if len(bc.Env) != len(ac.Env) || len(bc.Args) != len(ac.Args) || len(bc.Command) != len(ac.Command) || ac.Image != bc.Image {
		t.Errorf("shape changed: before %+v\nafter %+v", bc, ac)
	}
	for i := range bc.Env {
		if bc.Env[i].Name != ac.Env[i].Name {
			t.Errorf("env[%d] name %q → %q", i, bc.Env[i].Name, ac.Env[i].Name)
		}
	}
	if ac.Env[2].Value != "ok" || ac.Args[1] != "--tls-cert-file=/etc/x.crt" || after.Annotations["kubernetes.io/description"] != "plain" {
		t.Errorf("non-secret values changed: %+v", ac)
	}
	// The manifest copy and Pod() agree on the token of the same secret.
	if want := r.Token("pw-0006"); ac.Env[0].Value != want {
		t.Errorf("DB_PASSWORD token %q, want %q", ac.Env[0].Value, want)
	}
	if len(r.Counts()) == 0 || r.Counts()[0].Where != "etc/kubernetes/manifests/web.yaml" {
		t.Errorf("counts %v", r.Counts())
	}
}

func TestManifestJSONAndBroken(t *testing.T) {
	r := newTest()
	js := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"},"spec":{"containers":[{"name":"a","image":"busybox",
"env":[{"name":"API_TOKEN","value":"tok-0101"},{"name":"X","value":"y"}],"args":["--password=pw-0102"]}]}}
`
	got := r.Manifest([]byte(js))
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(got, &pod); err != nil {
		t.Fatalf("redacted JSON manifest does not decode: %v\n%s", err, got)
	}
	if bytes.Contains(got, []byte("tok-0101")) || bytes.Contains(got, []byte("pw-0102")) || pod.Spec.Containers[0].Env[1].Value != "y" {
		t.Errorf("JSON manifest: %s", got)
	}

	broken := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n spec: [\n  containers:\n  - name: a\n    env:\n    - name: DB_PASSWORD\n      value: pw-0201\n    args: [\"--token=tok-0202\"]\n" + pemKey + "\n"
	got = r.Manifest([]byte(broken))
	for _, c := range []string{"pw-0201", "tok-0202", "MIIBOgIBAAJBAKj34"} {
		if bytes.Contains(got, []byte(c)) {
			t.Errorf("%q survived in a broken manifest:\n%s", c, got)
		}
	}
	if bytes.Count(got, []byte("\n")) != strings.Count(broken, "\n") {
		t.Errorf("broken manifest line count changed")
	}
}

func TestValue(t *testing.T) {
	type inner struct {
		Msg    string
		Labels map[string]string
	}
	type outer struct {
		Name   string
		Items  []inner
		Ptr    *inner
		ByName map[string]inner
		hidden string
	}
	v := &outer{
		Name:   "https://u:pw-0301@h",
		Items:  []inner{{Msg: "password=pw-0302", Labels: map[string]string{"api-token": "tok-0303", "app": "web"}}},
		Ptr:    &inner{Msg: "Authorization: Bearer bt-00000304"},
		ByName: map[string]inner{"x": {Msg: "token=tok-0305"}},
		hidden: "password=keep-unexported",
	}
	newTest().Value(v)
	all := fmt.Sprintf("%+v %+v", *v, *v.Ptr)
	for _, gone := range []string{"pw-0301", "pw-0302", "tok-0303", "bt-00000304", "tok-0305"} {
		if strings.Contains(all, gone) {
			t.Errorf("%q survived Value: %s", gone, all)
		}
	}
	if v.Items[0].Labels["app"] != "web" || v.hidden != "password=keep-unexported" {
		t.Errorf("Value changed what it should keep: %s", all)
	}
}
