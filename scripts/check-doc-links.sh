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
# A line range (`file.rs#L10-L20`) must lie inside the file: code moves, and a link that
# points past the end has certainly drifted.
while IFS= read -r readme; do
  dir=$(dirname "$readme")
  { grep -oE '\]\([^)#]+#L[0-9]+(-L[0-9]+)?\)' "$readme" || true; } |
    sed -E 's/^\]\(([^)#]+)#L([0-9]+)(-L([0-9]+))?\)$/\1 \2 \4/' |
    { bad=0
      while read -r target first last; do
        [ -f "$dir/$target" ] || continue
        lines=$(wc -l < "$dir/$target")
        if [ "${last:-$first}" -gt "$lines" ]; then
          echo "$readme: $target#L$first${last:+-L$last} is past the end ($lines lines)"; bad=1
        fi
      done
      exit $bad; } || status=1
done < <(git ls-files '*.md')
exit $status
