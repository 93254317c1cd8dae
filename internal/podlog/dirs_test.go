package podlog

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScanPodDirs(t *testing.T) {
	root := t.TempDir()
	uid := "0123456789abcdef0123456789abcdef"
	for _, p := range []string{
		"kube-system_etcd-node1_" + uid + "/etcd/0.log",
		"kube-system_etcd-node1_" + uid + "/etcd/1.log",
		"kube-system_etcd-node1_" + uid + "/etcd/10.log",
		"kube-system_etcd-node1_" + uid + "/etcd/2.log",
		"kube-system_etcd-node1_" + uid + "/etcd/1.log.20240101-120000",
		"kube-system_etcd-node1_" + uid + "/etcd/0.log.20240101-110000.gz",
		"kube-system_etcd-node1_" + uid + "/etcd/01.log", // not an instance
		"kube-system_etcd-node1_" + uid + "/etcd/x.log",
		"kube-system_etcd-node1_" + uid + "/aaa-init/0.log",
		"default_web-node1_abc_with_underscores/web/3.log",
		"not-a-pod-dir/c/0.log",
		"a_b/c/0.log",
	} {
		touch(t, filepath.Join(root, p))
	}
	touch(t, filepath.Join(root, "ns_file_uid")) // a file, not a dir
	got, err := ScanPodDirs(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []PodDir{
		{Namespace: "default", Name: "web-node1", UID: "abc_with_underscores", Path: filepath.Join(root, "default_web-node1_abc_with_underscores"),
			Containers: []ContainerDir{{Name: "web", Path: filepath.Join(root, "default_web-node1_abc_with_underscores", "web"), Instances: []int{3}}}},
		{Namespace: "kube-system", Name: "etcd-node1", UID: uid, Path: filepath.Join(root, "kube-system_etcd-node1_"+uid),
			Containers: []ContainerDir{
				{Name: "aaa-init", Path: filepath.Join(root, "kube-system_etcd-node1_"+uid, "aaa-init"), Instances: []int{0}},
				{Name: "etcd", Path: filepath.Join(root, "kube-system_etcd-node1_"+uid, "etcd"), Instances: []int{0, 1, 2, 10}},
			}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	etcd := got[1].Containers[1]
	if n, ok := Current(etcd); !ok || n != 10 {
		t.Errorf("Current = %d,%v want 10", n, ok)
	}
	if n, ok := Previous(etcd); !ok || n != 2 {
		t.Errorf("Previous = %d,%v want 2", n, ok)
	}
	if _, ok := Previous(got[0].Containers[0]); ok {
		t.Errorf("Previous of a single instance should not exist")
	}
	if p := ContainerLogPath(got[1].Path, "etcd", 10); p != filepath.Join(got[1].Path, "etcd", "10.log") {
		t.Errorf("ContainerLogPath = %s", p)
	}
	if !reflect.DeepEqual(Instances(etcd.Path), []int{0, 1, 2, 10}) {
		t.Errorf("Instances = %v", Instances(etcd.Path))
	}
}

func TestScanPodDirsMissing(t *testing.T) {
	_, err := ScanPodDirs(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func TestParseContainerLogName(t *testing.T) {
	id := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		id   string
		ref  Ref
		ok   bool
	}{
		{"etcd-node1_kube-system_etcd-" + id + ".log", id, Ref{"kube-system", "etcd-node1", "etcd"}, true},
		{"web-node1_default_my-app-" + id + ".log", id, Ref{"default", "web-node1", "my-app"}, true},
		{"web-node1_default_my-app-" + id[:63] + ".log", "", Ref{}, false},
		{"web-node1_default_my-app-" + strings.ToUpper(id) + ".log", "", Ref{}, false},
		{"web-node1_my-app-" + id + ".log", "", Ref{}, false},
		{"web-node1_default_my-app-" + id, "", Ref{}, false},
		{"_default_c-" + id + ".log", "", Ref{}, false},
	}
	for _, tt := range tests {
		id, ref, ok := ParseContainerLogName(tt.name)
		if id != tt.id || ref != tt.ref || ok != tt.ok {
			t.Errorf("%s: got %q %+v %v, want %q %+v %v", tt.name, id, ref, ok, tt.id, tt.ref, tt.ok)
		}
	}
}

func TestContainerIDs(t *testing.T) {
	dir := t.TempDir()
	id := strings.Repeat("0f", 32)
	if err := os.Symlink("/var/log/pods/x/etcd/0.log", filepath.Join(dir, "etcd-n1_kube-system_etcd-"+id+".log")); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(dir, "README"))
	got, err := ContainerIDs(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Ref{id: {"kube-system", "etcd-n1", "etcd"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if got[id].String() != "kube-system/etcd-n1/etcd" {
		t.Errorf("String = %s", got[id].String())
	}
}
