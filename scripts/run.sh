#!/usr/bin/env bash
# Build luutru, prepare its database and serve it on http://127.0.0.1:8080/.
#
#   scripts/run.sh             with demo data and demo sign-ins (the default)
#   scripts/run.sh --no-demo   schema only, no demo data
#
# PostgreSQL and Redis come from scripts/services.sh (it explains DATABASE_URL,
# REDIS_URL and LUUTRU_PRIVATE_SERVICES). BIND_ADDR changes where the server
# listens (default 127.0.0.1:8080). Stop the server with Ctrl-C; stop the
# private database and Redis with `scripts/services.sh stop`.
set -euo pipefail

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

demo=1
while [ $# -gt 0 ]; do
    case $1 in
    --no-demo) demo=0 ;;
    -h | --help)
        usage
        exit 0
        ;;
    --) break ;; # anything after -- is ignored
    *)
        printf 'run.sh: unknown option: %s\n\n' "$1" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_cargo
ensure_c_toolchain
# Posters are printed with the Noto fonts.
ensure_fonts

# Checked-in query metadata (.sqlx/) lets the build work before the database
# has its tables.
if [ -d .sqlx ]; then
    export SQLX_OFFLINE=true
fi

printf '\n==> cargo build --release\n' >&2
if ! cargo build --release --bin luutru; then
    if [ ! -d .sqlx ]; then
        printf 'hint: without .sqlx/ the SQL checks need a migrated database at DATABASE_URL\n' >&2
    fi
    exit 1
fi
luutru="${CARGO_TARGET_DIR:-target}/release/luutru"

# Where people should point their browser: a wildcard address is reachable on
# the loopback one.
listen=${BIND_ADDR:-127.0.0.1:8080}
case $listen in
0.0.0.0:*) shown=127.0.0.1:${listen#0.0.0.0:} ;;
"[::]:"*) shown="[::1]:${listen#"[::]:"}" ;;
*) shown=$listen ;;
esac
base="http://$shown"
# Check-in links and QR codes follow the chosen address unless told otherwise.
if [ -n "${BIND_ADDR:-}" ] && [ -z "${PUBLIC_BASE_URL:-}" ]; then
    export PUBLIC_BASE_URL=$base
fi

printf '\n==> luutru migrate\n' >&2
"$luutru" migrate

if [ "$demo" = 1 ]; then
    printf '\n==> luutru seed --demo\n' >&2
    "$luutru" seed --demo
fi

cat <<EOF

luutru is starting on $base/

  $base/           sign in
  $base/hotel      hotel desk: guest register, desk entry, check-out
  $base/office     city tourism office: places, statistics, check-in links
  $base/api/docs   API documentation

Visitor pages have no menu entry: open one of the check-in links (or QR codes)
shown on /office.
EOF
if [ "$demo" = 1 ]; then
    printf 'Demo sign-ins for each role are listed above (from luutru seed --demo).\n'
else
    printf 'Started with --no-demo: there are no demo sign-ins.\n'
fi
printf 'Press Ctrl-C to stop.\n\n'

exec "$luutru" serve
