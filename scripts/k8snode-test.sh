#!/usr/bin/env bash
# The package on a Kubernetes node: boots a Debian 13 "trixie" guest under
# QEMU (software emulation) with systemd as PID 1, a cgroup v2 tree and
# trixie's own containerd 1.7 with its CRI plugin, driven as kubelet drives
# it (the systemd cgroup driver, pods in kubepods.slice/kubepods-<qos>.slice/
# kubepods-<qos>-pod<uid>.slice, host network, kubelet's labels), and checks
# dockward there for real. There is no kubelet package: the guest's checks
# (scripts/k8snode-test-guest.sh) speak the CRI themselves through a small
# client (scripts/cri-client.py, Python 3 with Debian's python3-grpcio).
#
#   scripts/k8snode-test.sh DEB [IMAGE-TAR] # boots the guest; exit 0 when all pass
#   scripts/k8snode-test.sh --prepare       # only builds the cached root tree
#
# IMAGE-TAR: dockward's image (make image) as `docker save` wrote it. With
# it, once the package's checks are done, the guest imports it into
# containerd's k8s.io namespace and runs it as the DaemonSet's pod
# (packaging/kubernetes, rendered here by `kubectl kustomize`), in a network
# namespace of its own through a stub CNI plugin (a dummy eth0 with a
# documentation address, 192.0.2.2; the guest still has no network).
#
# The root tree is cached in $DOCKWARD_SYSTEMD_CACHE (/var/cache/dockward-test)
# as trixie-k8snode-<key>, built, booted and read as scripts/v2host-test.sh
# does (scripts/qemu-guest.sh): the guest has no network (-nic none; pods use
# the node's network namespace, so no CNI), its images are built inside from
# busybox-static as OCI archives and imported with `ctr -n k8s.io images
# import`. Fork bombs run only in pods with a pod-level limit (TasksMax on
# the pod's slice).
#
# Output: one "[trixie] PASS <check>: <what it printed>" or "FAIL ..." line
# per check, the summary "k8snode (trixie, <kernel>): N passed, M failed
# (...)", every FAIL line again and a last line. Exit 0 when every check
# passed, 1 otherwise. A missing prerequisite (root, the tools) fails with CI
# set (and not "false"/"0"), and skips (exit 77) otherwise.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
NAME=k8snode
CACHE_DIR=${DOCKWARD_SYSTEMD_CACHE:-/var/cache/dockward-test}
. "$ROOT_DIR/scripts/qemu-guest.sh"
# One boot, checks included, must end within this.
BOOT_TIMEOUT=${DOCKWARD_K8SNODE_TIMEOUT:-600}
IMAGE_SIZE=6G

# The guest (scripts/qemu-guest.sh says what each variable is): trixie with
# containerd and runc (no Docker), Python 3 and gRPC for the CRI client.
# debootstrap 1.0.128 (Debian 12's) knows trixie through the sid script.
SUITE=trixie SCRIPT=/usr/share/debootstrap/scripts/sid
# libyaml-0-2: the package depends on it.
INCLUDE=systemd,systemd-sysv,dbus,udev,kmod,procps,iproute2,passwd,linux-image-amd64,busybox-static,apparmor,libyaml-0-2
APT_EXTRA="containerd runc python3-grpcio"
SUITES="trixie trixie-updates" SECURITY="trixie-security"
KERNEL="" TREE=trixie-k8snode TREE_TAG=k8snode=1

[ "$(id -u)" = 0 ] || missing "must run as root (debootstrap, chroot, mkfs.ext4 -d of a root tree)"
install_tools
command -v python3 >/dev/null || missing "python3 (the CRI client's syntax is checked before the boot)"
if [ "${1:-}" = --prepare ]; then
    tree=$(cached_tree)
    echo "$tree/root"
    exit 0
