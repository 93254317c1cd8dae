#!/usr/bin/env bash
# Builds (or finds cached) a real kubelet from the k8s.io/kubernetes Go module at a pinned version;
# see hack/build-k8s.sh, which builds every Kubernetes binary the tests use.
# Usage: hack/build-kubelet.sh [version]   prints the path of the kubelet binary on stdout.
set -euo pipefail
version=${1:-${KUBELET_VERSION:-v1.34.4}}
exec "$(dirname "$0")/build-k8s.sh" -v "$version" kubelet
