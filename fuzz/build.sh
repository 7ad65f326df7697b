#!/usr/bin/env bash
# Builds the libFuzzer targets (events, config, cgroup) into .build-fuzz/bin.
#
#   fuzz/build.sh [TARGET...]        default: all three
#
# No SwiftPM build, but the same module graph: each target compiles the
# files of the SwiftPM module it tests *as that module* (events: DockwardDocker,
# config: DockwardCore, cgroup: DockwardCgroup), together with
# fuzz/<target>/main.swift so the target sees the module's internal helpers.
# A module those files import (only DockwardCore is expected) is built
# separately from all of its sources and linked in, exactly as SwiftPM would.
# Everything is compiled by swiftc with -sanitize=fuzzer,address. Yams and
# libyaml (CYaml), at the revision the main package pins, come from a private
# checkout (`swift package --scratch-path .build-fuzz/spm resolve`) and are
# built with the same instrumentation, so the config target's coverage
# reaches libyaml; they are built only when DockwardCore is linked.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/.build-fuzz}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
SWIFTC=${SWIFTC:-$(command -v swiftc)}
SWIFT=${SWIFT:-$(dirname "$SWIFTC")/swift}
# The toolchain's own clang, so CYaml links against the same compiler-rt.
CLANG=${CLANG:-$(dirname "$SWIFTC")/clang}
OPT=${FUZZ_OPT:--O}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(events config cgroup)

# The SwiftPM module each target tests, and the files of it that the target
# compiles (relative to Sources/<module>). Only the pure files the parser
# needs: the rest of an adapter module drags in NIO, libsystemd, ...
target_module() {
    case "$1" in
        events) echo DockwardDocker ;;
        config) echo DockwardCore ;;
        cgroup) echo DockwardCgroup ;;
        *) echo "fuzz/build.sh: unknown target $1 (events, config, cgroup)" >&2; exit 2 ;;
    esac
}
target_files() {
    case "$1" in
        events) echo EventStreamDecoder.swift EngineEvent.swift ;;
        config) (cd "$ROOT/Sources/DockwardCore" && ls ./*.swift | sed 's|^\./||') ;;
        cgroup) echo PidsFileParser.swift ;;
    esac
}
for t in "${targets[@]}"; do target_module "$t" >/dev/null; done

mkdir -p "$OUT/bin" "$OUT/yams" "$OUT/tmp"
# swiftc may leave module files in the working directory; keep them out of the repo.
cd "$OUT/tmp"

SAN=(-sanitize=fuzzer,address)

# --- Yams + CYaml, once per pinned revision ---------------------------------
# Only DockwardCore imports Yams; a target that does not link Core skips this.
YAMS_REV=""
build_yams() {
    [ -z "$YAMS_REV" ] || return 0
    echo "fuzz/build.sh: resolving packages (pins from Package.resolved)"
    YAMS_DIR="$OUT/spm/checkouts/Yams"
    if ! "$SWIFT" package --package-path "$ROOT" --scratch-path "$OUT/spm" resolve >"$OUT/resolve.log" 2>&1; then
        # Offline, or another dependency does not resolve: any Yams checkout will do.
        [ -d "$YAMS_DIR/Sources/Yams" ] || YAMS_DIR="$ROOT/.build/checkouts/Yams"
        [ -d "$YAMS_DIR/Sources/Yams" ] || { cat "$OUT/resolve.log" >&2; echo "fuzz/build.sh: no Yams checkout" >&2; exit 1; }
        echo "fuzz/build.sh: resolve failed (see $OUT/resolve.log); using $YAMS_DIR" >&2
    fi
    YAMS_SRC="$YAMS_DIR/Sources"
    YAMS_REV=$(git -C "$YAMS_DIR" rev-parse HEAD)
    YAMS_OUT="$OUT/yams/$YAMS_REV"
    if [ ! -f "$YAMS_OUT/done" ]; then
        echo "fuzz/build.sh: building Yams ${YAMS_REV:0:12} with libFuzzer coverage and ASan"
        rm -rf "$YAMS_OUT" && mkdir -p "$YAMS_OUT/cyaml" "$YAMS_OUT/mod"
        for c in "$YAMS_SRC"/CYaml/src/*.c; do
            "$CLANG" -c -O1 -g -fsanitize=fuzzer-no-link,address -DYAML_DECLARE_STATIC \
                -I "$YAMS_SRC/CYaml/include" "$c" -o "$YAMS_OUT/cyaml/$(basename "$c" .c).o"
        done
        "$SWIFTC" "${SAN[@]}" $OPT -g -parse-as-library -wmo -module-name Yams -swift-version 5 \
            -D SWIFT_PACKAGE -Xcc -DYAML_DECLARE_STATIC -I "$YAMS_SRC/CYaml/include" \
            -emit-module -emit-module-path "$YAMS_OUT/mod/Yams.swiftmodule" \
            -c "$YAMS_SRC"/Yams/*.swift -o "$YAMS_OUT/yams.o" -suppress-warnings
        touch "$YAMS_OUT/done"
    fi
}

# --- the targets -------------------------------------------------------------
# Compile a snapshot of the sources: others edit Sources/ while this builds,
# and swiftc refuses an input file that changes under it.
SNAP="$OUT/src"
rm -rf "$SNAP"
snapshot() {   # snapshot MODULE FILE... -> prints the copied paths
    local module=$1; shift
    mkdir -p "$SNAP/$module"
    for f in "$@"; do
        [ -f "$SNAP/$module/$f" ] || cp "$ROOT/Sources/$module/$f" "$SNAP/$module/$f"
        echo "$SNAP/$module/$f"
    done
}

# The Dockward modules a set of files imports, other than MODULE itself.
imported_modules() {   # imported_modules MODULE FILE...
    local module=$1; shift
    sed -n 's/^[@A-Za-z_ ]*import  *\(Dockward[A-Za-z]*\).*/\1/p' "$@" \
        | sort -u | grep -vx "$module" || true
}

