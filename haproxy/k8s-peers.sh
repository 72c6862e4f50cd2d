#!/bin/sh
# HAProxy on Kubernetes (k8s/base/haproxy.yaml): the `peers siprems` section
# that shares the rate-limit tables of haproxy.cfg between the replicas of the
# StatefulSet, rendered from the pod names (stable: haproxy-0, haproxy-1, ...).
#   k8s-peers.sh render   print the section (this pod + every peer that resolves)
#   k8s-peers.sh run      write it, then exec HAProxy (the container command)
#   k8s-peers.sh watch    every HAPROXY_PEERS_INTERVAL s, rewrite it when a
#                         peer's address changed and reload the master (PPID)
# Environment: POD_NAME, POD_IP (downward API), HAPROXY_REPLICAS,
# HAPROXY_PEERS_DOMAIN (FQDN of the headless peers Service), optional
# HAPROXY_PEERS_PORT (10000), HAPROXY_PEERS_FILE, HAPROXY_CONF_DIR.
set -eu
conf_dir=${HAPROXY_CONF_DIR:-/usr/local/etc/haproxy}
out=${HAPROXY_PEERS_FILE:-/var/run/haproxy/peers.cfg}
port=${HAPROXY_PEERS_PORT:-10000}
base=${POD_NAME%-*}

render() {
    echo "# Rendered by k8s-peers.sh for $POD_NAME; peers that do not resolve yet are left out."
    echo "peers siprems"
    i=0
    while [ "$i" -lt "$HAPROXY_REPLICAS" ]; do
        name="$base-$i"
        addr=""
        if [ "$name" = "$POD_NAME" ]; then
            addr=$POD_IP
        else
            # shellcheck disable=SC2046 # word splitting wanted: "<address> <name>"
            set -- $(getent hosts "$name.$HAPROXY_PEERS_DOMAIN" || true)
            addr=${1:-}
        fi
        if [ -n "$addr" ]; then
            echo "    peer $name $addr:$port"
        fi
        i=$((i + 1))
    done
}

case "${1:-}" in
    render)
        render
        ;;
    run)
        render >"$out"
        exec haproxy -W -db -L "$POD_NAME" -f "$conf_dir/haproxy.cfg" -f "$conf_dir/backend-k8s.cfg" -f "$out"
        ;;
    watch)
        while sleep "${HAPROXY_PEERS_INTERVAL:-10}"; do
            new=$(render)
            if [ "$new" != "$(cat "$out")" ]; then
                printf '%s\n' "$new" >"$out"
                kill -USR2 "$PPID"
            fi
        done
        ;;
    *)
        echo "usage: $0 render|run|watch" >&2
        exit 2
        ;;
esac
