"""`policy impact --columnar` against `policy impact --per-claim`: the same report (JSON and text, byte for byte) and
the same exit code.

The seed policies (pinned copies, tests/seedstore.py) and the fictional test policies (tests/fixtures/store: a second
provincial version, another city), compared between dates and pinned versions; on random claims as the columnar
engine's own differential tests make them (tests/test_columnar.py): invalid ones, absent optional facts, leap days,
month ends, lines written in every way, with odd values, and claim ids given twice or not at all. Small chunks, so
that a run crosses many chunk boundaries; expressions forced to fall back to per-claim code give the same report too.
The same on a Dask cluster is in tests/test_distributed.py.
"""
from __future__ import annotations

import random

import orjson
import pytest
from clirun import run_policy
from seedstore import SEED_POLICIES, SEED_SCHEMAS

pytest.importorskip("numpy", reason="the columnar engine computes with NumPy (pip install numpy)")

from engine.columnar import batch as columnar  # noqa: E402
from engine.columnar import impact as columnar_impact  # noqa: E402
from tests.test_columnar import ROOT, _bench_claims, _odd_lines  # noqa: E402

FIX = ROOT / "tests" / "fixtures"
FICTIONAL = ["--policies", str(FIX / "store"), "--schemas", str(FIX / "schemas")]
SEED = ["--policies", str(SEED_POLICIES), "--schemas", str(SEED_SCHEMAS)]
JH, WZ, ZJ = "jinhua/digital-engineer-subsidy", "wenzhou/digital-engineer-subsidy", "zhejiang/digital-engineer"


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    """Random claims as JSON Lines: the benchmark's claims shifted to edges and stripped of optional facts, lines
    written in every way with odd values, the fixture claims (each of which the hand-checked tests know), ids given
    twice and no id at all."""
    path = tmp_path_factory.mktemp("impact-columnar") / "claims.jsonl"
    rng = random.Random(1611)
    lines = [orjson.dumps(raw.data) + b"\n" for raw in _bench_claims(900, 1611)]
    lines += _odd_lines(400, 1612).splitlines(keepends=True)
    lines += (FIX / "claims.jsonl").read_bytes().splitlines(keepends=True)
    for _ in range(30):  # an id given again (the same claim or another), and claims without an id
        line = orjson.loads(rng.choice(lines[:900]))
        if rng.random() < 0.5:
            line["claim_id"] = orjson.loads(rng.choice(lines[:900]))["claim_id"]
        else:
            line.pop("claim_id", None)
        lines.insert(rng.randrange(len(lines)), orjson.dumps(line) + b"\n")
    rng.shuffle(lines)
    path.write_bytes(b"".join(lines))
    return path


@pytest.fixture()
def small_chunks(monkeypatch):
    monkeypatch.setattr(columnar_impact, "CHUNK", 97)


def both_ways(store: list[str], *args: str):
    """(per claim, by columns): each run's exit code, standard output and standard error."""
    runs = []
    for mode in ("--per-claim", "--columnar"):
        done = run_policy(*store, "impact", *args, mode, cwd=ROOT)
        runs.append((done.returncode, done.stdout, done.stderr))
    return runs


CASES = [
    (SEED, JH, "2024-12-01", "2025-04-01"),  # the retirement age reform underneath
    (SEED, JH, "2025-04-01", "2024-12-01"),  # and back: amounts down, claims no longer decided
    (SEED, ZJ, "@2023-09-16", "2025-02-01"),  # a pinned version (its references on each claim's date) and a date
    (FICTIONAL, JH, "2025-02-01", "2025-04-01"),  # a new provincial version: amounts up, new occupations
    (FICTIONAL, JH, "@2024-05-01", "2025-04-01"),  # claims its version is not in force for: now decided
    (FICTIONAL, JH, "2025-04-01", "@2024-05-01"),  # and no longer decided
    (FICTIONAL, ZJ, "@2023-09-16", "@2025-03-01"),  # two pinned versions
    (FICTIONAL, ZJ, "2025-04-01", "@2023-09-16"),
    (FICTIONAL, WZ, "2024-10-01", "2025-04-01"),  # another city
]


@pytest.mark.parametrize("store,policy,start,end", CASES)
def test_the_columns_give_the_report_of_the_per_claim_engine(claims, small_chunks, store, policy, start, end):
    per_claim, by_columns = both_ways(store, policy, str(claims), "--from", start, "--to", end, "--format", "json")
    assert by_columns == per_claim
    report = orjson.loads(per_claim[1])
    assert report["claims"] > 1300 and report["duplicate_ids"]  # what the run covered, so that it means something
    assert report["not_decided"]


def test_the_columns_give_the_text_report_and_its_exit_code(claims, small_chunks):
    per_claim, by_columns = both_ways(FICTIONAL, JH, str(claims), "--from", "2025-02-01", "--to", "2025-04-01")
    assert by_columns == per_claim
    assert per_claim[0] == 2 and b"changed claims:" in per_claim[1]  # ids given twice: exit 2
    fixture = str(FIX / "claims.jsonl")  # no id twice, and some claim decided: exit 0
    per_claim, by_columns = both_ways(FICTIONAL, JH, fixture, "--from", "2025-02-01", "--to", "2025-04-01")
    assert by_columns == per_claim and per_claim[0] == 0


def test_expressions_forced_to_fall_back_give_the_same_report_and_verbose_names_them(claims, small_chunks,
                                                                                   monkeypatch):
    forced = frozenset(("add_months",))
    monkeypatch.setattr(columnar_impact, "columnar_program",
                        lambda evaluator, program: columnar.columnar_program(evaluator, program, forced))
    args = [JH, str(claims), "--from", "2025-02-01", "--to", "2025-04-01", "--format", "json"]
    per_claim = run_policy(*FICTIONAL, "impact", *args, "--per-claim", "-v", cwd=ROOT)
    by_columns = run_policy(*FICTIONAL, "impact", *args, "--columnar", "-v", cwd=ROOT)
    assert by_columns.stdout == per_claim.stdout and by_columns.returncode == per_claim.returncode
    said = by_columns.stderr.decode()
    assert "columnar engine:" in said and "add_months" in said, said
    assert "columnar engine:" not in per_claim.stderr.decode()


def test_impact_compares_by_columns_by_default_where_they_pay(claims, monkeypatch):
    from engine.cli import developers

    args = [*FICTIONAL, "impact", JH, str(claims), "--from", "2025-02-01", "--to", "2025-04-01", "--format", "json",
            "-v"]
    monkeypatch.setattr(developers, "COLUMNS_FROM_BYTES", claims.stat().st_size)  # this file is big enough
    by_default = run_policy(*args, cwd=ROOT)
    assert "columnar engine:" in by_default.stderr.decode()
    monkeypatch.setattr(developers, "COLUMNS_FROM_BYTES", claims.stat().st_size + 1)  # now it is not
    per_claim = run_policy(*args, cwd=ROOT)
    assert "columnar engine:" not in per_claim.stderr.decode()
    assert by_default.stdout == per_claim.stdout and by_default.returncode == per_claim.returncode
