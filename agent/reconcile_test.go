package agent

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spdoc/spdoc/diagnose"
	"github.com/spdoc/spdoc/internal/api"
)

func podYAML(name, image string) string {
	return "  - metadata:\n      name: " + name + "\n    spec:\n      hostNetwork: true\n      containers:\n        - name: c\n          image: \"" + image + "\"\n"
}

func config(pods ...string) string { return "pods:\n" + strings.Join(pods, "") }

func newTestReconciler(t *testing.T, codec Codec) (*Reconciler, string, string) {
	t.Helper()
	root := t.TempDir()
	md := filepath.Join(root, "manifests")
	if err := os.Mkdir(md, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "pods.yaml")
	if codec == nil {
		codec = testCodec{}
	}
	r, err := NewReconciler(ReconcilerOptions{ConfigPath: cfg, ManifestDir: md, Prefix: "spdoc-", Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	return r, cfg, md
}

func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func keys(m map[string]string) string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

func TestReconcileSequence(t *testing.T) {
	type step struct {
		name       string
		config     string // "" with noConfig: the file is removed
		noConfig   bool
		wantFiles  string // sorted names in the manifest dir
		wantImage  map[string]string
		wantParse  bool
		wantInvald []string
		wantKinds  []diagnose.Kind
		wantWrite  int
		wantRemove int
		wantVer    map[string]int64
	}
	steps := []step{
		{name: "add two", config: config(podYAML("web", "busybox:1"), podYAML("db", "busybox:1")),
			wantFiles: "kube-apiserver.yaml,spdoc-default-db.yaml,spdoc-default-web.yaml", wantWrite: 2,
			wantImage: map[string]string{"spdoc-default-web.yaml": "busybox:1"}, wantVer: map[string]int64{"default-web": 1, "default-db": 1}},
		{name: "identical config rewrites nothing", config: config(podYAML("web", "busybox:1"), podYAML("db", "busybox:1")),
			wantFiles: "kube-apiserver.yaml,spdoc-default-db.yaml,spdoc-default-web.yaml", wantWrite: 0,
			wantVer: map[string]int64{"default-web": 1, "default-db": 1}},
		{name: "change one", config: config(podYAML("web", "busybox:2"), podYAML("db", "busybox:1")),
			wantFiles: "kube-apiserver.yaml,spdoc-default-db.yaml,spdoc-default-web.yaml", wantWrite: 1,
			wantImage: map[string]string{"spdoc-default-web.yaml": "busybox:2"}, wantVer: map[string]int64{"default-web": 2, "default-db": 1}},
		{name: "invalid pod keeps last good file", config: config(podYAML("web", ""), podYAML("db", "busybox:1")),
			wantFiles: "kube-apiserver.yaml,spdoc-default-db.yaml,spdoc-default-web.yaml", wantInvald: []string{"default-web"},
			wantImage: map[string]string{"spdoc-default-web.yaml": "busybox:2"}, wantKinds: []diagnose.Kind{diagnose.KindManifestInvalid},
			wantVer: map[string]int64{"default-web": 3, "default-db": 1}},
		{name: "unparseable config changes nothing", config: "pods:\n  - metadata: [unclosed\n",
			wantFiles: "kube-apiserver.yaml,spdoc-default-db.yaml,spdoc-default-web.yaml", wantParse: true,
			wantImage: map[string]string{"spdoc-default-web.yaml": "busybox:2"}, wantKinds: []diagnose.Kind{diagnose.KindManifestUnparseable},
			wantVer: map[string]int64{"default-web": 3, "default-db": 1}},
		{name: "missing config changes nothing", noConfig: true,
			wantFiles: "kube-apiserver.yaml,spdoc-default-db.yaml,spdoc-default-web.yaml", wantParse: true,
			wantKinds: []diagnose.Kind{diagnose.KindSourceError}},
		{name: "remove one, fix the other", config: config(podYAML("web", "busybox:3")),
			wantFiles: "kube-apiserver.yaml,spdoc-default-web.yaml", wantWrite: 1, wantRemove: 1,
			wantImage: map[string]string{"spdoc-default-web.yaml": "busybox:3"}, wantVer: map[string]int64{"default-web": 4}},
		{name: "empty config removes only ours", config: "pods: []\n",
			wantFiles: "kube-apiserver.yaml", wantRemove: 1, wantVer: map[string]int64{}},
	}
	r, cfg, md := newTestReconciler(t, nil)
	foreign := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n"
	if err := os.WriteFile(filepath.Join(md, "kube-apiserver.yaml"), []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	var mtimes map[string]time.Time
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.noConfig {
				os.Remove(cfg)
			} else if err := os.WriteFile(cfg, []byte(s.config), 0o600); err != nil {
				t.Fatal(err)
			}
			before := dirState(t, md)
			res := r.Reconcile()
			after := dirState(t, md)
			if got := keys(after); got != s.wantFiles {
				t.Errorf("files = %s, want %s", got, s.wantFiles)
			}
			if after["kube-apiserver.yaml"] != foreign {
				t.Errorf("foreign manifest touched: %q", after["kube-apiserver.yaml"])
			}
			if (res.ParseError != "") != s.wantParse {
				t.Errorf("ParseError = %q, want set=%v", res.ParseError, s.wantParse)
			}
			if s.wantParse && keys(before) != keys(after) {
				t.Errorf("config error changed the dir: %s → %s", keys(before), keys(after))
			}
			var invalid []string
			for _, i := range res.Invalid {
				invalid = append(invalid, i.ID)
			}
			if strings.Join(invalid, ",") != strings.Join(s.wantInvald, ",") {
				t.Errorf("invalid = %v, want %v", invalid, s.wantInvald)
			}
			if len(res.Written) != s.wantWrite || len(res.Removed) != s.wantRemove {
				t.Errorf("written %v removed %v; want %d written, %d removed", res.Written, res.Removed, s.wantWrite, s.wantRemove)
			}
			for f, img := range s.wantImage {
				if !strings.Contains(after[f], "image: busybox:") || !strings.Contains(after[f], img) {
					t.Errorf("%s does not have image %s:\n%s", f, img, after[f])
				}
			}
			var kinds []diagnose.Kind
			for _, f := range r.Findings() {
				kinds = append(kinds, f.Kind)
				if f.File != cfg && f.Kind != diagnose.KindSourceError {
					t.Errorf("finding %s names file %q, want the config %q", f.Kind, f.File, cfg)
				}
				if len(f.Evidence) == 0 || !strings.HasPrefix(f.Evidence[0].Source, "config:"+cfg) {
					t.Errorf("finding %s evidence %+v does not point at the config", f.Kind, f.Evidence)
				}
			}
			if len(kinds) != len(s.wantKinds) || (len(kinds) > 0 && kinds[0] != s.wantKinds[0]) {
				t.Errorf("finding kinds = %v, want %v", kinds, s.wantKinds)
			}
			if s.wantVer != nil {
				got := map[string]int64{}
				for _, p := range r.Pods() {
					got[p.ID] = p.Version
				}
				if len(got) != len(s.wantVer) {
					t.Errorf("pods = %v, want %v", got, s.wantVer)
				}
				for id, v := range s.wantVer {
					if got[id] != v {
						t.Errorf("version of %s = %d, want %d", id, got[id], v)
					}
				}
			}
			// Files the step did not write keep their mtime.
			now := mtimesOf(t, md)
			if mtimes != nil {
				for f, m := range now {
					wrote := false
					for _, w := range res.Written {
						wrote = wrote || filepath.Base(w) == f
					}
					if prev, ok := mtimes[f]; ok && !wrote && !prev.Equal(m) {
						t.Errorf("%s rewritten without a change (mtime %v → %v)", f, prev, m)
					}
				}
			}
			mtimes = now
			for _, e := range mustReadDir(t, md) {
				if strings.HasPrefix(e, ".") {
					t.Errorf("temp file left: %s", e)
				}
			}
		})
	}
}

