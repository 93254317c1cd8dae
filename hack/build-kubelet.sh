#!/usr/bin/env bash
# Builds a real kubelet from the k8s.io/kubernetes Go module at a pinned version and caches it.
# The kubernetes module's own go.mod replaces every k8s.io/<staging> module with a path inside its
# source tree, which does not exist in the module cache, so we build from a throwaway module that
# requires k8s.io/kubernetes and replaces each staging module with its published v0.X.Y tag.
# Usage: hack/build-kubelet.sh [version]   prints the path of the kubelet binary on stdout.
set -euo pipefail
version=${1:-${KUBELET_VERSION:-v1.34.4}}
staging=v0.${version#v1.}
cache=${SPDOC_CACHE:-/var/cache/spdoc}
out=$cache/kubelet-$version
if [ -x "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
# Several test packages may ask at once: one builds, the others wait for it under the lock.
exec 9>"$cache/.kubelet-$version.lock"
flock 9
if [ -x "$out" ]; then echo "$out"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod download -json "k8s.io/kubernetes@$version" >mod.json
gomod=$(sed -n 's/.*"GoMod": "\(.*\)",/\1/p' mod.json)
{
  echo "module spdoc.local/kubeletbuild"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  grep -E '=> \./staging/src/' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
} >go.mod
echo 'package tools
import _ "k8s.io/kubernetes/cmd/kubelet"' >tools.go
echo "building kubelet $version (first time takes a few minutes)..." >&2
GOFLAGS=-mod=mod go mod tidy >&2
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version" -o "$out.tmp" k8s.io/kubernetes/cmd/kubelet >&2
mv "$out.tmp" "$out"
echo "$out"
