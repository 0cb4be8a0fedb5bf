#!/usr/bin/env bash
# ctest openapi.lint: lints openapi/openapi.json with Redocly CLI (tests/openapi/package.json).
# Installs the pinned packages from package-lock.json (npm ci) when node_modules is missing.
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -x node_modules/.bin/redocly ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node_modules/.bin/redocly lint --config redocly.yaml --format=stylish ../../openapi/openapi.json
