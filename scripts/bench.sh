#!/usr/bin/env bash
# Benchmarks, each reported as a ratio to a baseline measured in the same run.
#
#   scripts/bench.sh qr     QR codes: uncached PNG rendering against a
#                           reference Python generator (segno), and the cached
#                           qr.png endpoint under load against an axum handler
#                           that does one Redis GET (the HTTP ceiling)
#   scripts/bench.sh load   The scan page GET /c/{code} of a site and of a
#                           hotel against the HTTP ceiling; durable check-ins (site visits and
#                           one-guest stays, without and then with an
#                           idempotency key and a phone id, as the page sends
#                           them) against pgbench inserting one row
#                           per transaction at the same concurrency; p50/p99,
#                           errors, what was acknowledged against what was
#                           stored, the service's peak RSS and start-up time
#   scripts/bench.sh register
#                           The register of one hotel at BENCH_REGISTER_STAYS
#                           stays (100,000 by default, checked in through the
#                           API first): the desk's page and the API's list of
#                           every stay, against the HTTP ceiling
#   scripts/bench.sh stats  City statistics on a demo city of BENCH_STAYS stays
#                           (1,000,000 by default): p50 and p95 of the summary
#                           of one month, of one year, and of the office page,
#                           from the rollups against plain GROUP BY queries
#                           over the raw tables; fails if any figure differs
#
# Load comes from wrk on loopback only, bounded in time (BENCH_SECONDS, 10 by
# default; BENCH_CONNECTIONS, 32; the scan page and its ceiling are taken in
# turn BENCH_ROUNDS times, 3 by default; check-ins follow an unmeasured
# warm-up of BENCH_WARMUP seconds, 5 by default). PostgreSQL and Redis come from
# scripts/services.sh; each benchmark uses a database of its own (luutru_bench,
# luutru_bench_load, luutru_bench_register, luutru_bench_stats). BENCH_BIN
# names another folder of release binaries to measure (the scripts still
# build this tree's), to compare two versions in runs taken in turn;
# BENCH_PARTS=scan measures only the scan page in `load`, BENCH_PARTS=stays
# only the one-guest stays.
set -euo pipefail

# Read before the cd below, so that a relative BENCH_BIN is the caller's.
measured=${BENCH_BIN:+$(realpath "$BENCH_BIN")}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what=${1:-qr}
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-5}
connections=${BENCH_CONNECTIONS:-32}
codes=${BENCH_CODES:-2000}
rounds=${BENCH_ROUNDS:-3}
parts=${BENCH_PARTS:-all}
case $parts in
    all | scan | stays) ;;
    *)
        echo "bench.sh: BENCH_PARTS is all, scan or stays, not '$parts'" >&2
        exit 2
        ;;
esac

# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_cargo
ensure_c_toolchain
ensure_fonts

export SQLX_OFFLINE=true
# The binaries measured: another build's folder (with its examples/) to
# compare two versions in runs taken in turn. This tree's scripts and SQL
# are used with them: the other build must share its schema.
bin=${measured:-target/release}
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

# cpu_ticks: the machine's CPU time so far, "total steal idle" in ticks
# (idle counting the time waiting for the disk).
cpu_ticks() {
    # user to steal: the guest fields after them are already in user.
    awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9, $5 + $6}' /proc/stat
}

# cpu_per "TOTAL STEAL IDLE" COUNT: the CPU time every process on the
# machine (load, service, databases, kernel) spent since then for each of
# COUNT requests or transactions, and how busy the cores were.
cpu_per() {
    local before now
    read -r -a before <<<"$1"
    read -r -a now < <(cpu_ticks)
    awk -v t="$((now[0] - before[0]))" -v i="$((now[2] - before[2]))" -v n="$2" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {printf "%.0f µs (the cores %.0f%% busy)", n ? (t - i) * 1e6 / hz / n : 0, t ? 100 * (t - i) / t : 0}'
}

# wal_now: the WAL written so far, "bytes full-page-images" (pg_stat_wal).
wal_now() {
    psql "$db_url" -qAtF' ' -c 'SELECT wal_bytes, wal_fpi FROM pg_stat_wal'
}

