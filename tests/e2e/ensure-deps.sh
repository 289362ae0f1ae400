#!/bin/sh
# Installs the e2e tests' npm dependencies (playwright-core, puppeteer-core,
# axe-core and jsqr (web-qr unit test), pinned by package-lock.json; no
# browser is downloaded: the tests drive Debian's /usr/bin/chromium and
# /usr/bin/firefox-esr) into tests/e2e/node_modules when they are
# missing or not the locked versions. Exits non-zero (the test then fails)
# when node 20+ or npm is missing or the install fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "ensure-deps: node not found (scripts/install-deps installs it)" >&2
  exit 1
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "ensure-deps: node $(node --version) is older than 20 (playwright-core needs 20)" >&2
  exit 1
fi
if node -e '
  const dir = process.argv[1];
  const lock = require(dir + "/package-lock.json").packages;
  for (const name of ["playwright-core", "puppeteer-core", "axe-core", "jsqr"]) {
    let have = null;
    try { have = require(dir + "/node_modules/" + name + "/package.json").version; } catch (e) {}
    if (have !== lock["node_modules/" + name].version) process.exit(1);
  }
' "$here"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ensure-deps: npm not found" >&2
  exit 1
fi
echo "ensure-deps: npm ci in $here" >&2
cd "$here"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
