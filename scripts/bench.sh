#!/usr/bin/env bash
# Load benchmark of a capstone: release build, real PostgreSQL, wrk on the same machine.
# Prints req/s, p50, p99 and errors per scenario, plus the server's resident memory.
#
#   scripts/bench.sh todo-api          # or url-shortener, blog, blog-mail, chat
#
# chat: WebSockets, measured by the chat's own load tool (`chat load`, on this machine too):
# 5 000 idle connections (server RSS per connection), one 1 000-member room at 10 messages/s,
# and 100 rooms × 50 members at 1 000 messages/s (fan-out latency p50/p99, deliveries/s,
# anything lost); then a room's history at 10 000 and 1 000 000 messages (BENCH_MESSAGES). The
# open-file limit is raised first (each connection is a descriptor on both sides).
# BENCH_DURATION is in seconds for it (default 20); BENCH_CHAT_SCENARIOS=history runs only the
# history.
#
# blog-mail: the mail path of the blog. POST /api/users/password-reset for an address with an
# account and for one without (the request only queues a job: the two should cost the same),
# then how fast the job workers empty the outbox that load filled (mail written to .eml files;
# BENCH_SMTP_URL to send to an SMTP sink instead).
#
# blog: seeds 100 users (through the API), then articles in SQL (scripts/bench-blog-seed.sql:
# 3 of 20 tags each, 10 follows per user, 0–10 favorites per article, every counter exact) at
# each size of `--articles 1000,100000` (or BENCH_ARTICLES; the default), and measures at each
# size the list, the feed, a tag, an author, a user's favorites, search, a deep offset and the
# same page by cursor, as a logged-in user (`Authorization: Token`); then, at the last size,
# one article, the tags, POST /api/articles and /health. Prints what each page keeps of its
# first-size throughput.
#
# Env: BENCH_DATABASE_URL (a PostgreSQL maintenance URL; default postgres://postgres@127.0.0.1:5432/postgres),
#      BENCH_REDIS_URL (optional), BENCH_CONNECTIONS (64), BENCH_DURATION (15s), BENCH_THREADS (2),
#      BENCH_PORT (18090), BENCH_GRPC_PORT (url-shortener's gRPC: 19090), BENCH_KEEP_DB (set: keep the seeded database, e.g. for EXPLAIN ANALYZE),
#      BENCH_DB (blog only: sqlite measures the embedded default; needs the sqlite3 shell),
#      BENCH_ARTICLES (blog only: the sizes, as --articles),
#      BENCH_VISITS (url-shortener only: the visits of the link whose statistics are read; 10000,1000000).
# Needs: wrk (apt-get install wrk), psql, curl, python3; the url-shortener's gRPC also h2load
#        (apt-get install nghttp2-client).
set -euo pipefail
cd "$(dirname "$0")/.."

project="${1:?usage: $0 <project> [--articles N,N,…]}"
articles="${BENCH_ARTICLES:-1000,100000}"
if [ "${2:-}" = --articles ]; then articles="${3:?--articles needs sizes, e.g. 1000,100000}"; fi
IFS=', ' read -r -a article_sizes <<<"$articles"
admin_url="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
connections="${BENCH_CONNECTIONS:-64}"
duration="${BENCH_DURATION:-15s}"
threads="${BENCH_THREADS:-2}"
port="${BENCH_PORT:-18090}"
grpc_port="${BENCH_GRPC_PORT:-19090}"
base="http://127.0.0.1:$port"

# wrk's text output → one line: scenario, req/s, p50, p99, errors.
report() {
  python3 - "$1" "$2" <<'PY'
import re, sys
name, path = sys.argv[1], sys.argv[2]
out = open(path).read()
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
print(f"{name:<28} {float(rps):>10.0f} req/s   p50 {lat.get('50','?'):>8}   p99 {lat.get('99','?'):>8}   errors {errors}")
PY
}

