"""The decision service under load: requests per second and p50/p99 latency of POST /v1/evaluate at
concurrency 1, 8 and 64 on loopback, with the log in SQLite, in PostgreSQL and switched off (a benchmark
setting), beside the in-process API deciding the same claims in the same run.

    .venv/bin/python bench/service.py [--seconds 5]      (prints the tables of bench/RESULTS.md)

One worker process (`policy serve --workers 1`); the load comes from this process over keep-alive
connections, each sending its next request as soon as the last is answered. PostgreSQL is a server of the
benchmark's own (initdb into a temporary folder), as in the tests.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from service_helpers import FIXTURES, JINHUA, Postgres, Server, copy_store, postgres_bin  # noqa: E402

CLAIMS = [json.loads(line) for line in (FIXTURES / "claims.jsonl").read_bytes().splitlines()]
CONCURRENCY = (1, 8, 64)


def request_bytes(port: int, claim: dict) -> bytes:
    body = orjson.dumps({"policy": JINHUA, "claim": claim})
    return (f"POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def _client(port: int, requests: list[bytes], deadline: float, latencies: list, statuses: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def load(port: int, concurrency: int, seconds: float) -> dict:
    requests = [request_bytes(port, claim) for claim in CLAIMS]
    latencies: list[float] = []
    statuses: dict = {}

    async def run():
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, requests, deadline, latencies, statuses) for _ in range(concurrency)))

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "statuses": statuses}


def in_process(seconds: float) -> tuple[float, float]:
    """Decisions per second (wall, CPU) through engine.api in this process, as JSON like the service answers."""
    from engine.api import Engine

    evaluator = Engine.load(FIXTURES / "store", FIXTURES / "schemas").evaluator(JINHUA)
    for claim in CLAIMS:
        evaluator.evaluate(claim)
    count, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for claim in CLAIMS:
            orjson.dumps(evaluator.evaluate(claim).to_json())
        count += len(CLAIMS)
    return count / (time.perf_counter() - started), count / (time.process_time() - cpu)


def cpu_seconds(pid: int) -> float:
    """User and system time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(folder: Path, database: str, *args: str, seconds: float) -> dict:
    """Each concurrency: wall figures, and decisions per CPU second of the server process (which holds on a
    busy machine, where wall figures mostly measure waiting for a core)."""
    store = copy_store(folder)
    with Server(*store, database, *args) as server:
        load(server.port, 8, 1.0)  # warm up: compile the policy, fill the caches
        cells = {}
        for c in CONCURRENCY:
            before = cpu_seconds(server.process.pid)
            cells[c] = load(server.port, c, seconds)
            cells[c]["per_cpu_s"] = cells[c]["requests"] / (cpu_seconds(server.process.pid) - before)
        return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="Load per cell (default 5).")
    options = parser.parse_args()
    results = {"in-process API": in_process(options.seconds)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sqlite").mkdir()
        results["SQLite"] = measure(folder / "sqlite", f"sqlite:///{folder / 'log.sqlite3'}", seconds=options.seconds)
        (folder / "off").mkdir()
        results["log off"] = measure(folder / "off", f"sqlite:///{folder / 'off.sqlite3'}", "--benchmark-without-log",
                                     seconds=options.seconds)
        if postgres_bin():
            (folder / "pg").mkdir()
            with Postgres() as pg:
                results["PostgreSQL"] = measure(folder / "pg", pg.url, seconds=options.seconds)
    report(results)


def report(results: dict) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    wall, cpu = results["in-process API"]
    print(f"commit {commit.strip()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; one worker; the {len(CLAIMS)} claims of "
          "tests/fixtures/claims.jsonl in turn, whole decisions (explain)")
    print(f"\nin-process API (engine.api and to_json, one thread, same claims): {wall:,.0f} decisions/s wall, "
          f"{cpu:,.0f} per CPU second\n")
    print("| log | concurrency | requests/s | p50 ms | p99 ms | decisions per server CPU s | answers |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name in ("SQLite", "PostgreSQL", "log off"):
        for c, r in results.get(name, {}).items():
            answers = ", ".join(f"{n:,} × {s}" for s, n in sorted(r["statuses"].items()))
            print(f"| {name} | {c} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['per_cpu_s']:,.0f} "
                  f"| {answers} |")
    off = results["log off"]
    print()
    for name in ("SQLite", "PostgreSQL"):
        if name not in results:
            continue
        for key, what in (("rps", "requests/s"), ("per_cpu_s", "decisions per server CPU s")):
            costs = [1 - results[name][c][key] / off[c][key] for c in CONCURRENCY]
            print(f"- logging to {name} costs " + ", ".join(f"{cost:.0%} at {c}" for cost, c in
                                                            zip(costs, CONCURRENCY, strict=True))
                  + f" of {what} with the log off")


if __name__ == "__main__":
    main()