# wal_per "BYTES FPI" COUNT: the WAL written since then for each of COUNT
# check-ins or transactions, and the full-page images among it.
wal_per() {
    local before now
    read -r -a before <<<"$1"
    read -r -a now < <(wal_now)
    awk -v b="$((now[0] - before[0]))" -v f="$((now[1] - before[1]))" -v n="$2" \
        'BEGIN {printf "%.0f bytes of WAL (%.2f full-page images)", n ? b / n : 0, n ? f / n : 0}'
}

# steal_since "TOTAL STEAL": the share of the CPU time since then that the
# host gave to other machines.
steal_since() {
    local before now
    read -r -a before <<<"$1"
    read -r -a now < <(cpu_ticks)
    awk -v t="$((now[0] - before[0]))" -v s="$((now[1] - before[1]))" 'BEGIN {printf "%.0f%%", t ? 100 * s / t : 0}'
}

wait_for() {
    for _ in $(seq 100); do
        curl -fs "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "bench: $1 did not come up" >&2
    return 1
}

# fresh_database NAME: the benchmark's own database, dropped, migrated and
# given an office account; prints its URL.
fresh_database() {
    local db_url="${DATABASE_URL%/*}/$1"
    psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
    DATABASE_URL=$db_url "$bin/luutru" migrate >/dev/null
    printf 'bench-office-password\n' |
        DATABASE_URL=$db_url "$bin/luutru" user create --email office@bench.vn --role office --password-stdin >/dev/null
    echo "$db_url"
}

# start_service DB_URL REDIS_PREFIX: the service on 127.0.0.1:18080 with rate
# limits off and its metrics on 18082, as a deployment would run it, and the
# HTTP ceiling on 18081; the service's pid in $service, and in $started the
# moment it was launched.
start_service() {
    # A service left over on these ports would answer in its place.
    local port
    for port in 18080 18081 18082; do
        if curl -s --noproxy '*' --max-time 2 -o /dev/null "http://127.0.0.1:$port/"; then
            echo "bench: something already listens on 127.0.0.1:$port; stop it first" >&2
            exit 1
        fi
    done
    started=$EPOCHREALTIME
    DATABASE_URL=$1 BIND_ADDR=127.0.0.1:18080 PUBLIC_BASE_URL=http://127.0.0.1:18080 RATE_LIMITS=off METRICS_ADDR=127.0.0.1:18082 \
        REDIS_PREFIX=$2 REQUIRE_SECOND_FACTOR=false RUST_LOG=warn "$bin/luutru" serve &
    service=$!
    pids+=("$service")
    "$bin/examples/ceiling" 127.0.0.1:18081 "$REDIS_URL" &
    pids+=($!)
}

