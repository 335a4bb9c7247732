"""Limits: set from the environment only as ASCII digits within a range the engine can honour, and honoured
up to the top of that range.

The edges are tested through the command line, which reads the limits on every run: the deepest nesting allowed
is checked and decided without a RecursionError; a claim and a policy file nested as deep as allowed get their
ordinary answer, one level more gets the limit's error. (That a `policy` process reads them at start-up:
tests/test_hostile_inputs.py.)
"""
from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from engine.api import Engine
from engine.core.limits import NESTING_LEVELS, Limits, LimitsError, from_environment
from engine.language.syntax import LanguageLimits, Literal, parse, to_source
from tests.clirun import run_policy
from tests.placing import policy_path

ROOT = Path(__file__).resolve().parents[1]
MAXIMUM = {f.name: f.metadata["maximum"] for f in fields(Limits)}


def policy_under(*args, env: dict) -> tuple[int, str, str]:
    """`policy ARGS` with the variables of `env` set, which the command reads on every run."""
    done = run_policy(*args, env={**env, "POLICY_DEBUG": None}, cwd=ROOT)
    return done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8")


def assert_clean(*texts: str) -> None:
    text = "\n".join(texts)
    assert "Traceback" not in text and "internal error" not in text, text[-3000:]


# ---------------------------------------------------------------------------------------------
# Reading a limit from the environment


def test_a_limit_is_read_from_its_variable():
    assert from_environment({"POLICY_LIMIT_CLAIM_DEPTH": "40"}).claim_depth == 40
    assert from_environment({}) == Limits()


@pytest.mark.parametrize("text", ["²", "١٠", "１０", "", " 10", "10 ", "-1", "+5", "0", "000", "1e3", "1_000", "10.0",
                                  "deep"])
def test_only_ascii_digits_make_a_limit(text):
    with pytest.raises(LimitsError) as info:
        from_environment({"POLICY_LIMIT_CLAIM_DEPTH": text})
    assert str(info.value) == f"POLICY_LIMIT_CLAIM_DEPTH must be a positive whole number, not {text!r}"


