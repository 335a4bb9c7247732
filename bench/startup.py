"""Start-up (issue 12): what a fresh process spends before its first decision, and a fresh engine's first pass.

    .venv/bin/python bench/startup.py [--reps N] [--claims N] [--installed VENV]  ->  the headline figures, as Markdown
    .venv/bin/python bench/startup.py POLICIES SCHEMAS POLICY CLAIM.json  ->  one JSON line of seconds (run.py)

The headline run measures, interleaved and N times each (median):
- cold start: `policy evaluate one-claim.json` with a warm cache against `python -c pass` in the same run (and
  against importing only the libraries it cannot do without, FLOOR, and the same as the engine imports them), with the
  engine's bytecode kept (what an installed package has: pip compiles every .pyc at install time) and without it
  (a checkout under PYTHONDONTWRITEBYTECODE=1, as this environment sets it: every engine module is compiled from
  source at every start);
- inside a fresh process: importing the engine, loading the store (warm cache), and linking, checking and
  compiling the program for the claim's decision date, with the bytecode kept and without;
- a freshly loaded engine's first pass over claims it has not seen, against an engine that has decided the rest
  of the batch first (claims per CPU second), as bench/run.py measures it.

In the one-line mode: import: importing the engine; load: reading the store (from the cache when
$POLICY_CACHE_DIR holds it); compile: linking, checking and compiling the program for the claim's decision date;
decide: the claim.
"""
from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(policies: str, schemas: str, policy: str, claim_file: str) -> None:
    start = time.perf_counter()
    from engine.api import Engine
    from engine.claims.reader import RawClaim
    from engine.policies.cache import load_store

    imported = time.perf_counter()
    store = load_store(policies, schemas)
    loaded = time.perf_counter()
    claim = json.loads(open(claim_file, encoding="utf-8").read())
    evaluator = Engine(store).evaluator(policy, explain=False, outputs=False)
    reader = evaluator._reader(evaluator._any_version())
    facts, error = reader.facts(RawClaim(claim, claim_file))
    evaluator._program_on(reader.decision_date(facts))
    compiled = time.perf_counter()
    evaluator.evaluate(claim)
    decided = time.perf_counter()
    print(json.dumps({"import": imported - start, "load": loaded - imported, "compile": compiled - loaded,
                      "decide": decided - compiled}))


# The libraries a warm one-claim evaluate imports and cannot do without while it decides a claim that carries a
# resident identity number: the command line, the claim's JSON and its schema, calendar months, GB 11643.
FLOOR = "click, orjson, jsonschema_rs, dateutil.relativedelta, stdnum.cn.ric"
# The same libraries as the engine imports them: stdnum and jsonschema-rs without the modules they import only for
# functions the engine never calls (engine/core/lightimport.py), so part of the cost of FLOOR is not the engine's.
FLOOR_SPARED = ("import click, orjson, dateutil.relativedelta; from engine.core import lightimport; "
                "lightimport.jsonschema_rs(); lightimport.stdnum_ric()")


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # microseconds, where os.times() counts 10 ms ticks
    return usage.ru_utime + usage.ru_stime


