#!/bin/sh
# Runs inside the Debian 13 guest that scripts/k8snode-test.sh boots under
# QEMU, from a oneshot unit (After=containerd.service), with systemd as PID 1,
# a cgroup v2 tree and trixie's containerd 1.7 (CRI plugin, runc with the
# systemd cgroup driver). Plays kubelet: makes the QoS and pod slices as
# systemd units (TasksMax= for a pod-level pids limit), then runs pods
# through the CRI (cri-client.py) with cgroup_parent the pod's slice,
# kubelet's labels, the node's network namespace and hostPath mounts. Installs
# the package, points it at containerd, and checks dockward's journal
# entries; one PASS/FAIL line per check on the serial console, INFO lines,
# the journal's tail after a failure, DONE, then the machine powers off.
#
# The fork bomb runs only in a pod whose slice has TasksMax=40; the leak of
# the node-pressure check is bounded (300 tasks, under TasksMax=400).
set -u
. /dockward-test/guest-checks.sh
CRI="python3 $DIR/cri-client.py"
IMAGE=localhost/dockward/busybox:test
PAUSE=registry.k8s.io/pause:dockward-test
SOCK=/run/containerd/containerd.sock
KUBELET_CONFIG=/var/lib/kubelet/config.yaml
NS=team-a
mkdir -p "$DIR/pods"

connected() { is_active && has DOCKWARD_EVENT=engine-connected; }
# Connected, or given up (a daemon that failed does not come back here).
settled() { connected || [ "$(prop ActiveState)" = failed ]; }
# An entry dockward would write by now: waits SECONDS, or not at all while
# the daemon is not running (an inactive daemon writes nothing).
wait_entry() { s=$1; shift; is_active || s=1; wait_for "$s" has "$@"; }
before_poweroff() { :; }

# --- Playing kubelet ------------------------------------------------------------
# start_slice UNIT [TASKSMAX]: a transient slice unit, as kubelet's cgroup
# manager (runc's systemd driver) makes the QoS and pod slices.
start_slice() {
    if [ -n "${2:-}" ]; then
        busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
            StartTransientUnit 'ssa(sv)a(sa(sv))' "$1" replace 4 \
            Description s "libcontainer container $1" DefaultDependencies b false TasksAccounting b true TasksMax t "$2" 0 >/dev/null
    else
        busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
            StartTransientUnit 'ssa(sv)a(sa(sv))' "$1" replace 3 \
            Description s "libcontainer container $1" DefaultDependencies b false TasksAccounting b true 0 >/dev/null
    fi
    wait_for 10 systemctl -q is-active "$1"
}
# pod_slice QOS UID: kubelet's slice for the pod (QOS guaranteed, burstable
# or besteffort); its cgroup is slice_dir's.
pod_slice() {
    u=$(echo "$2" | tr - _)
    if [ "$1" = guaranteed ]; then echo "kubepods-pod$u.slice"; else echo "kubepods-$1-pod$u.slice"; fi
}
slice_dir() { # UNIT: its cgroup folder
    echo "$CG$(systemctl show -p ControlGroup --value "$1")"
}
# run_pod NAME QOS TASKSMAX CONTAINERS-JSON: the pod's slice, then the pod
# through the CRI; $DIR/pods/NAME has "sandbox ID", "container NAME ID",
# "slice UNIT" and "uid UID" lines. TASKSMAX "" for none.
run_pod() {
    name=$1 qos=$2 tasks=$3 containers=$4
    uid=$(cat /proc/sys/kernel/random/uuid)
    slice=$(pod_slice "$qos" "$uid")
    start_slice "$slice" $tasks || info "slice $slice did not start"
    printf '{"name": "%s", "namespace": "%s", "uid": "%s", "cgroup_parent": "%s", "containers": %s}\n' \
        "$name" "$NS" "$uid" "$slice" "$containers" > "$DIR/pods/$name.json"
    { echo "slice $slice"; echo "uid $uid"; } > "$DIR/pods/$name"
    $CRI run-pod "$DIR/pods/$name.json" >> "$DIR/pods/$name" 2> "$DIR/pods/$name.err"
}
# container JSON for run_pod: NAME COMMAND [HOST:CONTAINER mount]
container() {
    m=""
    [ -z "${3:-}" ] || m=", \"mounts\": [[\"${3%%:*}\", \"${3#*:}\"]]"
    printf '{"name": "%s", "image": "%s", "command": ["sh", "-c", "%s"]%s}' "$1" "$IMAGE" "$2" "$m"
}
sandbox_of() { sed -n 's/^sandbox //p' "$DIR/pods/$1"; }
cid_of() { sed -n "s/^container $2 //p" "$DIR/pods/$1"; }
slice_of() { sed -n 's/^slice //p' "$DIR/pods/$1"; }
pod_err() { oneline < "$DIR/pods/$1.err"; }
# remove_pod NAME: as kubelet does: StopPodSandbox, RemovePodSandbox, then
# the pod's slice goes.
remove_pod() {
    $CRI remove-pod "$(sandbox_of "$1")" 2>> "$DIR/pods/$1.err"
    rc=$?
    systemctl stop "$(slice_of "$1")" 2>/dev/null
    return $rc
}
# A container's cgroup (relative to $CG) from its first process.
cgroup_of() {
    pid=$(ctr -n k8s.io task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }')
    [ -n "$pid" ] && awk -F: '$1 == 0 { print $3 }' "/proc/$pid/cgroup"
}
# The node's free process table, as kubelet's pid.available counts it:
# min(pid_max, threads-max) less the tasks running (/proc/loadavg).
pid_limit() { a=$(cat /proc/sys/kernel/pid_max); b=$(cat /proc/sys/kernel/threads-max); [ "$a" -lt "$b" ] && echo "$a" || echo "$b"; }
has_kline() { [ -n "$(kline "$1")" ]; }
pid_available() { echo $(( $(pid_limit) - $(cut -d' ' -f4 /proc/loadavg | cut -d/ -f2) )); }

