"""A full decision's JSON line is written straight from the decision (Decision.json_bytes), faster than building its
plain form first; these tests show the bytes are those of orjson.dumps(decision.to_json()), on every benchmark claim,
every fixture claim, and on the values that take other ways (big integers, lone surrogates, MISSING, Decimals inside
records, a name read twice with two values)."""
from __future__ import annotations

import copy
import importlib.util
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from engine.api import Engine
from engine.claims.reader import read_claims
from engine.decide.batch import OutputFormat, render
from engine.decide.results import Decision
from engine.language.compiler import MISSING

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
FULL = OutputFormat("json")


def _plain_render(result) -> bytes:
    """The line as it was written before json_bytes: the plain form, through orjson or the standard encoder."""
    data = result.to_json()
    try:
        return orjson.dumps(data) + b"\n"
    except TypeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode(
            "utf-8", "backslashreplace") + b"\n"


def _generated_claims(n: int) -> list[dict]:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.claims(n, 20240501, huge_every=500))


@pytest.mark.parametrize("explain", [True, False], ids=["explained", "plain"])
def test_every_benchmark_decision_writes_the_same_bytes(explain):
    evaluator = Engine.load(ROOT / "bench" / "fixtures" / "store", ROOT / "bench" / "fixtures" / "schemas").evaluator(
        "jinhua/digital-engineer-subsidy", explain=explain)
    decided = 0
    for claim in _generated_claims(1500):
        result = evaluator.evaluate(claim)
        if type(result) is Decision:
            decided += 1
            assert render(result, FULL) == _plain_render(result), claim["claim_id"]
    assert decided > 1000


@pytest.mark.parametrize("policy", ["jinhua/digital-engineer-subsidy", "wenzhou/digital-engineer-subsidy"])
def test_every_fixture_decision_writes_the_same_bytes(policy):
    evaluator = Engine.load(FIX / "store", FIX / "schemas").evaluator(policy, explain=True)
    results = [evaluator.evaluate_raw(raw) for raw in read_claims([str(FIX / "claims.jsonl")])]
    decisions = [r for r in results if type(r) is Decision]
    assert decisions
    for result in decisions:
        assert render(result, FULL) == _plain_render(result), result.claim_id


@pytest.fixture(scope="module")
def decision() -> Decision:
    evaluator = Engine.load(FIX / "store", FIX / "schemas").evaluator("jinhua/digital-engineer-subsidy", explain=True)
    for raw in read_claims([str(FIX / "claims.jsonl")]):
        result = evaluator.evaluate_raw(raw)
        if type(result) is Decision and result.rules and result.outputs:
            return result
    raise AssertionError("no fixture claim was decided")


@pytest.mark.parametrize("reads, outputs", [
    ([("n", Decimal("1.50")), ("n", Decimal("2")), ("row", {"amount": Decimal("2300.00"), "on": date(999, 1, 2)})],
     {"list": [Decimal("0.10"), MISSING, None, True, "文本"], "record": {"d": date(2024, 2, 29)}}),
    ([("gone", MISSING), ("list", [{"a": Decimal("-0")}, [1, 2]])], {"missing": MISSING}),
    ([("big", 2 ** 70)], {}),  # beyond orjson's integers: the standard encoder, in both ways
    ([("text", "lone \ud800 surrogate")], {}),
    ([], {"big": -(2 ** 64)}),
], ids=["decimals-dates", "missing-nested", "big-read", "surrogate", "big-output"])
def test_values_that_take_other_ways_write_the_same_bytes(decision, reads, outputs):
    changed = copy.copy(decision)
    changed.rules = [copy.copy(r) for r in decision.rules]
    changed.rules[0].reads = reads
    changed.amount_reads = list(reads)
    changed.outputs = outputs
    assert render(changed, FULL) == _plain_render(changed)


def test_a_rule_that_could_not_be_decided_writes_the_same_bytes(decision):
    changed = copy.copy(decision)
    changed.rules = [copy.copy(r) for r in decision.rules]
    changed.rules[-1].outcome, changed.rules[-1].error = "error", "a fact is missing"
    changed.known_on = date(2025, 1, 1)
    changed.out_of_force = {"in_force": None, "from": "2024-05-01", "to": None}
    assert render(changed, FULL) == _plain_render(changed)
