#!/usr/bin/env bash
# cc-inbound load benchmark: one command, bounded in time, 127.0.0.1 only.
#
#   bench/run.sh                 full run (10 s per point; about 18-20 minutes in all, see bench/README.md)
#   QUICK=1 bench/run.sh         3 s per point, 10 and 50 connections; no scale, soak, peer or PostgreSQL runs
#   BENCH_BASELINE_BINARY=/path/to/old/cc-inbound bench/run.sh   adds the before/after (A/B) points
#
# What it does (docs/PERFORMANCE.md has the figures and how to read them):
#   1. builds Release into build-release/ (cc-inbound and the cc_micro_bench target);
#   2. measures the ceilings of this machine in the same run:
#        - nginx (Debian's nginx-light) answering POST /__cc/inbound with a constant 202,
#          with its own temporary prefix and port, interleaved with the cc-inbound points;
#        - bench/sqlite_probe.c: SQLite's durable insert rate (WAL, the service's
#          synchronous level) at 1, 100 and 1000 rows per transaction;
#   3. for every scenario and connection count starts cc-inbound on a fresh temporary
#      database (rate limits raised, the default log level info: one access-log line per
#      request), creates a domain and a key through the admin API, drives wrk with
#      the scenario's Lua script, and records req/s, events/s, p50/p90/p99/p99.9, the
#      server's CPU (/proc/PID/stat utime+stime: % of a core and µs per request) and peak
#      RSS (VmHWM), then stops the server (SIGTERM) and checks honesty: the events stored
#      equal the events the 2xx answers acknowledged, plus those of requests still
#      unanswered when wrk stopped;
#   4. the node peer (bench/peers/node: fastify + better-sqlite3, installed with npm ci
#      when missing) at the same connection counts, single-event and 401 scenarios;
#   5. scale runs: 10,000 keys loaded (and 1,000 connections), 1,000,000 keys over
#      100,000 domains (start-up time, RSS, 401 and 202 rates), and 5,000,000 events
#      already stored against an empty database;
#   6. the soak run: single events for 60 s at 50 connections, p99.9 and the WAL file's
#      largest size (sampled every 0.5 s);
#   7. PostgreSQL: a cluster started by this script (initdb + pg_ctl as the postgres OS
#      user, temporary directory, free port, settings printed), single-event and batch
#      points on one node and on two nodes (two wrk processes at once, figures summed),
#      and the revocation propagation delay from node A to node B under load;
#   8. with BENCH_BASELINE_BINARY: the 401 and single-event points interleaved against
#      the old and the current binary, each on its own fresh database (before/after table);
#   9. the micro-benchmarks (cc_micro_bench);
#  10. writes results.jsonl, summary.md (with the target table: met / not met) and the raw
#      logs to $BENCH_OUT and prints summary.md. Exit status 1 when an honesty check
#      failed or a server did not stop cleanly.
#
# Environment (all optional):
#   QUICK=1                 3 s per point, connections "10 50", no scale, soak, peer or PostgreSQL runs
#   BENCH_DURATION=10       seconds per point
#   BENCH_CONNECTIONS="10 50 200 1000"
#   BENCH_SCENARIOS="single batch100 duplicate unknown_key"
#   BENCH_LOG_LEVEL=info    CC_LOG_LEVEL of the servers (info: the default, access log on)
#   BENCH_NGINX=1           0: no nginx ceiling
#   BENCH_PROBE=1           0: no SQLite probe
#   BENCH_PROBE_SECONDS=3   seconds per probe size
#   BENCH_PEER=1            0: no node peer (default 0 when QUICK=1)
#   BENCH_PEER_SCENARIOS="single unknown_key"
#   BENCH_SCALE=1           0: no keys / stored-events runs (default 0 when QUICK=1)
#   BENCH_KEYS=10000        keys loaded for the keys run
#   BENCH_MANY_KEYS=1000000 keys of the large-registry run (0: no such run)
#   BENCH_MANY_DOMAINS=100000      domains those keys are spread over
#   BENCH_PRELOAD_EVENTS=5000000   events stored before the stored-events run (0: no such run)
#   BENCH_PRELOAD_CACHE=dir keep the preloaded database in dir and reuse it next time (~2.5 GB)
#   BENCH_SOAK_SECONDS=60   length of the soak run (0: none; default 0 when QUICK=1)
#   BENCH_WAL_BOUND_MIB=256 the WAL counts as bounded while its largest size stays under this
#   BENCH_PG=1              0: no PostgreSQL runs (default 0 when QUICK=1)
#   BENCH_PG_BIN=/usr/lib/postgresql/15/bin
#   BENCH_PG_SETTINGS="..." server settings (-c name=value ...), printed in the summary
#   BENCH_PG_SCENARIOS="single batch100"
#   BENCH_PG_CONNECTIONS=50 connections of the PostgreSQL points (split over the nodes)
#   BENCH_PROPAGATION_ROUNDS=20    revocations measured under load (0: none)
#   BENCH_BASELINE_BINARY=  an older cc-inbound: adds the A/B points (401 and single event)
#   BENCH_AB_ROUNDS=3       A/B rounds (each: old and current, order alternating)
#   BENCH_AB_CONNECTIONS=50
#   BENCH_AB_ONLY=0         1: only the nginx ceiling and the A/B points
#   BENCH_MICRO=1           0: no micro-benchmarks
#   BENCH_START_TIMEOUT=120 seconds a server may take to answer /healthz after its start
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
    BENCH_SOAK_SECONDS=${BENCH_SOAK_SECONDS:-0}
    BENCH_PEER=${BENCH_PEER:-0}
    BENCH_PG=${BENCH_PG:-0}
