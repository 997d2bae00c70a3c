#!/usr/bin/env bash
# Property-based tests of the HTTP API from its own description: schemathesis
# (from PyPI) reads /api/openapi.json of a running instance and sends it
# generated requests, signed in as an admin.
#
#   scripts/schemathesis.sh [EXAMPLES]     EXAMPLES cases per operation (25)
#
# It fails when any answer is a 5xx, an undocumented status or content type,
# or a body or header that breaks the description's own schema. The other
# checks (a schema-valid request refused, an invalid one accepted) are run and
# reported without failing: the service refuses what the schema cannot say
# (a departure before the arrival, a future birth date) and reads an empty
# query parameter as absent. The service runs on its own database
# (luutru_schemathesis) with a fixed seed, so a run can be replayed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
examples=${1:-25}
seed=${SCHEMATHESIS_SEED:-20261201}
port=${SCHEMATHESIS_PORT:-18095}

# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_cargo
ensure_c_toolchain
venv=target/st-venv
if [ ! -x "$venv/bin/st" ]; then
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        _lt_apt_install --minimal python3-venv
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q schemathesis
fi

export SQLX_OFFLINE=true
cargo build --bin luutru >&2
db=${DATABASE_URL%/*}/luutru_schemathesis
base=http://127.0.0.1:$port
psql "${DATABASE_URL%/*}/postgres" -qc 'DROP DATABASE IF EXISTS luutru_schemathesis WITH (FORCE)' >/dev/null
DATABASE_URL=$db target/debug/luutru migrate >/dev/null
printf 'schemathesis-admin-password\n' |
    DATABASE_URL=$db target/debug/luutru user create --email admin@schemathesis.vn --role admin --password-stdin >/dev/null
DATABASE_URL=$db BIND_ADDR=127.0.0.1:$port PUBLIC_BASE_URL=$base RATE_LIMITS=off \
    REDIS_PREFIX=luutru-schemathesis: REQUIRE_SECOND_FACTOR=false RUST_LOG=warn target/debug/luutru serve >target/schemathesis-service.log 2>&1 &
service=$!
trap 'kill "$service" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -fs "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
token=$(curl -fs "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"admin@schemathesis.vn","password":"schemathesis-admin-password"}' |
    sed 's/.*"token":"\([^"]*\)".*/\1/')

run() {
    "$venv/bin/st" run "$base/api/openapi.json" -H "Authorization: Bearer $token" \
        --max-examples "$examples" --seed "$seed" --workers 2 \
        --exclude-path /api/v1/auth/logout "$@"
}
echo "== every check, reported"
run --checks all >target/schemathesis-all.log 2>&1 || true
sed -n '/^Failures:/,/^Test cases:/p;/generated,/p' target/schemathesis-all.log
echo "== the checks that must hold"
run --phases examples,fuzzing,stateful \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    | tail -n 25
