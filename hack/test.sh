#!/usr/bin/env bash
# The one test command: prepares the node (packages, kubelet), vets, runs every test including the
# real-node ones (TestRootKubelet*, which need root), then each fuzz target briefly.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

kubelet=$(hack/setup-node.sh | tail -n 1)
export SPDOC_KUBELET=$kubelet
# Opt into the privileged and real-node tiers (internal/testtier): plain `go test ./...` skips them.
export SPDOC_E2E=1
echo "test.sh: kubelet $SPDOC_KUBELET"

status=0
echo "test.sh: go vet ./..."
go vet ./... || status=1

# stdin from /dev/null: nothing under test may wait for a terminal or an open pipe; a package that
# hangs fails at -timeout instead of eating the CI budget. internal/e2e runs two kubeadm control
# planes side by side through their failure scenarios (about 6 minutes on 2 cores) after the
# standalone-kubelet scenarios, hence 30m.
echo "test.sh: go test ./... -count=1 -timeout 30m"
go test ./... -count=1 -timeout 30m </dev/null || status=1

# The real-node suite once more on the newest kubelet the module proxy serves (the one above is the
# oldest supported). Kubelets >= 1.35 refuse cgroup v1 hosts unless failCgroupV1: false, which
# internal/testnode sets. Only internal/e2e runs twice, to keep CI bounded, and without the
# control-plane tests: their API server is v1.34 and a kubelet newer than its API server is outside
# Kubernetes' version skew policy.
newest=${SPDOC_KUBELET_NEWEST:-v1.37.2}
if kubelet_newest=$(hack/build-kubelet.sh "$newest"); then
  echo "test.sh: go test ./internal/e2e on kubelet $newest ($kubelet_newest)"
  SPDOC_KUBELET=$kubelet_newest go test ./internal/e2e -skip 'ControlPlane' -count=1 -timeout 15m </dev/null || status=1
else
  echo "test.sh: building kubelet $newest failed" >&2
  status=1
fi

# Every Fuzz target, found by grep so new ones run without editing this script.
fuzztime=${FUZZTIME:-10s}
# fuzz_one fails on any failing input the fuzzer finds (it writes it under testdata/fuzz). Go's
# fuzzer also exits 1 without one when -fuzztime ends while a worker is mid-exec ("context deadline
# exceeded", golang/go#56238 and kin; seen in this CI on FuzzRepeatCache): such a run is retried up to
# twice, and the last run decides.
fuzz_one() {
  local fn=$1 dir=$2 out attempt
  out=$(mktemp)
  for attempt in 1 2 3; do
    if go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "$dir" </dev/null 2>&1 | tee "$out"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
      rm -f "$out"
      return 0
    fi
    if grep -q 'Failing input written to' "$out" || ! grep -q 'context deadline exceeded' "$out"; then
      break
    fi
    [ "$attempt" -lt 3 ] && echo "test.sh: $fn: the fuzzer stopped with a deadline and no failing input; running it again"
  done
  rm -f "$out"
  return 1
}
while IFS= read -r file; do
  dir=./$(dirname "$file")
  for fn in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    echo "test.sh: fuzz $fn in $dir for $fuzztime"
    fuzz_one "$fn" "$dir" || status=1
  done
done < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . | sed 's|^\./||' | sort)

if [ "$status" -ne 0 ]; then
  echo "test.sh: FAILED" >&2
fi
exit "$status"
