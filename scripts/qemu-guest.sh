# Sourced by the QEMU guest tests (scripts/v2host-test.sh,
# scripts/k8snode-test.sh): the cached debootstrap'd root trees, the boot
# under software emulation and the reading of the guest's serial console.
#
# The sourcing script sets, before it calls anything here:
#   NAME        its name in log lines, file names and summaries (v2host)
#   CACHE_DIR   where the root trees are cached
# and, per guest, what guest_def does in v2host-test.sh:
#   SUITE, SCRIPT   debootstrap's suite and script ("" for its own)
#   INCLUDE         debootstrap --include
#   APT_EXTRA       installed by apt inside the tree after debootstrap (which
#                   does not resolve alternatives in dependencies)
#   SUITES          the tree's apt suites on the main mirror, SECURITY those
#                   on the security mirror ("" for none)
#   KERNEL          the vmlinuz-<KERNEL>* to boot (the newest that matches)
#   TREE            the cached tree's name before its key
#   TREE_TAG        a line of the key that changes when the tree's making
#                   changes (v2host=2)
# and defines prepare_guest ROOT-COPY GUEST-NAME, which makes a copy of the
# tree with the package and the checks (copy_guest, then its own files).

. "$(dirname "${BASH_SOURCE[0]}")/test-prereq.sh"

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
suite_mirror() {
    apt_sources | awk -v s="$SUITE" '$2 == s { print $1; found = 1; exit }
        $2 !~ /-/ && first == "" { first = $1 } END { if (!found && first != "") print first }'
}
suite_security_mirror() {
    apt_sources | awk -v s="$SUITE-security" '$2 == s { print $1; found = 1; exit }
        $2 ~ /-security$/ && first == "" { first = $1 } END { if (!found && first != "") print first }'
}

