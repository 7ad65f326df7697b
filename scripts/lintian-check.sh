#!/usr/bin/env bash
# Runs lintian (default level: errors and warnings) on the packages that
# scripts/build-deb.sh made, and fails on any finding but those listed in
# KNOWN below.
#
#   scripts/lintian-check.sh DEB...         # e.g. .build/deb/dockward_0.1.0_amd64.deb
#
# Without lintian: fails under CI=true, else says so and exits 0 (skipped);
# `make test-systemd` installs it (make packaging-tools).
set -euo pipefail

# Tags still expected, with where they come from. Each goes once its cause
# is gone (a system library instead of the embedded copy); an entry for a
# tag lintian no longer prints fails the check too, so this list cannot go
# stale.
#   embedded-library libyaml: Yams compiles libyaml 0.2.5 in (its CYaml target).
#   embedded-library zlib: swift-nio-extras compiles zlib 1.3.2.1 in
#     (CNIOExtrasZlib, symbols renamed cnioextras_z_*), for NIOHTTPCompression.
KNOWN=(
    "E: dockward: embedded-library libyaml [usr/bin/dockward]"
    "E: dockward: embedded-library zlib [usr/bin/dockward]"
)

[ $# -ge 1 ] || { echo "usage: $0 DEB..." >&2; exit 2; }
if ! command -v lintian >/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL lintian: not installed (apt-get install -y --no-install-recommends lintian)" >&2
        exit 1
    fi
    echo "SKIP lintian: not installed (apt-get install -y --no-install-recommends lintian)"
    exit 0
fi

out=$(lintian --no-tag-display-limit "$@" 2>&1 | grep -v '^running with root privileges' || true)
unexpected=$(printf '%s\n' "$out" | grep -E '^[EW]: ' | grep -v -x -F -f <(printf '%s\n' "${KNOWN[@]}") || true)
gone=()
for tag in "${KNOWN[@]}"; do
    printf '%s\n' "$out" | grep -q -x -F "$tag" || gone+=("$tag")
done
[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/  lintian: /'
if [ -n "$unexpected" ] || [ ${#gone[@]} -gt 0 ]; then
    [ -z "$unexpected" ] || printf 'FAIL lintian: %s\n' "$unexpected"
    for tag in ${gone[@]+"${gone[@]}"}; do echo "FAIL lintian: no longer printed, drop it from KNOWN in $0: $tag"; done
    exit 1
fi
echo "PASS lintian $(lintian --version | awk '{print $2}'): $(printf '%s\n' "$@" | xargs -n1 basename | paste -sd' ' -), no finding but the ${#KNOWN[@]} known ones"
