#!/usr/bin/env bash
# A PostgreSQL primary and its streaming replica, private to this script
# (under target/replica-services; ports LUUTRU_REPLICA_PRIMARY_PORT, 25434,
# and LUUTRU_REPLICA_PORT, 25435, with a Redis on 63819), then the test that
# reads the statistics from the replica (tests/replica.rs). Everything is
# stopped on the way out.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LUUTRU_SERVICES_DIR=$PWD/target/replica-services
export LUUTRU_PRIVATE_SERVICES=1
export LUUTRU_PG_PORT=${LUUTRU_REPLICA_PRIMARY_PORT:-25434}
export LUUTRU_REDIS_PORT=${LUUTRU_REPLICA_REDIS_PORT:-63819}
replica_port=${LUUTRU_REPLICA_PORT:-25435}
unset DATABASE_URL REDIS_URL
# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_cargo
ensure_c_toolchain

dir=$LUUTRU_SERVICES_DIR/replica
bindir=$(_lt_pg_bindir "$(cat "$LUUTRU_SERVICES_DIR/pg/PG_VERSION")")
stop_replica() {
    if [ -f "$dir/postmaster.pid" ]; then
        _lt_pg_exec "$bindir/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
}
cleanup() {
    stop_replica
    _lt_redis_private_stop 2>/dev/null || true
    _lt_pg_private_stop 2>/dev/null || true
}
trap cleanup EXIT

# A fresh copy of the primary, following it.
stop_replica
rm -rf "$dir"
mkdir -m 700 "$dir"
log=$LUUTRU_SERVICES_DIR/replica.log
: >"$log"
if _lt_is_root; then
    chown postgres:postgres "$dir" "$log"
fi
_lt_pg_exec "$bindir/pg_basebackup" -h 127.0.0.1 -p "$LUUTRU_PG_PORT" -U postgres -D "$dir" -R -X stream
sed -i "s/^port = .*/port = $replica_port/" "$dir/luutru.conf"
_lt_pg_exec "$bindir/pg_ctl" -D "$dir" -l "$log" -w -t 60 start >/dev/null || {
    tail -n 20 "$log" >&2
    exit 1
}
echo "replica: following 127.0.0.1:$LUUTRU_PG_PORT on 127.0.0.1:$replica_port" >&2

ensure_database "$DATABASE_URL"
SQLX_OFFLINE=true LUUTRU_TEST_REDIS_URL=$REDIS_URL \
    LUUTRU_TEST_REPLICA_URL=postgres://postgres@127.0.0.1:$replica_port \
    cargo test --test replica -- --ignored
