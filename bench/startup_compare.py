"""Start-up, one change at a time (issue 12): `policy evaluate one-claim.json` with a warm cache and the .pyc kept,
from two or more source trees, interleaved with `python -c pass` in the same run.

    .venv/bin/python bench/startup_compare.py RUNS NAME=TREE [NAME=TREE ...]

A tree is a checkout of the repository (for example `git archive main | tar -x -C /tmp/before`); each runs as
`python -m engine.cli.main` with PYTHONPATH=TREE, its own cache folder and its own .pyc folder, on its own copy of
bench/fixtures. Every tree must write the same decision. Prints a Markdown table of medians (wall and CPU time,
each against `python -c pass`).
"""
from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str]) -> None:
    import orjson
    import run  # the benchmark's one claim and policy

    runs, trees = int(argv[0]), dict(a.split("=", 1) for a in argv[1:])
    tmp = Path(tempfile.mkdtemp(prefix="startup-compare-"))
    one = tmp / "one-claim.json"
    one.write_bytes(orjson.dumps(run.ONE_CLAIM))
    python = run.PYTHON
    base = {**os.environ, "POLICY_CACHE": "1", "PYTHONDONTWRITEBYTECODE": ""}
    commands = {"python -c pass": ([python, "-c", "pass"], {**base, "PYTHONPYCACHEPREFIX": str(tmp / "pyc")})}
    for name, tree in trees.items():
        env = {**base, "PYTHONPATH": tree, "POLICY_CACHE_DIR": str(tmp / f"cache-{name}"),
               "PYTHONPYCACHEPREFIX": str(tmp / f"pyc-{name}")}
        commands[name] = ([python, "-m", "engine.cli.main", "--policies", f"{tree}/bench/fixtures/store",
                           "--schemas", f"{tree}/bench/fixtures/schemas", "evaluate", str(one), "--policy", run.POLICY,
                           "--format", "json", "-q"], env)
    decisions = set()
    for name, (args, env) in commands.items():  # fill the caches (store, compiled code, bytecode)
        for _ in range(2):
            done = subprocess.run(args, env=env, capture_output=True, check=True, cwd=tmp)
        if name in trees:
            decisions.add(done.stdout.replace(trees[name].encode(), b""))
    assert len(decisions) == 1, "the trees decide differently"
    walls: dict = {name: [] for name in commands}
    cpus: dict = {name: [] for name in commands}
    loads = [os.getloadavg()[0]]
    for _ in range(runs):
        for name, (args, env) in commands.items():
            before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(args, env=env, stdout=subprocess.DEVNULL, check=True, cwd=tmp)
            walls[name].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    loads.append(os.getloadavg()[0])
    med = statistics.median
    floor_wall, floor_cpu = med(walls["python -c pass"]), med(cpus["python -c pass"])
    print(f"{runs} runs of each, interleaved; medians. Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"1-minute load average {min(loads):.1f}-{max(loads):.1f} during the run.\n")
    print("| `policy evaluate one-claim.json` (warm cache, .pyc kept) | wall | vs `python -c pass` (wall) | CPU "
          "| vs `python -c pass` (CPU) |")
    print("|---|---:|---:|---:|---:|")
    for name in commands:
        w, c = med(walls[name]), med(cpus[name])
        print(f"| {name} | {w * 1000:,.0f} ms | **{w / floor_wall:.2f}×** | {c * 1000:,.0f} ms "
              f"| {c / floor_cpu:.2f}× |")


if __name__ == "__main__":
    main(sys.argv[1:])
