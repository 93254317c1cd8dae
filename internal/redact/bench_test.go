package redact

import (
	"strings"
	"testing"
)

// BenchmarkLog measures typical kubelet lines and adversarial 64 KiB lines (the kubelet log
// parser's line cap) that once made the patterns quadratic.
func BenchmarkLog(b *testing.B) {
	for _, bc := range []struct{ name, line string }{
		{"kubelet-json", `{"ts":1795559202143.853,"caller":"config/file.go:187","msg":"Could not process manifest file","path":"/etc/kubernetes/manifests/invalid.yaml","err":"invalid pod: [spec.containers: Required value]"}`},
		{"kubelet-klog", `E1124 21:55:04.100165 1234 kuberuntime_manager.go:1] "CreatePodSandbox for pod failed" err="rpc error: code = Unknown" pod="kube-system/etcd-node1" podUID="8f9c"`},
		{"secrets", `GET /x?access_token=AT-998877 Authorization: Bearer abcdefghijk password=hunter2 https://u:p@h ` + jwt},
		{"colons-64k", strings.Repeat("x:", 32<<10)},
		{"pairs-64k", strings.Repeat("a=a ", 16<<10)},
		{"flags-64k", strings.Repeat("--a b ", 11<<10)},
		{"digits-64k", strings.Repeat("0", 64<<10)},
		{"pem-headers-64k", strings.Repeat("-----BEGIN A-----", 4<<10)},
		{"jwt-prefix-64k", strings.Repeat("eyJ", 21<<10)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := newTest()
			b.SetBytes(int64(len(bc.line)))
			for b.Loop() {
				r.Log(bc.line)
			}
		})
	}
}
