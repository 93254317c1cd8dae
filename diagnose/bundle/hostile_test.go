package bundle

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManifestSymlinkOutside: a manifest symlinked to a file outside the manifest dir has its
// target's path recorded in the bundle, never the target's bytes (it may be /etc/shadow).
func TestManifestSymlinkOutside(t *testing.T) {
	root := layNode(t)
	const canary = "cnry-link-target-4Zz9"
	secret := filepath.Join(root, "etc", "secret.conf")
	if err := os.WriteFile(secret, []byte("root:"+canary+":19000::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mdir := filepath.Join(root, "etc/kubernetes/manifests")
	if err := os.Symlink("../../secret.conf", filepath.Join(mdir, "evil.yaml")); err != nil {
		t.Fatal(err)
	}
	// A link inside the manifest dir is copied as usual.
	if err := os.Symlink("invalid.yaml", filepath.Join(mdir, "alias.yaml")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	res, err := Write(context.Background(), out, localClient(root), testOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	files := readBundle(t, out)
	for name, b := range files {
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("the link target's content is in %s:\n%s", name, b)
		}
	}
	if _, ok := files["etc/kubernetes/manifests/evil.yaml"]; ok {
		t.Errorf("the bundle holds the link target as evil.yaml")
	}
	if _, ok := files["etc/kubernetes/manifests/alias.yaml"]; !ok {
		t.Errorf("a link inside the manifest dir was left out")
	}
	var found bool
	for _, e := range res.Errors {
		if strings.Contains(e.Source, "evil.yaml") && strings.Contains(e.Error, "../../secret.conf") {
			found = true
		}
	}
	if !found || !bytes.Contains(files[ErrorsPath], []byte("../../secret.conf")) {
		t.Errorf("errors.json does not record where evil.yaml points: %v\n%s", res.Errors, files[ErrorsPath])
	}
}
