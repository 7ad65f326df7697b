#!/bin/sh
# Runs inside each Debian guest that scripts/v2host-test.sh boots under QEMU
# (Debian 12 with systemd 252, Debian 13 with 257, testing), from a oneshot
# unit (After=docker.service), with systemd as PID 1, a cgroup v2 unified tree
# and the guest's own docker.io (systemd cgroup driver) and Podman. Installs
# the package as a first install would (the docker group exists: docker.io
# made it), runs containers of a local busybox image and checks dockward's
# journal entries; prints one PASS/FAIL line per check to the serial console
# (/dev/ttyS0, qemu's stdout), INFO lines, the journal's tail after a
# failure (JOURNAL lines), then DONE, and powers the machine off. The host
# script says the FAIL lines again at its end.
#
# Fork bombs run only in containers with a pids limit (theirs or a slice's);
# a container without one runs a bounded workload. Most bombs are bounded
# loops of `sleep 1000 &` that stop at the first refused fork, so the limit is
# hit for real and the machine's two emulated CPUs stay free.
set -u
IMAGE=local/busybox:test
# The lines, the timing, the journal and kernel helpers, finish.
. /dockward-test/guest-checks.sh
connected() { is_active && status_has "engine connected"; }
set_conf() { # KEY VALUE: the first "  KEY:" line of the config (VALUE may hold "/")
    sed -i "0,\\|^  $1: .*|s||  $1: $2|" "$CONF"
    grep -q "^  $1: $2\$" "$CONF" || info "set_conf $1 $2: not set"
}
run() { docker run -d --network none "$@" 2>&1; }
state_is() { [ "$(docker inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = "$2" ]; }
logged() { docker logs "$1" 2>&1 | grep -q "$2"; }
scope_of() { echo "$CG$(awk -F: '$1 == 0 { print $3 }' "/proc/$(docker inspect -f '{{.State.Pid}}' "$1")/cgroup")"; }
# Killed first: a shell as a container's PID 1 ignores SIGTERM, and the
# engine's stop at shutdown would wait 10 s for it.
before_poweroff() { docker kill $(docker ps -q) >/dev/null 2>&1; }

# --- The machine ----------------------------------------------------------------
info "booted: $(cut -d. -f1 /proc/uptime) s to the checks; kernel $(uname -r) ($(uname -v)); /sys/fs/cgroup is $(stat -fc %T $CG), controllers: $(cat $CG/cgroup.controllers)"
wait_for 60 docker info >/dev/null 2>&1
info "docker $(docker info -f 'server {{.ServerVersion}}, cgroup driver {{.CgroupDriver}}, cgroup version {{.CgroupVersion}}' 2>&1 | oneline); systemd $(systemctl --version | head -n1 | cut -d' ' -f2), DefaultTasksMax=$(systemctl show -p DefaultTasksMax --value)"
info "versions: $(. /etc/os-release; echo "$PRETTY_NAME"); $(dpkg-query -W -f '${Package} ${Version}, ' docker.io docker-cli containerd podman crun conmon systemd 2>/dev/null | sed 's/, $//')"

# The test image, built here from busybox-static.
mkdir -p "$DIR/rootfs/bin"
cp /bin/busybox "$DIR/rootfs/bin/busybox"
for applet in sh sleep cat echo ls ps kill true touch wc; do ln -sf busybox "$DIR/rootfs/bin/$applet"; done
tar -C "$DIR/rootfs" -c . | docker import - "$IMAGE" >/dev/null 2>&1 \
    || { fail image "docker import of busybox failed"; finish; }
# Podman's API socket, up before the install as on a host that runs it:
# the package's drop-in gives it the group dockward and its postinst
# restarts it. The same image in Podman's store.
systemctl start podman.socket 2>/dev/null
podman_before=$(stat -c '%U:%G %a' /run/podman/podman.sock 2>&1)
tar -C "$DIR/rootfs" -c . | podman import - "$IMAGE" >/dev/null 2>&1 || info "podman import of busybox failed"
mark boot-and-image
info "boot: $(systemd-analyze time 2>&1 | head -n1); slowest units: $(systemd-analyze blame --no-pager 2>/dev/null | head -n6 | awk '{ printf "%s%s %s", sep, $NF, $1; sep = ", " }')"

# --- A first install --------------------------------------------------------------
group=$(getent group docker)
start=$(now_usec)
install_out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$DIR/dockward.deb" 2>&1)
rc=$?
wait_for 30 connected
up=$?
[ "$rc" = 0 ] && [ -n "$group" ] && id -nG dockward | grep -qw docker && [ "$up" = 0 ]
verdict install $? "dpkg -i exit $rc (docker group before: ${group:-none}), dockward's groups: $(id -nG dockward 2>&1), $(prop ActiveState)/$(prop SubState) after $(ms $(( $(now_usec) - start ))) ms, STATUS=$(prop StatusText); postinst: $(echo "$install_out" | grep '^dockward:' | head -n1)"
[ "$rc" = 0 ] || finish
cp "$CONF" "$DIR/dockward.yml.orig"

# --- 1. refusal: seen from the kernel's word, not from polls ------------------------
mark install
set_conf poll_interval 30s
reload_dockward || fail reload "no config-reloaded entry after poll_interval 30s"
start=$(now_usec)
id=$(run --name v2-refusal --pids-limit 50 "$IMAGE" sh -c '(while :; do sleep 1000 & done); sleep 100000')
REFUSAL=$id
wait_for 20 has DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id"
sleep 2
n=$(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id")
max=$(field PIDS_MAX DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id")
t=$(first_usec DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id")
k=$(kline_usec "docker-$id.scope")
latency=$(( ${t:-0} - ${k:-0} ))
[ "$n" = 1 ] && [ "$max" = 50 ] && [ -n "$k" ] && [ -n "$t" ] && [ "$latency" -le 5000000 ]
verdict refusal $? "poll_interval 30s: $n pids-exhausted entry, PIDS_MAX=$max PIDS_REJECTED=$(field PIDS_REJECTED DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id"), $(ms "$latency") ms after the kernel's line ($(ms $(( ${t:-0} - start ))) ms after docker run began); kernel: $(kline_path "docker-$id.scope")"
set_conf poll_interval 1s
reload_dockward || fail reload "no config-reloaded entry after poll_interval 1s"
mark refusal

# --- The containers of checks 2 to 6, 10 and 11, started at once ----------------
# (the engine takes seconds per container under emulation). The forecast's
# leak runs while the others are judged; the one that dies at its limit does
# so at once. Check 11's is in acme.slice before that slice has a unit.
mkdir -p "$DIR/ids"
start_bg() { # NAME DOCKER-RUN-ARGS...: its id and the time docker run returned, in ids/NAME
    n=$1; shift
    ( c=$(run --name "$n" "$@"); echo "$c $(now_usec)" > "$DIR/ids/$n" ) &
}
cid() { cut -d' ' -f1 "$DIR/ids/$1"; }
ran_at() { cut -d' ' -f2 "$DIR/ids/$1"; }
# When the engine says the container started (µs).
started_usec() { echo $(( $(date -d "$(docker inspect -f '{{.State.StartedAt}}' "$1")" +%s%N) / 1000 )); }
start_bg v2-forecast --pids-limit 200 "$IMAGE" sh -c 'i=1; while [ $i -lt 190 ]; do sleep 1000 & i=$((i + 1)); sleep 0.1; done; echo done; sleep 100000'
start_bg v2-socket -v /var/run/docker.sock:/var/run/docker.sock "$IMAGE" sleep 100000
start_bg v2-run -v /run:/host-run "$IMAGE" sleep 100000
start_bg v2-unlimited "$IMAGE" sh -c 'i=0; while [ $i -lt 20 ]; do sleep 100000 & i=$((i + 1)); done; wait'
start_bg v2-update "$IMAGE" sleep 100000
start_bg v2-dies --pids-limit 30 "$IMAGE" sh -c 'while :; do sleep 1000 & done'
start_bg v2-parent-unlimited --cgroup-parent acme.slice "$IMAGE" sh -c 'i=0; while [ $i -lt 10 ]; do sleep 100000 & i=$((i + 1)); done; wait'
start_bg v2-subcgroup --pids-limit 50 "$IMAGE" sh -c 'trap "(while :; do sleep 1000 & done)" USR1; sleep 100000 & while :; do wait; done'
wait
FORECAST=$(cid v2-forecast)
forecast_start=$(ran_at v2-forecast)
SOCK=$(cid v2-socket)
RUNDIR=$(cid v2-run)
UPDATE=$(cid v2-update)
DIES=$(cid v2-dies)
mark start-batch

# --- 2. socket mounts -------------------------------------------------------------
wait_for 20 has DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$SOCK"
seen=$?
exposure=$(field EXPOSURE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$SOCK")
[ "$seen" = 0 ] && [ "$exposure" = direct ]
verdict socket $? "$(entries DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$SOCK") socket-mount entry, EXPOSURE=$exposure SOCKET_PATH=$(field SOCKET_PATH DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$SOCK") MOUNT_SOURCE=$(field MOUNT_SOURCE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$SOCK") PRIORITY=$(field PRIORITY DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$SOCK")"
wait_for 20 has DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$RUNDIR"
seen=$?
kinds=$(jx CONTAINER_ID_FULL="$RUNDIR" | sed -n 's/^DOCKWARD_ALERT=//p' | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
exposure=$(field EXPOSURE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$RUNDIR")
[ "$seen" = 0 ] && [ "$exposure" = parent-dir ]
verdict socket-folder $? "-v /run:/host-run: $kinds; socket-mount EXPOSURE=$exposure SOCKET_PATH=$(field SOCKET_PATH DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$RUNDIR") MOUNT_SOURCE=$(field MOUNT_SOURCE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$RUNDIR")"
mark socket

# --- 3. unlimited: systemd's DefaultTasksMax on the scope ---------------------------
id=$(cid v2-unlimited)
wait_for 15 has DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id"
scope=$(scope_of "$id")
source=$(field PIDS_MAX_SOURCE DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id")
max=$(field PIDS_MAX DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id")
scope_max=$(cat "$scope/pids.max" 2>&1)
t=$(first_usec DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id")
[ "$source" = inherited ] && [ -n "$max" ] && [ "$max" = "$scope_max" ]
verdict unlimited $? "pids-unlimited PIDS_MAX_SOURCE=$source PIDS_MAX=$max PIDS_MAX_ORIGIN=$(field PIDS_MAX_ORIGIN DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id"); ${scope#$CG}/pids.max=$scope_max, DefaultTasksMax=$(systemctl show -p DefaultTasksMax --value)$([ -n "$t" ] && echo "; $(ms $(( t - $(started_usec "$id") ))) ms after the engine's StartedAt")"
mark unlimited

# --- 5. update: a limit set on a running container ----------------------------------
wait_for 15 has DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$UPDATE"
docker update --pids-limit 40 v2-update >/dev/null 2>&1
scope=$(scope_of "$UPDATE")
scope_max=$(cat "$scope/pids.max")
docker exec v2-update sh -c 'while :; do sleep 1000 & done' >/dev/null 2>&1
wait_for 20 has DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$UPDATE"
sleep 1
max=$(field PIDS_MAX DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$UPDATE")
[ "$max" = 40 ]
verdict update $? "docker update --pids-limit 40 (pids.max $scope_max, pids.current $(cat "$scope/pids.current")), then a bomb by docker exec: $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$UPDATE") pids-exhausted entry, PIDS_MAX=$max; kernel: $(kline_path "docker-$UPDATE.scope")"
mark update

# --- 6. dies at its limit: the entry outlives the cgroup ----------------------------
wait_for 20 has DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$DIES"
seen=$?
wait_for 10 state_is "$DIES" exited
sleep 1
names=$(field_all CONTAINER_NAME DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$DIES")
# One entry, named: the kernel's line that comes after the cgroup went is
# no second one.
[ "$seen" = 0 ] && [ "$names" = v2-dies ]
verdict dies-at-limit $? "container $(docker inspect -f '{{.State.Status}} (exit {{.State.ExitCode}})' "$DIES" 2>&1); $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$DIES") pids-exhausted entries, their CONTAINER_NAME: $names, PIDS_MAX: $(field_all PIDS_MAX DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$DIES"), CGROUP_GONE: $(field_all CGROUP_GONE DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$DIES"); kernel: $(kline_path "docker-$DIES.scope")"
mark dies

# --- 11. a custom cgroup parent, no limit: seen within a poll -----------------------
id=$(cid v2-parent-unlimited)
wait_for 8 has DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id"
seen=$?
t=$(first_usec DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id")
latency=$(( ${t:-0} - $(started_usec "$id") ))
# When the engine said create and start, and when docker run returned,
# too: engines differ in when they date StartedAt (Docker 28 dates it
# seconds before docker run returns under emulation; 20 and 26 at about
# the same time), and dockward learns the parent from the create's inspect.
lifecycle=$(docker events --since "$T0" --until "$(date +%s)" --filter container="$id" --filter type=container \
    --format '{{.Action}} {{.TimeNano}}' 2>/dev/null)
events=$(echo "$lifecycle" | awk -v t="${t:-0}" '$1 == "create" || $1 == "start" { printf "%s%s %d ms", sep, $1, (t * 1000 - $2) / 1000000; sep = ", " }')
# Counted from the engine's start event (StartedAt when there is none): the
# moment the engine says the container runs, whatever it dates StartedAt.
# One poll interval (1 s), the settle time an unlimited container is given
# before it is said (1 s), and a second.
start_usec=$(echo "$lifecycle" | sed -n 's/^start \([0-9]*\)[0-9][0-9][0-9]$/\1/p' | head -n1)
since_start=$(( ${t:-0} - ${start_usec:-$(started_usec "$id")} ))
[ "$seen" = 0 ] && [ "$since_start" -le 3000000 ]
verdict custom-parent-unlimited $? "$(scope_of "$id" | sed "s|^$CG||"): $(entries DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id") pids-unlimited entry$([ -n "$t" ] && echo ", $(ms "$latency") ms after the engine's StartedAt, $(ms $(( t - $(ran_at v2-parent-unlimited) ))) ms after docker run returned, after the engine's events: ${events:-none} (poll_interval 1s)"), PIDS_MAX=$(field PIDS_MAX DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id") PIDS_MAX_SOURCE=$(field PIDS_MAX_SOURCE DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$id")"
mark custom-parent

# --- 10. the processes in a sub-cgroup of the scope --------------------------------
# A scope with processes cannot also have children with controllers (v2):
# every process goes to leaf/, the pids controller is enabled below the
# scope, and the main process (the one that forks, on SIGUSR1) moves to sub/.
id=$(cid v2-subcgroup)
main=$(docker inspect -f '{{.State.Pid}}' "$id")
scope=$(scope_of "$id")
mkdir "$scope/leaf"
for p in $(cat "$scope/cgroup.procs"); do echo "$p" > "$scope/leaf/cgroup.procs"; done
echo +pids > "$scope/cgroup.subtree_control"
mkdir "$scope/sub"
echo "$main" > "$scope/sub/cgroup.procs"
moved=$(awk -F: '$1 == 0 { print $3 }' "/proc/$main/cgroup")
kill -USR1 "$main"
wait_for 10 has DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id"
sleep 2
n=$(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id")
gone=$(entries CGROUP_GONE=1 CONTAINER_ID_FULL="$id")
max=$(field PIDS_MAX DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id")
kpath=$(kline_path "docker-$id.scope/sub")
[ "$n" = 1 ] && [ "$max" = 50 ] && [ "$gone" = 0 ]
verdict sub-cgroup $? "main pid in $moved, scope pids.current=$(cat "$scope/pids.current" 2>&1)/$(cat "$scope/pids.max" 2>&1) events: $(cat "$scope/pids.events" 2>&1 | oneline), sub events: $(cat "$scope/sub/pids.events" 2>&1 | oneline); $n pids-exhausted entry, PIDS_MAX=$max, $gone CGROUP_GONE entries; kernel: ${kpath:-no line for it}"
mark sub-cgroup

# --- 4. forecast, judged ----------------------------------------------------------
wait_for 60 has DOCKWARD_ALERT=pids-forecast CONTAINER_ID_FULL="$FORECAST"
seen=$?
tf=$(first_usec DOCKWARD_ALERT=pids-forecast CONTAINER_ID_FULL="$FORECAST")
te=$(first_usec DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$FORECAST")
[ "$seen" = 0 ] && { [ -z "$te" ] || [ "$te" -gt "$tf" ]; }
verdict forecast $? "pids-forecast $(ms $(( ${tf:-0} - forecast_start ))) ms into the leak at PIDS_CURRENT=$(field PIDS_CURRENT DOCKWARD_ALERT=pids-forecast CONTAINER_ID_FULL="$FORECAST") of PIDS_MAX=$(field PIDS_MAX DOCKWARD_ALERT=pids-forecast CONTAINER_ID_FULL="$FORECAST"), PIDS_RATE=$(field PIDS_RATE DOCKWARD_ALERT=pids-forecast CONTAINER_ID_FULL="$FORECAST") PIDS_FORECAST_SECONDS=$(field PIDS_FORECAST_SECONDS DOCKWARD_ALERT=pids-forecast CONTAINER_ID_FULL="$FORECAST"); pids-exhausted entries: $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$FORECAST")"
mark forecast

# --- 7. quiet restart: open alerts are not repeated ----------------------------------
ours() {
    echo $(( $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$REFUSAL") \
        + $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$UPDATE") \
        + $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$DIES") \
        + $(entries DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$SOCK") \
        + $(entries DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$RUNDIR") ))
}
before=$(ours)
restart_dockward
up=$?
sleep 5
after=$(ours)
[ "$up" = 0 ] && [ "$after" = "$before" ]
verdict quiet-restart $? "systemctl restart: DOCKWARD_OPEN_EPISODES=$(field DOCKWARD_OPEN_EPISODES DOCKWARD_EVENT=daemon-started), pids-exhausted + socket-mount entries of 5 containers $before -> $after 5 s after the engine link was up"
mark quiet-restart

# --- 8. dockward alerts ------------------------------------------------------------
listed=$(dockward alerts 2>&1)
rc=$?
sockets=$(echo "$listed" | grep -c ' socket-mount ')
exhausted=$(echo "$listed" | grep -c ' pids-exhausted ')
[ "$rc" = 0 ] && [ "$sockets" -ge 2 ] && [ "$exhausted" -ge 3 ]
verdict alerts-command $? "dockward alerts exit $rc, $(echo "$listed" | grep -c .) lines: $sockets socket-mount, $exhausted pids-exhausted, $(echo "$listed" | grep -c ' pids-unlimited ') pids-unlimited, $(echo "$listed" | grep -c ' pids-forecast ') pids-forecast"
mark alerts

# --- 9. a limit on an ancestor: the slice's TasksMax -------------------------------
# Check 11's container leaves the slice first: the whole slice gets 40 tasks.
docker rm -f v2-parent-unlimited >/dev/null 2>&1
systemctl stop acme.slice 2>/dev/null
printf '[Slice]\nTasksMax=40\n' > /etc/systemd/system/acme.slice
systemctl daemon-reload
mark daemon-reload
id=$(run --name v2-ancestor --cgroup-parent acme.slice --pids-limit 200 "$IMAGE" sh -c '(while :; do sleep 1000 & done); sleep 100000')
wait_for 10 has DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id"
sleep 2
scope=$(scope_of "$id")
n=$(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id")
gone=$(entries CGROUP_GONE=1 CONTAINER_ID_FULL="$id")
max=$(field PIDS_MAX DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id")
source=$(field PIDS_MAX_SOURCE DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id")
parent=$(field PIDS_MAX_CGROUP DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$id")
[ "$n" = 1 ] && [ "$max" = 40 ] && [ "$source" = parent ] && [ "$parent" = /acme.slice ] && [ "$gone" = 0 ]
verdict ancestor-limit $? "/acme.slice/pids.max=$(cat $CG/acme.slice/pids.max 2>&1) pids.current=$(cat $CG/acme.slice/pids.current 2>&1), ${scope#$CG}/pids.max=$(cat "$scope/pids.max" 2>&1) (container $(docker inspect -f '{{.State.Status}}' "$id")); $n pids-exhausted entry, PIDS_MAX=$max PIDS_MAX_SOURCE=$source PIDS_MAX_CGROUP=$parent, $gone CGROUP_GONE entries; kernel: $(kline_path "docker-$id.scope")"
mark ancestor

# --- 5b. update with actions on: a limit the user sets stays -------------------------
# The packaged drop-in, actions on with cap_unlimited; a short forecast window
# and a long horizon so that the leak below is capped first (a container
# dockward capped, then given a limit by its owner). The leak stops when
# /stop exists (a test, no fork), before the new limit is below its count.
install -D -m 0644 /usr/share/doc/dockward/examples/actions.conf /etc/systemd/system/dockward.service.d/actions.conf
systemctl daemon-reload
set_conf enabled true
set_conf cap_unlimited 2048
set_conf forecast_window 10s
set_conf forecast_horizon 10m
restart_dockward
id=$(run --name v2-update-actions "$IMAGE" sh -c 'i=0; while [ $i -lt 300 ] && [ ! -e /stop ]; do sleep 100000 & i=$((i + 1)); sleep 0.05; done; echo done; sleep 100000')
wait_for 40 has DOCKWARD_ALERT=action-taken CONTAINER_ID_FULL="$id"
capped="$(field DOCKWARD_ACTION DOCKWARD_ALERT=action-taken CONTAINER_ID_FULL="$id") ($(field ACTION_REASON DOCKWARD_ALERT=action-taken CONTAINER_ID_FULL="$id"))"
docker exec v2-update-actions touch /stop >/dev/null 2>&1
wait_for 40 logged "$id" done
scope=$(scope_of "$id")
before="inspect $(docker inspect -f '{{.HostConfig.PidsLimit}}' "$id"), pids.max $(cat "$scope/pids.max")"
docker update --pids-limit 40 v2-update-actions >/dev/null 2>&1
sleep 5
limit=$(docker inspect -f '{{.HostConfig.PidsLimit}}' "$id")
scope_max=$(cat "$scope/pids.max")
[ "$limit" = 40 ] && [ "$scope_max" = 40 ]
verdict update-with-actions $? "cap_unlimited 2048, action: ${capped:-none}; before docker update: $before; 5 s after --pids-limit 40: inspect $limit, pids.max $scope_max, pids.current $(cat "$scope/pids.current"); action entries: $(jx CONTAINER_ID_FULL="$id" | sed -n 's/^DOCKWARD_ALERT=\(action-.*\)/\1/p' | oneline)"
mark update-with-actions

# --- 12. Podman: the same checks against its API (systemd manager, crun) ------------
# One daemon follows one engine: the config's socket becomes Podman's. The
# containers sit at machine.slice/libpod-<id>.scope, their processes and
# their limit in crun's container subgroup.
PSOCK=/run/podman/podman.sock
cp "$DIR/dockward.yml.orig" "$CONF"
set_conf socket "$PSOCK"
set_conf poll_interval 1s
owner=$(stat -c '%U:%G %a' "$PSOCK" 2>&1)
restart_dockward
up=$?
product=$(field ENGINE_PRODUCT DOCKWARD_EVENT=engine-connected DOCKER_SOCKET="$PSOCK")
api=$(field ENGINE_API_VERSION DOCKWARD_EVENT=engine-connected DOCKER_SOCKET="$PSOCK")
[ "$up" = 0 ] && [ "$owner" = "root:dockward 660" ] && echo "$product" | grep -q Podman
verdict podman-connected $? "$PSOCK before the install: $podman_before, after: $owner; engine-connected ENGINE_PRODUCT=$product ENGINE_API_VERSION=$api; STATUS=$(prop StatusText)"
mark podman-connect
prun() { podman run -d --network none --ulimit nofile=1024:1024 "$@" 2>&1 | tail -n1; }
start=$(now_usec)
PBOMB=$(prun --name p-bomb --pids-limit 50 "$IMAGE" sh -c '(while :; do sleep 1000 & done); sleep 100000')
PSOCKC=$(prun --name p-socket -v "$PSOCK:$PSOCK" "$IMAGE" sleep 100000)
PUNL=$(prun --name p-unlimited --pids-limit -1 "$IMAGE" sh -c 'i=0; while [ $i -lt 20 ]; do sleep 100000 & i=$((i + 1)); done; wait')
PDIES=$(prun --name p-dies --pids-limit 30 "$IMAGE" sh -c 'while :; do sleep 1000 & done')
mark podman-start
plimit() { cat "$CG$(awk -F: '$1 == 0 { print $3 }' "/proc/$(podman inspect -f '{{.State.Pid}}' "$1")/cgroup")/pids.max" 2>&1; }

wait_for 20 has DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PBOMB"
sleep 2
n=$(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PBOMB")
max=$(field PIDS_MAX DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PBOMB")
t=$(first_usec DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PBOMB")
k=$(kline_usec "libpod-$PBOMB.scope\(/container\)\?")
latency=$(( ${t:-0} - ${k:-0} ))
[ "$n" = 1 ] && [ "$max" = 50 ] && [ -n "$k" ] && [ -n "$t" ] && [ "$latency" -le 5000000 ]
verdict podman-refusal $? "podman run --pids-limit 50: $n pids-exhausted entry, CONTAINER_NAME=$(field CONTAINER_NAME DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PBOMB") PIDS_MAX=$max CGROUP_PATH=$(field CGROUP_PATH DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PBOMB"), $(ms "$latency") ms after the kernel's line; kernel: $(kline_path "libpod-$PBOMB.scope\(/container\)\?")"

wait_for 20 has DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$PSOCKC"
seen=$?
exposure=$(field EXPOSURE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$PSOCKC")
[ "$seen" = 0 ] && [ "$exposure" = direct ]
verdict podman-socket $? "-v $PSOCK:$PSOCK: $(entries DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$PSOCKC") socket-mount entry, EXPOSURE=$exposure SOCKET_PATH=$(field SOCKET_PATH DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$PSOCKC") MOUNT_SOURCE=$(field MOUNT_SOURCE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$PSOCKC")"

wait_for 15 has DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$PUNL"
seen=$?
[ "$seen" = 0 ]
verdict podman-unlimited $? "podman run --pids-limit -1 (its pids.max $(plimit "$PUNL")): $(entries DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$PUNL") pids-unlimited entry, PIDS_MAX=$(field PIDS_MAX DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$PUNL") PIDS_MAX_SOURCE=$(field PIDS_MAX_SOURCE DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$PUNL")"

wait_for 20 has DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PDIES"
seen=$?
sleep 1
names=$(field_all CONTAINER_NAME DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PDIES")
[ "$seen" = 0 ] && [ "$names" = p-dies ]
verdict podman-dies-at-limit $? "container $(podman inspect -f '{{.State.Status}} (exit {{.State.ExitCode}})' "$PDIES" 2>&1); $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PDIES") pids-exhausted entries, their CONTAINER_NAME: $names, PIDS_MAX: $(field_all PIDS_MAX DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PDIES")"
mark podman-checks

pours() {
    echo $(( $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PBOMB") \
        + $(entries DOCKWARD_ALERT=pids-exhausted CONTAINER_ID_FULL="$PDIES") \
        + $(entries DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$PSOCKC") \
        + $(entries DOCKWARD_ALERT=pids-unlimited CONTAINER_ID_FULL="$PUNL") ))
}
before=$(pours)
restart_dockward
up=$?
sleep 5
after=$(pours)
[ "$up" = 0 ] && [ "$after" = "$before" ]
verdict podman-quiet-restart $? "systemctl restart: entries of the 4 Podman containers $before -> $after 5 s after the engine link was up"

listed=$(dockward alerts 2>&1)
rc=$?
[ "$rc" = 0 ] && echo "$listed" | grep ' socket-mount ' | grep -q p-socket && echo "$listed" | grep ' pids-exhausted ' | grep -q p-bomb
verdict podman-alerts-command $? "dockward alerts exit $rc: $(echo "$listed" | grep -E 'p-(bomb|socket)' | sed 's/  */ /g' | oneline)"
mark podman-restart-alerts
podman kill -a >/dev/null 2>&1

finish
