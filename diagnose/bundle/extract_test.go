package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type tarEntry struct {
	name, link string
	typ        byte
	data       string
	size       int64 // header size when it should lie; 0: len(data)
}

func makeTar(t *testing.T, entries []tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.data))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	gz.Close()
	p := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExtractUnsafe(t *testing.T) {
	tests := []struct {
		name    string
		entries []tarEntry
		unsafe  bool   // want ErrUnsafe
		errHas  string // else a message containing this
	}{
		{"dotdot", []tarEntry{{name: "../evil", typ: tar.TypeReg, data: "x"}}, true, ""},
		{"nested dotdot", []tarEntry{{name: "a/../../evil", typ: tar.TypeReg, data: "x"}}, true, ""},
		{"absolute", []tarEntry{{name: "/etc/evil", typ: tar.TypeReg, data: "x"}}, true, ""},
		{"absolute symlink", []tarEntry{{name: "l", typ: tar.TypeSymlink, link: "/etc"}}, true, ""},
		{"escaping symlink", []tarEntry{{name: "a/l", typ: tar.TypeSymlink, link: "../../etc"}}, true, ""},
		{"write through symlink", []tarEntry{
			{name: "d", typ: tar.TypeSymlink, link: "."},
			{name: "x", typ: tar.TypeReg, data: "1"},
			{name: "d/x", typ: tar.TypeReg, data: "2"},
		}, true, ""},
		{"hard link", []tarEntry{{name: "h", typ: tar.TypeLink, link: "x"}}, true, ""},
		// Each link looks local on its own; together they lead out of the bundle.
		{"local-looking chain", []tarEntry{
			{name: "a", typ: tar.TypeSymlink, link: "."},
			{name: "a/b", typ: tar.TypeSymlink, link: ".."},
			{name: "c", typ: tar.TypeSymlink, link: "b/.."},
		}, true, ""},
		{"local link elsewhere", []tarEntry{
			{name: "report.txt", typ: tar.TypeReg, data: "x"},
			{name: "etc/kubernetes/manifests/x.yaml", typ: tar.TypeSymlink, link: "../../../report.txt"},
		}, true, ""},
		{"container link to nothing", []tarEntry{
			{name: "var/log/containers/x.log", typ: tar.TypeSymlink, link: "../pods/p/c/0.log"},
		}, true, ""},
		{"container link through pods/..", []tarEntry{
			{name: "report.txt", typ: tar.TypeReg, data: "x"},
			{name: "var/log/containers/x.log", typ: tar.TypeSymlink, link: "../pods/../../../report.txt"},
		}, true, ""},
		{"container link to a dir", []tarEntry{
			{name: "var/log/pods/p/c/0.log/", typ: tar.TypeDir},
			{name: "var/log/containers/x.log", typ: tar.TypeSymlink, link: "../pods/p/c/0.log"},
		}, true, ""},
		{"container link to a link", []tarEntry{
			{name: "var/log/pods/p/c/1.log", typ: tar.TypeReg, data: "x"},
			{name: "var/log/pods/p/c/0.log", typ: tar.TypeSymlink, link: "1.log"},
			{name: "var/log/containers/x.log", typ: tar.TypeSymlink, link: "../pods/p/c/0.log"},
		}, true, ""},
		{"container link not a log", []tarEntry{
			{name: "var/log/pods/p/c/0.log", typ: tar.TypeReg, data: "x"},
			{name: "var/log/containers/x", typ: tar.TypeSymlink, link: "../pods/p/c/0.log"},
		}, true, ""},
		{"device", []tarEntry{{name: "dev", typ: tar.TypeChar}}, true, ""},
		{"duplicate", []tarEntry{{name: "f", typ: tar.TypeReg, data: "1"}, {name: "f", typ: tar.TypeReg, data: "2"}}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := makeTar(t, tt.entries)
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			err := Extract(context.Background(), p, dir)
			if err == nil {
				t.Fatalf("Extract accepted %s", tt.name)
			}
			if tt.unsafe && !errors.Is(err, ErrUnsafe) {
				t.Errorf("error %v does not wrap ErrUnsafe", err)
			}
			if !strings.Contains(err.Error(), "bundle") {
				t.Errorf("error %q does not say it is about the bundle", err)
			}
			// Nothing was written beside the target dir.
			ents, _ := os.ReadDir(parent)
			if len(ents) != 1 || ents[0].Name() != "out" {
				t.Errorf("Extract wrote outside its dir: %v", ents)
			}
		})
	}
}

func TestExtractGood(t *testing.T) {
	p := makeTar(t, []tarEntry{
		{name: "./", typ: tar.TypeDir},
		{name: "var/log/pods/p/c/0.log", typ: tar.TypeReg, data: "line\n"},
		{name: "var/log/containers/x.log", typ: tar.TypeSymlink, link: "../pods/p/c/0.log"},
		{name: "report.txt", typ: tar.TypeReg, data: "ok"},
	})
	dir := filepath.Join(t.TempDir(), "out")
	if err := Extract(context.Background(), p, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "var/log/containers/x.log"))
	if err != nil || string(b) != "line\n" {
		t.Errorf("symlinked log: %q, %v", b, err)
	}
	// Not a bundle: a clear error, no panic.
	junk := filepath.Join(t.TempDir(), "junk.tar.gz")
	os.WriteFile(junk, []byte("not gzip"), 0o600)
	if err := Extract(context.Background(), junk, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a gzip") {
		t.Errorf("Extract of junk: %v", err)
	}
	if err := Extract(context.Background(), filepath.Join(t.TempDir(), "missing.tar.gz"), t.TempDir()); err == nil {
		t.Errorf("Extract of a missing file succeeded")
	}
	// A cancelled context stops extraction.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Extract(ctx, p, filepath.Join(t.TempDir(), "c")); !errors.Is(err, context.Canceled) {
		t.Errorf("Extract with a cancelled context: %v", err)
	}
}

func FuzzExtract(f *testing.F) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "a/b", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644})
	tw.Write([]byte("x"))
	tw.Close()
	gz.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		p := filepath.Join(parent, "b.tar.gz")
		os.WriteFile(p, data, 0o600)
		Extract(context.Background(), p, filepath.Join(parent, "out"))
		ents, _ := os.ReadDir(parent)
		for _, e := range ents {
			if e.Name() != "b.tar.gz" && e.Name() != "out" {
				t.Fatalf("Extract wrote %s outside its dir", e.Name())
			}
		}
	})
}
