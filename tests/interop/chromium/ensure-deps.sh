#!/bin/sh
# Installs this test's npm dependencies (playwright-core, pinned by
# package-lock.json; no browser is downloaded: the test uses Debian's
# /usr/bin/chromium) into tests/interop/chromium/node_modules when they are
# missing or not the locked version. Exit 77 (meson: SKIP) without node/npm.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "ensure-deps: node not found" >&2
  exit 77
fi
# playwright-core 1.65 needs Node.js 20 or later (Debian 12's own nodejs is 18)
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "ensure-deps: node $(node --version) is older than 20 (playwright-core needs 20)" >&2
  exit 77
fi
if node -e '
  const dir = process.argv[1];
  const want = require(dir + "/package-lock.json").packages["node_modules/playwright-core"].version;
  let have = null;
  try { have = require(dir + "/node_modules/playwright-core/package.json").version; } catch (e) {}
  process.exit(have === want ? 0 : 1);
' "$here"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ensure-deps: npm not found" >&2
  exit 77
fi
echo "ensure-deps: npm ci in $here" >&2
cd "$here"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
