#!/usr/bin/env bash
# Prepares this machine to run spdoc's real-node tests (internal/testnode, internal/e2e): installs the
# Debian packages they need when any is missing, then builds (or finds cached) every binary they run:
# the kubelet, kubeadm, kube-apiserver, kube-controller-manager and kube-scheduler (hack/build-k8s.sh,
# one go build) and etcd (hack/build-etcd.sh), all cached in /var/cache/spdoc.
# prometheus brings prometheus and promtool (the metrics tests); kubectl (kustomize) comes with the image.
# Idempotent; needs root. Prints the kubelet binary path on stdout as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(containerd runc busybox-static containernetworking-plugins jq tmux iproute2 util-linux prometheus)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-node: missing packages ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  echo "setup-node: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi
# Every test node runs a containerd and a kubelet, each holding inotify instances (CNI conf monitor,
# cadvisor, config and cert watches); the default of 128 per user runs out when several nodes run at
# once and containerd's CRI plugin then fails to load ("unknown service runtime.v1.RuntimeService").
if [ "$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)" -lt 1024 ]; then
  sysctl -qw fs.inotify.max_user_instances=1024 >&2 || echo "setup-node: cannot raise fs.inotify.max_user_instances (read-only /proc/sys?); parallel test nodes may fail" >&2
fi
# The Debian containerd package starts a system containerd; the tests run their own and do not need it.
start=$(date +%s)
hack/build-k8s.sh kubeadm kube-apiserver kube-controller-manager kube-scheduler kubelet >/dev/null
hack/build-etcd.sh >/dev/null
echo "setup-node: Kubernetes binaries ready in $(($(date +%s) - start))s" >&2
hack/build-kubelet.sh
