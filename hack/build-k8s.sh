#!/usr/bin/env bash
# Builds Kubernetes components from the k8s.io/kubernetes Go module at a pinned version and caches
# them in $SPDOC_CACHE (default /var/cache/spdoc) as <component>-<version>.
#
# The kubernetes module's own go.mod replaces every k8s.io/<staging> module with a path inside its
# source tree, which does not exist in the module cache, so we build from a throwaway module that
# requires k8s.io/kubernetes and replaces each staging module with its published v0.X.Y tag.
# All missing components are built by one `go build` so shared packages compile once; -p bounds the
# parallelism (SPDOC_BUILD_P, default 2) because the machines this runs on are small and shared.
#
# Usage: hack/build-k8s.sh [-v version] component...
#   components: kubelet kubeadm kube-apiserver kube-controller-manager kube-scheduler
#   prints the path of each binary on stdout, one a line, in the order asked.
set -euo pipefail
version=${KUBE_VERSION:-${KUBELET_VERSION:-v1.34.4}}
if [ "${1:-}" = "-v" ]; then version=$2; shift 2; fi
if [ $# -eq 0 ]; then set -- kubelet kubeadm kube-apiserver kube-controller-manager kube-scheduler; fi
for c in "$@"; do
  case $c in
    kubelet | kubeadm | kube-apiserver | kube-controller-manager | kube-scheduler) ;;
    *) echo "build-k8s: unknown component $c" >&2; exit 2 ;;
  esac
done
staging=v0.${version#v1.}
cache=${SPDOC_CACHE:-/var/cache/spdoc}

missing() {
  local c
  for c in "$@"; do [ -x "$cache/$c-$version" ] || echo "$c"; done
}
print() {
  local c
  for c in "$@"; do echo "$cache/$c-$version"; done
}

todo=$(missing "$@")
if [ -z "$todo" ]; then print "$@"; exit 0; fi
mkdir -p "$cache"
# Several test packages (and engineers) may ask at once: one builds, the others wait under the lock.
# The kubelet keeps its own historical lock name so older copies of build-kubelet.sh still agree.
exec 8>"$cache/.kubelet-$version.lock"
flock 8
exec 9>"$cache/.k8s-$version.lock"
flock 9
todo=$(missing "$@")
if [ -z "$todo" ]; then print "$@"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod download -json "k8s.io/kubernetes@$version" >mod.json
gomod=$(sed -n 's/.*"GoMod": "\(.*\)",/\1/p' mod.json)
{
  echo "module spdoc.local/k8sbuild"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  grep -E '=> \./staging/src/' "$gomod" | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
} >go.mod
pkgs=()
{
  echo 'package tools'
  for c in $todo; do
    echo "import _ \"k8s.io/kubernetes/cmd/$c\""
    pkgs+=("k8s.io/kubernetes/cmd/$c")
  done
} >tools.go
start=$(date +%s)
echo "build-k8s: building $(echo $todo) $version (first time takes a while)..." >&2
GOFLAGS=-mod=mod go mod tidy >&2
mkdir out
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -p "${SPDOC_BUILD_P:-2}" -trimpath \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version" \
  -o out/ "${pkgs[@]}" >&2
for c in $todo; do
  mv "out/$c" "$cache/$c-$version.tmp"
  mv "$cache/$c-$version.tmp" "$cache/$c-$version"
done
echo "build-k8s: built $(echo $todo) $version in $(($(date +%s) - start))s" >&2
print "$@"
