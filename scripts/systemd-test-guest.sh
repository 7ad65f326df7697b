#!/bin/sh
# Runs inside the Debian 12 guest that scripts/systemd-test.sh boots, from a
# oneshot unit, with systemd 252 as PID 1. Installs the package as a first
# install would and checks the service; writes one PASS/FAIL line per check
# to /dockward-test/results.txt, then DONE, then powers the machine off.
# Only what a minimal Debian has: sh, coreutils, grep, sed, awk, systemd.
set -u
DIR=/dockward-test
OUT=$DIR/results.txt
. "$DIR/env"
: > "$OUT"

pass() { echo "PASS $1: $2" >> "$OUT"; }
fail() { echo "FAIL $1: $2" >> "$OUT"; }
# verdict NAME CONDITION-RESULT DETAIL
verdict() { if [ "$2" = 0 ]; then pass "$1" "$3"; else fail "$1" "$3"; fi; }
prop() { systemctl show -p "$1" --value dockward.service; }
# Entries dockward's unit wrote with FIELD=VALUE matches, one MESSAGE a line.
messages() { journalctl -q --no-pager -u dockward.service -o cat "$@" 2>/dev/null; }
count() { messages "$@" | grep -c . ; }
# The value of FIELD in the last entry matching the rest.
field() { f=$1; shift; journalctl -q --no-pager -u dockward.service -o export "$@" 2>/dev/null | sed -n "s/^$f=//p" | tail -n1; }
wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
    n=$(( $1 * 10 )); shift
    while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
is_active() { [ "$(prop ActiveState)" = active ] && [ "$(prop SubState)" = running ]; }
status_has() { prop StatusText | grep -q "$1"; }
more_than() { [ "$(count "$2")" -gt "$1" ]; }
finish() {
    journalctl -b --no-pager > "$DIR/journal.txt" 2>&1
    echo DONE >> "$OUT"
    systemctl poweroff --no-block
    exit 0
}

# The engine's socket where the packaged config looks for it.
ln -sf "$GUEST_SOCK" /run/docker.sock
# The host's view, re-made here: the engine resolved these paths on the host.
mkdir -p "$TMP_DIR"
ln -sf "$GUEST_SOCK" "$TMP_DIR/docker.sock"
mkdir -p "$LOCKED_DIR"
chmod 0700 "$LOCKED_DIR"
ln -sf "$GUEST_SOCK" "$LOCKED_DIR/docker.sock"

# --- A first install on a host without a docker group ----------------------
if getent group docker >/dev/null; then
    fail no-docker-group "the guest has a docker group before the test made one"
fi
[ -x /bin/kill ] && fail no-procps "/bin/kill exists; the test wants a system without procps"
start=$(date +%s)
install_out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$DIR/dockward.deb" 2>&1)
rc=$?
verdict install "$rc" "dpkg -i exit $rc; postinst said: $(echo "$install_out" | grep '^dockward:' | head -n1)"
[ "$rc" = 0 ] || finish
wait_for 20 is_active
verdict start-without-group $? "$(prop ActiveState)/$(prop SubState) after $(( $(date +%s) - start )) s, NRestarts=$(prop NRestarts), STATUS=$(prop StatusText)"
wait_for 30 more_than 0 DOCKWARD_EVENT=engine-lost
sleep 3  # a few retries: still one entry
lost=$(count DOCKWARD_EVENT=engine-lost)
msg=$(messages DOCKWARD_EVENT=engine-lost | head -n1)
echo "$msg" | grep -q "usermod -aG docker dockward"
advice=$?
[ "$lost" = 1 ] && [ "$advice" = 0 ]
verdict engine-lost-once-with-advice $? "$lost engine-lost entry: $msg"
layout=$(field CGROUP_LAYOUT DOCKWARD_EVENT=daemon-started)
[ -n "$layout" ] && [ "$(prop NRestarts)" = 0 ] && is_active
verdict pids-watch-without-group $? "daemon-started with CGROUP_LAYOUT=$layout, NRestarts=$(prop NRestarts)"

