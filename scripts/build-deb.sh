#!/usr/bin/env bash
# Builds dockward_<version>_<arch>.deb, and dockward-dbgsym_<version>_<arch>.deb
# with its debug symbols, from a built dockward binary, as debhelper would
# (dh_strip, dh_installdocs, dh_installchangelogs, dh_installman,
# dh_installsystemd), with dpkg-deb alone.
#
#   scripts/build-deb.sh BINARY OUTDIR      # prints the main .deb's path
#
# `make deb` builds the release binary with the Swift runtime linked in
# statically (--static-swift-stdlib) and calls this. The package holds:
#   /usr/bin/dockward                           (stripped; symbols in dockward-dbgsym)
#   /lib/systemd/system/dockward.service
#   /etc/dockward/dockward.yml                  (conffile, from config/)
#   /usr/lib/systemd/catalog/dockward.catalog   (journalctl -x explanations)
#   /usr/share/man/man8/dockward.8.gz, /usr/share/man/man5/dockward.yml.5.gz
#                                  (written by the binary itself: dockward manual)
#   /usr/share/doc/dockward/copyright           (DEP-5, from packaging/debian/)
#   /usr/share/doc/dockward/changelog.gz        (from packaging/debian/changelog;
#                                  a native package's name for it)
#   /usr/share/doc/dockward/examples/metrics.conf (drop-in for metrics.listen,
#                                  from packaging/prometheus/dockward.service.d/)
#   /usr/share/doc/dockward/examples/actions.conf (drop-in for actions.enabled,
#                                  from packaging/actions/dockward.service.d/)
#   /usr/share/doc/dockward/examples/alertmanager.conf (drop-in for alertmanager.urls,
#                                  from packaging/alertmanager/dockward.service.d/)
#   /usr/share/doc/dockward/examples/alertmanager.yml (a route and receivers
#                                  for Alertmanager's own config)
#   /lib/systemd/system/podman.socket.d/dockward.conf (Podman's API socket
#                                  group dockward, where podman.socket exists)
#   /usr/share/doc/dockward/examples/check-compose.github-actions.yml and
#   /usr/share/doc/dockward/examples/check-compose.gitlab-ci.yml (CI jobs
#                                  running check-compose, from packaging/ci/)
# The dbgsym package holds /usr/lib/debug/.build-id/xx/yyyy.debug (the DWARF
# that objcopy --only-keep-debug took out), as dh_strip makes it.
# Depends: libsystemd0, passwd (postinst makes the system user dockward) plus the Debian packages owning every other shared
# library the binary links (readelf's NEEDED, located by ldd, owner by dpkg -S), each at the version
# dpkg-shlibdeps (dpkg-dev) finds from the symbols the binary takes.
#
# A binary that loads the Swift runtime from a toolchain (/opt/swift, e.g. a
# debug build) only runs where that toolchain is installed: refused unless
# DOCKWARD_DEB_ALLOW_SHARED_SWIFT=1 (the packaging tests set it).
# DOCKWARD_DEB_COMPRESSION (xz, gzip, zstd, none) and
# DOCKWARD_DEB_COMPRESSION_LEVEL pass through to dpkg-deb -Z / -z.
# DOCKWARD_DEB_VERSION packs the same binary under another version (the
# systemd test's upgrade from a lower one); its changelog then has one entry
# saying so. Otherwise the version is Sources/DockwardCore/Version.swift's,
# and packaging/debian/changelog's first entry must name it.
# DOCKWARD_DEB_DBGSYM=0 skips the dbgsym package (the binary is stripped
# all the same).
set -euo pipefail

usage() { echo "usage: $0 BINARY OUTDIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
BINARY=$1
OUTDIR=$2
ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
MAINTAINER=${DOCKWARD_DEB_MAINTAINER:-"dockward maintainers <dockward@users.noreply.github.com>"}

die() { echo "build-deb: $*" >&2; exit 1; }

[ -x "$BINARY" ] || die "$BINARY is not an executable file"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg)"