if [ "$project" = chat ]; then
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  seconds="${BENCH_DURATION:-20}"; seconds="${seconds%s}"
  db_name="bench_chat_$(date +%s)_$$"
  cargo build -q --release -p chat
  psql "$admin_url" -qc "CREATE DATABASE $db_name" >/dev/null
  env DATABASE_URL="${admin_url%/*}/$db_name" PORT="$port" RUST_LOG=warn ROOMS_PER_HOUR=100000 \
    AUTH_RATE_LIMIT_PER_MINUTE=100000 DATABASE_POOL_SIZE=20 \
    REDIS_URL="${BENCH_REDIS_URL:-}" JWT_SECRET="bench-secret-that-is-at-least-32-bytes" \
    target/release/chat >/tmp/bench-chat-server.log 2>&1 &
  server_pid=$!
  trap 'kill $server_pid 2>/dev/null; wait $server_pid 2>/dev/null; psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1' EXIT
  for _ in $(seq 1 50); do curl -fs "$base/health" >/dev/null 2>&1 && break; sleep 0.2; done
  echo "chat — $(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL, redis: ${BENCH_REDIS_URL:-none}, load tool on the same machine"
  load() { target/release/chat load --url "$base" --pid "$server_pid" "$@"; }
  if [ "${BENCH_CHAT_SCENARIOS:-all}" = history ]; then load() { :; }; fi
  echo; echo "== 5 000 idle connections"
  load --connections 5000 --rooms 100 --rate 0 --prefix idle
  echo; echo "== one room, 1 000 members, 10 messages/s for ${seconds} s"
  load --connections 1000 --rooms 1 --rate 10 --duration "$seconds" --prefix big
  echo; echo "== 100 rooms x 50 members, 1 000 messages/s for ${seconds} s"
  load --connections 5000 --rooms 100 --rate 1000 --duration "$seconds" --prefix many
  # History of a room with 10 000, then 1 000 000 messages (BENCH_MESSAGES), seeded in SQL as
  # the sequencer writes them (gapless `seq`, `rooms.last_seq` the last): the newest page, and
  # a page from the middle by `before`. Each should cost its page, not the room.
  token=$(curl -fs "$base/api/register" -H 'Content-Type: application/json' \
    -d '{"name":"History","email":"history@example.com","password":"password-123"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  psql "${admin_url%/*}/$db_name" -qc "INSERT INTO rooms (name, created_at) VALUES ('history', now())"
  IFS=', ' read -r -a message_sizes <<<"${BENCH_MESSAGES:-10000,1000000}"
  seeded=0
  for size in "${message_sizes[@]}"; do
    started=$(date +%s)
    psql -X -q -v ON_ERROR_STOP=1 "${admin_url%/*}/$db_name" <<SQL
INSERT INTO messages (room_id, seq, user_key, name, text, sent_at)
  SELECT r.id, s, 'guest:bench', 'bench', 'Message ' || s || ' of the history benchmark.',
         now() AT TIME ZONE 'UTC' - ($size - s) * interval '1 second'
  FROM rooms AS r CROSS JOIN generate_series($seeded + 1, $size) AS s WHERE r.name = 'history';
UPDATE rooms SET last_seq = $size WHERE name = 'history';
VACUUM ANALYZE messages;
SQL
    seeded=$size
    echo; echo "== history of a room with $size messages (seeded in $(( $(date +%s) - started )) s)"
    for query in "limit=50" "limit=50&before=$(( size / 2 ))"; do
      out="$(mktemp)"
      wrk -t2 -c64 -d"${BENCH_HISTORY_DURATION:-8s}" --latency -H "Authorization: Bearer $token" \
        "$base/api/rooms/history/messages?$query" >"$out"
      report "GET /api/rooms/history/messages?$query" "$out"
      rm -f "$out"
    done
  done
  exit 0
fi

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ "$project" != url-shortener ] || command -v h2load >/dev/null ||
  { echo "h2load is missing (gRPC's load): apt-get install nghttp2-client" >&2; exit 1; }

workdir="$(mktemp -d)"
db_name="bench_$(date +%s)_$$"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  if [ -n "${BENCH_KEEP_DB:-}" ]; then
    echo "kept the seeded database: ${admin_url%/*}/$db_name (drop it when done)"
  else
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT

package="$project"
[ "$project" = blog-mail ] && package=blog
cargo build -q --release -p "$package"
psql "$admin_url" -qc "CREATE DATABASE $db_name" >/dev/null

rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$server_pid/status"; }


# The req/s figure of a report line.
rps_of() { awk '{for (i = 1; i <= NF; i++) if ($i == "req/s") print $(i - 1)}' <<<"$1"; }

# Two scenarios measured back to back, `BENCH_ROUNDS` times (3): the machine's drift between
# runs (±10 % here) hits both alike, so the median of the per-round ratios is what to quote.
# Each scenario is a command that prints one report line (it may name the round: `$round`).
compare_rounds() { # label-b-over-a "command-a" "command-b"
  local rounds="${BENCH_ROUNDS:-3}" ratios=()
  local round
  for round in $(seq 1 "$rounds"); do
    local a b
    a=$(eval "$2"); echo "$a"
    sleep 1
    b=$(eval "$3"); echo "$b"
    sleep 1
    ratios+=("$(rps_of "$a") $(rps_of "$b")")
  done
  printf '%s\n' "${ratios[@]}" | python3 -c '
import statistics, sys
label = sys.argv[1]
ratios = [float(b) / float(a) for a, b in (line.split() for line in sys.stdin)]
print(f"{label} per round: " + ", ".join(f"{r:.0%}" for r in ratios) + f"   median {statistics.median(ratios):.0%}")' "$1"
}

# gRPC's Resolve (counting the visit, as the redirect does) of one code, loaded by h2load —
# the nghttp2 project's HTTP/2 load generator, as wrk is for HTTP/1.1: the same 64 calls in
# flight (2 connections × 32 streams), on one thread (wrk takes two). h2load does not read
# gRPC's trailers, so the calls that succeeded are counted on the server: each counted a
# visit, and the visits recorded must grow by as many as h2load saw answered.
run_grpc_resolve() { # name code
  local body="$workdir/resolve.bin" log="$workdir/h2load.log" before after
  python3 - "$2" >"$body" <<'PY'
import struct, sys
code = sys.argv[1].encode()
# ResolveRequest { code = 1; count_visit = 2 }, in a gRPC frame: flag, length, message.
message = b"\x0a" + bytes([len(code)]) + code + b"\x10\x01"
sys.stdout.buffer.write(b"\x00" + struct.pack(">I", len(message)) + message)
PY
  # The visits written so far, once the writer has caught up (two readings a second apart agree).
  visits() {
    local now last=-1
    for _ in $(seq 1 60); do
      now=$(curl -fs "$base/metrics" | awk '/^shortener_visits_(recorded|dropped|failed)_total/ {n += $2} END {print n}')
      [ "$now" = "$last" ] && break
      last=$now; sleep 1
    done
    echo "$now"
  }
  before=$(visits)
  rm -f "$log" # h2load appends to it
  h2load -D "${duration%s}" -c 2 -m $(( connections / 2 )) -t 1 -d "$body" --log-file "$log" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$grpc_port/shortener.v1.Links/Resolve" >"$workdir/h2load.txt"
  after=$(visits)
  python3 - "$1" "$log" "$workdir/h2load.txt" "$(( after - before ))" <<'PY'
import re, sys
name, log, out, counted = sys.argv[1], sys.argv[2], open(sys.argv[3]).read(), int(sys.argv[4])
rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out).group(1))
# The log: start time, status, microseconds — one line per call h2load saw end.
rows = [line.split() for line in open(log) if line.strip()]
times = sorted(int(row[2]) for row in rows if row[1] == "200")
failed = len(rows) - len(times)
if not times:
    sys.exit(f"{name}: no call answered ({failed} failed)")
at = lambda q: f"{times[min(int(len(times) * q), len(times) - 1)] / 1000:.2f}ms"
# The server may count a few more: the calls still in flight when h2load stopped.
errors = failed + max(0, len(times) - counted)
print(f"{name:<28} {rps:>10.0f} req/s   p50 {at(0.5):>8}   p99 {at(0.99):>8}   errors {errors}")
PY
}
# A freshly started server first fills its pools and connections: two seconds of load before
# the measured run, so the figures are of the steady state.
warm_up() { # url
  wrk -t"$threads" -c"$connections" -d2s "$1" >/dev/null
}

