#!/bin/sh
# Three counter nodes against one PostgreSQL, all on this machine.
#
# PostgreSQL comes from Debian's packages (apt-get install postgresql): a server in a
# temporary directory, run as an unprivileged user (PostgreSQL refuses root), on a free
# port. Ctrl-C (or any exit) stops the nodes and the server and removes the directory.
set -eu

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PG_BIN/initdb" ] || PG_BIN=$(dirname "$(command -v initdb)")
PG_PORT=${PG_PORT:-5499}
SECRET=${FLAME_CLUSTER_SECRET:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
DATA=$(mktemp -d /tmp/flame-cluster.XXXXXX)
PIDS=""

as_user() {
    if [ "$(id -u)" = 0 ]; then
        chown -R nobody:nogroup "$DATA"
        setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
    else
        "$@"
    fi
}

stop() {
    for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    as_user "$PG_BIN/pg_ctl" -D "$DATA/pg" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap stop EXIT INT TERM

chmod 755 "$DATA"
as_user "$PG_BIN/initdb" -D "$DATA/pg" -A trust -U flame >/dev/null
as_user "$PG_BIN/pg_ctl" -D "$DATA/pg" -l "$DATA/pg.log" -w \
    -o "-h 127.0.0.1 -p $PG_PORT -k $DATA" start >/dev/null
as_user "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U flame flame

cargo build --example cluster
for n in 1 2 3; do
    FLAME_DATABASE_URL="postgres://flame@127.0.0.1:$PG_PORT/flame" \
    FLAME_NODE_ADDR="127.0.0.1:283$n" FLAME_NODE_ID="node-$n" FLAME_CLUSTER_SECRET="$SECRET" \
        cargo run -q --example cluster &
    PIDS="$PIDS $!"
done
echo "three nodes: http://127.0.0.1:2831/ http://127.0.0.1:2832/ http://127.0.0.1:2833/ (Ctrl-C stops all)"
wait