# --- The machine ----------------------------------------------------------------
info "booted: $(cut -d. -f1 /proc/uptime) s to the checks; kernel $(uname -r) ($(uname -v)); /sys/fs/cgroup is $(stat -fc %T $CG), controllers: $(cat $CG/cgroup.controllers)"
wait_for 60 systemctl -q is-active containerd.service
info "versions: $(. /etc/os-release; echo "$PRETTY_NAME"); $(dpkg-query -W -f '${Package} ${Version}, ' containerd runc python3-grpcio systemd 2>/dev/null | sed 's/, $//'); CRI: $($CRI version 2>&1 | oneline); DefaultTasksMax=$(systemctl show -p DefaultTasksMax --value), pid_max=$(cat /proc/sys/kernel/pid_max), threads-max=$(cat /proc/sys/kernel/threads-max)"

# The images, built here from busybox-static as OCI archives: the pause
# image (its process only sleeps) and the containers' busybox.
mkdir -p "$DIR/rootfs/bin"
cp /bin/busybox "$DIR/rootfs/bin/busybox"
for applet in sh sleep cat echo ls ps kill true touch wc; do ln -sf busybox "$DIR/rootfs/bin/$applet"; done
imported=""
for img in "$PAUSE sleep 2147483647" "$IMAGE sh"; do
    set -- $img
    ref=$1; shift
    $CRI oci-archive "$DIR/rootfs" "$ref" "$DIR/image.tar" "$@" && ctr -n k8s.io images import "$DIR/image.tar" >/dev/null 2>"$DIR/import.err" \
        || info "import of $ref failed: $(oneline < "$DIR/import.err")"
    imported="$imported $ref=$($CRI image-status "$ref" 2>&1 | cut -c1-19)"
done
rm -f "$DIR/image.tar"
$CRI image-status "$PAUSE" >/dev/null 2>&1 && $CRI image-status "$IMAGE" >/dev/null 2>&1
verdict images $? "ctr -n k8s.io images import, then the CRI's ImageStatus:$imported"
# kubelet's QoS slices.
start_slice kubepods.slice && start_slice kubepods-burstable.slice && start_slice kubepods-besteffort.slice
verdict qos-slices $? "kubepods.slice, kubepods-burstable.slice, kubepods-besteffort.slice: $(systemctl is-active kubepods.slice kubepods-burstable.slice kubepods-besteffort.slice | oneline)"
mark boot-and-images
info "boot: $(systemd-analyze time 2>&1 | head -n1); slowest units: $(systemd-analyze blame --no-pager 2>/dev/null | head -n6 | awk '{ printf "%s%s %s", sep, $NF, $1; sep = ", " }')"

# --- 1. install, then pointed at containerd ----------------------------------------
start=$(now_usec)
install_out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$DIR/dockward.deb" 2>&1)
rc=$?
[ "$rc" = 0 ] || { fail install "dpkg -i exit $rc: $(echo "$install_out" | tail -n3 | oneline)"; finish; }
# containerd's socket is root:root 0660: a node gives its group to the agent
# that reads it ([grpc] gid in containerd's config), as the README says.
gid=$(getent group dockward | cut -d: -f3)
printf '\n[grpc]\n  gid = %s\n' "$gid" >> /etc/containerd/config.toml
systemctl restart containerd.service
wait_for 30 systemctl -q is-active containerd.service
wait_for 30 test -S "$SOCK"
info "containerd's socket for dockward (gid $gid): $(stat -c '%U:%G %a' "$SOCK" 2>&1)"
if [ -e "$DIR/debug" ]; then
    mkdir -p /etc/systemd/system/dockward.service.d
    printf '[Service]\nExecStart=\nExecStart=/usr/bin/dockward run --config /etc/dockward/dockward.yml --log-level debug\n' \
        > /etc/systemd/system/dockward.service.d/debug.conf
    systemctl daemon-reload
fi
cat > "$CONF" <<EOF
engine:
  kind: containerd
  socket: $SOCK
  namespaces: [k8s.io]
node_pids:
  kubelet_config: $KUBELET_CONFIG
  forecast_horizon: 2m
pids:
  poll_interval: 1s
EOF
systemctl restart dockward.service
wait_for 30 settled
connected
up=$?
product=$(field ENGINE_PRODUCT DOCKWARD_EVENT=engine-connected)
[ "$up" = 0 ] && echo "$product" | grep -qi containerd
verdict install $? "dpkg -i exit $rc, then engine.kind containerd and a restart: $(prop ActiveState)/$(prop SubState) (NRestarts=$(prop NRestarts)) after $(ms $(( $(now_usec) - start ))) ms, STATUS=$(prop StatusText); engine-connected ENGINE_PRODUCT=${product:-none} ENGINE_API_VERSION=$(field ENGINE_API_VERSION DOCKWARD_EVENT=engine-connected); postinst: $(echo "$install_out" | grep '^dockward:' | head -n1)"
mark install

