#!/usr/bin/env bash
# PostgreSQL and Redis for running and testing luutru.
#
#   source scripts/services.sh    find or start both; exports DATABASE_URL and REDIS_URL
#   scripts/services.sh [start]   the same, then prints the two URLs as `export` lines
#   scripts/services.sh stop      stops the private instances under target/services
#   scripts/services.sh status    tells whether the private instances run
#
# For each service the first that works is used:
#   1. DATABASE_URL / REDIS_URL from the environment, if the server answers;
#   2. the usual local server: 127.0.0.1:5432 (role postgres, no password) and
#      127.0.0.1:6379;
#   3. a private instance kept under target/services, on 127.0.0.1:25432
#      (LUUTRU_PG_PORT) and 127.0.0.1:63799 (LUUTRU_REDIS_PORT). Missing server
#      packages are installed with apt-get when we are root or sudo works.
# LUUTRU_PRIVATE_SERVICES=1 goes straight to 3.
#
# The private PostgreSQL is a throwaway development cluster: trust auth, no
# fsync. PostgreSQL will not run as root, so as root it runs as the `postgres`
# system user.
#
# Sourcing also defines ensure_cargo, ensure_c_toolchain, ensure_database,
# ensure_chromium and ensure_fonts for the other scripts.

_lt_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# LUUTRU_SERVICES_DIR keeps a second pair apart (scripts/faults.sh breaks its own).
_lt_svc=${LUUTRU_SERVICES_DIR:-$_lt_root/target/services}

_lt_say() { printf '%s\n' "$*" >&2; }
_lt_fail() {
    printf 'error: %s\n' "$*" >&2
    return 1
}

# Hide a password in a URL before printing it.
_lt_redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

_lt_private_forced() {
    case "${LUUTRU_PRIVATE_SERVICES:-}" in
    1 | true | yes | on) return 0 ;;
    *) return 1 ;;
    esac
}

_lt_is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root: directly, with passwordless sudo, or with sudo asking
# for a password when there is a terminal.
_lt_as_root() {
    if _lt_is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
        sudo "$@"
    else
        _lt_fail "need root (or sudo) to run: $*"
    fi
}

_lt_apt_updated=""

# _lt_apt_install [--minimal] PACKAGE...   (--minimal: skip recommended packages)
_lt_apt_install() {
    local opts=(-y -q)
    if [ "${1:-}" = --minimal ]; then
        opts+=(--no-install-recommends)
        shift
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        _lt_fail "apt-get not found; please install these yourself: $*"
        return 1
    fi
    if ! _lt_is_root && ! command -v sudo >/dev/null 2>&1; then
        _lt_fail "not root and no sudo; please install these yourself: $*"
        return 1
    fi
    if [ -z "$_lt_apt_updated" ]; then
        _lt_say "apt-get update ..."
        _lt_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 9>&- ||
            _lt_fail "apt-get update failed" || return
        _lt_apt_updated=1
    fi
    _lt_say "Installing $* ..."
    # (package scripts may start daemons: they must not inherit the lock on fd 9)
    _lt_as_root env DEBIAN_FRONTEND=noninteractive apt-get install "${opts[@]}" "$@" >&2 9>&- ||
        _lt_fail "could not install: $*" || return
}

# Is something accepting TCP connections on HOST PORT?
_lt_tcp_open() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# ---------------------------------------------------------------- PostgreSQL

# Print the path of a PostgreSQL client program (psql, pg_isready).
_lt_pg_tool() {
    local d found
    if found=$(command -v "$1") && [ -x "$found" ]; then
        printf '%s\n' "$found"
        return 0
    fi
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        if [ -x "$d/$1" ]; then
            printf '%s\n' "$d/$1"
            return 0
        fi
    done
    return 1
}

