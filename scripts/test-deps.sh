#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond Go: swaks (a real SMTP
# client), Chromium (console tests), PostgreSQL (the scale-out store). Run as
# root on Debian; safe to run again. Afterwards `go test -race ./...` finds
# PostgreSQL at $EGRESSGUARD_TEST_POSTGRES or at the default below.
set -euo pipefail

need=()
command -v swaks >/dev/null || need+=(swaks)
command -v chromium >/dev/null || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" ca-certificates >/dev/null
fi

# PostgreSQL on 127.0.0.1:5432 with a test role and database.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pgdata=${EGRESSGUARD_PGDATA:-/var/lib/egressguard-test-pg}
if ! "$pgbin/pg_isready" -q -h 127.0.0.1 -p 5432; then
  if [ ! -s "$pgdata/PG_VERSION" ]; then
    install -d -o postgres -g postgres -m 0700 "$pgdata"
    su postgres -c "$pgbin/initdb -D '$pgdata' -A trust -U postgres >/dev/null"
  fi
  install -d -o postgres -g postgres /var/run/postgresql
  su postgres -c "$pgbin/pg_ctl -D '$pgdata' -l '$pgdata/server.log' -w -o '-c listen_addresses=127.0.0.1 -p 5432 -c fsync=on' start >/dev/null"
fi
# As the superuser: over TCP where trust applies (our own cluster), else
# through the local socket as the postgres user (a packaged cluster).
admin() {
  psql -h 127.0.0.1 -U postgres -w "$@" 2>/dev/null || su postgres -c "psql -p 5432 $(printf '%q ' "$@")"
}
admin -tAc "SELECT 1 FROM pg_roles WHERE rolname='egressguard'" | grep -q 1 ||
  admin -qc "CREATE ROLE egressguard LOGIN PASSWORD 'egressguard' CREATEDB"
admin -tAc "SELECT 1 FROM pg_database WHERE datname='egressguard_test'" | grep -q 1 ||
  admin -qc "CREATE DATABASE egressguard_test OWNER egressguard"
psql "postgres://egressguard:egressguard@127.0.0.1:5432/egressguard_test?sslmode=disable" -tAc "SELECT 1" >/dev/null
echo "test dependencies ready: swaks, chromium, PostgreSQL on 127.0.0.1:5432"
