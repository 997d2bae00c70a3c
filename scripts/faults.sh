#!/usr/bin/env bash
# Break things on purpose while a crowd of phones checks in, then count.
#
#   scripts/faults.sh [redis|postgres|sigterm|all]    (all by default)
#
#   redis     Redis is killed (SIGKILL) in the middle of the load and started
#             again 3 s later: every check-in is answered 201 at the first
#             try, and the live figures read after Redis returns are the
#             database's.
#   postgres  PostgreSQL is stopped in the middle of the load and started
#             again 3 s later: requests during the outage get 503 with
#             Retry-After, none hangs, and clients retrying with their
#             Idempotency-Key end with every check-in stored exactly once.
#   sigterm   The service gets SIGTERM in the middle of the load: it finishes
#             the requests in flight and exits within its grace period; it is
#             started again and the clients' retries complete.
#
# Each scenario prints what was sent, acknowledged and stored; they must agree,
# or the script fails. Everything runs on loopback, against a PostgreSQL and a
# Redis of its own under target/fault-services (ports LUUTRU_FAULT_PG_PORT,
# 25433, and LUUTRU_FAULT_REDIS_PORT, 63809), so the servers other work uses
# are never touched. Load comes from examples/checkin_load.rs (FAULT_SECONDS,
# 8 by default, of new check-ins; FAULT_WORKERS, 16, at once).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
what=${1:-all}
seconds=${FAULT_SECONDS:-8}
workers=${FAULT_WORKERS:-16}

export LUUTRU_SERVICES_DIR=$PWD/target/fault-services
export LUUTRU_PRIVATE_SERVICES=1
export LUUTRU_PG_PORT=${LUUTRU_FAULT_PG_PORT:-25433}
export LUUTRU_REDIS_PORT=${LUUTRU_FAULT_REDIS_PORT:-63809}
unset DATABASE_URL REDIS_URL
# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_cargo
ensure_c_toolchain

