package nextstep

import "testing"

func TestRewriter(t *testing.T) {
	tests := []struct {
		name string
		src  Source
		in   string
		want string
	}{
		{"live node, default sources: nothing to rewrite", Source{}, "spdoc logs a", ""},
		{"a copy: root cut from paths, flags after node commands",
			Source{Root: "/tmp/copy"}, "fix /tmp/copy/etc/kubernetes/manifests/a.yaml; spdoc logs default/a:app",
			"fix /etc/kubernetes/manifests/a.yaml; spdoc logs --root /tmp/copy default/a:app"},
		{"one node folder of a talosctl bundle",
			Source{BundleIn: "support.zip", BundleNode: "10.5.0.2"}, "spdoc logs --kubelet to read them; spdoc get sps",
			"spdoc logs --bundle-in support.zip --bundle-node 10.5.0.2 --kubelet to read them; spdoc get --bundle-in support.zip --bundle-node 10.5.0.2 sps"},
		{"a command for the live node is left alone",
			Source{BundleIn: "support.zip", BundleNode: "10.5.0.3"}, "run " + LiveNode + "spdoc diagnose (or talosctl logs kubelet)",
			"run on the node: spdoc diagnose (or talosctl logs kubelet)"},
		{"an unpacked spdoc bundle names the bundle, not the temp dir",
			Source{Root: "/tmp/spdoc-bundle-1", BundleIn: "n1.tar.gz", Unpacked: true}, "spdoc logs x in /tmp/spdoc-bundle-1/var/log",
			"spdoc logs --bundle-in n1.tar.gz x in /var/log"},
		{"an agent with its credentials, quoted",
			Source{Agent: "10.0.0.1:7443", CA: "/etc/my ca.pem"}, "spdoc containers",
			"spdoc containers --agent 10.0.0.1:7443 --ca '/etc/my ca.pem'"},
		{"a text without a command: paths only", Source{Root: "/c"}, "spdoc validate /c/x.yaml", "spdoc validate /x.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := tt.src.Rewriter()
			if tt.want == "" {
				if fn != nil {
					t.Errorf("rewriter for %+v, want none", tt.src)
				}
				return
			}
			if fn == nil {
				t.Fatalf("no rewriter for %+v", tt.src)
			}
			if got := fn(tt.in); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{"a/b.zip": "a/b.zip", "it's": `'it'\''s'`, "": "''", "a b": "'a b'"} {
		if got := ShellWord(in); got != want {
			t.Errorf("ShellWord(%q) = %q, want %q", in, got, want)
		}
	}
}
