#!/usr/bin/env bash
# Every variable a capstone's configuration reads is listed in its .env.example: the names
# are taken from the code (each `env.get("NAME")`, `env.number("NAME", …)`, … in the kit's
# config, mail and jobs settings and in the capstone's src/), so a new setting without its line
# fails here. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

names() { # files… → the variable names they read (-z: a call rustfmt wrapped, the name on
  # the next line, counts too)
  grep -hzoP '\b(get|number|flag|parse_or|lookup|secs|duration)\(\s*"[A-Z][A-Z0-9_]{2,}"' "$@" |
    tr '\0' '\n' | grep -oE '"[A-Z0-9_]+"' | tr -d '"' | sort -u
}
kit=crates/backend-kit/src
status=0
for dir in projects/*/; do
  project=$(basename "$dir")
  example="$dir.env.example"
  [ -f "$example" ] || { echo "$example is missing" >&2; status=1; continue; }
  files=("$kit/config.rs")
  features=$(grep -oE 'backend-kit = \{[^}]*\}' "$dir/Cargo.toml")
  grep -q '"mail"' <<<"$features" && files+=("$kit/mail/mod.rs")
  grep -q '"jobs"' <<<"$features" && files+=("$kit/jobs.rs")
  mapfile -t own < <(find "$dir/src" -name '*.rs')
  for name in $(names "${files[@]}" "${own[@]}"); do
    grep -qE "^#? ?$name=" "$example" || { echo "$example does not list $name" >&2; status=1; }
  done
done
[ "$status" = 0 ] && echo "every .env.example lists every variable its capstone reads"
exit "$status"