# --- 2. a pod's limit: a fork bomb under its slice's TasksMax=40 --------------------
# The bomb goes off 2 s into its container's life, as a leak or an exploit
# would: a bomb in the container's first milliseconds is reported once the
# engine has described the container (its pod's names), a few hundred ms
# under emulation, which would measure the engine, not the refusal's path.
run_pod bomb burstable 40 "[$(container side 'sleep 100000 & exec sleep 100000'), $(container bomb 'sleep 2; f(){ f|f& }; f; exec sleep 100000')]"
rc=$?
BOMB=$(cid_of bomb bomb)
SIDE=$(cid_of bomb side)
slice=$(slice_of bomb)
sdir=$(slice_dir "$slice")
wait_for 30 has_kline "cri-containerd-$BOMB.scope"
kpath=$(kline_path "cri-containerd-$BOMB.scope")
bomb_cg=$(cgroup_of "$BOMB")
sandbox_cg=$(cgroup_of "$(sandbox_of bomb)")
[ "$rc" = 0 ] && [ "$(cat "$sdir/pids.max" 2>&1)" = 40 ] && [ -n "$kpath" ] && [ "$kpath" = "$bomb_cg" ] \
    && [ "${sandbox_cg%/*}" = "${sdir#$CG}" ]
verdict bomb-refused $? "pod team-a/bomb (run-pod exit $rc $(pod_err bomb)): slice ${sdir#$CG} pids.max=$(cat "$sdir/pids.max" 2>&1) pids.current=$(cat "$sdir/pids.current" 2>&1) events: $(cat "$sdir/pids.events" 2>&1 | oneline); sandbox $sandbox_cg; tasks: pause $(cat "$CG$sandbox_cg/pids.current" 2>&1), side $(cat "$CG$(cgroup_of "$SIDE")/pids.current" 2>&1), bomb $(cat "$CG$bomb_cg/pids.current" 2>&1) (the bomb's scope: pids.max $(cat "$CG$bomb_cg/pids.max" 2>&1), ${bomb_cg##*/}); kernel: ${kpath:-no line}"
# What the Swift side reads: the specs' cgroupsPath and labels, the
# counters where the limit was hit and where the fork was refused.
spec_info() {
    ctr -n k8s.io containers info "$1" 2>/dev/null | python3 -c 'import json, sys
c = json.load(sys.stdin)
print("cgroupsPath=%s labels=%s" % (c["Spec"]["linux"].get("cgroupsPath"), ",".join("%s=%s" % kv for kv in sorted(c["Labels"].items()) if not kv[0].startswith("io.cri-containerd.image"))))' 2>&1
}
info "bomb container: $(spec_info "$BOMB"); sandbox: $(spec_info "$(sandbox_of bomb)"); pod slice pids.events.local: $(cat "$sdir/pids.events.local" 2>&1 | oneline); bomb scope pids.events: $(cat "$CG$bomb_cg/pids.events" 2>&1 | oneline), .local: $(cat "$CG$bomb_cg/pids.events.local" 2>&1 | oneline); $SOCK: $(stat -c '%U:%G %a' "$SOCK")"
wait_entry 20 DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb
sleep 2
n=$(entries DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb)
max=$(field PIDS_MAX DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb)
source=$(field PIDS_MAX_SOURCE DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb)
podns=$(field K8S_NAMESPACE DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb)
tasks=$(field PIDS_POD_TASKS DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb)
# As test-v2host measures it: from journald's time of the kernel's line to
# the entry's (negative: dockward saw the refusal before journald read
# kmsg); and from the kernel's printk, on its own clock, said beside it.
# The figure is reported, not bounded: this guest is emulated on two
# shared cores, where the entry waits its turn among the bomb's 40 tasks
# (7 to 150 ms measured here). What is bounded is the path: the entry
# comes from the kernel's word (the pod's pids.events notification, or its
# line), within half the 1 s poll_interval, which a poll alone would miss
# one time in two.
t=$(first_usec DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb)
k=$(kline_usec "cri-containerd-$BOMB.scope")
latency=$(( ${t:-0} - ${k:-0} ))
tm=$(first_mono DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb)
km=$(kline_mono "cri-containerd-$BOMB.scope")
from_printk=$([ -n "$tm" ] && [ -n "$km" ] && echo "$(ms $(( tm - km ))) ms after the kernel printed it" || echo "printk time unknown")
if [ -e "$DIR/debug" ] || [ "$latency" -gt 500000 ]; then
    journalctl -q --no-pager -b -o short-monotonic _SYSTEMD_UNIT=dockward.service --since "@$(( $(date +%s) - 30 ))" 2>/dev/null \
        | head -n 60 | sed 's/^/DEBUG /' > "$TTY"
    journalctl -q --no-pager -b -o short-monotonic -k 2>/dev/null | grep 'fork rejected' | head -n 3 | sed 's/^/DEBUG /' > "$TTY"
fi
[ "$n" = 1 ] && [ "$max" = 40 ] && [ "$source" = pod ] && [ "$podns" = "$NS" ] && [ -n "$tasks" ] \
    && [ -n "$k" ] && [ -n "$t" ] && [ "$latency" -le 500000 ]
