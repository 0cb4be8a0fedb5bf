#!/usr/bin/env bash
# cc-inbound load benchmark: one command, bounded in time, 127.0.0.1 only.
#
#   bench/run.sh                 full run (10 s per point; about 10-12 minutes in all)
#   QUICK=1 bench/run.sh         3 s per point, 10 and 50 connections, no scale runs
#
# What it does (docs/PERFORMANCE.md has the figures and how to read them):
#   1. builds Release into build-release/ (cc-inbound and the cc_micro_bench target);
#   2. measures the ceilings of this machine in the same run:
#        - nginx (Debian's nginx-light) answering POST /__cc/inbound with a constant 202,
#          with its own temporary prefix and port, interleaved with the cc-inbound points;
#        - bench/sqlite_probe.c: SQLite's durable insert rate (WAL, the service's
#          synchronous level) at 1, 100 and 1000 rows per transaction;
#   3. for every scenario and connection count starts cc-inbound on a fresh temporary
#      database (rate limits raised, CC_LOG_LEVEL=warn so no access-log line is written
#      per request), creates a domain and a key through the admin API, drives wrk with
#      the scenario's Lua script, and records req/s, events/s, p50/p90/p99, the server's
#      CPU (/proc/PID/stat) and peak RSS (VmHWM), then stops the server (SIGTERM) and
#      checks honesty: the events stored (sqlite3 count) equal the events the 2xx answers
#      acknowledged, plus those of requests still unanswered when wrk stopped;
#   4. scale runs: 10,000 keys loaded (and 1,000 connections), and 5,000,000 events
#      already stored against an empty database;
#   5. the micro-benchmarks (cc_micro_bench);
#   6. writes results.jsonl, summary.md and the raw logs to $BENCH_OUT and prints
#      summary.md. Exit status 1 when an honesty check failed or a server did not stop
#      cleanly.
#
# Environment (all optional):
#   QUICK=1                 3 s per point, connections "10 50", no scale runs
#   BENCH_DURATION=10       seconds per point
#   BENCH_CONNECTIONS="10 50 200 1000"
#   BENCH_SCENARIOS="single batch100 duplicate unknown_key"
#   BENCH_NGINX=1           0: no nginx ceiling
#   BENCH_PROBE=1           0: no SQLite probe
#   BENCH_PROBE_SECONDS=3   seconds per probe size
#   BENCH_SCALE=1           0: no keys / stored-events runs (default 0 when QUICK=1)
#   BENCH_KEYS=10000        keys loaded for the keys run
#   BENCH_PRELOAD_EVENTS=5000000   events stored before the stored-events run
#   BENCH_PRELOAD_CACHE=dir keep the preloaded database in dir and reuse it next time (~2.5 GB)
#   BENCH_MICRO=1           0: no micro-benchmarks
#   BENCH_WRK_THREADS=2     wrk threads (never more than the connections)
#   BENCH_SERVER_THREADS=   CC_THREADS of the server (empty: the service's default, one per core)
#   BENCH_SYNCHRONOUS=full  CC_SQLITE_SYNCHRONOUS of the server and the probe
#   BENCH_SERVER_ENV="CC_X=1 CC_Y=2"   more environment for the server (e.g. CC_COMMIT_MAX_EVENTS=500)
#   BENCH_OUT=build-release/bench-results/<UTC time>
#   CC_BINARY=path          use this binary and skip the build (the smoke test does)
#   BENCH_BUILD=1           0: do not build (use build-release/ as it is)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_DIR=$ROOT/bench
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    BENCH_DURATION=${BENCH_DURATION:-3}
    BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-"10 50"}
    BENCH_SCALE=${BENCH_SCALE:-0}
else
    BENCH_DURATION=${BENCH_DURATION:-10}
    BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-"10 50 200 1000"}
    BENCH_SCALE=${BENCH_SCALE:-1}
