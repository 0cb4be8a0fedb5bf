#!/usr/bin/env bash
# Where one scenario's CPU goes, per server thread: the figures docs/PERFORMANCE.md
# quotes as "µs per request" and "instructions per request".
#
#   bench/profile.sh [BINARY] [SCENARIO] [MODE]
#     BINARY    default build-release/cc-inbound
#     SCENARIO  single (one event per request, 202) | unknown_key (401) | batch100
#     MODE      wrk (default): a warm-up, then a timed window; prints req/s and the CPU
#               µs per request of the whole process and of each thread (from /proc)
#               cg: the same server under callgrind (--separate-threads=yes) for a fixed
#               request count; prints instructions per request of each thread
#
# Environment: CONNS=50, WARM=2 (s), DUR=5 (s), REQUESTS=20000 (cg), CC_* passed on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build-release/cc-inbound}
SCENARIO=${2:-single}
MODE=${3:-wrk}
CONNS=${CONNS:-50} WARM=${WARM:-2} DUR=${DUR:-5} REQUESTS=${REQUESTS:-20000}
WORK=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; wait 2>/dev/null || true; grep -v "\"msg\":\"request\"" "$WORK/server.log" >/tmp/profile-server.log; rm -rf "$WORK"' EXIT
TOKEN=profile-admin-token-0123456789abcdef

env_vars=(CC_LISTEN=127.0.0.1:0 CC_ADMIN_TOKEN=$TOKEN CC_DATABASE="$WORK/cc.db" CC_MAX_CONNECTIONS=20000
    CC_RATE_LIMIT_PULSE=100000000:100000000 CC_RATE_LIMIT_SIGNAL=100000000:100000000
    CC_RATE_LIMIT_CLARITY=100000000:100000000 CC_RATE_LIMIT_COMMAND=100000000:100000000)
while IFS= read -r v; do env_vars+=("$v"); done < <(env | grep '^CC_' || true)
runner=()
if [[ $MODE == cg ]]; then
    runner=(valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$WORK/cg.out" ${CGOPTS:-})
fi
env "${env_vars[@]}" "${runner[@]}" "$BIN" serve >"$WORK/server.log" 2>"$WORK/valgrind.log" &
PID=$!
port=""
for _ in $(seq 600); do
    port=$(grep -o '"address":"127.0.0.1:[0-9]*"' "$WORK/server.log" 2>/dev/null | head -1 | grep -o '[0-9]*"$' | tr -d '"' || true)
    [[ -n $port ]] && curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break
    sleep 0.1
done
[[ -n $port ]] || { cat "$WORK/server.log" "$WORK/valgrind.log"; exit 1; }
URL=http://127.0.0.1:$port
admin() { curl -s -X "$1" "$URL$2" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"}; }
admin PUT /admin/domains/profile.example '{"plan":"command"}' >/dev/null
KEY=$(admin POST /admin/keys '{"domain":"profile.example","name":"profile"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
[[ $SCENARIO == unknown_key ]] && KEY=cc_00000000000000000000000000000000000000
export BENCH_DIR=$ROOT/bench BENCH_KEY=$KEY BENCH_TRACK=0 BENCH_RUN=p$$

# thread_ticks: "tid name ticks" for every thread of the server (utime + stime)
thread_ticks() {
    for t in /proc/$PID/task/*; do
        read -r -a f <"$t/stat" 2>/dev/null || continue
        # the name is field 2 in parentheses and has no spaces here
        echo "${t##*/} $(cat "$t/comm") $((f[13] + f[14]))"
    done
}
requests_of() { grep -o '"answered":[0-9]*' <<<"$1" | head -1 | cut -d: -f2; }

if [[ $MODE == cg ]]; then
    # A fixed request count: wrk runs until it has sent about that many.
    wrk -t1 -c"$CONNS" -d60s -s "$BENCH_DIR/$SCENARIO.lua" "$URL/__cc/inbound" >/dev/null 2>&1 &
    WRK=$!
    sleep 30; kill $WRK; wait $WRK 2>/dev/null || true
    kill -TERM $PID; wait $PID || true
    echo "callgrind totals per thread (divide by the requests the access log shows):"
    grep -c '"msg":"request"' "$WORK/server.log" || true
    for f in "$WORK"/cg.out*; do
        echo "$(basename "$f") $(callgrind_annotate "$f" 2>/dev/null | grep -m1 'PROGRAM TOTALS' | awk '{print $1}')"
    done
    cp "$WORK"/cg.out* /tmp/ 2>/dev/null && echo "(callgrind files copied to /tmp/cg.out*)"
    exit 0
fi

path=/__cc/inbound
[[ $SCENARIO == batch100 ]] && path=/__cc/inbound/batch
((WARM > 0)) && BENCH_RUN=w$$ wrk -t2 -c"$CONNS" -d"${WARM}s" -s "$BENCH_DIR/$SCENARIO.lua" "$URL$path" >/dev/null 2>&1
before=$(thread_ticks)
out=$(/usr/bin/time -f "wrk cpu: %U user %S sys" wrk -t2 -c"$CONNS" -d"${DUR}s" --latency -s "$BENCH_DIR/$SCENARIO.lua" "$URL$path" 2>&1)
after=$(thread_ticks)
n=$(requests_of "$out")
hz=$(getconf CLK_TCK)
echo "$out" | grep -E 'Requests/sec|99%|90%|wrk cpu' || true
echo "answered: $n in ${DUR}s"
join <(sort <<<"$before") <(sort <<<"$after") | awk -v n="$n" -v hz="$hz" '
    { d = ($5 - $3) * 1e6 / hz / n; total += d; if (d > 0.05) printf "  %-16s %-8s %6.2f us/req\n", $2, $1, d }
    END { printf "  process total        %6.2f us/req\n", total }'
# The group commit's shape over the whole run (warm-up included).
curl -s "$URL/metrics" | awk '
    /^cc_commit_batch_size_events_(sum|count)/ { b[$1] = $2 }
    /^cc_commit_duration_seconds_(sum|count)/ { d[$1] = $2 }
    END {
        if (b["cc_commit_batch_size_events_count"] > 0)
            printf "commits: %d, %.1f events each, %.2f ms each\n", b["cc_commit_batch_size_events_count"],
                b["cc_commit_batch_size_events_sum"] / b["cc_commit_batch_size_events_count"],
                1000 * d["cc_commit_duration_seconds_sum"] / d["cc_commit_duration_seconds_count"]
    }'
