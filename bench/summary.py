#!/usr/bin/env python3
"""The summary of a bench/run.sh run: summary.py RESULTS.jsonl OUT_DIR > summary.md.

Tables of every point, the node peer beside cc-inbound and nginx, PostgreSQL (settings,
propagation), the large key registry, the A/B table, and the target table (met / not met)
of the floors of docs/PERFORMANCE.md.
"""

import json, os, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out_dir = sys.argv[2]
machine = next(r for r in rows if r["target"] == "machine")
end = next(r for r in rows if r["target"] == "end")
settings = next((r for r in rows if r["target"] == "settings"), {})
probe = {}
for r in rows:
    if r["target"] == "sqlite-probe":
        probe.setdefault(r["rows_per_tx"], []).append(r["rows_per_s"])
ceiling_sql = {k: statistics.mean(v) for k, v in probe.items()}
nginx_rows = [r for r in rows if r["target"] == "nginx"]
nginx, nginx_cpu = {}, {}
for r in nginx_rows:
    if r.get("variant") in ("before", "after"):
        nginx.setdefault(r["connections"], []).append(r["req_per_s"])
    if r.get("cpu_us_per_req"):
        nginx_cpu.setdefault(r["connections"], []).append(r["cpu_us_per_req"])
ceiling_http = {k: statistics.mean(v) for k, v in nginx.items()}
# Where the matrix ran no nginx point at a count, the other nginx points at that count.
for r in nginx_rows:
    ceiling_http.setdefault(r["connections"], statistics.mean(x["req_per_s"] for x in nginx_rows if x["connections"] == r["connections"]))
nginx_cpu_us = {k: statistics.mean(v) for k, v in nginx_cpu.items()}
points = [r for r in rows if r["target"] in ("cc-inbound", "node-peer", "cc-inbound-pg")]
cc = [r for r in points if r["target"] == "cc-inbound"]

def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"

