# Sourced (POSIX sh) by the checks that run inside the QEMU guests
# (scripts/v2host-test-guest.sh, scripts/k8snode-test-guest.sh), copied next
# to them as /dockward-test/guest-checks.sh: the PASS/FAIL/INFO lines on the
# serial console (/dev/ttyS0, qemu's stdout), the timing, dockward's journal
# entries and the kernel's "fork rejected" lines. The sourcing script defines
# before_poweroff, which finish calls last.
DIR=/dockward-test
OUT=$DIR/results.txt
TTY=/dev/ttyS0
CONF=/etc/dockward/dockward.yml
CG=/sys/fs/cgroup
FAILED=0
: > "$OUT"
printf "\n" > "$TTY" 2>/dev/null

say() { printf '%s\n' "$*" >> "$OUT"; printf '%s\n' "$*" > "$TTY" 2>/dev/null || true; }
pass() { say "PASS $1: $2"; }
fail() { say "FAIL $1: $2"; FAILED=1; }
# verdict NAME CONDITION-RESULT DETAIL
verdict() { if [ "$2" = 0 ]; then pass "$1" "$3"; else fail "$1" "$3"; fi; }
info() { say "INFO $*"; }
oneline() { tr '\n' '|' | sed 's/|$//'; }
# Seconds each part took, said at the end.
T0=$(date +%s)
TLAST=$T0
TIMES=""
mark() { t=$(date +%s); TIMES="$TIMES $1 $((t - TLAST))s,"; TLAST=$t; }

now_usec() { echo $(( $(date +%s%N) / 1000 )); }
ms() { echo $(( ($1) / 1000 )); }  # microseconds to milliseconds
# dockward's entries (its unit's own processes) matching FIELD=VALUE..., export format.
jx() { journalctl -q --no-pager -o export _SYSTEMD_UNIT=dockward.service "$@" 2>/dev/null; }
entries() { jx "$@" | grep -c '^__CURSOR='; }
has() { [ "$(entries "$@")" -gt 0 ]; }
more_than() { n=$1; shift; [ "$(entries "$@")" -gt "$n" ]; }
# The value of FIELD in the last (field) or first (field1) entry matching the rest.
field() { f=$1; shift; jx "$@" | sed -n "s/^$f=//p" | tail -n1; }
first_usec() { jx "$@" | sed -n 's/^__REALTIME_TIMESTAMP=//p' | head -n1; }
# Each entry's FIELD values, "-" where it has none: "50 50 -".
field_all() {
    f=$1; shift
    jx "$@" | awk -v f="$f=" '
        /^__CURSOR=/ { if (n) printf "%s ", v; n = 1; v = "-" }
        index($0, f) == 1 { v = substr($0, length(f) + 1) }
        END { if (n) printf "%s", v }'
}
# The kernel's "fork rejected" line for a cgroup path (its end), and its time.
kline() { journalctl -q --no-pager -k -o short-unix 2>/dev/null | grep "fork rejected by pids controller in .*$1\$" | head -n1; }
kline_usec() { kline "$1" | awk '{ split($1, t, "."); printf "%d%s\n", t[1], substr(t[2] "000000", 1, 6) }'; }
kline_path() { kline "$1" | sed 's/.*fork rejected by pids controller in //'; }
# On the kernel's own clock (CLOCK_MONOTONIC, microseconds): when it printed
# the refusal line for a cgroup path's end, and when dockward wrote its first
# entry matching FIELD=VALUE...; journald's reception time of the kernel's
# line is no bound (dockward may see a refusal before journald reads kmsg).
kline_mono() {
    journalctl -q --no-pager -k -o export 2>/dev/null | awk -v end="$1" '
        /^_SOURCE_MONOTONIC_TIMESTAMP=/ { t = substr($0, 29) }
        /^MESSAGE=/ && index($0, "fork rejected by pids controller in ") \
            && substr($0, length($0) - length(end) + 1) == end { hit = 1 }
        /^$/ { if (hit && t != "") { print t; printed = 1; exit } hit = 0; t = "" }
        END { if (!printed && hit && t != "") print t }'
}
first_mono() { jx "$@" | sed -n 's/^__MONOTONIC_TIMESTAMP=//p' | head -n1; }
wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
    n=$(( $1 * 5 )); shift
    while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.2; n=$((n - 1)); done
    return 1
}
prop() { systemctl show -p "$1" --value dockward.service; }
is_active() { [ "$(prop ActiveState)" = active ] && [ "$(prop SubState)" = running ]; }
status_has() { prop StatusText | grep -q "$1"; }
# Restart, and wait until the engine link is up and the first listing done
# (connected: the sourcing script's test of that).
restart_dockward() {
    started=$(entries DOCKWARD_EVENT=daemon-started)
    systemctl restart dockward.service
    wait_for 30 more_than "$started" DOCKWARD_EVENT=daemon-started
    wait_for 30 connected
}
reload_dockward() {
    reloaded=$(entries DOCKWARD_EVENT=config-reloaded)
    systemctl reload dockward.service
    wait_for 20 more_than "$reloaded" DOCKWARD_EVENT=config-reloaded
}
finish() {
    if [ "$FAILED" != 0 ]; then
        journalctl -q --no-pager -u dockward.service -o short-monotonic -n 60 2>&1 | sed 's/^/JOURNAL /' > "$TTY"
        journalctl -q --no-pager -k -o short-monotonic 2>/dev/null | grep 'fork rejected' | tail -n 20 | sed 's/^/JOURNAL /' > "$TTY"
    fi
    info "timing (s since the checks began: $(( $(date +%s) - T0 ))):${TIMES%,}"
    say DONE
    before_poweroff
    systemctl poweroff --no-block
    exit 0
}
