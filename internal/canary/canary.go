// Package canary lays out a copied node with planted secrets ("canaries") in every place spdoc
// takes text from — manifests (env, args, sh -c, annotations), the agent and kubelet configs,
// the kubelet log, container logs (current and previous), the runtime state — for corpus tests:
// none may survive a bundle, a report or the agent API. Tests only.
package canary

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/cri"
	"github.com/spdoc/spdoc/internal/node"
)

// Now is the time the canary node's logs are written around.
var Now = time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)

// Secrets are planted in every kind of source, one per format and place; none may survive in a
// bundle, a report (any format) or what the agent API gives a reader.
var Secrets = map[string]string{
	"envSecret":   "cnry-env-secret-7Qx1",
	"envPassword": "cnry-env-password-8Rt2",
	"argToken":    "cnry-arg-token-9Lm3",
	"argSpace":    "cnry-arg-space-0Kd4",
	"clientSec":   "cnry-client-secret-1Hj5",
	"pemBody1":    "MIIEcnryPEMbody1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	"pemBody2":    "cnryPEMbody2BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
	"annotation":  "cnry-annotation-token-2Gf6",
	"agentCfg":    "cnry-agent-config-pw-3Ds7",
	"bearerKL":    "cnryBearerKubeletLog4As8",
	"urlKL":       "cnry-url-pw-5Pw9",
	"tokenKL":     "cnry-kl-token-6Oq0",
	"jwtPart":     "eyJjbnJ5IjoiMTIzNDU2Nzg5MCJ9",
	"podPassword": "cnry-podlog-password-7Iu1",
	"podPEM":      "cnryPodLogPEMlineCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
	"podAuth":     "cnryPodLogAuthHeader8Yt2",
	"rtAnno":      "cnry-runtime-annotation-9Tr3",
	// The gaps an attacker's corpus found (issue 10): one canary per format and place.
	"curlU":       "cnry-curl-u-1Aa1",
	"curlUser":    "cnry-curl-user-2Bb2",
	"envPAT":      "cnry-env-pat-3Cc3",
	"envWebhook":  "cnry-env-webhook-4Dd4",
	"urlHeader":   "cnry-static-pod-url-header-5Ee5",
	"urlHeader2":  "cnry-static-pod-url-header-6Ff6",
	"awsKL":       "AKIACNRYKUBELETLOG7G",
	"ghpKL":       "ghp_cnryKubeletLogGitHubToken8Hh8aaaaaaaa",
	"iniPod":      "cnry-podlog-ini-9Ii9",
	"prefixedPod": "cnry-podlog-prefixed-0Jj0",
	"pyDictPod":   "cnry-podlog-pydict-1Kk1",
	"slackPod":    "cnryPodLogSlackHook2Ll2",
	"jwtPod":      "eyJjbnJ5UG9kTG9nIjoiMyJ9",
	"awsPod":      "AKIACNRYPODLOG4MM4AA",
	"dotenvPod":   "cnry-podlog-dotenv-5Nn5",
	"annoWebhook": "cnry-annotation-webhook-6Oo6",
}

// Get returns the canary named k.
func Get(k string) string {
	v, ok := Secrets[k]
	if !ok {
		panic("no canary " + k)
	}
	return v
}

const (
	NodeName = "node1"
	WebUID   = "2a1b3c4d5e6f708192a3b4c5d6e7f809"
)

