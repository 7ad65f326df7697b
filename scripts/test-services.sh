#!/usr/bin/env bash
# Installs and starts what dockward's tests need on a fresh Debian machine:
# a private Docker engine (never the host's /var/run/docker.sock), journald,
# a private rootful Podman with its Docker-compatible API on its own socket
# (never /run/podman/podman.sock), and a tiny local image built from busybox
# in both (nothing can be pulled here).
#
#   scripts/test-services.sh start   # idempotent
#   scripts/test-services.sh stop
#   scripts/test-services.sh env     # prints the variables tests read
set -euo pipefail

STATE_DIR=${DOCKWARD_TEST_STATE:-/run/dockward-test}
SOCK="$STATE_DIR/docker.sock"
IMAGE=local/busybox:test
PODMAN_SOCK="$STATE_DIR/podman.sock"
# Podman as it runs here (no systemd as PID 1, pids on cgroup v1): the
# cgroupfs manager, runc, events in a file the API service and the CLI share,
# storage of its own under the state folder.
PODMAN=(podman --root "$STATE_DIR/podman/root" --runroot "$STATE_DIR/podman/run" --cgroup-manager=cgroupfs
        --runtime runc --events-backend file)

log() { printf 'test-services: %s\n' "$*" >&2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        log "must run as root (it starts dockerd and journald)"; exit 1
    fi
}

install_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    [ -x /bin/busybox ] || missing+=(busybox-static)
    [ -x /lib/systemd/systemd-journald ] || missing+=(systemd)
    command -v journalctl >/dev/null || missing+=(systemd)
    pkg-config --exists libsystemd 2>/dev/null || missing+=(libsystemd-dev pkg-config)
    pkg-config --exists yaml-0.1 2>/dev/null || missing+=(libyaml-dev pkg-config)
    # promtool checks the metrics exposition and the alerting rules;
    # systemd-journal-remote/-upload test journal forwarding.
    command -v promtool >/dev/null || missing+=(prometheus)
    # A real Alertmanager (and amtool) receives the alerts dockward pushes;
    # openssl makes the certificates of its HTTPS tests.
    command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
    command -v openssl >/dev/null || missing+=(openssl)
    [ -x /lib/systemd/systemd-journal-remote ] || missing+=(systemd-journal-remote)
    command -v dpkg-deb >/dev/null || missing+=(dpkg)
    # Podman 4.3 and its Docker-compatible API (crun and conmon besides).
    command -v podman >/dev/null || missing+=(podman crun conmon)
    command -v curl >/dev/null || missing+=(curl)
    # Compose v2 (fetch_compose_v2) is checked against the archive's
    # signature with these.
    command -v gpgv >/dev/null || missing+=(gpgv)
    [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
    command -v xz >/dev/null || missing+=(xz-utils)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq
        # policy-rc.d keeps package scripts from starting services (the
        # prometheus and prometheus-alertmanager packages would start
        # servers) on machines without systemd.
        local own_policy=
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
            own_policy=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
    fi
}

start_journald() {
    if pgrep -x systemd-journal >/dev/null || pgrep -f /lib/systemd/systemd-journald >/dev/null; then
        return
    fi
    log "starting systemd-journald"
    mkdir -p /run/systemd/journal /var/log/journal
    setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 50); do
        [ -S /run/systemd/journal/socket ] && return
        sleep 0.1
    done
    log "journald did not come up"; exit 1
}

engine_up() { [ -S "$SOCK" ] && DOCKER_HOST="unix://$SOCK" docker version >/dev/null 2>&1; }

start_dockerd() {
    if engine_up; then return; fi
    # A pid file left by a dockerd that died would stop the new one.
    if [ -f "$STATE_DIR/docker.pid" ] && ! kill -0 "$(cat "$STATE_DIR/docker.pid")" 2>/dev/null; then
        rm -f "$STATE_DIR/docker.pid"
    fi
    log "starting a private dockerd on $SOCK"
    mkdir -p "$STATE_DIR/data" "$STATE_DIR/exec"
    setsid dockerd --host "unix://$SOCK" --data-root "$STATE_DIR/data" --exec-root "$STATE_DIR/exec" \
        --pidfile "$STATE_DIR/docker.pid" --bridge=none --iptables=false --ip-masq=false \
        </dev/null >"$STATE_DIR/dockerd.log" 2>&1 &
    for _ in $(seq 1 150); do
        engine_up && return
        sleep 0.2
    done
    log "dockerd did not come up; see $STATE_DIR/dockerd.log"; tail -20 "$STATE_DIR/dockerd.log" >&2; exit 1
}

build_image() {
    if DOCKER_HOST="unix://$SOCK" docker image inspect "$IMAGE" >/dev/null 2>&1; then return; fi
    log "building $IMAGE from busybox"
    local rootfs
    rootfs=$(mktemp -d)
    mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/etc"
    cp /bin/busybox "$rootfs/bin/busybox"
    for tool in sh sleep cat echo ls ps true false kill seq wc; do ln -s busybox "$rootfs/bin/$tool"; done
    tar -C "$rootfs" -c . | DOCKER_HOST="unix://$SOCK" docker import - "$IMAGE" >/dev/null
    rm -rf "$rootfs"
}

podman_up() { [ -S "$PODMAN_SOCK" ] && curl -sf --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1; }

