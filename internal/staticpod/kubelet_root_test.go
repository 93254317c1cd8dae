package staticpod

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/internal/testnode"
	"github.com/spdoc/spdoc/internal/testtier"
)

// kubeletCases are manifests with what we predict; each runs through a real kubelet in
// TestRootKubeletValidateMatchesKubelet. The body is indented under `spec:` of a pod named after
// the file, unless full is set.
var kubeletCases = []struct {
	file string
	spec string // YAML under "spec:" (2-space indented), for a pod named like the file
	full string // the whole file instead
	// prefixOnly: our message differs in the object dump the kubelet prints; compare the prefix.
	prefixOnly bool
}{
	{file: "no-containers", spec: "  restartPolicy: Always\n"},
	{file: "no-image", spec: "  containers:\n  - name: main\n"},
	{file: "dup-names", spec: "  hostNetwork: true\n  initContainers:\n  - {name: main, image: spdoc.local/busybox:1}\n  containers:\n  - {name: main, image: spdoc.local/busybox:1}\n"},
	{file: "mount-not-found", spec: "  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    volumeMounts:\n    - {name: data, mountPath: /data}\n"},
	{file: "hostpath", spec: "  volumes:\n  - name: h\n    hostPath: {type: Dir}\n  containers:\n  - {name: main, image: spdoc.local/busybox:1}\n"},
	{file: "volumes", spec: "  volumes:\n  - {name: v, emptyDir: {}}\n  - {name: v, emptyDir: {}}\n  - {name: Bad_Name, emptyDir: {}}\n  - {name: none}\n  - {name: two, emptyDir: {}, hostPath: {path: /tmp}}\n  containers:\n  - {name: main, image: spdoc.local/busybox:1}\n"},
	{file: "ports", spec: "  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    ports:\n    - {containerPort: 70000, protocol: HTTP, hostPort: 0}\n    - {name: Bad_Port, containerPort: 80}\n    - {hostPort: 8080}\n"},
	{file: "hostport-dup", spec: "  containers:\n  - name: a\n    image: spdoc.local/busybox:1\n    ports: [{containerPort: 80, hostPort: 18080}]\n  - name: b\n    image: spdoc.local/busybox:1\n    ports: [{containerPort: 81, hostPort: 18080}, {containerPort: 82, hostPort: 18080, protocol: UDP}]\n"},
	{file: "hostnetwork-ports", spec: "  hostNetwork: true\n  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    ports: [{containerPort: 80}, {containerPort: 80}, {containerPort: 81, hostPort: 82}]\n"},
	{file: "policies", spec: "  restartPolicy: Sometimes\n  dnsPolicy: None\n  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    imagePullPolicy: Maybe\n    terminationMessagePolicy: Loud\n"},
	{file: "resources", spec: "  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    resources:\n      limits: {cpu: 50m, memory: -1, cpus: 1}\n      requests: {cpu: 100m}\n"},
	{file: "probes", spec: "  initContainers:\n  - name: init\n    image: spdoc.local/busybox:1\n    livenessProbe: {exec: {command: [\"true\"]}}\n  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    livenessProbe: {successThreshold: 2, httpGet: {port: 0}}\n    readinessProbe: {}\n    startupProbe: {exec: {command: [\"true\"]}, tcpSocket: {port: 80}}\n"},
	{file: "env", spec: "  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    env:\n    - {name: \"\"}\n    - {name: \"A=B\"}\n    - {name: X, valueFrom: {}}\n    - {name: Y, value: v, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n"},
	{file: "mounts", spec: "  volumes:\n  - {name: v, emptyDir: {}}\n  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    volumeMounts:\n    - {name: v, mountPath: /a}\n    - {name: v, mountPath: /a}\n    - {name: v, mountPath: /b, subPath: ../x}\n    - {name: v}\n"},
	{file: "secret-volume", spec: "  volumes:\n  - name: s\n    secret: {secretName: s}\n  containers:\n  - {name: main, image: spdoc.local/busybox:1}\n"},
	{file: "service-account", spec: "  serviceAccountName: default\n  imagePullSecrets: [{name: pull}]\n  containers:\n  - {name: main, image: spdoc.local/busybox:1}\n"},
	{file: "configmap-env", spec: "  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    envFrom: [{configMapRef: {name: c}}]\n"},
	{file: "projected-token", spec: "  volumes:\n  - name: t\n    projected:\n      sources:\n      - downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name}}]}\n      - serviceAccountToken: {path: token}\n  containers:\n  - {name: main, image: spdoc.local/busybox:1}\n"},
	{file: "pvc", spec: "  volumes:\n  - {name: p, persistentVolumeClaim: {claimName: c}}\n  containers:\n  - {name: main, image: spdoc.local/busybox:1}\n"},
	{file: "bad-namespace", full: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad-namespace\n  namespace: kube.system\nspec:\n  containers:\n  - {name: main, image: spdoc.local/busybox:1}\n"},
	{file: "bad-name", full: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\nspec:\n  containers:\n  - {name: main, image: spdoc.local/busybox:1}\n"},
	{file: "no-name", full: "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: b}\nspec:\n  containers: []\n"},
	{file: "yaml-error", full: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: yaml-error\n\tnamespace: default\n"},
	{file: "empty", full: ""},
	{file: "missing-kind", full: "apiVersion: v1\nmetadata:\n  name: missing-kind\n"},
	{file: "pod-list", full: "apiVersion: v1\nkind: PodList\nitems: []\n", prefixOnly: true},
	{file: "deployment", full: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: deployment\n"},
	{file: "wrong-type", spec: "  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    ports:\n    - containerPort: http\n"},
	{file: "bad-quantity", spec: "  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    resources: {limits: {cpu: 1x}}\n"},
	// Accepted by the kubelet (warnings at most).
	{file: "valid", spec: "  hostNetwork: true\n  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    imagePullPolicy: Never\n    command: [sleep, \"3600\"]\n    resources: {requests: {cpu: 10m}}\n"},
	{file: "unknown-field", spec: "  hostNetwork: true\n  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    imagePolicy: Never\n    imagePullPolicy: Never\n    command: [sleep, \"3600\"]\n"},
	{file: "two-documents", full: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: two-documents\nspec:\n  hostNetwork: true\n  containers:\n  - {name: main, image: spdoc.local/busybox:1, imagePullPolicy: Never, command: [sleep, \"3600\"]}\n---\nnot: a pod\n"},
	{file: "downward-api", spec: "  hostNetwork: true\n  volumes:\n  - name: d\n    projected:\n      sources:\n      - downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name}}]}\n  containers:\n  - name: main\n    image: spdoc.local/busybox:1\n    imagePullPolicy: Never\n    command: [sleep, \"3600\"]\n    env: [{name: \"my.var-1\", valueFrom: {fieldRef: {fieldPath: metadata.name}}}]\n"},
}

// TestRootKubeletValidateMatchesKubelet writes every case into a real kubelet's manifest
// directory and compares, per file, the error the kubelet logs with KubeletMessage / the parse
// error we predict, and that the files we accept become pods. Needs root and a real node
// (internal/testnode).
func TestRootKubeletValidateMatchesKubelet(t *testing.T) {
	testtier.RealNode(t) // before building or checking anything: the fast tier skips at once
	if err := testnode.Requirements(); err != nil {
		t.Fatal(err)
	}
	n := testnode.Start(t, testnode.Options{})
	want := map[string]string{}    // file → predicted kubelet err ("" = accepted)
	parts := map[string][]string{} // file → the field errors inside want
	for _, c := range kubeletCases {
		content := c.full
		if content == "" && c.spec != "" {
			content = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + c.file + "\nspec:\n" + c.spec
		}
		file := c.file + ".yaml"
		path := filepath.Join(n.ManifestDir, file)
		f := DecodeFile(path, []byte(content))
		switch {
		case f.Parse != nil:
			want[file] = path + ": " + f.Parse.Msg + ", please check config file"
		default:
			issues := ValidateOnNode(f.Pods[0].Pod, n.NodeName)
			want[file] = KubeletMessage(issues)
			for _, is := range issues {
				if is.Severity == SeverityError {
					parts[file] = append(parts[file], is.kubelet)
				}
			}
		}
		if c.prefixOnly {
			want[file] = want[file][:strings.Index(want[file], "couldn't parse as pod(invalid pod: ")+len("couldn't parse as pod(invalid pod: ")]
		}
		if err := n.WriteManifest(file, content); err != nil {
			t.Fatal(err)
		}
	}

	got := map[string]string{}
	n.WaitFor(t, 90*time.Second, "the kubelet to judge every manifest", func() (bool, string) {
		errs, err := manifestErrors(n.KubeletLog)
		if err != nil {
			return false, err.Error()
		}
		pods, err := n.PodsFromReadOnlyPort()
		if err != nil {
			return false, err.Error()
		}
		accepted := map[string]bool{}
		for _, p := range pods {
			accepted[strings.TrimSuffix(p.Name, "-"+strings.ToLower(n.NodeName))] = true
		}
		var missing []string
		for file, w := range want {
			name := strings.TrimSuffix(file, ".yaml")
			switch {
			case errs[file] != "":
				got[file] = errs[file]
			case w == "" && accepted[name]:
				got[file] = ""
			default:
				missing = append(missing, file)
			}
		}
		sort.Strings(missing)
		return len(missing) == 0, fmt.Sprintf("no verdict yet for %v", missing)
	})
	for file, w := range want {
		if g := got[file]; !sameKubeletError(g, w, parts[file]) {
			t.Errorf("%s:\n kubelet: %q\n     we: %q", file, g, w)
		}
	}
}

// sameKubeletError compares the kubelet's err with our prediction. The kubelet walks resource maps
// in random order, so a list `invalid pod: [a b c]` matches when it holds exactly our parts; a
// prediction ending in "invalid pod: " (an object dump we do not reproduce) is a prefix.
func sameKubeletError(got, want string, parts []string) bool {
	switch {
	case got == want:
		return true
	case strings.HasSuffix(want, "invalid pod: "):
		return strings.HasPrefix(got, want)
	case len(parts) < 2:
		return false
	}
	n := len("invalid pod: [") + len(parts) - 1 + len("]")
	for _, p := range parts {
		if !strings.Contains(got, p) {
			return false
		}
		n += len(p)
	}
	return strings.HasPrefix(got, "invalid pod: [") && len(got) == n
}

// manifestErrors reads the kubelet's JSON log: per manifest file name, the last error it logged.
func manifestErrors(logPath string) (map[string]string, error) {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var rec struct {
			Msg  string `json:"msg"`
			Path string `json:"path"`
			Err  string `json:"err"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Err == "" {
			continue
		}
		switch rec.Msg {
		case "Could not process manifest file":
			out[filepath.Base(rec.Path)] = rec.Err
		case "Unable to process watch event":
			// err="can't process config file \"<path>\": <err>"
			const pre = "can't process config file "
			if rest, ok := strings.CutPrefix(rec.Err, pre); ok {
				if i := strings.Index(rest, `": `); i > 0 {
					out[filepath.Base(strings.Trim(rest[:i+1], `"`))] = rest[i+3:]
				}
			}
		}
	}
	return out, sc.Err()
}