fi
BENCH_SCENARIOS=${BENCH_SCENARIOS:-"single batch100 duplicate unknown_key"}
BENCH_NGINX=${BENCH_NGINX:-1}
BENCH_PROBE=${BENCH_PROBE:-1}
BENCH_PROBE_SECONDS=${BENCH_PROBE_SECONDS:-3}
BENCH_KEYS=${BENCH_KEYS:-10000}
BENCH_PRELOAD_EVENTS=${BENCH_PRELOAD_EVENTS:-5000000}
BENCH_MICRO=${BENCH_MICRO:-1}
BENCH_WRK_THREADS=${BENCH_WRK_THREADS:-2}
BENCH_SERVER_THREADS=${BENCH_SERVER_THREADS:-}
BENCH_SYNCHRONOUS=${BENCH_SYNCHRONOUS:-full}
BENCH_SERVER_ENV=${BENCH_SERVER_ENV:-}
BENCH_OUT=${BENCH_OUT:-$ROOT/build-release/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
if [[ -n ${CC_BINARY:-} ]]; then BENCH_BUILD=${BENCH_BUILD:-0}; else BENCH_BUILD=${BENCH_BUILD:-1}; fi
CC_BINARY=${CC_BINARY:-$ROOT/build-release/cc-inbound}
MICRO_BINARY=$ROOT/build-release/cc_micro_bench

PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=$(command -v python3)
DOMAIN=bench.example.com
ADMIN_TOKEN=bench-admin-token-$RANDOM$RANDOM
CLK_TCK=$(getconf CLK_TCK)
HONESTY_FAILURES=0
STARTED_AT=$(date +%s)

mkdir -p "$BENCH_OUT"
BENCH_OUT=$(cd "$BENCH_OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cc-bench.XXXXXX")
RESULTS=$BENCH_OUT/results.jsonl
: >"$RESULTS"

SERVER_PID=""
NGINX_PID=""
cleanup() {
    # Only what this script started, by pid.
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[bench %4ds] %s\n' "$(($(date +%s) - STARTED_AT))" "$*" >&2; }
die() { log "error: $*"; exit 2; }

# Enough descriptors for 1,000 connections on both ends.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

for tool in wrk sqlite3 curl; do command -v $tool >/dev/null || die "$tool is not installed (apt-get install -y wrk sqlite3 curl)"; done
if [[ $BENCH_PROBE == 1 ]]; then command -v cc >/dev/null || die "no C compiler for bench/sqlite_probe.c (apt-get install -y gcc libsqlite3-dev), or set BENCH_PROBE=0"; fi
if [[ $BENCH_NGINX == 1 ]] && ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
    die "nginx is not installed (apt-get install -y nginx-light), or set BENCH_NGINX=0"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# ------------------------------------------------------------------ build
if [[ $BENCH_BUILD == 1 ]]; then
    log "building Release into build-release/"
    cmake -S "$ROOT" -B "$ROOT/build-release" -DCMAKE_BUILD_TYPE=Release -DCC_BUILD_TESTS=OFF \
        -DCC_BUILD_BENCH=ON >"$BENCH_OUT/build.log" 2>&1 || { tail -20 "$BENCH_OUT/build.log"; die "cmake configure failed"; }
    cmake --build "$ROOT/build-release" -j"$(nproc)" >>"$BENCH_OUT/build.log" 2>&1 ||
        { tail -20 "$BENCH_OUT/build.log"; die "build failed (see $BENCH_OUT/build.log)"; }
fi
[[ -x $CC_BINARY ]] || die "no binary at $CC_BINARY"
if [[ $BENCH_PROBE == 1 ]]; then
    cc -O2 -o "$WORK/sqlite_probe" "$BENCH_DIR/sqlite_probe.c" -lsqlite3 || die "cannot build bench/sqlite_probe.c (libsqlite3-dev?)"
fi

# ------------------------------------------------------------------ helpers
# Only for nginx, which cannot report a port the kernel picked; cc-inbound binds port 0
# and says which port it got (start_server), so no other process can take it in between.
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# listening_port LOGFILE OFFSET: the port of the first "listening" line after OFFSET bytes.
listening_port() {
    tail -c +"$(($2 + 1))" "$1" 2>/dev/null | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    try:
        obj = json.loads(line)
    except ValueError:
        continue
    if isinstance(obj, dict) and obj.get("msg") == "listening" and ":" in str(obj.get("address", "")):
        print(str(obj["address"]).rsplit(":", 1)[1])
        break'
}

cpu_ticks() {  # utime + stime of a process and, with a second argument, of its children processes
    local total=0 p
    for p in "$@"; do
        [[ -r /proc/$p/stat ]] || continue
        total=$((total + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
    done
    echo $total
}
hwm_kb() { local total=0 p v; for p in "$@"; do v=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0); total=$((total + ${v:-0})); done; echo $total; }
rss_kb() { local total=0 p v; for p in "$@"; do v=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0); total=$((total + ${v:-0})); done; echo $total; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# Busy ticks of the whole machine (user, nice, system, irq, softirq, steal): with the
# server's and wrk's own, tells how much CPU other processes took during a point.
machine_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# start_server DB -> SERVER_PID, SERVER_URL
start_server() {
    local db=$1 port="" from
    from=$(stat -c %s "$BENCH_OUT/server.log" 2>/dev/null || echo 0)
    local -a env=(PATH=/usr/bin:/bin HOME="$WORK"
        CC_LISTEN=127.0.0.1:0 CC_DATABASE="$db" CC_ADMIN_TOKEN="$ADMIN_TOKEN"
        CC_LOG_LEVEL=warn CC_SQLITE_SYNCHRONOUS="$BENCH_SYNCHRONOUS" CC_MAX_CONNECTIONS=20000
        CC_RATE_LIMIT_PULSE=100000000:100000000 CC_RATE_LIMIT_SIGNAL=100000000:100000000
        CC_RATE_LIMIT_CLARITY=100000000:100000000 CC_RATE_LIMIT_COMMAND=100000000:100000000)
    [[ -n $BENCH_SERVER_THREADS ]] && env+=(CC_THREADS="$BENCH_SERVER_THREADS")
    # shellcheck disable=SC2206
    [[ -n $BENCH_SERVER_ENV ]] && env+=($BENCH_SERVER_ENV)
    env -i "${env[@]}" "$CC_BINARY" serve >>"$BENCH_OUT/server.log" 2>&1 &
    SERVER_PID=$!
    SERVER_URL=""
    local i
    for i in $(seq 1 400); do
        [[ -n $port ]] || port=$(listening_port "$BENCH_OUT/server.log" "$from")
        [[ -n $port ]] && SERVER_URL=http://127.0.0.1:$port
        if [[ -n $SERVER_URL ]] && curl -sf -o /dev/null "$SERVER_URL/healthz" 2>/dev/null; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || die "cc-inbound exited at start (see $BENCH_OUT/server.log)"
        sleep 0.05
    done
    die "cc-inbound did not answer /healthz within 20 s"
}

# stop_server -> SERVER_EXIT
stop_server() {
    kill -TERM "$SERVER_PID"
    SERVER_EXIT=0
    wait "$SERVER_PID" || SERVER_EXIT=$?
    SERVER_PID=""
}

admin() {  # admin METHOD PATH [JSON]
    curl -s -X "$1" "$SERVER_URL$2" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
        ${3:+-d "$3"}
}

# create_key -> KEY (the domain is created on the command plan: unlimited keys)
create_key() {
    admin PUT "/admin/domains/$DOMAIN" '{"plan":"command"}' >/dev/null
    KEY=$(admin POST /admin/keys "{\"domain\":\"$DOMAIN\",\"name\":\"bench\"}" |
        "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["key"])') || die "cannot create a key"
    KEY_ID=$(sqlite3 "$CURRENT_DB" "select id from api_keys where domain='$DOMAIN' order by created_at desc limit 1" 2>/dev/null || true)
}

# A well-formed key with a valid checksum that the server never issued.
FORGED_KEY=$("$PYTHON" -c '
import secrets, zlib
B = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
r = "".join(secrets.choice(B) for _ in range(32))
n = zlib.crc32(r.encode()) & 0xFFFFFFFF
d = ""
while n:
    n, m = divmod(n, 62); d = B[m] + d
print("cc_" + r + d.rjust(6, "0"))')

count_events() { sqlite3 "$1" 'select count(*) from events'; }

# A fresh database with the schema, the bench domain and no key yet.
fresh_db() {
    local db=$WORK/$1.db
    rm -f "$db" "$db-wal" "$db-shm"
    echo "$db"
}

# Adds keys directly in SQL (10 per domain, clarity plan) so the registry holds $1 keys in all.
add_keys() {
    local db=$1 n=$2
    sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < ($n + 9) / 10)
INSERT OR IGNORE INTO domains (domain, plan, created_at) SELECT 'bulk' || n || '.example.com', 'clarity', 0 FROM i;
WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n + 1 < $n)
INSERT INTO api_keys (id, domain, name, prefix, key_hash, status, created_at)
SELECT 'key_bulk' || n, 'bulk' || (n / 10) || '.example.com', 'bulk ' || n, printf('cc_%08d', n),
       randomblob(32), 'active', n FROM i;
UPDATE registry_version SET version = version + 1;
COMMIT;
SQL
}

# Stores $2 events directly with SQL, shaped like the bench's (ids spread over the index,
# received over the last ~58 days so that retention never purges them).
preload_events() {
    local db=$1 n=$2 key_id=$3
    local now_ms=$(($(date +%s) * 1000))
    # No journal while loading (the server is stopped; nothing else has the file open),
    # back to WAL at the end, as the service keeps it.
    sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode=OFF;
PRAGMA synchronous=OFF;
PRAGMA cache_size=-1048576;
BEGIN;
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < $n),
ids(n, id, at) AS (SELECT n, printf('%08x-pre-%d', (n * 2654435761) % 4294967296, n), $now_ms - ($n - n) * 1000 - 60000 FROM i)
INSERT INTO events (domain, event_id, key_id, name, email, email_sha256, value, currency,
                    occurred_at, received_at, properties, raw)
SELECT '$DOMAIN', id, '$key_id', 'purchase', 'customer' || n || '@example.com',
       printf('%016x%016x%016x%016x', n * 7919, n * 104729, n * 1299709, n * 15485863),
       '49.90', 'USD', at, at, '{"plan":"pro","source":"bench"}',
       '{"event":"purchase","event_id":"' || id || '","email":"customer' || n ||
       '@example.com","value":49.90,"currency":"USD","properties":{"plan":"pro","source":"bench"}}'
FROM ids;
COMMIT;
PRAGMA journal_mode=WAL;
SQL
}

# Events among the unanswered ids (file, one a line) that the database holds.
stored_among() {
    local db=$1 file=$2
    if [[ ! -s $file ]]; then echo 0; return; fi
    sqlite3 "$db" <<SQL
CREATE TEMP TABLE unanswered (id TEXT PRIMARY KEY);
.import --csv $file unanswered
SELECT count(*) FROM events WHERE domain = '$DOMAIN' AND event_id IN (SELECT id FROM unanswered);
SQL
}

# run_wrk SCRIPT CONNECTIONS URL PATH KEY TRACK -> WRK_JSON (the BENCH_RESULT object), WRK_LOG
POINT=0
run_wrk() {
    local script=$1 conns=$2 url=$3 key=$4 track=$5
    local threads=$BENCH_WRK_THREADS
    ((threads > conns)) && threads=$conns
    POINT=$((POINT + 1))
    WRK_LOG=$BENCH_OUT/wrk-$(printf %03d $POINT)-$script-c$conns.log
    OUTSTANDING=$WORK/outstanding-$POINT.txt
    : >"$OUTSTANDING"
    local path=/__cc/inbound
    local timer=()
    [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f 'WRK_CPU %U %S %e')
    env BENCH_DIR="$BENCH_DIR" BENCH_KEY="$key" BENCH_RUN="r$$p$POINT" BENCH_TRACK="$track" \
        BENCH_OUTSTANDING_FILE="$OUTSTANDING" \
        "${timer[@]}" wrk -t"$threads" -c"$conns" -d"${BENCH_DURATION}s" --timeout 10s -s "$BENCH_DIR/$script.lua" \
        "$url$path" >"$WRK_LOG" 2>&1 || die "wrk failed (see $WRK_LOG)"
    WRK_JSON=$(sed -n 's/^BENCH_RESULT //p' "$WRK_LOG")
    [[ -n $WRK_JSON ]] || die "no BENCH_RESULT in $WRK_LOG"
    # The load generator's own CPU, in % of one core over its run.
    local cpu
    cpu=$(awk '/^WRK_CPU/{ if ($4 > 0) printf "%.1f", ($2 + $3) / $4 * 100 }' "$WRK_LOG")
    WRK_JSON="${WRK_JSON%\}},\"client_cpu_pct\":${cpu:-null}}"
}

# record KIND SCENARIO CONNS EXTRA_JSON: one line of results.jsonl, one line on stderr.
record() {
    local line
    line=$("$PYTHON" - "$1" "$2" "$3" "$4" "$WRK_JSON" <<'PY'
import json, sys
target, scenario, conns, extra, wrk = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4]), json.loads(sys.argv[5])
r = dict(wrk)
r.update({"target": target, "scenario": scenario, "connections": conns})
r.update(extra)
secs = r["duration_s"]
r["events_per_s"] = round(r.get("accepted", 0) / secs, 1) if target == "cc-inbound" else None
r["answers_2xx_per_s"] = round(r["c2xx"] / secs, 1)
print(json.dumps(r))
PY
)
    echo "$line" >>"$RESULTS"
    "$PYTHON" -c '
import json, sys
r = json.loads(sys.argv[1])
ev = r.get("events_per_s")
hon = r.get("honest")
print("  %-10s %-12s %-8s c=%-5d %9.0f req/s %10s ev/s  p50 %7.2f  p90 %7.2f  p99 %7.2f ms  cpu %4.0f%%  others %4.0f%%  hwm %6.1f MiB%s" % (
    r["target"], r["scenario"], r.get("variant", ""), r["connections"], r["req_per_s"],
    "-" if ev is None else "%.0f" % ev, r["p50_ms"], r["p90_ms"], r["p99_ms"], r["cpu_pct"], r.get("others_cpu_pct", 0), r["peak_rss_mib"],
    "" if hon is None else ("  honest" if hon else "  HONESTY FAILED: " + r.get("honesty_note", ""))), file=sys.stderr)
if r.get("commits"):
    print("  %47s writer: %d commits (%.0f/s), %.1f events/commit, %.2f ms/commit, busy %.0f%%" % (
        "", r["commits"], r["commits_per_s"], r["events_per_commit"], r["commit_ms_mean"], r["writer_busy_pct"]), file=sys.stderr)
' "$line"
}