start_podman() {
    if podman_up; then return; fi
    log "starting a private Podman API service on $PODMAN_SOCK"
    mkdir -p "$STATE_DIR/podman"
    rm -f "$PODMAN_SOCK"
    setsid "${PODMAN[@]}" system service --time=0 "unix://$PODMAN_SOCK" </dev/null >"$STATE_DIR/podman.log" 2>&1 &
    echo $! > "$STATE_DIR/podman.pid"
    for _ in $(seq 1 100); do
        podman_up && break
        sleep 0.2
    done
    podman_up || { log "the Podman API service did not come up; see $STATE_DIR/podman.log"; tail -20 "$STATE_DIR/podman.log" >&2; exit 1; }
}

# The same image in Podman's storage, from the private engine's.
podman_image() {
    "${PODMAN[@]}" image exists "$IMAGE" && return
    log "loading $IMAGE into Podman"
    DOCKER_HOST="unix://$SOCK" docker save "$IMAGE" | "${PODMAN[@]}" load >/dev/null
}

stop_all() {
    local podman_pid
    podman_pid=$(cat "$STATE_DIR/podman.pid" 2>/dev/null || true)
    if [ -n "$podman_pid" ]; then kill "$podman_pid" 2>/dev/null || true; rm -f "$STATE_DIR/podman.pid"; fi
    local pid
    pid=$(cat "$STATE_DIR/docker.pid" 2>/dev/null || true)
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    # dockerd gives running containers 10 s to stop before it exits.
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        log "dockerd $pid did not stop in 30 s; killing it"
        kill -9 "$pid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$STATE_DIR/docker.pid"
}

. "$(dirname "$0")/apt-mirror.sh"

# A real Compose v2 implementation, Debian 13's docker-compose (the Go one,
# a static binary that runs on Debian 12): check-compose is compared with
# its `config`, and the corpus is deployed with it. Debian 12 packages only
# Compose 1.29, which reads files differently, so the package is taken from
# trixie's pool, checked against the signed release file, and unpacked
# into a cache once.
COMPOSE_V2_DIR=${DOCKWARD_TEST_CACHE:-/var/cache/dockward-test}/compose-v2
COMPOSE_V2="$COMPOSE_V2_DIR/usr/libexec/docker/cli-plugins/docker-compose"
fetch_compose_v2() {
    if [ -x "$COMPOSE_V2" ] && "$COMPOSE_V2" version >/dev/null 2>&1; then return; fi
    local mirror tmp filename sha
    mirror=$(apt_mirror) || exit 1
    tmp=$(mktemp -d)
    log "fetching Debian 13's docker-compose from $mirror into $COMPOSE_V2_DIR (once; cached)"
    curl -sSf -o "$tmp/InRelease" "$mirror/dists/trixie/InRelease"
    gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg --output "$tmp/Release" "$tmp/InRelease" 2>/dev/null \
        || { log "trixie's InRelease from $mirror is not signed by a Debian archive key"; rm -rf "$tmp"; exit 1; }
    curl -sSf -o "$tmp/Packages.xz" "$mirror/dists/trixie/main/binary-amd64/Packages.xz"
    sha=$(awk '/^SHA256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && $3 == "main/binary-amd64/Packages.xz" { print $1 }' "$tmp/Release")
    echo "$sha  $tmp/Packages.xz" | sha256sum -c --quiet - \
        || { log "trixie's Packages.xz does not match its signed checksum"; rm -rf "$tmp"; exit 1; }
    read -r filename sha < <(xz -dc "$tmp/Packages.xz" | awk '
        /^Package: / { p = ($2 == "docker-compose") } p && /^Filename: / { f = $2 } p && /^SHA256: / { s = $2 }
        /^$/ && f != "" { print f, s; exit }')
    [ -n "$filename" ] || { log "no docker-compose in trixie's Packages index"; rm -rf "$tmp"; exit 1; }
    curl -sSf -o "$tmp/compose.deb" "$mirror/$filename"
    echo "$sha  $tmp/compose.deb" | sha256sum -c --quiet - \
        || { log "$filename does not match its checksum in the index"; rm -rf "$tmp"; exit 1; }
    rm -rf "$COMPOSE_V2_DIR.tmp"
    dpkg-deb -x "$tmp/compose.deb" "$COMPOSE_V2_DIR.tmp"
    rm -rf "$COMPOSE_V2_DIR" && mv "$COMPOSE_V2_DIR.tmp" "$COMPOSE_V2_DIR"
    rm -rf "$tmp"
    "$COMPOSE_V2" version >/dev/null || { log "$COMPOSE_V2 does not run here"; exit 1; }
}

case "${1:-start}" in
    start) need_root; install_packages; fetch_compose_v2; start_journald; start_dockerd; build_image; start_podman; podman_image
           log "ready: DOCKWARD_TEST_DOCKER_SOCKET=$SOCK DOCKWARD_TEST_PODMAN_SOCKET=$PODMAN_SOCK image $IMAGE compose $COMPOSE_V2" ;;
    stop) stop_all ;;
    env) echo "DOCKWARD_TEST_DOCKER_SOCKET=$SOCK"; echo "DOCKWARD_TEST_PODMAN_SOCKET=$PODMAN_SOCK"
         echo "DOCKWARD_TEST_IMAGE=$IMAGE"; echo "DOCKWARD_TEST_COMPOSE=$COMPOSE_V2" ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
