#!/usr/bin/env bash
# Every check CI runs, stopping at the first failure:
#   cargo fmt --check
#   cargo clippy --all-targets -- -D warnings
#   cargo test          (unit, database, HTTP and browser tests)
#   scripts/faults.sh   (Redis killed, PostgreSQL restarted, SIGTERM, under load)
#   scripts/replica.sh  (statistics read from a streaming replica)
#   scripts/redis_cluster.sh  (the service on a Redis Cluster of three primaries)
#   scripts/schemathesis.sh  (generated requests from /api/openapi.json: no 5xx,
#                        no answer outside its own description)
#
#   scripts/test.sh              everything
#   scripts/test.sh checkin      arguments go to `cargo test` (here: a name filter)
#
# PostgreSQL and Redis come from scripts/services.sh. The database tests create
# their own throwaway databases on the server named by DATABASE_URL, so that
# role must be allowed to CREATE DATABASE. The browser tests need chromium and
# chromedriver, the image tests zbarimg, the poster tests the Noto fonts and
# poppler-utils; all are installed here with apt-get when missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_cargo
ensure_c_toolchain
ensure_chromium
ensure_zbar
ensure_fonts
ensure_poppler
# The test harness connects to DATABASE_URL's own database before it creates
# the per-test ones, so that one has to exist.
ensure_database "$DATABASE_URL"
export LUUTRU_TEST_REDIS_URL="$REDIS_URL"

if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
        rustup component add rustfmt clippy
    else
        printf 'error: cargo fmt and cargo clippy are needed (rustup component add rustfmt clippy)\n' >&2
        exit 1
    fi
fi

started=$SECONDS

# step NAME COMMAND...: run it; on failure print the summary and stop.
step() {
    local name=$1 rc=0
    shift
    printf '\n==> %s\n' "$*" >&2
    "$@" || rc=$?
    if [ "$rc" -ne 0 ]; then
        if [ "$name" != fmt ] && [ ! -d .sqlx ]; then
            printf 'hint: SQLX_OFFLINE=true needs the query metadata in .sqlx/ (cargo sqlx prepare)\n' >&2
        fi
        printf '\ntest.sh: FAILED at %s (exit %s) after %ss\n' "$name" "$rc" $((SECONDS - started)) >&2
        exit "$rc"
    fi
}

step fmt cargo fmt --check
step clippy env SQLX_OFFLINE=true cargo clippy --all-targets -- -D warnings
# Every test target except doc tests (the crate has none); the output is kept
# to add up the counts of every test binary.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
step tests env SQLX_OFFLINE=true bash -o pipefail -c 'cargo test --all-targets "$@" 2>&1 | tee "$0"' "$log" "$@"

# The fault scenarios run against a PostgreSQL and a Redis of their own
# (skipped when only some tests were asked for).
if [ $# -eq 0 ]; then
    step faults ./scripts/faults.sh
    step replica ./scripts/replica.sh
    step redis-cluster ./scripts/redis_cluster.sh
    step schemathesis ./scripts/schemathesis.sh
fi

passed=$(sed -n 's/^test result: .* \([0-9][0-9]*\) passed.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(sed -n 's/^test result: .* \([0-9][0-9]*\) failed.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
printf '\ntest.sh: OK: fmt, clippy, tests, fault scenarios, the replica, the Redis Cluster and schemathesis passed in %ss\n' $((SECONDS - started)) >&2
printf 'tests: %s passed, %s failed\n' "$passed" "$failed"
