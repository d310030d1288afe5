#!/usr/bin/env bash
# Starts, stops or shows the services the capstones can use: PostgreSQL, Redis and an SMTP
# sink (Mailpit). With Docker it uses compose.yaml; without Docker it checks for native
# installs and says how to get them.
#
#   scripts/services.sh up|down|status
#
# Then, for example:
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
#   REDIS_URL=redis://127.0.0.1:6379 cargo run -p todo-api
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
docker_ok() { have docker && docker info >/dev/null 2>&1; }

pg_up() { have pg_isready && pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { have redis-cli && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

status() {
  if pg_up; then echo "postgres: up (127.0.0.1:5432)"; else echo "postgres: down"; fi
  if redis_up; then echo "redis:    up (127.0.0.1:6379)"; else echo "redis:    down"; fi
  if (exec 3<>/dev/tcp/127.0.0.1/1025) 2>/dev/null; then echo "smtp:     up (127.0.0.1:1025, web UI :8025)"; else echo "smtp:     down"; fi
}

native_up() {
  if ! pg_up; then
    if have pg_ctlcluster; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    else
      echo "PostgreSQL is not installed. Debian/Ubuntu: sudo apt-get install postgresql; macOS: brew install postgresql@17" >&2
    fi
  fi
  if ! redis_up; then
    if have redis-server; then
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    else
      echo "Redis is not installed. Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis" >&2
    fi
  fi
  echo "No Docker: for an SMTP sink install Mailpit (https://mailpit.axllent.org) or leave SMTP_URL unset to write mail to files." >&2
}

case "${1:-status}" in
  up)
    if docker_ok; then docker compose up -d postgres redis mailpit; else native_up; fi
    status ;;
  down)
    if docker_ok; then docker compose down; else echo "Native services are left running; stop them with your service manager." >&2; fi ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
