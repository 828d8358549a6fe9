#!/usr/bin/env python3
"""Prints the side-by-side Markdown table of BENCHMARKS.md from
bench/results/<run>-sqlite.json and <run>-postgres.json, where <run> is the
argument (e.g. 2026-11-21-plan-cache) or, without one, the newest date. A second
argument names PostgreSQL's run when it differs from SQLite's."""

import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))

TARGETS = {
    "list_none": "≥ 8,000 req/s, p99 ≤ 10 ms",
    "list_state_open": "≥ 8,000 req/s, p99 ≤ 10 ms",
    "list_state_closed": "≥ 8,000 req/s, p99 ≤ 10 ms",
    "list_private": "≥ 8,000 req/s, p99 ≤ 10 ms",
    "list_unread": "≥ 8,000 req/s, p99 ≤ 10 ms",
    "search_rare": "p99 ≤ 3 ms",
    "search_common": "p99 ≤ 25 ms",
    "get_chat": "≥ 20,000 req/s",
    "messages_first_page": "p99 ≤ 5 ms",
    "messages_keyset_deep": "p99 ≤ 5 ms",
    "ingest_c64": "≥ 5,000 msg/s",
}


def newest(db):
    run = sys.argv[1] if len(sys.argv) > 1 else "*"
    if db == "postgres" and len(sys.argv) > 2:
        run = sys.argv[2]
    files = sorted(glob.glob(os.path.join(ROOT, "results", f"{run}-{db}.json")))
    return json.load(open(files[-1])) if files else None


def main():
    runs = {db: newest(db) for db in ("sqlite", "postgres")}
    sizes = sorted({int(s) for r in runs.values() if r for s in r["sizes"]})
    big, small = max(sizes), min(sizes)
    print(f"| scenario | target | SQLite {big:,} | PostgreSQL {big:,} | SQLite {small:,} | PostgreSQL {small:,} |")
    print("|---|---|---:|---:|---:|---:|")
    names = list(next(iter(r for r in runs.values() if r))["sizes"][str(big)]["scenarios"])
    for name in names:
        cells = []
        for size in (big, small):
            for db in ("sqlite", "postgres"):
                run = runs.get(db)
                f = run and run["sizes"].get(str(size), {}).get("scenarios", {}).get(name)
                cells.append(
                    f"{f['rps']:,.0f}/s · p50 {f['p50_ms']} · p99 {f['p99_ms']} ms · ×{f['ratio_to_health']}" if f else "–"
                )
        print(f"| {name} | {TARGETS.get(name, '')} | " + " | ".join([cells[0], cells[1], cells[2], cells[3]]) + " |")
    for db, run in runs.items():
        if run:
            rss = ", ".join(f"{int(s):,} chats: {d['peak_rss_mb']} MB" for s, d in run["sizes"].items())
            seed = ", ".join(f"{int(s):,} chats: {d['seed_seconds']} s" for s, d in run["sizes"].items())
            pinned = f"; PostgreSQL's processes on CPU {run['postgres_cpus']}" if "postgres_cpus" in run else ""
            print(f"\n{db}: peak RSS {rss}; seeding {seed}{pinned}.")


if __name__ == "__main__":
    main()
