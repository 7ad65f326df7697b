#!/usr/bin/env bash
# Runs lintian (default level: errors and warnings) on the packages that
# scripts/build-deb.sh made, and fails on any error or warning.
#
#   scripts/lintian-check.sh DEB...         # e.g. .build/deb/dockward_0.1.0_amd64.deb
#
# Without lintian: fails under CI=true, else says so and exits 0 (skipped);
# `make test-systemd` installs it (make packaging-tools).
set -euo pipefail

# A finding with a reason to stay is overridden in the package itself
# (packaging/debian/lintian-overrides, the reason above each line); the
# overrides are printed here ("O:" lines) so they stay in sight.

[ $# -ge 1 ] || { echo "usage: $0 DEB..." >&2; exit 2; }
if ! command -v lintian >/dev/null; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL lintian: not installed (apt-get install -y --no-install-recommends lintian)" >&2
        exit 1
    fi
    echo "SKIP lintian: not installed (apt-get install -y --no-install-recommends lintian)"
    exit 0
fi

out=$(lintian --tag-display-limit 0 --show-overrides "$@" 2>&1 | grep -v '^running with root privileges' || true)
findings=$(printf '%s\n' "$out" | grep -E '^[EW]: ' || true)
[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/  lintian: /'
if [ -n "$findings" ]; then
    printf 'FAIL lintian: %s\n' "$findings"
    exit 1
fi
echo "PASS lintian $(lintian --version | awk '{print $2}'): $(printf '%s\n' "$@" | xargs -n1 basename | paste -sd' ' -), no error or warning ($(printf '%s\n' "$out" | grep -c '^O: ' || true) overridden, each with its reason)"