fi
[ $# -eq 1 ] || [ $# -eq 2 ] || { echo "usage: $0 DEB [IMAGE-TAR] | --prepare" >&2; exit 2; }
DEB=$(readlink -f "$1")
[ -f "$DEB" ] || die "no package at $1"
IMAGE_TAR=""
if [ $# -eq 2 ]; then
    IMAGE_TAR=$(readlink -f "$2")
    [ -f "$IMAGE_TAR" ] || die "no image archive at $2"
    command -v kubectl >/dev/null || missing "kubectl (renders packaging/kubernetes for the image's pod)"
    python3 -c 'import yaml' 2>/dev/null || missing "PyYAML for python3 (make test-tools brings it)"
fi
python3 -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")' "$ROOT_DIR/scripts/cri-client.py" \
    || die "scripts/cri-client.py does not compile"
start_work
if [ -n "$IMAGE_TAR" ]; then
    # The manifests as `kubectl apply -k` would send them, as JSON for the
    # guest's CRI client (the guest has no YAML parser).
    kubectl kustomize "$ROOT_DIR/packaging/kubernetes" \
        | python3 -c 'import json, sys, yaml; json.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)' \
        > "$WORK/manifests.json" || die "kubectl kustomize packaging/kubernetes failed"
fi

# prepare_guest TREE GUEST: a copy of the tree with the package, the checks,
# the CRI client, containerd's config as a node's and the oneshot unit that
# runs the checks once containerd is up.
prepare_guest() {
    local tree=$1 guest=$2
    copy_guest "$tree" "$guest" k8snode-test-guest.sh
    install -m 0755 "$ROOT_DIR/scripts/cri-client.py" "$guest/dockward-test/cri-client.py"
    if [ -n "$IMAGE_TAR" ]; then
        cp "$IMAGE_TAR" "$guest/dockward-test/dockward-image.tar"
        cp "$WORK/manifests.json" "$guest/dockward-test/manifests.json"
    fi
    # A stub CNI plugin, for the one pod with a network namespace of its
    # own (the DaemonSet's, hostNetwork: false): containerd's CRI plugin
    # wants a network besides its own loopback one, and an address on the
    # pod's eth0. It brings lo up and makes eth0 a dummy link with
    # 192.0.2.2/32 (TEST-NET-1: reaches nothing; the guest has no network).
    mkdir -p "$guest/dockward-test/cni/bin" "$guest/dockward-test/cni/net.d"
    cat > "$guest/dockward-test/cni/bin/loopback" <<'EOF'
#!/bin/sh
conf=$(cat)
version=$(printf '%s' "$conf" | sed -n 's/.*"cniVersion" *: *"\([^"]*\)".*/\1/p')
case "$CNI_COMMAND" in
VERSION) echo '{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0"]}' ;;
ADD)
    if [ "$CNI_IFNAME" = lo ]; then
        nsenter --net="$CNI_NETNS" ip link set lo up || exit 1
        addr=127.0.0.1/8
    else
        nsenter --net="$CNI_NETNS" sh -c "ip link add $CNI_IFNAME type dummy && ip addr add 192.0.2.2/32 dev $CNI_IFNAME && ip link set $CNI_IFNAME up" || exit 1
        addr=192.0.2.2/32
    fi
    printf '{"cniVersion":"%s","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"version":"4","address":"%s","interface":0}]}\n' \
        "${version:-0.4.0}" "$CNI_IFNAME" "$CNI_NETNS" "$addr" ;;
*) : ;;  # DEL, CHECK: the links go with the pod's namespace
esac
EOF
    chmod 0755 "$guest/dockward-test/cni/bin/loopback"
    ln -s loopback "$guest/dockward-test/cni/bin/dummy-eth"
    echo '{"cniVersion":"0.4.0","name":"dockward-test","plugins":[{"type":"dummy-eth"}]}' \
        > "$guest/dockward-test/cni/net.d/10-dockward-test.conflist"
    # containerd as kubelet wants it: the systemd cgroup driver for runc,
    # the pause image the checks import, the stub CNI plugin above (the
    # other pods share the node's network namespace).
    cat > "$guest/etc/containerd/config.toml" <<'EOF'
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:dockward-test"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/dockward-test/cni/bin"
    conf_dir = "/dockward-test/cni/net.d"
EOF
    checks_unit "$guest" containerd.service
}

run_guest trixie
report_end trixie
