/*
 * The durable insert ceiling of this machine's SQLite, for bench/run.sh.
 *
 * Inserts rows shaped like cc-inbound's events (same table, indexes and INSERT ... ON
 * CONFLICT statement as migrations/0001_initial.sql and sqlite_storage.cpp) into a fresh
 * database in WAL mode at the service's synchronous level, committing 1, 100 or 1000 rows
 * per transaction, each for a few seconds, and prints one JSON line per size:
 *   PROBE_RESULT {"rows_per_tx":100,"rows":...,"tx":...,"seconds":...,"rows_per_s":...,"tx_per_s":...}
 * Nothing else runs in the probe: no HTTP, no JSON, no validation; it is what SQLite
 * and the disk's fsync give, the most a single writer can store durably here.
 *
 * Build: cc -O2 -o sqlite_probe bench/sqlite_probe.c -lsqlite3
 * Usage: sqlite_probe DB_PATH [SECONDS_PER_SIZE=3] [SYNCHRONOUS=full] [SIZES=1,100,1000]
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *schema =
    "CREATE TABLE events ("
    " seq INTEGER PRIMARY KEY, domain TEXT NOT NULL, event_id TEXT NOT NULL, key_id TEXT NOT NULL,"
    " name TEXT NOT NULL, email TEXT, email_sha256 TEXT, phone TEXT, phone_sha256 TEXT,"
    " external_id TEXT, click_id TEXT, value TEXT, currency TEXT, occurred_at INTEGER NOT NULL,"
    " received_at INTEGER NOT NULL, properties TEXT, raw TEXT NOT NULL, UNIQUE (domain, event_id));"
    "CREATE INDEX events_by_domain ON events (domain, seq);"
    "CREATE INDEX events_by_received_at ON events (received_at);";

static const char *insert_sql =
    "INSERT INTO events (domain, event_id, key_id, name, email, email_sha256, phone, "
    "phone_sha256, external_id, click_id, value, currency, occurred_at, received_at, "
    "properties, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT (domain, event_id) DO NOTHING";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(sqlite3 *db, int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite_probe: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite_probe: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

/* A cheap PRNG: ids spread over the index the way client-chosen ids do. */
static unsigned long long rng_state = 0x9E3779B97F4A7C15ULL;
static unsigned long long next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static long long counter = 0;

static int compare_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of n sorted values. */
static double quantile(const double *sorted, long long n, double q) {
    if (n == 0) return 0;
    long long i = (long long)(q * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static void insert_row(sqlite3 *db, sqlite3_stmt *st) {
    char event_id[64], email[64], sha[65], raw[512];
    long long n = ++counter;
    unsigned long long r = next_random();
    snprintf(event_id, sizeof event_id, "%016llx-probe-%lld", r, n);
    snprintf(email, sizeof email, "customer%lld@example.com", n);
    for (int i = 0; i < 64; ++i) sha[i] = "0123456789abcdef"[((r >> ((i * 4) % 64)) & 15) ^ (unsigned)(i & 15)];
    sha[64] = 0;
    snprintf(raw, sizeof raw,
             "{\"event\":\"purchase\",\"event_id\":\"%s\",\"email\":\"%s\",\"value\":49.90,"
             "\"currency\":\"USD\",\"properties\":{\"plan\":\"pro\",\"source\":\"bench\"}}",
             event_id, email);
    const long long ms = (long long)time(NULL) * 1000;
    sqlite3_bind_text(st, 1, "bench.example.com", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, event_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, "key_0123456789abcdefghij", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, "purchase", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, email, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, sha, -1, SQLITE_TRANSIENT);
    sqlite3_bind_null(st, 7);
    sqlite3_bind_null(st, 8);
    sqlite3_bind_null(st, 9);
    sqlite3_bind_null(st, 10);
    sqlite3_bind_text(st, 11, "49.90", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 12, "USD", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 13, ms);
    sqlite3_bind_int64(st, 14, ms);
    sqlite3_bind_text(st, 15, "{\"plan\":\"pro\",\"source\":\"bench\"}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 16, raw, -1, SQLITE_TRANSIENT);
    check(db, sqlite3_step(st), "insert");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DB_PATH [SECONDS_PER_SIZE] [SYNCHRONOUS] [SIZES]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    const double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    const char *sync = argc > 3 ? argv[3] : "full";
    char sizes_text[256];
    snprintf(sizes_text, sizeof sizes_text, "%s", argc > 4 ? argv[4] : "1,100,1000");

    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "sqlite_probe: cannot open %s\n", path);
        return 1;
    }
    /* The service's connection settings (database.cpp). */
    exec(db, "PRAGMA journal_mode = WAL");
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous = %s", sync);
    exec(db, pragma);
    exec(db, schema);
    sqlite3_stmt *st = NULL;
    check(db, sqlite3_prepare_v3(db, insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL), "prepare");

    for (char *tok = strtok(sizes_text, ","); tok; tok = strtok(NULL, ",")) {
        const int per_tx = atoi(tok);
        if (per_tx <= 0) continue;
        long long rows = 0, txs = 0, cap = 1 << 20;
        double *tx_ms = malloc(sizeof(double) * (size_t)cap);
        double commit_total = 0;
        const double start = now_s();
        double t = start;
        while (t - start < seconds) {
            const double t0 = now_s();
            exec(db, "BEGIN IMMEDIATE");
            for (int i = 0; i < per_tx; ++i) insert_row(db, st);
            const double c0 = now_s();
            exec(db, "COMMIT");
            t = now_s();
            commit_total += t - c0;
            if (txs < cap) tx_ms[txs] = (t - t0) * 1000;
            rows += per_tx;
            ++txs;
        }
        const double elapsed = t - start;
        const long long n = txs < cap ? txs : cap;
        qsort(tx_ms, (size_t)n, sizeof(double), compare_double);
        /* Transaction latency (inserts + COMMIT, fsync included) and the COMMIT's share. */
        printf("PROBE_RESULT {\"rows_per_tx\":%d,\"rows\":%lld,\"tx\":%lld,\"seconds\":%.3f,"
               "\"rows_per_s\":%.1f,\"tx_per_s\":%.1f,\"tx_ms_p50\":%.3f,\"tx_ms_p90\":%.3f,"
               "\"tx_ms_p99\":%.3f,\"tx_ms_max\":%.3f,\"commit_ms_mean\":%.3f,"
               "\"synchronous\":\"%s\",\"sqlite\":\"%s\"}\n",
               per_tx, rows, txs, elapsed, rows / elapsed, txs / elapsed, quantile(tx_ms, n, 0.50),
               quantile(tx_ms, n, 0.90), quantile(tx_ms, n, 0.99), n ? tx_ms[n - 1] : 0.0,
               txs ? commit_total / (double)txs * 1000 : 0.0, sync, sqlite3_libversion());
        free(tx_ms);
        fflush(stdout);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 0;
}
