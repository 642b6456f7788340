#!/usr/bin/env bash
# Starts PostgreSQL and Redis on 127.0.0.1 when they are not already answering.
set -euo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "services: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi

deadline=$((SECONDS + 30))
until pg_isready -h 127.0.0.1 -p 5432 -q && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; do
  if [ $SECONDS -ge $deadline ]; then echo "services: PostgreSQL or Redis did not come up" >&2; exit 1; fi
  sleep 0.5
done
