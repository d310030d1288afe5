#!/usr/bin/env bash
# Property-based API testing: schemathesis reads a capstone's /openapi.json, sends generated
# requests (valid and invalid) to every operation, and fails on any 5xx or on a response that
# does not match the documented schema.
#
#   scripts/schemathesis.sh todo-api                      # SQLite in a temp dir
#   DATABASE_URL=postgres://postgres@127.0.0.1/postgres \
#     scripts/schemathesis.sh todo-api                    # a fresh database on that server
#
# Needs: python3 (installs schemathesis 4 with pip if missing), curl; psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

project="${1:?usage: $0 <project> (e.g. todo-api)}"
port="${SCHEMATHESIS_PORT:-18081}"
examples="${SCHEMATHESIS_MAX_EXAMPLES:-40}"

if ! command -v schemathesis >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check 'schemathesis>=4.3,<5'
fi

# shellcheck source=scripts/lib/serve.sh
. scripts/lib/serve.sh
serve_fresh_db schemathesis "$serve_workdir/$project.db"
backend="$serve_backend"

cargo build -q -p "$project"
serve_start "target/debug/$project" "$port" BCRYPT_COST=4 RUST_LOG=warn AUTH_RATE_LIMIT_PER_MINUTE=100000 \
  SHORTEN_RATE_LIMIT_PER_MINUTE=100000 PASSWORD_RESET_PER_CLIENT_PER_HOUR=100000 \
  PASSWORD_RESET_PER_HOUR=100000 VERIFY_RESEND_PER_HOUR=100000 ROOMS_PER_HOUR=100000 \
  ARTICLES_PER_HOUR=100000 COMMENTS_PER_MINUTE=100000 REACTIONS_PER_MINUTE=100000 \
  JWT_SECRET="schemathesis-secret-at-least-32-bytes-long"
base="$serve_base"

# A real account, so the authenticated operations are exercised past the 401.
auth_header=()
if curl -fs "$base/openapi.json" | grep -q '"/register"'; then
  token=$(curl -fs -X POST "$base/register" -H 'Content-Type: application/json' \
    -d '{"name":"Schemathesis","email":"schemathesis@example.com","password":"password-123"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  auth_header=(-H "Authorization: Bearer $token")
fi
# The chat: the same accounts, under /api.
if curl -fs "$base/openapi.json" | grep -q '"/api/register"'; then
  token=$(curl -fs -X POST "$base/api/register" -H 'Content-Type: application/json' \
    -d '{"name":"Schemathesis","email":"schemathesis@example.com","password":"password-123"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  auth_header=(-H "Authorization: Bearer $token")
fi
# The blog (RealWorld): accounts under /api/users, and `Authorization: Token <jwt>`.
if curl -fs "$base/openapi.json" | grep -q '"/api/users"'; then
  token=$(curl -fs -X POST "$base/api/users" -H 'Content-Type: application/json' \
    -d '{"user":{"username":"schemathesis","email":"schemathesis@example.com","password":"password-123"}}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])')
  auth_header=(-H "Authorization: Token $token")
fi
# The shortener's documented example code, so operations on /shorten/{code} reach a real link.
if curl -fs "$base/openapi.json" | grep -q '"/shorten"'; then
  curl -fs -o /dev/null -X POST "$base/shorten" -H 'Content-Type: application/json' \
    -d '{"url":"https://example.com/","customCode":"example"}'
fi

echo "schemathesis: $project on $backend, $examples examples per operation"
status=0
schemathesis run "$base/openapi.json" --url "$base" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  "${auth_header[@]}" \
  --max-examples "$examples" --seed 20261123 --generation-database none \
  --request-timeout 10 || status=$?

# Any 500 is logged by the error mapping as "request failed" (or "auth failure").
if grep -qE "request failed|auth failure|panicked" "$serve_workdir/server.log"; then
  echo "server log shows errors:" >&2; grep -E "request failed|auth failure|panicked" "$serve_workdir/server.log" | head -20 >&2; status=1
fi
exit $status