verdict pod-limit $? "$n pids-exhausted entry for K8S_POD=bomb (both containers), K8S_NAMESPACE=$podns K8S_CONTAINER=$(field K8S_CONTAINER DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb) PIDS_MAX=$max PIDS_MAX_SOURCE=$source PIDS_POD_TASKS=$tasks, $([ -n "$t" ] && [ -n "$k" ] && echo "$(ms "$latency") ms after the kernel's line ($from_printk)" || echo "no latency (entry ${t:-none}, kernel line ${k:-none})") (at most 500 ms: between polls)"
remove_pod bomb
rc=$?
gone=1
[ "$rc" = 0 ] && ! $CRI pods | grep -q " $NS/bomb " && [ ! -d "$sdir" ] && gone=0
verdict bomb-removed $gone "StopPodSandbox + RemovePodSandbox exit $rc $(pod_err bomb), the pod listed: $($CRI pods | grep -c " $NS/bomb "), its slice's cgroup $([ -d "$sdir" ] && echo "still there ($(cat "$sdir/pids.current" 2>&1) tasks)" || echo gone)"
mark pod-limit

# --- 3. a pod without a limit --------------------------------------------------------
run_pod free besteffort "" "[$(container app 'exec sleep 100000')]"
rc=$?
APP=$(cid_of free app)
app_cg=$(cgroup_of "$APP")
wait_entry 15 DOCKWARD_ALERT=pids-unlimited K8S_POD=free K8S_CONTAINER=app
seen=$?
fsdir=$(slice_dir "$(slice_of free)")
[ "$rc" = 0 ] && [ "$seen" = 0 ]
verdict unlimited $? "pod team-a/free (run-pod exit $rc $(pod_err free)) in ${fsdir#$CG} (pids.max $(cat "$fsdir/pids.max" 2>&1)), app at $app_cg (pids.max $(cat "$CG$app_cg/pids.max" 2>&1)): $(entries DOCKWARD_ALERT=pids-unlimited K8S_POD=free K8S_CONTAINER=app) pids-unlimited entry, PIDS_MAX=$(field PIDS_MAX DOCKWARD_ALERT=pids-unlimited K8S_POD=free) PIDS_MAX_SOURCE=$(field PIDS_MAX_SOURCE DOCKWARD_ALERT=pids-unlimited K8S_POD=free) CONTAINER_ID_FULL=$(field CONTAINER_ID_FULL DOCKWARD_ALERT=pids-unlimited K8S_POD=free | cut -c1-12)"
mark unlimited

# --- 4. hostPath mounts of the engine's socket and of its folder's parent ----------
run_pod sock burstable "" "[$(container agent 'exec sleep 100000' "$SOCK:$SOCK")]"
rc1=$?
run_pod runfolder burstable "" "[$(container agent 'exec sleep 100000' /var/run:/host-run)]"
rc2=$?
wait_entry 20 DOCKWARD_ALERT=socket-mount K8S_POD=sock
msg=$(field MESSAGE DOCKWARD_ALERT=socket-mount K8S_POD=sock)
exposure=$(field EXPOSURE DOCKWARD_ALERT=socket-mount K8S_POD=sock)
[ "$rc1" = 0 ] && [ "$exposure" = direct ] && echo "$msg" | grep -q "$NS/sock/agent"
verdict socket $? "hostPath $SOCK (run-pod exit $rc1 $(pod_err sock)): $(entries DOCKWARD_ALERT=socket-mount K8S_POD=sock) socket-mount entry, EXPOSURE=$exposure SOCKET_PATH=$(field SOCKET_PATH DOCKWARD_ALERT=socket-mount K8S_POD=sock) MOUNT_SOURCE=$(field MOUNT_SOURCE DOCKWARD_ALERT=socket-mount K8S_POD=sock); MESSAGE: ${msg:-none}"
wait_entry 20 DOCKWARD_ALERT=socket-mount K8S_POD=runfolder
exposure=$(field EXPOSURE DOCKWARD_ALERT=socket-mount K8S_POD=runfolder)
[ "$rc2" = 0 ] && [ "$exposure" = parent-dir ]
verdict socket-folder $? "hostPath /var/run:/host-run (run-pod exit $rc2 $(pod_err runfolder)): $(entries DOCKWARD_ALERT=socket-mount K8S_POD=runfolder) socket-mount entry, EXPOSURE=$exposure SOCKET_PATH=$(field SOCKET_PATH DOCKWARD_ALERT=socket-mount K8S_POD=runfolder) MOUNT_SOURCE=$(field MOUNT_SOURCE DOCKWARD_ALERT=socket-mount K8S_POD=runfolder)"
mark socket

# --- 5. the pause containers are no one's alert ---------------------------------------
alerts_about() { n=0; for id in "$@"; do n=$(( n + $(entries CONTAINER_ID_FULL="$id") )); done; echo "$n"; }
sandboxes=$(for p in bomb free sock runfolder; do sandbox_of $p; done)
pods_alerts=$(alerts_about "$BOMB" "$SIDE" "$APP" "$(cid_of sock agent)" "$(cid_of runfolder agent)")
pause_alerts=$(alerts_about $sandboxes)
[ "$pause_alerts" = 0 ] && [ "$pods_alerts" -gt 0 ]
verdict pause $? "entries naming a sandbox (pause) container: $pause_alerts of $(echo $sandboxes | wc -w) sandboxes; entries naming the pods' containers: $pods_alerts (the check needs some)"
mark pause

