#!/usr/bin/env bash
# The package under a real systemd: boots a minimal Debian 12 (debootstrap
# --variant=minbase, systemd 252 as PID 1) under systemd-nspawn, installs the
# .deb there as a first install would, and checks the service for real.
#
#   scripts/systemd-test.sh DEB            # runs every check; exit 0 when all pass
#   scripts/systemd-test.sh --prepare      # only builds the cached root tree
#
# The root tree is cached in $DOCKWARD_SYSTEMD_CACHE (/var/cache/dockward-test),
# keyed by what it holds (suite, variant, packages, mirror, architecture), so
# only the first run pays for debootstrap; each run boots a fresh copy of it.
# The mirror is the machine's own (its apt sources), never a fixed host name.
#
# The guest gets the private test engine's socket (DOCKWARD_TEST_DOCKER_SOCKET,
# started by scripts/test-services.sh): its folder at the same path, and
# /run/docker.sock (so /var/run/docker.sock, where the packaged config
# looks) a symlink to it. --private-network: the guest has only a loopback
# (nothing it runs can leave it), and its systemd may set up the unit's
# PrivateNetwork=, as on a real host. Two containers made on the host
# before the boot (--network none, local/busybox:test) mount the socket
# through a symlink under /tmp and through a symlink in a 0700 folder; the
# guest makes the same paths, as the host's own view, so the daemon in the
# guest must see what the engine sees.
#
# Output: one "PASS <check>: <what it printed>" or "FAIL ..." line per check,
# then "systemd-test: N passed, M failed (S s)". Exit 0 when every check
# passed, 1 when one failed. A missing prerequisite (root, the test engine,
# its image) fails with CI set (and not "false"/"0"), and skips (exit 77)
# otherwise.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
SOCK=${DOCKWARD_TEST_DOCKER_SOCKET:-/run/dockward-test/docker.sock}
CACHE_DIR=${DOCKWARD_SYSTEMD_CACHE:-/var/cache/dockward-test}
IMAGE=${DOCKWARD_TEST_IMAGE:-local/busybox:test}
SUITE=bookworm
# libyaml-0-2: the package depends on it (the system libyaml dockward links).
INCLUDE=systemd,systemd-sysv,dbus,libyaml-0-2
# The whole boot, checks included, must end within this.
BOOT_TIMEOUT=${DOCKWARD_SYSTEMD_TIMEOUT:-300}

NAME=systemd
. "$(dirname "$0")/test-prereq.sh"

[ "$(id -u)" = 0 ] || missing "must run as root (debootstrap, systemd-nspawn)"

