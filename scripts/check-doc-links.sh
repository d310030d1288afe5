#!/usr/bin/env bash
# Every relative link in the READMEs must point at a file or folder that exists, so the
# "where to read" tables cannot drift from the code. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while IFS= read -r readme; do
  dir=$(dirname "$readme")
  # [text](target) where target is not a URL or an anchor; the anchor part is dropped.
  { grep -oE '\]\([^)#]+(#[^)]*)?\)' "$readme" || true; } | sed -E 's/^\]\(([^)#]+).*/\1/' |
    { grep -vE '^(https?|mailto):' || true; } |
    { bad=0
      while IFS= read -r target; do
        [ -e "$dir/$target" ] || { echo "$readme: broken link to $target"; bad=1; }
      done
      exit $bad; } || status=1
done < <(git ls-files '*.md')
exit $status