func mtimesOf(t *testing.T, dir string) map[string]time.Time {
	out := map[string]time.Time{}
	for _, n := range mustReadDir(t, dir) {
		st, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = st.ModTime()
	}
	return out
}

func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestReconcileNoValidateWritesInvalid(t *testing.T) {
	r, cfg, md := newTestReconciler(t, nil)
	r.opts.NoValidate = true
	if err := os.WriteFile(cfg, []byte(config(podYAML("web", ""))), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.Reconcile()
	if len(res.Invalid) != 0 || len(res.Written) != 1 {
		t.Fatalf("--no-validate: invalid %v written %v; want the pod written", res.Invalid, res.Written)
	}
	if _, err := os.Stat(filepath.Join(md, "spdoc-default-web.yaml")); err != nil {
		t.Error(err)
	}
}

func TestReconcileDuplicatePod(t *testing.T) {
	r, cfg, md := newTestReconciler(t, nil)
	if err := os.WriteFile(cfg, []byte(config(podYAML("web", "busybox:1"), podYAML("web", "busybox:2"))), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.Reconcile()
	if len(res.Invalid) != 1 || res.Invalid[0].ID != "default-web" {
		t.Fatalf("invalid = %+v, want the second default-web", res.Invalid)
	}
	b, _ := os.ReadFile(filepath.Join(md, "spdoc-default-web.yaml"))
	if !strings.Contains(string(b), "busybox:1") {
		t.Errorf("first definition must win, file:\n%s", b)
	}
}

func TestNewReconcilerRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts ReconcilerOptions
		want string
	}{
		{"empty prefix", ReconcilerOptions{ConfigPath: "c", ManifestDir: "d", Codec: testCodec{}}, "empty prefix"},
		{"dot prefix", ReconcilerOptions{ConfigPath: "c", ManifestDir: "d", Prefix: ".x", Codec: testCodec{}}, "invalid prefix"},
		{"no dir", ReconcilerOptions{ConfigPath: "c", Prefix: "spdoc-", Codec: testCodec{}}, "manifest dir"},
		{"no codec", ReconcilerOptions{ConfigPath: "c", ManifestDir: "d", Prefix: "spdoc-"}, "codec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReconciler(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestWatchSetEvents(t *testing.T) {
	s := newWatchSet(func(p api.StaticPod) string { return p.ID })
	s.Replace([]api.StaticPod{{ID: "a", Version: 1}})
	initial, ch, cancel := s.Watch()
	defer cancel()
	if len(initial) != 1 || initial[0].ID != "a" {
		t.Fatalf("initial = %+v", initial)
	}
	if n := s.Replace([]api.StaticPod{{ID: "a", Version: 1}}); n != 0 {
		t.Errorf("unchanged replace sent %d events", n)
	}
	s.Replace([]api.StaticPod{{ID: "a", Version: 2}, {ID: "b", Version: 1}})
	s.Replace([]api.StaticPod{{ID: "b", Version: 1}})
	want := []string{"MODIFIED a", "ADDED b", "DELETED a"}
	for _, w := range want {
		ev := <-ch
		if got := string(ev.Type) + " " + ev.Object.ID; got != w {
			t.Errorf("event = %s, want %s", got, w)
		}
	}
	cancel()
	if _, ok := <-ch; ok {
		t.Error("channel still open after cancel")
	}
}
