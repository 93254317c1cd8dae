// Package testtier selects the slow test tiers. Plain `go test ./...` is the fast, unprivileged
// loop: it never mounts, never changes users and never starts containerd or a kubelet. The tiers
// below run when the environment asks for them, as containerd's RequiresRoot does with -test.root;
// hack/test.sh (what CI runs) sets SPDOC_E2E=1, so in CI every one of them runs.
package testtier

import (
	"os"
	"os/exec"
	"testing"
)

// Env is the variable that opts into the privileged and real-node tiers.
const Env = "SPDOC_E2E"

// Enabled reports whether the slow tiers were asked for.
func Enabled() bool { return os.Getenv(Env) == "1" }

// Root marks a test that needs root (mounts, other uids, SO_PEERCRED admin). Without SPDOC_E2E=1
// it is not run; with it, a missing root is a failure, not a skip.
func Root(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skipf("privileged tier: run with %s=1 as root (hack/test.sh does)", Env)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s needs root (%s=1 is set): run the suite as root, e.g. sudo hack/test.sh", t.Name(), Env)
	}
}

// RealNode marks a test that starts a real containerd and kubelet (internal/testnode does it).
func RealNode(t testing.TB) {
	t.Helper()
	if !Enabled() {
		t.Skipf("real-node tier: run with %s=1 as root (hack/test.sh does)", Env)
	}
}

// Tool returns the path of a command-line tool a test drives (promtool, kubectl, prometheus).
// hack/setup-node.sh installs them; in the fast tier a missing tool skips the test, with
// SPDOC_E2E=1 (CI) it fails it.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if !Enabled() {
		t.Skipf("%s not installed (hack/setup-node.sh installs it; CI runs this test)", name)
	}
	t.Fatalf("%s not in PATH with %s=1: run hack/setup-node.sh", name, Env)
	return ""
}
