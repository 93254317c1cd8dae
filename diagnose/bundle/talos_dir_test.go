package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spdoc/spdoc/diagnose/bundle/talostest"
)

// TestOpenTalosDirReadsLikeTheZip: an unzipped talosctl bundle gives each node folder the
// snapshot the zip gives (only where it was read from differs), and its limits.
func TestOpenTalosDirReadsLikeTheZip(t *testing.T) {
	dir := talostest.Unzip(t, talosFixture)
	if !LooksLikeTalosDir(dir) || !TalosNodeDir(filepath.Join(dir, "10.5.0.2")) || TalosNodeDir(dir) {
		t.Fatalf("LooksLikeTalosDir %v, TalosNodeDir(node) %v, TalosNodeDir(bundle) %v", LooksLikeTalosDir(dir), TalosNodeDir(filepath.Join(dir, "10.5.0.2")), TalosNodeDir(dir))
	}
	if LooksLikeTalosDir("../../testdata/nodes/broken") {
		t.Error("a copied node filesystem taken for a talosctl bundle")
	}
	zb, err := OpenTalos(talosFixture)
	if err != nil {
		t.Fatal(err)
	}
	defer zb.Close()
	db, err := OpenTalosDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if strings.Join(db.Nodes, ",") != strings.Join(zb.Nodes, ",") {
		t.Fatalf("nodes %v, the zip's %v", db.Nodes, zb.Nodes)
	}
	for _, n := range zb.Nodes {
		zn, err := zb.TalosSnapshot(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		dn, err := db.TalosSnapshot(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		zn.Snapshot.Paths.Root, dn.Snapshot.Paths.Root = "", ""
		zj, _ := json.Marshal(zn.Snapshot)
		dj, _ := json.Marshal(dn.Snapshot)
		if string(zj) != string(dj) {
			t.Errorf("node %s: the unzipped copy reads differently:\n zip %.600s\n dir %.600s", n, zj, dj)
		}
		if strings.Join(zn.Limits, "|") != strings.Join(dn.Limits, "|") {
			t.Errorf("node %s: limits %q, the zip's %q", n, dn.Limits, zn.Limits)
		}
	}
}

// TestOpenTalosDirRefusesWhatTheZipWould: a symlink in the copy (it could lead anywhere on the
// reader's machine) and a folder without node folders.
func TestOpenTalosDirRefusesWhatTheZipWould(t *testing.T) {
	dir := talostest.Unzip(t, talosFixture)
	if err := os.Symlink("/etc/shadow", filepath.Join(dir, "10.5.0.2", "service-logs", "etcd.log")); err != nil {
		t.Fatal(err)
	}
	if b, err := OpenTalosDir(dir); !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "symlink") {
		if b != nil {
			b.Close()
		}
		t.Errorf("symlink: err = %v, want ErrUnsafe", err)
	}
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "readme.txt"), []byte("hi"), 0o644)
	if b, err := OpenTalosDir(empty); !errors.Is(err, ErrNotTalosBundle) {
		if b != nil {
			b.Close()
		}
		t.Errorf("no node folder: err = %v, want ErrNotTalosBundle", err)
	}
}