# --- Docker's group appears; the advice is followed -------------------------
groupadd -g "$SOCK_GID" docker && usermod -aG docker dockward
start=$(date +%s)
systemctl restart dockward.service
rc=$?
wait_for 20 is_active
active=$?
wait_for 10 status_has "engine connected"
connected=$?
[ "$rc" = 0 ] && [ "$active" = 0 ] && [ "$connected" = 0 ]
verdict start-with-group $? "systemctl restart exit $rc, $(prop ActiveState)/$(prop SubState) after $(( $(date +%s) - start )) s, STATUS=$(prop StatusText)"
pid=$(prop MainPID)
restarts=$(prop NRestarts)

# --- The exposure analysis sees what the engine sees ------------------------
wait_for 15 more_than 0 DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$TMP_CONTAINER"
exposure=$(field EXPOSURE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$TMP_CONTAINER")
[ -n "$exposure" ]
verdict tmp-symlink $? "socket-mount EXPOSURE=$exposure MOUNT_SOURCE=$(field MOUNT_SOURCE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$TMP_CONTAINER")"
wait_for 15 more_than 0 DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$LOCKED_CONTAINER"
exposure=$(field EXPOSURE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$LOCKED_CONTAINER")
[ -n "$exposure" ]
verdict folder-0700 $? "socket-mount EXPOSURE=$exposure MOUNT_SOURCE=$(field MOUNT_SOURCE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$LOCKED_CONTAINER") (folder mode $(stat -c %a "$LOCKED_DIR"))"
unresolved=$(( $(count DOCKWARD_ALERT=socket-mount-unresolved CONTAINER_ID_FULL="$TMP_CONTAINER") \
    + $(count DOCKWARD_ALERT=socket-mount-unresolved CONTAINER_ID_FULL="$LOCKED_CONTAINER") ))
[ "$unresolved" = 0 ]
verdict nothing-unresolved $? "$unresolved socket-mount-unresolved entries"