def companions(name: str, value: int) -> dict:
    """The other nesting limit, set so that `value` for `name` keeps within NESTING_LEVELS."""
    if name == "expression_depth":
        return {"POLICY_LIMIT_DEFINITION_DEPTH": str(NESTING_LEVELS // value - 1)}
    if name == "definition_depth":
        return {"POLICY_LIMIT_EXPRESSION_DEPTH": str(NESTING_LEVELS // (value + 1))}
    return {}


@pytest.mark.parametrize("name", list(MAXIMUM))
def test_each_limit_goes_up_to_its_maximum_and_no_further(name):
    variable = f"POLICY_LIMIT_{name.upper()}"
    most = MAXIMUM[name]
    assert getattr(from_environment({variable: str(most), **companions(name, most)}), name) == most
    with pytest.raises(LimitsError) as info:
        from_environment({variable: str(most + 1), **companions(name, most)})
    assert str(info.value) == f"{variable} can be at most {most:,} (the most the engine can honour), not {most + 1}"


def test_a_maximum_is_never_below_its_default():
    for f in fields(Limits):
        assert f.default <= f.metadata["maximum"], f.name


def test_a_number_too_long_to_convert_is_refused_in_words():
    with pytest.raises(LimitsError) as info:
        from_environment({"POLICY_LIMIT_EVALUATION_COST": "9" * 5000})
    assert str(info.value).endswith("not " + "9" * 24 + "…")


@pytest.mark.parametrize("expression_depth, definition_depth, allowed", [
    (2000, 1, True), (100, 39, True), (64, 32, True),
    (101, 39, False), (64, 62, False), (2000, 2, False),
])
def test_expression_and_definition_depth_are_bounded_together(expression_depth, definition_depth, allowed):
    environ = {"POLICY_LIMIT_EXPRESSION_DEPTH": str(expression_depth),
               "POLICY_LIMIT_DEFINITION_DEPTH": str(definition_depth)}
    if allowed:
        limits = from_environment(environ)
        assert (limits.expression_depth, limits.definition_depth) == (expression_depth, definition_depth)
        return
    with pytest.raises(LimitsError) as info:
        from_environment(environ)
    assert str(info.value).startswith(
        f"POLICY_LIMIT_EXPRESSION_DEPTH × (POLICY_LIMIT_DEFINITION_DEPTH + 1) can be at most 4,000, "
        f"not {expression_depth} × ({definition_depth} + 1)")


@pytest.mark.parametrize("variable, value, words", [
    ("POLICY_LIMIT_CLAIM_DEPTH", "²", "must be a positive whole number, not '²'"),
    ("POLICY_LIMIT_CLAIM_DEPTH", "١٠", "must be a positive whole number, not '١٠'"),
    ("POLICY_LIMIT_EXPRESSION_DEPTH", "100000", "can be at most 2,000 (the most the engine can honour), not 100000"),
])
def test_a_bad_limit_is_a_usage_error_on_the_command_line(variable, value, words):
    rc, out, err = policy_under("check", env={variable: value})
    assert rc == 64
    assert err.strip() == f"policy: {variable} {words}"
    assert_clean(out, err)


def test_each_run_of_the_command_reads_the_limits_again():
    assert policy_under("check", env={"POLICY_LIMIT_CLAIM_DEPTH": "deep"})[0] == 64
    rc, out, err = policy_under("check", env={"POLICY_LIMIT_EXPRESSION_LENGTH": "20"})
    assert rc == 1 and "syntax.too_long" in out
    assert policy_under("check", env={})[0] == 0


# ---------------------------------------------------------------------------------------------
# The maxima are honoured

SCHEMA = {"x-claim-id": "id", "x-decision-date": "on", "type": "object", "required": ["id", "on", "n"],
          "additionalProperties": False,
          "properties": {"id": {"type": "string"}, "on": {"type": "string", "format": "date"},
                         "n": {"type": "integer"}}}
HEAD = """\
policy: test/deep
version: "1"
title: T
effective:
  from: 2020-01-01
issued_on: 2020-01-01
source:
  number: N
  title: T
  issuers: [X]
  clauses:
    c: text
input:
  schema: t.schema.json
not_computable:
  - {clause: c, reason: r}
"""


def write_policy(folder: Path, body: str) -> Path:
    (folder / "policies").mkdir(parents=True)
    (folder / "schemas").mkdir()
    (folder / "schemas" / "t.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    policy_path(folder / "policies", HEAD).write_text(HEAD + body, encoding="utf-8")
    return folder


def nested_calls(depth: int, inner: str) -> str:
    return "abs(" * depth + inner + ")" * depth


@pytest.mark.parametrize("expression_depth, definition_depth", [(2000, 1), (121, 32)])
def test_the_deepest_nesting_allowed_is_checked_and_decided(tmp_path, expression_depth, definition_depth):
    # Calls cost checking and evaluating the most Python frames per level. The output nests to the limit, with
    # the first definition at its deepest point; each definition does the same with the next one.
    names = [f"d{i}" for i in range(definition_depth)]
    definitions = "".join(f"  {name}: {nested_calls(expression_depth, following)}\n"
                          for name, following in zip(names, names[1:] + ["n"], strict=True))
    body = (f"definitions:\n{definitions}outputs:\n  o:\n    clause: c\n"
            f"    expr: {nested_calls(expression_depth, 'd0')}\n"
            "rules:\n  - id: r\n    clause: c\n    require: d0 == n\n    message: {pass: p, fail: f}\n")
    folder = write_policy(tmp_path, body)
    (tmp_path / "claim.json").write_text(json.dumps({"id": "c1", "on": "2024-06-15", "n": -7}), encoding="utf-8")
    env = {"POLICY_LIMIT_EXPRESSION_DEPTH": str(expression_depth),
           "POLICY_LIMIT_DEFINITION_DEPTH": str(definition_depth),
           "POLICY_LIMIT_EXPRESSION_LENGTH": str(MAXIMUM["expression_length"]),
           "POLICY_LIMIT_EXPRESSION_NODES": str(MAXIMUM["expression_nodes"])}
    places = ("--policies", folder / "policies", "--schemas", folder / "schemas")
    rc, out, err = policy_under(*places, "check", env=env)
    assert_clean(out, err)
    assert (rc, err.strip()) == (0, "0 errors, 0 warnings in 1 policy version")
    rc, out, err = policy_under(*places, "evaluate", "--policy", "test/deep", "--format", "json", "-q",
                           tmp_path / "claim.json", env=env)
    assert_clean(out, err)
    decision = json.loads(out)
    assert rc == 0
    assert decision["outputs"] == {"o": 7}  # abs(-7): every level was evaluated
    assert [rule["outcome"] for rule in decision["rules"]] == ["fail"]  # d0 is 7, not -7


def nested_lists(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


def test_a_claim_nested_as_deep_as_allowed_is_read_and_one_level_more_is_refused(tmp_path):
    env = {"POLICY_LIMIT_CLAIM_DEPTH": str(MAXIMUM["claim_depth"])}
    folder = write_policy(tmp_path / "store", "")
    outcomes = []
    for levels in (MAXIMUM["claim_depth"], MAXIMUM["claim_depth"] + 1):  # the claim's own mapping is one level
        claim = tmp_path / f"claim-{levels}.json"
        claim.write_text(f'{{"id": "c1", "on": "2024-06-15", "n": 1, "deep": {nested_lists(levels - 1)}}}',
                         encoding="utf-8")
        rc, out, err = policy_under("--policies", folder / "policies", "--schemas", folder / "schemas", "evaluate",
                               "--policy", "test/deep", "--format", "json", "-q", claim, env=env)
        assert_clean(out, err)
        outcomes.append((rc, json.loads(out)["error"]["code"]))
    # at the limit the claim is read and judged on its content (an unknown key); past it, it is too deep
    assert outcomes == [(2, "claim.invalid"), (2, "claim.too_deep")]


def test_a_policy_file_nested_as_deep_as_allowed_is_read_and_one_level_more_is_refused(tmp_path):
    env = {"POLICY_LIMIT_POLICY_DEPTH": str(MAXIMUM["policy_depth"])}
    codes = []
    for levels in (MAXIMUM["policy_depth"], MAXIMUM["policy_depth"] + 1):  # the file's mapping is one level
        folder = write_policy(tmp_path / str(levels), f"extra: {nested_lists(levels - 1)}\n")
        _, out, err = policy_under("--policies", folder / "policies", "--schemas", folder / "schemas", "check", env=env)
        assert_clean(out, err)
        codes.append(sorted({line.split("error[")[1].split("]")[0] for line in out.splitlines() if "error[" in line}))
    assert codes == [["schema.invalid"], ["input.too_deep"]]


def test_the_most_digits_allowed_make_a_number_that_prints_back():
    most = MAXIMUM["number_digits"]
    text = "9" * most
    tree = parse(text, LanguageLimits(max_digits=most))
    assert tree == Literal(int(text), "int")
    assert to_source(tree) == text


# ---------------------------------------------------------------------------------------------
# round() of large numbers

ROUND_SCHEMA = {"x-claim-id": "id", "x-decision-date": "on", "type": "object", "required": ["id", "on", "d"],
                "properties": {"id": {"type": "string"}, "on": {"type": "string", "format": "date"},
                               "d": {"type": "number"}}}


def round_outputs(tmp_path: Path, d, fact: str = "round(d, 30)") -> tuple[dict, dict]:
    (tmp_path / "policies").mkdir(exist_ok=True)
    (tmp_path / "schemas").mkdir(exist_ok=True)
    (tmp_path / "schemas" / "t.schema.json").write_text(json.dumps(ROUND_SCHEMA), encoding="utf-8")
    policy_path(tmp_path / "policies", HEAD).write_text(HEAD + (
        "outputs:\n"
        "  big: {clause: c, expr: 'round(99999999999999999999999999999.5, 2)'}\n"
        f"  fact: {{clause: c, expr: '{fact}'}}\n"), encoding="utf-8")
    engine = Engine.load(tmp_path / "policies", tmp_path / "schemas")
    assert [x for x in engine.check() if x.severity == "error"] == []
    decision = engine.evaluator("test/deep").evaluate({"id": "c1", "on": "2024-06-15", "d": d})
    return decision.outputs, {p.name: (p.code, p.message) for p in decision.problems}


def test_round_keeps_every_digit_of_a_large_number(tmp_path):
    outputs, problems = round_outputs(tmp_path, Decimal("2.5"))
    assert problems == {}
    # 29 digits before the point: more than Python's default 28 significant digits
    assert outputs["big"] == Decimal("99999999999999999999999999999.50")
    assert outputs["fact"] == Decimal("2.5" + "0" * 29) and str(outputs["fact"]) == "2.5" + "0" * 29


def test_round_never_meets_a_number_too_large_to_hold(tmp_path):
    """Computed values stay below 10^60 (30 places: 90 digits, within round's 100), and a claim's own numbers have at
    most 40 digits, also when given to the API as Python data: 10**80 is the claim's error, not round's."""
    outputs, problems = round_outputs(tmp_path, 10 ** 39, "round(d * d, 30)")
    assert outputs["fact"] is None and problems["fact"] == ("evaluation.overflow", "a number in d * d grew past 10^60")
    engine = Engine.load(tmp_path / "policies", tmp_path / "schemas")
    refused = engine.evaluator("test/deep").evaluate({"id": "c1", "on": "2024-06-15", "d": 10 ** 80})
    assert refused.code == "claim.number"
