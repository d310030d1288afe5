#!/usr/bin/env bash
# Sets up what the TLS tests (crates/backend-kit/tests/tls.rs) talk to, and writes their
# environment to target/tls-test/env:
#   - a throw-away CA and a certificate for 127.0.0.1 signed by it (openssl CLI)
#   - a Redis with TLS only, on 127.0.0.1:6380, serving that certificate
#   - a check that the PostgreSQL on 127.0.0.1:5432 has ssl = on (Debian's and Ubuntu's
#     packages do, with their snakeoil certificate; the official Docker image does not)
#
#   bash scripts/tls-test-services.sh && env $(cat target/tls-test/env) \
#     cargo test -p backend-kit --all-features --test tls -- --include-ignored
#   bash scripts/tls-test-services.sh stop     # stops that Redis again
set -euo pipefail
cd "$(dirname "$0")/.."

dir="$PWD/target/tls-test"
port="${TLS_REDIS_PORT:-6380}"
pg_url="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
mkdir -p "$dir"

stop_redis() {
  if [ -f "$dir/redis.pid" ]; then
    kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    for _ in $(seq 1 20); do [ -f "$dir/redis.pid" ] || break; sleep 0.1; done
  fi
}

if [ "${1:-}" = stop ]; then
  stop_redis
  echo "TLS test Redis stopped"
  exit 0
fi

for tool in openssl redis-server redis-cli psql; do
  command -v "$tool" >/dev/null || { echo "FATAL: $tool is needed for the TLS tests" >&2; exit 1; }
done

ssl="$(psql "$pg_url" -Atc 'SHOW ssl')" || { echo "FATAL: PostgreSQL is not reachable at $pg_url" >&2; exit 1; }
if [ "$ssl" != on ]; then
  echo "FATAL: PostgreSQL at $pg_url has ssl = $ssl; the TLS tests need it on" >&2
  echo "       (ssl = on, ssl_cert_file and ssl_key_file in postgresql.conf, then reload)" >&2
  exit 1
fi

# A fresh CA and server certificate each run: nothing long-lived to leak.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=capstones test CA" \
  -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName = IP:127.0.0.1\n' > "$dir/server.ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
  -CAcreateserial -days 2 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null

# Restart the TLS Redis so it serves the certificate just made.
stop_redis
redis-server --daemonize yes --bind 127.0.0.1 --port 0 --tls-port "$port" \
  --tls-cert-file "$dir/server.crt" --tls-key-file "$dir/server.key" \
  --tls-ca-cert-file "$dir/ca.crt" --tls-auth-clients no \
  --save "" --appendonly no --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
for _ in $(seq 1 30); do
  [ "$(redis-cli --tls --cacert "$dir/ca.crt" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && break
  sleep 0.2
done
[ "$(redis-cli --tls --cacert "$dir/ca.crt" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] \
  || { echo "FATAL: Redis with TLS did not start (see $dir/redis.log)" >&2; exit 1; }

cat > "$dir/env" <<EOF
TEST_DATABASE_URL=$pg_url
TEST_TLS_CA=$dir/ca.crt
TEST_REDISS_URL=rediss://127.0.0.1:$port
SSL_CERT_FILE=$dir/ca.crt
EOF
echo "TLS test services ready: PostgreSQL ssl = on, Redis TLS on 127.0.0.1:$port ($dir/env)"
