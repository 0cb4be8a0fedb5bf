#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 into build-fuzz/ and runs each one for
# FUZZ_SECONDS (default 30) on a copy of its seed corpus (tests/fuzz/corpus/<target>/;
# new inputs go to the copy, never into the repository). Exits non-zero if any target
# crashes, leaks or trips a sanitizer; the crashing input is kept in
# build-fuzz/fuzz-runs/<target>/ and its path printed. Findings worth keeping go into
# tests/fuzz/regressions/<target>/crash-<name>: they are replayed on every run here and as
# ctest tests (fuzz.regression.*) in every build, and must not crash again.
#
#   scripts/fuzz.sh                       # every target, 30 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh fuzz_http_request
#   FUZZ_JOBS=2 scripts/fuzz.sh           # libFuzzer workers per target
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

targets=(fuzz_event_validator fuzz_api_key fuzz_admin_body fuzz_http_request)
if (($#)); then targets=("$@"); fi
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-1}
dir=${FUZZ_BUILD_DIR:-build-fuzz}

# The largest input worth trying per target: a bit over each code path's own limit.
declare -A max_len=(
  [fuzz_event_validator]=40000   # the single-event body limit is 32 KiB
  [fuzz_api_key]=128             # a key is 41 characters
  [fuzz_admin_body]=8192         # admin bodies are small objects (limit 64 KiB)
  [fuzz_http_request]=20000      # a 16 KiB head plus a little body
)

# 1. Tools: the project's build dependencies, then clang-14 and its runtimes (libFuzzer).
scripts/install-deps.sh --fuzz

# 2. Configure and build. The libraries get coverage and sanitizers (fuzzer-no-link);
#    the fuzz executables add libFuzzer itself (tests/fuzz/CMakeLists.txt).
#    -fno-sanitize=function: with it, clang-14 cannot compile the HTTP layer's coroutines
#    ("Cannot represent a difference across sections"); the rest of UBSan stays on.
#    The BOOST_ASIO_* definitions: Boost 1.74 only enables co_await for clang with the
#    Coroutines TS, not with C++20's <coroutine>. Debug (assertions on) at -O1.
sanitize="-O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-omit-frame-pointer"
sanitize+=" -fno-sanitize-recover=undefined"
sanitize+=" -DBOOST_ASIO_HAS_CO_AWAIT=1 -DBOOST_ASIO_HAS_STD_COROUTINE=1"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" \
  -DCMAKE_BUILD_TYPE=Debug \
  -DCC_BUILD_FUZZ=ON -DCC_BUILD_TESTS=OFF -DCC_BUILD_BENCH=OFF \
  -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$dir" --target "${targets[@]}" -j"$(nproc)"

# 3. Run each target on a scratch copy of its corpus.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
runs="$root/$dir/fuzz-runs"
failed=()
summary=()
for target in "${targets[@]}"; do
  work="$runs/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  seeds="$root/tests/fuzz/corpus/$target"
  if [[ -d "$seeds" ]]; then
    find "$seeds" -maxdepth 1 -type f -exec cp {} "$work/corpus/" \;
  fi
  log="$work/fuzz.log"
  echo "== $target: ${seconds}s, max_len ${max_len[$target]:-4096}"
  set +e
  parallel=()
  if ((jobs > 1)); then parallel=(-jobs="$jobs" -workers="$jobs"); fi
  (cd "$work" && "$root/$dir/$target" corpus \
      -max_total_time="$seconds" -max_len="${max_len[$target]:-4096}" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "${parallel[@]}" -artifact_prefix="$work/") >"$log" 2>&1
  code=$?
  set -e
  # With -jobs each worker writes fuzz-N.log (and the main log repeats them): count workers only.
  stats=("$log")
  if ((jobs > 1)); then stats=("$work"/fuzz-*.log); fi
  execs=$(grep -h "stat::number_of_executed_units" "${stats[@]}" 2>/dev/null | awk '{s += $2} END {print s + 0}')
  corpus_size=$(find "$work/corpus" -type f | wc -l)
  artifacts=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  if [[ $code -ne 0 || -n "$artifacts" ]]; then
    failed+=("$target")
    summary+=("$target: FAILED (exit $code) after $execs runs; log $log")
    for a in $artifacts; do summary+=("    input: $a"); done
    tail -n 40 "$log" "$work"/fuzz-*.log 2>/dev/null | sed 's/^/    /' || true
  else
    summary+=("$target: ok, $execs runs in ${seconds}s, corpus $corpus_size inputs")
  fi
  # Known findings kept in the repository are replayed: they must no longer crash.
  for known in "$root/tests/fuzz/regressions/$target"/*; do
    [[ -f "$known" ]] || continue
    if ! "$root/$dir/$target" "$known" >"$work/replay-$(basename "$known").log" 2>&1; then
      failed+=("$target")
      summary+=("$target: the recorded finding $(basename "$known") still crashes")
    fi
  done
done

echo
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all ${#targets[@]} targets ran without a finding"
