#!/usr/bin/env bash
# The official RealWorld API tests (scripts/realworld/Conduit.postman_collection.json, run by
# newman) against a freshly started blog on a fresh database. Fails on any failed assertion.
#
#   scripts/newman.sh                                     # debug build, SQLite in a temp dir
#   scripts/newman.sh --release                           # release build (or NEWMAN_RELEASE=1)
#   DATABASE_URL=postgres://postgres@127.0.0.1/postgres \
#     scripts/newman.sh                                   # a fresh database on that server
#
# Env: NEWMAN_PORT (default: the first free port from 18083), REDIS_URL (optional, passed on).
# Needs: npx (Node.js; newman 6 is fetched by npx), curl; psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
[ "${NEWMAN_RELEASE:-0}" = 1 ] && profile=release
for arg in "$@"; do
  case "$arg" in
    --release) profile=release ;;
    *) echo "usage: $0 [--release]" >&2; exit 2 ;;
  esac
done
command -v npx >/dev/null 2>&1 || { echo "npx is missing: install Node.js (apt-get install nodejs npm)" >&2; exit 1; }

# shellcheck source=scripts/lib/serve.sh
. scripts/lib/serve.sh
serve_fresh_db newman "sqlite://$serve_workdir/blog.db"

if [ "$profile" = release ]; then cargo build -q --release -p blog; else cargo build -q -p blog; fi
port="${NEWMAN_PORT:-$(serve_free_port 18083)}"
# The collection posts articles with fixed titles: a fresh database per run, and a fresh Redis
# prefix so nothing cached by an earlier run answers for this one.
run_id="$(date +%s)_$$"
serve_start "target/$profile/blog" "$port" APP_ENV=development RUST_LOG=warn BCRYPT_COST=4 \
  AUTH_RATE_LIMIT_PER_MINUTE=100000 REDIS_PREFIX="newman-$run_id" \
  JWT_SECRET="newman-secret-that-is-at-least-32-bytes-long"

echo "newman: blog ($profile build) on $serve_backend at $serve_base"
status=0
# Usernames with `_` on purpose: the collection checks that they work in /profiles/{username}.
npx -y newman@6 run scripts/realworld/Conduit.postman_collection.json \
  --global-var "APIURL=$serve_base/api" \
  --global-var "USERNAME=newman_$run_id" \
  --global-var "EMAIL=newman_$run_id@example.com" \
  --global-var "PASSWORD=password" || status=$?

if grep -qE "request failed|auth failure|panicked" "$serve_workdir/server.log"; then
  echo "server log shows errors:" >&2; grep -E "request failed|auth failure|panicked" "$serve_workdir/server.log" | head -20 >&2; status=1
fi
if [ "$status" != 0 ]; then
  echo "--- last lines of the server log:" >&2; tail -n 40 "$serve_workdir/server.log" >&2
  echo "newman: FAILED (exit $status)" >&2
fi
exit "$status"
