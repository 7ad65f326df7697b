#!/usr/bin/env bash
# Builds dockward_<version>_<arch>.deb from a built dockward binary.
#
#   scripts/build-deb.sh BINARY OUTDIR      # prints the .deb's path
#
# `make deb` builds the release binary with the Swift runtime linked in
# statically (--static-swift-stdlib) and calls this. The package holds:
#   /usr/bin/dockward
#   /lib/systemd/system/dockward.service
#   /etc/dockward/dockward.yml                  (conffile, from config/)
#   /usr/lib/systemd/catalog/dockward.catalog   (journalctl -x explanations)
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
# Depends: libsystemd0, passwd (postinst makes the system user dockward) plus the Debian packages owning every other shared
# library the binary links (readelf's NEEDED, located by ldd, owner by dpkg -S).
#
# A binary that loads the Swift runtime from a toolchain (/opt/swift, e.g. a
# debug build) only runs where that toolchain is installed: refused unless
# DOCKWARD_DEB_ALLOW_SHARED_SWIFT=1 (the packaging tests set it).
# DOCKWARD_DEB_COMPRESSION (xz, gzip, zstd, none) and
# DOCKWARD_DEB_COMPRESSION_LEVEL pass through to dpkg-deb -Z / -z.
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

VERSION=$(sed -n 's/.*static let current = "\([^"]*\)".*/\1/p' "$ROOT_DIR/Sources/DockwardCore/Version.swift")
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+([~+.-][A-Za-z0-9.+~-]*)?$ ]] \
    || die "no usable version in Sources/DockwardCore/Version.swift (got '$VERSION')"
ARCH=$(dpkg --print-architecture)

# Shared libraries the binary names itself (DT_NEEDED), located the way the
# loader does (ldd): each must come from a Debian package (it becomes a
# dependency), except the Swift runtime's when explicitly allowed.
command -v readelf >/dev/null || die "readelf not found (apt-get install binutils)"
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
DEPENDS_LINE=$(printf '%s\n' "${!DEPENDS[@]}" | sort | paste -sd, - | sed 's/,/, /g')

umask 022
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PKG=$WORK/root

install -d -m 0755 "$PKG/DEBIAN" "$PKG/usr/bin" "$PKG/lib/systemd/system" "$PKG/etc/dockward" \
    "$PKG/usr/lib/systemd/catalog" "$PKG/usr/share/doc/dockward"
install -m 0755 "$BINARY" "$PKG/usr/bin/dockward"
# DWARF debug info is most of a Swift binary's size; the symbol table stays,
# so a crash backtrace still names functions.
if command -v strip >/dev/null; then
    strip --strip-debug "$PKG/usr/bin/dockward"
fi
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

# Maintainer scripts. systemctl only where systemd is PID 1
# ([ -d /run/systemd/system ]); in a chroot, a container or a machine booted
# without systemd they do nothing but the catalog update.
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
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        # Podman's API socket takes the group dockward from the drop-in
        # shipped for it (podman.socket.d/dockward.conf) when it is made
        # again: remade now where it is listening, so no reboot is needed.
        if systemctl is-active --quiet podman.socket 2>/dev/null; then
            systemctl restart podman.socket || true
        fi
        systemctl enable dockward.service || true
        # --no-block: dpkg does not wait for the daemon's READY=1.
        if [ -z "$2" ]; then
            systemctl start --no-block dockward.service || true
        else
            systemctl try-restart --no-block dockward.service || true
        fi
    fi
fi
exit 0
EOF

cat > "$PKG/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
# On upgrade the service keeps running; postinst restarts it on the new binary.
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl stop dockward.service || true
    systemctl disable dockward.service || true
fi
exit 0
EOF

cat > "$PKG/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
case "$1" in
    remove|purge)
        # What `systemctl enable` made, should it have outlived the unit
        # (systemd not running at remove time).
        if [ -L /etc/systemd/system/multi-user.target.wants/dockward.service ]; then
            rm -f /etc/systemd/system/multi-user.target.wants/dockward.service
        fi
        if command -v journalctl >/dev/null 2>&1; then
            journalctl --update-catalog || true
        fi
        if [ -d /run/systemd/system ]; then
            systemctl daemon-reload || true
            # Podman's socket back to its own group, now its drop-in is gone.
            if systemctl is-active --quiet podman.socket 2>/dev/null; then
                systemctl restart podman.socket || true
            fi
        fi
        ;;
esac
if [ "$1" = purge ]; then
    # The state file (StateDirectory=dockward). The system user stays, as
    # Debian leaves them: files it owned elsewhere keep a known owner.
    rm -rf /var/lib/dockward /var/lib/private/dockward
    # dpkg removes the conffile itself; these are its leftovers from upgrades.
    rm -f /etc/dockward/dockward.yml.dpkg-old /etc/dockward/dockward.yml.dpkg-dist \
        /etc/dockward/dockward.yml.dpkg-new /etc/dockward/dockward.yml.ucf-old
    rmdir /etc/dockward 2>/dev/null || true
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
echo "$OUT"
