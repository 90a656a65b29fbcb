#!/usr/bin/env bash
# Start a private PostgreSQL server on loopback for the worker tests (Debian's package).
# Usage: source .ci/postgres.sh   (exports ERPSYNC_TEST_POSTGRES_URL; stop with erpsync_postgres_stop)
set -euo pipefail
ERPSYNC_PG_PORT="${ERPSYNC_PG_PORT:-55432}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing PostgreSQL (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
ERPSYNC_PG_DATA="$(mktemp -d /tmp/erpsync-postgres.XXXXXX)"
chown postgres "$ERPSYNC_PG_DATA"
# The server may not run as root: run it as the package's postgres user, trusting loopback only.
su postgres -s /bin/sh -c "$PG_BIN/initdb -D '$ERPSYNC_PG_DATA' -A trust -U postgres >/dev/null"
su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$ERPSYNC_PG_DATA' -l '$ERPSYNC_PG_DATA/server.log' -w \
    -o \"-p $ERPSYNC_PG_PORT -k $ERPSYNC_PG_DATA -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null"
export ERPSYNC_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:${ERPSYNC_PG_PORT}/postgres"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') listening on 127.0.0.1:${ERPSYNC_PG_PORT}"

erpsync_postgres_stop() {
    su postgres -s /bin/sh -c "$PG_BIN/pg_ctl -D '$ERPSYNC_PG_DATA' -m fast stop >/dev/null" || true
    rm -rf "$ERPSYNC_PG_DATA"
}
