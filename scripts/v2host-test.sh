#!/usr/bin/env bash
# The package on real cgroup v2 hosts: boots Debian guests (systemd as PID 1,
# a unified cgroup tree with the pids controller, the guest's own docker.io
# with the systemd cgroup driver, and its own Podman) under QEMU with
# software emulation, one after the other, and checks dockward there for real.
#
#   scripts/v2host-test.sh DEB            # boots each guest; exit 0 when all pass
#   scripts/v2host-test.sh --prepare      # only builds the cached root trees
#
# Guests (DOCKWARD_V2HOST_GUESTS, default "debian12 trixie"; the Makefile's
# V2HOST_GUESTS sets it):
#   debian12  Debian 12 "bookworm": kernel 6.1, systemd 252, Docker 20.10,
#             Podman 4.3
#   trixie    Debian 13 (stable): kernel 6.12 (pids.events hierarchical,
#             pids.events.local), systemd 257, Docker 26, Podman 5.4
#   forky     Debian testing, on demand only (it moves every day): its
#             kernel (initrd built by dracut), systemd, Docker and Podman
# DOCKWARD_V2HOST_GUESTS="trixie" boots one guest only.
#
# After the Docker checks the daemon is pointed at Podman's socket
# (podman.socket, crun) and checked again.
#
# Each guest's root tree is cached in $DOCKWARD_SYSTEMD_CACHE
# (/var/cache/dockward-test) as <guest>-v2host-<key>, keyed by what it holds
# (suite, variant, packages, mirrors, architecture), so only the first run
# pays for debootstrap (a few minutes); each boot gets a fresh ext4 image
# (mkfs.ext4 -d) of a copy of it with the .deb, the guest's checks
# (scripts/v2host-test-guest.sh) and the oneshot unit that runs them put in.
# The mirrors are the machine's own (its apt sources), never a fixed host
# name: the archive that serves the machine's suite serves the others too.
#
# The guest has no network (-nic none) and its containers run with
# --network none. Fork bombs run only in containers with a pids limit. KVM
# does not boot a stock kernel here: -accel tcg. One qemu at a time. A kernel
# that panics (software emulation makes that rare, not impossible) powers
# nothing off: panic=-1 reboots at once and -no-reboot makes qemu exit, so a
# panic is a failure said in seconds, not a timeout.
#
# Output: one "[<guest>] PASS <check>: <what it printed>" or "FAIL ..." line
# per check and guest (read from the guest's serial console, qemu's stdout),
# then per guest "v2host (<guest>, <kernel>): N passed, M failed (S s ...)";
# at the end every FAIL line again (a log cut to its tail still says which
# check failed and why), each guest's summary again, and a last line for all.
# Exit 0 when every check passed on every guest, 1 otherwise. A missing
# prerequisite (root, the tools) fails with CI set (and not "false"/"0"), and
# skips (exit 77) otherwise.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
NAME=v2host
CACHE_DIR=${DOCKWARD_SYSTEMD_CACHE:-/var/cache/dockward-test}
# The trees, the boot and the console: shared with scripts/k8snode-test.sh.
. "$ROOT_DIR/scripts/qemu-guest.sh"
GUESTS=${DOCKWARD_V2HOST_GUESTS:-"debian12 trixie"}
# In every guest's tree (libyaml-0-2: the package depends on it).
BASE_INCLUDE=systemd,systemd-sysv,dbus,udev,kmod,procps,iproute2,passwd,linux-image-amd64,docker.io,busybox-static,apparmor,libyaml-0-2
# One boot, checks included, must end within this.
BOOT_TIMEOUT=${DOCKWARD_V2HOST_TIMEOUT:-600}
IMAGE_SIZE=6G

# guest_def NAME: sets what the guest's tree is made of.
#   SUITE, SCRIPT   debootstrap's suite and script ("" for its own)
#   INCLUDE         debootstrap --include
#   APT_EXTRA       installed by apt inside the tree after debootstrap (which
#                   does not resolve the alternatives in Podman's
#                   dependencies): Podman, crun and conmon
#   SUITES          the tree's apt suites on the main mirror, SECURITY those
#                   on the security mirror ("" for none)
#   KERNEL          the vmlinuz-<KERNEL>* to boot (the newest that matches)
#   TREE            the cached tree's name before its key
# (scripts/qemu-guest.sh says more).
TREE_TAG=v2host=2
guest_def() {
    case "$1" in
    debian12)
        SUITE=bookworm SCRIPT=""
        INCLUDE=$BASE_INCLUDE
        APT_EXTRA="podman crun conmon"
        SUITES="bookworm bookworm-updates" SECURITY="bookworm-security"
        KERNEL=6.1. TREE=debian12-v2host ;;
    trixie|forky)
        # debootstrap 1.0.128 (Debian 12's) knows these suites through
        # the sid script. docker.io there only recommends the client:
        # docker-cli too, or the tree has a daemon and no docker command.
        SUITE=$1 SCRIPT=/usr/share/debootstrap/scripts/sid
        INCLUDE=$BASE_INCLUDE,docker-cli
        APT_EXTRA="podman crun conmon"
        KERNEL="" TREE=$1-v2host
        if [ "$1" = trixie ]; then
            SUITES="trixie trixie-updates" SECURITY="trixie-security"
            TREE=debian13-v2host
        else
            # Testing has no security suite of its own worth the name:
            # fixes come through unstable.
            SUITES="forky" SECURITY=""
        fi ;;
    *) return 1 ;;
    esac
}

[ "$(id -u)" = 0 ] || missing "must run as root (debootstrap, chroot, mkfs.ext4 -d of a root tree)"

install_tools
for guest in $GUESTS; do guest_def "$guest" || die "unknown guest $guest (debian12, trixie, forky)"; done
if [ "${1:-}" = --prepare ]; then
    for guest in $GUESTS; do
        guest_def "$guest"
        tree=$(cached_tree)
        echo "$tree/root"
    done
    exit 0
fi
[ $# -eq 1 ] || { echo "usage: $0 DEB | --prepare" >&2; exit 2; }
DEB=$(readlink -f "$1")
[ -f "$DEB" ] || die "no package at $1"
start_work

# prepare_guest TREE GUEST: a copy of the tree with the package, the checks
# and the oneshot unit that runs them once the engine is up.
prepare_guest() {
    local tree=$1 guest=$2
    copy_guest "$tree" "$guest" v2host-test-guest.sh
    # The actions drop-in as the repository has it (the package ships it too).
    cp "$ROOT_DIR/packaging/actions/dockward.service.d/actions.conf" "$guest/dockward-test/actions.conf"
    checks_unit "$guest" docker.service
}

for guest in $GUESTS; do
    guest_def "$guest"
    run_guest "$guest"
done
report_end "$GUESTS"
