#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every test
# (unit and end-to-end) with ctest. CC_SANITIZE=1 builds with ASan+UBSan into
# build-sanitize/ and runs the same suite there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

dir=build
args=(-DCMAKE_BUILD_TYPE=Debug -DCC_WERROR=ON)
if [[ "${CC_SANITIZE:-0}" == "1" ]]; then
  dir=build-sanitize
  args+=(-DCC_SANITIZE=ON)
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
cmake -S . -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure -j"$(nproc)" --timeout 900
