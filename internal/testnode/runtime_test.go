package testnode

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRuncWrapper runs the generated wrapper in front of a fake runc that records its arguments,
// and checks the oomScoreAdj rewrite of bundle configs and process specs.
func TestRuncWrapper(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Fatalf("needs jq (hack/setup-node.sh): %v", err)
	}
	tests := []struct {
		name    string
		file    string // relative to the bundle dir
		content string
		args    func(bundle string) []string
		wantOOM float64 // value of the oomScoreAdj after the wrapper ran
		path    []string
	}{
		{"create with negative score", "config.json", `{"process":{"oomScoreAdj":-998,"args":["/pause"]}}`,
			func(b string) []string { return []string{"--root", "/x", "create", "--bundle", b, "id1"} }, 0, []string{"process", "oomScoreAdj"}},
		{"create with --bundle=", "config.json", `{"process":{"oomScoreAdj":-997}}`,
			func(b string) []string { return []string{"create", "--bundle=" + b, "id1"} }, 0, []string{"process", "oomScoreAdj"}},
		{"positive score kept", "config.json", `{"process":{"oomScoreAdj":1000}}`,
			func(b string) []string { return []string{"create", "-b", b, "id1"} }, 1000, []string{"process", "oomScoreAdj"}},
		{"exec process spec", "process.json", `{"args":["cat","/tmp/healthy"],"oomScoreAdj":-998}`,
			func(b string) []string { return []string{"exec", "--process", filepath.Join(b, "process.json"), "id1"} }, 0, []string{"oomScoreAdj"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			record := filepath.Join(dir, "args")
			fake := filepath.Join(dir, "fake-runc")
			if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\" > "+record+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			wrapper, err := writeRuncWrapper(dir, fake, jq)
			if err != nil {
				t.Fatal(err)
			}
			bundle := filepath.Join(dir, "bundle")
			os.MkdirAll(bundle, 0o755)
			if err := os.WriteFile(filepath.Join(bundle, tt.file), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			args := tt.args(bundle)
			if out, err := exec.Command(wrapper, args...).CombinedOutput(); err != nil {
				t.Fatalf("wrapper: %v\n%s", err, out)
			}
			got, _ := os.ReadFile(record)
			if strings.TrimSpace(string(got)) != strings.Join(args, " ") {
				t.Errorf("real runc got args %q, want %q", got, strings.Join(args, " "))
			}
			data, _ := os.ReadFile(filepath.Join(bundle, tt.file))
			var v map[string]any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatalf("rewritten %s is not JSON: %v: %s", tt.file, err, data)
			}
			var cur any = v
			for _, k := range tt.path {
				cur = cur.(map[string]any)[k]
			}
			if cur != tt.wantOOM {
				t.Errorf("oomScoreAdj = %v, want %v (file %s)", cur, tt.wantOOM, data)
			}
		})
	}
}

func TestCNIConflistIsValidJSON(t *testing.T) {
	var v struct {
		Plugins []struct {
			Type   string `json:"type"`
			Bridge string `json:"bridge"`
			IPAM   struct {
				DataDir string `json:"dataDir"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(cniConflist("spdocab12", 17, "/x/ipam")), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Plugins) != 2 || v.Plugins[0].Type != "bridge" || v.Plugins[0].Bridge != "spdocab12" ||
		v.Plugins[0].IPAM.DataDir != "/x/ipam" || v.Plugins[1].Type != "loopback" {
		t.Errorf("conflist = %+v", v)
	}
}

func TestContainerdConfigPaths(t *testing.T) {
	c := containerdConfig(containerdPaths{Root: "/n/root", State: "/n/state", Socket: "/n/c.sock", Snapshotter: "native",
		RuncWrapper: "/n/runc-wrapper", CNIBinDir: "/usr/lib/cni", CNIConfDir: "/n/net.d"})
	for _, want := range []string{`root = "/n/root"`, `state = "/n/state"`, `address = "/n/c.sock"`, `address = "/n/c.sock.ttrpc"`,
		`sandbox_image = "` + PauseImage + `"`, `snapshotter = "native"`, `BinaryName = "/n/runc-wrapper"`, `conf_dir = "/n/net.d"`} {
		if !strings.Contains(c, want) {
			t.Errorf("containerd config lacks %s:\n%s", want, c)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/plain/path`:    "/plain/path",
		`/with\040space`: "/with space",
		`/tab\011x`:      "/tab\tx",
		`/trailing\04`:   `/trailing\04`,
		`/back\134slash`: `/back\slash`,
		`/not\999octal`:  `/not\999octal`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFreeSubnetIsUnusedAndInRange(t *testing.T) {
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		t.Fatalf("needs iproute2 (hack/setup-node.sh): %v", err)
	}
	for _, start := range []int{1, 17, 250} {
		x := freeSubnet(start)
		if x < 1 || x > 250 {
			t.Errorf("freeSubnet(%d) = %d, out of 1..250", start, x)
		}
		if strings.Contains(string(out), fmt.Sprintf(" 10.244.%d.", x)) {
			t.Errorf("freeSubnet(%d) = %d, which an interface already uses", start, x)
		}
	}
}
