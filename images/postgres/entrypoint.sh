#!/bin/bash
# Start PostgreSQL: on an empty data volume, initialise it first (superuser POSTGRES_USER
# with POSTGRES_PASSWORD, scram over TCP) and run the scripts in /docker-entrypoint-initdb.d
# against a server that listens on its Unix socket only, as the official image does.
set -euo pipefail

: "${PGDATA:?PGDATA must name the data directory (on a volume)}"
export POSTGRES_USER="${POSTGRES_USER:-postgres}"
socket_dir=/var/run/postgresql

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set to initialise a new data directory}"
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")
    printf '%s\n' "listen_addresses = '*'" "password_encryption = scram-sha-256" \
        >>"$PGDATA/postgresql.conf"
    printf '%s\n' "host all all 0.0.0.0/0 scram-sha-256" "host all all ::/0 scram-sha-256" \
        >>"$PGDATA/pg_hba.conf"
    # Init scripts talk to a server nobody else can reach yet: Unix socket only.
    pg_ctl --pgdata="$PGDATA" --wait --timeout=60 --silent \
        -o "-c listen_addresses='' -c unix_socket_directories=$socket_dir" start
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh) echo "running $script"; bash "$script" ;;
            *.sql) echo "running $script"
                psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$script" ;;
            *) if [ -e "$script" ]; then echo "ignoring $script"; fi ;;
        esac
    done
    pg_ctl --pgdata="$PGDATA" --wait --timeout=60 --silent -m fast stop
    echo "PostgreSQL initialised in $PGDATA"
fi

if [ "${1:-}" = "postgres" ]; then
    shift
    exec postgres -D "$PGDATA" -c unix_socket_directories="$socket_dir" "$@"
fi
exec "$@"
