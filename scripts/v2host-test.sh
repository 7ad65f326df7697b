#!/usr/bin/env bash
# The package on a real cgroup v2 host: boots Debian 12 (systemd 252 as PID 1,
# a unified cgroup tree with the pids controller, the guest's own docker.io
# with the systemd cgroup driver) under QEMU with software emulation, once
# with each of two Debian kernels, and checks dockward there for real.
#
#   scripts/v2host-test.sh DEB            # boots each kernel; exit 0 when all pass
#   scripts/v2host-test.sh --prepare      # only builds the cached root tree
#
# The guest has Podman 4.3 too (podman.socket, crun): after the Docker
# checks the daemon is pointed at Podman's socket and checked again.
#
# Kernels: 6.1 (linux-image-amd64) and 6.12 (the newest
# linux-image-6.12.*+deb12-amd64-unsigned of bookworm-security, whose
# pids.events is hierarchical). DOCKWARD_V2HOST_KERNELS="6.1" boots only some.
#
# The root tree is cached in $DOCKWARD_SYSTEMD_CACHE (/var/cache/dockward-test),
# keyed by what it holds (suite, variant, packages, kernels, mirrors,
# architecture), so only the first run pays for debootstrap (a few minutes);
# each boot gets a fresh ext4 image (mkfs.ext4 -d) of a copy of it with the
# .deb, the guest's checks (scripts/v2host-test-guest.sh) and the oneshot unit
# that runs them put in. The mirrors are the machine's own (its apt sources),
# never a fixed host name.
#
# The guest has no network (-nic none) and its containers run with
# --network none. Fork bombs run only in containers with a pids limit. KVM
# does not boot a stock kernel here: -accel tcg. One qemu at a time.
#
# Output: one "PASS <check>: <what it printed>" or "FAIL ..." line per check
# and kernel (read from the guest's serial console, qemu's stdout), then per
# kernel "v2host (<kernel>): N passed, M failed (S s)" and a last line for all.
# Exit 0 when every check passed on every kernel, 1 otherwise. A missing
# prerequisite (root, the tools) fails with CI set (and not "false"/"0"), and
# skips (exit 77) otherwise.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
CACHE_DIR=${DOCKWARD_SYSTEMD_CACHE:-/var/cache/dockward-test}
SUITE=bookworm
INCLUDE=systemd,systemd-sysv,dbus,udev,kmod,procps,iproute2,passwd,linux-image-amd64,docker.io,busybox-static,apparmor
# Installed by apt inside the tree after debootstrap (which does not
# resolve the alternatives in Podman's dependencies): Podman 4.3, crun and
# conmon, for the guest's Podman checks.
APT_EXTRA="podman crun conmon"
# The second kernel, installed from the security suite inside the tree.
KERNEL2_PATTERN='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$'
KERNELS=${DOCKWARD_V2HOST_KERNELS:-"6.1 6.12"}
# One boot, checks included, must end within this.
BOOT_TIMEOUT=${DOCKWARD_V2HOST_TIMEOUT:-600}
IMAGE_SIZE=6G

log() { printf 'v2host-test: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
in_ci() { case "${CI:-}" in ""|false|0) return 1 ;; *) return 0 ;; esac; }
# A prerequisite that is missing: fails in CI, skips elsewhere.
missing() {
    if in_ci; then die "$* (CI: failing, not skipping)"; fi
    log "skipped: $*"
    exit 77
}

[ "$(id -u)" = 0 ] || missing "must run as root (debootstrap, chroot, mkfs.ext4 -d of a root tree)"

install_tools() {
    local missing=()
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
            || missing "could not install ${missing[*]}"
    fi
}

# The machine's apt sources as "URI suite" lines (deb822 files, then the
# one-line format).
apt_sources() {
    {
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
            function flush() { if (types ~ /(^| )deb( |$)/ && uris != "") { n = split(uris, u, " "); m = split(suites, s, " ")
                for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] } types = uris = suites = "" }
            /^Types:/ { types = substr($0, 7) }
            /^URIs:/ { uris = substr($0, 6) }
            /^Suites:/ { suites = substr($0, 8) }
            /^[[:space:]]*$/ { flush() }
            END { flush() }'
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++; if ($i ~ /^\[/ || $i ~ /\]$/) i++; print $i, $(i + 1) }'
    } | sed 's/^[[:space:]]*//' | awk 'NF == 2' | sort -u
}
# The first Debian mirror with the main suite, and the security one.
apt_mirror() { apt_sources | awk -v s="$SUITE" '$2 == s { print $1; exit }'; }
apt_security_mirror() { apt_sources | awk -v s="$SUITE-security" '$2 == s { print $1; exit }'; }