export SQLX_OFFLINE=true
cargo build --bin luutru --example checkin_load >&2
bin=target/debug
db=${DATABASE_URL%/*}/luutru_faults
port=${LUUTRU_FAULT_HTTP_PORT:-18090}
base=http://127.0.0.1:$port
log=$LUUTRU_SERVICES_DIR/service.log
service=""
failures=0
run=0

cleanup() {
    [ -n "$service" ] && kill "$service" 2>/dev/null || true
    _lt_redis_private_stop 2>/dev/null || true
    _lt_pg_private_stop 2>/dev/null || true
}
trap cleanup EXIT

start_service() {
    DATABASE_URL=$db REDIS_URL=$REDIS_URL BIND_ADDR=127.0.0.1:$port PUBLIC_BASE_URL=$base \
        RATE_LIMITS=off REDIS_PREFIX=luutru-faults: REQUIRE_SECOND_FACTOR=false RUST_LOG=warn "$bin/luutru" serve >>"$log" 2>&1 &
    service=$!
    for _ in $(seq 200); do
        curl -fs "$base/healthz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "faults: the service did not come up (log: $log)" >&2
    tail -n 20 "$log" >&2
    return 1
}

stored() {
    psql "$db" -qAtc 'SELECT (SELECT count(*) FROM visits) + (SELECT count(*) FROM stays)'
}

# field NAME LINE: the value of NAME=… in a line of checkin_load's output.
field() { sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" <<<"$2"; }

# expect DESCRIPTION TEST...: report a promise kept or broken.
expect() {
    local what=$1
    shift
    if "$@"; then
        printf '  ok: %s\n' "$what"
    else
        printf '  BROKEN: %s\n' "$what"
        failures=$((failures + 1))
    fi
}

# load_with ACTION: run the load, do ACTION in the middle of it, then count.
load_with() {
    local action=$1 before after
    before=$(stored)
    run=$((run + 1))
    "$bin/examples/checkin_load" "$base" "$site" "$hotel" "$seconds" "$workers" "$run" >"$LUUTRU_SERVICES_DIR/load.out" &
    local load=$!
    sleep 2
    "$action"
    wait "$load"
    result=$(cat "$LUUTRU_SERVICES_DIR/load.out")
    after=$(stored)
    sent=$(field sent "$result")
    acknowledged=$(field acknowledged "$result")
    stored_now=$((after - before))
    printf '  %s\n' "$result"
    printf '  sent %s, acknowledged %s, stored %s\n' "$sent" "$acknowledged" "$stored_now"
    expect "some load was sent" [ "$sent" -gt 0 ]
    expect "every check-in sent was acknowledged" [ "$acknowledged" -eq "$sent" ]
    expect "every acknowledged check-in is stored exactly once" [ "$stored_now" -eq "$acknowledged" ]
    expect "no request hung" [ "$(field hangs "$result")" -eq 0 ]
    expect "no other error" [ "$(field other "$result")" -eq 0 ]
}

kill_redis() {
    local pid
    pid=$(_lt_redis_private_pid)
    kill -9 "$pid"
    echo "  (Redis killed)"
    sleep 3
    rm -f "$LUUTRU_SERVICES_DIR/redis.pid"
    _lt_redis_private_start 2>/dev/null
    echo "  (Redis started again)"
}

restart_postgres() {
    _lt_pg_private_stop 2>/dev/null
    echo "  (PostgreSQL stopped)"
    sleep 3
    _lt_pg_private_start 2>/dev/null
    echo "  (PostgreSQL started again)"
}

terminate_service() {
    local at=$EPOCHREALTIME
    kill -TERM "$service"
    exit_code=0
    wait "$service" || exit_code=$?
    exit_ms=$(awk -v a="$at" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", (b - a) * 1000}')
    echo "  (the service exited with status ${exit_code} ${exit_ms} ms after SIGTERM)"
    start_service
    echo "  (the service started again)"
}

scenario_redis() {
    echo "== Redis killed during the load"
    load_with kill_redis
    expect "every check-in was answered at the first try" [ "$(field first_try "$result")" -eq "$sent" ]
    # The live figures come back from the database once Redis does.
    local live expected
    live=$(curl -fs "$base/api/v1/stats/live" -H "authorization: Bearer $token" |
        sed 's/.*"attraction_visitors_today":\([0-9]*\).*/\1/')
    expected=$(psql "$db" -qAtc "SELECT COALESCE(sum(party_size), 0) FROM visits
                                  WHERE visit_date = (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date")
    printf '  live visitors today: %s, in the database: %s\n' "$live" "$expected"
    expect "the live figures after Redis returns are the database's" [ "$live" = "$expected" ]
}

scenario_postgres() {
    echo "== PostgreSQL stopped and started during the load"
    load_with restart_postgres
    expect "the outage was answered 503" [ "$(field unavailable "$result")" -gt 0 ]
    expect "every 503 carried Retry-After" [ "$(field unavailable_without_retry_after "$result")" -eq 0 ]
}

scenario_sigterm() {
    echo "== SIGTERM during the load"
    load_with terminate_service
    expect "the service exited within its 10 s grace period" [ "$exit_ms" -lt 10500 ]
    expect "the service exited cleanly (status 0), not cut down" [ "$exit_code" -eq 0 ]
}

: >"$log"
psql "${DATABASE_URL%/*}/postgres" -qc 'DROP DATABASE IF EXISTS luutru_faults WITH (FORCE)' >/dev/null
DATABASE_URL=$db "$bin/luutru" migrate >/dev/null
printf 'fault-office-password\n' |
    DATABASE_URL=$db "$bin/luutru" user create --email office@faults.vn --role office --password-stdin >/dev/null
start_service
token=$(curl -fs "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"office@faults.vn","password":"fault-office-password"}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
site=$(curl -fs "$base/api/v1/places" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"kind":"attraction","name":"Bạch Dinh","ward":"Vũng Tàu"}' | sed 's/.*"code":"\([^"]*\)".*/\1/')
hotel=$(curl -fs "$base/api/v1/places" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"kind":"accommodation","name":"Khách sạn Thử Lỗi","address":"4 Thùy Vân","ward":"Vũng Tàu","rooms":500,"beds":1000}' |
    sed 's/.*"code":"\([^"]*\)".*/\1/')

case $what in
redis) scenario_redis ;;
postgres) scenario_postgres ;;
sigterm) scenario_sigterm ;;
all)
    scenario_redis
    scenario_postgres
    scenario_sigterm
    ;;
*)
    echo "faults.sh: unknown scenario '$what' (known: redis, postgres, sigterm, all)" >&2
    exit 2
    ;;
esac

if [ "$failures" -gt 0 ]; then
    echo "faults.sh: $failures promise(s) broken (service log: $log)" >&2
    exit 1
fi
echo "faults.sh: every promise kept"
