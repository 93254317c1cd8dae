package staticpod

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCapturedNodes checks the decoder and validator against what a real kubelet v1.34.4 said
// about the same manifests (testdata/nodes, captured by hack/capture): every rejection we
// predict appears verbatim in its log, and every file it ran we accept.
func TestCapturedNodes(t *testing.T) {
	nodes, _ := filepath.Glob("../../testdata/nodes/*/etc/kubernetes/manifests")
	if len(nodes) == 0 {
		t.Fatal("no captured nodes under testdata/nodes")
	}
	// Files the kubelet ran; the rest it rejected (README of testdata/nodes).
	accepted := map[string]bool{
		"crashloop.yaml": true, "dup-a.yaml": true, "dup-b.yaml": true, "healthy.yaml": true,
		"late.yaml": true, "liveness.yaml": true, "missing-hostpath.yaml": true, "missing-image.yaml": true,
		"no-cni.yaml": true, "old-sidecar.yaml.bak": true, "unpullable.yaml": true,
	}
	for _, dir := range nodes {
		node := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(dir))))
		t.Run(node, func(t *testing.T) {
			logData, err := os.ReadFile(filepath.Join(dir, "../../../var/log/kubelet.log"))
			if err != nil {
				t.Fatal(err)
			}
			// Both log formats quote err strings; undo the escaping of `"` so messages compare.
			log := strings.ReplaceAll(string(logData), `\"`, `"`)
			scan := ScanDir(dir)
			if scan.Err != "" || len(scan.Files) != 14 {
				t.Fatalf("scan: err %q, %d files", scan.Err, len(scan.Files))
			}
			for _, f := range scan.Files {
				kubeletPath := "/etc/kubernetes/manifests/" + f.Name
				switch {
				case f.Parse != nil:
					want := kubeletPath + ": " + f.Parse.Msg + ", please check config file"
					if !strings.Contains(log, want) {
						t.Errorf("%s: predicted %q, not in the kubelet log", f.Name, want)
					}
					if !strings.Contains(f.Parse.Msg, "line "+strconv.Itoa(f.Parse.Line)+":") {
						t.Errorf("%s: Parse.Line %d does not match its message", f.Name, f.Parse.Line)
					}
				case accepted[f.Name]:
					if !f.Pods[0].Valid() {
						t.Errorf("%s: the kubelet ran it, we reject it: %v", f.Name, f.Pods[0].Issues)
					}
				default:
					msg := KubeletMessage(f.Pods[0].Issues)
					if msg == "" || !strings.Contains(log, msg) {
						t.Errorf("%s: predicted %q, not in the kubelet log", f.Name, msg)
					}
				}
			}
			dups := Duplicates(scan)
			if len(dups) != 1 || len(dups["default/dup"]) != 2 {
				t.Errorf("Duplicates = %v, want default/dup in dup-a.yaml and dup-b.yaml", dups)
			}
		})
	}
}
