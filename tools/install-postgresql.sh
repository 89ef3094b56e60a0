#!/bin/sh
# Makes sure Debian's PostgreSQL server is installed for the tests and `make bench`: they start
# throwaway clusters with its initdb and pg_ctl (testbed/postgres.py); nothing runs as a service.
# Idempotent, and quick when it is installed. The bot itself needs only the client library, which
# comes with psycopg's binary wheel.
set -eu
for bindir in /usr/lib/postgresql/*/bin; do
    if [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ]; then
        exit 0
    fi
done
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    exit 0
fi
exec "$(dirname "$0")/apt-install.sh" postgresql "PostgreSQL server (initdb, pg_ctl) not found for the tests"