def headline(reps: int, n_claims: int, installed: Path | None = None) -> None:
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import orjson
    import run  # the benchmark's claims, store and policy

    python, policy_bin = run.PYTHON, run.POLICY_BIN
    tmp = Path(tempfile.mkdtemp(prefix="startup-"))
    one = tmp / "one-claim.json"
    one.write_bytes(orjson.dumps(run.ONE_CLAIM))
    base = {**os.environ, "POLICY_CACHE": "1", "POLICY_CACHE_DIR": str(tmp / "cache")}
    no_pyc = {**base, "PYTHONDONTWRITEBYTECODE": "1"}
    no_pyc.pop("PYTHONPYCACHEPREFIX", None)
    pyc = {**base, "PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
    evaluate = [policy_bin, *run.STORE_ARGS, "evaluate", str(one), "--policy", run.POLICY, "--format", "json", "-q"]
    inside = [python, str(here / "startup.py"), str(run.FIXTURE_POLICIES), str(run.FIXTURE_SCHEMAS), run.POLICY,
              str(one)]
    loads = [os.getloadavg()[0]]
    for env in (pyc, no_pyc):  # fill the caches (store, compiled code, bytecode)
        for args in (evaluate, inside):
            subprocess.run(args, env=env, capture_output=True, check=True, cwd=run.ROOT)
    commands = {"python -c pass": ([python, "-c", "pass"], pyc),
                f"python -c 'import {FLOOR}'": ([python, "-c", f"import {FLOOR}"], pyc),
                "the same, as the engine imports them (core/lightimport.py)": ([python, "-c", FLOOR_SPARED], pyc),
                "policy evaluate one-claim.json (warm cache, .pyc kept)": (evaluate, pyc),
                "policy evaluate one-claim.json (warm cache, no .pyc)": (evaluate, no_pyc)}
    bases = dict.fromkeys(commands, "python -c pass")
    if installed is not None:  # a virtual environment the wheel was installed in: no editable finder at start-up
        installed_env = {**base, "PYTHONDONTWRITEBYTECODE": "", "POLICY_CACHE_DIR": str(tmp / "cache-installed")}
        installed_env.pop("PYTHONPYCACHEPREFIX", None)
        evaluate_installed = [str(installed / "bin" / "policy"), *evaluate[1:]]
        subprocess.run(evaluate_installed, env=installed_env, capture_output=True, check=True, cwd=tmp)
        commands["python -c pass (installed wheel)"] = ([str(installed / "bin" / "python"), "-c", "pass"],
                                                        installed_env)
        commands["policy evaluate one-claim.json (installed wheel, warm cache)"] = (evaluate_installed, installed_env)
        bases.update(dict.fromkeys(list(commands)[-2:], "python -c pass (installed wheel)"))
    walls: dict = {name: [] for name in commands}
    cpus: dict = {name: [] for name in commands}
    inner: dict = {".pyc kept": [], "no .pyc": []}
    for _ in range(reps):
        for name, (args, env) in commands.items():
            before, started = _cpu_children(), time.perf_counter()
            subprocess.run(args, env=env, stdout=subprocess.DEVNULL, check=True, cwd=run.ROOT)
            walls[name].append(time.perf_counter() - started)
            cpus[name].append(_cpu_children() - before)
        for label, env in ((".pyc kept", pyc), ("no .pyc", no_pyc)):
            out = subprocess.run(inside, env=env, capture_output=True, check=True, cwd=run.ROOT).stdout
            inner[label].append(orjson.loads(out))
    loads.append(os.getloadavg()[0])

    first, steady = _first_pass(run, n_claims, tmp)
    loads.append(os.getloadavg()[0])

    med = statistics.median
    print(f"{reps} runs of each, interleaved; medians. Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"1-minute load average {min(loads):.1f}-{max(loads):.1f} during the run.\n")
    print("| command | wall | vs `python -c pass` (wall) | CPU | vs `python -c pass` (CPU) |")
    print("|---|---:|---:|---:|---:|")
    for name in commands:  # each against `python -c pass` of its own environment
        w, c = med(walls[name]), med(cpus[name])
        floor_wall, floor_cpu = med(walls[bases[name]]), med(cpus[bases[name]])
        print(f"| `{name}` | {w * 1000:,.0f} ms | **{w / floor_wall:.2f}×** | {c * 1000:,.0f} ms "
              f"| {c / floor_cpu:.2f}× |")
    print("\n| inside a fresh process (warm cache) | import | load | link + check + compile | "
          "**load + check + compile** | first decision |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, runs in inner.items():
        m = {k: med([r[k] for r in runs]) for k in runs[0]}
        print(f"| {label} | {m['import'] * 1000:,.0f} ms | {m['load'] * 1000:,.1f} ms "
              f"| {m['compile'] * 1000:,.1f} ms | **{(m['load'] + m['compile']) * 1000:,.1f} ms** "
              f"| {m['decide'] * 1000:,.2f} ms |")
    print(f"\nfresh engine's first pass over {n_claims:,} claims it has not seen: {first:,.0f} claims per CPU s; "
          f"an engine that decided the other {n_claims:,} first: {steady:,.0f} — **{first / steady:.2f}×** "
          f"(medians of {len(FIRST_RUNS)} alternations; each alternation's ratio: "
          f"{', '.join(f'{r:.2f}' for r in FIRST_RUNS)})")


FIRST_RUNS: list = []


def _first_pass(run, n: int, tmp: Path) -> tuple[float, float]:
    """run.py's first-pass measure, repeated: (median claims per CPU s of a fresh engine's first pass, of the
    steady state)."""
    import orjson

    from engine.api import Engine

    path = tmp / "claims.jsonl"
    with open(path, "wb") as out:
        subprocess.run([run.PYTHON, str(Path(run.__file__).with_name("generate.py")), str(2 * n), "--seed",
                        str(run.SEED)], stdout=out, check=True)
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    seen, unseen = lines[:n], lines[n:]

    def rate(fn, claims) -> float:
        started = time.process_time()
        for claim in claims:
            fn(claim)
        return len(claims) / (time.process_time() - started)

    firsts, steadies = [], []
    for _ in range(3):
        fresh = Engine.load(run.FIXTURE_POLICIES, run.FIXTURE_SCHEMAS).evaluator(run.POLICY, explain=False)
        fresh.evaluate(unseen[0])
        run._forget_module_caches()
        firsts.append(rate(fresh.evaluate, unseen))
        warmed = Engine.load(run.FIXTURE_POLICIES, run.FIXTURE_SCHEMAS).evaluator(run.POLICY, explain=False)
        run._forget_module_caches()
        for claim in seen:
            warmed.evaluate(claim)
        steadies.append(rate(warmed.evaluate, unseen))
        FIRST_RUNS.append(firsts[-1] / steadies[-1])
    return statistics.median(firsts), statistics.median(steadies)


if __name__ == "__main__":
    argv = sys.argv[1:]
    if len(argv) == 4 and not argv[0].startswith("-"):
        child(*argv)
    else:
        import argparse

        parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
        parser.add_argument("--reps", type=int, default=11)
        parser.add_argument("--claims", type=int, default=5000)
        parser.add_argument("--installed", type=Path, metavar="VENV",
                            help="also a virtual environment the wheel is installed in (pip install dist/*.whl): its "
                                 "`policy` against its own `python -c pass`; the checkout's .venv is an editable "
                                 "install, whose finder every one of its processes imports at start-up")
        options = parser.parse_args(argv)
        headline(options.reps, options.claims, options.installed)
