#!/bin/bash
# Builds dockward's container image on the engine `docker` talks to
# (DOCKER_HOST is honoured), with no registry:
#
#   scripts/build-image.sh BINARY [TAG]      # make image does this
#
# BINARY: the release binary built with --static-swift-stdlib (it then needs
# only Debian's libc, libstdc++, libgcc, zlib, libyaml and libsystemd). TAG: default
# dockward:<version> (Sources/DockwardCore/Version.swift).
#
# The base is made from the machine's own apt mirror: a Debian 12 minbase
# tree (debootstrap, cached in $DOCKWARD_IMAGE_CACHE, /var/cache/dockward-test,
# so only the first build pays for it), from which only the shared libraries
# the binary needs (its NEEDED entries, and theirs), the dynamic loader, and
# those packages' copyright files are taken: no shell, no package manager.
# That tree is imported (`docker import`) as dockward-base:<key>, and
# packaging/image/Dockerfile adds the binary (debug info stripped, as the
# .deb does), the default config and the journal catalog.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
CACHE_DIR=${DOCKWARD_IMAGE_CACHE:-/var/cache/dockward-test}
SUITE=bookworm
NAME=image
. "$(dirname "$0")/test-prereq.sh"
log() { printf 'build-image: %s\n' "$*" >&2; }
. "$(dirname "$0")/apt-mirror.sh"

[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 BINARY [TAG]" >&2; exit 2; }
BINARY=$(readlink -f "$1")
[ -x "$BINARY" ] || die "no binary at $1"
VERSION=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' "$ROOT_DIR/Sources/DockwardCore/Version.swift")
[ -n "$VERSION" ] || die "no version in Sources/DockwardCore/Version.swift"
TAG=${2:-dockward:$VERSION}

if readelf -d "$BINARY" | grep -q 'NEEDED.*libswiftCore'; then
    die "$BINARY loads the Swift runtime from the toolchain: build it with --static-swift-stdlib (make image does)"
fi
command -v docker >/dev/null || die "no docker client"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no engine answers at ${DOCKER_HOST:-the default socket}"
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap)"
if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The cached minbase tree: Debian's own build of every library taken.
mirror=$(apt_mirror)
arch=$(dpkg --print-architecture)
# libyaml-0-2: the one library the binary needs that minbase lacks.
INCLUDE=libyaml-0-2
key=$(printf '%s\n' "suite=$SUITE" "variant=minbase" "include=$INCLUDE" "mirror=$mirror" "arch=$arch" | sha256sum | cut -c1-16)
TREE="$CACHE_DIR/image-$SUITE-$key"
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.image.lock"
flock 9
if [ ! -f "$TREE/.complete" ]; then
    log "debootstrap $SUITE (minbase, $INCLUDE) from $mirror into $TREE (once; cached)"
    rm -rf "$TREE.tmp"
    if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$TREE.tmp/root" "$mirror" >"$CACHE_DIR/debootstrap-image.log" 2>&1; then
        tail -20 "$CACHE_DIR/debootstrap-image.log" >&2
        rm -rf "$TREE.tmp"
        die "debootstrap failed; see $CACHE_DIR/debootstrap-image.log"
    fi
    rm -rf "$TREE"
    mv "$TREE.tmp" "$TREE"
    touch "$TREE/.complete"
fi
exec 9>&-
TREE="$TREE/root"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
BASE="$WORK/base"
mkdir -p "$BASE"/{etc,tmp,var/lib/dockward,usr/share/doc,run} "$BASE/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"
chmod 1777 "$BASE/tmp"

# Finds a library by its soname in the tree's library folders.
find_lib() {
    local dir
    for dir in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 lib usr/lib; do
        [ -e "$TREE/$dir/$1" ] && { echo "$dir/$1"; return 0; }
    done
    return 1
}

# The binary's libraries and theirs, each copied (symlinks resolved) under
# the same path as in the tree, with its package's copyright file.
declare -A seen=()
pending=($(readelf -d "$BINARY" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'))
while [ ${#pending[@]} -gt 0 ]; do
    lib=${pending[0]}
    pending=("${pending[@]:1}")
    [ -z "${seen[$lib]:-}" ] || continue
    seen[$lib]=1
    rel=$(find_lib "$lib") || die "$lib (needed by the binary) is not in the $SUITE tree"
    mkdir -p "$BASE/$(dirname "$rel")"
    cp -L "$TREE/$rel" "$BASE/$rel"
    pkg=$(chroot "$TREE" dpkg -S "/$rel" 2>/dev/null | head -n1 | cut -d: -f1) || true
    if [ -z "$pkg" ]; then
        real=$(readlink -f "$TREE/$rel"); real=${real#"$TREE"}
        pkg=$(chroot "$TREE" dpkg -S "$real" 2>/dev/null | head -n1 | cut -d: -f1) || true
    fi
    if [ -n "$pkg" ] && [ -f "$TREE/usr/share/doc/$pkg/copyright" ]; then
        mkdir -p "$BASE/usr/share/doc/$pkg"
        cp "$TREE/usr/share/doc/$pkg/copyright" "$BASE/usr/share/doc/$pkg/copyright"
    fi
    pending+=($(readelf -d "$TREE/$rel" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'))
done
# The loader, at the path the binary's PT_INTERP names.
interp=$(readelf -l "$BINARY" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
mkdir -p "$BASE/$(dirname "$interp")"
cp -L "$TREE$interp" "$BASE$interp"
# Names for uid 0 and nobody (ls -n shows the rest); no login, no shell.
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$BASE/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$BASE/etc/group"
cp "$TREE/etc/os-release" "$BASE/etc/os-release" 2>/dev/null || cp "$TREE/usr/lib/os-release" "$BASE/etc/os-release"

BASE_TAG="dockward-base:$SUITE-$(tar -C "$BASE" --sort=name --mtime=@0 --owner=0 --group=0 -c . | sha256sum | cut -c1-12)"
if ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
    log "importing $BASE_TAG ($(du -sh "$BASE" | cut -f1))"
    tar -C "$BASE" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c . | docker import - "$BASE_TAG" >/dev/null
fi

CONTEXT="$WORK/context"
mkdir -p "$CONTEXT"
install -m 0755 "$BINARY" "$CONTEXT/dockward"
# Symbols too (a third of the size): a crash backtrace shows addresses;
# the .deb keeps them.
strip --strip-all "$CONTEXT/dockward"
install -m 0644 "$ROOT_DIR/config/dockward.yml" "$CONTEXT/dockward.yml"
install -m 0644 "$ROOT_DIR/packaging/dockward.catalog" "$CONTEXT/dockward.catalog"
cp "$ROOT_DIR/packaging/image/Dockerfile" "$CONTEXT/Dockerfile"
log "building $TAG on ${DOCKER_HOST:-the default engine}"
# The classic builder: the engine's own, no BuildKit component needed.
DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$BASE_TAG" \
    --label "org.opencontainers.image.title=dockward" \
    --label "org.opencontainers.image.version=$VERSION" \
    -t "$TAG" "$CONTEXT" >/dev/null 2>"$WORK/build.log" || { cat "$WORK/build.log" >&2; die "docker build failed"; }
log "built $TAG: $(docker image inspect --format '{{.Size}}' "$TAG" | awk '{ printf "%.1f MB", $1 / 1e6 }')"
