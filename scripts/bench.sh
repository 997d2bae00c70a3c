#!/usr/bin/env bash
# Benchmarks, each reported as a ratio to a baseline measured in the same run.
#
#   scripts/bench.sh qr     QR codes: uncached PNG rendering against a
#                           reference Python generator (segno), and the cached
#                           qr.png endpoint under load against an axum handler
#                           that does one Redis GET (the HTTP ceiling)
#   scripts/bench.sh stats  City statistics on a demo city of BENCH_STAYS stays
#                           (1,000,000 by default): p50 and p95 of the summary
#                           of one month, of one year, and of the office page,
#                           from the rollups against plain GROUP BY queries
#                           over the raw tables; fails if any figure differs
#
# Load comes from wrk on loopback only, bounded in time (BENCH_SECONDS, 10 by
# default; BENCH_CONNECTIONS, 32). PostgreSQL and Redis come from
# scripts/services.sh; the benchmark uses its own database, luutru_bench.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
what=${1:-qr}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-32}
codes=${BENCH_CODES:-2000}

# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_cargo
ensure_c_toolchain
ensure_fonts

export SQLX_OFFLINE=true
bin=target/release
venv=target/bench-venv
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# rps URL [HEADER]: requests per second wrk sustains.
rps() {
    local url=$1
    shift
    wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@" "$url" |
        awk '/Requests\/sec/ {print $2}'
}

wait_for() {
    for _ in $(seq 100); do
        curl -fs "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "bench: $1 did not come up" >&2
    return 1
}

bench_qr() {
    if ! command -v wrk >/dev/null 2>&1; then
        _lt_apt_install --minimal wrk
    fi
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q segno
    fi
    cargo build --release --bin luutru --example qr_render --example ceiling >&2
    local prefix="HTTPS://LUUTRU.VUNGTAU.GOV.VN/C/"
    echo "== uncached PNG rendering, 8-pixel modules, $codes codes"
    ours=$("$bin/examples/qr_render" "$codes" "$prefix" | awk '{print $2}')
    base=$("$venv/bin/python" - "$codes" "$prefix" <<'PY'
import io, os, sys, time, base64
import segno
count, prefix = int(sys.argv[1]), sys.argv[2]
urls = [prefix + base64.b32encode(os.urandom(15)).decode() for _ in range(count)]
start = time.perf_counter()
for url in urls:
    buf = io.BytesIO()
    segno.make(url, error="m", boost_error=False).save(buf, kind="png", scale=8, border=4)
print((time.perf_counter() - start) * 1000 / count)
PY
)
    printf 'segno (baseline):  %.4f ms per code\n' "$base"
    printf 'luutru:            %.4f ms per code\n' "$ours"
    awk -v b="$base" -v o="$ours" 'BEGIN {printf "ratio:             %.1f× faster than the baseline\n", b / o}'

    echo "== cached qr.png under load ($connections connections, ${seconds}s each)"
    local db_url="${DATABASE_URL%/*}/luutru_bench"
    psql "${DATABASE_URL%/*}/postgres" -qc 'DROP DATABASE IF EXISTS luutru_bench WITH (FORCE)' >/dev/null
    DATABASE_URL=$db_url "$bin/luutru" migrate >/dev/null
    printf 'bench-office-password\n' |
        DATABASE_URL=$db_url "$bin/luutru" user create --email office@bench.vn --role office --password-stdin >/dev/null
    DATABASE_URL=$db_url BIND_ADDR=127.0.0.1:18080 PUBLIC_BASE_URL=http://127.0.0.1:18080 RATE_LIMITS=off \
        REDIS_PREFIX=luutru-bench: RUST_LOG=warn "$bin/luutru" serve &
    pids+=($!)
    "$bin/examples/ceiling" 127.0.0.1:18081 "$REDIS_URL" &
    pids+=($!)
    wait_for http://127.0.0.1:18080/healthz
    wait_for http://127.0.0.1:18081/ceiling
    token=$(curl -fs http://127.0.0.1:18080/api/v1/auth/login -H 'content-type: application/json' \
        -d '{"email":"office@bench.vn","password":"bench-office-password"}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
    id=$(curl -fs http://127.0.0.1:18080/api/v1/places -H "authorization: Bearer $token" -H 'content-type: application/json' \
        -d '{"kind":"accommodation","name":"Khách sạn Đo Tốc Độ","ward":"Vũng Tàu"}' | sed 's/^{"id":\([0-9]*\).*/\1/')
    curl -fs -o /dev/null "http://127.0.0.1:18080/api/v1/places/$id/qr.png?size=512" -H "authorization: Bearer $token"
    ceiling=$(rps http://127.0.0.1:18081/ceiling)
    cached=$(rps "http://127.0.0.1:18080/api/v1/places/$id/qr.png?size=512" -H "authorization: Bearer $token")
    printf 'axum + one Redis GET (ceiling): %s req/s\n' "$ceiling"
    printf 'qr.png, cached:                 %s req/s\n' "$cached"
    awk -v c="$ceiling" -v q="$cached" 'BEGIN {printf "ratio:                          %.2f of the ceiling\n", q / c}'
}

bench_stats() {
    local stays=${BENCH_STAYS:-1000000}
    cargo build --release --bin luutru >&2
    local db_url="${DATABASE_URL%/*}/luutru_bench_stats"
    psql "${DATABASE_URL%/*}/postgres" -qc 'DROP DATABASE IF EXISTS luutru_bench_stats WITH (FORCE)' >/dev/null
    DATABASE_URL=$db_url "$bin/luutru" migrate >/dev/null
    echo "== loading a demo city of $stays stays"
    local start=$SECONDS
    DATABASE_URL=$db_url REDIS_PREFIX=luutru-bench-stats: "$bin/luutru" seed --demo --stays "$stays" |
        grep -v '^  ' || true
    echo "loaded in $((SECONDS - start)) s"
    psql "$db_url" -qAtc "VACUUM ANALYZE" >/dev/null
    psql "$db_url" -qAt -F ' ' -c "SELECT 'stays:', count(*) FROM stays" \
        -c "SELECT 'guests:', count(*) FROM guests" \
        -c "SELECT 'rollup rows:', (SELECT count(*) FROM stats_place_days) + (SELECT count(*) FROM stats_nationality_days) + (SELECT count(*) FROM stats_visit_days)"
    echo "== rollups against plain GROUP BY over the raw tables (ratio: raw ÷ rollups)"
    DATABASE_URL=$db_url REDIS_PREFIX=luutru-bench-stats: "$bin/luutru" stats check \
        --runs "${BENCH_RUNS:-20}" --raw-runs "${BENCH_RAW_RUNS:-5}"
}

case $what in
qr) bench_qr ;;
stats) bench_stats ;;
*)
    echo "bench.sh: unknown benchmark '$what' (known: qr, stats)" >&2
    exit 2
    ;;
esac
