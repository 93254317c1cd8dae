package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const capturedRoot = "../../testdata/nodes/broken"

// runCmd runs spdoc with args in-process and returns stdout.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestGetCapturedNode(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string // substrings, in order
		wantErr string
	}{
		{[]string{"get", "staticpods"}, []string{"NAMESPACE", "NAME", "FILE", "VALID", "default", "crashloop", "crashloop.yaml", "yes", "edited", "no: spec.containers[0].…", "(yaml-error.yaml)", "no: line 5"}, ""},
		{[]string{"get", "sps"}, []string{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE",
			"crashloop", "0/1", "CrashLoopBackOff", "1 (5s ago)", "5s",
			"edited", "0/1", "Invalid",
			"healthy", "1/1", "Running", "0",
			"liveness", "1/1", "Running", "1 (1s ago)",
			"missing-hostpath", "0/1", "ContainerCreating",
			"missing-image", "0/1", "ErrImageNeverPull",
			"unpullable", "0/1", "ImagePullBackOff"}, ""},
		{[]string{"get", "sps", "-o", "wide"}, []string{"NODE", "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "ID", "UID", "MANIFEST", "node1", "default", "crashloop", "default-crashloop", "b4160e8401c65ddc378ffe827459a2ce", "/etc/kubernetes/manifests/crashloop.yaml"}, ""},
		{[]string{"get", "staticpodstatus", "default-healthy", "-o", "json"}, []string{`"items"`, `"node": "node1"`, `"status": "Running"`, `"declaredContainers": 1`, `"id": "default-healthy"`}, ""},
		{[]string{"get", "staticpods", "default-late", "-o", "yaml"}, []string{"items:", "id: default-late", "source: /etc/kubernetes/manifests/late.yaml", "valid: true"}, ""},
		{[]string{"get", "sp", "crashloop.yaml", "healthy-node1", "default/late", "-o", "name"}, []string{"staticpod/default-crashloop\nstaticpod/default-healthy\nstaticpod/default-late\n"}, ""},
		{[]string{"get", "sps", "default/crashloop-node1:app:da6ee16e324e", "b4160e8401c65ddc378ffe827459a2ce", "-o", "name"}, []string{"staticpodstatus/default-crashloop\n"}, ""},
		{[]string{"get", "sps", "-o", `jsonpath={range .items[*]}{.name}={.status}{"\n"}{end}`, "-n", "default", "-l", "app=web"}, nil, ""},
		{[]string{"get", "sps", "-o", `jsonpath={.items[0].name} {.items[0].status}`, "crashloop"}, []string{"crashloop CrashLoopBackOff"}, ""},
		{[]string{"get", "pods"}, nil, `unknown resource "pods": spdoc get knows staticpods (staticpod, sp), staticpodstatus (staticpodstatuses, sps); static pods are staticpods`},
		{[]string{"get", "staticpods", "-o", "wid"}, nil, `--output "wid": want one of table|wide|name|json|yaml|jsonpath=…`},
		{[]string{"get", "sps", "crashlop"}, nil, `static pod "crashlop" not found; did you mean default/crashloop?`},
		{[]string{"get", "sps", "-n", "x", "-A"}, nil, `--namespace and --all-namespaces`},
		{[]string{"get", "sps", "-l", "a in"}, nil, `--selector "a in"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := runCmd(t, append(tt.args, "--root", capturedRoot)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if code := exitCode(err); code != 1 {
					t.Errorf("exit code %d for a user mistake, want 1", code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	out, err := runCmd(t, "get", "staticpods", "-o", "json", "--root", capturedRoot)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Items []staticPodItem `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 14 {
		t.Errorf("%d items, want 14 (13 pods + the file that does not parse)", len(list.Items))
	}
}

func TestContainersCapturedNode(t *testing.T) {
	out, err := runCmd(t, "containers", "--static", "--root", capturedRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"default/crashloop-node1 ",
		"└─ default/crashloop-node1:app:da6ee16e324e",
		"CONTAINER_EXITED (Error, exit 3)",
		"└─ default/liveness-node1:main:65da8ba9345c",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if _, err := runCmd(t, "containers", "--root", t.TempDir()); err == nil || !strings.Contains(err.Error(), "runtime.json") {
		t.Errorf("no runtime state: err = %v", err)
	}
}

func TestLogsCapturedNode(t *testing.T) {
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"logs", "crashloop"}, "starting app\nfatal: cannot open /etc/app/config.yaml: no such file or directory\n", ""},
		{[]string{"logs", "default/crashloop:app", "--tail", "1", "--timestamps"}, "2026-11-24T22:26:46.438719489Z stderr fatal: cannot open /etc/app/config.yaml: no such file or directory\n", ""},
		{[]string{"logs", "liveness", "--previous", "--tail", "1"}, "serving\n", ""},
		{[]string{"logs", "ghost"}, "", `static pod "ghost" not found`},
		{[]string{"logs"}, "", "name a pod"},
		{[]string{"logs", "a/b/c"}, "", `static pod "a/b/c" not found`},
		{[]string{"logs", "x/"}, "", `static pod "x/" not found`},
		{[]string{"logs", "crashlop"}, "", `static pod "crashlop" not found; did you mean default/crashloop?`},
		{[]string{"logs", "healthy", "-p"}, "", "container main of pod default/healthy-node1 has no previous instance: it has not restarted"},
		{[]string{"logs", "(crash|live)ness"}, "[default/liveness-node1/main] serving\n", ""},
		{[]string{"logs", "default/crashloop-node1:app:da6ee16e324e", "--tail", "1"}, "fatal: cannot open /etc/app/config.yaml: no such file or directory\n", ""},
		// ns/pod:container:id picks that instance: liveness's first instance (killed by its probe,
		// 0.log) and its current one (1.log) differ only in their timestamps.
		{[]string{"logs", "default/liveness:main:5ff50ba8cf82", "--timestamps"}, "2026-11-24T22:26:45.931445594Z stdout serving\n", ""},
		{[]string{"logs", "default/liveness-node1:main:65da8ba9345c5", "--timestamps"}, "2026-11-24T22:26:49.903407157Z stdout serving\n", ""},
		{[]string{"logs", "default/liveness:main:deadbeef"}, "", "container main of pod default/liveness-node1 has no instance with ID deadbeef (its instances: 5ff50ba8cf826 (instance 0), 65da8ba9345c5 (instance 1))"},
		{[]string{"logs", "default/liveness:main:5ff50ba8cf82", "-p"}, "", "names one instance by its ID: drop --previous"},
		{[]string{"logs", "crashloop", "-c", "nope"}, "", `container "nope" is not in pod default/crashloop: not found (its containers: app)`},
		{[]string{"logs", "crashloop", "--all-containers", "--prefix", "--tail", "1"}, "[default/crashloop-node1/app] fatal: cannot open /etc/app/config.yaml: no such file or directory\n", ""},
		{[]string{"logs", "crashloop", "--since", "1d", "--tail", "1"}, "fatal: cannot open /etc/app/config.yaml: no such file or directory\n", ""},
		{[]string{"logs", "crashloop", "--since-time", "2026-11-24T22:26:46.4387Z"}, "fatal: cannot open /etc/app/config.yaml: no such file or directory\n", ""},
		{[]string{"logs", "crashloop", "--since-time", "yesterday"}, "", "--since-time \"yesterday\": want an RFC 3339 time"},
		{[]string{"logs", "web", "-p", "-f"}, "", "can't be followed"},
		{[]string{"logs", "--kubelet", "web"}, "", "use --pod web"},
		{[]string{"logs", "--pod", "web"}, "", "--pod only goes with --kubelet"},
		{[]string{"logs", "--kubelet", "--pod", "web:c"}, "", "not per container"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := runCmd(t, append(tt.args, "--root", capturedRoot)...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if code := exitCode(err); code != 1 {
					t.Errorf("exit code %d for a user mistake, want 1", code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.want {
				t.Errorf("got %q, want %q", out, tt.want)
			}
		})
	}
	out, err := runCmd(t, "logs", "--kubelet", "--pod", "default/crashloop", "--root", capturedRoot)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("kubelet records about crashloop: %q", out)
	}
	for _, l := range lines {
		if !strings.Contains(l, "crashloop") && !strings.Contains(l, "b4160e8401c65ddc378ffe827459a2ce") {
			t.Errorf("record not about crashloop: %s", l)
		}
	}
}

// TestGetFits80Columns: the default tables fit a 80-column terminal; -o wide has the long columns.
func TestGetFits80Columns(t *testing.T) {
	for _, kind := range []string{"sp", "sps"} {
		out, err := runCmd(t, "get", kind, "--root", capturedRoot)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if n := len([]rune(l)); n > 80 {
				t.Errorf("get %s: line of %d columns: %q", kind, n, l)
			}
		}
	}
}

// TestGetWatch runs `get sps -w` as a process: the header and each row once while nothing
// changes, then a row again when its pod changes.
func TestGetWatch(t *testing.T) {
	root := copyNodeAs(t, capturedRoot, "node1")
	cmd := exec.Command(spdocBinary(t), "get", "sps", "-w", "--watch-interval", "100ms", "--root", root, "crashloop", "healthy")
	out := &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// waitOut polls the output (no fixed sleeps: a loaded machine may take seconds per read).
	waitOut := func(desc string, ok func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok(out.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s; output:\n%s", desc, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitOut("the first table", func(s string) bool {
		return strings.Contains(s, "crashloop") && strings.Contains(s, "healthy")
	})
	// Break the healthy pod's manifest: its row changes to Invalid.
	if err := os.WriteFile(filepath.Join(root, "etc/kubernetes/manifests/healthy.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: healthy}\nspec: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitOut("the changed row", func(s string) bool { return strings.Contains(s, "Invalid") })
	// a few more intervals in which nothing changes
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	got := out.String()
	if strings.Count(got, "NAMESPACE") != 1 || strings.Count(got, "crashloop") != 1 {
		t.Errorf("rows repeated although nothing changed:\n%s", got)
	}
	if strings.Count(got, "healthy") != 2 || !strings.Contains(got, "Invalid") {
		t.Errorf("the changed pod was not printed again as Invalid:\n%s", got)
	}
}

// lockedBuffer is a bytes.Buffer a child process writes to while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
