#!/bin/bash
# dockward's image under the real private engine, run by its own Compose
# file (packaging/compose/compose.yml, every documented mount), checked from
# the host's journal:
#
#   scripts/image-test.sh IMAGE HOST_DOCKWARD      # make test-image does this
#
# IMAGE: the tag `make image` built; HOST_DOCKWARD: the same build's binary,
# for `dockward alerts` on the host. Then, beside it: a container mounting
# the engine's socket (socket-mount), a fork bomb under --pids-limit 50
# (pids-exhausted, forks refused), a container without a limit running a
# bounded workload of 100 tasks (pids-unlimited). Each entry must come from
# the containerized daemon (journald's _PID is its main process), and
# `dockward alerts` on the host must list them as trusted; its own container
# gets one self-exempt entry and no socket-mount, in the host's cgroup
# namespace (the Compose file's) and in a private one. Prints "image-test: ok:
# ..." per check; a missing prerequisite fails in CI, skips (77) elsewhere.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
SOCK=${DOCKWARD_TEST_DOCKER_SOCKET:-/run/dockward-test/docker.sock}
BUSYBOX=${DOCKWARD_TEST_IMAGE:-local/busybox:test}
COMPOSE=${DOCKWARD_TEST_COMPOSE:-/var/cache/dockward-test/compose-v2/usr/libexec/docker/cli-plugins/docker-compose}
TIMEOUT=${DOCKWARD_IMAGE_TEST_TIMEOUT:-30}
NAME=image
. "$(dirname "$0")/test-prereq.sh"

