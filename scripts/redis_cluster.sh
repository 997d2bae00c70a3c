#!/usr/bin/env bash
# A Redis Cluster of three primaries on loopback, private to this script
# (under target/redis-cluster; ports LUUTRU_CLUSTER_PORTS, 7101-7103), then
# the tests that must hold on it: tests/redis_cluster.rs (keys spread over
# the nodes, sessions, codes and live figures coherent between two
# instances) and the tests of instances, live figures, cached images,
# sessions and rate limits, run again with the cluster as their Redis.
# PostgreSQL is the one scripts/services.sh gives. Stopped on the way out.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_cargo
ensure_c_toolchain
ensure_database "$DATABASE_URL"

read -r -a ports <<<"${LUUTRU_CLUSTER_PORTS:-7101 7102 7103}"
server=$(_lt_redis_bin)
cli=$(dirname "$server")/redis-cli
dir=$PWD/target/redis-cluster

# Only the servers this script started are stopped (by their pid files).
stop_cluster() {
    for port in "${ports[@]}"; do
        if [ -f "$dir/$port/redis.pid" ]; then
            kill "$(cat "$dir/$port/redis.pid")" 2>/dev/null || true
        fi
    done
}
trap stop_cluster EXIT
stop_cluster
sleep 0.2
for port in "${ports[@]}"; do
    if "$cli" -p "$port" ping >/dev/null 2>&1; then
        echo "redis cluster: port $port is taken by another server; set LUUTRU_CLUSTER_PORTS" >&2
        exit 1
    fi
done
rm -rf "$dir"
nodes=()
for port in "${ports[@]}"; do
    mkdir -p "$dir/$port"
    "$server" --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file "$dir/$port/nodes.conf" --dir "$dir/$port" \
        --save '' --appendonly no --daemonize yes --logfile "$dir/$port/redis.log" \
        --pidfile "$dir/$port/redis.pid"
    nodes+=("127.0.0.1:$port")
done
for port in "${ports[@]}"; do
    for _ in $(seq 50); do
        "$cli" -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
done
"$cli" --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log"
for port in "${ports[@]}"; do
    for _ in $(seq 100); do
        "$cli" -p "$port" cluster info | grep -q '^cluster_state:ok' && break
        sleep 0.1
    done
    "$cli" -p "$port" cluster info | grep -q '^cluster_state:ok' || {
        echo "redis cluster: node $port is not ready" >&2
        exit 1
    }
done
urls=$(printf 'redis://%s,' "${nodes[@]}")
urls=${urls%,}
echo "redis cluster: ${nodes[*]}" >&2

export SQLX_OFFLINE=true LUUTRU_TEST_REDIS_URL=$urls
cargo test --test redis_cluster -- --ignored
cargo test --test instances --test live --test qr_images --test team \
    --test second_factor --test codes_and_retries --test access