# A wrk script (file.lua) that POSTs `{ articles(first: 20) { articlesCount nodes { <fields> } } }`,
# and the body alone (file.json).
graphql_script() { # file.lua fields
  graphql_query="{ articles(first: 20) { articlesCount nodes { $2 } } }" python3 - "$1" <<'PY'
import json, os, sys
body = json.dumps({"query": os.environ["graphql_query"]})
open(sys.argv[1], "w").write(
    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
    f"wrk.body = {json.dumps(body)}\n")
open(sys.argv[1].removesuffix(".lua") + ".json", "w").write(body)
PY
}

token=""
auth_scheme=Bearer
run_wrk() { # name, script-or-empty, url
  local name="$1" script="$2" url="$3"
  local args=(-t"$threads" -c"$connections" -d"$duration" --latency)
  [ -n "$token" ] && args+=(-H "Authorization: $auth_scheme $token")
  [ -n "$script" ] && args+=(-s "$script")
  local out="$workdir/wrk-$RANDOM.txt"
  wrk "${args[@]}" "$url" >"$out"
  report "$name" "$out"
}

start_server() { # VAR=value settings that override the defaults below may follow
  env DATABASE_URL="${admin_url%/*}/$db_name" PORT="$port" RUST_LOG=warn AUTH_RATE_LIMIT_PER_MINUTE=1000000 \
    SHORTEN_RATE_LIMIT_PER_MINUTE=100000000 GRPC_PORT="$grpc_port" \
    REDIS_URL="${BENCH_REDIS_URL:-}" JWT_SECRET="bench-secret-that-is-at-least-32-bytes" "$@" \
    "target/release/$package" >"$workdir/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 50); do curl -fs "$base/health" >/dev/null 2>&1 && return; sleep 0.2; done
  cat "$workdir/server.log"; echo "server did not start" >&2; exit 1
}

# Settings on top of start_server's defaults, for this project's servers.
server_env=()
# The blog: cheap bcrypt for registering the seed accounts (no measured request hashes), a
# token that outlives the run, and a Redis prefix of its own so nothing cached by another run
# answers.
# BENCH_DB=sqlite: the blog on its embedded default, a SQLite file in the work dir.
bench_db="${BENCH_DB:-postgres}"
sqlite_file="$workdir/bench.db"
[ "$package" = blog ] && [ "$bench_db" = sqlite ] && server_env+=(DATABASE_URL="$sqlite_file")
[ "$package" = blog ] && server_env+=(BCRYPT_COST=4 ACCESS_TOKEN_TTL_SECS=86400 REDIS_PREFIX="bench-$db_name"
  ARTICLES_PER_HOUR=1000000000 COMMENTS_PER_MINUTE=1000000000 REACTIONS_PER_MINUTE=1000000000)
# The mail path: no request limits in the way, mail to files in the work dir (or BENCH_SMTP_URL).
[ "$project" = blog-mail ] && server_env+=(PASSWORD_RESET_PER_HOUR=1000000000
  PASSWORD_RESET_PER_CLIENT_PER_HOUR=1000000000 MAIL_DIR="$workdir/mail" SMTP_URL="${BENCH_SMTP_URL:-}")

echo "$project — $(date -u +%Y-%m-%d), $(nproc) cores, wrk -t$threads -c$connections -d$duration, ${bench_db:-postgres}, redis: ${BENCH_REDIS_URL:-none}"
start_server "${server_env[@]}"
sleep 1
echo "idle RSS after start: $(rss_mb) MB"

case "$project" in
  todo-api)
    token=$(curl -fs -X POST "$base/register" -H 'Content-Type: application/json' \
      -d '{"name":"Bench","email":"bench@example.com","password":"password-123"}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    for i in $(seq 1 50); do
      curl -fs -o /dev/null -X POST "$base/todos" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d "{\"title\":\"todo $i\",\"description\":\"seeded\"}"
    done
    cat >"$workdir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title":"Benchmark todo","description":"created by wrk"}'
