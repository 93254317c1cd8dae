#!/usr/bin/env bash
# Builds a real etcd server from the go.etcd.io/etcd/server/v3 Go module and caches it in
# $SPDOC_CACHE (default /var/cache/spdoc) as etcd-<version>.
#
# The default is the version kubeadm v1.34 deploys (cmd/kubeadm/app/constants: DefaultEtcdVersion
# "3.6.5-0", image registry.k8s.io/etcd:3.6.5-0). etcd's own binary is go.etcd.io/etcd/v3 at the
# repository root, whose go.mod replaces its sibling modules with local paths, so — as for the
# kubelet — a throwaway module with a main that calls etcdmain.Main, exactly what etcd's main.go does,
# builds the same server from the published module. Dependencies resolve from etcd's own go.mod.
#
# Usage: hack/build-etcd.sh [version]   prints the path of the etcd binary on stdout.
set -euo pipefail
version=${1:-${ETCD_VERSION:-v3.6.5}}
cache=${SPDOC_CACHE:-/var/cache/spdoc}
out=$cache/etcd-$version
if [ -x "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.etcd-$version.lock"
flock 9
if [ -x "$out" ]; then echo "$out"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat >go.mod <<EOF
module spdoc.local/etcdbuild

go 1.24

require go.etcd.io/etcd/server/v3 $version
EOF
cat >main.go <<'EOF'
// Command etcd is the etcd server, as go.etcd.io/etcd/v3's main.go builds it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
start=$(date +%s)
echo "build-etcd: building etcd $version..." >&2
GOFLAGS=-mod=mod go mod tidy >&2
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -p "${SPDOC_BUILD_P:-2}" -trimpath \
  -ldflags "-s -w" -o "$out.tmp" . >&2
mv "$out.tmp" "$out"
echo "build-etcd: built etcd $version in $(($(date +%s) - start))s" >&2
echo "$out"