CODE_VERSION=$(sed -n 's/.*static let current = "\([^"]*\)".*/\1/p' "$ROOT_DIR/Sources/DockwardCore/Version.swift")
[[ $CODE_VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([~+.-][A-Za-z0-9.+~-]*)?$ ]] \
    || die "no usable version in Sources/DockwardCore/Version.swift (got '$CODE_VERSION')"
VERSION=${DOCKWARD_DEB_VERSION:-$CODE_VERSION}
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([~+.][A-Za-z0-9.+~]*)?$ ]] \
    || die "DOCKWARD_DEB_VERSION: not a native package version (got '$VERSION')"
CHANGELOG_SRC=$ROOT_DIR/packaging/debian/changelog
CHANGELOG_VERSION=$(sed -n '1s/^dockward (\([^)]*\)).*/\1/p' "$CHANGELOG_SRC")
[ "$CHANGELOG_VERSION" = "$CODE_VERSION" ] \
    || die "packaging/debian/changelog's first entry is $CHANGELOG_VERSION, Version.swift says $CODE_VERSION: add an entry"
# The changelog's date dates the man pages too (reproducible builds).
CHANGELOG_DATE=$(sed -n 's/^ -- .*>  \(.*\)$/\1/p' "$CHANGELOG_SRC" | head -n1)
DOC_DATE=$(date -u -d "$CHANGELOG_DATE" +%F) || die "packaging/debian/changelog: unreadable date '$CHANGELOG_DATE'"
ARCH=$(dpkg --print-architecture)

# Shared libraries the binary names itself (DT_NEEDED), located the way the
# loader does (ldd): each must come from a Debian package (it becomes a
# dependency), except the Swift runtime's when explicitly allowed.
command -v readelf >/dev/null || die "readelf not found (apt-get install binutils)"
for tool in objcopy strip gzip; do command -v $tool >/dev/null || die "$tool not found (apt-get install binutils gzip)"; done
# passwd: useradd/usermod in postinst (in every Debian, listed all the same).
declare -A DEPENDS=([libsystemd0]=1 [passwd]=1)
declare -A LIBPATH=()
while read -r name path; do LIBPATH[$name]=$path; done \
    < <(ldd "$BINARY" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }
                        $1 ~ /^\// { n = split($1, p, "/"); print p[n], $1 }')
SHARED_SWIFT=()
while read -r name; do
    [ -n "$name" ] || continue
    lib=${LIBPATH[$name]:-}
    [ -n "$lib" ] || die "$name (needed by $BINARY) not found by ldd"
    case "$lib" in
        */libswift*|*/libFoundation*|*/lib_FoundationICU*|*/libdispatch*|*/libBlocksRuntime*)
            SHARED_SWIFT+=("$lib"); continue ;;
    esac
    owner=""
    for candidate in "$lib" "$(readlink -f "$lib")" "/usr$lib" "${lib#/usr}"; do
        owner=$(dpkg -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1) && [ -n "$owner" ] && break
    done
    [ -n "$owner" ] || die "$lib (needed by $BINARY) belongs to no Debian package"
    DEPENDS[$owner]=1
