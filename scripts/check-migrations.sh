#!/usr/bin/env bash
# Diesel knows a migration by the date-time its folder name starts with, in one bookkeeping
# table per database — and every capstone may share one database (the quick start points them
# all at the same PostgreSQL). Two migrations with the same version anywhere in the workspace
# would make the second one look applied and be skipped. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
for backend in postgres sqlite; do
  dupes=$(ls -d crates/*/migrations/$backend/*/ crates/*/migrations/*/$backend/*/ projects/*/migrations/$backend/*/ |
    xargs -n1 basename | cut -d_ -f1 | sort | uniq -d)
  if [ -n "$dupes" ]; then
    echo "migration versions used twice ($backend): $dupes" >&2
    exit 1
  fi
done
echo "migration versions are unique"
