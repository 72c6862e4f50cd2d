#!/usr/bin/env bash
# Health of a running SIPREMS stack, one line per check; exit 1 if any fails.
#
#   scripts/health_check.sh --env-file .run/env     # the `make run` stack
#   SIPREMS_URL=http://lb:8080 HAPROXY_STATS_URL=http://lb:8404 HAPROXY_STATS_PASSWORD=... \
#   DATABASE_URL=... DATABASE_DIRECT_URL=... REDIS_URL=... QUEUE_REDIS_URL=... scripts/health_check.sh
#
# Checks: /health and /ready through HAProxy, and that /metrics is not public
# there; every API server HAProxy knows (stats CSV), directly on its /health and
# /metrics (with METRICS_TOKEN when set); the stats page; PostgreSQL and
# pgbouncer (a query each, with psql when installed, else a TCP connect; SHOW
# POOLS on pgbouncer's admin console); both Redis servers (PING and their
# eviction policy). Variables default to the `make run` ports.
# Options: --env-file FILE (KEY=VALUE lines), --no-color. NO_COLOR is honoured.
set -uo pipefail

color=1
[ -t 1 ] || color=0
[ -n "${NO_COLOR:-}" ] && color=0
while [ $# -gt 0 ]; do
    case "$1" in
        --env-file)
            set -a
            # shellcheck source=/dev/null
            . "$2"
            set +a
            shift 2 ;;
        --no-color) color=0; shift ;;
        --color) color=1; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

if [ "$color" = 1 ]; then
    GREEN=$'\e[32m'; YELLOW=$'\e[33m'; RED=$'\e[31m'; BOLD=$'\e[1m'; RESET=$'\e[0m'
else
    GREEN=""; YELLOW=""; RED=""; BOLD=""; RESET=""
fi
oks=0; warns=0; fails=0
ok()   { oks=$((oks + 1));   printf '%s[ OK ]%s %-22s %s\n' "$GREEN" "$RESET" "$1" "$2"; }
warn() { warns=$((warns + 1)); printf '%s[WARN]%s %-22s %s\n' "$YELLOW" "$RESET" "$1" "$2"; }
fail() { fails=$((fails + 1)); printf '%s[FAIL]%s %-22s %s\n' "$RED" "$RESET" "$1" "$2"; }

