"""A developer's mistakes in calling the Python API are said where they are made, in words, as TypeError,
ValueError or PolicyNotFound: never an internal error on every claim decided afterwards, nor a pin quietly
ignored. On the fixture store (tests/fixtures)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from engine.api import Engine, PolicyNotFound, Selection
from engine.claims.reader import read_claims

FIXTURES = Path(__file__).resolve().parent / "fixtures"
POLICY = "jinhua/digital-engineer-subsidy"
CLAIM = json.loads((FIXTURES / "claims.jsonl").read_text(encoding="utf-8").splitlines()[0])


@pytest.fixture(scope="module")
def engine():
    return Engine.load(FIXTURES / "store", FIXTURES / "schemas")


def test_known_on_as_text_is_the_date_it_names(engine):
    as_text = engine.evaluator(POLICY, Selection(known_on="2025-06-01")).evaluate(CLAIM)
    as_date = engine.evaluator(POLICY, Selection(known_on=dt.date(2025, 6, 1))).evaluate(CLAIM)
    assert as_text.to_json() == as_date.to_json() and as_text.known_on == dt.date(2025, 6, 1)


@pytest.mark.parametrize("fields, error, said", [
    ({"known_on": 20240401}, ValueError, "Selection.known_on is a date or its YYYY-MM-DD text, not int"),
    ({"known_on": dt.datetime(2024, 4, 1)}, ValueError, "not datetime"),
    ({"known_on": "2024-02-30"}, ValueError, "is not a calendar date"),
    ({"version": 3}, TypeError, "Selection.version is a version label"),
    ({"any_date": "yes"}, TypeError, "Selection.any_date is True or False"),
    ({"pins": "china/retirement-age"}, TypeError, "Selection.pins is a tuple of (policy id, version) pairs"),
    ({"pins": ("china/retirement-age",)}, TypeError, "each of Selection.pins is a (policy id, version) pair"),
    ({"pins": (("a/b", "1"), ("a/b", "2"))}, ValueError, "pins a/b twice, to 1 and to 2"),
])
def test_a_selection_that_cannot_be_used_is_refused_when_made(fields, error, said):
    with pytest.raises(error) as refused:
        Selection(**fields)
    assert said in str(refused.value)


@pytest.mark.parametrize("pin, said", [(("china/retirement_age", "2025-01-01"), "no policy 'china/retirement_age'"),
                                       (("china/retirement-age", "2099-01-01"), "has no version '2099-01-01'")])
def test_a_pin_of_no_policy_or_version_is_not_quietly_ignored(engine, pin, said):
    with pytest.raises(PolicyNotFound) as refused:
        engine.evaluator(POLICY, Selection(pins=(pin,)))
    assert said in str(refused.value)


def test_dates_are_taken_as_text_too_and_an_unknown_scenario_is_not_found(engine):
    assert engine.version_for(POLICY, "2024-06-15") is engine.version_for(POLICY, dt.date(2024, 6, 15))
    assert engine.scenario(POLICY, at="2024-06-15").version is engine.version_for(POLICY, dt.date(2024, 6, 15))
    with pytest.raises(PolicyNotFound):
        engine.scenario("no/such-policy")


def test_wrong_arguments_are_type_errors_that_say_what_to_give(engine):
    with pytest.raises(TypeError, match="evaluate takes a claim as a dict"):
        engine.evaluator(POLICY).evaluate_raw(CLAIM)
    with pytest.raises(TypeError, match="the selection is a Selection"):
        engine.evaluator(POLICY, {"known_on": "2024-01-01"})
    with pytest.raises(TypeError, match="read_claims takes a list of paths"):
        read_claims(str(FIXTURES / "claims.jsonl"))
    unselected = engine.evaluator(POLICY, None).evaluate(CLAIM)  # None: the default selection
    assert unselected.to_json() == engine.evaluator(POLICY).evaluate(CLAIM).to_json()


def test_evaluate_many_refuses_a_bad_as_of_when_called(engine):
    with pytest.raises(ValueError, match="no month 13"):
        engine.evaluator(POLICY).evaluate_many([CLAIM], as_of="2024-13-01")
    [decided] = engine.evaluator(POLICY).evaluate_many([CLAIM], as_of="2024-06-15")
    assert decided.decision_date == dt.date(2024, 6, 15)
