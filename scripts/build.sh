#!/usr/bin/env bash
# Configures and builds cc-inbound into build/ (the binary lands at build/cc-inbound).
# Usage: scripts/build.sh [Release|Debug|RelWithDebInfo] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
type="${1:-Release}"
shift || true
cmake -S . -B build -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
cmake --build build -j"$(nproc)"
