package staticpod

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func podYAML(ns, name string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
		"\nspec:\n  containers:\n  - name: c\n    image: busybox:1\n    resources: {requests: {cpu: 10m}}\n"
}

func TestScanDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "etcd.yaml"), podYAML("kube-system", "etcd"))
	writeFile(t, filepath.Join(dir, "etcd.yaml.bak"), podYAML("kube-system", "etcd"))
	writeFile(t, filepath.Join(dir, ".spdoc-etcd.yaml.tmp"), "half")
	writeFile(t, filepath.Join(dir, "broken.yaml"), "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n\tx: 1\n")
	if err := os.Mkdir(filepath.Join(dir, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "old", "inner.yaml"), podYAML("default", "inner"))
	must(t, os.Symlink("loop-b", filepath.Join(dir, "loop-a")))
	must(t, os.Symlink("loop-a", filepath.Join(dir, "loop-b")))
	must(t, os.Symlink("/nonexistent/spdoc/target.yaml", filepath.Join(dir, "dangling.yaml")))
	must(t, os.Symlink(filepath.Join(dir, "etcd.yaml"), filepath.Join(dir, "link.yaml")))
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))

	s := ScanDir(dir)
	if !s.Exists || s.Err != "" {
		t.Fatalf("Exists=%v Err=%q", s.Exists, s.Err)
	}
	type row struct {
		kind   FileKind
		backup bool
		pods   int
		parse  bool
		err    string
	}
	want := map[string]row{
		".spdoc-etcd.yaml.tmp": {kind: KindIgnored},
		"broken.yaml":          {kind: KindManifest, parse: true},
		"dangling.yaml":        {kind: KindUnreadable, err: "dangling symlink"},
		"etcd.yaml":            {kind: KindManifest, pods: 1},
		"etcd.yaml.bak":        {kind: KindManifest, backup: true, pods: 1},
		"fifo":                 {kind: KindUnreadable, err: "is a FIFO, not a directory or regular file"},
		"link.yaml":            {kind: KindManifest, pods: 1},
		"loop-a":               {kind: KindUnreadable, err: "symlink loop"},
		"loop-b":               {kind: KindUnreadable, err: "symlink loop"},
		"old":                  {kind: KindDir},
	}
	var names []string
	for _, f := range s.Files {
		names = append(names, f.Name)
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected entry %q", f.Name)
			continue
		}
		got := row{kind: f.Kind, backup: f.Backup, pods: len(f.Pods), parse: f.Parse != nil}
		if w.err != "" && strings.Contains(f.Err, w.err) {
			got.err = w.err
		}
		if got != w {
			t.Errorf("%s: got %+v (err %q), want %+v", f.Name, got, f.Err, w)
		}
	}
	if strings.Join(names, ",") != ".spdoc-etcd.yaml.tmp,broken.yaml,dangling.yaml,etcd.yaml,etcd.yaml.bak,fifo,link.yaml,loop-a,loop-b,old" {
		t.Errorf("entries not sorted by name or missing: %v", names)
	}
	if got := len(s.Pods()); got != 3 {
		t.Errorf("Pods() = %d, want 3 (etcd.yaml, etcd.yaml.bak, link.yaml; not the subdirectory)", got)
	}
	dups := Duplicates(s)
	if len(dups) != 1 || len(dups["kube-system/etcd"]) != 3 {
		t.Errorf("Duplicates = %v, want kube-system/etcd from 3 files", dups)
	}
	for _, f := range s.Files {
		if f.Name == "broken.yaml" && f.Parse.Line != 5 {
			t.Errorf("broken.yaml parse line = %d, want 5", f.Parse.Line)
		}
	}
}

func TestScanDirMissingAndNotDir(t *testing.T) {
	dir := t.TempDir()
	s := ScanDir(filepath.Join(dir, "nope"))
	if s.Exists || s.Err != "path does not exist" || s.Files == nil {
		t.Errorf("missing dir: %+v", s)
	}
	file := filepath.Join(dir, "f")
	writeFile(t, file, "x")
	s = ScanDir(file)
	if !s.Exists || !strings.Contains(s.Err, "not a directory") {
		t.Errorf("file as dir: %+v", s)
	}
}

func TestScanFileTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.yaml")
	writeFile(t, p, podYAML("default", "big")+"#"+strings.Repeat("x", MaxManifestSize))
	f := ScanFile(p)
	if f.Kind != KindManifest || f.Parse == nil || !strings.Contains(f.Parse.Msg, "the read limit is reached") {
		t.Errorf("big file: kind %s parse %v err %q", f.Kind, f.Parse, f.Err)
	}
}

func TestIsBackupName(t *testing.T) {
	tests := map[string]bool{
		"etcd.yaml": false, "kube-apiserver.yaml": false, "backup.yaml": false, "old-etcd.yaml": false,
		"etcd.yaml.bak": true, "etcd.yaml.BAK": true, "etcd.yaml.orig": true, "etcd.yaml.old": true, "etcd.yaml~": true,
		".etcd.yaml.swp": true, "etcd.yaml.swo": true, "etcd.yaml.dpkg-old": true, "etcd.yaml.dpkg-dist": true,
		"etcd.yaml.rpmnew": true, "etcd.yaml.rpmsave": true, "#etcd.yaml#": true, "etcd.yaml.bak.1": true,
		"etcd.yaml.bak-20240101": true, "etcd.bak.yaml": false, "#": false,
	}
	for name, want := range tests {
		if got := IsBackupName(name); got != want {
			t.Errorf("IsBackupName(%q) = %v, want %v", name, got, want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