# cached_tree: prints the path of the guest's cached tree (its root is
# "$dir/root"), building it when missing. The guest's variables are set.
cached_tree() {
    local mirror security arch key dir
    mirror=$(suite_mirror)
    [ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list{,.d/}"
    security=""
    if [ -n "$SECURITY" ]; then
        security=$(suite_security_mirror)
        [ -n "$security" ] || die "no security mirror in /etc/apt/sources.list{,.d/} (for $SECURITY)"
    fi
    arch=$(dpkg --print-architecture)
    key=$(printf '%s\n' "suite=$SUITE" "script=$SCRIPT" "variant=minbase" "include=$INCLUDE" "apt=$APT_EXTRA" \
        "suites=$SUITES" "security-suites=$SECURITY" "mirror=$mirror" "security=$security" "arch=$arch" "$TREE_TAG" \
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
        # The machine's own mirrors in the tree, then the extra packages.
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
        echo "dockward-$NAME" > "$root/etc/hostname"
        # The serial line is the checks' output: no login prompt on it.
        ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyS0.service"
        rm -rf "$dir"
        mv "$tmp" "$dir"
        touch "$dir/.complete"
    fi
    exec 9>&-
    echo "$dir"
}

# copy_guest TREE GUEST CHECKS: a copy of the tree with the package ($DEB),
# the checks (scripts/CHECKS, as /dockward-test/check.sh) and their helpers
# (scripts/guest-checks.sh).
copy_guest() {
    rm -rf "$2"
    cp -a "$1" "$2"
    mkdir -p "$2/dockward-test"
    cp "$DEB" "$2/dockward-test/dockward.deb"
    install -m 0755 "$ROOT_DIR/scripts/$3" "$2/dockward-test/check.sh"
    cp "$ROOT_DIR/scripts/guest-checks.sh" "$2/dockward-test/guest-checks.sh"
    # DOCKWARD_GUEST_DEBUG=1: the guest runs dockward with --log-level debug.
    if [ -n "${DOCKWARD_GUEST_DEBUG:-}" ]; then touch "$2/dockward-test/debug"; fi
}

# checks_unit ROOT AFTER: the oneshot unit that runs /dockward-test/check.sh
# at boot once AFTER (a unit) is up, enabled; the checks write to the serial
# console and power the machine off.
checks_unit() {
    cat > "$1/etc/systemd/system/dockward-test.service" <<EOF
[Unit]
Description=dockward checks ($NAME)
After=multi-user.target $2
Wants=$2

[Service]
Type=oneshot
ExecStart=/dockward-test/check.sh
TimeoutStartSec=infinity
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
EOF
    mkdir -p "$1/etc/systemd/system/multi-user.target.wants"
    ln -sf /etc/systemd/system/dockward-test.service "$1/etc/systemd/system/multi-user.target.wants/dockward-test.service"
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

# The totals over the guests booted, and what the end says again.
total_passed=0
total_failed=0
overall=0
summaries=()
failures=()

# guest_failed GUEST START LINE: a guest that did not boot at all.
guest_failed() {
    echo "$3"; failures+=("$3")
    summaries+=("$NAME ($1): 0 passed, 1 failed ($(( $(date +%s) - $2 )) s)")
    echo "${summaries[-1]}"
    total_failed=$((total_failed + 1)); overall=1
}

# boot_guest VMLINUZ INITRD IMAGE CONSOLE: boots the image once, its serial
# console into CONSOLE; qemu's exit status in $qemu_rc.
boot_guest() {
    # mitigations=off: under emulation the kernel's speculation workarounds
    # (page-table isolation on every system call) cost much and guard
    # nothing; the guest has no network and runs only these checks.
    # panic=-1 and -no-reboot: a kernel that panics reboots at once, and
    # qemu exits instead of rebooting it.
    set +e
    timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 3072 -smp 2 \
        -nographic -no-reboot -nic none -serial stdio -monitor none \
        -kernel "$1" -initrd "$2" \
        -append "root=/dev/vda rw console=ttyS0 quiet panic=-1 mitigations=off" \
        -drive "file=$3,format=raw,if=virtio" \
        </dev/null >"$4" 2>&1
    qemu_rc=$?
    set -e
}

# run_guest GUEST: builds (or takes) the guest's cached tree, copies it with
# prepare_guest, boots it under qemu -accel tcg (once more after a panic
# before any check ran, below), prints its PASS, FAIL
# and INFO lines with "[GUEST] " before them and its summary, and adds to
# the totals. $WORK is the scratch folder, BOOT_TIMEOUT and IMAGE_SIZE set.
run_guest() {
    local guest=$1 gstart boot_failure="" GUEST tree release vmlinuz initrd package version label img console kept
    local boot_start qemu_rc qemu_s results passed failed booted panic why line summary
    gstart=$(date +%s)
    GUEST=$WORK/$guest
    if ! tree=$(cached_tree); then
        guest_failed "$guest" "$gstart" "[$guest] FAIL tree: could not build the $SUITE root tree (see above)"
        return 0
    fi
    prepare_guest "$tree/root" "$GUEST"
    # The kernel and initrd straight from the cached tree (the copy goes
    # once it is in the image).
    if ! read -r release vmlinuz initrd package version < <(kernel_files "$tree/root"); then
        guest_failed "$guest" "$gstart" "[$guest] FAIL boot: no vmlinuz-$KERNEL* in the tree"
        rm -rf "$GUEST"
        return 0
    fi
    label="$guest: $SUITE, $package $version, $release"
    img=$WORK/vm-$guest.img
    rm -f "$img"
    mkfs.ext4 -q -L "dockward-$NAME" -d "$GUEST" "$img" "$IMAGE_SIZE" >/dev/null
    rm -rf "$GUEST"
    # Kept after the run (the last one's, per guest).
    # (in $WORK while qemu writes it, so that two runs at once never write
    # one file; copied there once read)
    kept=/var/tmp/dockward-$NAME-console-$guest.log
    console=$WORK/console-$guest.log
    # A pristine copy of the image, for a second boot (below).
    cp --sparse=always "$img" "$img.first"
    log "booting $label under qemu -accel tcg (at most ${BOOT_TIMEOUT}s)"
    boot_start=$(date +%s)
    boot_guest "$vmlinuz" "$initrd" "$img" "$console"
    # Under multi-threaded TCG the kernel's live patching of its own text
    # (static keys: int3 over the site, then a sync of every CPU) now and
    # then leaves a vCPU on the int3 after the patch is done, and the kernel
    # dies in its first seconds ("Oops: int3"), before any check has run:
    # the emulator's fault, not the guest's. Such a boot is tried once more
    # on the untouched image; a panic once the checks are under way, or a
    # second one, fails as any.
    tr -d '\r' < "$console" > "$console.txt"
    if ! grep -a -q -E '^(INFO booted|PASS|FAIL) ' "$console.txt" \
            && panic=$(grep -a -m1 -E 'Kernel panic|BUG: |Oops: ' "$console.txt"); then
        cp "$console.txt" "$kept.first.txt"
        log "$guest ($release): the kernel panicked at boot before any check ran ($panic; console: $kept.first.txt); booting the untouched image once more"
        mv "$img.first" "$img"
        boot_start=$(date +%s)
        boot_guest "$vmlinuz" "$initrd" "$img" "$console"
    fi
    qemu_s=$(( $(date +%s) - boot_start ))
    rm -f "$img" "$img.first"
    tr -d '\r' < "$console" > "$console.txt"
    cp "$console" "$kept"
    cp "$console.txt" "$kept.txt"
    console=$kept
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
    summary="$NAME ($guest, $release): $passed passed, $failed failed ($(( $(date +%s) - gstart )) s; qemu $qemu_s s, boot to checks ${booted:-?} s)"
    echo "$summary"
    summaries+=("$summary")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    if [ "$failed" != 0 ] || [ "$passed" = 0 ]; then overall=1; fi
}

# report_end GUESTS: last, what a log cut to its tail must still say: which
# check failed on which guest and what it printed, then each guest's count;
# exits 0 when every check passed.
report_end() {
    if [ ${#failures[@]} -gt 0 ]; then
        echo "$NAME-test: the failed checks again:"
        printf '%s\n' "${failures[@]}"
    fi
    [ ${#summaries[@]} -lt 2 ] || printf '%s\n' "${summaries[@]}"
    echo "$NAME-test: $total_passed passed, $total_failed failed on $(wc -w <<<"$1") guests ($(( $(date +%s) - START )) s)"
    exit "$overall"
}

# start_work: the run's scratch folder ($WORK, gone at exit) and its start.
start_work() {
    START=$(date +%s)
    local id
    id=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
    WORK=/var/tmp/dockward-$NAME-$id
    mkdir -p "$WORK"
    trap 'rm -rf "$WORK"' EXIT
}