# Print a directory holding initdb, pg_ctl and postgres (of major version $1
# if given), newest first.
_lt_pg_bindir() {
    local want=${1:-} d v candidates=()
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        candidates+=("$d")
    done
    if command -v pg_ctl >/dev/null 2>&1; then
        candidates+=("$(dirname "$(command -v pg_ctl)")")
    fi
    for d in "${candidates[@]}"; do
        if ! [ -x "$d/initdb" ] || ! [ -x "$d/pg_ctl" ] || ! [ -x "$d/postgres" ]; then
            continue
        fi
        if [ -n "$want" ]; then
            v=$("$d/pg_ctl" --version 2>/dev/null) || continue
            v=${v##*) }
            v=${v%%[!0-9]*}
            [ "$v" = "$want" ] || continue
        fi
        printf '%s\n' "$d"
        return 0
    done
    return 1
}

# Does a PostgreSQL server answer on HOST PORT?
_lt_pg_ready() {
    local isready
    if isready=$(_lt_pg_tool pg_isready); then
        "$isready" -q -t 3 -h "$1" -p "$2" -U postgres
    else
        _lt_tcp_open "$1" "$2"
    fi
}

# Does the server named by a connection URL answer?
_lt_pg_url_ready() {
    local isready
    if isready=$(_lt_pg_tool pg_isready); then
        "$isready" -q -t 3 -d "$1"
    elif [[ $1 =~ ^postgres(ql)?://([^@/?]*@)?([^:/?]+)(:([0-9]+))? ]]; then
        _lt_tcp_open "${BASH_REMATCH[3]}" "${BASH_REMATCH[5]:-5432}"
    else
        return 1
    fi
}

# Can we sign in with this URL (no password prompt)? Unknown (no psql) counts as yes.
_lt_pg_can_login() {
    local psql
    psql=$(_lt_pg_tool psql) || return 0
    "$psql" -X -w -q -At -d "$1" -c 'select 1' >/dev/null 2>&1
}

# Run a PostgreSQL server program; as root, run it as the postgres user.
# Fd 9 (the start lock) is closed so the server does not keep holding it.
_lt_pg_exec() {
    if _lt_is_root; then
        (cd / && runuser -u postgres -- "$@") 9>&-
    else
        (cd / && "$@") 9>&-
    fi
}

# As root: make sure the postgres user exists and can reach target/services.
_lt_pg_prepare_root() {
    local d dirs=() i
    command -v runuser >/dev/null 2>&1 || _lt_fail "runuser (util-linux) is missing" || return
    if ! id -u postgres >/dev/null 2>&1; then
        _lt_say "PostgreSQL: creating system user postgres"
        useradd --system --user-group --home-dir /var/lib/postgresql \
            --shell /usr/sbin/nologin postgres ||
            _lt_fail "could not create the postgres user" || return
    fi
    d=$_lt_svc
    while :; do
        dirs+=("$d")
        [ "$d" = / ] && break
        d=$(dirname "$d")
    done
    for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
        d=${dirs[i]}
        if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
            chmod o+x "$d" || _lt_fail "the postgres user cannot enter $d" || return
            _lt_say "PostgreSQL: made $d traversable (o+x) for the postgres user"
        fi
    done
}

_lt_pg_private_start() {
    # Private ports stay below Linux's ephemeral range (32768-60999): a port in it
    # can be held, at that moment, by the local end of any outgoing connection.
    local port=${LUUTRU_PG_PORT:-25432}
    local data=$_lt_svc/pg sock=$_lt_svc/pg-socket log=$_lt_svc/pg.log
    local version="" bindir locales locale_opt sockline running_port

    if [ -f "$data/PG_VERSION" ]; then
        version=$(cat "$data/PG_VERSION")
    fi
    if ! bindir=$(_lt_pg_bindir "$version"); then
        if _lt_pg_bindir "" >/dev/null; then
            _lt_fail "target/services/pg was made by PostgreSQL $version, which is not installed;" \
                "run 'scripts/services.sh stop' and delete target/services/pg to start afresh"
            return 1
        fi
        _lt_say "PostgreSQL: server programs not found; installing the postgresql package"
        _lt_apt_install --minimal postgresql || return 1
        bindir=$(_lt_pg_bindir "$version") ||
            _lt_fail "PostgreSQL programs still not found after installing postgresql" || return
    fi

    if _lt_is_root; then
        _lt_pg_prepare_root || return 1
    fi

    if [ ! -f "$data/PG_VERSION" ]; then
        if [ -e "$data" ]; then
            _lt_say "PostgreSQL: removing incomplete $data"
            rm -rf "$data"
        fi
        mkdir -m 700 "$data" || _lt_fail "cannot create $data" || return
        if _lt_is_root; then
            chown postgres:postgres "$data" || return 1
        fi
        locales=$(locale -a 2>/dev/null || true)
        if [[ $'\n'$locales$'\n' =~ $'\n'[Cc]\.(UTF-8|utf8)$'\n' ]]; then
            locale_opt=--locale=C.UTF-8
        else
            locale_opt=--no-locale
        fi
        _lt_say "PostgreSQL: creating a private cluster in ${_lt_svc#"$_lt_root"/}/pg"
        if ! _lt_pg_exec "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
            "$locale_opt" >"$_lt_svc/initdb.log" 2>&1; then
            tail -n 8 "$_lt_svc/initdb.log" >&2 || true
            _lt_fail "initdb failed (full output: target/services/initdb.log)"
            return 1
        fi
    fi
    if ! grep -q "^include_if_exists = 'luutru.conf'" "$data/postgresql.conf"; then
        printf "\ninclude_if_exists = 'luutru.conf'\n" >>"$data/postgresql.conf"
    fi

    # A Unix socket path must stay under ~107 bytes; TCP alone is enough.
    if [ ${#sock} -le 90 ]; then
        mkdir -p "$sock"
        if _lt_is_root; then
            chown postgres:postgres "$sock"
        fi
        sockline="unix_socket_directories = '${sock//\'/\'\'}'"
    else
        sockline="unix_socket_directories = ''"
    fi
    cat >"$data/luutru.conf" <<EOF
# Rewritten by scripts/services.sh at every start.
listen_addresses = '127.0.0.1'
port = $port
$sockline
max_connections = 200
# A throwaway development cluster: speed over crash safety.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    touch "$log"
    if _lt_is_root; then
        chown postgres:postgres "$data/luutru.conf" "$log"
    fi

    if _lt_pg_exec "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        # Line 4 of postmaster.pid is the port the running server listens on.
        running_port=$(sed -n 4p "$data/postmaster.pid" 2>/dev/null || true)
        if [ "$running_port" = "$port" ] && _lt_pg_ready 127.0.0.1 "$port"; then
            _lt_say "PostgreSQL: using the private instance already running on 127.0.0.1:$port"
        else
            _lt_say "PostgreSQL: restarting the private instance on 127.0.0.1:$port"
            _lt_pg_exec "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 -m fast restart >/dev/null 2>&1 || {
                tail -n 8 "$log" >&2 || true
                _lt_fail "PostgreSQL did not restart (log: target/services/pg.log)"
                return 1
            }
        fi
    else
        if ! _lt_pg_exec "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 2>&1; then
            tail -n 8 "$log" >&2 || true
            _lt_fail "PostgreSQL did not start on 127.0.0.1:$port (log: target/services/pg.log);" \
                "if the port is taken, choose another with LUUTRU_PG_PORT"
            return 1
        fi
        _lt_say "PostgreSQL: started private instance on 127.0.0.1:$port (data in ${_lt_svc#"$_lt_root"/}/pg)"
    fi
    _lt_pg_ready 127.0.0.1 "$port" ||
        _lt_fail "PostgreSQL runs but does not answer on 127.0.0.1:$port" || return
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/luutru"
}

_lt_pg_private_stop() {
    local data=$_lt_svc/pg version bindir
    if [ ! -f "$data/postmaster.pid" ]; then
        _lt_say "PostgreSQL: private instance not running"
        return 0
    fi
    version=$(cat "$data/PG_VERSION" 2>/dev/null || true)
    bindir=$(_lt_pg_bindir "$version") ||
        _lt_fail "PostgreSQL $version programs not found; cannot stop target/services/pg" || return
    if _lt_pg_exec "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        _lt_pg_exec "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null ||
            _lt_fail "could not stop the private PostgreSQL" || return
        _lt_say "PostgreSQL: stopped private instance"
    else
        _lt_say "PostgreSQL: private instance not running"
    fi
}

_lt_pg_private_status() {
    local data=$_lt_svc/pg version bindir
    if [ -f "$data/PG_VERSION" ]; then
        version=$(cat "$data/PG_VERSION")
        if bindir=$(_lt_pg_bindir "$version") &&
            _lt_pg_exec "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
            _lt_say "PostgreSQL: private instance running (target/services/pg)"
            return 0
        fi
    fi
    _lt_say "PostgreSQL: private instance not running"
}

_lt_start_postgres() {
    local std="postgres://postgres@127.0.0.1:5432"
    if _lt_private_forced; then
        if [ -n "${DATABASE_URL:-}" ]; then
            _lt_say "PostgreSQL: LUUTRU_PRIVATE_SERVICES is set; ignoring DATABASE_URL"
        fi
    else
        if [ -n "${DATABASE_URL:-}" ]; then
            if _lt_pg_url_ready "$DATABASE_URL"; then
                export DATABASE_URL
                _lt_say "PostgreSQL: using DATABASE_URL $(_lt_redact "$DATABASE_URL")"
                return 0
            fi
            _lt_say "PostgreSQL: DATABASE_URL $(_lt_redact "$DATABASE_URL") does not answer; looking further"
        fi
        if _lt_pg_ready 127.0.0.1 5432; then
            if _lt_pg_can_login "$std/postgres"; then
                export DATABASE_URL="$std/luutru"
                _lt_say "PostgreSQL: using the server on 127.0.0.1:5432"
                return 0
            fi
            _lt_say "PostgreSQL: the server on 127.0.0.1:5432 refuses role postgres without a password"
        fi
    fi
    _lt_pg_private_start
}

# Create the database named in DATABASE_URL (or $1) if it does not exist yet.
# `luutru migrate` does this too; the tests need it before anything is built.
ensure_database() {
    local url=${1:-${DATABASE_URL:-}} psql base db params maint found
    if ! [[ $url =~ ^(postgres(ql)?://[^/?]*)/([A-Za-z0-9_]+)(\?.*)?$ ]]; then
        _lt_say "PostgreSQL: cannot read a database name in $(_lt_redact "$url"); not creating it"
        return 0
    fi
    base=${BASH_REMATCH[1]} db=${BASH_REMATCH[3]} params=${BASH_REMATCH[4]}
    maint="$base/postgres$params"
    if ! psql=$(_lt_pg_tool psql); then
        _lt_say "PostgreSQL: psql not found; not checking that database $db exists"
        return 0
    fi
    found=$("$psql" -X -w -q -At -d "$maint" \
        -c "select 1 from pg_database where datname = '$db'" 2>&1) ||
        _lt_fail "cannot connect to $(_lt_redact "$maint"): $found" || return
    if [ "$found" != 1 ]; then
        "$psql" -X -w -q -d "$maint" -c "create database \"$db\"" >/dev/null ||
            _lt_fail "could not create database $db" || return
        _lt_say "PostgreSQL: created database $db"
    fi
}

# --------------------------------------------------------------------- Redis

# Does Redis answer PING on HOST PORT? (needs no redis-cli)
_lt_redis_ping() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$0/$1" || exit 1
        printf "PING\r\n" >&3
        IFS= read -r line <&3 || exit 1
        [[ $line == "+PONG"* ]]' "$1" "$2" 2>/dev/null
}

_lt_redis_url_ping() {
    local out
    if command -v redis-cli >/dev/null 2>&1; then
        out=$(timeout 5 redis-cli --no-auth-warning -u "$1" ping 2>/dev/null) || return 1
        [ "$out" = PONG ]
    elif [[ $1 =~ ^redis://([^:/@]+)(:([0-9]+))?(/[0-9]*)?$ ]]; then
        _lt_redis_ping "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]:-6379}"
    else
        return 1
    fi
}

_lt_redis_bin() {
    local found
    if found=$(command -v redis-server) && [ -x "$found" ]; then
        printf '%s\n' "$found"
    elif [ -x /usr/bin/redis-server ]; then
        printf '%s\n' /usr/bin/redis-server
    else
        return 1
    fi
}

_lt_redis_private_start() {
    local port=${LUUTRU_REDIS_PORT:-63799} server i pid
    # Our own instance, but on another port: replace it.
    if pid=$(_lt_redis_private_pid) && [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline") " != *":$port "* ]]; then
        _lt_say "Redis: stopping the private instance on its old port"
        _lt_redis_private_stop || return 1
    fi
    if _lt_redis_ping 127.0.0.1 "$port"; then
        if _lt_redis_private_pid >/dev/null; then
            _lt_say "Redis: using the private instance already running on 127.0.0.1:$port"
        else
            _lt_say "Redis: using the server already answering on 127.0.0.1:$port"
        fi
        export REDIS_URL="redis://127.0.0.1:$port"
        return 0
    fi
    if ! server=$(_lt_redis_bin); then
        _lt_say "Redis: redis-server not found; installing the redis-server package"
        _lt_apt_install --minimal redis-server || return 1
        server=$(_lt_redis_bin) ||
            _lt_fail "redis-server still not found after installing it" || return
    fi
    "$server" --bind 127.0.0.1 --port "$port" --daemonize yes --save "" --appendonly no \
        --dir "$_lt_svc" --logfile "$_lt_svc/redis.log" --pidfile "$_lt_svc/redis.pid" \
        >/dev/null 9>&- || _lt_fail "redis-server failed to start (log: target/services/redis.log)" || return
    for ((i = 0; i < 50; i++)); do
        if _lt_redis_ping 127.0.0.1 "$port"; then
            _lt_say "Redis: started private instance on 127.0.0.1:$port"
            export REDIS_URL="redis://127.0.0.1:$port"
            return 0
        fi
        sleep 0.2
    done
    tail -n 8 "$_lt_svc/redis.log" >&2 2>/dev/null || true
    _lt_fail "Redis did not answer on 127.0.0.1:$port (log: target/services/redis.log);" \
        "if the port is taken, choose another with LUUTRU_REDIS_PORT"
}

# Print the pid of the private redis-server, if it runs.
_lt_redis_private_pid() {
    local pid
    pid=$(cat "$_lt_svc/redis.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    [[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == *redis-server* ]] || return 1
    printf '%s\n' "$pid"
}

_lt_redis_private_stop() {
    local pid i
    if ! pid=$(_lt_redis_private_pid); then
        _lt_say "Redis: private instance not running"
        return 0
    fi
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$_lt_svc/redis.pid"
            _lt_say "Redis: stopped private instance"
            return 0
        fi
        sleep 0.2
    done
    _lt_fail "Redis (pid $pid) did not stop"
}

_lt_redis_private_status() {
    local pid
    if pid=$(_lt_redis_private_pid); then
        _lt_say "Redis: private instance running (pid $pid)"
    else
        _lt_say "Redis: private instance not running"
    fi
}

_lt_start_redis() {
    local std="redis://127.0.0.1:6379"
    if _lt_private_forced; then
        if [ -n "${REDIS_URL:-}" ]; then
            _lt_say "Redis: LUUTRU_PRIVATE_SERVICES is set; ignoring REDIS_URL"
        fi
    else
        if [ -n "${REDIS_URL:-}" ]; then
            if _lt_redis_url_ping "$REDIS_URL"; then
                export REDIS_URL
                _lt_say "Redis: using REDIS_URL $(_lt_redact "$REDIS_URL")"
                return 0
            fi
            _lt_say "Redis: REDIS_URL $(_lt_redact "$REDIS_URL") does not answer; looking further"
        fi
        if _lt_redis_ping 127.0.0.1 6379; then
            export REDIS_URL=$std
            _lt_say "Redis: using the server on 127.0.0.1:6379"
            return 0
        fi
    fi
    _lt_redis_private_start
}

# ------------------------------------------------------------- other helpers

# Make cargo reachable (a fresh rustup install may not be on PATH yet).
ensure_cargo() {
    if command -v cargo >/dev/null 2>&1; then
        return 0
    fi
    if [ -x "${HOME:-}/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
        return 0
    fi
    _lt_fail "Rust is not installed. Install it from https://rustup.rs, then run this again:" \
        "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
}

# Rust links through the system C compiler.
ensure_c_toolchain() {
    if command -v cc >/dev/null 2>&1; then
        return 0
    fi
    _lt_say "No C compiler/linker (cc) found; Rust needs one to link"
    _lt_apt_install --minimal gcc libc6-dev
}

# The browser tests drive Debian's chromium through chromedriver.
ensure_chromium() {
    if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
        return 0
    fi
    _lt_say "The browser tests need chromium and chromedriver"
    _lt_apt_install chromium chromium-driver ||
        _lt_fail "please install the chromium and chromium-driver packages" || return
}

# Fonts with Vietnamese glyphs, for rendering pages and images.
ensure_fonts() {
    if [ -f /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf ] &&
        [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then
        return 0
    fi
    _lt_apt_install --minimal fonts-noto-core fonts-noto-cjk ||
        _lt_fail "please install the fonts-noto-core and fonts-noto-cjk packages (poster fonts)" || return
}

# ensure_poppler: pdftoppm and pdftotext, which the poster tests read PDFs with.
ensure_poppler() {
    if command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then
        return 0
    fi
    _lt_apt_install --minimal poppler-utils ||
        _lt_fail "please install the poppler-utils package" || return
}

# ensure_zbar: the zbarimg QR decoder the image tests read codes with.
ensure_zbar() {
    if command -v zbarimg >/dev/null 2>&1; then
        return 0
    fi
    _lt_apt_install --minimal zbar-tools ||
        _lt_fail "please install the zbar-tools package (zbarimg)" || return
}

# ------------------------------------------------------------------- entries

luutru_services_start() {
    mkdir -p "$_lt_svc" || _lt_fail "cannot create $_lt_svc" || return
    chmod 755 "$_lt_svc" 2>/dev/null || true
    if command -v flock >/dev/null 2>&1; then
        # One starter at a time, so two scripts never initialise the same cluster.
        {
            if ! flock -n 9; then
                _lt_say "Waiting for another scripts/services.sh to finish ..."
                flock -w 600 9 || _lt_fail "timed out waiting for another services.sh" || return
            fi
            _lt_start_postgres || return 1
            _lt_start_redis || return 1
        } 9>"$_lt_svc/.lock"
    else
        _lt_start_postgres || return 1
        _lt_start_redis || return 1
    fi
}

luutru_services_stop() {
    local rc=0
    _lt_pg_private_stop || rc=1
    _lt_redis_private_stop || rc=1
    return "$rc"
}

luutru_services_status() {
    _lt_pg_private_status
    _lt_redis_private_status
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    case "${1:-start}" in
    start)
        luutru_services_start
        printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\n' "$DATABASE_URL" "$REDIS_URL"
        ;;
    stop) luutru_services_stop ;;
    status) luutru_services_status ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0" ;;
    *)
        printf 'usage: %s [start|stop|status]\n' "$0" >&2
        exit 2
        ;;
    esac
elif [ -z "${LUUTRU_SERVICES_SKIP:-}" ]; then
    # Sourced: the caller's arguments are not ours; just make the services
    # available (LUUTRU_SERVICES_SKIP=1: only the ensure_* helpers).
    luutru_services_start
fi