# Prints the path of the cached tree (its root is "$dir/root"), building it
# when missing.
cached_tree() {
    local mirror security arch key dir name
    mirror=$(apt_mirror)
    security=$(apt_security_mirror)
    [ -n "$mirror" ] || die "no $SUITE mirror in /etc/apt/sources.list{,.d/}"
    [ -n "$security" ] || die "no $SUITE-security mirror in /etc/apt/sources.list{,.d/} (the 6.12 kernel comes from it)"
    arch=$(dpkg --print-architecture)
    key=$(printf '%s\n' "suite=$SUITE" "variant=minbase" "include=$INCLUDE" "kernel2=$KERNEL2_PATTERN" "apt=$APT_EXTRA" \
        "mirror=$mirror" "security=$security" "arch=$arch" "v2host=1" | sha256sum | cut -c1-16)
    dir="$CACHE_DIR/debian12-v2host-$key"
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.lock"
    flock 9
    if [ ! -f "$dir/.complete" ]; then
        local tmp=$dir.tmp root=$dir.tmp/root logf=$CACHE_DIR/debootstrap-v2host.log
        log "debootstrap $SUITE (minbase, $INCLUDE) from $mirror into $dir (once; cached)"
        rm -rf "$tmp"
        if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$mirror" >"$logf" 2>&1; then
            tail -20 "$logf" >&2
            rm -rf "$tmp"
            die "debootstrap failed; see $logf"
        fi
        # The machine's own mirrors in the tree, then the second kernel from
        # the security suite (its initramfs is built by its own package).
        rm -f "$root/etc/apt/sources.list"
        cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        mount -t proc proc "$root/proc"
        mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"
        mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"
        set +e
        (
            set -e
            chroot "$root" apt-get update -qq
            name=$(chroot "$root" apt-cache search --names-only "$KERNEL2_PATTERN" | awk '{ print $1 }' | sort -V | tail -n1)
            [ -n "$name" ] || { echo "no package matches $KERNEL2_PATTERN in $security" >&2; exit 1; }
            echo "installing $name $APT_EXTRA"
            # shellcheck disable=SC2086 # a list of package names
            DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends "$name" $APT_EXTRA
            chroot "$root" apt-get clean
        ) >>"$logf" 2>&1
        rc=$?
        set -e
        umount -R "$root/dev" "$root/sys" "$root/proc" || umount -lR "$root/dev" "$root/sys" "$root/proc" || true
        if [ "$rc" != 0 ]; then
            tail -20 "$logf" >&2
            rm -rf "$tmp"
            die "installing the 6.12 kernel and $APT_EXTRA failed; see $logf"
        fi
        rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
        echo '/dev/vda / ext4 rw 0 1' > "$root/etc/fstab"
        echo dockward-v2host > "$root/etc/hostname"
        # The serial line is the checks' output: no login prompt on it.
        ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
        rm -rf "$dir"
        mv "$tmp" "$dir"
        touch "$dir/.complete"
    fi
    exec 9>&-
    echo "$dir"
}

install_tools
if [ "${1:-}" = --prepare ]; then
    tree=$(cached_tree)
    echo "$tree/root"
    exit 0
