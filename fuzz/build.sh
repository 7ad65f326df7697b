#!/usr/bin/env bash
# Builds the libFuzzer targets (events, config, cgroup) into .build-fuzz/bin.
#
#   fuzz/build.sh [TARGET...]        default: all three
#
# No SwiftPM build: each target is one module made of every file in
# Sources/DockwardCore, the parser file under test (its `import DockwardCore`
# is then ignored with a warning) and fuzz/<target>/main.swift, compiled by
# swiftc with -sanitize=fuzzer,address. Yams and libyaml (CYaml), at the
# revision the main package pins, come from a private checkout
# (`swift package --scratch-path .build-fuzz/spm resolve`) and are built with
# the same instrumentation, so the config target's coverage reaches libyaml.
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

# Extra Sources files each target needs beside Sources/DockwardCore.
extra_sources() {
    case "$1" in
        events) echo "$ROOT/Sources/DockwardDocker/EventStreamDecoder.swift" ;;
        config) ;;
        cgroup) echo "$ROOT/Sources/DockwardCgroup/PidsFileParser.swift" ;;
        *) echo "fuzz/build.sh: unknown target $1 (events, config, cgroup)" >&2; exit 2 ;;
    esac
}
for t in "${targets[@]}"; do extra_sources "$t" >/dev/null; done

mkdir -p "$OUT/bin" "$OUT/yams" "$OUT/tmp"
# swiftc may leave module files in the working directory; keep them out of the repo.
cd "$OUT/tmp"

# --- Yams + CYaml, once per pinned revision ---------------------------------
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
SAN=(-sanitize=fuzzer,address)
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

# --- the targets -------------------------------------------------------------
# Compile a snapshot of the sources: others edit Sources/ while this builds,
# and swiftc refuses an input file that changes under it.
SNAP="$OUT/src"
rm -rf "$SNAP" && mkdir -p "$SNAP/DockwardCore" "$SNAP/extra"
cp "$ROOT"/Sources/DockwardCore/*.swift "$SNAP/DockwardCore/"
for t in "${targets[@]}"; do
    extra=()
    for f in $(extra_sources "$t"); do cp "$f" "$SNAP/extra/"; extra+=("$SNAP/extra/$(basename "$f")"); done
    inputs=("$SNAP"/DockwardCore/*.swift "${extra[@]}" "$ROOT/fuzz/$t/main.swift")
    # Rebuild only when a source, Yams or the flags changed.
    stamp=$( { cat "${inputs[@]}"; echo "$YAMS_REV $OPT $SWIFTC"; } | sha256sum | cut -d' ' -f1)
    if [ -x "$OUT/bin/fuzz-$t" ] && [ "$(cat "$OUT/bin/fuzz-$t.stamp" 2>/dev/null)" = "$stamp" ]; then
        echo "fuzz/build.sh: fuzz-$t is up to date"
        continue
    fi
    echo "fuzz/build.sh: building fuzz-$t"
    # `import DockwardCore` in the extra file names the module being built;
    # swiftc ignores it with a warning, hence -suppress-warnings.
    "$SWIFTC" "${SAN[@]}" $OPT -g -parse-as-library -wmo -module-name DockwardCore -swift-version 5 \
        -suppress-warnings -I "$YAMS_OUT/mod" -I "$YAMS_SRC/CYaml/include" -Xcc -DYAML_DECLARE_STATIC \
        "${inputs[@]}" "$YAMS_OUT/yams.o" "$YAMS_OUT"/cyaml/*.o -use-ld=lld \
        -o "$OUT/bin/fuzz-$t"
    echo "$stamp" >"$OUT/bin/fuzz-$t.stamp"
done
echo "fuzz/build.sh: built ${targets[*]} in $OUT/bin"
