package staticpod

import (
	"fmt"
	"strings"
	"testing"
)

const validManifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: kube-system
  uid: 0123456789abcdef
spec:
  containers:
  - name: web
    image: busybox:1.36
    resources:
      requests:
        cpu: 100m
`

func TestDecodeFileValid(t *testing.T) {
	f := DecodeFile("/etc/kubernetes/manifests/web.yaml", []byte(validManifest))
	if f.Parse != nil {
		t.Fatalf("Parse = %v, want nil", f.Parse)
	}
	if len(f.Pods) != 1 {
		t.Fatalf("got %d pods, want 1", len(f.Pods))
	}
	p := f.Pods[0]
	if p.ID != "kube-system-web" || p.Namespace != "kube-system" || p.Name != "web" || p.UID != "0123456789abcdef" ||
		p.Source != "/etc/kubernetes/manifests/web.yaml" || p.Index != 0 {
		t.Errorf("identity = %+v", p)
	}
	if len(p.Issues) != 0 || !p.Valid() {
		t.Errorf("issues = %v, want none", p.Issues)
	}
	if f.Name != "web.yaml" || f.Kind != KindManifest || f.Size != int64(len(validManifest)) || len(f.SHA256) != 64 {
		t.Errorf("file = %+v", f)
	}
}

func TestDecodeFileDefaultNamespace(t *testing.T) {
	f := DecodeFile("a.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: 'x:1'}]}\n"))
	if len(f.Pods) != 1 || f.Pods[0].ID != "default-a" || f.Pods[0].Namespace != "default" {
		t.Fatalf("pods = %+v, parse %v", f.Pods, f.Parse)
	}
}

func TestDecodeFileParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantLine int
		wantMsg  string
	}{
		{"empty file (half-written)", "", 0, "couldn't parse as pod(Object 'Kind' is missing in 'null')"},
		{"null", "null\n", 0, "couldn't parse as pod(Object 'Kind' is missing in 'null')"},
		{"yaml syntax", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n   image: x\n", 7,
			"couldn't parse as pod(yaml: line 7: did not find expected key)"},
		{"tab indentation", "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: a\n", 4, "couldn't parse as pod(yaml: line 4: found character that cannot start any token)"},
		{"missing apiVersion", "kind: Pod\nmetadata:\n  name: a\n", 0, `couldn't parse as pod(Object 'apiVersion' is missing in '{"kind":"Pod","metadata":{"name":"a"}}')`},
		{"deployment", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n", 0,
			`couldn't parse as pod(no kind "Deployment" is registered for version "apps/v1" in scheme "pkg/runtime/scheme.go:110")`},
		{"configmap", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", 0, `couldn't parse as pod(invalid pod: kind "ConfigMap" is not a Pod)`},
		{"pod list", "apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  kind: Pod\n", 0,
			"couldn't parse as pod(invalid pod: a v1 PodList with 1 items; the kubelet's manifest directory accepts exactly one Pod per file)"},
		{"wrong type keeps the line", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n    ports:\n    - containerPort: http\n", 9,
			"couldn't parse as pod(json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32)"},
		{"bad quantity keeps the line", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - resources:\n      requests: {cpu: 1}\n      limits:\n        memory: 1Gi\n        cpu: 1x\n", 11,
			"couldn't parse as pod(quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$')"},
		{"binary garbage", "\x00\x01\x02\xff", 0, "couldn't parse as pod(yaml: control characters are not allowed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := DecodeFile("m.yaml", []byte(tt.in))
			if f.Parse == nil {
				t.Fatalf("Parse = nil, pods %+v", f.Pods)
			}
			if f.Parse.Line != tt.wantLine || f.Parse.Msg != tt.wantMsg {
				t.Errorf("Parse = {%d %q}, want {%d %q}", f.Parse.Line, f.Parse.Msg, tt.wantLine, tt.wantMsg)
			}
			if len(f.Pods) != 0 {
				t.Errorf("pods = %v, want none", f.Pods)
			}
		})
	}
}

func TestDecodeFileTooLarge(t *testing.T) {
	data := []byte(validManifest + "#" + strings.Repeat("x", MaxManifestSize) + "\n")
	f := DecodeFile("big.yaml", data)
	if f.Parse == nil || !strings.HasPrefix(f.Parse.Msg, "the read limit is reached") {
		t.Fatalf("Parse = %v, want the kubelet's read limit error", f.Parse)
	}
}

