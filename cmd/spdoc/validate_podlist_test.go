package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidatePodList: --pod-list checks a staticPodURL body (a file or the URL itself, fetched as
// the kubelet does) and names the item that makes the kubelet reject the whole list.
func TestValidatePodList(t *testing.T) {
	body := `{"apiVersion":"v1","kind":"PodList","items":[` +
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"kube-system"},"spec":{"containers":[{"name":"c","image":"x:1","resources":{"requests":{"cpu":"1m"}}}]}},` +
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad","namespace":"kube-system"},"spec":{}}]}`
	file := filepath.Join(t.TempDir(), "list.json")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
	defer srv.Close()
	for _, arg := range []string{file, srv.URL + "/pods?token=abc"} {
		out, err := runCmd(t, "validate", "--pod-list", "--node-name", "n1", arg)
		var code exitCodeError
		if !errors.As(err, &code) || code.code != 1 {
			t.Fatalf("%s: err %v, want exit 1\n%s", arg, err, out)
		}
		for _, want := range []string{"items[1].spec.containers: Required value", "List rejected: the kubelet rejects the whole list at item 1 (kube-system/bad)"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", arg, want, out)
			}
		}
		if strings.Contains(out, "token=abc") {
			t.Errorf("the URL's query value is printed:\n%s", out)
		}
	}
	// The same pods as separate manifests: the list check is what --pod-list adds.
	out, _ := runCmd(t, "validate", file)
	if strings.Contains(out, "List rejected") {
		t.Errorf("a manifest file is checked as a list without --pod-list:\n%s", out)
	}
}
