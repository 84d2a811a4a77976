"""Bounded load test of the API on loopback: ``POST /assign`` and ``GET /customers/{id}`` against baselines.

    python benchmarks/api_load.py --run RUN_DIR [--seconds 10] [--concurrency 8] [--json OUT.json]

Starts ``uvicorn`` with the run's app in a subprocess (one worker, authentication on, its
own log off), then for each scenario keeps ``--concurrency`` requests in flight from an
async httpx client for ``--seconds`` seconds (after a short warm-up that is not counted)
and reports requests per second, p50 / p99 latency and the error count (any status other
than 2xx, or a failed connection). Scenarios, in one run so that they share the machine's
conditions:

* ``GET /health``          -- baseline: the framework and the middleware alone;
* ``GET /segments``        -- baseline: a small JSON answer from memory;
* ``GET /customers/{id}``  -- a random customer of the run each time;
* ``POST /assign``         -- a random customer's own order lines, reviews and events from the
  run's shopseg.duckdb, placed again with the saved model (checks, features, predict).

The client runs on the same machine as the server, so on a small machine both compete for
the cores: the numbers are a floor for what the server alone would sustain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np
import pandas as pd

API_KEY = "benchmark-key"
SERVER = """
import os, uvicorn
from shopseg.serve import create_app
uvicorn.run(create_app(os.environ["RUN_DIR"], os.environ["API_KEY"]), host="127.0.0.1",
            port=int(os.environ["PORT"]), access_log=False, log_level="warning")
"""


@dataclass
class Result:
    """Latencies (seconds) and errors of one scenario."""

    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        lat = np.array(self.latencies) * 1000 if self.latencies else np.array([np.nan])
        return {
            "scenario": self.name,
            "requests": len(self.latencies),
            "errors": self.errors,
            "requests_per_s": round(len(self.latencies) / self.seconds, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
            "max_ms": round(float(lat.max()), 1),
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(run_dir: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "RUN_DIR": str(run_dir), "API_KEY": API_KEY, "PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-c", SERVER], env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the server did not answer /health within 120 s")


def assign_bodies(run_dir: Path, customer_ids: list[str]) -> list[dict[str, Any]]:
    """/assign bodies: each customer's own lines from the run's store (timestamps as ISO text)."""
    fields = {
        "orders": ("order_id", "ts", "amount", "product_id", "quantity", "unit_price", "status"),
        "reviews": ("ts", "rating", "text", "product_id"),
        "events": ("ts", "event_type", "product_id", "session_id", "query"),
    }
    connection = duckdb.connect(str(run_dir / "shopseg.duckdb"), read_only=True)
    tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
    bodies = []
    try:
        for customer_id in customer_ids:
            body: dict[str, Any] = {"customer_id": customer_id}
            for table, columns in fields.items():
                if table not in tables:
                    continue
                frame = connection.execute(f"SELECT * FROM {table} WHERE customer_id = ?", [customer_id]).df()
                body[table] = [
                    {
                        k: (v.isoformat() if isinstance(v, pd.Timestamp) else v)
                        for k, v in row.items()
                        if k in columns and v is not None and not (not isinstance(v, str) and pd.isna(v))
                    }
                    for row in frame.to_dict("records")
                ]
            bodies.append(body)
    finally:
        connection.close()
    return bodies


Request = Callable[[httpx.AsyncClient], Any]


async def run_scenario(
    name: str, make: Callable[[], Request], base: str, seconds: float, concurrency: int, warmup: float
) -> Result:
    """``concurrency`` workers send requests made by ``make`` for ``seconds`` seconds after a warm-up."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": API_KEY}, limits=limits, timeout=30) as client:
        result = Result(name=name, seconds=seconds)
        start = time.perf_counter()
        measure_from = start + warmup
        stop = measure_from + seconds

        async def worker() -> None:
            while time.perf_counter() < stop:
                request = make()
                began = time.perf_counter()
                try:
                    response = await request(client)
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                took = time.perf_counter() - began
                if began < measure_from:
                    continue
                result.latencies.append(took)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if not 200 <= status < 300:
                    result.errors += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="Run folder (shopseg segment / shopseg demo --out).")
    parser.add_argument("--seconds", type=float, default=10.0, help="Measured seconds per scenario.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Unmeasured seconds before each scenario.")
    parser.add_argument("--concurrency", type=int, default=8, help="Requests in flight.")
    parser.add_argument("--customers", type=int, default=200, help="Distinct customers the requests draw from.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()

    segments = pd.read_parquet(args.run / "segments.parquet", columns=["customer_id"])
    rng = random.Random(0)
    customer_ids = rng.sample(list(segments["customer_id"].astype(str)), min(args.customers, len(segments)))
    bodies = assign_bodies(args.run, customer_ids)
    port = free_port()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; python {platform.python_version()}")
    print(f"run: {args.run} ({len(segments):,} customers); server on 127.0.0.1:{port}, 1 uvicorn worker")
    server = start_server(args.run, port)

    def pick(items: list[Any]) -> Any:
        return items[rng.randrange(len(items))]

    scenarios: list[tuple[str, Callable[[], Request]]] = [
        ("GET /health (baseline)", lambda: lambda c: c.get("/health")),
        ("GET /segments (baseline)", lambda: lambda c: c.get("/segments")),
        ("GET /customers/{id}", lambda: (lambda cid: lambda c: c.get(f"/customers/{cid}"))(pick(customer_ids))),
        ("POST /assign", lambda: (lambda body: lambda c: c.post("/assign", json=body))(pick(bodies))),
    ]
    rows = []
    try:
        for name, make in scenarios:
            result = asyncio.run(
                run_scenario(name, make, f"http://127.0.0.1:{port}", args.seconds, args.concurrency, args.warmup)
            )
            rows.append(result.row())
            print(json.dumps(rows[-1]))
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = [f"{'scenario':28} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"]
    for r in rows:
        counts = f"{r['requests']:>9,} {r['errors']:>7} {r['requests_per_s']:>8}"
        lines.append(f"{r['scenario']:28} {counts} {r['p50_ms']:>8} {r['p99_ms']:>8}")
    print("\n".join(lines))
    print(f"concurrency {args.concurrency}, {args.seconds:g} s per scenario after {args.warmup:g} s warm-up")
    if args.json:
        args.json.write_text(json.dumps({"concurrency": args.concurrency, "seconds": args.seconds, "results": rows}))


if __name__ == "__main__":
    main()