# --- Host control beyond binds, under the sandbox ----------------------------
wait_for 15 more_than 0 DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$VOLUME_CONTAINER"
volume=$(field MOUNT_VOLUME DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$VOLUME_CONTAINER")
[ "$volume" = "$VOLUME" ]
verdict named-volume $? "socket-mount MOUNT_VOLUME=$volume MOUNT_SOURCE=$(field MOUNT_SOURCE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$VOLUME_CONTAINER") EXPOSURE=$(field EXPOSURE DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$VOLUME_CONTAINER")"
wait_for 15 more_than 0 DOCKWARD_ALERT=privileged CONTAINER_ID_FULL="$PRIVILEGED_CONTAINER"
priority=$(field PRIORITY DOCKWARD_ALERT=privileged CONTAINER_ID_FULL="$PRIVILEGED_CONTAINER")
[ "$priority" = 2 ]
verdict privileged $? "privileged PRIORITY=$priority for $PRIVILEGED_CONTAINER"

# --- The watchdog: no restart over a watchdog period (WatchdogSec=30s) -------
sleep 35
[ "$(prop MainPID)" = "$pid" ] && [ "$(prop NRestarts)" = "$restarts" ] && is_active
verdict watchdog $? "after 35 s: MainPID $pid -> $(prop MainPID), NRestarts=$(prop NRestarts), WatchdogUSec=$(prop WatchdogUSec)"

# --- Reload: a good config is applied, a bad one refused, the service stays --
cp /etc/dockward/dockward.yml "$DIR/dockward.yml.orig"
before=$(count DOCKWARD_EVENT=config-reloaded)
sed -i 's/^  poll_interval: 1s/  poll_interval: 2s/' /etc/dockward/dockward.yml
systemctl reload dockward.service
rc=$?
wait_for 10 more_than "$before" DOCKWARD_EVENT=config-reloaded
seen=$?
[ "$rc" = 0 ] && [ "$seen" = 0 ] && is_active && [ "$(prop MainPID)" = "$pid" ]
verdict reload-good $? "systemctl reload exit $rc, $(prop ActiveState), $(messages DOCKWARD_EVENT=config-reloaded | tail -n1)"
before=$(count DOCKWARD_EVENT=config-rejected)
printf 'pids:\n  poll_interval: often\n' > /etc/dockward/dockward.yml
systemctl reload dockward.service
rc=$?
wait_for 10 more_than "$before" DOCKWARD_EVENT=config-rejected
seen=$?
[ "$seen" = 0 ] && is_active && [ "$(prop MainPID)" = "$pid" ]
verdict reload-bad $? "systemctl reload exit $rc, $(prop ActiveState)/$(prop SubState), same MainPID, $(messages DOCKWARD_EVENT=config-rejected | tail -n1)"
cp "$DIR/dockward.yml.orig" /etc/dockward/dockward.yml
systemctl reload dockward.service

# --- The state directory: a restart repeats no open alert --------------------
state=/var/lib/dockward/state.json
ours() { echo $(( $(count DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$TMP_CONTAINER") \
    + $(count DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$LOCKED_CONTAINER") )); }
alerts_before=$(ours)
started_before=$(count DOCKWARD_EVENT=daemon-started)
systemctl restart dockward.service
wait_for 20 is_active
wait_for 10 more_than "$started_before" DOCKWARD_EVENT=daemon-started
wait_for 10 status_has "engine connected"
sleep 3  # the listing after connect judges every container again
open=$(field DOCKWARD_OPEN_EPISODES DOCKWARD_EVENT=daemon-started)
alerts_after=$(ours)
[ -f "$state" ] && [ "${open:-0}" -ge 2 ] && [ "$alerts_after" = "$alerts_before" ]
verdict state-survives-restart $? "$state $(stat -c '%U %a %s bytes' "$state" 2>/dev/null), DOCKWARD_OPEN_EPISODES=$open, socket-mount entries $alerts_before -> $alerts_after"

# --- dockward alerts reads the entries back ----------------------------------
listed=$(dockward alerts --all 2>&1)
rc=$?
echo "$listed" | grep -q socket-mount
seen=$?
[ "$rc" = 0 ] && [ "$seen" = 0 ]
verdict alerts-command $? "dockward alerts --all exit $rc, $(echo "$listed" | grep -c .) lines"

# --- The sandbox, as this systemd rates it -----------------------------------
score=$(systemd-analyze security --no-pager dockward.service 2>/dev/null | sed -n 's/.*Overall exposure level for dockward.service: \([0-9.]*\).*/\1/p')
awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
verdict exposure-score $? "systemd-analyze security: $score"

# --- Without CAP_DAC_READ_SEARCH the 0700 folder is reported, not passed -------
# A drop-in that takes the capability away, and no state file, so every
# container is judged afresh: the one behind the 0700 folder cannot be
# resolved, and says so.
systemctl stop dockward.service
rm -f "$state"
mkdir -p /etc/systemd/system/dockward.service.d
printf '[Service]\nCapabilityBoundingSet=\nAmbientCapabilities=\n' > /etc/systemd/system/dockward.service.d/no-capability.conf
systemctl daemon-reload
systemctl start dockward.service
wait_for 30 more_than 0 DOCKWARD_ALERT=socket-mount-unresolved CONTAINER_ID_FULL="$LOCKED_CONTAINER"
seen=$?
reason=$(field PATH_ERROR DOCKWARD_ALERT=socket-mount-unresolved CONTAINER_ID_FULL="$LOCKED_CONTAINER")
[ "$seen" = 0 ] && [ "$reason" = "Permission denied" ]
verdict folder-0700-without-capability $? "socket-mount-unresolved PRIORITY=$(field PRIORITY DOCKWARD_ALERT=socket-mount-unresolved CONTAINER_ID_FULL="$LOCKED_CONTAINER") MOUNT_SOURCE=$(field MOUNT_SOURCE DOCKWARD_ALERT=socket-mount-unresolved CONTAINER_ID_FULL="$LOCKED_CONTAINER") PATH_ERROR=$reason"
rm -f /etc/systemd/system/dockward.service.d/no-capability.conf
systemctl daemon-reload
systemctl restart dockward.service
wait_for 20 is_active

# --- The actions drop-in: the cgroup tree writable, CAP_DAC_OVERRIDE ---------
# What enabling actions needs to write a container's pids.max, granted by the
# example the package ships. Without it the service sees every cgroup mount
# read-only; with it, each as writable as the machine itself has it (under
# systemd-nspawn the v1 controllers are read-only even to the guest's PID 1).
cgroup_modes() { # PID: "mount-point=rw|ro" of every mount at or under /sys/fs/cgroup it sees
    awk '$5 ~ "^/sys/fs/cgroup" { split($6, o, ","); print $5 "=" o[1] }' "/proc/$1/mountinfo" | sort | tr '\n' ' '
}
before_modes=$(cgroup_modes "$(prop MainPID)")
machine_modes=$(cgroup_modes 1)
install -D -m 0644 /usr/share/doc/dockward/examples/actions.conf /etc/systemd/system/dockward.service.d/actions.conf
systemctl daemon-reload
systemctl restart dockward.service
wait_for 20 is_active
active=$?
after_modes=$(cgroup_modes "$(prop MainPID)")
caps=$(prop CapabilityBoundingSet)
echo "$caps" | grep -q cap_dac_override
has_cap=$?
echo "$machine_modes" | grep -q "=rw"
machine_rw=$?
[ "$active" = 0 ] && [ "$has_cap" = 0 ] && [ "$machine_rw" = 0 ] && [ "$after_modes" = "$machine_modes" ] \
    && ! echo "$before_modes" | grep -q "=rw"
verdict actions-drop-in $? "$(prop ActiveState), CapabilityBoundingSet=$caps; the machine's cgroup mounts: $machine_modes; the service's without the drop-in: $before_modes; with it: $after_modes"
rm -f /etc/systemd/system/dockward.service.d/actions.conf
systemctl daemon-reload
systemctl restart dockward.service
wait_for 20 is_active

# --- Alertmanager: the unit has no network until its drop-in ----------------
# A real Alertmanager on the guest's loopback. With alertmanager.urls set and
# the shipped unit alone, dockward cannot open an IP socket and says how to
# fix it, once; with the example drop-in the open socket-mount episodes
# arrive as alerts.
am() { "$DIR/amtool" --alertmanager.url=http://127.0.0.1:9093 --timeout=3s "$@"; }
am_ready() { am config show >/dev/null 2>&1; }
am_lists() { am alert query "alertname=$1" -o simple 2>/dev/null | grep -q "$1"; }
if [ -x "$DIR/prometheus-alertmanager" ] && [ -x "$DIR/amtool" ]; then
    mkdir -p "$DIR/am/data"
    printf 'route:\n  receiver: none\nreceivers:\n  - name: none\n' > "$DIR/am/alertmanager.yml"
    "$DIR/prometheus-alertmanager" --config.file="$DIR/am/alertmanager.yml" --storage.path="$DIR/am/data" \
        --web.listen-address=127.0.0.1:9093 --cluster.listen-address= > "$DIR/am/log" 2>&1 &
    am_pid=$!
    wait_for 30 am_ready
    ready=$?
    cp /etc/dockward/dockward.yml "$DIR/dockward.yml.before-am"
    sed -i 's|^  urls: \[\]$|  urls: ["http://127.0.0.1:9093"]|' /etc/dockward/dockward.yml
    systemctl restart dockward.service
    wait_for 30 more_than 0 DOCKWARD_EVENT=alertmanager-lost
    lost=$?
    msg=$(messages DOCKWARD_EVENT=alertmanager-lost | tail -n1)
    echo "$msg" | grep -q "examples/alertmanager.conf"
    advice=$?
    [ "$ready" = 0 ] && [ "$lost" = 0 ] && [ "$advice" = 0 ] && is_active
    verdict alertmanager-needs-drop-in $? "Alertmanager ready=$ready$([ "$ready" = 0 ] || echo " ($(tail -c 300 "$DIR/am/log" | tr '\n' '|'))"); $(count DOCKWARD_EVENT=alertmanager-lost) alertmanager-lost entry: $msg"

    install -D -m 0644 /usr/share/doc/dockward/examples/alertmanager.conf /etc/systemd/system/dockward.service.d/alertmanager.conf
    systemctl daemon-reload
    systemctl restart dockward.service
    wait_for 30 am_lists DockwardSocketMount
    listed=$?
    [ "$listed" = 0 ] && is_active
    verdict alertmanager-drop-in $? "$(prop ActiveState), RestrictAddressFamilies=$(prop RestrictAddressFamilies); Alertmanager lists: $(am alert query -o simple 2>&1 | head -n4 | tr '\n' '|')"
    rm -f /etc/systemd/system/dockward.service.d/alertmanager.conf
    cp "$DIR/dockward.yml.before-am" /etc/dockward/dockward.yml
    systemctl daemon-reload
    systemctl restart dockward.service
    wait_for 20 is_active
    kill "$am_pid" 2>/dev/null
else
    fail alertmanager-needs-drop-in "no prometheus-alertmanager and amtool given to the guest (install prometheus-alertmanager on the host)"
    fail alertmanager-drop-in "not run"
fi

# --- Stop ---------------------------------------------------------------------
systemctl stop dockward.service
rc=$?
[ "$rc" = 0 ] && [ "$(prop Result)" = success ] && [ "$(prop ExecMainStatus)" = 0 ]
verdict stop $? "systemctl stop exit $rc, Result=$(prop Result), ExecMainStatus=$(prop ExecMainStatus), $(messages DOCKWARD_EVENT=daemon-stopped | tail -n1)"

# --- The journal: nothing from the unit but dockward's own entries ------------
# The unit's processes wrote only through the journal API (MESSAGE_ID or
# DOCKWARD_LOGGER on every entry); nothing came by stdout, stderr or syslog.
foreign=$(journalctl -q --no-pager -b _SYSTEMD_UNIT=dockward.service -o export 2>/dev/null | awk '
    /^$/ { if (n && !ok) { print msg } n = 0; ok = 0; msg = ""; next }
    { n = 1 }
    /^(MESSAGE_ID|DOCKWARD_LOGGER)=/ { ok = 1 }
    /^MESSAGE=/ { msg = substr($0, 9) }
    END { if (n && !ok) print msg }')
total=$(journalctl -q --no-pager -b _SYSTEMD_UNIT=dockward.service -o cat | grep -c .)
[ -z "$foreign" ] && [ "$total" -gt 0 ]
verdict journal-only-dockward $? "$total entries from the unit's processes, $(echo "$foreign" | grep -c .) not dockward's own${foreign:+: $(echo "$foreign" | head -n3 | tr '\n' '|')}"

# --- Upgrades keep everything: from a lower version to this one ---------------
# The same binary packed as $OLD_VERSION (build-deb.sh's DOCKWARD_DEB_VERSION),
# installed on a clean host (the package above purged), its config edited and
# its episodes opened; then this package over it, as apt would.
ends_clean() { ! ls /etc/dockward/*.dpkg-* /etc/dockward/*.ucf-* >/dev/null 2>&1; }
purge_out=$(dpkg -P dockward 2>&1)
rc=$?
getent passwd dockward >/dev/null
user=$?
[ "$rc" = 0 ] && [ ! -e /etc/dockward ] && [ ! -e /var/lib/dockward ] && [ "$user" != 0 ]
verdict purge-before-upgrade $? "dpkg -P exit $rc; /etc/dockward $([ -e /etc/dockward ] && echo left || echo gone), /var/lib/dockward $([ -e /var/lib/dockward ] && echo left || echo gone), user dockward $([ "$user" = 0 ] && echo left || echo gone)"
old_out=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$DIR/dockward-old.deb" 2>&1 </dev/null)
rc=$?
wait_for 20 is_active
wait_for 15 status_has "engine connected"
old_version=$(dpkg-query -W -f '${Version}' dockward)
sed -i 's/^  resync_interval: 5m$/  resync_interval: 4m  # edited before the upgrade/' /etc/dockward/dockward.yml
systemctl reload dockward.service
wait_for 15 more_than 0 DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$TMP_CONTAINER"
wait_for 15 more_than 0 DOCKWARD_ALERT=socket-mount CONTAINER_ID_FULL="$LOCKED_CONTAINER"
sleep 2  # the state file is written as episodes open
[ "$rc" = 0 ] && [ "$old_version" = "$OLD_VERSION" ] && is_active && [ -f "$state" ]
verdict install-lower-version $? "dpkg -i exit $rc, version $old_version, $(prop ActiveState)/$(prop SubState), $(ours) socket-mount entries, $state $(stat -c '%s bytes' "$state" 2>/dev/null)"

since=$(date +%s)
sleep 1
invocation=$(prop InvocationID)
started_before=$(count DOCKWARD_EVENT=daemon-started)
stopped_before=$(count DOCKWARD_EVENT=daemon-stopped)
upgrade_out=$(DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$DIR/dockward.deb" 2>&1 </dev/null)
rc=$?
wait_for 20 is_active
wait_for 10 more_than "$started_before" DOCKWARD_EVENT=daemon-started
wait_for 15 status_has "engine connected"
sleep 5  # the listing after connect judges every container again
new_version=$(dpkg-query -W -f '${Version}' dockward)
started=$(( $(count DOCKWARD_EVENT=daemon-started) - started_before ))
stopped=$(( $(count DOCKWARD_EVENT=daemon-stopped) - stopped_before ))
# A repeat is an alert about a (kind, container) already reported before
# the upgrade; a container the engine started meanwhile is news, not a repeat.
alert_pairs() {
    journalctl -q --no-pager -u dockward.service "$@" -o export 2>/dev/null | awk -F= '
        /^DOCKWARD_ALERT=/ { a = $2 } /^CONTAINER_ID_FULL=/ { c = $2 }
        /^$/ { if (a != "") print a " " c; a = ""; c = "" }
        END { if (a != "") print a " " c }' | sort -u
}
alert_pairs --until "@$since" > /tmp/alerts-before
alert_pairs --since "@$since" > /tmp/alerts-after
repeated=$(comm -12 /tmp/alerts-before /tmp/alerts-after | wc -l)
news=$(comm -13 /tmp/alerts-before /tmp/alerts-after | wc -l)
open=$(field DOCKWARD_OPEN_EPISODES DOCKWARD_EVENT=daemon-started)
edited=$(grep -c 'edited before the upgrade' /etc/dockward/dockward.yml)
prompt=$(echo "$upgrade_out" | grep -c -i -E 'configuration file|dpkg-dist|dpkg-new')
[ "$rc" = 0 ] && [ "$new_version" = "$NEW_VERSION" ] && [ "$edited" = 1 ] && [ "$prompt" = 0 ] && ends_clean \
    && [ -f "$state" ] && [ "${open:-0}" -ge 2 ] && [ "$started" = 1 ] && [ "$stopped" = 1 ] \
    && [ "$(prop InvocationID)" != "$invocation" ] && [ "$repeated" = 0 ] && is_active
verdict upgrade $? "$old_version -> $new_version (dpkg exit $rc), conffile kept ($edited edited line, $prompt prompt lines, $(ls /etc/dockward | tr '\n' ' ')), state kept ($open episodes), $started restart ($stopped stop, InvocationID changed: $([ "$(prop InvocationID)" != "$invocation" ] && echo yes || echo no)), $repeated repeated alerts ($news about containers new since)"
dockward check-config /etc/dockward/dockward.yml >/dev/null 2>&1
verdict upgrade-config-valid $? "$(dockward version) validates the kept file: $(dockward check-config /etc/dockward/dockward.yml 2>&1 | head -n1)"

remove_out=$(dpkg -r dockward 2>&1)
rc=$?
[ "$rc" = 0 ] && [ ! -e /usr/bin/dockward ] && [ "$(grep -c 'edited before the upgrade' /etc/dockward/dockward.yml 2>/dev/null)" = 1 ] \
    && [ -f "$state" ] && ! is_active
verdict remove-keeps-config-and-state $? "dpkg -r exit $rc, $(prop ActiveState), /etc/dockward: $(ls /etc/dockward 2>/dev/null | tr '\n' ' ')$state $([ -f "$state" ] && echo kept || echo gone)"
purge_out=$(dpkg -P dockward 2>&1)
rc=$?
getent passwd dockward >/dev/null
user=$?
getent group dockward >/dev/null
group=$?
leftovers=$(ls -d /etc/dockward /var/lib/dockward /var/lib/private/dockward /usr/share/doc/dockward \
    /etc/systemd/system/multi-user.target.wants/dockward.service /etc/systemd/system/dockward.service 2>/dev/null | tr '\n' ' ')
[ "$rc" = 0 ] && [ -z "$leftovers" ] && [ "$user" != 0 ] && [ "$group" != 0 ] \
    && [ -z "$(dpkg-query -W -f '${Status}' dockward 2>/dev/null | grep -v not-installed)" ]
verdict purge-removes-everything $? "dpkg -P exit $rc; left: ${leftovers:-nothing}; user dockward $([ "$user" = 0 ] && echo left || echo removed), group $([ "$group" = 0 ] && echo left || echo removed)"

finish