[ $# -eq 2 ] || { echo "usage: $0 IMAGE HOST_DOCKWARD" >&2; exit 2; }
IMAGE=$1
HOST_DOCKWARD=$(readlink -f "$2")
[ "$(id -u)" = 0 ] || missing "must run as root (the host's journal, /dev/kmsg)"
[ -S "$SOCK" ] || missing "no test engine at $SOCK (scripts/test-services.sh start)"
[ -x "$COMPOSE" ] || missing "no docker compose at $COMPOSE (scripts/test-services.sh start installs it)"
command -v journalctl >/dev/null || missing "no journalctl"
[ -S /run/systemd/journal/socket ] || missing "no journald (scripts/test-services.sh start)"
export DOCKER_HOST="unix://$SOCK"
docker image inspect "$IMAGE" >/dev/null 2>&1 || die "no image $IMAGE on $SOCK (make image)"
docker image inspect "$BUSYBOX" >/dev/null 2>&1 || missing "no $BUSYBOX (scripts/test-services.sh start)"
[ -x "$HOST_DOCKWARD" ] || die "no dockward binary at $2"

PROJECT="dwimg$$"
SOCKNAME="$PROJECT-sock"; BOMB="$PROJECT-bomb"; OPEN="$PROJECT-open"
# On a cgroup v1 or hybrid host, the Compose file's override for it (each
# hierarchy bound read-only on its own; Docker before 25 leaves the
# controllers' mounts of a recursive bind writable).
COMPOSE_FILES=(-f "$ROOT_DIR/packaging/compose/compose.yml")
if [ -d /sys/fs/cgroup/pids ]; then
    COMPOSE_FILES+=(-f "$ROOT_DIR/packaging/compose/compose.cgroup-v1.yml")
fi

cleanup() {
    docker rm -f "$SOCKNAME" "$BOMB" "$OPEN" "$PROJECT-private" >/dev/null 2>&1 || true
    DOCKWARD_ENGINE_SOCKET="$SOCK" "$COMPOSE" -p "$PROJECT" "${COMPOSE_FILES[@]}" \
        down -v --timeout 10 >/dev/null 2>&1 || true
}
trap cleanup EXIT
ok() { log "ok: $*"; }
fail() { log "FAILED: $*"; log "the daemon said:"; docker logs --tail 40 "$DW" 2>&1 | cut -c1-300 >&2 || true; exit 1; }

# Journal entries of the containerized daemon (journald's _PID: its main
# process on the host), as one JSON object a line.
entries() { journalctl -q -o json --since "@$START" SYSLOG_IDENTIFIER=dockward _PID="$PID" "$@" 2>/dev/null || true; }
wait_for() {  # DESCRIPTION MATCH...
    local what=$1; shift
    local deadline=$(( $(date +%s) + TIMEOUT ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        [ -n "$(entries "$@" | head -n1)" ] && return 0
        sleep 0.5
    done
    fail "no $what entry within ${TIMEOUT}s"
}

START=$(date +%s)
# The Compose file's project name is fixed (dockward): a project of our own,
# so the test never touches an operator's; its image is ours.
tag=${IMAGE##*:}
DOCKWARD_ENGINE_SOCKET="$SOCK" DOCKWARD_VERSION="$tag" "$COMPOSE" -p "$PROJECT" \
    "${COMPOSE_FILES[@]}" up -d --no-build --pull never --quiet-pull >/dev/null 2>"/tmp/$PROJECT.log" \
    || { cat "/tmp/$PROJECT.log" >&2; die "compose up failed"; }
rm -f "/tmp/$PROJECT.log"
[ "${IMAGE%%:*}" = dockward ] || die "the Compose file runs dockward:<tag>; tag $IMAGE as dockward:<tag>"
DW=$(docker ps -q --no-trunc --filter "label=com.docker.compose.project=$PROJECT" --filter "label=com.docker.compose.service=dockward")
[ -n "$DW" ] || die "the dockward service did not start"
PID=$(docker inspect -f '{{.State.Pid}}' "$DW")
[ "$PID" -gt 0 ] || die "the dockward container has no main process"
wait_for daemon-started DOCKWARD_EVENT=daemon-started
ok "the containerized daemon started (container ${DW:0:12}, pid $PID on the host, $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.1f MB", $1 / 1e6 }'))"
caps=$(docker inspect -f '{{.HostConfig.CapDrop}} {{.HostConfig.CapAdd}} ro={{.HostConfig.ReadonlyRootfs}} pids={{.HostConfig.PidsLimit}}' "$DW")
ok "runs with $caps"
# Every mount it sees of the host's cgroup tree (the topmost at each mount
# point: mountinfo lists an over-mount after what it hides) is read-only.
rw=$(awk '$5 ~ "^/sys/fs/cgroup" { top[$5] = $6 } END { for (m in top) if (top[m] !~ /^ro(,|$)/) print m }' \
    "/proc/$PID/mountinfo" | sort | tr '\n' ' ')
[ -z "$rw" ] || fail "writable cgroup mounts in the container: $rw"
ok "every cgroup mount it sees is read-only ($(awk '$5 ~ "^/sys/fs/cgroup" { print $5 }' "/proc/$PID/mountinfo" | sort -u | wc -l) mount points)"

wait_for self-exempt DOCKWARD_ALERT=self-exempt CONTAINER_ID_FULL="$DW"
ok "self-exempt for its own container: $(entries DOCKWARD_ALERT=self-exempt | python3 -c 'import json,sys; e=json.loads(sys.stdin.readline()); print(e["PRIORITY"], e["SELF_CGROUP"], e["EXEMPTED_KINDS"])')"

docker run -d --name "$SOCKNAME" --network none --pids-limit 20 -v "$SOCK:/var/run/docker.sock" "$BUSYBOX" sleep 3600 >/dev/null
wait_for "socket-mount ($SOCKNAME)" DOCKWARD_ALERT=socket-mount CONTAINER_NAME="$SOCKNAME"
ok "socket-mount for $SOCKNAME"

# A fork bomb only ever under --pids-limit; in a subshell, so a refused
# fork cannot end the container.
docker run -d --name "$BOMB" --network none --pids-limit 50 "$BUSYBOX" \
    sh -c 'sleep 3600 & (b() { b | b & }; b); wait' >/dev/null
wait_for "pids-exhausted ($BOMB)" DOCKWARD_ALERT=pids-exhausted CONTAINER_NAME="$BOMB"
ok "pids-exhausted for $BOMB: $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_NAME="$BOMB" | python3 -c 'import json,sys; e=json.loads(sys.stdin.readline()); print("PIDS_MAX", e.get("PIDS_MAX"), "PIDS_REJECTED", e.get("PIDS_REJECTED"))')"
docker rm -f "$BOMB" >/dev/null

# Without a limit: a bounded workload (100 sleeping tasks), never a bomb.
docker run -d --name "$OPEN" --network none "$BUSYBOX" \
    sh -c 'i=0; while [ $i -lt 100 ]; do sleep 3600 & i=$((i+1)); done; wait' >/dev/null
wait_for "pids-unlimited ($OPEN)" DOCKWARD_ALERT=pids-unlimited CONTAINER_NAME="$OPEN"
ok "pids-unlimited for $OPEN"

# Its own container: never a socket-mount (nor unresolved), whatever came since.
sleep 2
own=$(entries CONTAINER_ID_FULL="$DW" | python3 -c 'import json,sys; print(" ".join(sorted({json.loads(l).get("DOCKWARD_ALERT","") for l in sys.stdin} - {""})))')
[ "$own" = self-exempt ] || fail "entries about its own container: '$own' (want only self-exempt)"
ok "its own container: only self-exempt"

# The host reads them, as trusted: journald's _UID=0 vouches for them.
since=$(date -d "@$START" '+%Y-%m-%d %H:%M:%S')
listed=$("$HOST_DOCKWARD" alerts --since "$since" --json | python3 -c '
import json, sys
want = {"'"$SOCKNAME"'": "socket-mount", "'"$BOMB"'": "pids-exhausted", "'"$OPEN"'": "pids-unlimited", "'"${DW:0:12}"'": "self-exempt"}
seen = set()
for line in sys.stdin:
    e = json.loads(line)
    for key in (e.get("container", ""), e.get("container_id", "")):
        if e.get("trusted") is True and want.get(key) == e.get("kind"): seen.add(key)
print(" ".join(sorted(want[k] for k in seen)) if seen == set(want) else "missing: " + " ".join(sorted(set(want) - seen)))')
case $listed in missing:*) fail "dockward alerts on the host: $listed" ;; esac
ok "dockward alerts on the host lists: $listed"

# In a private cgroup namespace (as containerd gives a Kubernetes pod on
# cgroup v2), /proc/self/cgroup names nothing: the daemon finds its own
# container by its pid in cgroup.procs of the host's tree.
PRIV="$PROJECT-private"
docker run -d --name "$PRIV" --network none --cgroupns private --read-only --cap-drop ALL \
    --security-opt no-new-privileges --pids-limit 256 -e DOCKER_HOST="unix://$SOCK" \
    -v "$SOCK:$SOCK:ro" -v /sys/fs/cgroup:/sys/fs/cgroup:ro -v /run/systemd/journal:/run/systemd/journal:ro \
    "$IMAGE" >/dev/null
DW=$PRIV
PID=$(docker inspect -f '{{.State.Pid}}' "$PRIV")
PRIV_ID=$(docker inspect -f '{{.Id}}' "$PRIV")
wait_for "self-exempt (private cgroup namespace)" DOCKWARD_ALERT=self-exempt CONTAINER_ID_FULL="$PRIV_ID"
[ -z "$(entries DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$PRIV_ID" | head -n1)" ] \
    || fail "a socket-mount about its own container in a private cgroup namespace"
ok "private cgroup namespace: self-exempt, by its pid in cgroup.procs"
docker rm -f "$PRIV" >/dev/null
log "passed"
