package staticpod

import (
	"strings"
	"testing"
)

const goodItem = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"kube-system"},"spec":{"containers":[{"name":"c","image":"busybox:1"}]}}`

func item(name string) string { return strings.Replace(goodItem, "%s", name, 1) }

func TestDecodeList(t *testing.T) {
	bad := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad","namespace":"kube-system"},"spec":{}}`
	list := func(items ...string) string {
		return `{"apiVersion":"v1","kind":"PodList","items":[` + strings.Join(items, ",") + `]}`
	}
	tests := []struct {
		name      string
		body      string
		node      string
		list      bool
		pods      int
		blocking  int
		kubelet   string // substring of KubeletError
		parse     string // substring of File.Parse
		dups      int
		blockedID string
	}{
		{name: "good list", body: list(item("a"), item("b")), list: true, pods: 2, blocking: -1},
		{name: "empty list", body: `{"apiVersion":"v1","kind":"PodList","items":[]}`, list: true, blocking: -1},
		{name: "bad item blocks", body: list(item("a"), bad, item("c")), list: true, pods: 3, blocking: 1,
			kubelet: "invalid pod: [spec.containers: Required value]", blockedID: "kube-system-bad"},
		{name: "first bad item wins", body: list(bad, strings.Replace(bad, `"bad"`, `"bad2"`, 1)), list: true, pods: 2, blocking: 0, blockedID: "kube-system-bad"},
		{name: "missing name", body: list(item("a"), item("")), list: true, pods: 2, blocking: 1, kubelet: "invalid pod: name is needed for the pod"},
		{name: "name too long on this node", body: list(item(strings.Repeat("a", 250))), node: "node-with-a-name", list: true, pods: 1, blocking: 0, kubelet: "metadata.name: Invalid value"},
		{name: "single pod yaml", body: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: one\nspec:\n  containers:\n  - name: c\n    image: x:1\n", pods: 1, blocking: -1},
		{name: "yaml list", body: "apiVersion: v1\nkind: PodList\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: yy\n  spec:\n    containers: []\n", list: true, pods: 1, blocking: 0, kubelet: "spec.containers: Required value"},
		{name: "garbage", body: "{not json", parse: "couldn't parse as single", kubelet: "but couldn't parse as single", blocking: -1},
		{name: "other kind", body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, parse: "invalid pods list", blocking: -1},
		{name: "duplicate names", body: list(item("a"), item("a")), list: true, pods: 2, blocking: -1, dups: 1},
		{name: "secret reference", body: list(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"s"},"spec":{"containers":[{"name":"c","image":"x:1","envFrom":[{"secretRef":{"name":"s"}}]}]}}`), list: true, pods: 1, blocking: 0, kubelet: "static pods may not reference secrets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DecodeList("http://127.0.0.1:1/pods", []byte(tt.body), tt.node)
			if r.List != tt.list || len(r.File.Pods) != tt.pods || r.Blocking != tt.blocking || len(r.Duplicates) != tt.dups {
				t.Fatalf("list=%v pods=%d blocking=%d dups=%v, want %v %d %d %d (err %q, parse %v)", r.List, len(r.File.Pods), r.Blocking, r.Duplicates, tt.list, tt.pods, tt.blocking, tt.dups, r.KubeletError, r.File.Parse)
			}
			if !strings.Contains(r.KubeletError, tt.kubelet) || (tt.blocking < 0 && tt.parse == "" && r.KubeletError != "") {
				t.Errorf("KubeletError = %q, want it to contain %q", r.KubeletError, tt.kubelet)
			}
			if tt.parse != "" && (r.File.Parse == nil || !strings.Contains(r.File.Parse.Msg, tt.parse)) {
				t.Errorf("Parse = %v, want %q", r.File.Parse, tt.parse)
			}
			if tt.blockedID != "" && r.BlockingPod().ID != tt.blockedID {
				t.Errorf("blocking pod %s, want %s", r.BlockingPod().ID, tt.blockedID)
			}
			for i, p := range r.File.Pods {
				if p.Index != i || p.Source != r.File.Path {
					t.Errorf("item %d: index %d source %q", i, p.Index, p.Source)
				}
			}
		})
	}
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"a"}}]}`))
	f.Add([]byte("kind: PodList\nitems: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := DecodeList("http://x/", data, "n")
		if r.Blocking >= 0 && r.BlockingPod() == nil {
			t.Fatal("blocking index out of range")
		}
	})
}