# sign_in EMAIL PASSWORD: a session token.
sign_in() {
    curl -fs http://127.0.0.1:18080/api/v1/auth/login -H 'content-type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$2\"}" | sed 's/.*"token":"\([^"]*\)".*/\1/'
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
    local db_url
    db_url=$(fresh_database luutru_bench)
    start_service "$db_url" luutru-bench:
    wait_for http://127.0.0.1:18080/healthz
    wait_for http://127.0.0.1:18081/ceiling
    token=$(sign_in office@bench.vn bench-office-password)
    id=$(curl -fs http://127.0.0.1:18080/api/v1/places -H "authorization: Bearer $token" -H 'content-type: application/json' \
        -d '{"kind":"accommodation","name":"Khách sạn Đo Tốc Độ","address":"1 Thùy Vân","ward":"Vũng Tàu"}' | sed 's/^{"id":\([0-9]*\).*/\1/')
    curl -fs -o /dev/null "http://127.0.0.1:18080/api/v1/places/$id/qr.png?size=512" -H "authorization: Bearer $token"
    ceiling=$(rps http://127.0.0.1:18081/ceiling)
    cached=$(rps "http://127.0.0.1:18080/api/v1/places/$id/qr.png?size=512" -H "authorization: Bearer $token")
    printf 'axum + one Redis GET (ceiling): %s req/s\n' "$ceiling"
    printf 'qr.png, cached:                 %s req/s\n' "$cached"
    awk -v c="$ceiling" -v q="$cached" 'BEGIN {printf "ratio:                          %.2f of the ceiling\n", q / c}'
}

# load URL [wrk args…]: "req/s p50 p99 non2xx requests" of one wrk run.
load() {
    local url=$1
    shift
    wrk -t2 -c"$connections" -d"${seconds}s" --latency "$@" "$url" | awk '
        /Requests\/sec/ {rps = $2}
        /^ +50%/ {p50 = $2}
        /^ +99%/ {p99 = $2}
        /Non-2xx/ {bad = $NF}
        /requests in/ {total = $1}
        END {printf "%s %s %s %d %d\n", rps, p50, p99, bad, total}'
}

# writer KIND: "batches stays write-seconds" so far for KIND's writer, from
# the service's metrics.
writer() {
    curl -fs http://127.0.0.1:18082/metrics | awk -v k="kind=\"$1\"" '
        index($0, "luutru_checkin_batch_size_count{") == 1 && index($0, k) {n = $NF}
        index($0, "luutru_checkin_batch_size_sum{") == 1 && index($0, k) {s = $NF}
        index($0, "luutru_checkin_batch_write_seconds_sum{") == 1 && index($0, k) {t = $NF}
        END {printf "%d %d %.6f\n", n, s, t}'
}

# checkins LABEL TABLE SCRIPT: pgbench inserting one row per transaction
# (the ceiling), then one wrk run of check-ins from SCRIPT, with what was
# acknowledged against what TABLE gained, the ratio to the ceiling, and the
# batches they were written in: how many stays or visits each, how long the
# writer took over each, and the share of the run it was busy; and the CPU
# time of the whole machine for each check-in against each pgbench
# transaction.
checkins() {
    local tps processed before after rps p50 p99 bad total w0 w1 started ticks pg_cpu cpu wal pg_wal
    ticks=$(cpu_ticks)
    wal=$(wal_now)
    read -r tps processed < <(pgbench -n -c "$connections" -j 2 -T "$seconds" -f "$lua/pgbench.sql" "$db_url" 2>/dev/null |
        awk '/^tps/ {t = $3} /transactions actually processed/ {n = $NF} END {print t, n}')
    if [ -z "$tps" ] || [ -z "$processed" ]; then
        # pgbench opens one connection per client: past PostgreSQL's
        # max_connections (less the service's pool) it cannot run at all.
        printf 'pgbench could not run %s clients against %s (max_connections %s): no ceiling to compare with\n' \
            "$connections" "$db_url" "$(psql "$db_url" -qAtc 'SHOW max_connections')" >&2
        return 1
    fi
    pg_cpu=$(cpu_per "$ticks" "$processed")
    pg_wal=$(wal_per "$wal" "$processed")
    before=$(psql "$db_url" -qAtc "SELECT count(*) FROM $2")
    read -r -a w0 < <(writer "$2")
    started=$EPOCHREALTIME
    ticks=$(cpu_ticks)
    wal=$(wal_now)
    read -r rps p50 p99 bad total < <(load http://127.0.0.1:18080/api/v1/checkins -s "$3")
    cpu=$(cpu_per "$ticks" "$total")
    wal=$(wal_per "$wal" "$total")
    read -r -a w1 < <(writer "$2")
    after=$(psql "$db_url" -qAtc "SELECT count(*) FROM $2")
    printf '%s %s req/s, p50 %s, p99 %s; acknowledged %d, errors %d, stored %d\n' \
        "$1" "$rps" "$p50" "$p99" "$((total - bad))" "$bad" "$((after - before))"
    awk -v c="$tps" -v q="$rps" 'BEGIN {printf "ratio:           %.2f of the pgbench ceiling (%.0f tps)\n", q / c, c}'
    awk -v n="$((w1[0] - w0[0]))" -v s="$((w1[1] - w0[1]))" -v t0="${w0[2]}" -v t1="${w1[2]}" \
        -v wall="$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}')" 'BEGIN {
        if (n > 0) printf "batches:         %d, %.1f each, %.2f ms each; the writer busy %.0f%% of the run\n",
            n, s / n, 1000 * (t1 - t0) / n, 100 * (t1 - t0) / wall}'
    printf 'CPU, all processes: %s a check-in; %s a pgbench transaction\n' "$cpu" "$pg_cpu"
    printf 'WAL:             %s a check-in; %s a pgbench transaction\n' "$wal" "$pg_wal"
}

# Whether BENCH_PARTS asks for this part of `load`.
wants() {
    [ "$parts" = all ] || [ "$parts" = "$1" ]
}

peak_rss() {
    printf 'peak RSS of the service: %s\n' "$(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$service/status")"
}