# --- 6. containerd restarts, and a pod comes at once -----------------------------------
before_sock=$(entries DOCKWARD_ALERT=socket-mount K8S_POD=sock)
before_run=$(entries DOCKWARD_ALERT=socket-mount K8S_POD=runfolder)
since=$(date +%s)
systemctl restart containerd.service
rrc=$?
run_pod after burstable "" "[$(container agent 'exec sleep 100000' "$SOCK:$SOCK")]"
rc=$?
wait_entry 30 DOCKWARD_ALERT=socket-mount K8S_POD=after
sleep 3
n=$(entries DOCKWARD_ALERT=socket-mount K8S_POD=after)
after_sock=$(entries DOCKWARD_ALERT=socket-mount K8S_POD=sock)
after_run=$(entries DOCKWARD_ALERT=socket-mount K8S_POD=runfolder)
events=$(jx --since "@$since" | sed -n 's/^DOCKWARD_EVENT=//p' | oneline)
running=$($CRI containers 2>/dev/null | grep -c ' running$')
[ "$rrc" = 0 ] && [ "$rc" = 0 ] && [ "$n" = 1 ] && [ "$after_sock" = "$before_sock" ] && [ "$after_run" = "$before_run" ] \
    && echo "$events" | grep -q 'engine-lost.*engine-back'
back=$(jx --since "@$since" DOCKWARD_EVENT=engine-back | sed -n 's/^__REALTIME_TIMESTAMP=//p' | head -n1)
made=$(jx --since "@$since" DOCKWARD_ALERT=socket-mount K8S_POD=after | sed -n 's/^__REALTIME_TIMESTAMP=//p' | head -n1)
verdict restart $? "systemctl restart containerd exit $rrc, pod after (run-pod exit $rc $(pod_err after)): $n socket-mount entry ($([ -n "$back" ] && [ -n "$made" ] && echo "$(ms $(( made - back ))) ms after engine-back" || echo "no time")); earlier pods' socket-mount entries sock $before_sock -> $after_sock, runfolder $before_run -> $after_run; dockward's events since: ${events:-none}; containers running: $running"
mark restart

# --- 7. the node's process table: kubelet's evictionHard pid.available --------------
# Samples of the free table every half second, to judge when the entry came.
( while [ ! -e "$DIR/stop-sampler" ]; do echo "$(now_usec) $(pid_available)"; sleep 0.5; done ) > "$DIR/available.txt" &
avail=$(pid_available)
THRESHOLD=$(( avail - 250 ))
mkdir -p "${KUBELET_CONFIG%/*}"
cat > "$KUBELET_CONFIG" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
evictionHard:
  pid.available: "$THRESHOLD"
EOF
if is_active; then reload_dockward; else false; fi
reloaded=$?
start=$(now_usec)
run_pod leak burstable 400 "[$(container leak 'i=0; while [ $i -lt 300 ]; do sleep 100000 & i=$((i + 1)); sleep 0.1; done; exec sleep 100000')]"
rc=$?
wait_entry 90 DOCKWARD_ALERT=node-pids-pressure
seen=$?
t=$(first_usec DOCKWARD_ALERT=node-pids-pressure)
# The free table at the sample before the entry (or now, with none).
at=$(awk -v t="${t:-0}" '$1 <= t { a = $2 } END { print a }' "$DIR/available.txt")
[ -n "$t" ] || at=""
lsdir=$(slice_dir "$(slice_of leak)")
leak_tasks=$(cat "$lsdir/pids.current" 2>&1)
top=$(field NODE_TOP_PODS DOCKWARD_ALERT=node-pids-pressure)
thr=$(field NODE_PIDS_THRESHOLD DOCKWARD_ALERT=node-pids-pressure)
[ "$rc" = 0 ] && [ "$seen" = 0 ] && [ "$thr" = "$THRESHOLD" ] && echo "$top" | grep -q "$NS/leak" && [ -n "$at" ] && [ "$at" -gt "$THRESHOLD" ]
verdict node-pressure $? "pid limit $(pid_limit), $avail free when evictionHard pid.available=$THRESHOLD was written (reload $([ "$reloaded" = 0 ] && echo seen || echo "not seen")); pod team-a/leak (run-pod exit $rc $(pod_err leak)) at $leak_tasks tasks $(ms $(( $(now_usec) - start ))) ms after RunPodSandbox began: $(entries DOCKWARD_ALERT=node-pids-pressure) node-pids-pressure entry$([ -n "$t" ] && echo " $(ms $(( t - start ))) ms into the leak with ${at:-?} free"), NODE_PIDS_THRESHOLD=$thr NODE_PIDS_AVAILABLE=$(field NODE_PIDS_AVAILABLE DOCKWARD_ALERT=node-pids-pressure) NODE_TOP_PODS=${top:-none}"
touch "$DIR/stop-sampler"
mark node-pressure

