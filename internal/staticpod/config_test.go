package staticpod

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestLoadConfigFormats(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		formats string
		pods    []string // "<source> <id> line <n>"
	}{
		{"spdoc", `pods:
- apiVersion: v1
  kind: Pod
  metadata:
    name: etcd
    namespace: kube-system
  spec:
    containers: [{name: etcd, image: "etcd:3.5", resources: {requests: {cpu: 1}}}]
- apiVersion: v1
  kind: Pod
  metadata: {name: web}
  spec:
    containers: [{name: web, image: "nginx:1", resources: {requests: {cpu: 1}}}]
`, "spdoc", []string{"pods.yaml#0 kube-system-etcd line 2", "pods.yaml#1 default-web line 9"}},
		{"talos machine config among other documents", `version: v1alpha1
machine:
  type: worker
  pods:
    - apiVersion: v1
      kind: Pod
      metadata:
        name: nginx
      spec:
        containers:
          - name: nginx
            image: nginx:1
            resources: {requests: {cpu: 1}}
cluster:
  controlPlane:
    endpoint: https://1.2.3.4:6443
---
apiVersion: v1alpha1
kind: HostnameConfig
hostname: node1
`, "talos-machine", []string{"pods.yaml#0 default-nginx line 5"}},
		{"talos KubeStaticPodConfig documents", `apiVersion: v1alpha1
kind: KubeStaticPodConfig
name: nginx
pod:
  apiVersion: v1
  kind: Pod
  metadata:
    name: nginx
    namespace: ci
  spec:
    containers:
      - name: nginx
        image: nginx:1
        resources: {requests: {cpu: 1}}
---
apiVersion: v1alpha1
kind: KubeStaticPodConfig
name: second
pod:
  apiVersion: v1
  kind: Pod
  metadata: {name: second}
  spec: {containers: [{name: c, image: "busybox:1", resources: {requests: {cpu: 1}}}]}
---
`, "talos-kubestaticpodconfig", []string{"pods.yaml#0 ci-nginx line 5", "pods.yaml#1 default-second line 20"}},
		{"empty list removes everything", "pods: []\n", "spdoc", nil},
		{"null list", "pods:\n", "spdoc", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig("pods.yaml", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(cfg.Formats, ","); got != tt.formats {
				t.Errorf("formats = %q, want %q", got, tt.formats)
			}
			var got []string
			for _, p := range cfg.Pods {
				got = append(got, fmt.Sprintf("%s %s line %d", p.Source, p.ID, p.Line))
				if len(p.Issues) != 0 {
					t.Errorf("%s: unexpected issues %v", p.ID, p.Issues)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.pods, "\n") {
				t.Errorf("pods:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.pods, "\n"))
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "  \n", "pods.yaml: config is empty (write `pods: []` to remove every pod)"},
		{"yaml syntax", "pods:\n- metadata:\n    name: a\n\tspec: {}\n", "pods.yaml: line 4: yaml: line 4: found a tab character that violates indentation"},
		{"pod not an object", "pods:\n- a\n- b\n", "pods.yaml: line 2: pods[0]: must be a Pod object (a mapping)"},
		{"pod of the wrong type", "pods:\n- metadata: {name: a}\n  spec: {containers: [{name: c, image: x}]}\n- metadata: {name: b}\n  spec:\n    containers:\n    - name: c\n      ports:\n      - containerPort: http\n",
			"pods.yaml: line 9: pods[1]: not a valid v1 Pod: json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32"},
		{"deployment", "pods:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: a}\n",
			`pods.yaml: line 2: pods[0]: not a valid v1 Pod: no kind "Deployment" is registered for version "apps/v1" in scheme "pkg/runtime/scheme.go:110"`},
		{"duplicate pod", "pods:\n- metadata: {name: a}\n- metadata: {name: a, namespace: default}\n",
			`pods.yaml: line 3: pods[1]: pod "default/a" is defined twice (also on line 2): both would be written to the same manifest`},
		{"unknown top-level field", "pods: []\npod: []\n", "pods.yaml: line 2: pod: unknown field (an spdoc config has only `pods:`)"},
		{"bare pod", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", "pods.yaml: line 1: document 1 is a Pod manifest, not a config: list it under `pods:`"},
		{"unknown kind", "apiVersion: apps/v1\nkind: Deployment\n", "pods.yaml: line 1: document 1 is not an spdoc config (`pods:`), a Talos machine config (`machine.pods`) or a KubeStaticPodConfig document"},
		{"unknown shape", "hello: world\n", "pods.yaml: line 1: document 1 is not an spdoc config (`pods:`), a Talos machine config (`machine.pods`) or a KubeStaticPodConfig document"},
		{"not a mapping", "- a\n", "pods.yaml: line 1: document 1 is not a mapping: want `pods:`, a Talos machine config or a KubeStaticPodConfig"},
		{"pods not a list", "pods: {a: 1}\n", "pods.yaml: line 1: pods: must be a list of Pod objects"},
		{"static pod config without name", "apiVersion: v1alpha1\nkind: KubeStaticPodConfig\npod: {metadata: {name: a}}\n",
			"pods.yaml: line 1: name: static pod name is required in a KubeStaticPodConfig"},
		{"static pod config without pod", "apiVersion: v1alpha1\nkind: KubeStaticPodConfig\nname: a\n",
			`pods.yaml: line 1: pod: static pod spec is required in KubeStaticPodConfig "a"`},
		{"static pod config unknown field", "apiVersion: v1alpha1\nkind: KubeStaticPodConfig\nname: a\npods: {}\n",
			"pods.yaml: line 4: pods: unknown field of KubeStaticPodConfig"},
		{"static pod config version", "apiVersion: v1\nkind: KubeStaticPodConfig\nname: a\npod: {}\n",
			`pods.yaml: line 1: apiVersion: KubeStaticPodConfig apiVersion "v1" is not supported (want v1alpha1)`},
		{"talos pods not a list", "version: v1alpha1\nmachine:\n  pods: 3\n", "pods.yaml: line 3: machine.pods: must be a list of Pod objects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig("pods.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error, config %+v", cfg)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *ConfigError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestLoadConfigPodIssues(t *testing.T) {
	in := `pods:
- metadata:
    name: web
  spec:
    containers:
    - name: web
      imagePolicy: Never
      resources: {requests: {cpu: 1}}
`
	cfg, err := LoadConfig("pods.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := issueLines(cfg.Pods[0].Issues)
	want := []string{
		"2 warning apiVersion Required value",
		"2 warning kind Required value",
		"7 warning spec.containers[0].imagePolicy Unknown field",
		"6 error spec.containers[0].image Required value",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("issues:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if cfg.Pods[0].Valid() {
		t.Error("pod without image is Valid")
	}
}

func TestRenderManifestRoundTrip(t *testing.T) {
	cfg, err := LoadConfig("pods.yaml", []byte("pods:\n- metadata: {name: web, namespace: kube-system, labels: {b: '2', a: '1'}}\n  spec:\n    hostNetwork: true\n    containers:\n    - name: web\n      image: busybox:1\n      env: [{name: X, value: yes}]\n      resources: {requests: {cpu: 100m}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Pods[0]
	out, err := RenderManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `apiVersion: v1
kind: Pod
metadata:
  labels:
    a: "1"
    b: "2"
  name: web
  namespace: kube-system
spec:
  containers:
  - env:
    - name: X
      value: "yes"
    image: busybox:1
    name: web
    resources:
      requests:
        cpu: 100m
  hostNetwork: true
`
	if string(out) != want {
		t.Errorf("RenderManifest:\n%s\nwant:\n%s", out, want)
	}
	again, _ := RenderManifest(p)
	if string(again) != string(out) {
		t.Error("RenderManifest is not deterministic")
	}
	// What we write must read back, as the kubelet reads it, to the same valid pod.
	f := DecodeFile("/m/"+FileName("spdoc-", p), out)
	if f.Parse != nil || len(f.Pods) != 1 || f.Pods[0].ID != p.ID || len(f.Pods[0].Issues) != 0 {
		t.Fatalf("rendered manifest decodes to parse %v pods %+v", f.Parse, f.Pods)
	}
	if got := FileName("spdoc-", p); got != "spdoc-kube-system-web.yaml" {
		t.Errorf("FileName = %q", got)
	}
	if got := FileName("talos-", &StaticPod{Name: "nginx"}); got != "talos-default-nginx.yaml" {
		t.Errorf("FileName with empty namespace = %q", got)
	}
	if _, err := RenderManifest(&StaticPod{ID: "x"}); err == nil {
		t.Error("RenderManifest without a pod: no error")
	}
}

func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("pods:\n- metadata: {name: a}\n  spec: {containers: [{name: c, image: x}]}\n"))
	f.Add([]byte("version: v1alpha1\nmachine:\n  pods:\n  - {apiVersion: v1, kind: Pod}\n"))
	f.Add([]byte("apiVersion: v1alpha1\nkind: KubeStaticPodConfig\nname: a\npod: &p {metadata: *p}\n"))
	f.Add([]byte("pods: [&a {metadata: {name: x}}, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := LoadConfig("fuzz.yaml", data)
		if (cfg == nil) == (err == nil) {
			t.Fatalf("want exactly one of config and error: %v, %v", cfg, err)
		}
		if cfg != nil {
			for _, p := range cfg.Pods {
				if _, err := RenderManifest(p); err != nil {
					t.Fatalf("decoded pod does not render: %v", err)
				}
			}
		}
	})
}
