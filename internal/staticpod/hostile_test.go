package staticpod

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScanNeverEchoesNonManifests: a manifest dir entry symlinked to another file (/etc/shadow,
// a credentials file) does not get that file's content into the parse error, whatever the
// decoder quotes; the entry records where the link points.
func TestScanNeverEchoesNonManifests(t *testing.T) {
	dir := t.TempDir()
	mdir := filepath.Join(dir, "manifests")
	must(t, os.Mkdir(mdir, 0o755))
	const canary = "cnryshadow5v"
	for name, content := range map[string]string{
		"shadow":  "root:$6$" + canary + "$x:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n",
		"creds":   "password: " + canary + "\n",
		"list":    "- " + canary + "\n",
		"mapkey":  "{" + canary + ": 1}: x\n",
		"strlist": "metadata: [" + canary + "]\n",
	} {
		writeFile(t, filepath.Join(dir, name), content)
		must(t, os.Symlink(filepath.Join(dir, name), filepath.Join(mdir, name+".yaml")))
	}
	s := ScanDir(mdir)
	if len(s.Files) != 5 {
		t.Fatalf("files: %d", len(s.Files))
	}
	for _, f := range s.Files {
		if f.Parse == nil {
			t.Errorf("%s: parsed as a pod", f.Name)
			continue
		}
		if strings.Contains(f.Parse.Msg, canary) {
			t.Errorf("%s: the parse error echoes the file's content: %s", f.Name, f.Parse.Msg)
		}
		if !strings.HasPrefix(f.Parse.Msg, "couldn't parse as pod(") {
			t.Errorf("%s: not the kubelet's message shape: %s", f.Name, f.Parse.Msg)
		}
		if want := filepath.Join(dir, strings.TrimSuffix(f.Name, ".yaml")); f.Link != want {
			t.Errorf("%s: Link = %q, want %q", f.Name, f.Link, want)
		}
	}
	// A manifest that only lacks its kind keeps the decoder's message: it is a manifest.
	writeFile(t, filepath.Join(mdir, "nokind.yaml"), "apiVersion: v1\nmetadata:\n  name: x\n")
	f := ScanFile(filepath.Join(mdir, "nokind.yaml"))
	if f.Parse == nil || !strings.Contains(f.Parse.Msg, `"name":"x"`) {
		t.Errorf("a kind-less manifest: %+v", f.Parse)
	}
}
