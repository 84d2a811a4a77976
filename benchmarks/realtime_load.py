"""Real-time update under load: ``POST /customers/{id}/update`` against ``POST /assign``, on loopback (issue 20).

    python benchmarks/realtime_load.py --run RUN_DIR [--seconds 20] [--concurrency 16] [--json OUT.json]

Starts the run's app under ``uvicorn`` in a subprocess (one worker, authentication on, access
log off, as ``shopseg serve``) and drives it with ``wrk`` (Debian: ``apt-get install wrk``),
a C load generator that keeps ``--concurrency`` connections busy (closed loop) and reports
latency percentiles; a Lua script sends a different body each time. Scenarios, one after the
other on the same server and machine:

* ``GET /health``                     -- the framework alone (floor);
* ``POST /assign``                    -- baseline: a known customer's whole history, placed
  from scratch (checks, DuckDB features, text, model), as the API did before;
* ``POST /customers/{id}/update``     -- a known customer's new activity: 1-3 order lines
  of catalogue products dated after the run, and 1-4 views, carts or searches (queries the
  shop has seen); the customer's segment, value and recommendations come back; lines kept;
* ``... /update + new review``        -- the same with a review whose text nobody wrote
  before (``--review-share`` of the requests, default 0.2): those embed one text each.

The acceptance (issue 20) asks p99 < 20 ms at 16 concurrent clients for the update. The
machine's load average is printed before and after: on a shared 2-core machine other jobs
take cores from both the server and wrk, so measure when it is quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from api_load import API_KEY, assign_bodies, free_port, start_server

LUA = """
local bodies = {BODIES}
local paths = {PATHS}
local method = "{METHOD}"
local i = 0
request = function()
  i = i % #paths + 1
  local body = nil
  if #bodies > 0 then body = bodies[i] end
  return wrk.format(method, paths[i], {{["X-API-Key"] = "{KEY}", ["Content-Type"] = "application/json"}}, body)