# DockwardCore as a module of its own (all of its files, with Yams), for a
# target whose module imports it. Sets CORE_LINK to what to link, CORE_STAMP.
CORE_LINK=()
CORE_STAMP=""
build_core_module() {
    [ -z "$CORE_STAMP" ] || return 0
    build_yams
    local dir="$OUT/modules/DockwardCore" inputs
    mapfile -t inputs < <(snapshot DockwardCore $(target_files config))
    CORE_STAMP=$( { cat "${inputs[@]}"; echo "$YAMS_REV $OPT $SWIFTC"; } | sha256sum | cut -d' ' -f1)
    CORE_LINK=("$dir/DockwardCore.o" "$YAMS_OUT/yams.o" "$YAMS_OUT"/cyaml/*.o)
    if [ -f "$dir/DockwardCore.o" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$CORE_STAMP" ]; then
        return 0
    fi
    echo "fuzz/build.sh: building module DockwardCore"
    rm -rf "$dir" && mkdir -p "$dir"
    "$SWIFTC" "${SAN[@]}" $OPT -g -parse-as-library -wmo -module-name DockwardCore -swift-version 5 \
        -I "$YAMS_OUT/mod" -I "$YAMS_SRC/CYaml/include" -Xcc -DYAML_DECLARE_STATIC \
        -emit-module -emit-module-path "$dir/DockwardCore.swiftmodule" \
        -c "${inputs[@]}" -o "$dir/DockwardCore.o"
    echo "$CORE_STAMP" >"$dir/stamp"
}

for t in "${targets[@]}"; do
    module=$(target_module "$t")
    mapfile -t inputs < <(snapshot "$module" $(target_files "$t"))
    inputs+=("$ROOT/fuzz/$t/main.swift")
    deps=$(imported_modules "$module" "${inputs[@]}")
    flags=()
    link=()
    dep_stamp=""
    for dep in $deps; do
        case "$dep" in
            DockwardCore)
                build_core_module
                flags+=(-I "$OUT/modules/DockwardCore")
                link+=("${CORE_LINK[@]}")
                dep_stamp+="$CORE_STAMP" ;;
            *) echo "fuzz/build.sh: $t: $module imports $dep; only DockwardCore can be linked in" >&2; exit 1 ;;
        esac
    done
    if [ "$module" = DockwardCore ]; then
        build_yams
        link+=("$YAMS_OUT/yams.o" "$YAMS_OUT"/cyaml/*.o)
        dep_stamp+="$YAMS_REV"
    fi
    [ -z "$YAMS_REV" ] || flags+=(-I "$YAMS_OUT/mod" -I "$YAMS_SRC/CYaml/include" -Xcc -DYAML_DECLARE_STATIC)
    # Rebuild only when a source, a linked module, Yams or the flags changed.
    stamp=$( { cat "${inputs[@]}"; echo "$module $dep_stamp $OPT $SWIFTC"; } | sha256sum | cut -d' ' -f1)
    if [ -x "$OUT/bin/fuzz-$t" ] && [ "$(cat "$OUT/bin/fuzz-$t.stamp" 2>/dev/null)" = "$stamp" ]; then
        echo "fuzz/build.sh: fuzz-$t is up to date"
        continue
    fi
    echo "fuzz/build.sh: building fuzz-$t (module $module${deps:+, linking $(echo $deps)})"
    "$SWIFTC" "${SAN[@]}" $OPT -g -parse-as-library -wmo -module-name "$module" -swift-version 5 \
        "${flags[@]}" "${inputs[@]}" "${link[@]}" -use-ld=lld -o "$OUT/bin/fuzz-$t"
    echo "$stamp" >"$OUT/bin/fuzz-$t.stamp"
done
echo "fuzz/build.sh: built ${targets[*]} in $OUT/bin"
