package bundle

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/spdoc/spdoc/internal/node"
)

// BenchmarkWrite bundles the captured real-kubelet node (15 manifests, 108 KiB kubelet log).
func BenchmarkWrite(b *testing.B) {
	root := "../../testdata/nodes/broken"
	out := filepath.Join(b.TempDir(), "b.tar.gz")
	c := node.NewLocal(node.LocalOptions{Root: root})
	var res *Result
	for b.Loop() {
		var err error
		if res, err = Write(context.Background(), out, c, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Bytes), "bundle-bytes")
	b.ReportMetric(float64(res.Files), "files")
}