LUA
    run_wrk "GET /todos?limit=10" "" "$base/todos?limit=10"
    run_wrk "POST /todos" "$workdir/post.lua" "$base/todos"
    ;;
  url-shortener)
    code=$(curl -fs -X POST "$base/shorten" -H 'Content-Type: application/json' \
      -d '{"url":"https://example.com/landing","customCode":"bench"}' |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["shortCode"])')
    cat >"$workdir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"url":"https://example.com/a/long/path?with=query"}'
LUA
    warm_up "$base/$code"
    compare_rounds "redirect / ceiling" 'run_wrk "GET /health (ceiling) #$round" "" "$base/health"' \
      'run_wrk "GET /{code} cache hit #$round" "" "$base/$code"'
    echo; echo "== the same redirect over gRPC (Resolve, counted)"
    compare_rounds "gRPC / HTTP" 'run_wrk "GET /{code} cache hit #$round" "" "$base/$code"' \
      'run_grpc_resolve "gRPC Resolve #$round" "$code"'
    # Every redirect above queued its visit: how many the batch writer kept up with.
    sleep 1
    curl -fs "$base/metrics" | grep -E '^shortener_visits_(recorded|dropped|failed)_total' | tr '\n' ' '; echo
    run_wrk "POST /shorten" "$workdir/post.lua" "$base/shorten"
    # Cache misses: the same server with entries that expire at once, so every redirect reads
    # the database.
    echo "RSS after load: $(rss_mb) MB"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    # A fresh Redis prefix too: the first server's Redis entries would otherwise still answer.
    start_server CACHE_TTL_SECS=0 REDIS_PREFIX="bench-miss-$$"
    warm_up "$base/$code"
    run_wrk "GET /{code} cache miss" "" "$base/$code"
    if [ -n "${BENCH_REDIS_URL:-}" ]; then
      # Redis unreachable (nothing listens on port 1): redirects fall back to the database.
      echo "RSS after load: $(rss_mb) MB"
      kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
      start_server REDIS_URL=redis://127.0.0.1:1
      warm_up "$base/$code"
      run_wrk "GET /{code} Redis down" "" "$base/$code"
    fi
    # Statistics of a link with 10 000, then 1 000 000 visits (BENCH_VISITS), seeded in SQL
    # (scripts/bench-shortener-seed.sql) with its tallies and daily roll-up as the application
    # keeps them: each answer should cost the groups it shows, not the visits.
    curl -fs -o /dev/null -X POST "$base/shorten" -H 'Content-Type: application/json' \
      -d '{"url":"https://example.com/stats","customCode":"stats"}'
    IFS=', ' read -r -a visit_sizes <<<"${BENCH_VISITS:-10000,1000000}"
    seeded=0
    for size in "${visit_sizes[@]}"; do
      started=$(date +%s)
      psql -X -q "${admin_url%/*}/$db_name" -v code=stats -v from="$seeded" -v to="$size" -f scripts/bench-shortener-seed.sql
      seeded=$size
      echo; echo "== a link with $size visits (seeded in $(( $(date +%s) - started )) s)"
      for by in "" "?by=referrer" "?by=browser" "?by=day"; do
        run_wrk "GET /shorten/{code}/stats$by" "" "$base/shorten/stats/stats$by"
      done
    done
    ;;
  blog)
    # Seed: 100 accounts through the API (real password hashes), then, for each size in
    # BENCH_ARTICLES, the articles in SQL (scripts/bench-blog-seed.sql) with every counter
    # recounted from the rows, and the reads measured on a fresh server.
    for i in $(seq 0 99); do
      curl -fs -o /dev/null -X POST "$base/api/users" -H 'Content-Type: application/json' \
        -d "{\"user\":{\"username\":\"bench_user_$i\",\"email\":\"bench$i@example.com\",\"password\":\"password-123\"}}" ||
        { tail -n 20 "$workdir/server.log"; echo "registering bench_user_$i failed" >&2; exit 1; }
    done
    seeded=0
    declare -A figures
    for size in "${article_sizes[@]}"; do
      (( size > seeded )) || { echo "BENCH_ARTICLES must grow: $size after $seeded" >&2; exit 2; }
      started=$(date +%s)
      if [ "$bench_db" = sqlite ]; then
        sqlite3 "$sqlite_file" -cmd ".parameter set :from $seeded" -cmd ".parameter set :to $size" \
          <scripts/bench-blog-seed-sqlite.sql
      else
        psql -X -q "${admin_url%/*}/$db_name" -v from="$seeded" -v to="$size" -f scripts/bench-blog-seed.sql
      fi
      seeded=$size
      echo; echo "== $size articles (seeded in $(( $(date +%s) - started )) s)"
      stats="SELECT (SELECT count(*) FROM users) || ' users, ' || (SELECT count(*) FROM articles) || ' articles, '
        || (SELECT count(*) FROM article_tags) || ' article tags, ' || (SELECT count(*) FROM follows) || ' follows, '
        || (SELECT count(*) FROM favorites) || ' favorites'"
      if [ "$bench_db" = sqlite ]; then
        echo "$(sqlite3 "$sqlite_file" "$stats"); database $(du -sh "$sqlite_file" | cut -f1)"
      else
        psql -X -At "${admin_url%/*}/$db_name" -c "$stats || '; database ' || pg_size_pretty(pg_database_size(current_database()))"
      fi
      # A fresh server, so nothing it cached before the seed answers.
      kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
      start_server "${server_env[@]}"
      # bench_user_0 follows 10 authors: a feed of a tenth of the articles.
      token=$(curl -fs -X POST "$base/api/users/login" -H 'Content-Type: application/json' \
        -d '{"user":{"email":"bench0@example.com","password":"password-123"}}' |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["token"])')
      auth_scheme=Token
      # The cursor of the article 90 % of the way down the list: the deep page `before` reads.
      deep=$(( size * 9 / 10 ))
      cursor=$(curl -fs -o /dev/null -D - "$base/api/articles?limit=1&offset=$deep" -H "Authorization: Token $token" |
        sed -n 's/^link: .*[?&]before=\([^&>]*\).*/\1/ip' | tr -d '\r')
      [ -n "$cursor" ] || { echo "no Link rel=next with a cursor at offset $deep" >&2; exit 1; }
      curl -fs "$base/api/articles?limit=1" -H "Authorization: Token $token" | python3 -c "
