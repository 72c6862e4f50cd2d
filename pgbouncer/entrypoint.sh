#!/bin/sh
# Compose entry point of the pgbouncer container: render pgbouncer.ini from the
# SAME template as the local stack (pgbouncer.ini.template, defaults from
# defaults.env), write the user list from the environment (no secret is ever
# in the image or the repository), then exec pgbouncer.
#
# Environment: DB_PASSWORD (required), DB_USER (siprems), DB_NAME (siprems),
# DB_HOST (postgres), DB_PORT (5432), LISTEN_ADDR (0.0.0.0), LISTEN_PORT (6432),
# ADMIN_USERS ($DB_USER), PGBOUNCER_* tunables (defaults.env).
# `entrypoint.sh render DIR` only writes DIR/pgbouncer.ini and DIR/userlist.txt.
set -eu

HERE=${PGBOUNCER_TEMPLATE_DIR:-$(dirname "$0")}
RUN_DIR=${PGBOUNCER_RUN_DIR:-/run/pgbouncer}
if [ "${1:-}" = "render" ]; then RUN_DIR=$2; fi

# Defaults for every variable the template names, without overriding the environment.
while IFS='=' read -r key value; do
    case "$key" in ''|\#*) continue ;; esac
    eval "current=\${$key:-}"
    # shellcheck disable=SC2154  # set by the eval above
    if [ -z "$current" ]; then export "$key=$value"; fi
done < "$HERE/defaults.env"
: "${DB_USER:=siprems}" "${DB_NAME:=siprems}" "${DB_HOST:=postgres}" "${DB_PORT:=5432}"
: "${LISTEN_ADDR:=0.0.0.0}" "${LISTEN_PORT:=6432}" "${ADMIN_USERS:=$DB_USER}"
: "${AUTH_FILE:=$RUN_DIR/userlist.txt}"
export DB_USER DB_NAME DB_HOST DB_PORT LISTEN_ADDR LISTEN_PORT ADMIN_USERS AUTH_FILE
if [ -z "${DB_PASSWORD:-}" ]; then
    echo "entrypoint: DB_PASSWORD is required" >&2
    exit 2
fi

mkdir -p "$RUN_DIR"
umask 077
# ${NAME} -> value of NAME; a name with no value is an error (like Python's
# string.Template.substitute in stack.py).
awk '{
    out = ""; line = $0
    while (match(line, /\$\{[A-Za-z_][A-Za-z0-9_]*\}/)) {
        name = substr(line, RSTART + 2, RLENGTH - 3)
        if (!(name in ENVIRON)) { print "entrypoint: " name " is not set" > "/dev/stderr"; exit 3 }
        out = out substr(line, 1, RSTART - 1) ENVIRON[name]
        line = substr(line, RSTART + RLENGTH)
    }
    print out line
}' "$HERE/pgbouncer.ini.template" > "$RUN_DIR/pgbouncer.ini"

# auth_file format: "user" "password", a double quote doubled. The plain
# password (not a SCRAM verifier) lets pgbouncer log in to PostgreSQL with
# SCRAM by itself (min_pool_size, reserve pool); clients still use SCRAM.
quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }
printf '%s %s\n' "$(quote "$DB_USER")" "$(quote "$DB_PASSWORD")" > "$RUN_DIR/userlist.txt"

if [ "${1:-}" = "render" ]; then exit 0; fi
# max_client_conn needs more descriptors than the usual soft limit of 1024.
# shellcheck disable=SC3045  # dash (Debian's sh) has ulimit -n and -H
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec pgbouncer "$RUN_DIR/pgbouncer.ini"
