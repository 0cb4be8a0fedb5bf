#!/usr/bin/env bash
# Installs what is missing, builds, and runs cc-inbound on its embedded defaults:
# SQLite at data/cc-inbound.db, listening on 127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh Release -DCC_BUILD_TESTS=OFF

mkdir -p data
# An admin token for this machine, made once from OpenSSL's CSPRNG and kept readable
# by its owner only. CC_ADMIN_TOKEN set by the caller wins.
if [[ -z "${CC_ADMIN_TOKEN:-}" ]]; then
  if [[ ! -s data/admin-token ]]; then
    (umask 077 && openssl rand -hex 32 > data/admin-token)
  fi
  CC_ADMIN_TOKEN="$(cat data/admin-token)"
  export CC_ADMIN_TOKEN
  token_hint="the admin token is in data/admin-token:  export CC_ADMIN_TOKEN=\$(cat data/admin-token)"
else
  token_hint="the admin token is the CC_ADMIN_TOKEN you set"
fi

listen="${CC_LISTEN:-127.0.0.1:8080}"
cat <<MSG

cc-inbound is starting on http://${listen} (database: ${CC_DATABASE:-data/cc-inbound.db}).
  health:  curl http://${listen}/healthz
  dashboard: http://${listen}/dashboard/  (sign in with the admin token below)
  admin:   ${token_hint}
           then follow "Your first key" in README.md.
  stop:    Ctrl-C (or kill -TERM the process): in-flight requests finish, exit 0.

MSG
exec build/cc-inbound serve --config config/cc-inbound.json
