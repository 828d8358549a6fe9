#!/usr/bin/env python3
"""Switchboard's benchmark suite.

Seeds workspaces of the given sizes (10 messages per chat), starts the release
server pinned to CPU 0, drives it with wrk pinned to CPU 1 (PostgreSQL's processes
too, while measuring: see --postgres-cpus), and records throughput, p50/p99 latency
and the server's peak RSS for each scenario, next to /health/live measured in the
same run. Writes bench/results/<date>-<db>.json and .md.

    python3 bench/run.py --db sqlite --db postgres --chats 10000 --chats 1000000
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "target", "release", "switchboard")
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, **kw)


def seed(db_url, chats):
    out = subprocess.run(
        [BINARY, "seed", "--chats", str(chats), "--messages-per-chat", "10", "--json", "--database-url", db_url],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_database(kind, label):
    if kind == "sqlite":
        path = os.path.join(tempfile.gettempdir(), f"switchboard-bench-{label}.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        return f"sqlite://{path}?mode=rwc"
    name = f"switchboard_bench_{label}"
    sh("psql", PG_ADMIN, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    sh("psql", PG_ADMIN, "-qc", f"CREATE DATABASE {name}")
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


class Server:
    def __init__(self, db_url):
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", BINARY, "--log-format", "json", "serve", "--bind", "127.0.0.1:0",
             "--database-url", db_url, "--rate-limit-per-minute", "0"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            env={**os.environ, "RUST_LOG": "warn,switchboard=info,switchboard_api=warn"},
        )
        self.address = None
        for line in self.proc.stderr:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("message") == "switchboard listening":
                self.address = "http://" + event["address"]
                break
        if not self.address:
            raise RuntimeError("the server did not start")
        # Keep reading the log so that the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def peak_rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def lua_get(paths, token):
    items = ",".join(json.dumps(p) for p in paths)
    return f"""
local paths = {{{items}}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {{["Authorization"] = "Bearer {token}"}})
end
"""


def lua_ingest(token):
    return f"""
