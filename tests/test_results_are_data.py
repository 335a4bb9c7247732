"""A decision handed to the caller is data of its own: what it shares with the policy's compiled program (table
rows, constant lists, results of functions remembered across claims, the versions it references) cannot be
changed through it, and copying or pickling it keeps every value, the absent ones included. Fictional policy."""
from __future__ import annotations

import copy
import json
import pickle

import pytest
from authoring_demo import SCHEMA

from engine.api import Engine
from engine.decide.explain import explain

POLICY = """\
policy: demo/shared
version: "2024-01-01"
title: 示例
effective: {from: 2024-01-01}
issued_on: 2023-12-01
source:
  number: 示例〔2023〕2号
  title: 示例通知
  issuers: [示例局]
  clauses: {一: 补贴标准见附表。}
input: {schema: grant-claim.schema.json}
tables:
  amounts:
    clause: 一
    key: [level]
    columns: {level: string, amount: money}
    rows: [[junior, 100], [senior, 300]]
definitions:
  levels_of:
    clause: 一
    params: {level: string}
    expr: filter(l in ["junior", "senior"] where l == level)
rules:
  - id: bonus_not_negative
    clause: 一
    require: (person.bonus ?? 0) >= 0
    message: {pass: 奖励不为负, fail: 奖励为负}
outputs:
  row: {clause: 一, expr: "amounts[person.level]"}
  kinds: {clause: 一, expr: '["甲", "乙"]'}
  same_levels: {clause: 一, expr: levels_of(person.level)}
  bonus: {clause: 一, expr: person.bonus ?? 0}
decision:
  clause: 一
  amount: amounts[person.level].amount
  currency: CNY
"""

CLAIM = {"claim_id": "C-1", "applied_on": "2024-02-01", "person": {"age": 30, "level": "junior"}}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared")
    (root / "policies" / "demo" / "shared").mkdir(parents=True)
    (root / "policies" / "demo" / "shared" / "2024-01-01.yaml").write_text(POLICY, encoding="utf-8")
    (root / "schemas").mkdir()
    schema = copy.deepcopy(SCHEMA)  # and a fact a claim may leave out
    schema["properties"]["person"]["properties"]["bonus"] = {"type": "integer"}
    (root / "schemas" / "grant-claim.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    return root


def _evaluator(store, explain_reads: bool):
    return Engine.load(store / "policies", store / "schemas").evaluator("demo/shared", explain=explain_reads)


def _changes(decision) -> list:
    """Every way a caller might edit a decision in place, as (what, change)."""
    row = dict(decision.amount_reads or ()).get("amounts[person.level]") or decision.outputs["row"]
    return [
        ("a table row it read", lambda: row.__setitem__("amount", 5)),
        ("a table row output", lambda: decision.outputs["row"].update(amount=5)),
        ("a constant list output", lambda: decision.outputs["kinds"].append("丙")),
        ("a remembered function's result", lambda: decision.outputs["same_levels"].clear()),
        ("the references", lambda: decision.references.append(decision.references)),
    ]


@pytest.mark.parametrize("explain_reads", [True, False])
def test_editing_a_decision_never_changes_the_next_one(store, explain_reads):
    evaluator = _evaluator(store, explain_reads)
    first = evaluator.evaluate(CLAIM)
    expected = first.to_json()
    for what, change in _changes(first):
        with pytest.raises((TypeError, AttributeError)):
            change()
        again = evaluator.evaluate(CLAIM)
        assert again.to_json() == expected, what
    assert expected["amount"] == "100" and expected["outputs"]["kinds"] == ["甲", "乙"]
    assert expected["outputs"]["same_levels"] == ["junior"]


def test_a_copy_of_a_shared_value_can_be_changed(store):
    decision = _evaluator(store, True).evaluate(CLAIM)
    row = dict(decision.outputs["row"])
    row["amount"] = 5
    kinds = list(decision.outputs["kinds"]) + ["丙"]
    assert row == {"level": "junior", "amount": 5} and kinds == ["甲", "乙", "丙"]
    assert decision.outputs["row"] == {"level": "junior", "amount": 100} and decision.outputs["row"] != row


def test_a_decision_pickled_or_copied_has_the_same_json_and_explanation(store):
    decision = _evaluator(store, True).evaluate(CLAIM)
    assert "person.bonus = (absent)" in explain(decision, verbose=True)
    for other in (pickle.loads(pickle.dumps(decision)), copy.deepcopy(decision), copy.copy(decision)):
        assert other.to_json() == decision.to_json()
        assert explain(other, verbose=True) == explain(decision, verbose=True)