fi
[ $# -eq 1 ] || { echo "usage: $0 DEB | --prepare" >&2; exit 2; }
DEB=$(readlink -f "$1")
[ -f "$DEB" ] || die "no package at $1"

START=$(date +%s)
TREE=$(cached_tree)/root
ID=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
WORK=/var/tmp/dockward-v2host-$ID
GUEST=$WORK/root
trap 'rm -rf "$WORK"' EXIT

mkdir -p "$WORK"
cp -a "$TREE" "$GUEST"
mkdir -p "$GUEST/dockward-test"
cp "$DEB" "$GUEST/dockward-test/dockward.deb"
install -m 0755 "$ROOT_DIR/scripts/v2host-test-guest.sh" "$GUEST/dockward-test/check.sh"
# The actions drop-in as the repository has it (the package ships it too).
cp "$ROOT_DIR/packaging/actions/dockward.service.d/actions.conf" "$GUEST/dockward-test/actions.conf"

# The checks run at boot from a oneshot unit once the engine is up; they
# write to the serial console and power the machine off.
cat > "$GUEST/etc/systemd/system/dockward-test.service" <<'EOF'
[Unit]
Description=dockward checks on a cgroup v2 host
After=multi-user.target docker.service
Wants=docker.service

[Service]
Type=oneshot
ExecStart=/dockward-test/check.sh
TimeoutStartSec=infinity
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/dockward-test.service "$GUEST/etc/systemd/system/multi-user.target.wants/dockward-test.service"

# The kernels to boot: "<label> <vmlinuz> <initrd> <package version>".
kernel_files() { # SERIES
    local vmlinuz release pkg
    vmlinuz=$(ls "$GUEST"/boot/vmlinuz-"$1".* 2>/dev/null | sort -V | tail -n1)
    [ -n "$vmlinuz" ] || return 1
    release=${vmlinuz##*/vmlinuz-}
    pkg=$(dpkg-query --admindir="$GUEST/var/lib/dpkg" -W -f '${Package} ${Version}\n' "linux-image-$release*" 2>/dev/null | head -n1)
    echo "$release $vmlinuz $GUEST/boot/initrd.img-$release ${pkg:-linux-image-$release ?}"
}

total_passed=0
total_failed=0
overall=0
summaries=()
for series in $KERNELS; do
    if ! read -r release vmlinuz initrd package version < <(kernel_files "$series"); then
        echo "FAIL boot ($series): no vmlinuz-$series.* in the tree"
        total_failed=$((total_failed + 1)); overall=1
        summaries+=("v2host ($series): 0 passed, 1 failed (0 s)")
        continue
    fi
    label="$series: $package $version, $release"
    kstart=$(date +%s)
    img=$WORK/vm-$series.img
    rm -f "$img"
    mkfs.ext4 -q -L dockward-v2host -d "$GUEST" "$img" "$IMAGE_SIZE" >/dev/null
    # Kept after the run (the last one's, per kernel).
    console=/var/tmp/dockward-v2host-console-$series.log
    log "booting $label under qemu -accel tcg (at most ${BOOT_TIMEOUT}s)"
    boot_start=$(date +%s)
    # mitigations=off: under emulation the kernel's speculation workarounds
    # (page-table isolation on every system call) cost much and guard
    # nothing; the guest has no network and runs only these checks.
    set +e
    timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 3072 -smp 2 \
        -nographic -no-reboot -nic none -serial stdio -monitor none \
        -kernel "$vmlinuz" -initrd "$initrd" \
        -append "root=/dev/vda rw console=ttyS0 quiet panic=-1 mitigations=off" \
        -drive "file=$img,format=raw,if=virtio" \
        </dev/null >"$console" 2>&1
    qemu_rc=$?
    set -e
    boot_end=$(date +%s)
    rm -f "$img"
    tr -d '\r' < "$console" > "$console.txt"
    results=$(grep -a -E '^(PASS|FAIL|INFO) ' "$console.txt" || true)
    passed=$(grep -c '^PASS' <<<"$results" || true)
    failed=$(grep -c '^FAIL' <<<"$results" || true)
    [ -z "$results" ] || sed "s/^/[$series] /" <<<"$results"
    booted=$(sed -n 's/^INFO booted: \([0-9]*\) s.*/\1/p' "$console.txt" | head -n1)
    if ! grep -a -q '^DONE' "$console.txt"; then
        log "the guest on $release did not finish its checks (qemu exit $qemu_rc after $((boot_end - boot_start)) s); console tail:"
        tail -40 "$console.txt" >&2 || true
        log "the whole console: $console.txt"
        echo "[$series] FAIL boot: the guest did not print DONE (qemu exit $qemu_rc, $((boot_end - boot_start)) s)"
        failed=$((failed + 1))
    elif [ "$failed" != 0 ]; then
        log "dockward's journal in the guest on $release (tail):"
        grep -a '^JOURNAL ' "$console.txt" | sed 's/^JOURNAL //' >&2 || true
    fi
    elapsed=$(( $(date +%s) - kstart ))
    summary="v2host ($release): $passed passed, $failed failed ($elapsed s; qemu $((boot_end - boot_start)) s, boot to checks ${booted:-?} s)"
    echo "$summary"
    summaries+=("$summary")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    if [ "$failed" != 0 ] || [ "$passed" = 0 ]; then overall=1; fi
done
echo "v2host-test: $total_passed passed, $total_failed failed on $(wc -w <<<"$KERNELS") kernels ($(( $(date +%s) - START )) s)"
exit "$overall"
