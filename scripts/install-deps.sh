#!/usr/bin/env bash
# Installs the Debian 12 packages cc-inbound builds, runs and tests with.
# Installs only what is missing; safe to run again.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libsqlite3-dev libssl-dev
  zlib1g-dev libcli11-dev libhowardhinnant-date-dev
  libgtest-dev libgmock-dev
  python3 python3-jsonschema curl openssl ca-certificates ccache
  chromium nodejs npm
  libpq-dev postgresql-15 postgresql-client-15
)
case "${1:-}" in
  --bench) packages+=(wrk nginx-light libbenchmark-dev sqlite3 procps) ;;
  --fuzz) packages+=(clang-14 libclang-rt-14-dev) ;;
  --container) packages+=(podman runc debootstrap containernetworking-plugins iptables) ;;
esac

missing=()
for p in "${packages[@]}"; do
  # A Node.js installed another way (with its own npm) is kept: Debian's npm package
  # would replace it.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "Installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
