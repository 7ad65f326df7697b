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
CACHE_DIR=${DOCKWARD_SYSTEMD_CACHE:-/var/cache/dockward-test}
GUESTS=${DOCKWARD_V2HOST_GUESTS:-"debian12 trixie"}
# In every guest's tree.
BASE_INCLUDE=systemd,systemd-sysv,dbus,udev,kmod,procps,iproute2,passwd,linux-image-amd64,docker.io,busybox-static,apparmor
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
# The mirror with the guest's suite, or else the machine's main archive
# (a suite with no "-"), and the same for the security suite.
apt_mirror() {
    apt_sources | awk -v s="$SUITE" '$2 == s { print $1; found = 1; exit }
        $2 !~ /-/ && first == "" { first = $1 } END { if (!found && first != "") print first }'
}
apt_security_mirror() {
    apt_sources | awk -v s="$SUITE-security" '$2 == s { print $1; found = 1; exit }
        $2 ~ /-security$/ && first == "" { first = $1 } END { if (!found && first != "") print first }'
}

# cached_tree GUEST: prints the path of the guest's cached tree (its root is
# "$dir/root"), building it when missing.
cached_tree() {
    local guest=$1 mirror security arch key dir
    guest_def "$guest" || die "unknown guest $guest (debian12, trixie, forky)"
    mirror=$(apt_mirror)
    [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list{,.d/}"
    security=""
    if [ -n "$SECURITY" ]; then
        security=$(apt_security_mirror)
        [ -n "$security" ] || die "no security mirror in /etc/apt/sources.list{,.d/} (for $SECURITY)"
    fi
    arch=$(dpkg --print-architecture)
    key=$(printf '%s\n' "suite=$SUITE" "script=$SCRIPT" "variant=minbase" "include=$INCLUDE" "apt=$APT_EXTRA" \
        "suites=$SUITES" "security-suites=$SECURITY" "mirror=$mirror" "security=$security" "arch=$arch" "v2host=2" \
        | sha256sum | cut -c1-16)
    dir="$CACHE_DIR/$TREE-$key"
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.lock"
    flock 9
    if [ ! -f "$dir/.complete" ]; then
        local tmp=$dir.tmp root=$dir.tmp/root logf=$CACHE_DIR/debootstrap-$TREE.log rc
        log "debootstrap $SUITE (minbase, $INCLUDE) from $mirror into $dir (once; cached)"
        rm -rf "$tmp"
        # shellcheck disable=SC2086 # SCRIPT is empty or one path
        if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$mirror" $SCRIPT >"$logf" 2>&1; then
            tail -20 "$logf" >&2
            rm -rf "$tmp"
            die "debootstrap failed; see $logf"
        fi
        # The machine's own mirrors in the tree, then Podman.
        rm -f "$root/etc/apt/sources.list"
        {
            printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                "$mirror" "$SUITES"
            if [ -n "$SECURITY" ]; then
                printf '\nTypes: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
                    "$security" "$SECURITY"
            fi
        } > "$root/etc/apt/sources.list.d/debian.sources"
        mount -t proc proc "$root/proc"
        mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"
        mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"
        set +e
        (
            set -e
            # A snapshot of the archive can be older than a suite's
            # Valid-Until (testing's is a week): the tree is made once,
            # from the mirror the machine itself trusts.
            chroot "$root" apt-get -o Acquire::Check-Valid-Until=false update -qq
            echo "installing $APT_EXTRA"
            # shellcheck disable=SC2086 # a list of package names
            DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends $APT_EXTRA
            chroot "$root" apt-get clean
        ) >>"$logf" 2>&1
        rc=$?
        set -e
        umount -R "$root/dev" "$root/sys" "$root/proc" || umount -lR "$root/dev" "$root/sys" "$root/proc" || true
        if [ "$rc" != 0 ]; then
            tail -20 "$logf" >&2
            rm -rf "$tmp"
            die "installing $APT_EXTRA failed; see $logf"
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
for guest in $GUESTS; do guest_def "$guest" || die "unknown guest $guest (debian12, trixie, forky)"; done
if [ "${1:-}" = --prepare ]; then
    for guest in $GUESTS; do
        tree=$(cached_tree "$guest")
        echo "$tree/root"
    done
    exit 0
fi
[ $# -eq 1 ] || { echo "usage: $0 DEB | --prepare" >&2; exit 2; }
DEB=$(readlink -f "$1")
[ -f "$DEB" ] || die "no package at $1"

START=$(date +%s)
ID=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
WORK=/var/tmp/dockward-v2host-$ID
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

# prepare_guest TREE GUEST: a copy of the tree with the package, the checks
# and the oneshot unit that runs them.
prepare_guest() {
    local tree=$1 guest=$2
    rm -rf "$guest"
    cp -a "$tree" "$guest"
    mkdir -p "$guest/dockward-test"
    cp "$DEB" "$guest/dockward-test/dockward.deb"
    install -m 0755 "$ROOT_DIR/scripts/v2host-test-guest.sh" "$guest/dockward-test/check.sh"
    # The actions drop-in as the repository has it (the package ships it too).
    cp "$ROOT_DIR/packaging/actions/dockward.service.d/actions.conf" "$guest/dockward-test/actions.conf"
    # The checks run at boot from a oneshot unit once the engine is up; they
    # write to the serial console and power the machine off.
    cat > "$guest/etc/systemd/system/dockward-test.service" <<'EOF'
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
    mkdir -p "$guest/etc/systemd/system/multi-user.target.wants"
    ln -sf /etc/systemd/system/dockward-test.service "$guest/etc/systemd/system/multi-user.target.wants/dockward-test.service"
}

# kernel_files ROOT: "<release> <vmlinuz> <initrd> <package> <version>" of
# the newest vmlinuz-$KERNEL* in the guest.
kernel_files() {
    local vmlinuz release pkg
    vmlinuz=$(ls "$1"/boot/vmlinuz-"$KERNEL"* 2>/dev/null | sort -V | tail -n1)
    [ -n "$vmlinuz" ] || return 1
    release=${vmlinuz##*/vmlinuz-}
    pkg=$(dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${Package} ${Version}\n' "linux-image-$release*" 2>/dev/null | head -n1)
    echo "$release $vmlinuz $1/boot/initrd.img-$release ${pkg:-linux-image-$release ?}"
}

total_passed=0
total_failed=0
overall=0
summaries=()
failures=()
for guest in $GUESTS; do
    guest_def "$guest"
    gstart=$(date +%s)
    boot_failure=""
    GUEST=$WORK/$guest
    if ! tree=$(cached_tree "$guest"); then
        line="[$guest] FAIL tree: could not build the $SUITE root tree (see above)"
        echo "$line"; failures+=("$line")
        summaries+=("v2host ($guest): 0 passed, 1 failed ($(( $(date +%s) - gstart )) s)")
        echo "${summaries[-1]}"
        total_failed=$((total_failed + 1)); overall=1
        continue
    fi
    prepare_guest "$tree/root" "$GUEST"
    # The kernel and initrd straight from the cached tree (the copy goes
    # once it is in the image).
    if ! read -r release vmlinuz initrd package version < <(kernel_files "$tree/root"); then
        line="[$guest] FAIL boot: no vmlinuz-$KERNEL* in the tree"
        echo "$line"; failures+=("$line")
        summaries+=("v2host ($guest): 0 passed, 1 failed ($(( $(date +%s) - gstart )) s)")
        echo "${summaries[-1]}"
        total_failed=$((total_failed + 1)); overall=1
        rm -rf "$GUEST"
        continue
    fi
    label="$guest: $SUITE, $package $version, $release"
    img=$WORK/vm-$guest.img
    rm -f "$img"
    mkfs.ext4 -q -L dockward-v2host -d "$GUEST" "$img" "$IMAGE_SIZE" >/dev/null
    rm -rf "$GUEST"
    # Kept after the run (the last one's, per guest).
    console=/var/tmp/dockward-v2host-console-$guest.log
    log "booting $label under qemu -accel tcg (at most ${BOOT_TIMEOUT}s)"
    boot_start=$(date +%s)
    # mitigations=off: under emulation the kernel's speculation workarounds
    # (page-table isolation on every system call) cost much and guard
    # nothing; the guest has no network and runs only these checks.
    # panic=-1 and -no-reboot: a kernel that panics reboots at once, and
    # qemu exits instead of rebooting it.
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
    qemu_s=$((boot_end - boot_start))
    rm -f "$img"
    tr -d '\r' < "$console" > "$console.txt"
    results=$(grep -a -E '^(PASS|FAIL|INFO) ' "$console.txt" || true)
    passed=$(grep -c '^PASS' <<<"$results" || true)
    failed=$(grep -c '^FAIL' <<<"$results" || true)
    [ -z "$results" ] || sed "s/^/[$guest] /" <<<"$results"
    booted=$(sed -n 's/^INFO booted: \([0-9]*\) s.*/\1/p' "$console.txt" | head -n1)
    if ! grep -a -q '^DONE' "$console.txt"; then
        # Why the guest did not finish: a panic (panic=-1 and -no-reboot
        # end qemu at once), qemu's own end, or the timeout.
        panic=$(grep -a -m1 -E 'Kernel panic|BUG: |Oops: ' "$console.txt" || true)
        if [ -n "$panic" ]; then
            why="the guest's kernel panicked after $qemu_s s: $panic"
        elif [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
            why="the guest did not finish within ${BOOT_TIMEOUT} s (timeout)"
        else
            why="qemu exited early (exit $qemu_rc after $qemu_s s) and the guest printed no DONE"
        fi
        log "$guest ($release): $why; console tail:"
        tail -40 "$console.txt" >&2 || true
        log "the whole console: $console.txt"
        line="[$guest] FAIL boot: $why"
        echo "$line"
        failed=$((failed + 1))
        boot_failure=$line
    elif [ "$failed" != 0 ]; then
        log "dockward's journal in the guest $guest ($release) (tail):"
        grep -a '^JOURNAL ' "$console.txt" | sed 's/^JOURNAL //' >&2 || true
    fi
    # The FAIL lines, kept for the end.
    while IFS= read -r line; do failures+=("[$guest] $line"); done < <(grep '^FAIL' <<<"$results" || true)
    [ -z "$boot_failure" ] || failures+=("$boot_failure")
    summary="v2host ($guest, $release): $passed passed, $failed failed ($(( $(date +%s) - gstart )) s; qemu $qemu_s s, boot to checks ${booted:-?} s)"
    echo "$summary"
    summaries+=("$summary")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    if [ "$failed" != 0 ] || [ "$passed" = 0 ]; then overall=1; fi
done
# Last, what a log cut to its tail must still say: which check failed on
# which guest and what it printed, then each guest's count.
if [ ${#failures[@]} -gt 0 ]; then
    echo "v2host-test: the failed checks again:"
    printf '%s\n' "${failures[@]}"
fi
[ ${#summaries[@]} -lt 2 ] || printf '%s\n' "${summaries[@]}"
echo "v2host-test: $total_passed passed, $total_failed failed on $(wc -w <<<"$GUESTS") guests ($(( $(date +%s) - START )) s)"
exit "$overall"