local counter = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))
request = function()
  counter = counter + 1
  local id = prefix .. "-" .. counter
  local body = '{{"contact":{{"externalId":"bench-' .. (counter % 5000) .. '","name":"Bench Contact"}},"externalMessageId":"' .. id .. '","text":"benchmark inbound message ' .. id .. '"}}'
  return wrk.format("POST", "/v1/channel/messages", {{["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"}}, body)
end
"""


def unit_ms(value):
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(address, script, connections, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = f.name
    done = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", path, address],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stdout} {done.stderr}")
    out = done.stdout
    os.remove(path)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = unit_ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))
    p99 = unit_ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    return {"rps": round(rps, 1), "p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "non_2xx": errors}


def get_json(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as response:
        return json.loads(response.read())


def scenarios(address, seeded):
    token = seeded["adminToken"]
    ws_chats = get_json(f"{address}/v1/chats?limitation=20", token)["collection"]
    operators = get_json(f"{address}/v1/operators?limitation=20", token)["collection"]
    operator = operators[1]["id"] if len(operators) > 1 else operators[0]["id"]
    # Chats spread over the whole workspace: every 97th page's first chat.
    ids = [c["id"] for c in ws_chats]
    total = seeded["chats"]
    step = max(1, total // 200)
    sample = list(range(1 + (seeded.get("firstChatId", 1) - 1), total + 1, step))[:200] or ids
    deep = []
    for chat_id in sample[:50]:
        page = get_json(f"{address}/v1/chats/{chat_id}/messages?limitation=20", token)["collection"]
        if len(page) >= 3:
            deep.append(f"/v1/chats/{chat_id}/messages?before={page[-3]['id']}&limit=20")
    return [
        ("health_live", "/health/live", lua_get(["/health/live"], token), 32),
        ("list_none", None, lua_get(["/v1/chats?limitation=20", "/v1/chats?limitation=20&page=2"], token), 32),
        ("list_state_open", None, lua_get(["/v1/chats?state=open&limitation=20"], token), 32),
        ("list_state_closed", None, lua_get(["/v1/chats?state=closed&limitation=20"], token), 32),
        ("list_private", None,
         lua_get([f"/v1/chats?selector%5Bname%5D=private&selector%5BoperatorId%5D={operator}&limitation=20"], token), 32),
        ("list_unread", None, lua_get(["/v1/chats?selector%5Bname%5D=unread&limitation=20"], token), 32),
        ("search_rare", None, lua_get(["/v1/chats?term=zanzibarite&limitation=20"], token), 32),
        ("search_common", None, lua_get(["/v1/chats?term=delivery&limitation=20"], token), 32),
        ("get_chat", None, lua_get([f"/v1/chats/{i}" for i in sample], token), 32),
        ("messages_first_page", None, lua_get([f"/v1/chats/{i}/messages?limitation=20" for i in sample], token), 32),
        ("messages_keyset_deep", None, lua_get(deep or ["/v1/chats/1/messages?limitation=20"], token), 32),
        ("ingest_c1", None, lua_ingest(seeded["channelToken"]), 1),
        ("ingest_c64", None, lua_ingest(seeded["channelToken"]), 64),
    ]


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1), "kernel": platform.release()}


def pin_postgres(cpus):
    """Sets the CPUs of PostgreSQL's processes (the postmaster and its backends; backends
    started later inherit the postmaster's). Returns whether every process took it."""
    pids = subprocess.run(["pgrep", "-x", "postgres"], capture_output=True, text=True).stdout.split()
    # A backend that ended between the listing and taskset needs no pinning.
    done = [subprocess.run(["taskset", "-p", "-c", cpus, pid], capture_output=True).returncode == 0
            or not os.path.exists(f"/proc/{pid}") for pid in pids]
    return bool(pids) and all(done)


def run(kind, sizes, seconds, postgres_cpus="any"):
    results = {"db": kind, "date": datetime.date.today().isoformat(), "machine": machine(), "sizes": {}}
    if kind == "postgres":
        results["postgres_cpus"] = postgres_cpus
    pinned = kind == "postgres" and postgres_cpus != "any"
    for chats in sizes:
        label = f"{kind}_{chats}"
        db_url = fresh_database(kind, label)
        started = time.time()
        seeded = seed(db_url, chats)
        seed_seconds = round(time.time() - started, 1)
        print(f"[{kind}] seeded {chats} chats in {seed_seconds} s", file=sys.stderr)
        if pinned:
            # The server has core 0 to itself, as beside a database on a host of its
            # own: PostgreSQL's backends share core 1 with the load generator.
            if not pin_postgres(postgres_cpus):
                print(f"[{kind}] could not pin PostgreSQL to CPU {postgres_cpus}", file=sys.stderr)
                results["postgres_cpus"] = "any (pinning failed)"
        server = Server(db_url)
        try:
            figures = {}
            for name, _, script, connections in scenarios(server.address, seeded):
                wrk(server.address, script, connections, 2)  # warm-up
                figures[name] = wrk(server.address, script, connections, seconds)
                print(f"[{kind} {chats}] {name}: {figures[name]}", file=sys.stderr)
            health = figures["health_live"]["rps"]
            for figure in figures.values():
                figure["ratio_to_health"] = round(figure["rps"] / health, 3) if health else None
            results["sizes"][str(chats)] = {
                "seed_seconds": seed_seconds,
                "scenarios": figures,
                "peak_rss_mb": round(server.peak_rss_mb(), 1),
            }
        finally:
            server.stop()
            if pinned:
                pin_postgres(f"0-{os.cpu_count() - 1}")
    return results


def markdown(all_results):
    lines = []
    for res in all_results:
        for size, data in res["sizes"].items():
            lines.append(f"### {res['db']}, {int(size):,} chats × 10 messages (seeded in {data['seed_seconds']} s), "
                         f"peak RSS {data['peak_rss_mb']} MB")
            lines.append("")
            lines.append("| scenario | req/s | p50 ms | p99 ms | × /health/live | non-2xx |")
            lines.append("|---|---:|---:|---:|---:|---:|")
            for name, f in data["scenarios"].items():
                lines.append(f"| {name} | {f['rps']:,.0f} | {f['p50_ms']} | {f['p99_ms']} | {f['ratio_to_health']} | {f['non_2xx']} |")
            lines.append("")
    return "\n".join(lines)


def main():
    global BINARY
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--chats", action="append", type=int)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--label", help="written to bench/results/<date>-<label>-<db>.json")
    parser.add_argument("--postgres-cpus", default="1",
                        help="CPUs PostgreSQL's processes are pinned to while measuring (default 1, the load "
                        "generator's; 'any' leaves them to the scheduler, sharing the server's core)")
    parser.add_argument("--binary", help="a switchboard binary to measure instead of building this checkout "
                        "(for comparing two builds in the same hour)")
    args = parser.parse_args()
    for tool in ("wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install -y wrk util-linux")
    if args.binary:
        BINARY = os.path.abspath(args.binary)
    else:
        sh("cargo", "build", "--release", "--quiet", cwd=ROOT)
    dbs = args.db or ["sqlite"]
    sizes = args.chats or [10_000]
    out_dir = os.path.join(ROOT, "bench", "results")
    os.makedirs(out_dir, exist_ok=True)
    all_results = []
    for kind in dbs:
        res = run(kind, sizes, args.seconds, args.postgres_cpus)
        all_results.append(res)
        name = f"{res['date']}-{args.label}-{kind}" if args.label else f"{res['date']}-{kind}"
        stem = os.path.join(out_dir, name)
        with open(stem + ".json", "w") as f:
            json.dump(res, f, indent=2)
        with open(stem + ".md", "w") as f:
            f.write(markdown([res]) + "\n")
    print(markdown(all_results))


if __name__ == "__main__":
    main()
