#!/usr/bin/env bash
# ctest's browser.dashboard: the dashboard tests in Debian's headless Chromium, driven by
# puppeteer-core (which downloads no browser). Installs the npm packages from the
# committed lockfile when node_modules is missing. Exits 77 (ctest: skipped) only when
# Chromium truly cannot start here; everything else missing is a failure.
# Env: CC_BINARY (the server), CC_CHROMIUM (default /usr/bin/chromium),
#      CC_DASHBOARD_SCREENSHOTS=<dir> to save screenshots of the main screens.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "FAIL: node and npm are needed (scripts/install-deps.sh installs Debian's nodejs and npm)" >&2
  exit 1
fi

chromium="${CC_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "SKIP: no Chromium at $chromium (scripts/install-deps.sh installs Debian's chromium; or set CC_CHROMIUM)"
  exit 77
fi
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
if ! out="$(timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
      --user-data-dir="$probe" --dump-dom 'data:text/html,<p>chromium-ok</p>' 2>&1)" \
   || [[ "$out" != *chromium-ok* ]]; then
  echo "SKIP: Chromium at $chromium cannot start headless here:"
  printf '%s\n' "$out" | tail -n 5
  exit 77
fi

if [[ ! -d node_modules/puppeteer-core ]]; then
  echo "Installing the test's npm packages (npm ci, from package-lock.json)"
  npm ci --no-audit --no-fund
fi

exec node --test dashboard.test.mjs
