# Sourced by the test scripts that need root and tools (scripts/systemd-test.sh,
# scripts/qemu-guest.sh): their log lines ("$NAME-test: ...") and what a
# missing prerequisite does: fails in CI (CI set, and not "false"/"0"),
# skips (exit 77) elsewhere. The sourcing script sets NAME.
log() { printf '%s-test: %s\n' "$NAME" "$*" >&2; }
die() { log "$*"; exit 1; }
in_ci() { case "${CI:-}" in ""|false|0) return 1 ;; *) return 0 ;; esac; }
# A prerequisite that is missing: fails in CI, skips elsewhere.
missing() {
    if in_ci; then die "$* (CI: failing, not skipping)"; fi
    log "skipped: $*"
    exit 77
}
