#!/usr/bin/env python3
"""Turns one bench/run.sh run (raw.jsonl + extra.json) into the markdown summary.

Each scenario row is the median over the rounds of each figure taken separately; error and
throttle counts are summed over the rounds. Ratios divide medians.

    python3 bench/summarize.py bench/results/<run>/raw.jsonl bench/results/<run>/extra.json
"""
import json
import os
import statistics
import sys
from collections import defaultdict

ORDER = ["millrace", "millrace-nosync", "nginx", "kinesalite", "kinesis-local", "moto"]
SCENARIOS = [
    ("put-record", "PutRecord, 100 B, 64 connections, closed loop"),
    ("put-record-half-load", "PutRecord, 100 B, 64 connections, fixed rate = half of each target's "
     "own peak (nginx: at Millrace's rate, a control for the generator's schedule)"),
    ("put-records", "PutRecords, 500 x 100 B, 16 connections, closed loop"),
    ("put-record-1000-shards", "PutRecord, 100 B, random shard of 1,000 (ExplicitHashKey), 64 connections"),
    ("get-records", "GetRecords, one consumer from TRIM_HORIZON, 1,000 B records, Limit 10,000"),
]


def fmt(v, digits=0):
    if v is None:
        return "n/a"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def main():
    raw_path, extra_path = sys.argv[1], sys.argv[2]
    rows = [json.loads(l) for l in open(raw_path) if l.strip()]
    extra = json.load(open(extra_path))
    by = defaultdict(list)
    for r in rows:
        by[(r["scenario"], r["label"])].append(r)

    def med(scenario, label, key):
        v = [r[key] for r in by.get((scenario, label), []) if r.get(key, -1) >= 0]
        return statistics.median(v) if v else None

    out = []
    m = extra.get("machine", {})
    out.append("## Millrace benchmark run\n")
    if m:
        out.append(
            f"Machine: {m['nproc']} cores, {m['cpu']}, kernel {m['kernel']}; "
            f"4 KiB append + fdatasync on the data disk: p50 {m['fdatasync_p50_ms']} ms, "
            f"p99 {m['fdatasync_p99_ms']} ms. Each figure is the median of {m['reps']} runs of "
            f"{m['duration_s']:g} s (after {m['warmup_s']:g} s of warm-up); the load generator "
            "runs on the same cores.\n")
    if "load_average_start" in extra:
        out.append(f"Load average (1, 5, 15 min) at the start: {extra['load_average_start']}; at the "
                   f"end: {extra.get('load_average_end', '?')} (the machine is shared).\n")

    for scenario, title in SCENARIOS:
        labels = [l for l in ORDER if (scenario, l) in by]
        if not labels:
            continue
        out.append(f"### {scenario}: {title}\n")
        out.append("| target | requests/s | records/s | MB/s | p50 ms | p90 ms | p99 ms | max ms "
                   "| errors | throttled | server cores | loadgen cores | runs |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for l in labels:
            rs = by[(scenario, l)]
            errors = sum(r["error_total"] for r in rs)
            throttled = sum(r["throttled_requests"] + r["throttled_records"] for r in rs)
            rate = f" (at {rs[0]['rate']:,.0f}/s)" if rs[0].get("rate") else ""
            out.append(
                f"| {l}{rate} | {fmt(med(scenario, l, 'requests_per_s'))} "
                f"| {fmt(med(scenario, l, 'records_per_s'))} | {fmt(med(scenario, l, 'mb_per_s'), 1)} "
                f"| {fmt(med(scenario, l, 'p50_ms'), 2)} | {fmt(med(scenario, l, 'p90_ms'), 2)} "
                f"| {fmt(med(scenario, l, 'p99_ms'), 2)} | {fmt(med(scenario, l, 'max_ms'), 1)} "
                f"| {errors} | {throttled} | {fmt(med(scenario, l, 'server_cores'), 2)} "
                f"| {fmt(med(scenario, l, 'loadgen_cores'), 2)} | {len(rs)} |")
        out.append("")

    # Ratios: Millrace's median over each other target's, on each scenario's main figure.
    main_key = {"put-record": "requests_per_s", "put-records": "records_per_s",
                "put-record-1000-shards": "requests_per_s", "get-records": "mb_per_s"}
    out.append("### Ratios (median / median)\n")
    out.append("| scenario | figure | " + " | ".join(
        f"millrace / {l}" for l in ORDER if l != "millrace") + " | millrace-nosync / nginx |")
    out.append("|---|---|" + "---:|" * (len(ORDER) - 1) + "---:|")
    for scenario, key in main_key.items():
        mine = med(scenario, "millrace", key)
        cells = []
        for l in ORDER:
            if l == "millrace":
                continue
            r = ratio(mine, med(scenario, l, key))
            cells.append("n/a" if r is None else f"{r:.2f}")
        r = ratio(med(scenario, "millrace-nosync", key), med(scenario, "nginx", key))
        cells.append("n/a" if r is None else f"{r:.2f}")
        out.append(f"| {scenario} | {key} | " + " | ".join(cells) + " |")
    out.append("")

    # The targets.
    pr = med("put-record", "millrace", "requests_per_s")
    prs = med("put-records", "millrace", "records_per_s")
    checks = [
        ("PutRecord, 64 connections", ">= 40,000 acked req/s", pr, lambda v: v >= 40000, 0, ""),
        ("PutRecord vs nginx", ">= 0.5 x nginx", ratio(pr, med("put-record", "nginx", "requests_per_s")),
         lambda v: v >= 0.5, 2, "x"),
        ("PutRecord vs kinesalite", ">= 8 x kinesalite",
         ratio(pr, med("put-record", "kinesalite", "requests_per_s")), lambda v: v >= 8, 2, "x"),
        ("PutRecords 500 x 100 B", ">= 1,000,000 records/s", prs, lambda v: v >= 1e6, 0, ""),
        ("PutRecords vs kinesalite", ">= 50 x kinesalite",
         ratio(prs, med("put-records", "kinesalite", "records_per_s")), lambda v: v >= 50, 2, "x"),
        ("PutRecord p99 at half of peak", "< 5 ms", med("put-record-half-load", "millrace", "p99_ms"),
         lambda v: v < 5, 2, " ms"),
        ("PutRecord p99, 1,000 shards at once", "< 20 ms",
         med("put-record-1000-shards", "millrace", "p99_ms"), lambda v: v < 20, 2, " ms"),
        ("GetRecords, one consumer", ">= 300 MB/s", med("get-records", "millrace", "mb_per_s"),
         lambda v: v >= 300, 1, " MB/s"),
        ("Idle memory (RSS after start)", "< 50 MB", extra.get("idle_rss_mb") and float(extra["idle_rss_mb"]),
         lambda v: v < 50, 1, " MB"),
        ("10,000 idle shards (RSS)", "< 500 MB",
         extra.get("rss_10k_shards_mb") and float(extra["rss_10k_shards_mb"]), lambda v: v < 500, 1, " MB"),
        (f"Restart, {extra.get('data_dir_gb', '?')} GB log, warm cache", "< 2 s",
         extra.get("restart_clean_warm_s") and float(extra["restart_clean_warm_s"]), lambda v: v < 2, 2, " s"),
        (f"Restart, {extra.get('data_dir_gb', '?')} GB log, after kill -9, cold cache", "< 2 s",
         extra.get("restart_kill9_cold_s") and float(extra["restart_kill9_cold_s"]), lambda v: v < 2, 2, " s"),
    ]
    out.append("### Against the targets (Millrace with fsync on)\n")
    out.append("| what | target | measured | met |")
    out.append("|---|---|---:|---|")
    for what, goal, v, ok, digits, unit in checks:
        if v is None:
            out.append(f"| {what} | {goal} | n/a | n/a |")
        else:
            out.append(f"| {what} | {goal} | {fmt(v, digits)}{unit} | {'yes' if ok(v) else 'NO'} |")
    out.append("")

    mem = [
        ("idle RSS after first start", "idle_rss_mb", " MB"),
        ("start-up to /healthz 200, empty data dir", "first_start_s", " s"),
        ("10 streams x 1,000 shards: CreateStream until ACTIVE, all ten", "create_10k_shards_s", " s"),
        ("RSS with 10,000 idle shards", "rss_10k_shards_mb", " MB"),
        ("restart with 10,000 shards, small log", "restart_10k_shards_small_log_s", " s"),
        ("data directory after the fill", "data_dir_gb", " GB"),
        ("RSS after the fill", "rss_after_fill_mb", " MB"),
        ("restart after SIGTERM, page cache warm", "restart_clean_warm_s", " s"),
        ("RSS after that restart", "rss_after_restart_mb", " MB"),
        ("restart after kill -9, log evicted from the page cache", "restart_kill9_cold_s", " s"),
        ("RSS after that restart", "rss_after_cold_restart_mb", " MB"),
    ]
    out.append("### Millrace memory and restart\n")
    out.append("| what | value |")
    out.append("|---|---:|")
    for what, key, unit in mem:
        if key in extra:
            out.append(f"| {what} | {extra[key]}{unit} |")
    if "fill" in extra:
        f = extra["fill"]
        out.append(f"| fill: PutRecords 500 x 1,000 B, 8 connections, 10,000 idle shards beside | "
                   f"{f['mb_per_s']:.1f} MB/s for {f['elapsed_s']:.0f} s |")
    out.append("")

    prefill = os.path.join(os.path.dirname(raw_path), "prefill.jsonl")
    if os.path.exists(prefill):
        sizes = [json.loads(l) for l in open(prefill) if l.strip()]
        out.append("get-records read a one-shard stream holding: " + ", ".join(
            f"{p['label']} {p['mb_per_s'] * p['elapsed_s']:.0f} MB" for p in sizes) +
            " (written just before, so read from memory or the page cache).\n")

    errs = defaultdict(int)
    for r in rows:
        for k, v in r.get("errors", {}).items():
            errs[(r["scenario"], r["label"], k)] += v
        if r.get("throttled_requests") or r.get("throttled_records"):
            errs[(r["scenario"], r["label"], "ProvisionedThroughputExceeded (requests+records)")] += (
                r["throttled_requests"] + r["throttled_records"])
    if errs:
        out.append("### Errors (summed over the rounds)\n")
        out.append("| scenario | target | error | count |")
        out.append("|---|---|---|---:|")
        for (s, l, k), v in sorted(errs.items()):
            out.append(f"| {s} | {l} | {k} | {v} |")
        out.append("")
    if "total_s" in extra:
        out.append(f"Whole run: {extra['total_s']} s.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
