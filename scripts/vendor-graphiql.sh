#!/usr/bin/env bash
# Vendors GraphiQL (and the React it runs on) for the blog's `GET /graphql`, so the page works
# offline and from the binary alone, as /docs does: the npm packages' browser bundles,
# gzipped (the server sends them as they are, with `Content-Encoding: gzip`), with their
# licences. Run it to move to other versions; commit what it writes.
#
#   scripts/vendor-graphiql.sh        # needs npm (the registry only), gzip
set -euo pipefail
cd "$(dirname "$0")/.."

graphiql=3.8.3   # the last major with a browser (UMD) bundle
react=18.3.1     # what graphiql 3 is built against

out=projects/03-blog/static/graphiql
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "graphiql@$graphiql" "react@$react" "react-dom@$react" >/dev/null)
for package in "graphiql-$graphiql" "react-$react" "react-dom-$react"; do
  mkdir -p "$work/${package%-*}"
  tar xzf "$work/$package.tgz" -C "$work/${package%-*}"
done
mkdir -p "$out"
# -n: no file name or time in the gzip header, so the same versions give the same bytes.
gzip -9n <"$work/graphiql/package/graphiql.min.js" >"$out/graphiql.min.js.gz"
gzip -9n <"$work/graphiql/package/graphiql.min.css" >"$out/graphiql.min.css.gz"
gzip -9n <"$work/react/package/umd/react.production.min.js" >"$out/react.production.min.js.gz"
gzip -9n <"$work/react-dom/package/umd/react-dom.production.min.js" >"$out/react-dom.production.min.js.gz"
{
  echo "GraphiQL $graphiql (graphiql.min.js, graphiql.min.css), React $react and ReactDOM $react"
  echo "(react.production.min.js, react-dom.production.min.js), from npm by scripts/vendor-graphiql.sh."
  echo
  echo "== GraphiQL"; cat "$work/graphiql/package/LICENSE"
  echo; echo "== React and ReactDOM"; cat "$work/react/package/LICENSE"
} >"$out/LICENSES.txt"
ls -l "$out"