install_tools() {
    local missing=()
    command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

. "$(dirname "$0")/apt-mirror.sh"

# Prints the path of the cached root tree, building it when missing.
cached_root() {
    local mirror arch key dir
    mirror=$(apt_mirror) || exit 1
    arch=$(dpkg --print-architecture)
    key=$(printf '%s\n' "suite=$SUITE" "variant=minbase" "include=$INCLUDE" "mirror=$mirror" "arch=$arch" \
        | sha256sum | cut -c1-16)
    dir="$CACHE_DIR/debian12-$key"
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.lock"
    flock 9
    if [ ! -f "$dir/.complete" ]; then
        log "debootstrap $SUITE (minbase, $INCLUDE) from $mirror into $dir (once; cached)"
        rm -rf "$dir.tmp"
        if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$dir.tmp/root" "$mirror" \
                >"$CACHE_DIR/debootstrap.log" 2>&1; then
            tail -20 "$CACHE_DIR/debootstrap.log" >&2
            rm -rf "$dir.tmp"
            die "debootstrap failed; see $CACHE_DIR/debootstrap.log"
        fi
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
        touch "$dir/.complete"
    fi
    exec 9>&-
    echo "$dir/root"
}

install_tools
if [ "${1:-}" = --prepare ]; then
    cached_root
    exit 0
fi
[ $# -eq 1 ] || { echo "usage: $0 DEB | --prepare" >&2; exit 2; }
DEB=$(readlink -f "$1")
[ -f "$DEB" ] || die "no package at $1"
[ -S "$SOCK" ] || missing "no test engine at $SOCK (scripts/test-services.sh start)"
export DOCKER_HOST="unix://$SOCK"
docker image inspect "$IMAGE" >/dev/null 2>&1 || missing "no $IMAGE in the test engine (scripts/test-services.sh start)"

START=$(date +%s)
CACHED=$(cached_root)
ID=$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
WORK=/var/tmp/dockward-systemd-$ID
GUEST=$WORK/root
TMP_DIR=/tmp/dockward-systemd-$ID
LOCKED_DIR=/srv/dockward-systemd-$ID
CONTAINERS=()

cleanup() {
    for c in "${CONTAINERS[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
    [ -z "${VOLUME:-}" ] || docker volume rm -f "$VOLUME" >/dev/null 2>&1 || true
    rm -rf "$WORK" "$TMP_DIR" "$LOCKED_DIR"
}
trap cleanup EXIT

mkdir -p "$WORK"
cp -a "$CACHED" "$GUEST"
mkdir -p "$GUEST/dockward-test"
cp "$DEB" "$GUEST/dockward-test/dockward.deb"
# The upgrade's starting point: this package's own binary packed under a
# lower version (no second Swift build).
NEW_VERSION=$(dpkg-deb -f "$DEB" Version)
OLD_VERSION=${DOCKWARD_OLD_VERSION:-0.0.9}
dpkg --compare-versions "$OLD_VERSION" lt "$NEW_VERSION" || die "DOCKWARD_OLD_VERSION $OLD_VERSION is not below $NEW_VERSION"
mkdir -p "$WORK/old"
dpkg-deb -x "$DEB" "$WORK/old/tree"
OLD_DEB=$(DOCKWARD_DEB_VERSION=$OLD_VERSION DOCKWARD_DEB_DBGSYM=0 DOCKWARD_DEB_COMPRESSION=gzip DOCKWARD_DEB_COMPRESSION_LEVEL=1 \
    "$ROOT_DIR/scripts/build-deb.sh" "$WORK/old/tree/usr/bin/dockward" "$WORK/old") || die "could not pack the binary as $OLD_VERSION"
cp "$OLD_DEB" "$GUEST/dockward-test/dockward-old.deb"
install -m 0755 "$ROOT_DIR/scripts/systemd-test-guest.sh" "$GUEST/dockward-test/check.sh"
# A real Alertmanager for the guest (Go binaries that need only libc), so the
# push is checked under the shipped unit and its drop-in.
for tool in prometheus-alertmanager amtool; do
    if command -v "$tool" >/dev/null; then install -m 0755 "$(command -v "$tool")" "$GUEST/dockward-test/$tool"; fi
done
# Its notification templates, which it will not start without.
for template in /usr/share/prometheus/alertmanager/*.tmpl; do
    if [ -f "$template" ]; then install -D -m 0644 "$template" "$GUEST$template"; fi
done

# The host's side of the two exposure cases: the engine resolves these.
# The guest gets the socket's folder (not the socket file: an engine
# restarted meanwhile makes a new socket there) at the same path.
GUEST_SOCK=$SOCK
SOCK_DIR=$(dirname "$SOCK")
mkdir -p "$TMP_DIR"
ln -s "$SOCK" "$TMP_DIR/docker.sock"
install -d -m 0700 "$LOCKED_DIR"
ln -s "$SOCK" "$LOCKED_DIR/docker.sock"
CONTAINERS=("dockward-systemd-tmp-$ID" "dockward-systemd-locked-$ID")
run_container() { # NAME SOURCE: prints the container's full id
    docker run -d --network none --name "$1" -v "$2:/var/run/docker.sock" "$IMAGE" sleep 600
}
TMP_CONTAINER=$(run_container "${CONTAINERS[0]}" "$TMP_DIR/docker.sock")
LOCKED_CONTAINER=$(run_container "${CONTAINERS[1]}" "$LOCKED_DIR/docker.sock")
# Host control beyond a bind: a named volume that binds the socket's folder
# (read by the daemon through GET /volumes) and a privileged container
# (created only: it cannot start on every machine).
VOLUME=dockward-systemd-vol-$ID
docker volume create --driver local --opt type=none --opt o=bind --opt "device=$SOCK_DIR" "$VOLUME" >/dev/null
CONTAINERS+=("dockward-systemd-volume-$ID" "dockward-systemd-privileged-$ID")
VOLUME_CONTAINER=$(docker create --network none --name "${CONTAINERS[2]}" -v "$VOLUME:/x" "$IMAGE" sleep 600)
PRIVILEGED_CONTAINER=$(docker create --network none --name "${CONTAINERS[3]}" --privileged "$IMAGE" sleep 600)

cat > "$GUEST/dockward-test/env" <<EOF
SOCK_GID=$(stat -c %g "$SOCK")
GUEST_SOCK=$GUEST_SOCK
TMP_DIR=$TMP_DIR
LOCKED_DIR=$LOCKED_DIR
TMP_CONTAINER=$TMP_CONTAINER
LOCKED_CONTAINER=$LOCKED_CONTAINER
VOLUME=$VOLUME
VOLUME_CONTAINER=$VOLUME_CONTAINER
PRIVILEGED_CONTAINER=$PRIVILEGED_CONTAINER
OLD_VERSION=$OLD_VERSION
NEW_VERSION=$NEW_VERSION
EOF

# The checks run at boot from a oneshot unit, which powers the machine off.
cat > "$GUEST/etc/systemd/system/dockward-test.service" <<'EOF'
[Unit]
Description=dockward package checks
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/dockward-test/check.sh
TimeoutStartSec=infinity
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/dockward-test.service "$GUEST/etc/systemd/system/multi-user.target.wants/dockward-test.service"

log "booting Debian 12 under systemd-nspawn (at most ${BOOT_TIMEOUT}s)"
BOOT_START=$(date +%s)
set +e
timeout --kill-after=10 "$BOOT_TIMEOUT" systemd-nspawn -q -D "$GUEST" --boot --register=no --keep-unit \
    --console=read-only --machine="dockward-test-$ID" --private-network \
    --bind="$SOCK_DIR:$SOCK_DIR:norbind" \
    </dev/null >"$WORK/console.log" 2>&1
nspawn_rc=$?
set -e
BOOT_END=$(date +%s)

RESULTS=$GUEST/dockward-test/results.txt
if [ ! -f "$RESULTS" ] || ! grep -q '^DONE' "$RESULTS"; then
    log "the guest did not finish its checks (systemd-nspawn exit $nspawn_rc); console:"
    tail -40 "$WORK/console.log" >&2 || true
    [ ! -f "$RESULTS" ] || cat "$RESULTS"
    [ ! -f "$GUEST/dockward-test/journal.txt" ] || tail -60 "$GUEST/dockward-test/journal.txt" >&2
    echo "FAIL boot: the guest did not finish (systemd-nspawn exit $nspawn_rc)"
    echo "systemd-test: 0 passed, 1 failed ($(( $(date +%s) - START )) s)"
    exit 1
fi
grep -v '^DONE' "$RESULTS"
passed=$(grep -c '^PASS' "$RESULTS" || true)
failed=$(grep -c '^FAIL' "$RESULTS" || true)
if [ "$failed" != 0 ]; then
    log "guest journal (last 80 lines):"
    tail -80 "$GUEST/dockward-test/journal.txt" >&2 || true
fi
echo "systemd-test: $passed passed, $failed failed ($(( $(date +%s) - START )) s, boot and checks $(( BOOT_END - BOOT_START )) s)"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
