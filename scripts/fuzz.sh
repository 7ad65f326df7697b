#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (fuzz/README.md), one after the other.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      default 60 (or $FUZZ_SECONDS)
#
# Environment: FUZZ_TARGETS="events config cgroup" (subset/order),
# FUZZ_RSS_MB=2048, FUZZ_TIMEOUT=10 (seconds per input), FUZZ_REGRESSIONS=0
# to skip replaying fuzz/regressions/<target>/, FUZZ_KEEP_GOING=1 to keep
# fuzzing past crashes (libFuzzer -fork=1 -ignore_crashes/timeouts/ooms; each
# finding is saved, the run still fails).
#
# Each target first replays its saved regressions (fuzz/regressions/<target>/*,
# one process per file), then fuzzes for SECONDS_PER_TARGET on a working copy of
# fuzz/corpus/<target> in .build-fuzz/corpus/<target> (the checked-in seeds are
# never written; the working copy keeps what earlier runs found). Crash, timeout
# and OOM inputs land in .build-fuzz/artifacts/<target>/; logs in .build-fuzz/logs/.
# Exit status: 0 when nothing crashed, timed out or ran out of memory, else 1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:-${FUZZ_SECONDS:-60}}
OUT=${FUZZ_OUT:-$ROOT/.build-fuzz}
RSS=${FUZZ_RSS_MB:-2048}
TIMEOUT=${FUZZ_TIMEOUT:-10}
read -r -a TARGETS <<<"${FUZZ_TARGETS:-events config cgroup}"
case "$SECS" in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac

FUZZ_OUT="$OUT" "$ROOT/fuzz/build.sh" "${TARGETS[@]}" || { echo "fuzz: build failed" >&2; exit 1; }

LIMITS=(-rss_limit_mb="$RSS" -timeout="$TIMEOUT")
# Swift's own crash backtracer reads memory ASan reports as an overflow, which
# buries the real error; libFuzzer prints the stack instead.
export SWIFT_BACKTRACE=enable=no
failed=0
summary=()
mkdir -p "$OUT/logs"

for t in "${TARGETS[@]}"; do
    bin="$OUT/bin/fuzz-$t"
    work="$OUT/corpus/$t"
    art="$OUT/artifacts/$t/"
    log="$OUT/logs/$t.log"
    rm -rf "$art" && mkdir -p "$work" "$art"
    cp -n "$ROOT/fuzz/corpus/$t"/* "$work"/ 2>/dev/null || true

    # 1. Known bad inputs must pass now (each one alone, so all are reported).
    reg_total=0 reg_failed=0
    if [ "${FUZZ_REGRESSIONS:-1}" != 0 ] && [ -d "$ROOT/fuzz/regressions/$t" ]; then
        for f in "$ROOT/fuzz/regressions/$t"/*; do
            [ -f "$f" ] || continue
            [ "$(basename "$f")" = README.md ] && continue
            reg_total=$((reg_total + 1))
            # -runs=10: some bugs (nondeterministic results) show on most runs, not all.
            if ! "$bin" "${LIMITS[@]}" -runs=10 -artifact_prefix="$art" "$f" >"$OUT/logs/$t-regression-$(basename "$f").log" 2>&1; then
                reg_failed=$((reg_failed + 1))
                echo "fuzz: $t: regression $(basename "$f") FAILS (log: $OUT/logs/$t-regression-$(basename "$f").log)" >&2
            fi
        done
    fi

    # 2. Fuzz.
    echo "fuzz: $t: fuzzing for ${SECS}s (log: $log)"
    mode=()
    [ "${FUZZ_KEEP_GOING:-0}" = 1 ] && mode=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
    [ -f "$ROOT/fuzz/$t/fuzz.dict" ] && mode+=(-dict="$ROOT/fuzz/$t/fuzz.dict")
    "$bin" "${LIMITS[@]}" "${mode[@]}" -max_total_time="$SECS" -print_final_stats=1 \
        -artifact_prefix="$art" "$work" >"$log" 2>&1
    rc=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    if [ -z "$execs" ]; then   # no final stats (a crash, or fork mode): the last status line
        last=$(grep -E '^#[0-9]+' "$log" | tail -1)
        execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
        rate=$(sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p' <<<"$last")
        [ -n "$rss" ] || rss=$(sed -nE 's/.*rss: ([0-9]+)Mb.*/\1/p' <<<"$last")
    fi
    corpus=$(find "$work" -type f | wc -l)
    mapfile -t found < <(find "$art" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) -printf '%f\n')
    verdict="no crashes"
    if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
        failed=1
        verdict="FAILED (exit $rc): ${found[*]:-see log}"
        echo "fuzz: $t: failure; inputs in $art, excerpt of $log:" >&2
        grep -E -A25 '==ERROR|^==[0-9]+== ?ERROR|Fatal error|property violated|ALARM|out-of-memory|deadly signal' "$log" | head -60 >&2
    fi
    if [ "$reg_failed" -gt 0 ]; then
        failed=1
        verdict="$verdict; regressions failing: $reg_failed/$reg_total"
    elif [ "$reg_total" -gt 0 ]; then
        verdict="$verdict; regressions: $reg_total pass"
    fi
    summary+=("$(printf '%-7s %12s execs  %8s exec/s  corpus %6s  peak %5s MB  %s' \
        "$t" "${execs:-?}" "${rate:-?}" "$corpus" "${rss:-?}" "$verdict")")
done

echo
echo "fuzz summary (${SECS}s per target, -rss_limit_mb=$RSS -timeout=$TIMEOUT):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
