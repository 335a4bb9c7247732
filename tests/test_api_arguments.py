"""A developer's mistakes in calling the Python API are said where they are made, in words, as TypeError,
ValueError or PolicyNotFound: never an internal error on every claim decided afterwards, nor a pin quietly
ignored. On the fixture store (tests/fixtures)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
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


def _deep_tuple(levels: int) -> tuple:
    value: tuple = ()
    for _ in range(levels):
        value = (value,)
    return value


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("change, code", [
    (lambda c: c["training"].update(hours=10 ** 4300), "claim.number"),  # no JSON reader would have passed it
    (lambda c: c.update(claim_id="X\ud800"), "claim.encoding"),  # a lone surrogate: JSON cannot write it
    (lambda c: c["applicant"].update(hukou_region="33\ud800"), "claim.encoding"),
    (lambda c: c.update(extra=_deep(5000)), "claim.too_deep"),
    (lambda c: c["training"].update(hours=float("nan")), "claim.number"),  # was "found nothing (null)"
    (lambda c: c["training"].update(hours=float("inf")), "claim.number"),
    (lambda c: c["training"].update(hours=Decimal("NaN")), "claim.number"),
    # the API takes a tuple for a list: held to the same limits
    (lambda c: c.update(history=_deep_tuple(500)), "claim.too_deep"),
    (lambda c: c.update(history=("X\ud800",)), "claim.encoding"),
    (lambda c: c.update(history=(float("nan"),)), "claim.number"),
], ids=["huge-int", "surrogate-id", "surrogate", "deep", "nan", "infinity", "decimal-nan", "deep-tuple",
        "surrogate-in-tuple", "nan-in-tuple"])
def test_a_claim_given_as_data_is_held_to_what_a_file_is(engine, change, code):
    """Given as Python data, a claim no reader saw: each is its own error record, which writes as JSON, never an
    internal error nor a result whose to_json() raises."""
    claim = json.loads(json.dumps(CLAIM))
    change(claim)
    for result in (engine.evaluator(POLICY).evaluate(claim), next(engine.evaluator(POLICY).evaluate_many([claim]))):
        data = result.to_json()
        assert data["error"]["code"] == code, data
        json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize("number, path, said", [
    (Decimal("NaN"), "training.hours", "the number NaN is not one JSON has"),
    (Decimal("1" + "0" * 40), "training.hours", "the number 10000000000000000000… is beyond 40 digits"),
    (10 ** 50, "training.hours", "a number has more than 40 digits"),
])
def test_a_number_json_cannot_hold_is_said_with_the_fact_holding_it(engine, number, path, said):
    claim = json.loads(json.dumps(CLAIM))
    claim["training"]["hours"] = number
    error = engine.evaluator(POLICY).evaluate(claim).to_json()["error"]
    assert (error["code"], error["path"], error["message"].startswith(said)) == ("claim.number", path, True), error


def test_read_claims_takes_any_iterable_of_paths_once(engine):
    """Path.glob is a generator: checking its items must not use it up (it decided nothing, silently)."""
    paths = [FIXTURES / "claims.jsonl", str(FIXTURES / "claims.jsonl")]
    expected = len(list(read_claims(paths)))
    assert expected > 0 and len(list(read_claims(iter(paths)))) == expected
    assert len(list(read_claims(p for p in paths))) == expected
    with pytest.raises(TypeError, match="read_claims takes a list of paths"):
        read_claims(FIXTURES / "claims.jsonl")  # one Path alone
    with pytest.raises(TypeError, match=r"\(str or Path\)"):
        read_claims([1, 2])


def test_evaluate_many_refuses_one_claim_where_claims_are_wanted(engine):
    with pytest.raises(TypeError, match="not one dict: use evaluate for one claim"):
        engine.evaluator(POLICY).evaluate_many(CLAIM)  # iterated, each key would be decided as a claim


def test_dates_as_text_are_taken_by_check_and_linked(engine):
    version = engine.version_for(POLICY, "2024-06-15")
    assert engine.linked(version, "2024-06-15") is engine.linked(version, dt.date(2024, 6, 15))
    assert engine.check(today="2024-06-01") == engine.check(today=dt.date(2024, 6, 1))
    with pytest.raises(ValueError, match="is not a calendar date"):
        engine.check(today="2024-02-30")
    with pytest.raises(ValueError, match="not datetime"):
        engine.linked(version, dt.datetime(2024, 6, 15))


def test_linking_on_a_day_a_reference_has_no_version_is_a_documented_link_error(engine):
    import engine as package

    with pytest.raises(package.LinkError) as refused:
        engine.linked(engine.version_for(POLICY, "2024-06-15"), "2020-01-01")
    assert refused.value.code == "reference.not_in_force" and "no version in force" in str(refused.value)


def test_a_decision_is_data_of_its_own(engine):
    """Editing one decision, or the JSON of one, never changes another (docs/api.md)."""
    evaluator = engine.evaluator(POLICY)
    first = evaluator.evaluate(CLAIM)
    with pytest.raises(AttributeError):  # the stamp of the policy is shared by every decision: it cannot be edited
        first.policy.id = "edited"
    before = evaluator.evaluate(CLAIM).to_json()
    data = first.to_json()
    assert data["notes"], "the fixture decision has notes to edit"
    for note in data["notes"]:
        note["text"] = "edited"
    data["policy"]["id"] = "edited"
    assert evaluator.evaluate(CLAIM).to_json() == before and first.to_json() == before


def test_two_decisions_of_one_claim_compare_equal_and_rules_read_plainly(engine):
    import copy

    evaluator = engine.evaluator(POLICY)
    first, again = evaluator.evaluate(CLAIM), evaluator.evaluate(CLAIM)
    assert first == again and first == copy.deepcopy(first)
    other = json.loads(json.dumps(CLAIM))
    other["training"]["hours"] = 1
    assert evaluator.evaluate(other) != first
    assert repr(first.rules[0]).startswith(f"RuleResult(id={first.rules[0].id!r}, outcome=")


@pytest.mark.parametrize("written", ["2024-5-1", "2024/5/1", "2024年5月1日"])
def test_a_version_label_written_as_another_dates_form_says_the_label(engine, written):
    with pytest.raises(PolicyNotFound) as refused:
        engine.pinned_version(POLICY, written)
    assert str(refused.value).endswith("version labels are written YYYY-MM-DD, as 2024-05-01")


def test_any_mapping_is_a_claim_and_one_mapping_is_not_many(engine):
    from types import MappingProxyType

    evaluator = engine.evaluator(POLICY)
    assert evaluator.evaluate(MappingProxyType(CLAIM)) == evaluator.evaluate(CLAIM)
    [decided] = evaluator.evaluate_many([MappingProxyType(CLAIM)])
    assert decided == evaluator.evaluate(CLAIM)
    with pytest.raises(TypeError, match="use evaluate for one claim"):
        evaluator.evaluate_many(MappingProxyType(CLAIM))


def test_a_text_stream_for_standard_input_is_read_even_when_nothing_else_keeps_it():
    import gc
    import io

    def claims():  # the caller keeps no reference to the text stream: collected, it would close its buffer
        return iter(read_claims(["-"], stdin=io.TextIOWrapper(io.BytesIO(b'{"claim_id": "C-1"}\n'))))

    found = claims()
    gc.collect()
    assert [raw.parsed().data for raw in found] == [{"claim_id": "C-1"}]