# ------------------------------------------------------------------ one cc-inbound point
# cc_point SCENARIO CONNS VARIANT [DB_MODE]
#   DB_MODE: fresh (default: new database, domain and key), keys (fresh + $BENCH_KEYS keys),
#            reuse (keep $CURRENT_DB and $KEY as they are)
cc_point() {
    local scenario=$1 conns=$2 variant=$3 mode=${4:-fresh}
    if [[ $mode != reuse ]]; then
        CURRENT_DB=$(fresh_db "point-$((POINT + 1))")
        if [[ $mode == keys ]]; then
            start_server "$CURRENT_DB"; stop_server  # applies the migrations
            add_keys "$CURRENT_DB" $((BENCH_KEYS - 1))
        fi
        start_server "$CURRENT_DB"
        create_key
        stop_server
    fi
    local before after ticks0 ticks1 t0 t1 key=$KEY track=1 keys_loaded events_before
    [[ $scenario == unknown_key ]] && key=$FORGED_KEY && track=0
    [[ $scenario == duplicate ]] && track=0
    before=$(count_events "$CURRENT_DB")
    keys_loaded=$(sqlite3 "$CURRENT_DB" 'select count(*) from api_keys')
    start_server "$CURRENT_DB"
    local m0 m1 wal_bytes
    ticks0=$(cpu_ticks "$SERVER_PID"); t0=$(date +%s.%N); m0=$(machine_busy)
    local load=$(loadavg)
    run_wrk "$scenario" "$conns" "$SERVER_URL" "$key" "$track"
    t1=$(date +%s.%N); ticks1=$(cpu_ticks "$SERVER_PID"); m1=$(machine_busy)
    local hwm rss
    hwm=$(hwm_kb "$SERVER_PID"); rss=$(rss_kb "$SERVER_PID")
    wal_bytes=$(stat -c %s "$CURRENT_DB-wal" 2>/dev/null || echo 0)
    curl -s "$SERVER_URL/metrics" >"$WORK/metrics.txt" || : >"$WORK/metrics.txt"
    stop_server
    after=$(count_events "$CURRENT_DB")
    local inflight_stored
    inflight_stored=$(stored_among "$CURRENT_DB" "$OUTSTANDING")
    local extra
    extra=$("$PYTHON" - <<PY
import json
wrk = json.loads('''$WRK_JSON''')
scenario = "$scenario"
delta = $after - $before
inflight_stored = $inflight_stored
accepted = wrk["accepted"]
if scenario == "unknown_key":
    honest = delta == 0 and wrk["c2xx"] == 0 and wrk["c401"] == wrk["answered"]
    note = "stored %d, 2xx %d, 401 %d of %d answers" % (delta, wrk["c2xx"], wrk["c401"], wrk["answered"])
elif scenario == "duplicate":
    honest = delta == accepted and accepted <= 1 and wrk["c2xx"] == wrk["answered"]
    note = "stored %d, 202 %d, 2xx %d of %d answers" % (delta, accepted, wrk["c2xx"], wrk["answered"])
else:
    # Every acknowledged event is stored, and nothing is stored that was not acknowledged,
    # except events of requests still unanswered when wrk stopped (found by their ids).
    per_answer = 100 if scenario == "batch100" else 1
    honest = (delta == accepted + inflight_stored and accepted == wrk["c2xx"] * per_answer
              and inflight_stored <= wrk["outstanding"] * per_answer)
    note = "stored %d = acknowledged %d (2xx %d) + unanswered-but-stored %d (of %d unanswered requests)" % (
        delta, accepted, wrk["c2xx"], inflight_stored, wrk["outstanding"])
secs = $t1 - $t0
# The writer's own account (GET /metrics, cumulative since this server started).
m = {}
for line in open("$WORK/metrics.txt"):
    if line.startswith(("cc_commit_batch_size_events_sum", "cc_commit_batch_size_events_count",
                        "cc_commit_duration_seconds_sum", "cc_commit_duration_seconds_count")):
        name, value = line.split()[0], line.split()[-1]
        m[name.split("{")[0]] = float(value)
commits = int(m.get("cc_commit_duration_seconds_count", 0))
commit_s = m.get("cc_commit_duration_seconds_sum", 0.0)
writer = {
    "commits": commits,
    "commits_per_s": round(commits / secs, 1),
    "events_per_commit": round(m.get("cc_commit_batch_size_events_sum", 0) / commits, 1) if commits else None,
    "commit_ms_mean": round(commit_s / commits * 1000, 3) if commits else None,
    "writer_busy_pct": round(commit_s / secs * 100, 1),
}
print(json.dumps({**writer,
    "variant": "$variant",
    "keys_loaded": $keys_loaded,
    "events_before": $before,
    "stored_delta": delta,
    "unanswered_stored": inflight_stored,
    "honest": honest and $SERVER_EXIT == 0,
    "honesty_note": note + ("" if $SERVER_EXIT == 0 else "; server exit %d" % $SERVER_EXIT),
    "server_exit": $SERVER_EXIT,
    "cpu_pct": round(($ticks1 - $ticks0) / $CLK_TCK / secs * 100, 1),
    "machine_busy_pct": round(($m1 - $m0) / $CLK_TCK / secs * 100, 1),
    "others_cpu_pct": round(max(0.0, ($m1 - $m0 - ($ticks1 - $ticks0)) / $CLK_TCK / secs * 100 - (wrk.get("client_cpu_pct") or 0)), 1),
    "peak_rss_mib": round($hwm / 1024, 1),
    "end_rss_mib": round($rss / 1024, 1),
    "wal_mib_at_end": round($wal_bytes / 1048576, 1),
    "loadavg_before": $load,
}))
PY
)
    record cc-inbound "$scenario" "$conns" "$extra"
    if [[ $("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["honest"])' "$extra") != True ]]; then
        HONESTY_FAILURES=$((HONESTY_FAILURES + 1))
    fi
}

# ------------------------------------------------------------------ nginx
NGINX_WORKERS=""
start_nginx() {
    local prefix=$WORK/nginx port
    mkdir -p "$prefix"/{body,proxy,fastcgi,uwsgi,scgi}
    chmod -R 777 "$prefix"
    port=$(free_port)
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" "$BENCH_DIR/nginx.conf.template" >"$prefix/nginx.conf"
    "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" >>"$BENCH_OUT/nginx.log" 2>&1 &
    NGINX_PID=$!
    NGINX_URL=http://127.0.0.1:$port
    local i
    for i in $(seq 1 200); do
        if [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$NGINX_URL/__cc/inbound" 2>/dev/null) == 202 ]]; then
            NGINX_WORKERS=$(ps -o pid= --ppid "$NGINX_PID" | tr -s ' \n' ' ')
            return 0
        fi
        kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited at start (see $BENCH_OUT/nginx.log, $prefix/error.log)"
        sleep 0.05
    done
    die "nginx did not answer within 10 s"
}

nginx_point() {
    local conns=$1 variant=$2
    local pids="$NGINX_PID $NGINX_WORKERS" ticks0 ticks1 t0 t1 load
    # shellcheck disable=SC2086
    local m0 m1
    ticks0=$(cpu_ticks $pids); t0=$(date +%s.%N); load=$(loadavg); m0=$(machine_busy)
    run_wrk single "$conns" "$NGINX_URL" "$KEY" 0
    # shellcheck disable=SC2086
    t1=$(date +%s.%N); ticks1=$(cpu_ticks $pids); m1=$(machine_busy)
    local hwm
    # shellcheck disable=SC2086
    hwm=$(hwm_kb $pids)
    local extra
    extra=$("$PYTHON" -c "
import json, sys
wrk = json.loads(sys.argv[1])
secs = $t1 - $t0
print(json.dumps({'variant': '$variant', 'cpu_pct': round(($ticks1 - $ticks0) / $CLK_TCK / secs * 100, 1),
                  'machine_busy_pct': round(($m1 - $m0) / $CLK_TCK / secs * 100, 1),
                  'others_cpu_pct': round(max(0.0, ($m1 - $m0 - ($ticks1 - $ticks0)) / $CLK_TCK / secs * 100 - (wrk.get('client_cpu_pct') or 0)), 1),
                  'peak_rss_mib': round($hwm / 1024, 1), 'loadavg_before': $load, 'honest': None}))" "$WRK_JSON")
    record nginx constant-202 "$conns" "$extra"
}

probe() {
    local label=$1 db=$WORK/probe.db
    rm -f "$db" "$db-wal" "$db-shm"
    log "SQLite probe ($label): WAL, synchronous=$BENCH_SYNCHRONOUS, 1/100/1000 rows per transaction, ${BENCH_PROBE_SECONDS} s each"
    "$WORK/sqlite_probe" "$db" "$BENCH_PROBE_SECONDS" "$BENCH_SYNCHRONOUS" 1,100,1000 >"$BENCH_OUT/probe-$label.log" 2>&1 ||
        die "sqlite_probe failed (see $BENCH_OUT/probe-$label.log)"
    sed -n 's/^PROBE_RESULT //p' "$BENCH_OUT/probe-$label.log" | while read -r line; do
        "$PYTHON" -c '
import json, sys
r = json.loads(sys.argv[1]); r["target"] = "sqlite-probe"; r["variant"] = sys.argv[2]
print(json.dumps(r))
print("  sqlite-probe %-6s %4d rows/tx  %9.0f rows/s  %7.1f tx/s  tx p50 %.2f p99 %.2f ms" % (sys.argv[2], r["rows_per_tx"], r["rows_per_s"], r["tx_per_s"], r["tx_ms_p50"], r["tx_ms_p99"]), file=sys.stderr)
' "$line" "$label" >>"$RESULTS"
    done
    rm -f "$db" "$db-wal" "$db-shm"
}

# ------------------------------------------------------------------ the run
{
    echo "{\"target\":\"machine\",\"nproc\":$(nproc),"
    echo "\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\","
    echo "\"mem_total_kib\":$(awk '/MemTotal/{print $2}' /proc/meminfo),"
    echo "\"kernel\":\"$(uname -r)\",\"loadavg_start\":\"$(cat /proc/loadavg)\","
    echo "\"wrk\":\"$(wrk -v 2>&1 | head -1 | cut -d' ' -f2)\",\"nginx\":\"$("$NGINX" -v 2>&1 | cut -d/ -f2)\","
    echo "\"sqlite\":\"$(sqlite3 --version | cut -d' ' -f1)\",\"binary\":\"$CC_BINARY\","
    echo "\"duration_s\":$BENCH_DURATION,\"connections\":\"$BENCH_CONNECTIONS\",\"scenarios\":\"$BENCH_SCENARIOS\","
    echo "\"wrk_threads\":$BENCH_WRK_THREADS,\"server_threads\":\"${BENCH_SERVER_THREADS:-default}\",\"synchronous\":\"$BENCH_SYNCHRONOUS\",\"server_env\":\"$BENCH_SERVER_ENV\",\"quick\":$QUICK}"
} | tr -d '\n' >>"$RESULTS"
echo >>"$RESULTS"
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
log "results in $BENCH_OUT"

KEY=$FORGED_KEY  # nginx does not look at it
[[ $BENCH_NGINX == 1 ]] && start_nginx

# Interleaved: at each connection count, the SQLite probe, nginx, then every cc-inbound
# scenario, then nginx again; so the ceilings see the same machine weather as the service.
for conns in $BENCH_CONNECTIONS; do
    log "--- $conns connections"
    [[ $BENCH_PROBE == 1 ]] && probe "c$conns"
    [[ $BENCH_NGINX == 1 ]] && nginx_point "$conns" before
    for scenario in $BENCH_SCENARIOS; do
        cc_point "$scenario" "$conns" matrix
    done
    [[ $BENCH_NGINX == 1 ]] && nginx_point "$conns" after
done

if [[ $BENCH_SCALE == 1 ]]; then
    log "--- keys: $BENCH_KEYS keys loaded"
    [[ $BENCH_NGINX == 1 ]] && nginx_point 50 before-keys
    cc_point single 50 "keys-$BENCH_KEYS" keys
    cc_point unknown_key 50 "keys-$BENCH_KEYS" reuse
    cc_point single 1000 "keys-$BENCH_KEYS" keys

    log "--- stored events: empty database against $BENCH_PRELOAD_EVENTS events stored"
    PRELOAD_DB=$WORK/preloaded.db
    rm -f "$PRELOAD_DB"*
    CURRENT_DB=$PRELOAD_DB
    cache=""
    if [[ -n ${BENCH_PRELOAD_CACHE:-} ]]; then
        cache=$BENCH_PRELOAD_CACHE/preload-$BENCH_PRELOAD_EVENTS-$(cat "$ROOT"/migrations/*.sql | sha1sum | cut -c1-12).db
    fi
    t0=$(date +%s.%N)
    if [[ -n $cache && -f $cache ]]; then
        cp "$cache" "$PRELOAD_DB"
        cached=true
        start_server "$PRELOAD_DB"; create_key; stop_server
    else
        cached=false
        start_server "$PRELOAD_DB"; create_key; stop_server
        preload_events "$PRELOAD_DB" "$BENCH_PRELOAD_EVENTS" "$KEY_ID"
        if [[ -n $cache ]]; then mkdir -p "$(dirname "$cache")" && cp "$PRELOAD_DB" "$cache"; fi
    fi
    t1=$(date +%s.%N)
    PRELOAD_KEY=$KEY
    preload_s=$("$PYTHON" -c "print(round($t1 - $t0, 1))")
    db_mib=$(( $(stat -c %s "$PRELOAD_DB") / 1048576 ))
    log "preloaded $BENCH_PRELOAD_EVENTS events in ${preload_s} s (database $db_mib MiB, cached: $cached)"
    echo "{\"target\":\"preload\",\"events\":$BENCH_PRELOAD_EVENTS,\"seconds\":$preload_s,\"db_mib\":$db_mib,\"cached\":$cached}" >>"$RESULTS"
    for round in 1 2; do
        cc_point single 50 "empty-db-$round" fresh
        CURRENT_DB=$PRELOAD_DB; KEY=$PRELOAD_KEY
        cc_point single 50 "stored-$BENCH_PRELOAD_EVENTS-$round" reuse
    done
    [[ $BENCH_NGINX == 1 ]] && nginx_point 50 after-scale
    rm -f "$PRELOAD_DB"*
fi

if [[ -n $NGINX_PID ]]; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=""
fi

[[ $BENCH_PROBE == 1 ]] && probe after

if [[ $BENCH_MICRO == 1 ]]; then
    if [[ -x $MICRO_BINARY ]]; then
        log "micro-benchmarks ($MICRO_BINARY)"
        "$MICRO_BINARY" --benchmark_min_time=0.3 --benchmark_out="$BENCH_OUT/micro.json" --benchmark_out_format=json \
            >"$BENCH_OUT/micro.txt" 2>&1 || log "micro-benchmarks failed (see $BENCH_OUT/micro.txt)"
    else
        log "no $MICRO_BINARY: micro-benchmarks skipped (configure with -DCC_BUILD_BENCH=ON)"
    fi
fi

echo "{\"target\":\"end\",\"seconds\":$(($(date +%s) - STARTED_AT)),\"loadavg_end\":\"$(cat /proc/loadavg)\",\"honesty_failures\":$HONESTY_FAILURES}" >>"$RESULTS"

# ------------------------------------------------------------------ summary
"$PYTHON" - "$RESULTS" "$BENCH_OUT" >"$BENCH_OUT/summary.md" <<'PY'
import json, os, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out_dir = sys.argv[2]
machine = next(r for r in rows if r["target"] == "machine")
end = next(r for r in rows if r["target"] == "end")
probe = {}
for r in rows:
    if r["target"] == "sqlite-probe":
        probe.setdefault(r["rows_per_tx"], []).append(r["rows_per_s"])
ceiling_sql = {k: statistics.mean(v) for k, v in probe.items()}
nginx = {}
for r in rows:
    if r["target"] == "nginx" and r.get("variant") in ("before", "after"):
        nginx.setdefault(r["connections"], []).append(r["req_per_s"])
ceiling_http = {k: statistics.mean(v) for k, v in nginx.items()}
cc = [r for r in rows if r["target"] == "cc-inbound"]

def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"

print("# cc-inbound benchmark summary\n")
print("Machine: %d cores, %s, %.1f GiB RAM, kernel %s; wrk %s, nginx %s, SQLite %s." % (
    machine["nproc"], machine["cpu"], machine["mem_total_kib"] / 1048576, machine["kernel"], machine["wrk"],
    machine["nginx"], machine["sqlite"]))
print("Run: %s s per point, wrk threads %s, server threads %s, synchronous=%s, CC_LOG_LEVEL=warn; "
      "load average at start %s, at end %s; %d s in all.\n" % (
    machine["duration_s"], machine["wrk_threads"], machine["server_threads"], machine["synchronous"],
    machine["loadavg_start"].split()[0], end["loadavg_end"].split()[0], end["seconds"]))

if ceiling_sql:
    print("## SQLite durable insert ceiling (bench/sqlite_probe.c)\n")
    print("| rows per transaction | rows/s (mean of runs) | min | max | transaction p50 / p99 ms (median of runs) | runs (in run order) |")
    print("|---:|---:|---:|---:|---:|---|")
    for k in sorted(probe):
        runs = [r for r in rows if r["target"] == "sqlite-probe" and r["rows_per_tx"] == k]
        p50 = statistics.median(r.get("tx_ms_p50", 0) for r in runs)
        p99 = statistics.median(r.get("tx_ms_p99", 0) for r in runs)
        print("| %d | %.0f | %.0f | %.0f | %.2f / %.2f | %s |" % (k, ceiling_sql[k], min(probe[k]), max(probe[k]), p50, p99,
              ", ".join("%.0f" % v for v in probe[k])))
    print()
if nginx:
    print("## nginx constant-202 ceiling (same request, same wrk script)\n")
    print("| connections | req/s (mean) | runs |")
    print("|---:|---:|---|")
    for k in sorted(nginx):
        print("| %d | %.0f | %s |" % (k, ceiling_http[k], ", ".join("%.0f" % v for v in nginx[k])))
    print()
    print("nginx's CPU / wrk's / others', in % of one core: " + ", ".join("c=%d %.0f/%.0f/%.0f%%" % (
        r["connections"], r["cpu_pct"], r.get("client_cpu_pct") or 0, r.get("others_cpu_pct", 0)) for r in rows if r["target"] == "nginx"))
    print()

print("## cc-inbound\n")
print("events/s counts events newly stored (acknowledged by 2xx). ÷nginx: req/s over nginx's req/s at the same "
      "connection count. ÷SQL@n: events/s over the probe's rows/s at n rows per transaction.\n")
print("| scenario | variant | conns | req/s | events/s | p50 ms | p90 ms | p99 ms | server CPU | CPU µs/req | wrk CPU | others' CPU | peak RSS MiB | ÷nginx | ÷SQL@1 | ÷SQL@100 | ÷SQL@1000 | honest |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in cc:
    ev = r["events_per_s"]
    ng = ceiling_http.get(r["connections"])
    wrk_cpu = r.get("client_cpu_pct")
    print("| %s | %s | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %.0f%% | %.0f | %s | %.0f%% | %.1f | %s | %s | %s | %s | %s |" % (
        r["scenario"], r["variant"], r["connections"], r["req_per_s"], ev, r["p50_ms"], r["p90_ms"], r["p99_ms"],
        r["cpu_pct"], r["cpu_pct"] / 100 * 1e6 / r["req_per_s"] if r["req_per_s"] else 0,
        "-" if wrk_cpu is None else "%.0f%%" % wrk_cpu, r.get("others_cpu_pct", 0), r["peak_rss_mib"], ratio(r["req_per_s"], ng),
        ratio(ev, ceiling_sql.get(1)) if ev else "-", ratio(ev, ceiling_sql.get(100)) if ev else "-",
        ratio(ev, ceiling_sql.get(1000)) if ev else "-", "yes" if r["honest"] else "**NO**"))
print()
print("Server CPU, wrk CPU and others' CPU (every other process of the machine during the point) are in % of one core "
      "(200% = both cores); CPU µs/req = server CPU time per answer.\n")
print("### The group-commit writer (from the server's /metrics)\n")
print("| scenario | variant | conns | commits/s | events/commit | ms/commit (fsync included) | writer busy | WAL file at end MiB |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in cc:
    if r.get("commits"):
        print("| %s | %s | %d | %.0f | %.1f | %.2f | %.0f%% | %.0f |" % (r["scenario"], r["variant"], r["connections"],
              r["commits_per_s"], r["events_per_commit"], r["commit_ms_mean"], r["writer_busy_pct"], r.get("wal_mib_at_end", 0)))
print()
print("Honesty notes:\n")
for r in cc:
    print("- %s c=%d %s: %s" % (r["scenario"], r["connections"], r["variant"], r["honesty_note"]))
print()
other = [r for r in rows if r["target"] == "nginx" and r.get("variant") not in ("before", "after")]
for r in other:
    print("nginx (%s) c=%d: %.0f req/s, p99 %.2f ms" % (r["variant"], r["connections"], r["req_per_s"], r["p99_ms"]))
pre = [r for r in rows if r["target"] == "preload"]
for r in pre:
    print("Preload: %d events stored with SQL in %.1f s (database %d MiB)." % (r["events"], r["seconds"], r["db_mib"]))
print()

# Targets (issue: 2 cores, generator sharing them, 50 connections).
def find(scenario, conns, variant="matrix"):
    return [r for r in cc if r["scenario"] == scenario and r["connections"] == conns and r["variant"].startswith(variant)]

targets = []
s50 = find("single", 50)
if s50 and 50 in ceiling_http:
    r = s50[0]
    targets.append(("single-event intake ≥ 0.25 × nginx (50 conns)", "%.0f / %.0f = %.2f" % (r["req_per_s"], ceiling_http[50], r["req_per_s"] / ceiling_http[50]), r["req_per_s"] / ceiling_http[50] >= 0.25))
if s50:
    r = s50[0]
    targets.append(("single-event p99 ≤ 10 ms (50 conns)", "%.2f ms" % r["p99_ms"], r["p99_ms"] <= 10))
b50 = find("batch100", 50)
if b50 and 100 in ceiling_sql:
    r = b50[0]
    targets.append(("batch of 100 ≥ 0.8 × SQLite@100 rows/tx (50 conns)", "%.0f / %.0f = %.2f" % (r["events_per_s"], ceiling_sql[100], r["events_per_s"] / ceiling_sql[100]), r["events_per_s"] / ceiling_sql[100] >= 0.8))
u50 = find("unknown_key", 50)
if u50 and 50 in ceiling_http:
    r = u50[0]
    targets.append(("401 path ≥ 0.6 × nginx (50 conns)", "%.0f / %.0f = %.2f" % (r["req_per_s"], ceiling_http[50], r["req_per_s"] / ceiling_http[50]), r["req_per_s"] / ceiling_http[50] >= 0.6))
k1000 = [r for r in cc if r["variant"].startswith("keys-") and r["connections"] == 1000]
if k1000:
    r = k1000[0]
    targets.append(("peak RSS ≤ 64 MiB, %d keys, 1,000 connections" % r["keys_loaded"], "%.1f MiB" % r["peak_rss_mib"], r["peak_rss_mib"] <= 64))
empty = [r["events_per_s"] for r in cc if r["variant"].startswith("empty-db")]
stored = [r["events_per_s"] for r in cc if r["variant"].startswith("stored-")]
if empty and stored:
    e, s = statistics.mean(empty), statistics.mean(stored)
    targets.append(("intake with %s events stored within 20%% of empty (50 conns)" % pre[0]["events"] if pre else "stored events",
                    "%.0f vs %.0f ev/s = %.2f" % (s, e, s / e), s / e >= 0.8))
if targets:
    print("## Targets\n")
    print("| target | measured | met |")
    print("|---|---|---|")
    for name, measured, ok in targets:
        print("| %s | %s | %s |" % (name, measured, "yes" if ok else "**no**"))
    print()

micro = os.path.join(out_dir, "micro.json")
if os.path.exists(micro):
    data = json.load(open(micro))
    print("## Micro-benchmarks (cc_micro_bench)\n")
    print("| benchmark | time/op | CPU/op | note |")
    print("|---|---:|---:|---|")
    for b in data.get("benchmarks", []):
        note = ""
        if "items_per_second" in b:
            note = "%.0f items/s" % b["items_per_second"]
        print("| %s | %.0f %s | %.0f %s | %s |" % (b["name"], b["real_time"], b["time_unit"], b["cpu_time"], b["time_unit"], note))
    print()
print("Honesty: %s" % ("every check passed" if end["honesty_failures"] == 0 else "%d check(s) FAILED" % end["honesty_failures"]))
PY

cat "$BENCH_OUT/summary.md"
log "done in $(($(date +%s) - STARTED_AT)) s; results in $BENCH_OUT"
if ((HONESTY_FAILURES > 0)); then
    log "HONESTY CHECK FAILED in $HONESTY_FAILURES point(s)"
    exit 1
fi