end
"""


def lua_strings(items: list[str]) -> str:
    return "{" + ",".join("[==[" + item + "]==]" for item in items) + "}"


def update_bodies(run: Path, count: int, review_share: float, seed: int) -> tuple[list[str], list[str]]:
    """Paths and bodies of ``count`` real-time updates of random known customers."""
    rng = random.Random(seed)
    connection = duckdb.connect(str(run / "shopseg.duckdb"), read_only=True)
    try:
        customers = [r[0] for r in connection.execute("SELECT DISTINCT customer_id FROM orders").fetchall()]
        products = [r[0] for r in connection.execute("SELECT product_id FROM products").fetchall()]
        tables = {r[0] for r in connection.execute("SHOW TABLES").fetchall()}
        queries = []
        if "events" in tables:
            queries = [
                r[0] for r in connection.execute("SELECT DISTINCT query FROM events WHERE query <> ''").fetchall()
            ]
        last = connection.execute("SELECT max(ts) FROM orders").fetchone()[0]
    finally:
        connection.close()
    start = pd.Timestamp(last).normalize() + pd.Timedelta(days=1)
    paths, bodies = [], []
    for n in range(count):
        customer = rng.choice(customers)
        day = start + pd.Timedelta(minutes=rng.randrange(0, 60 * 24 * 3))
        bought = [rng.choice(products) for _ in range(rng.randint(1, 3))]
        orders = [
            {
                "order_id": f"RT{seed}-{n}",
                "ts": day.isoformat(sep=" "),
                "product_id": product,
                "quantity": rng.randint(1, 3),
                "unit_price": round(rng.uniform(5, 120), 2),
            }
            for product in bought
        ]
        events = []
        for k in range(rng.randint(1, 4)):
            moment = (day - pd.Timedelta(minutes=10 - k)).isoformat(sep=" ")
            if queries and rng.random() < 0.3:
                events.append(
                    {"ts": moment, "event_type": "search", "query": rng.choice(queries), "session_id": f"s{n}"}
                )
            else:
                kind = rng.choice(["view", "view", "cart"])
                events.append(
                    {"ts": moment, "event_type": kind, "product_id": rng.choice(bought), "session_id": f"s{n}"}
                )
        body: dict[str, object] = {"orders": orders, "events": events, "recommend_n": 10}
        if rng.random() < review_share:
            body["reviews"] = [
                {
                    "ts": (day + pd.Timedelta(days=1)).isoformat(sep=" "),
                    "rating": rng.randint(1, 5),
                    "text": f"Bought {bought[0]} on day {n}: {rng.choice(['great', 'fine', 'poor'])} quality, "
                    f"{rng.choice(['fast', 'slow'])} delivery, would {rng.choice(['', 'not '])}buy again ({seed}-{n})",
                }
            ]
        paths.append(f"/customers/{customer}/update")
        bodies.append(json.dumps(body))
    return paths, bodies


def run_wrk(base: str, paths: list[str], bodies: list[str], method: str, seconds: float, concurrency: int) -> dict:
    """One wrk run: requests/s, latency percentiles (ms) and errors."""
    script = LUA.format(BODIES=lua_strings(bodies), PATHS=lua_strings(paths), METHOD=method, KEY=API_KEY)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    threads = min(2, concurrency)
    command = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "60s", "--latency"]
    command += ["-s", handle.name, base]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)

    def milliseconds(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    percentiles = {m.group(1): milliseconds(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)\s*$", output, re.M)}
    if "99" not in percentiles:
        raise SystemExit(f"could not read wrk's latency distribution:\n{output}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    failures = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests": requests,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": percentiles.get("50"),
        "p90_ms": percentiles.get("90"),
        "p99_ms": percentiles.get("99"),
        "errors": (int(errors.group(1)) if errors else 0) + (sum(map(int, failures.groups())) if failures else 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="Run folder (shopseg segment / shopseg demo).")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--bodies", type=int, default=2000, help="Distinct request bodies per scenario.")
    parser.add_argument("--review-share", type=float, default=0.2, help="Updates with a new review (last scenario).")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    segments = pd.read_parquet(args.run / "segments.parquet", columns=["customer_id"])
    rng = random.Random(0)
    customers = rng.sample(list(segments["customer_id"].astype(str)), min(300, len(segments)))
    assign = [json.dumps(body) for body in assign_bodies(args.run, customers)]
    update_paths, update_bodies_ = update_bodies(args.run, args.bodies, 0.0, seed=1)
    review_paths, review_bodies = update_bodies(args.run, args.bodies, args.review_share, seed=2)
    port = free_port()
    load_before = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}"
    )
    print(
        f"run: {args.run} ({len(segments):,} customers); uvicorn, 1 worker, 127.0.0.1:{port}; wrk -c{args.concurrency}"
    )
    server = start_server(args.run, port)
    base = f"http://127.0.0.1:{port}"
    scenarios = [
        ("GET /health (floor)", ["/health"], [], "GET"),
        ("POST /assign (baseline)", ["/assign"] * len(assign), assign, "POST"),
        ("POST /customers/{id}/update", update_paths, update_bodies_, "POST"),
        (f"  ... with a new review ({args.review_share:.0%})", review_paths, review_bodies, "POST"),
    ]
    rows = []
    try:
        for name, paths, bodies, method in scenarios:
            run_wrk(base, paths, bodies, method, args.warmup, args.concurrency)  # warm-up (builds the live model)
            result = {"scenario": name, **run_wrk(base, paths, bodies, method, args.seconds, args.concurrency)}
            rows.append(result)
            print(json.dumps(result), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    load_after = os.getloadavg()
    print(f"\n{'scenario':38} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for r in rows:
        print(
            f"{r['scenario']:38} {r['requests']:>9,} {r['errors']:>7} {r['requests_per_s']:>8.1f} "
            f"{r['p50_ms']:>8.2f} {r['p90_ms']:>8.2f} {r['p99_ms']:>8.2f}"
        )
    baseline, update = rows[1], rows[2]
    print(
        f"update vs /assign: p99 {update['p99_ms']:.2f} ms vs {baseline['p99_ms']:.2f} ms "
        f"({baseline['p99_ms'] / max(update['p99_ms'], 1e-9):.1f}x), {update['requests_per_s']:.0f} vs "
        f"{baseline['requests_per_s']:.0f} req/s; load average after {load_after[0]:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps({"load_before": load_before, "load_after": load_after, "results": rows}))


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f} s)")
