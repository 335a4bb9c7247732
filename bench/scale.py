"""Scaling of `policy evaluate --summary` (issue 16): one process, `--jobs 2`, `--dask local:2`, and a `dask
scheduler` with two `dask worker` processes, on the same claims, in one run.

    .venv/bin/python bench/scale.py [N] [--quick] [--partition-bytes B] [--keep DIR]

bench/generate.py writes N claims (default 2,000,000, the figure of issue 16; --quick: 20,000, a check that every
contender runs and agrees, in a minute or two, not a measurement) to a JSON Lines file; then each contender decides
them, from that file on disk to summary lines on disk (`--format json --summary -q`), as a fresh process:
  - one process,
  - `--jobs 2`,
  - `--dask local:2` (a cluster of two worker processes the command starts and stops; its start counts),
  - a scheduler and two workers started here beforehand (`dask scheduler`, `dask worker --nthreads 1`), the lines
    sent back to the command, which writes them in order (`> FILE`),
  - the same cluster, the workers writing a folder of parts (`--output DIR/`).
Every contender must write the same bytes as one process (a folder's parts concatenated); the script stops if not.
It prints a Markdown section for bench/RESULTS.md: wall time, CPU time (the command with the processes it waited
for; for the started cluster, the command and the workers' CPU time read from /proc), claims per second, the
speed-up against one process and against the ideal (2× on two workers), the measured per-worker rate, and what a
50-million-claim run would take on 32 workers at that rate. The store is bench/fixtures.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = "jinhua/digital-engineer-subsidy"
STORE = ["--policies", str(ROOT / "bench" / "fixtures" / "store"), "--schemas", str(ROOT / "bench" / "fixtures" /
                                                                                  "schemas")]
PYTHON = sys.executable
TICK = os.sysconf("SC_CLK_TCK")
WORKERS = 2
PROVINCE, CLUSTER = 50_000_000, 32
FULL, QUICK = 2_000_000, 20_000


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run(command: list[str], out: Path | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and every process it waited for)."""
    start = time.perf_counter()
    with (out.open("wb") if out else open(os.devnull, "wb")) as sink, tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=sink, stderr=errors, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 2, 3, 4):  # 2: the generated claims hold invalid ones on purpose
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed with exit code {code}: {errors.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def cluster(logs: Path) -> tuple[str, list[subprocess.Popen]]:
    from distributed import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(PYTHON).parent / "dask")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                  stdout=(logs / "scheduler.log").open("wb"), stderr=subprocess.STDOUT, env=env)]
    processes += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                    "--host", "127.0.0.1"], stdout=(logs / f"worker{i}.log").open("wb"),
                                   stderr=subprocess.STDOUT, env=env) for i in range(WORKERS)]
    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(WORKERS, timeout=180)
    except BaseException:
        stop(processes[1:])
        stop(processes[:1])
        raise
    return address, processes


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", nargs="?", type=int, default=None, help="claims (default 2,000,000)")
    parser.add_argument("--quick", action="store_true", help="20,000 claims: that it runs, not what it measures")
    parser.add_argument("--partition-bytes", type=int, default=8 << 20)
    parser.add_argument("--keep", type=Path, default=None, help="work here (and keep the files), not in a temp dir")
    args = parser.parse_args(argv)
    args.n = args.n or (QUICK if args.quick else FULL)
    work = args.keep or Path(tempfile.mkdtemp(prefix="policy-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    claims = work / f"claims-{args.n}.jsonl"
    if not claims.exists():
        with claims.open("wb") as sink:
            subprocess.run([PYTHON, str(ROOT / "bench" / "generate.py"), str(args.n), "--seed", "16"], stdout=sink,
                           check=True)
    base = [PYTHON, str(ROOT / "cli.py"), *STORE, "evaluate", str(claims), "--policy", POLICY, "--format", "json",
            "--summary", "-q", "--partition-bytes", str(args.partition_bytes)]
    started = datetime.now(UTC)
    load_before = load()
    rows = []
    reference = work / "one.jsonl"
    wall, cpu = run(base, reference)
    rows.append(("one process", wall, cpu, "", 1))
    expected = reference.read_bytes()

    def same(produced: bytes, label: str) -> None:
        if produced != expected:
            raise SystemExit(f"{label}: not the lines of one process")

    out = work / "jobs.jsonl"
    wall, cpu = run(base + ["--jobs", str(WORKERS)], out)
    same(out.read_bytes(), "--jobs")
    rows.append((f"`--jobs {WORKERS}`", wall, cpu, "", WORKERS))
    out = work / "local.jsonl"
    wall, cpu = run(base + ["--dask", f"local:{WORKERS}"], out)
    same(out.read_bytes(), "local")
    rows.append((f"`--dask local:{WORKERS}` (cluster started by the command)", wall, cpu, "", WORKERS))
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    address, processes = cluster(logs)
    per_worker = None
    try:
        workers = processes[1:]
        for label, extra, target in (
                (f"scheduler + {WORKERS} workers, lines through the command", [], work / "scheduler.jsonl"),
                (f"scheduler + {WORKERS} workers, `--output DIR/` (parts by the workers)", ["--output"],
                 work / "parts")):
            if target.is_dir():
                shutil.rmtree(target)
            before = [cpu_of(p.pid) for p in workers]
            if extra:
                wall, cpu = run(base + ["--dask", address, "--output", f"{target}/"], None)
                same(b"".join(p.read_bytes() for p in sorted(target.glob("part-*"))), label)
            else:
                wall, cpu = run(base + ["--dask", address], target)
                same(target.read_bytes(), label)
            spent = [cpu_of(p.pid) - b for p, b in zip(workers, before, strict=True)]
            rows.append((label, wall, cpu, spent, WORKERS))
            if extra:
                per_worker = (args.n / sum(spent), cpu)
    finally:
        stop(processes[1:])  # the workers first: a worker whose scheduler is gone keeps trying to reach it
        stop(processes[:1])
    ended = datetime.now(UTC)
    print(report(args, rows, per_worker, started, ended, load_before, load()))
    return 0


def report(args, rows, per_worker, started, ended, load_before, load_after) -> str:
    one_wall, one_cpu = rows[0][1], rows[0][2]
    lines = [f"`.venv/bin/python bench/scale.py {args.n}` on this machine: {platform.machine()}, "
             f"{os.cpu_count()} cores shared with other work (load average {load_before} at the start, "
             f"{load_after} at the end), Python {platform.python_version()}, "
             f"{started:%Y-%m-%d %H:%M}–{ended:%H:%M} UTC, one run each, **{args.n:,} claims** "
             f"(partitions of {args.partition_bytes >> 20} MiB). Every contender wrote the same bytes as one process."
             + (" **--quick: a check that it runs, not a measurement.**" if args.quick else ""),
             "",
             "| contender | wall s | claims/s (wall) | speed-up (wall) | of the ideal | CPU s, command | "
             "CPU s, workers |",
             "|---|---|---|---|---|---|---|"]
    for label, wall, cpu, spent, workers in rows:
        speed = one_wall / wall
        workers_cpu = " + ".join(f"{s:.1f}" for s in spent) if spent else "(in the command's)"
        lines.append(f"| {label} | {wall:.1f} | {args.n / wall:,.0f} | {speed:.2f}× | {speed / workers:.0%} | "
                     f"{cpu:.1f} | {workers_cpu} |")
    if per_worker:
        rate, driver = per_worker
        deciding = PROVINCE / (CLUSTER * rate)
        driving = PROVINCE / args.n * driver
        lines += ["", f"Per worker, from the scheduler run with parts: {rate:,.0f} claims per CPU second of a worker "
                      f"(one process, one thread). One process alone: {args.n / one_cpu:,.0f} claims per CPU second.",
                  f"{PROVINCE:,} claims on {CLUSTER} such workers: {PROVINCE:,} / ({CLUSTER} × {rate:,.0f}) ≈ "
                  f"{deciding:,.0f} s ({deciding / 60:.1f} min) of deciding, if each worker has a core of its own "
                  f"and reads its partitions at that pace; the command's own CPU (finding partition boundaries, "
                  f"collecting counts) scales to about {driving:,.0f} s for {PROVINCE:,} claims, beside it."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
