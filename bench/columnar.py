"""The columnar engine (issue 16) against the plain script and the per-claim engine, in one run.

    .venv/bin/python bench/columnar.py [N ...] [--repeat R] [--jobs]

For each N: bench/generate.py writes N claims to a JSON Lines file; then, from that file on disk to summary lines
on disk, each of these runs R times as a fresh process, the contenders taking turns (one run of each, R times over,
so that a change of the machine's load falls on all of them alike; the best run of each counts, CPU time beside wall
time):
  - the plain script (bench/baseline_cli.py: read, decide by hand, write),
  - `policy evaluate --summary --format json --columnar` (the columnar engine),
  - the same with `--per-claim` (the per-claim engine),
  - with --jobs, both engines again with `--jobs 2`.
It checks that the columnar and per-claim outputs are the same bytes, and prints a Markdown table of claims per
second and the ratios against the plain script and the per-claim engine measured in the same run, with the peak
memory (max RSS) of each process. The store is bench/fixtures (the versions the baseline encodes).

    .venv/bin/python bench/columnar.py [N ...] --impact [--repeat R]

measures `policy impact --format json` instead, `--columnar` against `--per-claim` on the same claims, in turns as
above: the seed policies across the retirement-age reform (bench/fixtures, --from 2024-12-01 --to 2025-04-01: few
claims change) and the fictional second provincial version (tests/fixtures, --from 2025-02-01 --to 2025-04-01: more
claims change, each decided again claim by claim); the reports must be the same bytes.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = "jinhua/digital-engineer-subsidy"
STORE = ["--policies", str(ROOT / "bench" / "fixtures" / "store"), "--schemas", str(ROOT / "bench" / "fixtures" /
                                                                                  "schemas")]
PYTHON = sys.executable
POLICY_CMD = [PYTHON, str(ROOT / "cli.py")]


def timed(command: list[str], out: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process and the workers it waited for, its peak RSS in KiB)."""
    start = time.perf_counter()
    with out.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.DEVNULL, cwd=ROOT,
                                   env=os.environ | {"PYTHONHASHSEED": "0"})
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2, 3, 4):
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _scheduler():
    """A dask scheduler and two single-threaded dask workers on 127.0.0.1: (address, processes). CPU time of these
    is not the command's: for them the wall time is the figure."""
    import socket

    from distributed import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(PYTHON).parent / "dask")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                  **quiet)]
    processes += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                    "--host", "127.0.0.1"], env=os.environ | {"PYTHONPATH": str(ROOT)}, **quiet)
                  for _ in range(2)]
    with Client(address, timeout="60s") as client:
        client.wait_for_workers(2, timeout=120)
    return address, processes


FICTIONAL = ["--policies", str(ROOT / "tests" / "fixtures" / "store"), "--schemas", str(ROOT / "tests" / "fixtures" /
                                                                                      "schemas")]
IMPACTS = [("seed, retirement-age reform (2024-12-01 → 2025-04-01)", STORE, "2024-12-01", "2025-04-01"),
           ("fictional provincial version (2025-02-01 → 2025-04-01)", FICTIONAL, "2025-02-01", "2025-04-01")]