// LayNode writes a copied node with canary secrets under a temp dir and returns its root: a
// static pod web whose container crashed (its logs are report evidence), an invalid manifest,
// the agent and kubelet configs, a kubelet log and the runtime state.
func LayNode(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/kubernetes/manifests/web.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    example.com/api-token: `+Get("annotation")+`
    example.com/slack-webhook-url: https://hooks.example.com/`+Get("annoWebhook")+`
spec:
  containers:
  - name: fetch
    image: busybox:1.36
    command: ["sh", "-c", "curl -u admin:`+Get("curlU")+` https://example.com/a && curl --user ops:`+Get("curlUser")+` https://example.com/b"]
    env:
    - name: GITHUB_PAT
      value: `+Get("envPAT")+`
    - name: SLACK_WEBHOOK
      value: `+Get("envWebhook")+`
  - name: app
    image: busybox:1.36
    command: ["sh", "-c", "exec app --password `+Get("argSpace")+`"]
    args:
    - --token=`+Get("argToken")+`
    - --client-secret
    - `+Get("clientSec")+`
    env:
    - name: APP_SECRET
      value: `+Get("envSecret")+`
    - name: DB_PASSWORD
      value: "`+Get("envPassword")+`"
    - name: TLS_KEY
      value: |
        -----BEGIN RSA PRIVATE KEY-----
        `+Get("pemBody1")+`
        `+Get("pemBody2")+`
        -----END RSA PRIVATE KEY-----
`)
	write("etc/kubernetes/manifests/invalid.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: invalid\nspec:\n  containers: []\n")
	write("etc/spdoc/pods.yaml", "pods:\n- name: x\n  password: "+Get("agentCfg")+"\n")
	write("var/lib/kubelet/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"+
		"staticPodPath: /etc/kubernetes/manifests\nstaticPodURLHeader:\n  X-Node-Token:\n  - "+Get("urlHeader")+"\n  X-Other: ["+Get("urlHeader2")+"]\n")

	ts := func(d time.Duration) string {
		return fmt.Sprintf("%.3f", float64(Now.Add(d).UnixMicro())/1000)
	}
	kl := []string{
		`{"ts":` + ts(-50*time.Minute) + `,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/invalid.yaml","err":"invalid pod: [spec.containers: Required value]"}`,
		`{"ts":` + ts(-40*time.Minute) + `,"caller":"x/y.go:1","msg":"request","header":"Authorization: Bearer ` + Get("bearerKL") + `","v":2}`,
		`{"ts":` + ts(-30*time.Minute) + `,"caller":"x/y.go:2","msg":"dial https://admin:` + Get("urlKL") + `@10.0.0.1:6443/api","v":2}`,
		`{"ts":` + ts(-20*time.Minute) + `,"caller":"x/y.go:3","msg":"sa","token":"` + Get("tokenKL") + `","jwt":"` + Get("jwtPart") + `.eyJzdWIiOiJzeXN0ZW06bm9kZSJ9.c2ln","v":2}`,
		`{"ts":` + ts(-19*time.Minute) + `,"caller":"x/y.go:4","msg":"pulling with ` + Get("awsKL") + ` and ` + Get("ghpKL") + `","v":2}`,
	}
	write("var/log/kubelet.log", strings.Join(kl, "\n")+"\n")

	logLine := func(d time.Duration, stream, msg string) string {
		return Now.Add(d).Format(time.RFC3339Nano) + " " + stream + " F " + msg
	}
	podDir := "var/log/pods/default_web-" + NodeName + "_" + WebUID + "/app/"
	write(podDir+"0.log", strings.Join([]string{
		logLine(-15*time.Minute, "stdout", "starting with password="+Get("podPassword")),
		logLine(-14*time.Minute, "stderr", "-----BEGIN PRIVATE KEY-----"),
		logLine(-14*time.Minute, "stderr", Get("podPEM")),
		logLine(-14*time.Minute, "stderr", "-----END PRIVATE KEY-----"),
		logLine(-13*time.Minute, "stderr", "fatal: exit"),
		logLine(-12*time.Minute, "stdout", "settings: {'password': '"+Get("pyDictPod")+"', 'user': 'app'}"),
		logLine(-12*time.Minute, "stdout", "export API_TOKEN="+Get("dotenvPod")),
		logLine(-12*time.Minute, "stderr", "aws: using "+Get("awsPod")),
	}, "\n")+"\n")
	write(podDir+"1.log", strings.Join([]string{
		logLine(-5*time.Minute, "stdout", "GET / Authorization: Bearer "+Get("podAuth")),
		logLine(-5*time.Minute, "stdout", "[db] password = "+Get("iniPod")),
		logLine(-5*time.Minute, "stdout", "notify https://hooks.slack.com/services/T000/B000/"+Get("slackPod")),
		logLine(-5*time.Minute, "stdout", "session "+Get("jwtPod")+".eyJzdWIiOiJ4In0.c2lnbmF0dXJl"),
		logLine(-4*time.Minute, "stderr", "config: password = "+Get("prefixedPod")),
		logLine(-4*time.Minute, "stderr", "boom"),
	}, "\n")+"\n")
	if err := os.MkdirAll(filepath.Join(root, "var/log/containers"), 0o755); err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("ab", 32)
	if err := os.Symlink("../pods/default_web-"+NodeName+"_"+WebUID+"/app/1.log",
		filepath.Join(root, "var/log/containers", "web-"+NodeName+"_default_app-"+id+".log")); err != nil {
		t.Fatal(err)
	}

	rt := node.RuntimeState{
		Endpoint: "unix:///run/containerd/containerd.sock", Reachable: true,
		Status: &cri.RuntimeStatus{RuntimeName: "containerd", RuntimeVersion: "1.6.20", APIVersion: "v1",
			Conditions: []cri.Condition{{Type: "RuntimeReady", Status: true}, {Type: "NetworkReady", Status: true}}},
		Sandboxes: []cri.Sandbox{{ID: "sb1", Name: "web-" + NodeName, Namespace: "default", UID: WebUID, State: "SANDBOX_READY",
			CreatedAt: Now.Add(-20 * time.Minute), Annotations: map[string]string{"example.com/api-token": Get("rtAnno")}}},
		Containers: []cri.Container{{ID: id, SandboxID: "sb1", Name: "app", PodName: "web-" + NodeName, PodNamespace: "default",
			PodUID: WebUID, Attempt: 1, RestartCount: 1, Image: "busybox:1.36", State: "CONTAINER_EXITED", ExitCode: 1, Reason: "Error",
			CreatedAt: Now.Add(-5 * time.Minute), StartedAt: Now.Add(-5 * time.Minute), FinishedAt: Now.Add(-4 * time.Minute),
			LogPath: "/var/log/pods/default_web-" + NodeName + "_" + WebUID + "/app/1.log"}},
	}
	data, err := json.Marshal(rt)
	if err != nil {
		t.Fatal(err)
	}
	write(node.RuntimeFile, string(data))
	return root
}

// Survivors returns the names of the canaries found in data.
func Survivors(data []byte) []string {
	var out []string
	for k, v := range Secrets {
		if strings.Contains(string(data), v) {
			out = append(out, k)
		}
	}
	return out
}