done < <(readelf -d "$BINARY" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [ ${#SHARED_SWIFT[@]} -gt 0 ]; then
    if [ "${DOCKWARD_DEB_ALLOW_SHARED_SWIFT:-0}" != 1 ]; then
        die "$BINARY loads the Swift runtime from the toolchain (${SHARED_SWIFT[0]} ...); build it with
    swift build -c release --static-swift-stdlib
or set DOCKWARD_DEB_ALLOW_SHARED_SWIFT=1 for a package that only runs where that toolchain is installed"
    fi
    echo "build-deb: warning: $BINARY needs the Swift runtime in $(dirname "${SHARED_SWIFT[0]}"); the package runs only where it is installed" >&2
fi

umask 022
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PKG=$WORK/root

install -d -m 0755 "$PKG/DEBIAN" "$PKG/usr/bin" "$PKG/lib/systemd/system" "$PKG/etc/dockward" \
    "$PKG/usr/lib/systemd/catalog" "$PKG/usr/share/doc/dockward"
install -m 0755 "$BINARY" "$PKG/usr/bin/dockward"
# As dh_strip: the debug info (most of a Swift binary) goes to
# /usr/lib/debug/.build-id/xx/yyyy.debug in the dbgsym package, the binary
# is stripped of it and of its symbol table, and names the debug file
# (.gnu_debuglink); gdb and systemd-coredump find it by the build id.
BUILD_ID=$(readelf -n "$BINARY" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p' | head -n1)
DBGPKG=$WORK/dbgsym
if [ "${DOCKWARD_DEB_DBGSYM:-1}" != 0 ]; then
    [ ${#BUILD_ID} -ge 4 ] || die "$BINARY has no build id (readelf -n): no place for its debug symbols"
    DEBUG_FILE=$DBGPKG/usr/lib/debug/.build-id/${BUILD_ID:0:2}/${BUILD_ID:2}.debug
    install -d -m 0755 "$(dirname "$DEBUG_FILE")" "$DBGPKG/DEBIAN" "$DBGPKG/usr/share/doc"
    objcopy --only-keep-debug --compress-debug-sections "$PKG/usr/bin/dockward" "$DEBUG_FILE"
    chmod 0644 "$DEBUG_FILE"
fi
strip --remove-section=.comment --remove-section=.note "$PKG/usr/bin/dockward"
if [ "${DOCKWARD_DEB_DBGSYM:-1}" != 0 ]; then
    objcopy --add-gnu-debuglink="$DEBUG_FILE" "$PKG/usr/bin/dockward"
fi

# Man pages, written by the binary from its own command definitions and
# config table (dockward manual), compressed as dh_installman does.
install -d -m 0755 "$PKG/usr/share/man/man8" "$PKG/usr/share/man/man5"
"$PKG/usr/bin/dockward" --experimental-dump-help > "$WORK/dockward.json" \
    || die "dockward --experimental-dump-help failed"
"$PKG/usr/bin/dockward" manual dockward.8 --date "$DOC_DATE" --tool-info "$WORK/dockward.json" > "$WORK/dockward.8" \
    || die "dockward manual dockward.8 failed"
"$PKG/usr/bin/dockward" manual dockward.yml.5 --date "$DOC_DATE" > "$WORK/dockward.yml.5" \
    || die "dockward manual dockward.yml.5 failed"
gzip -9n < "$WORK/dockward.8" > "$PKG/usr/share/man/man8/dockward.8.gz"
gzip -9n < "$WORK/dockward.yml.5" > "$PKG/usr/share/man/man5/dockward.yml.5.gz"

# copyright and changelog, as dh_installdocs and dh_installchangelogs put
# them; dockward is its own upstream (a native package, no Debian revision),
# so the changelog is changelog.gz, not changelog.Debian.gz.
install -m 0644 "$ROOT_DIR/packaging/debian/copyright" "$PKG/usr/share/doc/dockward/copyright"
# lintian's findings that stay, each with its reason above it.
install -D -m 0644 "$ROOT_DIR/packaging/debian/lintian-overrides" "$PKG/usr/share/lintian/overrides/dockward"
if [ "$VERSION" = "$CODE_VERSION" ]; then
    cp "$CHANGELOG_SRC" "$WORK/changelog"
else
    cat > "$WORK/changelog" <<EOF
dockward ($VERSION) unstable; urgency=medium

  * The code of dockward $CODE_VERSION packed as $VERSION, to test upgrades.

 -- $MAINTAINER  $CHANGELOG_DATE
EOF
fi
gzip -9n < "$WORK/changelog" > "$PKG/usr/share/doc/dockward/changelog.gz"
install -m 0644 "$ROOT_DIR/packaging/dockward.service" "$PKG/lib/systemd/system/dockward.service"
install -m 0644 "$ROOT_DIR/config/dockward.yml" "$PKG/etc/dockward/dockward.yml"
install -m 0644 "$ROOT_DIR/packaging/dockward.catalog" "$PKG/usr/lib/systemd/catalog/dockward.catalog"
install -m 0644 "$ROOT_DIR/README.md" "$PKG/usr/share/doc/dockward/README.md"
install -D -m 0644 "$ROOT_DIR/packaging/prometheus/dockward.service.d/metrics.conf" \
    "$PKG/usr/share/doc/dockward/examples/metrics.conf"
install -D -m 0644 "$ROOT_DIR/packaging/actions/dockward.service.d/actions.conf" \
    "$PKG/usr/share/doc/dockward/examples/actions.conf"
install -D -m 0644 "$ROOT_DIR/packaging/alertmanager/dockward.service.d/alertmanager.conf" \
    "$PKG/usr/share/doc/dockward/examples/alertmanager.conf"
install -D -m 0644 "$ROOT_DIR/packaging/alertmanager/alertmanager.yml" \
    "$PKG/usr/share/doc/dockward/examples/alertmanager.yml"
install -D -m 0644 "$ROOT_DIR/packaging/podman/podman.socket.d/dockward.conf" \
    "$PKG/lib/systemd/system/podman.socket.d/dockward.conf"
install -D -m 0644 "$ROOT_DIR/packaging/ci/check-compose.github-actions.yml" \
    "$PKG/usr/share/doc/dockward/examples/check-compose.github-actions.yml"
install -D -m 0644 "$ROOT_DIR/packaging/ci/check-compose.gitlab-ci.yml" \
    "$PKG/usr/share/doc/dockward/examples/check-compose.gitlab-ci.yml"

echo /etc/dockward/dockward.yml > "$PKG/DEBIAN/conffiles"

# The lowest version of each library's package that has every symbol the
# binary takes from it, from the symbols files those packages ship, as
# dh_shlibdeps finds it (libc6 (>= 2.35), libsystemd0 (>= 246), ...).
# Debian 12's libc6 symbols file predates DT_RELR: a binary whose
# relocations are packed (Package.swift's link) needs the loader of glibc
# 2.36 (GLIBC_ABI_DT_RELR), and says so.
command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps not found (apt-get install dpkg-dev)"
mkdir "$WORK/debian"
printf 'Source: dockward\n\nPackage: dockward\nArchitecture: any\n' > "$WORK/debian/control"
SHLIBS=$(cd "$WORK" && dpkg-shlibdeps -O "$PKG/usr/bin/dockward" 2> "$WORK/shlibdeps.err") \
    || die "dpkg-shlibdeps failed on the binary: $(cat "$WORK/shlibdeps.err")"
declare -A VERSIONED=()
IFS=',' read -ra SHLIB_DEPENDS <<< "${SHLIBS#shlibs:Depends=}"
for dep in "${SHLIB_DEPENDS[@]}"; do
    read -r dep <<< "$dep"
    [ -n "$dep" ] || continue
    DEPENDS[${dep%% *}]=1
    VERSIONED[${dep%% *}]=$dep
done
if readelf -V "$PKG/usr/bin/dockward" | grep -q 'GLIBC_ABI_DT_RELR'; then
    libc_min=$(sed -n 's/^libc6 (>= \(.*\))$/\1/p' <<< "${VERSIONED[libc6]:-}")
    if [ -z "$libc_min" ] || dpkg --compare-versions "$libc_min" lt 2.36; then VERSIONED[libc6]="libc6 (>= 2.36)"; fi
fi
DEPENDS_LINE=$(for name in "${!DEPENDS[@]}"; do echo "${VERSIONED[$name]:-$name}"; done | sort | paste -sd, - | sed 's/,/, /g')

INSTALLED_KB=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
cat > "$PKG/DEBIAN/control" <<EOF
Package: dockward
Version: $VERSION
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $INSTALLED_KB
Depends: $DEPENDS_LINE
Section: admin
Priority: optional
Homepage: https://github.com/dockward/dockward
Description: Docker host guard: pids exhaustion and Docker socket exposure alerts
 dockward watches every container's pids cgroup and alerts before a
 container exhausts its pids limit, when the kernel refuses forks, and for
 containers that run with no limit at all. It also reports containers that
 can reach the Docker engine's socket (and so control the host) through
 their mounts. Alerts are structured journald entries with a MESSAGE_ID;
 journalctl -x explains each one.
EOF

# Maintainer scripts, as dh_installsystemd writes them (deb-systemd-helper
# for the enablement and its state, deb-systemd-invoke for start, restart
# and stop, both honouring policy-rc.d), around dockward's own steps: the
# system user, the docker group, the journal catalog and Podman's socket.
# Nothing touches a running systemd unless it is PID 1 and the package is
# installed into the running system (no DPKG_ROOT): in a chroot, an image
# build or a container they do the rest and leave services alone.
cat > "$PKG/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if command -v journalctl >/dev/null 2>&1; then
        journalctl --update-catalog || true
    fi
    # The service's own system user (User=dockward in the unit). useradd,
    # not adduser: a minimal Debian has passwd but not adduser.
    if ! getent passwd dockward >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /var/lib/dockward \
            --shell /usr/sbin/nologin --comment "dockward daemon" dockward
    fi
    # The engine's socket is root:docker 0660. Membership, not the unit's
    # SupplementaryGroups=, so a host without the group still runs the pids
    # watch; the engine link then says, once, why it cannot connect.
    if getent group docker >/dev/null 2>&1; then
        if ! id -nG dockward | tr ' ' '\n' | grep -qx docker; then
            usermod -a -G docker dockward
        fi
    else
        echo "dockward: no 'docker' group on this host: the pids watch runs; the host-control watch waits for the engine." >&2
        echo "dockward: once Docker is installed: usermod -aG docker dockward && systemctl restart dockward" >&2
    fi
fi
if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
    # Enabled on first install; on upgrades, new symlinks only if the unit
    # changed, and an administrator's disable is kept (was-enabled).
    deb-systemd-helper unmask 'dockward.service' >/dev/null || true
    if deb-systemd-helper --quiet was-enabled 'dockward.service'; then
        deb-systemd-helper enable 'dockward.service' >/dev/null || true
    else
        deb-systemd-helper update-state 'dockward.service' >/dev/null || true
    fi
    if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
        # Podman's API socket takes the group dockward from the drop-in
        # shipped for it (podman.socket.d/dockward.conf) when it is made
        # again: remade now where it is listening (try-restart: only when
        # active), so no reboot is needed.
        deb-systemd-invoke try-restart 'podman.socket' >/dev/null 2>&1 || true
        # Started on install; on upgrade restarted once, on the new binary
        # (prerm left it running). Its state directory keeps the open
        # episodes, so none is announced again.
        if [ -n "$2" ]; then
            _dh_action=restart
        else
            _dh_action=start
        fi
        deb-systemd-invoke $_dh_action 'dockward.service' >/dev/null || true
    fi
fi
exit 0
EOF

cat > "$PKG/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
# On upgrade the service keeps running; postinst restarts it on the new binary.
if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop 'dockward.service' >/dev/null || true
fi
exit 0
EOF

cat > "$PKG/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
case "$1" in
    remove|purge)
        if command -v journalctl >/dev/null 2>&1; then
            journalctl --update-catalog || true
        fi
        if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
            systemctl --system daemon-reload >/dev/null || true
            # Podman's socket back to its own group, now its drop-in is gone.
            if command -v deb-systemd-invoke >/dev/null 2>&1; then
                deb-systemd-invoke try-restart 'podman.socket' >/dev/null 2>&1 || true
            fi
        fi
        ;;
esac
if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null 2>&1; then
    # As dh_installsystemd: masked while only the conffile is left, so
    # nothing starts a service whose binary is gone.
    deb-systemd-helper mask 'dockward.service' >/dev/null || true
fi
if [ "$1" = purge ]; then
    if command -v deb-systemd-helper >/dev/null 2>&1; then
        deb-systemd-helper purge 'dockward.service' >/dev/null || true
        deb-systemd-helper unmask 'dockward.service' >/dev/null || true
    fi
    # The state file (StateDirectory=dockward).
    rm -rf /var/lib/dockward /var/lib/private/dockward
    # dpkg removes the conffile itself; these are its leftovers from upgrades.
    rm -f /etc/dockward/dockward.yml.dpkg-old /etc/dockward/dockward.yml.dpkg-dist \
        /etc/dockward/dockward.yml.dpkg-new /etc/dockward/dockward.yml.ucf-old
    rmdir /etc/dockward 2>/dev/null || true
    # The system user and its group, made by postinst for the service alone:
    # it owns nothing outside /var/lib/dockward (removed above), so no file
    # is left to a number a later user could get. Only the user postinst
    # made (its comment), never one an administrator made by that name.
    if getent passwd dockward 2>/dev/null | cut -d: -f5 | grep -qx 'dockward daemon'; then
        userdel dockward >/dev/null 2>&1 || true
        if getent group dockward >/dev/null 2>&1; then
            groupdel dockward >/dev/null 2>&1 || true
        fi
    fi
fi
exit 0
EOF
chmod 0755 "$PKG/DEBIAN/postinst" "$PKG/DEBIAN/prerm" "$PKG/DEBIAN/postrm"

(cd "$PKG" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
    > "$PKG/DEBIAN/md5sums"
chmod 0644 "$PKG/DEBIAN/control" "$PKG/DEBIAN/conffiles" "$PKG/DEBIAN/md5sums"

mkdir -p "$OUTDIR"
OUT="$(cd "$OUTDIR" && pwd)/dockward_${VERSION}_${ARCH}.deb"
# xz by default (Debian's); the tests pass gzip/1, which is much faster.
COMPRESS=(-Z"${DOCKWARD_DEB_COMPRESSION:-xz}")
[ -z "${DOCKWARD_DEB_COMPRESSION_LEVEL:-}" ] || COMPRESS+=(-z"$DOCKWARD_DEB_COMPRESSION_LEVEL")
dpkg-deb --build --root-owner-group "${COMPRESS[@]}" "$PKG" "$OUT" >/dev/null

# The debug symbols' package, as dh_strip and dh_gencontrol make it.
if [ "${DOCKWARD_DEB_DBGSYM:-1}" != 0 ]; then
    ln -s dockward "$DBGPKG/usr/share/doc/dockward-dbgsym"
    cat > "$DBGPKG/DEBIAN/control" <<EOF
Package: dockward-dbgsym
Source: dockward
Version: $VERSION
Auto-Built-Package: debug-symbols
Architecture: $ARCH
Maintainer: $MAINTAINER
Installed-Size: $(du -sk --exclude=DEBIAN "$DBGPKG" | cut -f1)
Depends: dockward (= $VERSION)
Section: debug
Priority: optional
Description: debug symbols for dockward
Build-Ids: $BUILD_ID
EOF
    (cd "$DBGPKG" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$DBGPKG/DEBIAN/md5sums"
    chmod 0644 "$DBGPKG/DEBIAN/control" "$DBGPKG/DEBIAN/md5sums"
    DBGOUT="$(cd "$OUTDIR" && pwd)/dockward-dbgsym_${VERSION}_${ARCH}.deb"
    dpkg-deb --build --root-owner-group "${COMPRESS[@]}" "$DBGPKG" "$DBGOUT" >/dev/null
    echo "build-deb: debug symbols in $DBGOUT" >&2
fi
# Last, so `ls -t OUTDIR/dockward_*.deb` finds the main package first.
touch "$OUT"
echo "$OUT"
