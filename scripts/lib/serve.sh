# shellcheck shell=bash disable=SC2034  # (serve_backend, serve_base: for the sourcing script)
# Sourced by the scripts that test a running capstone (schemathesis.sh, newman.sh): a work
# directory, a fresh database, a server started on it and waited for, and all three cleaned up
# at exit (this file sets the EXIT trap).
#
#   . scripts/lib/serve.sh
#   serve_fresh_db <name-prefix> <sqlite-path-or-url>   # DATABASE_URL=postgres…: a new database there
#   serve_start <binary> <port> [VAR=value…]           # → $serve_base, log in $serve_workdir/server.log
#
# Needs: curl; psql for PostgreSQL.

serve_workdir="$(mktemp -d)"
serve_admin_url=""
serve_db_name=""
serve_pid=""
serve_backend=""
serve_base=""

serve_cleanup() {
  if [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; then wait "$serve_pid" 2>/dev/null || true; fi
  if [ -n "$serve_db_name" ]; then
    psql "$serve_admin_url" -qc "DROP DATABASE IF EXISTS $serve_db_name WITH (FORCE)" >/dev/null || true
  fi
  rm -rf "$serve_workdir"
}
trap serve_cleanup EXIT

# With DATABASE_URL=postgres://… (a maintenance URL such as …/postgres), creates the database
# <prefix>_<time>_<pid> on that server and points DATABASE_URL at it (dropped at exit);
# otherwise DATABASE_URL becomes the given SQLite file. Sets serve_backend (sqlite|postgres).
serve_fresh_db() { # prefix sqlite-path-or-url
  serve_admin_url="${DATABASE_URL:-}"
  if [[ "$serve_admin_url" == postgres* ]]; then
    serve_db_name="${1}_$(date +%s)_$$"
    psql "$serve_admin_url" -qc "CREATE DATABASE $serve_db_name" >/dev/null
    export DATABASE_URL="${serve_admin_url%/*}/$serve_db_name"
    serve_backend=postgres
  else
    export DATABASE_URL="$2"
    serve_backend=sqlite
  fi
}

# The first port from <from> on that nothing on 127.0.0.1 answers.
serve_free_port() { # from
  local port
  for port in $(seq "$1" $(($1 + 200))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port from $1" >&2; return 1
}

# Starts <binary> with PORT=<port> and the given VAR=value settings on top of the current
# environment (mail without SMTP_URL goes to files in the work dir, not ./var/mail), then waits up to 10 s for /health; prints the server log and exits if it never
# answers.
serve_start() { # binary port [VAR=value…]
  local binary="$1" port="$2"
  shift 2
  env PORT="$port" MAIL_DIR="$serve_workdir/mail" "$@" "$binary" >"$serve_workdir/server.log" 2>&1 &
  serve_pid=$!
  serve_base="http://127.0.0.1:$port"
  for _ in $(seq 1 50); do curl -fs "$serve_base/health" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fs "$serve_base/health" >/dev/null || { cat "$serve_workdir/server.log"; echo "server did not start" >&2; exit 1; }
}
