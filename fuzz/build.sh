#!/usr/bin/env bash
# Builds the libFuzzer targets (events, config, cgroup) into .build-fuzz/bin.
#
#   fuzz/build.sh [TARGET...]        default: all three
#
# No SwiftPM build, but the same module graph: each target compiles the
# files of the SwiftPM module it tests *as that module* (events: DockwardDocker,
# config: DockwardCore, cgroup: DockwardCgroup), together with
# fuzz/<target>/main.swift so the target sees the module's internal helpers.
# A package module those files import is built separately from all of its
# sources and linked in, with the modules it imports in turn, exactly as
# SwiftPM would: DockwardCore imports DockwardYAML, which imports the system
# library CLibYAML (Sources/CLibYAML/module.modulemap over <yaml.h>, linked
# with -lyaml). Every Swift module is compiled by swiftc with
# -sanitize=fuzzer,address. libyaml itself is the system's shared library,
# not rebuilt here: it has no coverage instrumentation and no ASan checks of
# its own accesses (ASan still owns malloc and free), so the fuzzer is guided
# by DockwardYAML's and DockwardCore's code, not by libyaml's.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/.build-fuzz}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
SWIFTC=${SWIFTC:-$(command -v swiftc)}
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

mkdir -p "$OUT/bin" "$OUT/tmp"
# swiftc may leave module files in the working directory; keep them out of the repo.
cd "$OUT/tmp"

SAN=(-sanitize=fuzzer,address)

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

# The package modules (folders of Sources/) a set of files imports, other
# than MODULE itself; Foundation, Glibc and the like are not package modules.
imported_modules() {   # imported_modules MODULE FILE...
    local module=$1 m; shift
    for m in $(sed -n 's/^[@A-Za-z_ ]*import  *\([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$@" | sort -u); do
        [ "$m" != "$module" ] && [ -d "$ROOT/Sources/$m" ] && echo "$m"
    done
    return 0
}

# The modules a target may link besides its own, as Package.swift declares
# them. Any other package module is an error, so a parser that starts to
# need NIO or libsystemd shows up here.
module_kind() {
    case "$1" in
        DockwardCore|DockwardYAML) echo swift ;;   # built from all of their files
        CLibYAML) echo system ;;                   # a module map over a system library
        *) echo none ;;
    esac
}
# A system library's pkg-config name (Package.swift's `pkgConfig:`).
system_pkgconfig() {
    case "$1" in
        CLibYAML) echo yaml-0.1 ;;
    esac
}

# Per built module: what an importer passes to swiftc (MOD_FLAGS), the
# objects (MOD_OBJS) and libraries (MOD_LIBS) to link, all transitive, one
# entry per line (an option and its argument are one entry, split by a tab);
# MOD_STAMP changes whenever any of that would.
declare -A MOD_FLAGS MOD_OBJS MOD_LIBS MOD_STAMP
# Appends the lines of $2 to the variable named $1, skipping lines it has.
add_lines() {
    local -n into=$1
    local line
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        grep -qxF -- "$line" <<<"$into" || into+="$line"$'\n'
    done <<<"$2"
}
# The entries of $2 as words, in the array named $1.
entries_to_words() {
    local -n words=$1
    local line parts
    words=()
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        IFS=$'\t' read -r -a parts <<<"$line"
        words+=("${parts[@]}")
    done <<<"$2"
}

# gather_modules MODULE...: builds each (build_module) and gathers what
# whatever imports them compiles and links with, into the caller's f_lines,
# o_lines, l_lines (entries) and dep_stamp.
gather_modules() {
    local dep
    f_lines="" o_lines="" l_lines="" dep_stamp=""
    for dep in "$@"; do
        build_module "$dep"
        add_lines f_lines "${MOD_FLAGS[$dep]}"
        add_lines o_lines "${MOD_OBJS[$dep]}"
        add_lines l_lines "${MOD_LIBS[$dep]}"
        dep_stamp+="$dep=${MOD_STAMP[$dep]} "
    done
}

build_module() {   # build_module NAME
    local name=$1
    [ -z "${MOD_STAMP[$name]:-}" ] || return 0
    case "$(module_kind "$name")" in
    system)
        # The module map and its header, as SwiftPM reads them from Sources/.
        local pc libs cflags version dir="$SNAP/$name"
        mkdir -p "$dir" && cp "$ROOT/Sources/$name"/* "$dir"/
        pc=$(system_pkgconfig "$name")
        libs=$(pkg-config --libs "$pc" 2>/dev/null) && libs=$(echo $libs) || libs="-l${pc%%-*}"
        cflags=$(pkg-config --cflags "$pc" 2>/dev/null) || cflags=""
        version=$(pkg-config --modversion "$pc" 2>/dev/null) || version=unknown
        MOD_FLAGS[$name]=$(printf -- '-I\t%s\n' "$dir"; for f in $cflags; do printf -- '-Xcc\t%s\n' "$f"; done)
        MOD_OBJS[$name]=""
        MOD_LIBS[$name]=$(printf '%s\n' $libs)
        MOD_STAMP[$name]=$( { cat "$dir"/*; echo "$pc $version $libs $cflags"; } | sha256sum | cut -d' ' -f1)
        echo "fuzz/build.sh: $name is the system's $pc $version ($libs), not instrumented"
        ;;
    swift)
        local dir="$OUT/modules/$name" inputs deps flags=() f_lines o_lines l_lines dep_stamp
        mapfile -t inputs < <(snapshot "$name" $(cd "$ROOT/Sources/$name" && ls ./*.swift | sed 's|^\./||'))
        deps=$(imported_modules "$name" "${inputs[@]}")
        gather_modules $deps
        entries_to_words flags "$f_lines"
        MOD_FLAGS[$name]="-I"$'\t'"$dir"$'\n'"$f_lines"
        MOD_OBJS[$name]="$dir/$name.o"$'\n'"$o_lines"
        MOD_LIBS[$name]="$l_lines"
        MOD_STAMP[$name]=$( { cat "${inputs[@]}"; echo "$name $dep_stamp $OPT $SWIFTC"; } | sha256sum | cut -d' ' -f1)
        if [ -f "$dir/$name.o" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "${MOD_STAMP[$name]}" ]; then
            return 0
        fi
        echo "fuzz/build.sh: building module $name${deps:+ (importing $(echo $deps))}"
        rm -rf "$dir" && mkdir -p "$dir"
        "$SWIFTC" "${SAN[@]}" $OPT -g -parse-as-library -wmo -module-name "$name" -swift-version 5 \
            "${flags[@]}" -emit-module -emit-module-path "$dir/$name.swiftmodule" \
            -c "${inputs[@]}" -o "$dir/$name.o"
        echo "${MOD_STAMP[$name]}" >"$dir/stamp"
        ;;
    *)
        echo "fuzz/build.sh: $name cannot be linked into a fuzz target (only $(echo DockwardCore DockwardYAML CLibYAML))" >&2
        exit 1 ;;
    esac
}

for t in "${targets[@]}"; do
    module=$(target_module "$t")
    mapfile -t inputs < <(snapshot "$module" $(target_files "$t"))
    inputs+=("$ROOT/fuzz/$t/main.swift")
    deps=$(imported_modules "$module" "${inputs[@]}")
    gather_modules $deps
    entries_to_words flags "$f_lines"
    entries_to_words link "$o_lines$l_lines"
    # Rebuild only when a source, a linked module, a system library or the flags changed.
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