def impact_rows(n: int, claims: Path, folder: Path, repeat: int) -> None:
    """`policy impact` by columns and claim by claim on the same claims, in turns; a table row each."""
    contenders = []
    for label, store, start, end in IMPACTS:
        command = POLICY_CMD + store + ["impact", POLICY, str(claims), "--from", start, "--to", end, "--format",
                                        "json", "--quiet"]
        contenders += [(label, "columns", command + ["--columnar"]), (label, "per claim", command + ["--per-claim"])]
    outputs = {(label, mode): folder / f"impact-{i}.json" for i, (label, mode, _) in enumerate(contenders)}
    runs: dict = {key: [] for key in outputs}
    for _ in range(repeat):
        for label, mode, command in contenders:
            runs[label, mode].append(timed(command, outputs[label, mode]))
    for label, *_ in IMPACTS:
        columns, per_claim = outputs[label, "columns"].read_bytes(), outputs[label, "per claim"].read_bytes()
        if columns != per_claim:
            raise SystemExit(f"{label}: the report by columns differs from the per-claim one")
        import json

        changed = json.loads(per_claim)
        moved = len(changed["changed_claims"]) + len(changed["not_decided"])
        best = {mode: min(runs[label, mode], key=lambda r: r[1]) for mode in ("columns", "per claim")}
        for mode, (wall, cpu, rss) in best.items():
            print(f"| {n:,} | {label}: {mode} | {moved:,} | {wall:.2f} | {cpu:.2f} | {n / cpu:,.0f} | "
                  f"{best['per claim'][1] / cpu:.2f} | {rss / 1024:.0f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[20_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", action="store_true", help="also --jobs 2 for both engines")
    parser.add_argument("--dask", action="store_true",
                        help="also --dask local:2 and a dask scheduler with two dask workers started here")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--impact", action="store_true",
                        help="measure policy impact by columns against claim by claim instead")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load[0]:.1f} at the start ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
    if args.impact:
        print("| claims | sides: how | claims listed (changed, or decided under neither) | wall s | CPU s "
              "| claims/s (CPU) | × per claim | max RSS MiB |")
        print("|---|---|---|---|---|---|---|---|")
        with tempfile.TemporaryDirectory(prefix="bench-impact-") as tmp:
            for n in args.sizes:
                claims = Path(tmp) / f"claims-{n}.jsonl"
                with claims.open("wb") as sink:
                    subprocess.run([PYTHON, str(ROOT / "bench" / "generate.py"), str(n), "--seed", str(args.seed)],
                                   stdout=sink, check=True)
                impact_rows(n, claims, Path(tmp), args.repeat)
        load = os.getloadavg()
        print(f"\nLoad average {load[0]:.1f} at the end. Ratios are of CPU time; the reports by columns and claim by "
              "claim were the same bytes.")
        return 0
    print("| claims | contender | wall s | CPU s | claims/s (CPU) | × plain script | × per-claim engine "
          "| max RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-columnar-") as tmp:
        folder = Path(tmp)
        for n in args.sizes:
            claims = folder / f"claims-{n}.jsonl"
            with claims.open("wb") as sink:
                subprocess.run([PYTHON, str(ROOT / "bench" / "generate.py"), str(n), "--seed", str(args.seed)],
                               stdout=sink, check=True)
            summary = POLICY_CMD + STORE + ["evaluate", str(claims), "--policy", POLICY, "--format", "json",
                                            "--summary", "--quiet"]
            contenders = [("plain script (bench/baseline_cli.py)", [PYTHON, str(ROOT / "bench" / "baseline_cli.py"),
                                                                    str(claims)]),
                          ("columnar engine", summary + ["--columnar"]),
                          ("per-claim engine (--per-claim)", summary + ["--per-claim"])]
            if args.jobs:
                contenders += [("columnar engine, --jobs 2", summary + ["--columnar", "--jobs", "2"]),
                               ("per-claim engine, --jobs 2", summary + ["--per-claim", "--jobs", "2"])]
            scheduler = _scheduler() if args.dask else None
            if scheduler is not None:
                columns = summary + ["--columnar", "--dask"]
                contenders += [("columnar engine, --dask local:2", columns + ["local:2"]),
                               ("columnar engine, scheduler + 2 workers", columns + [scheduler[0]])]
            outputs = {name: folder / f"out-{i}.jsonl" for i, (name, _) in enumerate(contenders)}
            runs: dict = {name: [] for name, _ in contenders}
            for _ in range(args.repeat):  # in turns: each round runs every contender once
                for name, command in contenders:
                    runs[name].append(timed(command, outputs[name]))
            results = {name: min(times, key=lambda r: r[1]) for name, times in runs.items()}
            if scheduler is not None:
                for process in scheduler[1]:
                    process.terminate()
                    process.wait()
            columnar_bytes = outputs["columnar engine"].read_bytes()
            for name, out in outputs.items():
                if name != "plain script (bench/baseline_cli.py)" and out.read_bytes() != columnar_bytes:
                    raise SystemExit(f"{name}: the output differs from the columnar engine's")
            plain_cpu = results["plain script (bench/baseline_cli.py)"][1]
            per_claim_cpu = results["per-claim engine (--per-claim)"][1]
            for name, (wall, cpu, rss) in results.items():
                print(f"| {n:,} | {name} | {wall:.2f} | {cpu:.2f} | {n / cpu:,.0f} | {plain_cpu / cpu:.2f} | "
                      f"{per_claim_cpu / cpu:.2f} | {rss / 1024:.0f} |")
    load = os.getloadavg()
    print(f"\nLoad average {load[0]:.1f} at the end. Ratios are of CPU time (user + system of the process and its "
          "workers), which a loaded machine disturbs less than wall time; the columnar and per-claim outputs were "
          "the same bytes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