bench_load() {
    if ! command -v wrk >/dev/null 2>&1; then
        _lt_apt_install --minimal wrk
    fi
    cargo build --release --bin luutru --example ceiling >&2
    local db_url
    db_url=$(fresh_database luutru_bench_load)
    local started
    start_service "$db_url" luutru-bench-load:
    for _ in $(seq 2000); do
        curl -fs http://127.0.0.1:18080/healthz >/dev/null 2>&1 && break
        sleep 0.005
    done
    local ready=$EPOCHREALTIME
    wait_for http://127.0.0.1:18081/ceiling
    local token site hotel
    token=$(sign_in office@bench.vn bench-office-password)
    site=$(curl -fs http://127.0.0.1:18080/api/v1/places -H "authorization: Bearer $token" -H 'content-type: application/json' \
        -d '{"kind":"attraction","name":"Ngọn Hải Đăng","ward":"Vũng Tàu"}' | sed 's/.*"code":"\([^"]*\)".*/\1/')
    hotel=$(curl -fs http://127.0.0.1:18080/api/v1/places -H "authorization: Bearer $token" -H 'content-type: application/json' \
        -d '{"kind":"accommodation","name":"Khách sạn Đo Tải","address":"2 Thùy Vân","ward":"Vũng Tàu","rooms":500,"beds":1000}' |
        sed 's/.*"code":"\([^"]*\)".*/\1/')
    local departure
    departure=$(date -d '+2 days' +%F)
    local lua=target/bench-lua
    mkdir -p "$lua"
    cat >"$lua/visit.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"code":"$site","party_size":2,"origin_country":"VNM"}'
LUA
    cat >"$lua/stay.lua" <<LUA
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
function request()
  n = n + 1
  local body = string.format('{"code":"$hotel","guests":[{"full_name":"Kim Min Jun","date_of_birth":"1990-01-01",'
    .. '"sex":"M","nationality":"KOR","document_type":"passport","document_number":"M%d%07d"}],'
    .. '"expected_departure":"$departure","purpose":"tourism","consent":true}', tid, n)
  return wrk.format("POST", "/api/v1/checkins", {["Content-Type"] = "application/json"}, body)
end
LUA
    # As the check-in page sends them: each with an Idempotency-Key, and
    # each party with its phone's id.
    cat >"$lua/visit_keyed.lua" <<LUA
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
function request()
  n = n + 1
  local body = string.format('{"code":"$site","party_size":2,"origin_country":"VNM","device_id":"phone-%d-%d"}', tid, n)
  return wrk.format("POST", "/api/v1/checkins",
    {["Content-Type"] = "application/json", ["Idempotency-Key"] = string.format("visit-%d-%d", tid, n)}, body)
end
LUA
    sed -e 's/"M%d%07d"/"K%d%07d"/' \
        -e 's/{\["Content-Type"\] = "application\/json"}/{["Content-Type"] = "application\/json", ["Idempotency-Key"] = string.format("stay-%d-%d", tid, n)}/' \
        "$lua/stay.lua" >"$lua/stay_keyed.lua"
    cat >"$lua/pgbench.sql" <<'SQL'
INSERT INTO bench_rows (place_id, at, party_size) VALUES (1, now(), 2);
SQL
    psql "$db_url" -qc 'CREATE TABLE bench_rows (id bigserial PRIMARY KEY, place_id bigint, at timestamptz, party_size int)'
    # A deployment that has run for its retention period (three years by
    # default) has a partition of guests' personal data for each month.
    psql "$db_url" -qc "SELECT ensure_identity_partitions((now() - interval '3 years')::date, 37)" >/dev/null

    if wants scan; then
        echo "== start-up and the scan page ($connections connections, ${seconds}s each)"
        awk -v a="$started" -v b="$ready" 'BEGIN {printf "start-up to /healthz:        %.0f ms\n", (b - a) * 1000}'
        # The ceiling and the page in turn, BENCH_ROUNDS times: a virtual
        # machine's neighbours take its cores away for seconds at a time (the
        # steal time below), so one pair can land on different machines; the
        # median of the rounds' ratios is the figure.
        # Each round: the ceiling, a site's code (its count-in form), then the
        # ceiling again and a hotel's code (its check-in form for one guest).
        local ratios=() hotel_ratios=() steal_before round
        steal_before=$(cpu_ticks)
        for round in $(seq "$rounds"); do
            read -r c_rps c_p50 c_p99 _ _ < <(load http://127.0.0.1:18081/ceiling)
            read -r s_rps s_p50 s_p99 s_bad _ < <(load "http://127.0.0.1:18080/c/$site")
            ratios+=("$(awk -v c="$c_rps" -v q="$s_rps" 'BEGIN {printf "%.2f", q / c}')")
            printf 'round %d: axum + one Redis GET (ceiling) %s req/s, p50 %s, p99 %s\n' "$round" "$c_rps" "$c_p50" "$c_p99"
            printf '         GET /c/{code}, a site %s req/s, p50 %s, p99 %s, errors %s: %s of the ceiling\n' \
                "$s_rps" "$s_p50" "$s_p99" "$s_bad" "${ratios[-1]}"
            read -r c_rps c_p50 c_p99 _ _ < <(load http://127.0.0.1:18081/ceiling)
            read -r s_rps s_p50 s_p99 s_bad _ < <(load "http://127.0.0.1:18080/c/$hotel")
            hotel_ratios+=("$(awk -v c="$c_rps" -v q="$s_rps" 'BEGIN {printf "%.2f", q / c}')")
            printf '         axum + one Redis GET (ceiling) %s req/s, p50 %s, p99 %s\n' "$c_rps" "$c_p50" "$c_p99"
            printf '         GET /c/{code}, a hotel %s req/s, p50 %s, p99 %s, errors %s: %s of the ceiling\n' \
                "$s_rps" "$s_p50" "$s_p99" "$s_bad" "${hotel_ratios[-1]}"
        done
        median() {
            printf '%s\n' "$@" | sort -n |
                awk '{r[NR] = $1} END {m = int((NR + 1) / 2); printf "%.2f", NR % 2 ? r[m] : (r[m] + r[m + 1]) / 2}'
        }
        printf 'ratio, a site:                  %s of the ceiling (median of %d rounds)\n' "$(median "${ratios[@]}")" "$rounds"
        printf 'ratio, a hotel:                 %s of the ceiling (median of %d rounds; CPU stolen by the host: %s)\n' \
            "$(median "${hotel_ratios[@]}")" "$rounds" "$(steal_since "$steal_before")"
    fi
    if ! wants stays; then
        peak_rss
        return
    fi

    # A city at its peak checks in on tables that already hold its past,
    # where the first run on a new database's empty tables is slower than
    # the next ones (8 s runs of stays in turn on a new database: 6,400 to
    # 7,300 a second first, then 8,900 to 10,600). So each kind is first run
    # unmeasured, stays with documents of their own so that none is found in
    # house later.
    echo "== warm-up, not measured (${warmup}s each, on the new database's empty tables)"
    sed -e 's/"M%d%07d"/"W%d%07d"/' "$lua/stay.lua" >"$lua/stay_warm.lua"
    local kind script
    for kind in $([ "$parts" = all ] && echo visit) stay_warm; do
        script="$lua/$kind.lua"
        printf '%-16s %s req/s\n' "${kind%_warm}s:" "$(wrk -t2 -c"$connections" -d"${warmup}s" -s "$script" \
            http://127.0.0.1:18080/api/v1/checkins | awk '/Requests\/sec/ {print $2}')"
    done

    # Each kind of check-in right after a pgbench run of its own: the
    # database's speed drifts within minutes here as much as the host's.
    echo "== durable check-ins ($connections connections, ${seconds}s each, each after its own pgbench ceiling)"
    [ "$parts" = all ] && checkins 'site visits:    ' visits "$lua/visit.lua"
    checkins 'one-guest stays:' stays "$lua/stay.lua"
    echo "== as the check-in page sends them: with an Idempotency-Key, and visits with a phone id"
    [ "$parts" = all ] && checkins 'site visits:    ' visits "$lua/visit_keyed.lua"
    checkins 'one-guest stays:' stays "$lua/stay_keyed.lua"
    peak_rss
}

bench_register() {
    local stays=${BENCH_REGISTER_STAYS:-100000}
    if ! command -v wrk >/dev/null 2>&1; then
        _lt_apt_install --minimal wrk
    fi
    cargo build --release --bin luutru --example ceiling >&2
    local db_url
    db_url=$(fresh_database luutru_bench_register)
    start_service "$db_url" luutru-bench-register:
    wait_for http://127.0.0.1:18080/healthz
    wait_for http://127.0.0.1:18081/ceiling
    local token hotel id code
    token=$(sign_in office@bench.vn bench-office-password)
    hotel=$(curl -fs http://127.0.0.1:18080/api/v1/places -H "authorization: Bearer $token" -H 'content-type: application/json' \
        -d '{"kind":"accommodation","name":"Khách sạn Sổ Dày","address":"3 Thùy Vân","ward":"Vũng Tàu","rooms":500,"beds":1000}')
    id=$(sed 's/^{"id":\([0-9]*\).*/\1/' <<<"$hotel")
    code=$(sed 's/.*"code":"\([^"]*\)".*/\1/' <<<"$hotel")
    printf 'bench-desk-password\n' |
        DATABASE_URL=$db_url "$bin/luutru" user create --email desk@bench.vn --role staff --place "$id" \
            --password-stdin >/dev/null
    local desk
    desk=$(sign_in desk@bench.vn bench-desk-password)

    echo "== loading $stays stays at one hotel through POST /api/v1/checkins"
    local start=$SECONDS
    python3 - "$code" "$stays" "$(date -d '+2 days' +%F)" <<'PY'
import http.client, json, sys
from multiprocessing import Pool

code, total, departure = sys.argv[1], int(sys.argv[2]), sys.argv[3]
workers = 16

def word(i):
    # Names are letters only: the stay's number written in four letters.
    letters = ""
    for _ in range(4):
        letters += chr(ord("a") + i % 26)
        i //= 26
    return letters.capitalize()

def load(worker):
    conn = http.client.HTTPConnection("127.0.0.1", 18080)
    refused = 0
    for i in range(worker, total, workers):
        body = json.dumps({
            "code": code,
            "guests": [{"full_name": f"Nguyen Van {word(i)}", "date_of_birth": "1990-01-01", "sex": "M",
                        "nationality": "KOR", "document_type": "passport", "document_number": f"B{i:08d}"}],
            "expected_departure": departure, "purpose": "tourism", "consent": True,
        })
        conn.request("POST", "/api/v1/checkins", body, {"Content-Type": "application/json"})
        answer = conn.getresponse()
        answer.read()
        refused += answer.status != 201
    return refused

with Pool(workers) as pool:
    refused = sum(pool.map(load, range(workers)))
print(f"refused: {refused}")
sys.exit(1 if refused else 0)
PY
    echo "loaded in $((SECONDS - start)) s; stays stored: $(psql "$db_url" -qAtc "SELECT count(*) FROM stays WHERE place_id = $id")"
    # A year of a busy hotel rather than one day: arrivals five minutes
    # apart going back from now, every guest notified to the police, and all
    # but the newest 400 stays checked out the day after they arrived.
    psql "$db_url" -qv ON_ERROR_STOP=1 <<SQL >/dev/null
BEGIN;
CREATE TEMP TABLE moved AS
    SELECT id, n, now() - make_interval(mins => 5 * n::int) AS arrived,
           CASE WHEN n > 400 THEN now() - make_interval(mins => 5 * n::int) + interval '1 day' END AS departed
    FROM (SELECT id, row_number() OVER (ORDER BY arrived_at DESC, id) AS n FROM stays WHERE place_id = $id) AS s;
UPDATE stays s SET arrived_at = m.arrived, arrival_date = (m.arrived AT TIME ZONE 'Asia/Ho_Chi_Minh')::date,
                   departed_at = m.departed, departure_date = (m.departed AT TIME ZONE 'Asia/Ho_Chi_Minh')::date,
                   checkout_by = CASE WHEN m.departed IS NOT NULL THEN 'desk' END,
                   expected_departure = (m.arrived AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + 1
FROM moved m WHERE s.id = m.id;
UPDATE guests g SET arrived_at = s.arrived_at, arrival_date = s.arrival_date, departed_at = s.departed_at,
                    departure_date = s.departure_date, notified_at = s.arrived_at
FROM stays s WHERE g.stay_id = s.id AND s.place_id = $id;
COMMIT;
VACUUM ANALYZE;
SQL

    echo "== the register at $stays stays ($connections connections, ${seconds}s each)"
    read -r c_rps c_p50 c_p99 _ _ < <(load http://127.0.0.1:18081/ceiling)
    read -r p_rps p_p50 p_p99 p_bad _ < <(load "http://127.0.0.1:18080/hotel?place=$id" -H "authorization: Bearer $desk")
    read -r a_rps a_p50 a_p99 a_bad _ < <(load "http://127.0.0.1:18080/api/v1/places/$id/stays?status=all" \
        -H "authorization: Bearer $desk")
    printf 'axum + one Redis GET (ceiling):   %s req/s, p50 %s, p99 %s\n' "$c_rps" "$c_p50" "$c_p99"
    printf 'desk page, in house, newest 100: %s req/s, p50 %s, p99 %s, errors %s\n' "$p_rps" "$p_p50" "$p_p99" "$p_bad"
    awk -v c="$c_rps" -v q="$p_rps" 'BEGIN {printf "ratio:                           %.3f of the ceiling\n", q / c}'
    printf 'API, every stay, newest 100:     %s req/s, p50 %s, p99 %s, errors %s\n' "$a_rps" "$a_p50" "$a_p99" "$a_bad"
    awk -v c="$c_rps" -v q="$a_rps" 'BEGIN {printf "ratio:                           %.3f of the ceiling\n", q / c}'
    peak_rss
}

bench_stats() {
    local stays=${BENCH_STAYS:-1000000}
    cargo build --release --bin luutru >&2
    local db_url
    db_url=$(fresh_database luutru_bench_stats)
    echo "== loading a demo city of $stays stays"
    local start=$SECONDS
    DATABASE_URL=$db_url REDIS_PREFIX=luutru-bench-stats: RUST_LOG=error "$bin/luutru" seed --demo --stays "$stays" |
        grep -v '^  ' || true
    echo "loaded in $((SECONDS - start)) s"
    psql "$db_url" -qAtc "VACUUM ANALYZE" >/dev/null
    psql "$db_url" -qAt -F ' ' -c "SELECT 'stays:', count(*) FROM stays" \
        -c "SELECT 'guests:', count(*) FROM guests" \
        -c "SELECT 'rollup rows:', (SELECT count(*) FROM stats_place_days) + (SELECT count(*) FROM stats_nationality_days) + (SELECT count(*) FROM stats_visit_days)"
    echo "== rollups against plain GROUP BY over the raw tables (ratio: raw ÷ rollups)"
    DATABASE_URL=$db_url REDIS_PREFIX=luutru-bench-stats: RUST_LOG=error "$bin/luutru" stats check \
        --runs "${BENCH_RUNS:-20}" --raw-runs "${BENCH_RAW_RUNS:-5}"
}

case $what in
qr) bench_qr ;;
load) bench_load ;;
register) bench_register ;;
stats) bench_stats ;;
*)
    echo "bench.sh: unknown benchmark '$what' (known: qr, load, register, stats)" >&2
    exit 2
    ;;
esac