else
    BENCH_DURATION=${BENCH_DURATION:-10}
    BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-"10 50 200 1000"}
    BENCH_SCALE=${BENCH_SCALE:-1}
    BENCH_SOAK_SECONDS=${BENCH_SOAK_SECONDS:-60}
    BENCH_PEER=${BENCH_PEER:-1}
    BENCH_PG=${BENCH_PG:-1}
fi
BENCH_SCENARIOS=${BENCH_SCENARIOS:-"single batch100 duplicate unknown_key"}
BENCH_LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
BENCH_NGINX=${BENCH_NGINX:-1}
BENCH_PROBE=${BENCH_PROBE:-1}
BENCH_PROBE_SECONDS=${BENCH_PROBE_SECONDS:-3}
BENCH_PEER_SCENARIOS=${BENCH_PEER_SCENARIOS:-"single unknown_key"}
BENCH_KEYS=${BENCH_KEYS:-10000}
BENCH_MANY_KEYS=${BENCH_MANY_KEYS:-1000000}
BENCH_MANY_DOMAINS=${BENCH_MANY_DOMAINS:-100000}
BENCH_PRELOAD_EVENTS=${BENCH_PRELOAD_EVENTS:-5000000}
BENCH_WAL_BOUND_MIB=${BENCH_WAL_BOUND_MIB:-256}
BENCH_PG_BIN=${BENCH_PG_BIN:-/usr/lib/postgresql/15/bin}
BENCH_PG_SETTINGS=${BENCH_PG_SETTINGS:-"-c shared_buffers=256MB -c max_connections=200 -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c wal_level=replica -c max_wal_size=2GB -c checkpoint_timeout=15min"}
BENCH_PG_SCENARIOS=${BENCH_PG_SCENARIOS:-"single batch100"}
BENCH_PG_CONNECTIONS=${BENCH_PG_CONNECTIONS:-50}
BENCH_PROPAGATION_ROUNDS=${BENCH_PROPAGATION_ROUNDS:-20}
BENCH_BASELINE_BINARY=${BENCH_BASELINE_BINARY:-}
BENCH_AB_ROUNDS=${BENCH_AB_ROUNDS:-3}
BENCH_AB_CONNECTIONS=${BENCH_AB_CONNECTIONS:-50}
BENCH_AB_ONLY=${BENCH_AB_ONLY:-0}
BENCH_MICRO=${BENCH_MICRO:-1}
BENCH_START_TIMEOUT=${BENCH_START_TIMEOUT:-120}
BENCH_WRK_THREADS=${BENCH_WRK_THREADS:-2}
BENCH_SERVER_THREADS=${BENCH_SERVER_THREADS:-}
BENCH_SYNCHRONOUS=${BENCH_SYNCHRONOUS:-full}
BENCH_SERVER_ENV=${BENCH_SERVER_ENV:-}
BENCH_OUT=${BENCH_OUT:-$ROOT/build-release/bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
if [[ -n ${CC_BINARY:-} ]]; then BENCH_BUILD=${BENCH_BUILD:-0}; else BENCH_BUILD=${BENCH_BUILD:-1}; fi
CC_BINARY=${CC_BINARY:-$ROOT/build-release/cc-inbound}
MICRO_BINARY=$ROOT/build-release/cc_micro_bench
PEER_DIR=$BENCH_DIR/peers/node
if [[ $BENCH_AB_ONLY == 1 ]]; then
    [[ -n $BENCH_BASELINE_BINARY ]] || { echo "BENCH_AB_ONLY=1 needs BENCH_BASELINE_BINARY" >&2; exit 2; }
    BENCH_CONNECTIONS=""; BENCH_SCALE=0; BENCH_SOAK_SECONDS=0; BENCH_PEER=0; BENCH_PG=0; BENCH_MICRO=0
fi

PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=$(command -v python3)
DOMAIN=bench.example.com
ADMIN_TOKEN=$(openssl rand -hex 32)
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
EXTRA_PIDS=""      # the second PostgreSQL-backed node
SAMPLER_PID=""     # the soak's WAL size sampler
PG_DATA=""         # the PostgreSQL cluster this script started
PG_ROOT=""
cleanup() {
    # Only what this script started, by pid.
    local p
    [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null
    for p in $SERVER_PID $EXTRA_PIDS; do
        if kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
    done
    if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
    [[ -n $PG_DATA ]] && pg_stop
    [[ -n $PG_ROOT ]] && rm -rf "$PG_ROOT"
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
if [[ $BENCH_PEER == 1 ]]; then
    command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed for the node peer (apt-get install -y nodejs npm), or set BENCH_PEER=0"
fi
if [[ $BENCH_PG == 1 ]]; then
    [[ -x $BENCH_PG_BIN/initdb && -x $BENCH_PG_BIN/pg_ctl && -x $BENCH_PG_BIN/psql ]] ||
        die "no PostgreSQL server in $BENCH_PG_BIN (apt-get install -y postgresql-15), or set BENCH_PG=0"
    if ((EUID == 0)); then id postgres >/dev/null 2>&1 || die "no postgres OS user to run PostgreSQL as (root cannot)"; fi
fi
if [[ -n $BENCH_BASELINE_BINARY ]]; then
    [[ -x $BENCH_BASELINE_BINARY ]] || die "BENCH_BASELINE_BINARY=$BENCH_BASELINE_BINARY is not an executable"
    BENCH_BASELINE_BINARY=$(cd "$(dirname "$BENCH_BASELINE_BINARY")" && pwd)/$(basename "$BENCH_BASELINE_BINARY")
fi

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

# The binary start_server runs: the A/B points switch it to the baseline and back.
RUN_BINARY=$CC_BINARY
LOG_SEQ=0
# launch_server DB -> LAUNCHED_PID, LAUNCHED_URL, LAUNCHED_LOG, STARTUP_S
#   DB: a SQLite file, or a postgresql:// URL (CC_DATABASE_URL). Each server writes its
#   own log; keep_log folds it into $BENCH_OUT/server.log without the access lines.
#   STARTUP_S: seconds from the exec to the first /healthz answer (the key registry is
#   loaded before the server listens).
launch_server() {
    local db=$1 port="" log t0
    LOG_SEQ=$((LOG_SEQ + 1))
    log=$WORK/server-$LOG_SEQ.log
    : >"$log"
    local -a env=(PATH=/usr/bin:/bin HOME="$WORK"
        CC_LISTEN=127.0.0.1:0 CC_ADMIN_TOKEN="$ADMIN_TOKEN"
        CC_LOG_LEVEL="$BENCH_LOG_LEVEL" CC_SQLITE_SYNCHRONOUS="$BENCH_SYNCHRONOUS" CC_MAX_CONNECTIONS=20000
        CC_RATE_LIMIT_PULSE=100000000:100000000 CC_RATE_LIMIT_SIGNAL=100000000:100000000
        CC_RATE_LIMIT_CLARITY=100000000:100000000 CC_RATE_LIMIT_COMMAND=100000000:100000000)
    if [[ $db == postgresql://* ]]; then env+=(CC_DATABASE_URL="$db"); else env+=(CC_DATABASE="$db"); fi
    [[ -n $BENCH_SERVER_THREADS ]] && env+=(CC_THREADS="$BENCH_SERVER_THREADS")
    # shellcheck disable=SC2206
    [[ -n $BENCH_SERVER_ENV ]] && env+=($BENCH_SERVER_ENV)
    t0=$(date +%s%N)
    if [[ ${POINT_BACKEND:-sqlite} == node ]]; then
        env -i PATH=/usr/bin:/bin HOME="$WORK" PORT=0 node "$PEER_DIR/server.js" serve "$db" >"$log" 2>&1 &
    else
        env -i "${env[@]}" "$RUN_BINARY" serve >"$log" 2>&1 &
    fi
    LAUNCHED_PID=$!
    LAUNCHED_LOG=$log
    LAUNCHED_URL=""
    local deadline=$((SECONDS + BENCH_START_TIMEOUT))
    while ((SECONDS < deadline)); do
        [[ -n $port ]] || port=$(listening_port "$log" 0)
        [[ -n $port ]] && LAUNCHED_URL=http://127.0.0.1:$port
        if [[ -n $LAUNCHED_URL ]] && curl -sf -o /dev/null "$LAUNCHED_URL/healthz" 2>/dev/null; then
            STARTUP_S=$("$PYTHON" -c "print(round(($(date +%s%N) - $t0) / 1e9, 3))")
            return 0
        fi
        if ! kill -0 "$LAUNCHED_PID" 2>/dev/null; then keep_log "$log"; die "cc-inbound exited at start (see $BENCH_OUT/server.log)"; fi
        sleep 0.02
    done
    keep_log "$log"
    die "the server did not answer /healthz within $BENCH_START_TIMEOUT s"
}

# The server's log without its access lines (one a request at info; counted, then dropped).
keep_log() {
    local n
    n=$(grep -c -F '"msg":"request"' "$1" || true)
    grep -v -F '"msg":"request"' "$1" >>"$BENCH_OUT/server.log" || true
    echo "[bench: $n access-log lines of this server dropped]" >>"$BENCH_OUT/server.log"
    rm -f "$1"
}

# start_server DB -> SERVER_PID, SERVER_URL, SERVER_LOG, STARTUP_S
start_server() {
    launch_server "$1"
    SERVER_PID=$LAUNCHED_PID SERVER_URL=$LAUNCHED_URL SERVER_LOG=$LAUNCHED_LOG
}

# stop_server -> SERVER_EXIT
stop_server() {
    kill -TERM "$SERVER_PID"
    SERVER_EXIT=0
    wait "$SERVER_PID" || SERVER_EXIT=$?
    SERVER_PID=""
    keep_log "$SERVER_LOG"
}

admin() {  # admin METHOD PATH [JSON]
    curl -s -X "$1" "$SERVER_URL$2" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
        ${3:+-d "$3"}
}

# create_key -> KEY, KEY_ID (the domain is created on the command plan: unlimited keys)
create_key() {
    admin PUT "/admin/domains/$DOMAIN" '{"plan":"command"}' >/dev/null
    local created
    created=$(admin POST /admin/keys "{\"domain\":\"$DOMAIN\",\"name\":\"bench\"}")
    KEY=$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["key"])' "$created") || die "cannot create a key: $created"
    KEY_ID=$("$PYTHON" -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$created")
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

# psql_at URL SQL: one value, as the superuser of the bench's own cluster.
psql_at() { "$BENCH_PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# count_events DB: the events a SQLite file or a postgresql:// database holds.
count_events() {
    if [[ $1 == postgresql://* ]]; then psql_at "$1" 'select count(*) from events'; else sqlite3 "$1" 'select count(*) from events'; fi
}

# A fresh database with the schema, the bench domain and no key yet.
fresh_db() {
    local db=$WORK/$1.db
    rm -f "$db" "$db-wal" "$db-shm"
    echo "$db"
}

# add_keys DB KEYS DOMAINS: valid keys stored straight into the migrated database
# (bench/make_keys.py: the service's key format and SHA-256), spread over DOMAINS domains;
# a few of them are written to $WORK/sample-keys.txt. -> ADD_KEYS_S (seconds taken)
add_keys() {
    ADD_KEYS_S=$("$PYTHON" "$BENCH_DIR/make_keys.py" "$1" "$2" "$3" "$WORK/sample-keys.txt") || die "make_keys.py failed"
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
    if [[ $db == postgresql://* ]]; then
        "$BENCH_PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" <<SQL
CREATE TEMP TABLE unanswered (id TEXT PRIMARY KEY);
\copy unanswered FROM '$file'
SELECT count(*) FROM events WHERE domain = '$DOMAIN' AND event_id IN (SELECT id FROM unanswered);
SQL
        return
    fi
    sqlite3 "$db" <<SQL
CREATE TEMP TABLE unanswered (id TEXT PRIMARY KEY);
.import --csv $file unanswered
SELECT count(*) FROM events WHERE domain = '$DOMAIN' AND event_id IN (SELECT id FROM unanswered);
SQL
}

# run_wrk SCRIPT CONNECTIONS URL KEY TRACK [URL2] -> WRK_JSON (the BENCH_RESULT object), WRK_LOG
#   With URL2 the connections are split over two wrk processes started at once, one per
#   URL (one thread each, as many threads in all as with one URL): counts and rates are
#   summed, the latency percentiles are the larger of the two.
#   The duration is $POINT_DURATION when set, else $BENCH_DURATION.
POINT=0
run_wrk() {
    local script=$1 conns=$2 url=$3 key=$4 track=$5 url2=${6:-}
    local threads=$BENCH_WRK_THREADS duration=${POINT_DURATION:-$BENCH_DURATION}
    ((threads > conns)) && threads=$conns
    POINT=$((POINT + 1))
    WRK_LOG=$BENCH_OUT/wrk-$(printf %03d $POINT)-$script-c$conns.log
    OUTSTANDING=$WORK/outstanding-$POINT.txt
    : >"$OUTSTANDING"
    local path=/__cc/inbound
    local timer=()
    [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f 'WRK_CPU %U %S %e')
    if [[ -z $url2 ]]; then
        env BENCH_DIR="$BENCH_DIR" BENCH_KEY="$key" BENCH_RUN="r$$p$POINT" BENCH_TRACK="$track" \
            BENCH_OUTSTANDING_FILE="$OUTSTANDING" \
            "${timer[@]}" wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 10s -s "$BENCH_DIR/$script.lua" \
            "$url$path" >"$WRK_LOG" 2>&1 || die "wrk failed (see $WRK_LOG)"
        WRK_JSON=$(sed -n 's/^BENCH_RESULT //p' "$WRK_LOG")
        [[ -n $WRK_JSON ]] || die "no BENCH_RESULT in $WRK_LOG"
        # The load generator's own CPU, in % of one core over its run.
        local cpu
        cpu=$(awk '/^WRK_CPU/{ if ($4 > 0) printf "%.1f", ($2 + $3) / $4 * 100 }' "$WRK_LOG")
        WRK_JSON="${WRK_JSON%\}},\"client_cpu_pct\":${cpu:-null}}"
        return
    fi
    local half=$((conns / 2)) pid_a pid_b rc=0
    env BENCH_DIR="$BENCH_DIR" BENCH_KEY="$key" BENCH_RUN="r$$p${POINT}a" BENCH_TRACK="$track" \
        BENCH_OUTSTANDING_FILE="$OUTSTANDING.a" \
        "${timer[@]}" wrk -t1 -c"$half" -d"${duration}s" --timeout 10s -s "$BENCH_DIR/$script.lua" \
        "$url$path" >"$WRK_LOG.a" 2>&1 &
    pid_a=$!
    env BENCH_DIR="$BENCH_DIR" BENCH_KEY="$key" BENCH_RUN="r$$p${POINT}b" BENCH_TRACK="$track" \
        BENCH_OUTSTANDING_FILE="$OUTSTANDING.b" \
        "${timer[@]}" wrk -t1 -c"$((conns - half))" -d"${duration}s" --timeout 10s -s "$BENCH_DIR/$script.lua" \
        "$url2$path" >"$WRK_LOG.b" 2>&1 &
    pid_b=$!
    wait "$pid_a" || rc=1
    wait "$pid_b" || rc=1
    cat "$WRK_LOG.a" "$WRK_LOG.b" >"$WRK_LOG"; rm -f "$WRK_LOG.a" "$WRK_LOG.b"
    ((rc == 0)) || die "wrk failed (see $WRK_LOG)"
    cat "$OUTSTANDING.a" "$OUTSTANDING.b" >"$OUTSTANDING" 2>/dev/null || true
    WRK_JSON=$("$PYTHON" - "$WRK_LOG" <<'PY'
import json, sys
runs, cpu = [], 0.0
for line in open(sys.argv[1]):
    if line.startswith("BENCH_RESULT "):
        runs.append(json.loads(line[len("BENCH_RESULT "):]))
    elif line.startswith("WRK_CPU"):
        u, s_, e = (float(x) for x in line.split()[1:4])
        cpu += (u + s_) / e * 100 if e > 0 else 0
if len(runs) != 2:
    sys.exit("expected two BENCH_RESULT lines")
r = dict(runs[0])
for k, v in runs[1].items():
    if k in ("duration_s",):
        r[k] = max(r[k], v)
    elif k.endswith("_ms"):
        r[k] = max(r[k], v)
    elif isinstance(v, (int, float)) and k != "scenario":
        r[k] = r[k] + v
r["latency_mean_ms"] = round(sum(x["latency_mean_ms"] * x["requests"] for x in runs) / max(1, r["requests"]), 3)
r["wrk_processes"] = 2
r["client_cpu_pct"] = round(cpu, 1)
print(json.dumps(r))
PY
) || die "cannot merge the two wrk results (see $WRK_LOG)"
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
r["events_per_s"] = round(r.get("accepted", 0) / secs, 1) if target != "nginx" else None
r["answers_2xx_per_s"] = round(r["c2xx"] / secs, 1)
# Server CPU time per answer: utime + stime of the server's processes over the point.
r["cpu_us_per_req"] = round(r["cpu_pct"] / 100 * 1e6 / r["req_per_s"], 1) if r.get("req_per_s") else None
print(json.dumps(r))
PY
)
    echo "$line" >>"$RESULTS"
    "$PYTHON" -c '
import json, sys
r = json.loads(sys.argv[1])
ev = r.get("events_per_s")
hon = r.get("honest")
print("  %-10s %-12s %-8s c=%-5d %9.0f req/s %10s ev/s  p50 %7.2f  p90 %7.2f  p99 %7.2f ms  cpu %4.0f%% %6.1f us/req  others %4.0f%%  hwm %6.1f MiB%s" % (
    r["target"], r["scenario"], r.get("variant", ""), r["connections"], r["req_per_s"],
    "-" if ev is None else "%.0f" % ev, r["p50_ms"], r["p90_ms"], r["p99_ms"], r["cpu_pct"], r.get("cpu_us_per_req") or 0,
    r.get("others_cpu_pct", 0), r["peak_rss_mib"],
    "" if hon is None else ("  honest" if hon else "  HONESTY FAILED: " + r.get("honesty_note", ""))), file=sys.stderr)
if r.get("commits"):
    print("  %47s writer: %d commits (%.0f/s), %.1f events/commit, %.2f ms commit to durable, in flight %.0f%% (over 100%%: commits overlap their syncs)" % (
        "", r["commits"], r["commits_per_s"], r["events_per_commit"], r["commit_ms_mean"], r["writer_busy_pct"]), file=sys.stderr)
' "$line"
}

# ------------------------------------------------------------------ one cc-inbound point
# cc_point SCENARIO CONNS VARIANT [DB_MODE]
#   DB_MODE: fresh (default: new database, domain and key), keys (fresh + $BENCH_KEYS keys),
#            manykeys (fresh + $BENCH_MANY_KEYS keys over $BENCH_MANY_DOMAINS domains),
#            reuse (keep $CURRENT_DB and $KEY as they are)
#   Globals read: POINT_TARGET (the result's target name, default cc-inbound),
#   POINT_BACKEND (sqlite or postgres), POINT_NODES (1 or 2: two nodes on one PostgreSQL
#   database, wrk split over both), POINT_DURATION, SAMPLE_WAL=1 (largest WAL file seen,
#   sampled every 0.5 s), POINT_PROPAGATION=1 (two nodes: the revocation probe runs
#   during the load), RUN_BINARY.
cc_point() {
    local scenario=$1 conns=$2 variant=$3 mode=${4:-fresh}
    local target=${POINT_TARGET:-cc-inbound} backend=${POINT_BACKEND:-sqlite} nodes=${POINT_NODES:-1}
    local sample_ok=null sample_total=0 add_keys_s=null
    if [[ $mode != reuse ]]; then
        if [[ $backend == postgres ]]; then
            CURRENT_DB=$(pg_fresh_db "point$((POINT + 1))")
        elif [[ $backend == node ]]; then
            CURRENT_DB=$(fresh_db "peer-$((POINT + 1))")
        else
            CURRENT_DB=$(fresh_db "point-$((POINT + 1))")
        fi
        if [[ $mode == keys || $mode == manykeys ]]; then
            env -i PATH=/usr/bin:/bin HOME="$WORK" CC_DATABASE="$CURRENT_DB" "$RUN_BINARY" migrate >>"$BENCH_OUT/server.log" 2>&1 ||
                { start_server "$CURRENT_DB"; stop_server; }  # applies the migrations
            if [[ $mode == keys ]]; then add_keys "$CURRENT_DB" $((BENCH_KEYS - 1)) $(((BENCH_KEYS + 9) / 10))
            else add_keys "$CURRENT_DB" $((BENCH_MANY_KEYS - 1)) "$BENCH_MANY_DOMAINS"; fi
            add_keys_s=$ADD_KEYS_S
        fi
        if [[ $backend == node ]]; then peer_init "$CURRENT_DB"; else start_server "$CURRENT_DB"; create_key; fi
        if [[ $mode == keys || $mode == manykeys ]]; then
            # The preloaded keys are real keys: a few of them must be accepted (stored
            # before the point's count, so honesty is not affected).
            sample_ok=0
            local k
            while read -r k; do
                sample_total=$((sample_total + 1))
                [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "$SERVER_URL/__cc/inbound" -H "X-CC-Api-Key: $k" \
                    -H 'Content-Type: application/json' -d "{\"event\":\"purchase\",\"event_id\":\"sample-$sample_total\",\"email\":\"sample@example.com\"}") == 202 ]] &&
                    sample_ok=$((sample_ok + 1))
            done <"$WORK/sample-keys.txt"
            ((sample_ok == sample_total)) || log "only $sample_ok of $sample_total preloaded keys were accepted"
        fi
        [[ $backend == node ]] || stop_server
    fi
    local before after ticks0 ticks1 t0 t1 key=$KEY track=1 keys_loaded
    [[ $scenario == unknown_key ]] && key=$FORGED_KEY && track=0
    [[ $scenario == duplicate ]] && track=0
    before=$(count_events "$CURRENT_DB")
    if [[ $backend == postgres ]]; then keys_loaded=$(psql_at "$CURRENT_DB" 'select count(*) from api_keys')
    else keys_loaded=$(sqlite3 "$CURRENT_DB" 'select count(*) from api_keys'); fi
    start_server "$CURRENT_DB"
    local startup_s=$STARTUP_S url2="" pids=$SERVER_PID
    if ((nodes == 2)); then
        launch_server "$CURRENT_DB"
        EXTRA_PIDS=$LAUNCHED_PID url2=$LAUNCHED_URL
        local extra_log=$LAUNCHED_LOG
        pids="$SERVER_PID $EXTRA_PIDS"
    fi
    local m0 m1 wal_bytes db_ticks0=0 db_ticks1=0 prop_pid=""
    if [[ ${SAMPLE_WAL:-0} == 1 ]]; then
        echo 0 >"$WORK/wal-max"
        (max=0; while :; do s=$(stat -c %s "$CURRENT_DB-wal" 2>/dev/null || echo 0); ((s > max)) && max=$s && echo $max >"$WORK/wal-max"; sleep 0.5; done) &
        SAMPLER_PID=$!
    fi
    # shellcheck disable=SC2086
    ticks0=$(cpu_ticks $pids); t0=$(date +%s.%N); m0=$(machine_busy)
    [[ $backend == postgres ]] && db_ticks0=$(pg_ticks)
    local load
    load=$(loadavg)
    if [[ ${POINT_PROPAGATION:-0} == 1 && -n $url2 ]]; then
        (sleep 1; exec "$PYTHON" "$BENCH_DIR/revocation_probe.py" "$SERVER_URL" "$url2" "$ADMIN_TOKEN" "$DOMAIN" \
            "$BENCH_PROPAGATION_ROUNDS" >"$WORK/propagation.json" 2>"$WORK/propagation.err") &
        prop_pid=$!
    fi
    run_wrk "$scenario" "$conns" "$SERVER_URL" "$key" "$track" "$url2"
    # shellcheck disable=SC2086
    t1=$(date +%s.%N); ticks1=$(cpu_ticks $pids); m1=$(machine_busy)
    [[ $backend == postgres ]] && db_ticks1=$(pg_ticks)
    local prop_json=null prop_under_load=null
    if [[ -n $prop_pid ]]; then
        # Still running after wrk stopped: the rest of its rounds ran without load.
        if kill -0 "$prop_pid" 2>/dev/null; then prop_under_load=false; else prop_under_load=true; fi
        wait "$prop_pid" || log "revocation_probe.py failed: $(head -c 500 "$WORK/propagation.err")"
        prop_json=$(cat "$WORK/propagation.json" 2>/dev/null)
        [[ -n $prop_json ]] || prop_json=null
    fi
    local wal_max=0
    if [[ -n $SAMPLER_PID ]]; then
        kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true
        SAMPLER_PID=""
        wal_max=$(cat "$WORK/wal-max")
    fi
    local hwm rss
    # shellcheck disable=SC2086
    hwm=$(hwm_kb $pids); rss=$(rss_kb $pids)
    wal_bytes=$(stat -c %s "$CURRENT_DB-wal" 2>/dev/null || echo 0)
    ((wal_bytes > wal_max)) && wal_max=$wal_bytes
    curl -s "$SERVER_URL/metrics" >"$WORK/metrics.txt" || : >"$WORK/metrics.txt"
    local extra_exit=0
    if [[ -n $url2 ]]; then
        curl -s "$url2/metrics" >>"$WORK/metrics.txt" || true
        kill -TERM "$EXTRA_PIDS"; wait "$EXTRA_PIDS" || extra_exit=$?
        EXTRA_PIDS=""
        keep_log "$extra_log"
    fi
    stop_server
    ((extra_exit == 0)) || SERVER_EXIT=$extra_exit
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
# The writer's own account (GET /metrics of every node, cumulative since it started).
m = {}
for line in open("$WORK/metrics.txt"):
    if line.startswith(("cc_commit_batch_size_events_sum", "cc_commit_batch_size_events_count",
                        "cc_commit_duration_seconds_sum", "cc_commit_duration_seconds_count")):
        name, value = line.split()[0], line.split()[-1]
        m[name.split("{")[0]] = m.get(name.split("{")[0], 0.0) + float(value)
commits = int(m.get("cc_commit_duration_seconds_count", 0))
commit_s = m.get("cc_commit_duration_seconds_sum", 0.0)
writer = {
    "commits": commits,
    "commits_per_s": round(commits / secs, 1),
    "events_per_commit": round(m.get("cc_commit_batch_size_events_sum", 0) / commits, 1) if commits else None,
    "commit_ms_mean": round(commit_s / commits * 1000, 3) if commits else None,
    "writer_busy_pct": round(commit_s / secs * 100 / $nodes, 1),
}
req = wrk["req_per_s"]
db_cpu = ($db_ticks1 - $db_ticks0) / $CLK_TCK / secs * 100
print(json.dumps({**writer,
    "variant": "$variant",
    "backend": "$backend",
    "nodes": $nodes,
    "binary": "$RUN_BINARY",
    "keys_loaded": $keys_loaded,
    "add_keys_s": json.loads('''$add_keys_s'''),
    "sample_keys_accepted": json.loads('''$sample_ok'''),
    "sample_keys": $sample_total,
    "startup_s": $startup_s,
    "events_before": $before,
    "stored_delta": delta,
    "unanswered_stored": inflight_stored,
    "honest": honest and $SERVER_EXIT == 0,
    "honesty_note": note + ("" if $SERVER_EXIT == 0 else "; server exit %d" % $SERVER_EXIT),
    "server_exit": $SERVER_EXIT,
    "cpu_pct": round(($ticks1 - $ticks0) / $CLK_TCK / secs * 100, 1),
    "db_cpu_pct": round(db_cpu, 1) if "$backend" == "postgres" else None,
    "db_cpu_us_per_req": round(db_cpu / 100 * 1e6 / req, 1) if "$backend" == "postgres" and req else None,
    "machine_busy_pct": round(($m1 - $m0) / $CLK_TCK / secs * 100, 1),
    "others_cpu_pct": round(max(0.0, ($m1 - $m0 - ($ticks1 - $ticks0) - ($db_ticks1 - $db_ticks0)) / $CLK_TCK / secs * 100 - (wrk.get("client_cpu_pct") or 0)), 1),
    "peak_rss_mib": round($hwm / 1024, 1),
    "end_rss_mib": round($rss / 1024, 1),
    "wal_mib_at_end": round($wal_bytes / 1048576, 1),
    "wal_max_mib": round($wal_max / 1048576, 1),
    "propagation": json.loads('''$prop_json'''),
    "propagation_under_load": json.loads('''$prop_under_load'''),
    "loadavg_before": $load,
}).replace("NaN", "null"))
PY
)
    record "$target" "$scenario" "$conns" "$extra"
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

# ------------------------------------------------------------------ the node peer
# bench/peers/node, installed from its lockfile when missing (better-sqlite3 is built from
# source against the system's node headers when no prebuilt binary can be fetched).
peer_install() {
    [[ -f $PEER_DIR/node_modules/better-sqlite3/build/Release/better_sqlite3.node && -d $PEER_DIR/node_modules/fastify ]] && return 0
    log "installing the node peer: npm ci in bench/peers/node (a few minutes: better-sqlite3 is compiled)"
    local -a nodedir=()
    [[ -f /usr/include/node/node.h ]] && nodedir=(npm_config_nodedir=/usr)
    (cd "$PEER_DIR" && env "${nodedir[@]}" npm ci --no-audit --no-fund) >"$BENCH_OUT/peer-install.log" 2>&1 ||
        { tail -20 "$BENCH_OUT/peer-install.log"; die "npm ci in bench/peers/node failed (see $BENCH_OUT/peer-install.log)"; }
}

# peer_init DB -> KEY: the peer's schema and one key in its key table.
peer_init() {
    KEY=$("$PYTHON" -c '
import secrets, zlib
B = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
r = "".join(secrets.choice(B) for _ in range(32))
n = zlib.crc32(r.encode()); d = ""
while n:
    n, m = divmod(n, 62); d = B[m] + d
print("cc_" + r + d.rjust(6, "0"))')
    KEY_ID=key_0
    PEER_DOMAIN=$DOMAIN node "$PEER_DIR/server.js" init "$1" "$KEY" >>"$BENCH_OUT/server.log" 2>&1 || die "the node peer's init failed"
}

# ------------------------------------------------------------------ PostgreSQL
as_postgres() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }

# pg_start -> PG_ROOT, PG_DATA, PG_PORT, PG_BASE_URL; records the server's settings.
pg_start() {
    PG_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/cc-bench-pg.XXXXXX")
    chmod 755 "$PG_ROOT"
    ((EUID == 0)) && chown postgres:postgres "$PG_ROOT"
    PG_PORT=$(free_port)
    as_postgres "$BENCH_PG_BIN/initdb" -D "$PG_ROOT/data" -U postgres --auth=trust -E UTF8 --locale=C \
        >"$BENCH_OUT/postgres-initdb.log" 2>&1 || die "initdb failed (see $BENCH_OUT/postgres-initdb.log)"
    PG_DATA=$PG_ROOT/data
    as_postgres "$BENCH_PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_ROOT/server.log" -w -t 60 \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_ROOT $BENCH_PG_SETTINGS" start >/dev/null 2>&1 ||
        { cp "$PG_ROOT/server.log" "$BENCH_OUT/postgres.log" 2>/dev/null; die "PostgreSQL did not start (see $BENCH_OUT/postgres.log)"; }
    PG_BASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT
    local settings
    settings=$(psql_at "$PG_BASE_URL/postgres" "select json_object_agg(name, current_setting(name)) from pg_settings where name in
        ('server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'full_page_writes', 'wal_level', 'wal_sync_method',
         'wal_buffers', 'max_wal_size', 'min_wal_size', 'checkpoint_timeout', 'commit_delay', 'wal_compression', 'max_connections')")
    echo "{\"target\":\"postgres\",\"port\":$PG_PORT,\"options\":\"$BENCH_PG_SETTINGS\",\"settings\":$settings}" >>"$RESULTS"
    log "PostgreSQL on 127.0.0.1:$PG_PORT ($PG_ROOT): $settings"
}

pg_stop() {
    as_postgres "$BENCH_PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    cp "$PG_ROOT/server.log" "$BENCH_OUT/postgres.log" 2>/dev/null || true
    PG_DATA=""
}

# pg_fresh_db NAME -> the URL of a new empty database
pg_fresh_db() {
    psql_at "$PG_BASE_URL/postgres" "CREATE DATABASE $1" >/dev/null || die "cannot create database $1"
    echo "$PG_BASE_URL/$1"
}

# CPU ticks of the postmaster and its processes (backends, WAL writer, checkpointer).
pg_ticks() {
    local pm
    pm=$(head -1 "$PG_DATA/postmaster.pid" 2>/dev/null) || { echo 0; return; }
    # shellcheck disable=SC2046
    cpu_ticks "$pm" $(ps -o pid= --ppid "$pm")
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
[[ $BENCH_PEER == 1 ]] && peer_install
[[ $BENCH_NGINX == 1 ]] && start_nginx
# The log level and the thread count are part of the run's description.
echo "{\"target\":\"settings\",\"log_level\":\"$BENCH_LOG_LEVEL\",\"peer\":$BENCH_PEER,\"pg\":$BENCH_PG,\"soak_s\":$BENCH_SOAK_SECONDS,\"baseline\":\"$BENCH_BASELINE_BINARY\",\"wal_bound_mib\":$BENCH_WAL_BOUND_MIB}" >>"$RESULTS"

# Interleaved: at each connection count, the SQLite probe, nginx, then every cc-inbound
# scenario and the node peer's, then nginx again; so the ceilings see the same machine
# weather as the service.
for conns in $BENCH_CONNECTIONS; do
    log "--- $conns connections"
    [[ $BENCH_PROBE == 1 ]] && probe "c$conns"
    [[ $BENCH_NGINX == 1 ]] && nginx_point "$conns" before
    for scenario in $BENCH_SCENARIOS; do
        cc_point "$scenario" "$conns" matrix
    done
    if [[ $BENCH_PEER == 1 ]]; then
        for scenario in $BENCH_PEER_SCENARIOS; do
            POINT_BACKEND=node POINT_TARGET=node-peer cc_point "$scenario" "$conns" matrix
        done
    fi
    [[ $BENCH_NGINX == 1 ]] && nginx_point "$conns" after
done

if [[ $BENCH_SCALE == 1 ]]; then
    log "--- keys: $BENCH_KEYS keys loaded"
    [[ $BENCH_NGINX == 1 ]] && nginx_point 50 before-keys
    cc_point single 50 "keys-$BENCH_KEYS" keys
    cc_point unknown_key 50 "keys-$BENCH_KEYS" reuse
    cc_point single 1000 "keys-$BENCH_KEYS" keys

    if ((BENCH_MANY_KEYS > 0)); then
        log "--- keys: $BENCH_MANY_KEYS keys over $BENCH_MANY_DOMAINS domains"
        cc_point single 50 "manykeys-$BENCH_MANY_KEYS" manykeys
        cc_point unknown_key 50 "manykeys-$BENCH_MANY_KEYS" reuse
        # The 10,000-key figures again, so the comparison is not across a long stretch.
        cc_point single 50 "keys-$BENCH_KEYS-again" keys
        cc_point unknown_key 50 "keys-$BENCH_KEYS-again" reuse
    fi

    if ((BENCH_PRELOAD_EVENTS > 0)); then
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
        rm -f "$PRELOAD_DB"*
    fi
    [[ $BENCH_NGINX == 1 ]] && nginx_point 50 after-scale
fi

if ((BENCH_SOAK_SECONDS > 0)); then
    log "--- soak: single events for $BENCH_SOAK_SECONDS s at 50 connections, WAL sampled"
    SAMPLE_WAL=1 POINT_DURATION=$BENCH_SOAK_SECONDS cc_point single 50 soak
fi

if [[ $BENCH_PG == 1 ]]; then
    log "--- PostgreSQL: one node and two nodes on one database, $BENCH_PG_CONNECTIONS connections"
    pg_start
    pc=$BENCH_PG_CONNECTIONS
    [[ $BENCH_NGINX == 1 ]] && nginx_point "$pc" before-pg
    # The SQLite node's single-event rate in the same stretch: the ratio's denominator.
    cc_point single "$pc" pg-ref-sqlite-1
    for scenario in $BENCH_PG_SCENARIOS; do
        POINT_BACKEND=postgres POINT_TARGET=cc-inbound-pg cc_point "$scenario" "$pc" pg-1node
        POINT_BACKEND=postgres POINT_TARGET=cc-inbound-pg POINT_NODES=2 cc_point "$scenario" "$pc" pg-2nodes
    done
    if ((BENCH_PROPAGATION_ROUNDS > 0)); then
        # Long enough for every round to run under load (a round takes ~0.2-0.5 s).
        prop_s=$(((BENCH_PROPAGATION_ROUNDS + 1) / 2 + 5))
        ((prop_s < BENCH_DURATION)) && prop_s=$BENCH_DURATION
        log "revocation propagation: $BENCH_PROPAGATION_ROUNDS revocations on node A, node B polled, under single-event load on both (${prop_s} s)"
        POINT_BACKEND=postgres POINT_TARGET=cc-inbound-pg POINT_NODES=2 POINT_PROPAGATION=1 POINT_DURATION=$prop_s \
            cc_point single "$pc" pg-2nodes-propagation
    fi
    cc_point single "$pc" pg-ref-sqlite-2
    [[ $BENCH_NGINX == 1 ]] && nginx_point "$pc" after-pg
    pg_stop
fi

if [[ -n $BENCH_BASELINE_BINARY ]]; then
    ac=$BENCH_AB_CONNECTIONS
    log "--- A/B: $BENCH_BASELINE_BINARY (before) against $CC_BINARY (after), $BENCH_AB_ROUNDS rounds, $ac connections"
    [[ $BENCH_NGINX == 1 ]] && nginx_point "$ac" before-ab
    for round in $(seq 1 "$BENCH_AB_ROUNDS"); do
        # The order alternates (before, after; after, before; ...) so neither side always
        # runs first into whatever the machine is doing.
        if ((round % 2 == 1)); then order="before after"; else order="after before"; fi
        for side in $order; do
            if [[ $side == before ]]; then RUN_BINARY=$BENCH_BASELINE_BINARY; else RUN_BINARY=$CC_BINARY; fi
            cc_point unknown_key "$ac" "ab-$side-$round"
            cc_point single "$ac" "ab-$side-$round"
        done
    done
    RUN_BINARY=$CC_BINARY
    [[ $BENCH_NGINX == 1 ]] && nginx_point "$ac" after-ab
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
"$PYTHON" "$BENCH_DIR/summary.py" "$RESULTS" "$BENCH_OUT" >"$BENCH_OUT/summary.md" || die "summary.py failed"

cat "$BENCH_OUT/summary.md"
log "done in $(($(date +%s) - STARTED_AT)) s; results in $BENCH_OUT"
if ((HONESTY_FAILURES > 0)); then
    log "HONESTY CHECK FAILED in $HONESTY_FAILURES point(s)"
    exit 1
fi
