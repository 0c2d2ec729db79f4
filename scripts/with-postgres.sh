#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server for the tests:
#
#   scripts/with-postgres.sh cargo xtask test
#
# It creates a new cluster in a temporary directory, starts it on 127.0.0.1
# on a free port, exports NOVA_TEST_POSTGRES_URL pointing at it, runs the
# command, then stops the server and deletes the cluster. It needs the
# PostgreSQL server package (Debian: apt-get install postgresql). As root
# the server runs as the `postgres` user, since initdb refuses root.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

bindir=""
if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    bindir="$(pg_config --bindir)"
fi
if [ -z "$bindir" ]; then
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "$0: PostgreSQL server programs (initdb, pg_ctl) not found; install postgresql" >&2
    exit 1
fi

as_server_user=()
if [ "$(id -u)" -eq 0 ]; then
    as_server_user=(runuser -u postgres --)
fi

# A free port: one nothing answers on.
port=""
for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        port=$candidate
        break
    fi
done
if [ -z "$port" ]; then
    echo "$0: no free port found" >&2
    exit 1
fi

cluster="$(mktemp -d "${TMPDIR:-/tmp}/nova-postgres.XXXXXX")"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$cluster"
fi
stop() {
    "${as_server_user[@]}" "$bindir/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$cluster"
}
trap stop EXIT

"${as_server_user[@]}" "$bindir/initdb" -D "$cluster/data" -U postgres \
    --auth=trust --encoding=UTF8 --no-sync >"$cluster/initdb.log" 2>&1 \
    || { cat "$cluster/initdb.log" >&2; exit 1; }
"${as_server_user[@]}" "$bindir/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $cluster -c max_connections=200" start >/dev/null \
    || { cat "$cluster/server.log" >&2; exit 1; }

export NOVA_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "$0: $("$bindir/postgres" --version) at $NOVA_TEST_POSTGRES_URL" >&2
"$@"