import json, sys
count = json.load(sys.stdin)['articlesCount']
assert count == $size, f'the API lists {count} articles, $size were seeded'"
      warm_up "$base/api/articles?limit=20"
      for scenario in \
          "list|/api/articles?limit=20" \
          "feed|/api/articles/feed?limit=20" \
          "tag|/api/articles?limit=20&tag=rust" \
          "author|/api/articles?limit=20&author=bench_user_7" \
          "favorited|/api/articles?limit=20&favorited=bench_user_7" \
          "search, every article|/api/articles?limit=20&q=paragraph" \
          "search, a rare word|/api/articles?limit=20&q=$deep" \
          "search, common + rare|/api/articles?limit=20&q=seeded+article+$deep" \
          "before (the next page)|/api/articles?limit=20&before=$cursor" \
          "offset $deep|/api/articles?limit=20&offset=$deep"; do
        name="${scenario%%|*}"; path="${scenario#*|}"
        line=$(run_wrk "$name" "" "$base$path"); echo "$line"
        # Requests still running after a slow scenario would count against the next one.
        sleep 1
        figures["$size $name"]=$(rps_of "$line")
      done
      # The same page over GraphQL: the REST list's fields, in rounds against the REST list
      # (the ratio is the goal), then with three comments per article (what REST would need
      # 21 requests for).
      graphql_script "$workdir/graphql-list.lua" \
        "slug title description tagList createdAt updatedAt favorited favoritesCount author { username bio image following }"
      graphql_script "$workdir/graphql-comments.lua" \
        "slug title favoritesCount author { username following } comments(first: 3) { body author { username } }"
      # wrk sees a 200 either way: the page must come back as data, without errors.
      curl -fs "$base/graphql" -H "Authorization: Token $token" -H 'Content-Type: application/json' \
        --data-binary @"$workdir/graphql-list.json" | python3 -c '