// TestDecodeFileIssueLines checks that every issue points at the line a user must edit.
func TestDecodeFileIssueLines(t *testing.T) {
	in := `apiVersion: v1
kind: Pod
metadata:
  name: web
  name: web2
spec:
  volumes:
  - name: data
    hostPath:
      type: Dir
  containers:
  - name: web
    imagePolicy: Never
    resources:
      limits:
        cpu: 50m
      requests:
        cpu: 100m
    volumeMounts:
    - name: cache
      mountPath: /cache
  - name: web
    image: busybox:1
    resources: {requests: {memory: 1Mi}}
`
	f := DecodeFile("web.yaml", []byte(in))
	if f.Parse != nil || len(f.Pods) != 1 {
		t.Fatalf("parse %v, pods %d", f.Parse, len(f.Pods))
	}
	got := issueLines(f.Pods[0].Issues)
	want := []string{
		"5 warning metadata.name Duplicate field",
		"13 warning spec.containers[0].imagePolicy Unknown field",
		"9 error spec.volumes[0].hostPath.path Required value", // the kubelet stops at a missing path: no type error
		"12 error spec.containers[0].image Required value",
		"20 error spec.containers[0].volumeMounts[0].name Not found",
		"17 error spec.containers[0].resources.requests Invalid value", // the kubelet names the list, not the key
		"22 error spec.containers[1].name Duplicate value",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("issues:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeFileMultipleDocuments(t *testing.T) {
	in := validManifest + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: second\n"
	f := DecodeFile("two.yaml", []byte(in))
	if f.Parse != nil || len(f.Pods) != 1 || f.Pods[0].Name != "web" {
		t.Fatalf("parse %v, pods %+v: want only the first document, like the kubelet", f.Parse, f.Pods)
	}
	if len(f.Warnings) != 1 || f.Warnings[0].Line != 15 || !strings.Contains(f.Warnings[0].Detail, "reads only the first") {
		t.Errorf("warnings = %+v, want one on line 15", f.Warnings)
	}
}

func TestDecodeFileEmptyDocumentsAreNotDocuments(t *testing.T) {
	for _, in := range []string{validManifest + "---\n", "---\n" + validManifest, validManifest + "---\n# a comment\n", validManifest + "...\n"} {
		f := DecodeFile("m.yaml", []byte(in))
		if f.Parse != nil || len(f.Warnings) != 0 {
			t.Errorf("%q: parse %v, warnings %v; want neither", in[len(in)-12:], f.Parse, f.Warnings)
		}
	}
}

func TestDecodeFileJSON(t *testing.T) {
	in := "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"j\"},\n  \"spec\": {\n    \"containers\": [{\"name\": \"c\", \"resources\": {\"requests\": {\"cpu\": \"1\"}}}]\n  }\n}\n"
	f := DecodeFile("j.json", []byte(in))
	if f.Parse != nil || len(f.Pods) != 1 {
		t.Fatalf("parse %v", f.Parse)
	}
	is := f.Pods[0].Issues
	if len(is) != 1 || is[0].Field != "spec.containers[0].image" || is[0].Line != 6 {
		t.Errorf("issues = %+v, want the missing image on line 6", is)
	}
}

func FuzzDecodeFile(f *testing.F) {
	f.Add([]byte(validManifest))
	f.Add([]byte(""))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: c\n   image: x\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[{"name":"c","ports":[{"containerPort":1}]}]}}`))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("apiVersion: v1\nkind: PodList\nitems: [{apiVersion: v1, kind: Pod}]\n---\nx: 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file := DecodeFile("fuzz.yaml", data)
		if (file.Parse == nil) == (len(file.Pods) == 0) {
			t.Fatalf("want exactly one of Parse and Pods: parse %v, %d pods", file.Parse, len(file.Pods))
		}
	})
}

// issueLines renders issues as "<line> <severity> <field> <type>".
func issueLines(issues []Issue) []string {
	var out []string
	for _, is := range issues {
		out = append(out, fmt.Sprintf("%d %s %s %s", is.Line, is.Severity, is.Field, is.Type))
	}
	return out
}
