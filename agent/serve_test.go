package agent

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/podurl"
)

func listPodYAML(name, image string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: kube-system\nspec:\n  containers:\n  - name: c\n    image: " + image + "\n"
}

func TestPodListServerNeverPublishesARejectedList(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "spdoc-"+name+".yaml"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Valid on its own, too long once the kubelet appends -<node>: only the node-aware check sees it.
	long := strings.Repeat("l", 240)
	s := NewPodListServer(PodListServerOptions{Dir: dir, Prefix: "spdoc-", URL: "http://127.0.0.1:1/",
		NodeName: func() string { return "a-rather-long-node-name" }})
	srv := httptest.NewServer(s)
	defer srv.Close()
	fetch := func() *podurl.State {
		t.Helper()
		st := podurl.Fetch(context.Background(), podurl.Source{URL: srv.URL + "/"}, podurl.Options{NodeName: "a-rather-long-node-name"})
		if st.Error != "" || st.Rejected() {
			t.Fatalf("the kubelet would not accept the served list: %s %s", st.Error, st.List.KubeletError)
		}
		return st
	}
	images := func(st *podurl.State) map[string]string {
		m := map[string]string{}
		for _, p := range st.Pods() {
			m[p.ID] = p.Pod.Spec.Containers[0].Image
		}
		return m
	}

	write("kube-system-a", listPodYAML("a", "busybox:1"))
	write("kube-system-b", listPodYAML("b", "busybox:1"))
	if n := s.Refresh(); n != 2 {
		t.Fatalf("published %d pods, want 2", n)
	}
	if got := images(fetch()); got["kube-system-a"] != "busybox:1" || len(got) != 2 {
		t.Fatalf("served %v", got)
	}

	// b's file now holds another pod, one the kubelet rejects on this node; a changes fine; c is new and bad.
	write("kube-system-a", listPodYAML("a", "busybox:2"))
	write("kube-system-b", listPodYAML(long, "busybox:2")) // same file, another pod: a new ID
	write("kube-system-c", listPodYAML("c"+long, "busybox:1"))
	if n := s.Refresh(); n != 1 {
		t.Errorf("published %d pods, want only a (b's file holds another pod now) (findings %+v)", n, s.Findings())
	}
	got := images(fetch())
	if got["kube-system-a"] != "busybox:2" {
		t.Errorf("a good change was not published: %v", got)
	}
	if _, ok := got["kube-system-c"+long]; ok {
		t.Errorf("a pod the kubelet rejects was served")
	}
	fs := s.Findings()
	if len(fs) != 2 {
		t.Fatalf("findings %+v, want one per held-back pod", fs)
	}
	for _, f := range fs {
		if f.Kind != diagnose.KindManifestInvalid || !strings.Contains(f.Detail, "metadata.name") || !strings.Contains(f.Title, "whole served list") {
			t.Errorf("finding %+v", f)
		}
	}

	// Fixed: every finding goes away.
	write("kube-system-b", listPodYAML("b", "busybox:3"))
	os.Remove(filepath.Join(dir, "spdoc-kube-system-c.yaml"))
	s.Refresh()
	if got := images(fetch()); got["kube-system-b"] != "busybox:3" || len(s.Findings()) != 0 {
		t.Errorf("served %v findings %v", got, s.Findings())
	}
}

func TestPodListServerHoldsBackLastGoodVersion(t *testing.T) {
	dir := t.TempDir()
	s := NewPodListServer(PodListServerOptions{Dir: dir, Prefix: "spdoc-", URL: "http://127.0.0.1:1/", NodeName: func() string { return "n1" }})
	os.WriteFile(filepath.Join(dir, "spdoc-a.yaml"), []byte(listPodYAML("a", "busybox:1")), 0o600)
	os.WriteFile(filepath.Join(dir, "spdoc-b.yaml"), []byte(listPodYAML("b", "busybox:1")), 0o600)
	s.Refresh()
	// The store holds a version of a the kubelet rejects (written with --no-validate, or by hand).
	os.WriteFile(filepath.Join(dir, "spdoc-a.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  namespace: kube-system\nspec:\n  containers: []\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "spdoc-b.yaml"), []byte(listPodYAML("b", "busybox:2")), 0o600)
	s.Refresh()
	body := string(s.Body())
	if !strings.Contains(body, "busybox:2") || strings.Count(body, `"name":"a"`) != 1 || !strings.Contains(body, `"image":"busybox:1"`) {
		t.Errorf("want b updated and a at its last good version: %s", body)
	}
	fs := s.Findings()
	if len(fs) != 1 || fs[0].Pod != "kube-system-a" || !strings.Contains(fs[0].Hint, "last good version stays served") {
		t.Errorf("findings %+v", fs)
	}
}