import json, sys
answer = json.load(sys.stdin)
assert "errors" not in answer and len(answer["data"]["articles"]["nodes"]) == 20, answer'
      compare_rounds "GraphQL list / REST list" 'run_wrk "list #$round" "" "$base/api/articles?limit=20"' \
        'run_wrk "GraphQL list #$round" "$workdir/graphql-list.lua" "$base/graphql"'
      run_wrk "GraphQL list + 3 comments" "$workdir/graphql-comments.lua" "$base/graphql"
      sleep 1
    done
    if (( ${#article_sizes[@]} > 1 )); then
      first=${article_sizes[0]}
      echo; echo "== throughput kept from $(printf "%'d" "$first") articles"
      for name in list feed tag author favorited "search, every article" "search, a rare word"; do
        kept=""
        for size in "${article_sizes[@]:1}"; do
          kept+=$(python3 -c "print(f'  at {$size:,}: {${figures["$size $name"]} / ${figures["$first $name"]}:.0%}')")
        done
        printf '%-24s%s\n' "$name" "$kept"
      done
    fi
    echo
    slug=$(curl -fs "$base/api/articles?limit=1" -H "Authorization: Token $token" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["articles"][0]["slug"])')
    # Each request a title of its own (thread number and a per-thread counter), so a slug of its own.
    cat >"$workdir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local tags = { "rust", "postgres", "sqlite", "redis", "http", "actix", "diesel", "tokio", "testing", "security",
               "performance", "caching", "auth", "jwt", "openapi", "docker", "ci", "observability", "design", "realworld" }
local threads = 0
function setup(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end
local counter = 0
function request()
  counter = counter + 1
  local body = string.format(
    '{"article":{"title":"Bench article %d-%d","description":"Created by wrk","body":"A body written under load.","tagList":["%s","%s"]}}',
    thread_id, counter, tags[counter % 20 + 1], tags[(counter + 7) % 20 + 1])
  return wrk.format(nil, nil, nil, body)
end
LUA
    run_wrk "GET /health" "" "$base/health"
    run_wrk "GET /api/articles/{slug}" "" "$base/api/articles/$slug"
    run_wrk "GET /api/tags" "" "$base/api/tags"
    run_wrk "POST /api/articles" "$workdir/post.lua" "$base/api/articles"
    ;;
  blog-mail)
    curl -fs -o /dev/null -X POST "$base/api/users" -H 'Content-Type: application/json' \
      -d '{"user":{"username":"bench_user","email":"bench@example.com","password":"password-123"}}'
    for who in bench nobody; do
      cat >"$workdir/reset-$who.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"user":{"email":"$who@example.com"}}'
LUA
    done
    warm_up "$base/health"
    run_wrk "password-reset, no account" "$workdir/reset-nobody.lua" "$base/api/users/password-reset"
    outbox() { psql -X -At "${admin_url%/*}/$db_name" -c "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FROM mail_outbox"; }
    before=$(outbox | cut -d'|' -f2)
    run_wrk "password-reset, an account" "$workdir/reset-bench.lua" "$base/api/users/password-reset"
    # Every request above queued a job; each job for the account queues a mail. Wait for the
    # workers to send them all, and time it.
    start=$(date +%s.%N); last_total=-1
    sent_at_start=$(outbox | cut -d'|' -f1)
    while :; do
      IFS='|' read -r sent total <<<"$(outbox)"
      jobs_left=$(psql -X -At "${admin_url%/*}/$db_name" -c "SELECT count(*) FROM apalis.jobs WHERE status IN ('Pending', 'Queued', 'Running')" 2>/dev/null || echo 0)
      [ "$sent" = "$total" ] && [ "$total" = "$last_total" ] && [ "$jobs_left" = 0 ] && break
      last_total=$total; sleep 1
    done
    elapsed=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
    mails=$((total - before)); drained=$((sent - sent_at_start))
    python3 -c "print(f'mails queued by the load: {$mails}; {$sent_at_start - $before} sent during it; the other {$drained} sent in {$elapsed} s after it: {$drained / max($elapsed, 0.1):.0f} mails/s (each: a reset job that issues the token and queues the mail, then the send)')"
    ;;
  *) echo "no benchmark scenarios for $project yet" >&2; exit 2 ;;
esac

echo "RSS after load: $(rss_mb) MB"