SIPREMS_URL=${SIPREMS_URL:-http://127.0.0.1:${HAPROXY_PORT:-5000}}
HAPROXY_STATS_URL=${HAPROXY_STATS_URL:-http://127.0.0.1:${HAPROXY_STATS_PORT:-8404}}
DATABASE_URL=${DATABASE_URL:-postgresql://siprems@127.0.0.1:${PGBOUNCER_PORT:-6433}/siprems}
DATABASE_DIRECT_URL=${DATABASE_DIRECT_URL:-postgresql://siprems@127.0.0.1:${PGPORT:-5433}/siprems}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:${REDIS_PORT:-6380}/0}
QUEUE_REDIS_URL=${QUEUE_REDIS_URL:-redis://127.0.0.1:${QUEUE_PORT:-6381}/0}
stats_auth=()
[ -n "${HAPROXY_STATS_PASSWORD:-}" ] && stats_auth=(-u "admin:${HAPROXY_STATS_PASSWORD}")

# http GET URL -> sets $code and $body
http() {
    local out
    out=$(curl -s --max-time 3 -w '\n%{http_code}' "$@" 2>/dev/null) || { code=000; body=""; return 1; }
    code=${out##*$'\n'}; body=${out%$'\n'*}
}

# URL parts: host and port of scheme://[user[:pass]@]host:port/...
url_host() { local r=${1#*://}; r=${r##*@}; r=${r%%/*}; echo "${r%:*}"; }
url_port() { local r=${1#*://}; r=${r##*@}; r=${r%%/*}; echo "${r##*:}"; }
with_db() { echo "${1%/*}/$2"; }

tcp_open() { timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# redis HOST PORT COMMAND -> the reply's last line (RESP over bash's /dev/tcp)
redis() {
    local host=$1 port=$2 first last n i fd
    tcp_open "$host" "$port" || return 1
    exec {fd}<>"/dev/tcp/$host/$port" || return 1
    printf '%s\r\n' "$3" >&"$fd"
    IFS= read -r -t 2 first <&"$fd" || return 1
    first=${first%$'\r'}
    if [[ $first == \** ]]; then  # an array: keep its last bulk string
        n=$(( ${first#\*} * 2 ))
        for ((i = 0; i < n; i++)); do IFS= read -r -t 2 last <&"$fd"; done
        first=${last%$'\r'}
    fi
    exec {fd}>&-
    echo "$first"
}

echo "${BOLD}SIPREMS health${RESET}  api=$SIPREMS_URL  stats=$HAPROXY_STATS_URL"

# -- through HAProxy -------------------------------------------------------------
if http "$SIPREMS_URL/health" && [ "$code" = 200 ]; then ok "api /health" "200 $body"
else fail "api /health" "HTTP $code from $SIPREMS_URL/health"; fi

if http "$SIPREMS_URL/ready" && [ "$code" = 200 ]; then ok "api /ready" "200 (database, redis, queue reachable)"
else fail "api /ready" "HTTP $code ${body:0:160}"; fi

http "$SIPREMS_URL/metrics"
case "$code" in
    404) ok "api /metrics" "404: not public (read it on each instance)" ;;
    200) fail "api /metrics" "200: diagnostics are public on $SIPREMS_URL" ;;
    *)   fail "api /metrics" "HTTP $code" ;;
esac
metrics_auth=()
[ -n "${METRICS_TOKEN:-}" ] && metrics_auth=(-H "Authorization: Bearer ${METRICS_TOKEN}")

# -- HAProxy stats and each API server ------------------------------------------
if http "${stats_auth[@]}" "$HAPROXY_STATS_URL/stats;csv" && [ "$code" = 200 ]; then
    ok "haproxy stats" "$HAPROXY_STATS_URL/stats"
    # pxname,svname,...,status (18),...,addr (74): API servers, skipping empty compose slots.
    servers=$(printf '%s\n' "$body" | awk -F, '$1 == "be_api" && $2 != "BACKEND" && $2 != "FRONTEND" \
        && $18 !~ /^MAINT \(resolution\)/ { gsub(/ /, "_", $18); print $2, $18, $74 }')
    [ -n "$servers" ] || fail "api servers" "HAProxy lists no API server"
    while read -r name status addr; do
        [ -n "$name" ] || continue
        case "$status" in
            UP) ;;
            UP_*) warn "haproxy $name" "$status: failing health checks ($addr)" ;;  # "UP 1/2": going down
            *) fail "haproxy $name" "$status ($addr)"; continue ;;
        esac
        if http "http://$addr/health" && [ "$code" = 200 ]; then ok "instance $name" "$status in HAProxy, $addr/health 200"
        else fail "instance $name" "$status in HAProxy but $addr/health answered HTTP $code"; fi
        if http "${metrics_auth[@]}" "http://$addr/metrics" && [ "$code" = 200 ]; then
            ok "metrics $name" "$addr/metrics: $(printf '%s\n' "$body" | grep -vc '^#') samples"
        else fail "metrics $name" "$addr/metrics answered HTTP $code"; fi
    done <<< "$servers"
elif [ "$code" = 401 ]; then fail "haproxy stats" "401: set HAPROXY_STATS_PASSWORD"
else fail "haproxy stats" "HTTP $code from $HAPROXY_STATS_URL/stats;csv"; fi

# -- PostgreSQL and pgbouncer -------------------------------------------------------
check_pg() {  # name url
    local host port
    host=$(url_host "$2"); port=$(url_port "$2")
    if command -v psql >/dev/null; then
        if out=$(PGCONNECT_TIMEOUT=3 psql "$2" -XAtqc "SELECT 1" 2>&1); then ok "$1" "$host:$port: SELECT 1"
        else fail "$1" "$host:$port: ${out%%$'\n'*}"; fi
    elif tcp_open "$host" "$port"; then ok "$1" "$host:$port accepts connections (no psql for a query)"
    else fail "$1" "$host:$port refuses connections"; fi
}
check_pg "postgresql" "$DATABASE_DIRECT_URL"
check_pg "pgbouncer" "$DATABASE_URL"
if command -v psql >/dev/null; then
    # cl_active cl_waiting sv_active sv_idle sv_used of the app's pool (admin console).
    pools=$(PGCONNECT_TIMEOUT=3 psql "$(with_db "$DATABASE_URL" pgbouncer)" -XAtq -F ' ' -c 'SHOW POOLS' 2>/dev/null \
        | awk '$1 != "pgbouncer" { print "clients " $3 "+" $4 " waiting, servers " $7 " active " $10 " idle " $11 " used" }')
    if [ -n "$pools" ]; then ok "pgbouncer pools" "$(echo "$pools" | head -1)"
    else warn "pgbouncer pools" "SHOW POOLS unavailable (admin user/password?)"; fi
fi

# -- Redis -----------------------------------------------------------------------------
check_redis() {  # name url expected-policy-regex
    local host port pong policy
    host=$(url_host "$2"); port=$(url_port "$2")
    pong=$(redis "$host" "$port" PING)
    if [ "$pong" != "+PONG" ]; then fail "$1" "$host:$port: ${pong:-no answer}"; return; fi
    policy=$(redis "$host" "$port" "CONFIG GET maxmemory-policy")
    if [[ "$policy" =~ $3 ]]; then ok "$1" "$host:$port PONG, maxmemory-policy $policy"
    else warn "$1" "$host:$port PONG, but maxmemory-policy is ${policy:-unknown} (expected $3)"; fi
}
check_redis "redis (cache)" "$REDIS_URL" '^(volatile|allkeys)-'
check_redis "redis (queue)" "$QUEUE_REDIS_URL" '^noeviction$'

echo "${BOLD}$oks ok, $warns warnings, $fails failures${RESET}"
[ "$fails" -eq 0 ]