# --- 8. a quiet stop ------------------------------------------------------------------
systemctl stop dockward.service
rc=$?
# Its own err lines, not its alerts (a pids-exhausted entry is crit by design).
errs=$(journalctl -q --no-pager -b _SYSTEMD_UNIT=dockward.service -p err -o json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    entry = json.loads(line)
    if "DOCKWARD_ALERT" not in entry:
        print(entry.get("MESSAGE"))')
crash=$(journalctl -q --no-pager -b -o cat 2>/dev/null | grep -E 'dockward.*(dumped core|Main process exited, code=(killed|dumped))' | head -n3)
[ "$rc" = 0 ] && [ "$(prop ActiveState)" = inactive ] && [ "$(prop Result)" = success ] && [ -z "$errs" ] && [ -z "$crash" ]
verdict quiet-stop $? "systemctl stop exit $rc: $(prop ActiveState), Result=$(prop Result), ExecMainStatus=$(prop ExecMainStatus); dockward's err lines this boot: $(echo "$errs" | grep -c .)$([ -n "$errs" ] && echo " (first: $(echo "$errs" | head -n1))")$([ -n "$crash" ] && echo "; crash: $(echo "$crash" | oneline)")"
mark quiet-stop

# --- 9. dockward's own image, run as the DaemonSet's pod ------------------------------
# Only with the image archive (make test-k8snode passes it). The package's
# dockward.service stopped at 8 (quiet-stop) and stays stopped through this
# part: two daemons would report every pod twice, and the checks above count
# that unit's entries. The image (docker save's archive) is imported into
# containerd's k8s.io namespace, where kubelet would find it pulled;
# cri-client.py makes the pod from the DaemonSet as `kubectl kustomize
# packaging/kubernetes` renders it: its volumes (config map, emptyDir and
# the hostPaths, read-only as the manifest says), security context, env,
# args and resources; no hostPID, no hostNetwork (its network namespace
# comes from the stub CNI plugin). journald tells its entries from the
# package's by its own fields: _SYSTEMD_UNIT is the container's
# cri-containerd-<id>.scope (the package's: dockward.service), _PID its
# process as the node sees it. The pods free, sock, runfolder, after and
# leak still run.
if [ -f "$DIR/dockward-image.tar" ]; then
    start=$(now_usec)
    ctr -n k8s.io images import "$DIR/dockward-image.tar" > "$DIR/import.out" 2>&1
    irc=$?
    import_ms=$(ms $(( $(now_usec) - start )))
    rm -f "$DIR/dockward-image.tar"
    DSUID=$(cat /proc/sys/kernel/random/uuid)
    DSNAME=dockward-$(echo "$DSUID" | tr -dc 'a-z0-9' | cut -c1-5)
    read -r DSQOS DSSLICE DSNS DSIMAGE <<EOF
$($CRI daemonset-pod "$DIR/manifests.json" "$DSNAME" "$DSUID" "$DIR/pods/$DSNAME.json" 2>"$DIR/pods/$DSNAME.err")
EOF
    imgid=$($CRI image-status "${DSIMAGE:-none}" 2>&1)
    [ "$irc" = 0 ] && [ -n "$DSIMAGE" ] && $CRI image-status "$DSIMAGE" >/dev/null 2>&1
    verdict image-import $? "ctr -n k8s.io images import of docker save's archive exit $irc in $import_ms ms ($(oneline < "$DIR/import.out" | cut -c1-160)); the DaemonSet's image ${DSIMAGE:-none $(pod_err "$DSNAME")}: ImageStatus $(echo "$imgid" | cut -c1-19)"

    # The pod, as kubelet starts it: its slice, then the CRI.
    since=$(date +%s)
    start=$(now_usec)
    start_slice "$DSSLICE" || info "slice $DSSLICE did not start"
    { echo "slice $DSSLICE"; echo "uid $DSUID"; } > "$DIR/pods/$DSNAME"
    $CRI run-pod "$DIR/pods/$DSNAME.json" >> "$DIR/pods/$DSNAME" 2>> "$DIR/pods/$DSNAME.err"
    rc=$?
    # The DaemonSet's one container, whatever its name.
    DW=$(sed -n 's/^container [^ ]* //p' "$DIR/pods/$DSNAME" | head -n1)
    DW12=$(echo "$DW" | cut -c1-12)
    DWPID=$(ctr -n k8s.io task ls 2>/dev/null | awk -v id="$DW" '$1 == id { print $2 }')
    DWUNIT=cri-containerd-$DW.scope
    # The pod's dockward's entries (journald's unit of the sender), export format.
    px() { journalctl -q --no-pager -o export _SYSTEMD_UNIT="$DWUNIT" "$@" 2>/dev/null; }
    pentries() { px "$@" | grep -c '^__CURSOR='; }
    phas() { [ "$(pentries "$@")" -gt 0 ]; }
    pfield() { f=$1; shift; px "$@" | sed -n "s/^$f=//p" | tail -n1; }
    wait_for 60 phas DOCKWARD_EVENT=engine-connected
    up=$?
    # Waits below: not long for a daemon that never came up.
    [ "$up" = 0 ] && w=30 || w=1
    up_ms=$(ms $(( $(now_usec) - start )))
    status=$(cat "/proc/$DWPID/status" 2>/dev/null)
    st() { echo "$status" | awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'; }
    ns_differs() { [ -n "$DWPID" ] && [ "$(readlink "/proc/$DWPID/ns/$1")" != "$(readlink "/proc/1/ns/$1")" ]; }
    ns_all=""
    for n in net pid cgroup uts; do ns_differs $n && ns_all="$ns_all $n:own" || ns_all="$ns_all $n:node's"; done
    # The topmost mount at / and at /sys/fs/cgroup (mountinfo lists an
    # over-mount after what it hides): read-only.
    rootro=$(awk '$5 == "/" { o = $6 } END { print o }' "/proc/$DWPID/mountinfo" 2>/dev/null)
    cgro=$(awk '$5 == "/sys/fs/cgroup" { o = $6 } END { print o }' "/proc/$DWPID/mountinfo" 2>/dev/null)
    ips=$(nsenter --net="/proc/$DWPID/ns/net" ip -br -4 addr 2>/dev/null | awk '{ print $1 "=" $3 }' | oneline)
    # What the manifest's livenessProbe asks: GET /metrics on port 9327, in the pod's network.
    # (busybox's static wget cannot be trusted to run here: Python's urllib.)
    metrics=$(nsenter --net="/proc/$DWPID/ns/net" python3 -c '
import urllib.request
try:
    r = urllib.request.urlopen("http://127.0.0.1:9327/metrics", timeout=10)
    print("HTTP %d, %d dockward_ lines" % (r.status, sum(1 for l in r.read().decode().splitlines() if l.startswith("dockward_"))))
except Exception as e:
    print("failed: %s" % e)' 2>&1 | oneline)
    e_pid=$(pfield _PID DOCKWARD_EVENT=engine-connected)
    e_uid=$(pfield _UID DOCKWARD_EVENT=engine-connected)
    e_cg=$(pfield _SYSTEMD_CGROUP DOCKWARD_EVENT=engine-connected)
    [ "$rc" = 0 ] && [ "$up" = 0 ] && [ -n "$DWPID" ] && [ "$e_pid" = "$DWPID" ] && [ "$e_uid" = 0 ] \
        && [ "$e_cg" = "$(cgroup_of "$DW")" ] && [ "$(st CapEff)" = 0000000000000000 ] && [ "$(st NoNewPrivs)" = 1 ] \
        && [ "$(st Seccomp)" = 2 ] && [ "$(st Uid | awk '{ print $1 }')" = 0 ] && echo "$rootro" | grep -q '^ro' && echo "$cgro" | grep -q '^ro' \
        && echo "$ns_all" | grep -q 'net:own pid:own cgroup:own' && echo "$metrics" | grep -q '^HTTP 200, [1-9]' 
    verdict image-pod $? "pod $DSNS/$DSNAME ($DSQOS, run-pod exit $rc $(pod_err "$DSNAME")) of $DSIMAGE: engine-connected $up_ms ms after RunPodSandbox began, ENGINE_PRODUCT=$(pfield ENGINE_PRODUCT DOCKWARD_EVENT=engine-connected); journald's fields of its entries: _SYSTEMD_UNIT=cri-containerd-$DW12....scope _SYSTEMD_SLICE=$(pfield _SYSTEMD_SLICE DOCKWARD_EVENT=engine-connected) _PID=$e_pid (its task: ${DWPID:-none}) _UID=$e_uid _COMM=$(pfield _COMM DOCKWARD_EVENT=engine-connected); its process: Uid $(st Uid | awk '{ print $1 }'), CapEff $(st CapEff), NoNewPrivs $(st NoNewPrivs), Seccomp $(st Seccomp), root $rootro, /sys/fs/cgroup $cgro, namespaces$ns_all, addresses ${ips:-none}; GET /metrics in its network (the livenessProbe's): $metrics"
    if [ "$up" != 0 ]; then
        tail -n 20 /var/log/pods/"$DSNS"_"$DSNAME"_"$DSUID"/dockward/0.log 2>&1 | cut -c1-300 | sed 's/^/DEBUG pod log: /' > "$TTY"
    fi

    # (a) Its own container: one self-exempt, never a socket-mount.
    wait_for $w phas DOCKWARD_ALERT=self-exempt
    sleep 2
    own=$(px CONTAINER_ID_FULL="$DW" | sed -n 's/^DOCKWARD_ALERT=//p' | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
    n=$(pentries DOCKWARD_ALERT=self-exempt CONTAINER_ID_FULL="$DW")
    sock_own=$(px CONTAINER_ID_FULL="$DW" | grep -c '^DOCKWARD_ALERT=socket-mount')
    [ "$n" = 1 ] && [ "$sock_own" = 0 ] && [ "$(pentries DOCKWARD_ALERT=self-exempt)" = 1 ]
    verdict image-self-exempt $? "$n self-exempt entry for its own container $DW12 (of $(pentries DOCKWARD_ALERT=self-exempt) in all), SELF_CGROUP=$(pfield SELF_CGROUP DOCKWARD_ALERT=self-exempt) EXEMPTED_KINDS=$(pfield EXEMPTED_KINDS DOCKWARD_ALERT=self-exempt) SOCKET_PATH=$(pfield SOCKET_PATH DOCKWARD_ALERT=self-exempt); socket-mount entries about it: $sock_own; every entry about it: ${own:-none}"

    # (b) An existing pod with containerd's socket as a hostPath, into the
    # node's journal from the pod's dockward, not the package's.
    wait_for $w phas DOCKWARD_ALERT=socket-mount K8S_POD=sock
    n=$(pentries DOCKWARD_ALERT=socket-mount K8S_POD=sock)
    msg=$(pfield MESSAGE DOCKWARD_ALERT=socket-mount K8S_POD=sock)
    exposure=$(pfield EXPOSURE DOCKWARD_ALERT=socket-mount K8S_POD=sock)
    s_pid=$(pfield _PID DOCKWARD_ALERT=socket-mount K8S_POD=sock)
    s_unit=$(pfield _SYSTEMD_UNIT DOCKWARD_ALERT=socket-mount K8S_POD=sock)
    deb=$(jx --since "@$since" | grep -c '^__CURSOR=')
    pods=$(px DOCKWARD_ALERT=socket-mount | sed -n 's/^K8S_POD=//p' | sort | oneline)
    [ "$n" = 1 ] && [ "$exposure" = direct ] && echo "$msg" | grep -q "$NS/sock/agent" && [ "$s_pid" = "$DWPID" ] \
        && [ "$s_unit" = "$DWUNIT" ] && [ "$deb" = 0 ] && [ "$(prop ActiveState)" = inactive ]
    verdict image-socket $? "$n socket-mount entry for pod $NS/sock from the pod's dockward (_SYSTEMD_UNIT=$([ "$s_unit" = "$DWUNIT" ] && echo "its container's scope" || echo "${s_unit:-none}"), _PID=$s_pid), EXPOSURE=$exposure; MESSAGE: ${msg:-none}; socket-mount entries from it by K8S_POD: ${pods:-none}; entries of dockward.service ($(prop ActiveState)) since the pod began: $deb"

    # (c) A pod at its pod-level limit (TasksMax=40), a fork bomb as in 2.
    # No /dev/kmsg in the pod: the refusal is read from pids.events.
    run_pod bomb2 burstable 40 "[$(container side 'sleep 100000 & exec sleep 100000'), $(container bomb 'sleep 2; f(){ f|f& }; f; exec sleep 100000')]"
    rc=$?
    BOMB2=$(cid_of bomb2 bomb)
    wait_for 30 has_kline "cri-containerd-$BOMB2.scope"
    wait_for $w phas DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb2
    sleep 2
    n=$(pentries DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb2)
    max=$(pfield PIDS_MAX DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb2)
    source=$(pfield PIDS_MAX_SOURCE DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb2)
    t=$(px DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb2 | sed -n 's/^__REALTIME_TIMESTAMP=//p' | head -n1)
    k=$(kline_usec "cri-containerd-$BOMB2.scope")
    [ "$rc" = 0 ] && [ "$n" = 1 ] && [ "$max" = 40 ] && [ "$source" = pod ]
    verdict image-pod-limit $? "pod $NS/bomb2 (run-pod exit $rc $(pod_err bomb2)): $n pids-exhausted entry from the pod's dockward, K8S_CONTAINER=$(pfield K8S_CONTAINER DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb2) PIDS_MAX=$max PIDS_MAX_SOURCE=$source PIDS_POD_TASKS=$(pfield PIDS_POD_TASKS DOCKWARD_ALERT=pids-exhausted K8S_POD=bomb2), $([ -n "$t" ] && [ -n "$k" ] && echo "$(ms $(( t - k ))) ms after the kernel's line" || echo "no time (entry ${t:-none}, kernel line ${k:-none})")"

    # The pods go. kubelet stops a pod's containers with their grace period
    # (StopContainer, SIGTERM, 30 s) before StopPodSandbox: the pod's
    # dockward ends with a daemon-stopped entry and none of its own lines at
    # err or worse (its alerts aside).
    remove_pod bomb2
    rc1=$?
    $CRI stop-container "$DW" 30 2>> "$DIR/pods/$DSNAME.err" && remove_pod "$DSNAME"
    rc2=$?
    rm -rf "/var/lib/kubelet/pods/$DSUID"
    errs=$(journalctl -q --no-pager -o json _SYSTEMD_UNIT="$DWUNIT" -p err 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    entry = json.loads(line)
    if "DOCKWARD_ALERT" not in entry:
        print(entry.get("MESSAGE"))')
    stopped=$(pentries DOCKWARD_EVENT=daemon-stopped)
    [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ -z "$errs" ] && [ "$stopped" = 1 ]
    verdict image-pod-removed $? "StopPodSandbox + RemovePodSandbox exit bomb2=$rc1 $DSNAME=$rc2; the pod's dockward: $stopped daemon-stopped entry, err lines: $(echo "$errs" | grep -c .)$([ -n "$errs" ] && echo " (first: $(echo "$errs" | head -n1))")"
    mark image
else
    info "no image archive: dockward's image is not run as a pod (scripts/k8snode-test.sh DEB IMAGE-TAR does)"
fi

# --- The pods go, as kubelet removes them ---------------------------------------------
rcs=""
for p in free sock runfolder after leak; do remove_pod "$p"; rcs="$rcs $p=$?"; done
left_pods=$($CRI pods 2>&1 | grep -c .)
left_scopes=$(find "$CG/kubepods.slice" -name 'cri-containerd-*.scope' 2>/dev/null | grep -c .)
[ "$left_pods" = 0 ] && [ "$left_scopes" = 0 ]
verdict pods-removed $? "StopPodSandbox + RemovePodSandbox exit:$rcs; pods left: $left_pods, cri-containerd scopes left under kubepods.slice: $left_scopes"
mark pods-removed

finish