def mean_of(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.mean(vals) if vals else None

def pick(target, scenario, conns, variants):
    return [r for r in points if r["target"] == target and r["scenario"] == scenario and r["connections"] == conns
            and r["variant"] in variants]

print("# cc-inbound benchmark summary\n")
print("Machine: %d cores, %s, %.1f GiB RAM, kernel %s; wrk %s, nginx %s, SQLite %s." % (
    machine["nproc"], machine["cpu"], machine["mem_total_kib"] / 1048576, machine["kernel"], machine["wrk"],
    machine["nginx"], machine["sqlite"]))
print("Run: %s s per point, wrk threads %s, server threads %s, synchronous=%s, CC_LOG_LEVEL=%s; "
      "load average at start %s, at end %s; %d s in all.\n" % (
    machine["duration_s"], machine["wrk_threads"], machine["server_threads"], machine["synchronous"],
    settings.get("log_level", "?"), machine["loadavg_start"].split()[0], end["loadavg_end"].split()[0], end["seconds"]))

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
if nginx_rows:
    print("## nginx constant-202 ceiling (same request, same wrk script)\n")
    print("| variant | connections | req/s | p99 ms | nginx CPU | CPU µs/req | wrk CPU | others' CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in nginx_rows:
        print("| %s | %d | %.0f | %.2f | %.0f%% | %.1f | %.0f%% | %.0f%% |" % (r["variant"], r["connections"], r["req_per_s"],
              r["p99_ms"], r["cpu_pct"], r.get("cpu_us_per_req") or 0, r.get("client_cpu_pct") or 0, r.get("others_cpu_pct", 0)))
    print()
    print("Ceiling per connection count (mean of the matrix's before/after points): " +
          ", ".join("c=%d %.0f req/s, %.1f µs CPU/req" % (k, ceiling_http[k], nginx_cpu_us.get(k, 0)) for k in sorted(ceiling_http)))
    print()

print("## Points\n")
print("Servers: `cc-inbound` (SQLite), `cc-inbound-pg` (PostgreSQL; nodes = 2: two nodes, wrk split over both, "
      "figures summed, percentiles the larger of the two), `node-peer` (bench/peers/node: fastify + better-sqlite3). "
      "events/s counts events newly stored (acknowledged by 2xx). ÷nginx: req/s over nginx's req/s at the same "
      "connection count. ÷SQL@n: events/s over the probe's rows/s at n rows per transaction. CPU µs/req: the "
      "server's utime+stime per answer (all its nodes); DB µs/req: PostgreSQL's processes.\n")
print("| target | scenario | variant | nodes | conns | req/s | events/s | p50 ms | p90 ms | p99 ms | p99.9 ms | server CPU | CPU µs/req | DB µs/req | wrk CPU | others' CPU | peak RSS MiB | ÷nginx | ÷SQL@1 | ÷SQL@100 | honest |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in points:
    ev = r["events_per_s"]
    ng = ceiling_http.get(r["connections"])
    wrk_cpu = r.get("client_cpu_pct")
    print("| %s | %s | %s | %d | %d | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %.0f%% | %.1f | %s | %s | %.0f%% | %.1f | %s | %s | %s | %s |" % (
        r["target"], r["scenario"], r["variant"], r.get("nodes", 1), r["connections"], r["req_per_s"], ev or 0, r["p50_ms"],
        r["p90_ms"], r["p99_ms"], r.get("p999_ms", 0), r["cpu_pct"], r.get("cpu_us_per_req") or 0,
        "-" if r.get("db_cpu_us_per_req") is None else "%.1f" % r["db_cpu_us_per_req"],
        "-" if wrk_cpu is None else "%.0f%%" % wrk_cpu, r.get("others_cpu_pct", 0), r["peak_rss_mib"], ratio(r["req_per_s"], ng),
        ratio(ev, ceiling_sql.get(1)) if ev else "-", ratio(ev, ceiling_sql.get(100)) if ev else "-",
        "yes" if r["honest"] else "**NO**"))
print()
print("Server CPU, wrk CPU and others' CPU (every other process of the machine during the point) are in % of one core "
      "(200% = both cores).\n")

peer = [r for r in points if r["target"] == "node-peer"]
if peer:
    print("## cc-inbound, the node peer and nginx side by side (matrix points)\n")
    print("| scenario | conns | cc-inbound req/s | CPU µs/req | p99 ms | node peer req/s | CPU µs/req | p99 ms | nginx req/s | CPU µs/req |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in peer:
        if r["variant"] != "matrix":
            continue
        c = pick("cc-inbound", r["scenario"], r["connections"], ("matrix",))
        c = c[0] if c else None
        print("| %s | %d | %s | %s | %s | %.0f | %.1f | %.2f | %s | %s |" % (r["scenario"], r["connections"],
              "%.0f" % c["req_per_s"] if c else "-", "%.1f" % c["cpu_us_per_req"] if c else "-", "%.2f" % c["p99_ms"] if c else "-",
              r["req_per_s"], r.get("cpu_us_per_req") or 0, r["p99_ms"],
              "%.0f" % ceiling_http[r["connections"]] if r["connections"] in ceiling_http else "-",
              "%.1f" % nginx_cpu_us[r["connections"]] if r["connections"] in nginx_cpu_us else "-"))
    print()

print("### The group-commit writer (from the servers' /metrics)\n")
print("| target | scenario | variant | conns | commits/s | events/commit | ms/commit (fsync included) | writer busy | WAL at end MiB | WAL max MiB |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
for r in points:
    if r.get("commits"):
        print("| %s | %s | %s | %d | %.0f | %.1f | %.2f | %.0f%% | %.0f | %.0f |" % (r["target"], r["scenario"], r["variant"], r["connections"],
              r["commits_per_s"], r["events_per_commit"], r["commit_ms_mean"], r["writer_busy_pct"], r.get("wal_mib_at_end", 0),
              r.get("wal_max_mib", 0)))
print()

pg_settings = next((r for r in rows if r["target"] == "postgres"), None)
if pg_settings:
    print("## PostgreSQL\n")
    print("Server started by bench/run.sh (initdb + pg_ctl, temporary directory, 127.0.0.1:%d), options `%s`. Settings in force:\n" % (
        pg_settings["port"], pg_settings["options"]))
    print(", ".join("%s=%s" % (k, v) for k, v in sorted((pg_settings.get("settings") or {}).items())))
    print()
    pg = [r for r in points if r["target"] == "cc-inbound-pg" and r["variant"] in ("pg-1node", "pg-2nodes")]
    ref = [r for r in cc if r["variant"].startswith("pg-ref-sqlite-")]
    if pg:
        print("| scenario | nodes | conns | req/s | events/s | p99 ms | nodes' CPU µs/req | PostgreSQL CPU µs/req | ÷ SQLite node (single, same stretch) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        sqlite_single = mean_of(ref, "req_per_s")
        for r in pg:
            print("| %s | %d | %d | %.0f | %.0f | %.2f | %.1f | %.1f | %s |" % (r["scenario"], r["nodes"], r["connections"], r["req_per_s"],
                  r["events_per_s"] or 0, r["p99_ms"], r.get("cpu_us_per_req") or 0, r.get("db_cpu_us_per_req") or 0,
                  ratio(r["req_per_s"], sqlite_single) if r["scenario"] == "single" else "-"))
        print()
        if ref:
            print("SQLite node, single event, same connections: %s req/s (before and after the PostgreSQL points).\n" % (
                ", ".join("%.0f" % r["req_per_s"] for r in ref)))
    for r in points:
        if r.get("propagation"):
            p = r["propagation"]
            print("Revocation propagation (node A → node B, %d rounds, under single-event load on both: %s): p50 %s ms, p99 %s ms, max %s ms, timeouts %d; delays %s\n" % (
                p["rounds"], "yes" if r.get("propagation_under_load") else "**partly not** (rounds outlasted the load)",
                p.get("p50_ms"), p.get("p99_ms"), p.get("max_ms"), p.get("timeouts", 0), ", ".join("%.1f" % d for d in p.get("delays_ms", []))))

many = [r for r in cc if r["variant"].startswith("manykeys-")]
if many:
    print("## Large key registry\n")
    for r in many:
        loaded = ""
        if r.get("add_keys_s") is not None:
            loaded = " (stored with make_keys.py in %s s; preloaded keys sent as a check and accepted: %s of %s)" % (
                r["add_keys_s"], r.get("sample_keys_accepted"), r.get("sample_keys"))
        print("- %s %s: %d keys loaded%s, start-up %.2f s, peak RSS %.1f MiB, %.0f req/s, p99 %.2f ms" % (
              r["scenario"], r["variant"], r["keys_loaded"], loaded, r["startup_s"], r["peak_rss_mib"], r["req_per_s"], r["p99_ms"]))
    print()

print("Honesty notes:\n")
for r in points:
    print("- %s %s c=%d %s: %s" % (r["target"], r["scenario"], r["connections"], r["variant"], r["honesty_note"]))
print()
pre = [r for r in rows if r["target"] == "preload"]
for r in pre:
    print("Preload: %d events stored with SQL in %.1f s (database %d MiB)." % (r["events"], r["seconds"], r["db_mib"]))
    print()

ab = [r for r in cc if r["variant"].startswith("ab-")]
if ab:
    print("## Before / after (A/B, interleaved, each point on its own fresh database)\n")
    print("Before: `%s`; after: `%s`.\n" % (settings.get("baseline"), machine["binary"]))
    print("| scenario | conns | before req/s (runs) | after req/s (runs) | after ÷ before | p99 ms before / after | CPU µs/req before / after |")
    print("|---|---:|---|---|---:|---|---|")
    for scenario in ("unknown_key", "single"):
        b = [r for r in ab if r["scenario"] == scenario and r["variant"].startswith("ab-before-")]
        a = [r for r in ab if r["scenario"] == scenario and r["variant"].startswith("ab-after-")]
        if not a or not b:
            continue
        rb, ra = mean_of(b, "req_per_s"), mean_of(a, "req_per_s")
        print("| %s | %d | %.0f (%s) | %.0f (%s) | %.2f | %.2f / %.2f | %.1f / %.1f |" % (scenario, a[0]["connections"],
              rb, ", ".join("%.0f" % r["req_per_s"] for r in b), ra, ", ".join("%.0f" % r["req_per_s"] for r in a), ra / rb,
              mean_of(b, "p99_ms"), mean_of(a, "p99_ms"), mean_of(b, "cpu_us_per_req"), mean_of(a, "cpu_us_per_req")))
    print()

# ------------------------------------------------------------------ targets (issues 14 and 13)
# At 50 connections, the load generator on the same two cores; ratios to figures of this run.
targets = []
def add(name, measured, ok):
    targets.append((name, measured, ok))

s50 = pick("cc-inbound", "single", 50, ("matrix",))
u50 = pick("cc-inbound", "unknown_key", 50, ("matrix",))
b50 = pick("cc-inbound", "batch100", 50, ("matrix",))
ng50 = ceiling_http.get(50)
if s50 and ng50:
    r = s50[0]
    add("single event ≥ 0.25 × nginx", "%.0f / %.0f = %.2f" % (r["req_per_s"], ng50, r["req_per_s"] / ng50), r["req_per_s"] / ng50 >= 0.25)
if s50:
    add("single event p99 ≤ 10 ms", "%.2f ms" % s50[0]["p99_ms"], s50[0]["p99_ms"] <= 10)
if u50 and ng50:
    r = u50[0]
    add("401 ≥ 0.5 × nginx", "%.0f / %.0f = %.2f" % (r["req_per_s"], ng50, r["req_per_s"] / ng50), r["req_per_s"] / ng50 >= 0.5)
if u50 and 50 in nginx_cpu_us and u50[0].get("cpu_us_per_req"):
    r = u50[0]
    add("CPU per 401 ≤ 3 × nginx's CPU per request", "%.1f / %.1f µs = %.2f" % (r["cpu_us_per_req"], nginx_cpu_us[50],
        r["cpu_us_per_req"] / nginx_cpu_us[50]), r["cpu_us_per_req"] <= 3 * nginx_cpu_us[50])
if b50 and 100 in ceiling_sql:
    r = b50[0]
    add("batch100 events/s ≥ 1.0 × SQLite probe @100 rows/tx", "%.0f / %.0f = %.2f" % (r["events_per_s"], ceiling_sql[100],
        r["events_per_s"] / ceiling_sql[100]), r["events_per_s"] / ceiling_sql[100] >= 1.0)
soak = [r for r in cc if r["variant"] == "soak"]
if soak:
    r = soak[0]
    add("single event p99.9 ≤ 25 ms over %.0f s" % r["duration_s"], "%.2f ms (p99 %.2f)" % (r["p999_ms"], r["p99_ms"]), r["p999_ms"] <= 25)
    bound = settings.get("wal_bound_mib", 256)
    add("WAL bounded during the soak (largest ≤ %d MiB)" % bound, "largest %.1f MiB, at end %.1f MiB" % (r["wal_max_mib"], r["wal_mib_at_end"]),
        r["wal_max_mib"] <= bound)
if many:
    add("%d keys: start-up ≤ 3 s" % many[0]["keys_loaded"], ", ".join("%.2f s" % r["startup_s"] for r in many),
        max(r["startup_s"] for r in many) <= 3)
    add("%d keys: RSS ≤ 300 MiB" % many[0]["keys_loaded"], ", ".join("%.1f MiB" % r["peak_rss_mib"] for r in many),
        max(r["peak_rss_mib"] for r in many) <= 300)
    for scenario, label in (("unknown_key", "401"), ("single", "202")):
        m = [r for r in many if r["scenario"] == scenario]
        k = [r for r in cc if r["scenario"] == scenario and r["connections"] == 50 and r["variant"].startswith("keys-")]
        if m and k:
            mv, kv = mean_of(m, "req_per_s"), mean_of(k, "req_per_s")
            add("%d keys: %s rate within 10%% of the %s-key figure" % (many[0]["keys_loaded"], label, "{:,}".format(k[0]["keys_loaded"])),
                "%.0f vs %.0f req/s = %.2f" % (mv, kv, mv / kv), mv / kv >= 0.9)
checked = [r for r in cc if r.get("sample_keys")]
if checked:
    add("preloaded keys are valid keys (a sample sent, each accepted)", ", ".join("%s: %d of %d" % (r["variant"], r["sample_keys_accepted"],
        r["sample_keys"]) for r in checked), all(r["sample_keys_accepted"] == r["sample_keys"] for r in checked))
k1000 = [r for r in cc if r["variant"].startswith("keys-") and r["connections"] == 1000]
if k1000:
    r = k1000[0]
    add("peak RSS ≤ 64 MiB, %d keys, 1,000 connections" % r["keys_loaded"], "%.1f MiB" % r["peak_rss_mib"], r["peak_rss_mib"] <= 64)
empty = [r["events_per_s"] for r in cc if r["variant"].startswith("empty-db")]
stored = [r["events_per_s"] for r in cc if r["variant"].startswith("stored-")]
if empty and stored:
    e, s = statistics.mean(empty), statistics.mean(stored)
    add("intake with %s events stored within 20%% of empty" % (pre[0]["events"] if pre else "the"),
        "%.0f vs %.0f ev/s = %.2f" % (s, e, s / e), s / e >= 0.8)
pg1 = [r for r in points if r["target"] == "cc-inbound-pg" and r["scenario"] == "single" and r["variant"] == "pg-1node"]
ref = [r for r in cc if r["variant"].startswith("pg-ref-sqlite-")]
if pg1 and ref:
    pv, sv = pg1[0]["req_per_s"], mean_of(ref, "req_per_s")
    add("PostgreSQL node single event ≥ 0.5 × SQLite node (c=%d)" % pg1[0]["connections"], "%.0f / %.0f = %.2f" % (pv, sv, pv / sv), pv / sv >= 0.5)
prop = [r for r in points if r.get("propagation")]
if prop:
    p, r = prop[0]["propagation"], prop[0]
    ok = p.get("p99_ms") is not None and p["p99_ms"] <= 100 and not p.get("timeouts") and r.get("propagation_under_load")
    add("revocation propagation p99 ≤ 100 ms under load", "p50 %s ms, p99 %s ms (%d rounds%s)" % (p.get("p50_ms"), p.get("p99_ms"),
        p["rounds"], "" if r.get("propagation_under_load") else ", not all under load"), bool(ok))
if targets:
    print("## Targets\n")
    print("| target | measured | met |")
    print("|---|---|---|")
    for name, measured, ok in targets:
        print("| %s | %s | %s |" % (name, measured, "met" if ok else "**not met**"))
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
