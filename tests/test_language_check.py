"""The static checker: every name, path and type is checked when the policy is, never when a claim arrives.

Each test writes a small policy (and, where needed, the policies it extends or uses) into a temporary
folder, runs Engine.check(), and asserts the code, the line and a key part of the message.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.api import Engine
from engine.core.diagnostics import Diagnostic
from tests.placing import policy_path
from tests.placing import policy_text as policy  # noqa: I001

# ---------------------------------------------------------------------------------------------
# A small claim schema and a policy writer

SCHEMA = {
    "x-claim-id": "id", "x-decision-date": "on", "type": "object",
    "required": ["id", "on", "n", "d", "flag", "s", "born", "level", "items"],
    "properties": {
        "id": {"type": "string"},
        "on": {"type": "string", "format": "date"},
        "n": {"type": "integer"},
        "d": {"type": "number"},
        "flag": {"type": "boolean"},
        "s": {"type": "string"},
        "born": {"type": "string", "format": "date"},
        "level": {"type": "string", "enum": ["junior", "senior"]},
        "opt": {"type": "integer"},
        "rec": {"type": "object", "required": ["x"],
                "properties": {"x": {"type": "integer"}, "kind": {"type": "string", "enum": ["paying", "suspended"]}}},
        "few": {"type": "array", "maxItems": 20, "items": {"type": "integer"}},
        "items": {"type": "array", "items": {
            "type": "object", "required": ["k", "v"],
            "properties": {"k": {"type": "string"}, "v": {"type": "integer"},
                           "lvl": {"type": "string", "enum": ["junior", "senior"]}}}},
    },
}
OTHER_SCHEMA = {**SCHEMA, "title": "another claim"}

TABLES = {
    "tb": {"clause": "c", "key": ["k"], "columns": {"k": "string", "v": "int"}, "rows": [["a", 1]]},
    "t2": {"clause": "c", "key": ["k", "j"], "columns": {"k": "string", "j": "int", "v": "money"},
           "rows": [["a", 1, 5]]},
}

FUNCTIONS = {"f": {"params": {"x": "int"}, "expr": "x + 1"}}


def check(tmp_path: Path, *texts: str) -> list[Diagnostic]:
    (tmp_path / "policies").mkdir(exist_ok=True)
    (tmp_path / "schemas").mkdir(exist_ok=True)
    (tmp_path / "schemas" / "t.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    (tmp_path / "schemas" / "u.schema.json").write_text(json.dumps(OTHER_SCHEMA), encoding="utf-8")
    for text in texts:
        policy_path(tmp_path / "policies", text).write_text(text, encoding="utf-8")
    return Engine.load(tmp_path / "policies", tmp_path / "schemas").check()


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line of `text` that contains `needle` (as written, or JSON-escaped)."""
    escaped = json.dumps(needle, ensure_ascii=False)[1:-1]
    hits = [i for i, line in enumerate(text.split("\n"), 1) if needle in line or escaped in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def one(tmp_path: Path, text: str, *others: str) -> Diagnostic:
    """The only error that checking `text` (with `others`) reports."""
    found = errors(check(tmp_path, text, *others))
    assert len(found) == 1, [d.render() for d in found]
    return found[0]


def single(tmp_path, **parts) -> tuple[Diagnostic, str]:
    text = policy(**parts)
    return one(tmp_path, text), text


# ---------------------------------------------------------------------------------------------
# A correct policy is clean; the seed policies are clean


def test_a_correct_policy_has_no_diagnostics(tmp_path):
    text = policy(tables=TABLES, definitions={**FUNCTIONS, "g": "f(n) * 2", "在金华参保": 'starts_with(s, "3307")'},
                  rules=["g > 0 and 在金华参保", {"when": "has(opt)", "require": "opt > 1"},
                         'count(x in items where x.lvl ?? "junior" == "senior") < 3'],
                  outputs={"o": 'tb[s].v ?? 0', "p": "t2[s, n].v ?? 0.5", "q": "add_months(born, 1)"},
                  decision="d * 2")
    assert check(tmp_path, text) == []


def test_seed_policies_check_clean():
    root = Path(__file__).resolve().parent.parent
    diagnostics = Engine.load(root / "policies", root / "schemas").check()
    assert errors(diagnostics) == []


# ---------------------------------------------------------------------------------------------
# Types: dates, money, numbers


def test_date_ordered_against_a_number(tmp_path):
    d, text = single(tmp_path, rules=["born > 18"])
    assert d.code == "type.compare"
    assert d.location.line == line_of(text, "born > 18")
    assert "date" in d.message and "int" in d.message
    assert d.hint and "date" in d.hint


def test_date_equated_with_a_number(tmp_path):
    d, text = single(tmp_path, rules=["born == 1990"])
    assert d.code == "type.compare"
    assert "cannot compare date with int" in d.message


def test_date_compared_with_a_date_literal_is_fine(tmp_path):
    assert errors(check(tmp_path, policy(rules=["born < 2000-01-01 and on >= born"]))) == []


def test_money_added_to_a_date(tmp_path):
    d, text = single(tmp_path, outputs={"o": "d + born"})
    assert d.code == "type.arithmetic"
    assert d.location.line == line_of(text, "d + born")
    assert "decimal" in d.message and "date" in d.message
    assert d.hint and "add_months" in d.hint


def test_date_minus_date_points_to_days_between(tmp_path):
    d, _ = single(tmp_path, outputs={"o": "on - born"})
    assert d.code == "type.arithmetic"
    assert "days_between" in d.hint


def test_arithmetic_on_strings(tmp_path):
    d, _ = single(tmp_path, outputs={"o": "s * 2"})
    assert d.code == "type.arithmetic"
    assert "needs numbers" in d.message and "string" in d.message


def test_sum_of_strings(tmp_path):
    d, _ = single(tmp_path, outputs={"o": "sum(x.k for x in items)"})
    assert d.code == "type.arithmetic"
    assert "sum()" in d.message


def test_int_and_money_mix(tmp_path):
    assert errors(check(tmp_path, policy(outputs={"o": "n * d + 1 - 0.5 / 2"}))) == []


# ---------------------------------------------------------------------------------------------
# Functions: builtins and user functions


@pytest.mark.parametrize("expr, part", [
    ("age(born)", "age() takes 2 arguments, not 1"),
    ("add_months(born, 1, 2)", "add_months() takes 2 arguments, not 3"),
    ("year()", "year() takes 1 argument, not 0"),
    ("length(s, s)", "length() takes 1 argument, not 2"),
    ("min(n)", "min() takes a list, or two or more values"),
])
def test_builtin_with_wrong_argument_count(tmp_path, expr, part):
    d, text = single(tmp_path, outputs={"o": expr})
    assert d.code == "call.arguments"
    assert d.location.line == line_of(text, expr)
    assert part in d.message
    assert d.hint and d.hint.startswith("signature:")


@pytest.mark.parametrize("expr, part", [
    ("add_months(born, 1.5)", "argument 2 must be int, not decimal"),
    ("add_months(n, 1)", "argument 1 must be date, not int"),
    ('starts_with(n, "33")', "argument 1 must be string, not int"),
    ("age(born, 2024)", "argument 2 must be date, not int"),
    ("year(s)", "argument 1 must be date, not string"),
    ("floor(s)", "takes a number, not string"),
    ("length(n)", "takes a list or a string, not int"),
    ("distinct(s)", "takes a list, not string"),
    ("max(born, n)", "numbers or dates"),
    ("round(d, 1.5)", "argument 2 must be int, not decimal"),
    ("resident_id_valid(n)", "argument 1 must be string, not int"),
])
def test_builtin_with_wrong_argument_type(tmp_path, expr, part):
    d, text = single(tmp_path, outputs={"o": expr})
    assert d.code == "call.arguments"
    assert d.location.line == line_of(text, expr)
    assert part in d.message


def test_user_function_with_wrong_argument_count(tmp_path):
    d, text = single(tmp_path, definitions=FUNCTIONS, outputs={"o": "f(1, 2)"})
    assert d.code == "call.arguments"
    assert d.location.line == line_of(text, "f(1, 2)")
    assert "f() takes 1 argument, not 2" in d.message
    assert "x: int" in d.hint


def test_user_function_with_wrong_argument_type(tmp_path):
    d, text = single(tmp_path, definitions=FUNCTIONS, outputs={"o": "f(s)"})
    assert d.code == "call.arguments"
    assert d.location.line == line_of(text, "f(s)")
    assert d.location.column == text.split("\n")[d.location.line - 1].index("f(s)") + 3  # at the argument
    assert "argument 'x' of f() must be int, not string" in d.message


def test_user_function_accepts_an_int_for_a_money_parameter(tmp_path):
    defs = {"twice": {"params": {"m": "money"}, "expr": "m * 2"}}
    assert errors(check(tmp_path, policy(definitions=defs, outputs={"o": "twice(n) + twice(d)"}))) == []


@pytest.mark.parametrize("expr, part", [
    ("has(1)", "fact path or a table lookup"),
    ("has(opt, opt)", "has() takes 1 argument, not 2"),
])
def test_has_with_wrong_arguments(tmp_path, expr, part):
    d, _ = single(tmp_path, outputs={"o": expr})
    assert d.code == "call.arguments"
    assert part in d.message


@pytest.mark.parametrize("expr, name", [("age", "age"), ("f", "f"), ("has", "has")])
def test_function_used_as_a_value(tmp_path, expr, name):
    d, _ = single(tmp_path, definitions=FUNCTIONS, outputs={"o": expr})
    assert d.code == "name.function"
    assert f"{name!r} is a function" in d.message


def test_value_called_as_a_function(tmp_path):
    d, text = single(tmp_path, definitions={"g": "1"}, outputs={"o": "g(1)"})
    assert d.code == "call.not_function"
    assert d.location.line == line_of(text, "g(1)")
    assert "'g' is a value, not a function" in d.message


def test_unknown_function_with_hint(tmp_path):
    d, _ = single(tmp_path, outputs={"o": "agee(born, on)"})
    assert d.code == "name.unknown"
    assert "unknown function 'agee'" in d.message
    assert "'age'" in d.hint


def test_unknown_user_function_suggests_the_defined_one(tmp_path):
    d, _ = single(tmp_path, definitions={"在本省": {"params": {"r": "string"}, "expr": 'starts_with(r, "33")'}},
                  outputs={"o": "在本市(s)"})
    assert d.code == "name.unknown"
    assert "在本省" in (d.hint or "")


# ---------------------------------------------------------------------------------------------
# Conditions and operands


def test_non_boolean_rule_require(tmp_path):
    d, text = single(tmp_path, rules=["n + 1"])
    assert d.code == "type.condition"
    assert d.location.line == line_of(text, "n + 1")
    assert "must be true or false" in d.message and "int" in d.message


def test_non_boolean_rule_when(tmp_path):
    d, text = single(tmp_path, rules=[{"when": "s", "require": "flag"}])
    assert d.code == "type.condition"
    assert d.location.line == line_of(text, 'when: "s"')


def test_output_that_is_not_a_value(tmp_path):
    d, text = single(tmp_path, tables=TABLES, outputs={"o": "tb"})
    assert d.code == "type.output"
    assert d.location.line == line_of(text, 'expr: "tb"')


def test_decision_amount_that_is_not_a_number(tmp_path):
    d, text = single(tmp_path, decision="s")
    assert d.code == "type.amount"
    assert d.location.line == line_of(text, 'amount: "s"')


def test_non_boolean_if_condition(tmp_path):
    d, text = single(tmp_path, outputs={"o": "if n then 1 else 2"})
    assert d.code == "type.condition"
    assert "after 'if' must be true or false, not int" in d.message


def test_non_boolean_comprehension_condition(tmp_path):
    d, _ = single(tmp_path, outputs={"o": "count(x in items where x.v)"})
    assert d.code == "type.condition"
    assert "count()" in d.message


@pytest.mark.parametrize("expr, part", [
    ("not n", "'not' needs true or false, not int"),
    ("n > 0 and s", "'and' joins conditions"),
    ("flag or d", "'or' joins conditions"),
    ("-s", "'-' needs a number, not string"),
    ("-born", "'-' needs a number, not date"),
])
def test_operand_types(tmp_path, expr, part):
    d, text = single(tmp_path, outputs={"o": expr})
    assert d.code == "type.operand"
    assert part in d.message


def test_branches_of_different_types(tmp_path):
    d, text = single(tmp_path, outputs={"o": 'if flag then 1 else "one"'})
    assert d.code == "type.branches"
    assert "int" in d.message and "string" in d.message


def test_int_and_money_branches_join(tmp_path):
    assert errors(check(tmp_path, policy(outputs={"o": "if flag then 1 else 2.5"}))) == []


@pytest.mark.parametrize("expr, part", [
    ("[1, s]", "a list holds values of one type"),
    ("[1] + [s]", "cannot join a list<int> with a list<string>"),
])
def test_lists_of_mixed_types(tmp_path, expr, part):
    d, _ = single(tmp_path, outputs={"o": expr})
    assert d.code == "type.list"
    assert part in d.message


def test_default_of_another_type(tmp_path):
    d, text = single(tmp_path, outputs={"o": 'opt ?? "none"'})
    assert d.code == "type.default"
    assert "int" in d.message and "string" in d.message


@pytest.mark.parametrize("expr, part", [
    ("n in [s]", "cannot look for int in a list of string"),
    ("n in s", "'in' looks in a list or a table, not in string"),
    ('"a" in t2', "'in' tests tables with one key"),
    ("n in tb", "the key of tb is string, not int"),
])
def test_membership_types(tmp_path, expr, part):
    d, _ = single(tmp_path, tables=TABLES, outputs={"o": expr})
    assert d.code == "type.member"
    assert part in d.message


def test_comprehension_over_a_non_list(tmp_path):
    d, _ = single(tmp_path, rules=["any(x in n where x > 1)"])
    assert d.code == "type.source"
    assert "any() goes over a list, not int" in d.message


def test_declared_type_that_does_not_match(tmp_path):
    d, text = single(tmp_path, definitions={"g": {"type": "int", "expr": "s"}}, outputs={"o": "g"})
    assert d.code == "type.mismatch"
    assert d.location.line == line_of(text, '"type": "int"')
    assert "'g' is declared int but its expression is string" in d.message


# ---------------------------------------------------------------------------------------------
# Names, fields and tables


def test_unknown_name_with_did_you_mean(tmp_path):
    d, text = single(tmp_path, outputs={"o": "n + brn"})
    assert d.code == "name.unknown"
    assert d.location.line == line_of(text, "n + brn")
    assert d.location.column == text.split("\n")[d.location.line - 1].index("brn") + 1
    assert "unknown name 'brn'" in d.message
    assert "'born'" in d.hint


def test_unknown_name_suggests_a_definition(tmp_path):
    d, _ = single(tmp_path, definitions={"grants_this_year": "1"}, rules=["grant_this_year < 3"])
    assert d.code == "name.unknown"
    assert "'grants_this_year'" in d.hint


def test_an_outputs_or_a_rules_id_read_as_a_name_says_what_it_is(tmp_path):
    d, _ = single(tmp_path, outputs={"doubled": "n * 2", "again": "doubled + 1"})
    assert d.code == "name.unknown" and d.hint.startswith("doubled is an output: a result the decision reports")
    d, _ = single(tmp_path, rules=["n > 0", "r0 and n < 9"])
    assert d.code == "name.unknown" and d.hint.startswith("r0 is a rule: its outcome is the decision's")


def test_unknown_name_suggests_a_comprehension_variable(tmp_path):
    d, _ = single(tmp_path, rules=["any(grant in items where grnt.v > 1)"])
    assert d.code == "name.unknown"
    assert "'grant'" in d.hint


def test_unknown_unicode_name(tmp_path):
    d, _ = single(tmp_path, definitions={"在金华参保": "flag"}, rules=["在金华参保了"])
    assert d.code == "name.unknown"
    assert "在金华参保了" in d.message and "在金华参保" in d.hint


def test_unknown_name_far_from_anything_suggests_no_name(tmp_path):
    d, _ = single(tmp_path, outputs={"o": "zzzqqq"})
    assert d.code == "name.unknown"
    assert "did you mean" not in d.hint and d.hint.startswith("text is written in quotes")


def test_comprehension_variable_is_not_visible_outside(tmp_path):
    d, _ = single(tmp_path, rules=["any(x in items where x.v > 1) and x.v > 2"])
    assert d.code == "name.unknown"
    assert "'x'" in d.message


def test_unknown_field_of_a_fact(tmp_path):
    d, text = single(tmp_path, outputs={"o": "rec.knid"})
    assert d.code == "name.field"
    assert "rec has no field 'knid'" in d.message
    assert "'kind'" in d.hint


def test_unknown_field_lists_the_fields(tmp_path):
    d, _ = single(tmp_path, outputs={"o": "rec.qqqqqq"})
    assert d.code == "name.field"
    assert "x" in d.hint and "kind" in d.hint


def test_unknown_field_of_a_list_item(tmp_path):
    d, _ = single(tmp_path, rules=["any(x in items where x.value > 1)"])
    assert d.code == "name.field"
    assert "'value'" in d.message and "v" in d.hint.replace(",", " ").split()


def test_unknown_column_of_a_table_row(tmp_path):
    d, _ = single(tmp_path, tables=TABLES, outputs={"o": 'tb["a"].amount'})
    assert d.code == "name.field"
    assert "'amount'" in d.message


def test_field_of_a_plain_value(tmp_path):
    d, _ = single(tmp_path, outputs={"o": "n.x"})
    assert d.code == "type.field"
    assert "int has no fields" in d.message


def test_table_field_without_lookup(tmp_path):
    d, _ = single(tmp_path, tables=TABLES, outputs={"o": "tb.v"})
    assert d.code == "type.table"
    assert "looked up by its key first" in d.message


def test_table_lookup_with_too_few_keys(tmp_path):
    d, text = single(tmp_path, tables=TABLES, outputs={"o": 't2["a"].v'})
    assert d.code == "table.key_count"
    assert "t2 is looked up by 2 keys (k, j), not 1" in d.message


def test_table_lookup_with_a_key_of_the_wrong_type(tmp_path):
    d, _ = single(tmp_path, tables=TABLES, outputs={"o": 't2["a", "b"].v'})
    assert d.code == "type.key"
    assert "key 'j' of t2 is int, not string" in d.message


def test_index_into_a_non_table(tmp_path):
    d, _ = single(tmp_path, outputs={"o": "items[0]"})
    assert d.code == "type.index"
    assert "only tables can be looked up" in d.message


# ---------------------------------------------------------------------------------------------
# Enumerations


@pytest.mark.parametrize("expr, bad", [
    ('rec.kind == "payng"', "payng"),
    ('"stopped" != rec.kind', "stopped"),
    ('rec.kind in ["paying", "stopped"]', "stopped"),
    ('any(x in items where x.lvl == "medium")', "medium"),
])
def test_string_not_among_the_schema_enum(tmp_path, expr, bad):
    d, text = single(tmp_path, rules=[expr])
    assert d.code == "type.enum"
    assert d.location.line == line_of(text, expr)
    if not expr.startswith('"'):  # (a literal at the very start is covered in test_language_syntax)
        line = text.split("\n")[d.location.line - 1]
        assert d.location.column == line.index(bad) + 1 - 1  # at the opening quote (escaped in the YAML line)
    assert repr(bad) in d.message


def test_enum_hint_suggests_the_close_value(tmp_path):
    d, _ = single(tmp_path, rules=['rec.kind == "payng"'])
    assert "'paying'" in d.hint


def test_enum_value_that_exists_is_fine(tmp_path):
    assert errors(check(tmp_path, policy(rules=['rec.kind ?? "paying" == "paying" or level == "senior"']))) == []


def test_top_level_enum_fact(tmp_path):
    d, _ = single(tmp_path, rules=['level == "senoir"'])
    assert d.code == "type.enum"


# ---------------------------------------------------------------------------------------------
# Cost: what one expression may take on the largest claim the schema allows


def test_comprehension_inside_a_comprehension_over_unbounded_lists_is_too_costly(tmp_path):
    expr = "count(x in items where any(y in items where y.v > x.v))"
    d, text = single(tmp_path, outputs={"o": expr})
    assert d.code == "cost.too_high"
    assert d.location.line == line_of(text, expr)
    assert "maxItems" in d.hint


def test_comprehension_inside_a_comprehension_over_bounded_lists_is_fine(tmp_path):
    text = policy(outputs={"o": "count(x in few where any(y in few where y > x))",
                           "p": "count(x in items where x.v in few)"})
    assert errors(check(tmp_path, text)) == []


def test_cost_adds_up_through_definitions(tmp_path):
    text = policy(definitions={"inner": "count(y in items where y.v > 1)"},
                  outputs={"o": "count(x in items where x.v > inner)"})
    assert [d.code for d in errors(check(tmp_path, text))] == ["cost.too_high"]


def test_definitions_nested_too_deep(tmp_path):
    chain = {f"d{i}": f"d{i + 1} + 1" for i in range(40)}
    chain["d40"] = "n"
    found = errors(check(tmp_path, policy(definitions=chain, outputs={"o": "d0"})))
    assert [d.code for d in found] == ["definition.too_deep"]
    assert "32" in found[0].message


def test_a_chain_of_definitions_within_the_limit_is_fine(tmp_path):
    chain = {f"d{i}": f"d{i + 1} + 1" for i in range(20)}
    chain["d20"] = "n"
    assert errors(check(tmp_path, policy(definitions=chain, outputs={"o": "d0"}))) == []


# ---------------------------------------------------------------------------------------------
# Definitions: cycles, reserved and clashing names


def test_definition_cycle_is_reported_with_the_cycle(tmp_path):
    text = policy(definitions={"a": "b + 1", "b": "c + 1", "c": "a + 1"}, outputs={"o": "a"})
    d = one(tmp_path, text)
    assert d.code == "definition.cycle"
    assert "a → b → c → a" in d.message
    assert d.location.line == line_of(text, '  a: "b + 1"')


def test_definition_that_refers_to_itself(tmp_path):
    d, _ = single(tmp_path, definitions={"a": "a + 1"}, outputs={"o": "a"})
    assert d.code == "definition.cycle"
    assert "a → a" in d.message


def test_function_that_calls_itself_is_a_cycle(tmp_path):
    d, _ = single(tmp_path,
                  definitions={"fact": {"params": {"k": "int"}, "expr": "if k < 1 then 1 else k * fact(k - 1)"}},
                  outputs={"o": "fact(3)"})
    assert d.code == "definition.cycle"


def test_cycle_reached_from_a_rule_is_reported_once(tmp_path):
    text = policy(definitions={"a": "b", "b": "a"}, rules=["a", "b", "a and b"])
    found = errors(check(tmp_path, text))
    assert [d.code for d in found] == ["definition.cycle"]


@pytest.mark.parametrize("name", ["age", "decision_date", "has_not_reserved"])
def test_reserved_names(tmp_path, name):
    text = policy(definitions={name: "1"}, outputs={"o": "1"})
    found = errors(check(tmp_path, text))
    if name == "has_not_reserved":
        assert found == []
        return
    assert [d.code for d in found] == ["name.reserved"]
    assert found[0].location.line == line_of(text, f"  {name}:")


def test_definition_with_the_name_of_a_fact(tmp_path):
    text = policy(definitions={"born": "1"}, outputs={"o": "1"})
    d = one(tmp_path, text)
    assert d.code == "name.conflict"
    assert d.location.line == line_of(text, "  born:")
    assert "'born'" in d.message and "fact" in d.message


def test_definition_with_the_name_of_a_table(tmp_path):
    text = policy(tables=TABLES, definitions={"tb": "1"}, outputs={"o": "1"})
    d = one(tmp_path, text)
    assert d.code == "name.conflict"
    assert "'tb'" in d.message and "table" in d.message


def test_export_of_an_unknown_name(tmp_path):
    text = policy(top="exports: [missing_name]")
    d = one(tmp_path, text)
    assert d.code == "export.unknown"
    assert d.location.line == line_of(text, "exports:")
    assert "'missing_name'" in d.message


# ---------------------------------------------------------------------------------------------
# Other policies: uses and extends

BASE = policy("t/base", tables=TABLES, top="exports: [k, f, reads, tb]",
              definitions={"k": "5", "f": {"params": {"x": "int"}, "expr": "x * k"}, "reads": "n + 1", "hidden": "2"})


def test_reading_exported_names(tmp_path):
    user = policy(top="uses:\n  b: t/base", outputs={"o": 'b.k + b.f(2) + b.tb["a"].v'})
    assert errors(check(tmp_path, BASE, user)) == []


def test_name_not_exported(tmp_path):
    user = policy(top="uses:\n  b: t/base", outputs={"o": "b.hidden"})
    d = one(tmp_path, user, BASE)
    assert d.code == "name.not_exported"
    assert d.location.line == line_of(user, "b.hidden")
    assert "does not export 'hidden'" in d.message
    assert "k, f, reads, tb" in d.hint


def test_function_not_exported(tmp_path):
    user = policy(top="uses:\n  b: t/base", outputs={"o": "b.hidden(1)"})
    d = one(tmp_path, user, BASE)
    assert d.code == "name.not_exported"


def test_exported_name_that_reads_facts(tmp_path):
    user = policy(top="uses:\n  b: t/base", outputs={"o": "b.reads"})
    d = one(tmp_path, user, BASE)
    assert d.code == "name.reads_facts"
    assert "'reads' reads claim facts" in d.message


def test_exported_function_used_as_a_value(tmp_path):
    user = policy(top="uses:\n  b: t/base", outputs={"o": "b.f"})
    d = one(tmp_path, user, BASE)
    assert d.code == "name.function"
    assert "b.f(...)" in d.message


def test_exported_value_called(tmp_path):
    user = policy(top="uses:\n  b: t/base", outputs={"o": "b.k(1)"})
    d = one(tmp_path, user, BASE)
    assert d.code == "call.not_function"


def test_an_unquoted_text_is_an_unknown_name_with_the_quotes_as_hint(tmp_path):
    d = one(tmp_path, policy(outputs={"o": 'n == 1 and "a" == zzzyx'}))
    assert (d.code, d.message) == ("name.unknown", "unknown name 'zzzyx'")
    assert d.hint == 'text is written in quotes: if zzzyx is a value (as in sex == "male"), write "zzzyx"'


@pytest.mark.parametrize("word, operator", [("且", "and"), ("或者", "or")])
def test_the_notices_word_for_an_operator_says_the_languages(tmp_path, word, operator):
    d = one(tmp_path, policy(outputs={"o": f"n > 1 {word} n < 5"}))
    assert d.code == "syntax.unexpected" and d.hint == f"the language writes {word!r} as {operator}"


@pytest.mark.parametrize("expr, word, operator", [("not (n > 1) and 非 n > 5", "非", "not"),
                                                   ("非 n > 5", "非", "not")])
def test_a_word_for_an_operator_read_as_a_name_says_the_languages(tmp_path, expr, word, operator):
    """`非 x`: 非 lexes as a name and x is the token found unexpected; the hint is about 非."""
    d = one(tmp_path, policy(outputs={"o": expr}))
    assert d.code == "syntax.unexpected" and d.hint == f"the language writes {word!r} as {operator}"


@pytest.mark.parametrize("expr, hint", [
    ("n + 1,000", "a number is written without thousands separators: 1000"),
    ("d > 12,345.50", "a number is written without thousands separators: 12345.50"),
    ("on <= 2024年2月3日", "a date is written YYYY-MM-DD: 2024-02-03"),
])
def test_a_number_or_date_written_as_a_notice_writes_it_says_how_the_language_does(tmp_path, expr, hint):
    d = one(tmp_path, policy(outputs={"o": expr}))
    assert d.code == "syntax.unexpected" and d.hint == hint


def test_a_word_for_an_operator_written_as_a_call_says_the_languages(tmp_path):
    d = one(tmp_path, policy(outputs={"o": "非(n > 5)"}))
    assert d.code == "name.unknown" and d.hint == "the language writes '非' as not"



@pytest.mark.parametrize("word, value", [("否", "false"), ("是", "true"), ("空", "null")])
def test_the_notices_word_for_a_value_says_the_languages_not_quotes(tmp_path, word, value):
    """`employed == 否`: the quotes hint would make it the text "否", never equal to false."""
    d = one(tmp_path, policy(outputs={"o": f"n == 1 and {word} == {value}"}))
    assert d.code == "name.unknown" and d.hint == f"the language writes {word!r} as {value}"


def test_a_misspelt_alias_in_a_call_is_an_unknown_name_with_the_alias_meant(tmp_path):
    user = policy(top="uses:\n  base: t/base", outputs={"o": "bsae.f(2)"})
    d = one(tmp_path, user, BASE)
    assert (d.code, d.message, d.hint) == ("name.unknown", "unknown name 'bsae'", "did you mean 'base'?")


def test_calling_a_fact_field_says_only_named_functions_are_called(tmp_path):
    d = one(tmp_path, policy(outputs={"o": "n.x(1)"}))
    assert (d.code, d.message) == ("call.not_function", "only named functions can be called")
    assert "ALIAS.NAME(…) with ALIAS under uses:" in d.hint


def test_alias_with_the_name_of_a_fact(tmp_path):
    user = policy(top="uses:\n  n: t/base", outputs={"o": "1"})
    d = one(tmp_path, user, BASE)
    assert d.code == "name.conflict"
    assert d.location.line == line_of(user, "  n: t/base")


def test_extends_clash_without_overrides(tmp_path):
    ext = policy("t/ext", schema=None, top="extends: t/base", definitions={"k": "6"})
    d = one(tmp_path, ext, BASE)
    assert d.code == "override.conflict"
    assert d.location.line == line_of(ext, '  k: "6"')
    assert "overrides: true" in d.message


def test_extends_override_is_fine(tmp_path):
    ext = policy("t/ext", schema=None, top="extends: t/base", definitions={"k": {"expr": "6", "overrides": True}})
    assert errors(check(tmp_path, ext, BASE)) == []


def test_override_of_nothing(tmp_path):
    ext = policy("t/ext", schema=None, top="extends: t/base", definitions={"k2": {"expr": "6", "overrides": True}})
    d = one(tmp_path, ext, BASE)
    assert d.code == "override.nothing"
    assert "'k2'" in d.message
    assert d.source_line is not None and "k2" in d.source_line  # the caret has its line to stand under


def test_extends_rule_clash(tmp_path):
    base = policy("t/base", rules=["flag"])
    ext = policy("t/ext", schema=None, top="extends: t/base", rules=["n > 1"])
    d = one(tmp_path, ext, base)
    assert d.code == "override.conflict"
    assert "rule 'r0'" in d.message


def test_extends_with_another_input_schema(tmp_path):
    ext = policy("t/ext", schema="u.schema.json", top="extends: t/base")
    d = one(tmp_path, ext, BASE)
    assert d.code == "extends.input"
    assert "u.schema.json" in d.message and "t.schema.json" in d.message


def test_alias_already_used_by_the_extended_policy(tmp_path):
    middle = policy("t/mid", top="uses:\n  b: t/base")
    ext = policy("t/ext", schema=None, top="extends: t/mid\nuses:\n  b: t/base")
    d = one(tmp_path, ext, middle, BASE)
    assert d.code == "name.conflict"
    assert "alias 'b'" in d.message


def test_reference_to_an_unknown_policy(tmp_path):
    ext = policy("t/ext", top="extends: t/nope")
    d = one(tmp_path, ext)
    assert d.code == "reference.unknown"
    assert d.location.line == line_of(ext, "extends: t/nope")
    assert "t/nope" in d.message


def test_reference_to_an_unknown_version(tmp_path):
    ext = policy("t/ext", top="extends: t/base@9")
    d = one(tmp_path, ext, BASE)
    assert d.code == "reference.unknown"
    assert "no such version" in d.message


def test_reference_not_in_force(tmp_path):
    later = policy("t/base", effective="2030-01-01", definitions={"k": "1"})
    ext = policy("t/ext", top="extends: t/base")
    d = one(tmp_path, ext, later)
    assert d.code == "reference.not_in_force"
    assert "2020-01-01" in d.message


def test_policies_that_extend_each_other(tmp_path):
    found = errors(check(tmp_path, policy("t/a", top="extends: t/b"), policy("t/b", top="extends: t/a")))
    assert {d.code for d in found} == {"reference.cycle"}
    assert any("t/a → t/b → t/a" in d.message for d in found)


# ---------------------------------------------------------------------------------------------
# Warnings


def test_default_never_used(tmp_path):
    text = policy(outputs={"o": "n ?? 1"})
    found = check(tmp_path, text)
    assert [(d.code, d.severity) for d in found] == [("default.unused", "warning")]
    assert found[0].location.line == line_of(text, "n ?? 1")


@pytest.mark.parametrize("expr", ["opt ?? 1", "rec.kind ?? \"paying\"", "tb[s].v ?? 0", "rec.x ?? 0"])
def test_default_that_can_be_used_is_not_warned(tmp_path, expr):
    assert check(tmp_path, policy(tables=TABLES, outputs={"o": expr})) == []


def test_has_always_true(tmp_path):
    text = policy(outputs={"o": "has(born)"})
    found = check(tmp_path, text)
    assert [(d.code, d.severity) for d in found] == [("has.always", "warning")]
    assert found[0].location.line == line_of(text, "has(born)")


@pytest.mark.parametrize("expr", ["has(opt)", "has(rec.kind)", "has(rec.x)", "has(tb[s])"])
def test_has_of_something_optional_is_not_warned(tmp_path, expr):
    assert check(tmp_path, policy(tables=TABLES, outputs={"o": expr})) == []


def test_warnings_do_not_stop_evaluation(tmp_path):
    text = policy(outputs={"o": "n ?? 1"})
    check(tmp_path, text)
    engine = Engine.load(tmp_path / "policies", tmp_path / "schemas")
    result = engine.evaluator("test/policy").evaluate(
        {"id": "c", "on": "2024-05-01", "n": 4, "d": 1, "flag": True, "s": "x", "born": "2000-01-01",
         "level": "junior", "items": []})
    assert result.outputs["o"] == 4


# ---------------------------------------------------------------------------------------------
# One mistake, one error; errors sorted by location and tagged with their clause


def test_unknown_name_in_a_definition_used_by_three_rules(tmp_path):
    text = policy(definitions={"base_amount": "subsidy_rate * 2"},
                  rules=["base_amount > 1", "base_amount < 5000", "base_amount * 2 != 3"])
    found = check(tmp_path, text)
    assert len(errors(found)) == 1
    d = errors(found)[0]
    assert d.code == "name.unknown"
    assert d.location.line == line_of(text, "subsidy_rate")


@pytest.mark.parametrize("expr", [
    "nope.x", "nope[1]", "nope + 1 > 2", "if nope then 1 else 2", "not nope", "any(x in nope where x.v > 1)",
    "sum(x.v for x in nope)", "nope in [1]", "[nope, 1]", "f(nope)", "min(nope, 1)", "-nope", "tb[nope].v",
    'starts_with(nope, "x")', "nope == born", "nope < 3", "[nope] + [1]", "distinct(nope)",
    "count(x in items where nope)", "opt ?? nope", "length(nope)", "floor(nope)", "round(nope, 1)",
    "add_months(nope, 1)", "age(nope, on)", "1 in nope", "nope.x.y", "year(nope) == 2024", "min([nope, 1])",
    'tb["a"].nope.x', "rec.nope.x + 1 > born",
])
def test_one_mistake_is_one_error(tmp_path, expr):
    found = errors(check(tmp_path, policy(tables=TABLES, definitions=FUNCTIONS, outputs={"o": expr})))
    assert len(found) == 1, [d.render() for d in found]
    assert found[0].code in ("name.unknown", "name.field")


@pytest.mark.parametrize("expr", ["min(nope)", "max(nope)"])
def test_one_mistake_in_min_or_max_is_one_error(tmp_path, expr):
    found = errors(check(tmp_path, policy(outputs={"o": expr})))
    assert [d.code for d in found] == ["name.unknown"]


def test_has_of_an_unknown_name_only_reports_the_name(tmp_path):
    found = check(tmp_path, policy(outputs={"o": "has(nope)"}))
    assert [d.code for d in found] == ["name.unknown"]


def test_diagnostics_are_sorted_by_location(tmp_path):
    text = policy(tables=TABLES,
                  definitions={"a": "nope1", "b": "born + 1"},
                  rules=["n == born", "nope2 > 1"],
                  outputs={"o": "s * 2", "p": 'tb["a"].zz'})
    found = check(tmp_path, text)
    keys = [(d.location.file, d.location.line, d.location.column) for d in found]
    assert keys == sorted(keys)
    assert [d.code for d in found] == ["name.unknown", "type.arithmetic", "type.compare", "name.unknown",
                                       "type.arithmetic", "name.field"]


def test_errors_in_rules_carry_their_clause(tmp_path):
    d, _ = single(tmp_path, rules=["n == born"])
    assert d.clause == "c"
    assert "(clause c)" in d.render()


def test_every_version_of_a_policy_is_checked(tmp_path):
    v1 = policy(outputs={"o": "n + 1"})
    v2 = policy(version="2", effective="2024-01-01", outputs={"o": "n + nope"})
    found = errors(check(tmp_path, v1, v2))
    assert [d.code for d in found] == ["name.unknown"]
    assert found[0].location.file.endswith("2.yaml")


# ---------------------------------------------------------------------------------------------
# null: a value that may be null cannot reach an operator, a condition, an argument or a key


@pytest.mark.parametrize("expr, code, words", [
    ("(opt ?? null) + 1", "type.arithmetic", "'+' needs numbers, not int or null and int"),
    ("(if flag then null else on) < on", "type.compare", "cannot order date or null against date"),
    ("sum(x for x in [null, 1]) > 0", "type.arithmetic", "sum() adds numbers, not int or null"),
    ("age(if flag then null else born, on)", "call.arguments", "argument 1 must be date, not date or null"),
    ('tb[if flag then null else s].v', "type.key", "key 'k' of tb is string, not string or null"),
    ("not (if flag then null else flag)", "type.operand", "'not' needs true or false, not bool or null"),
])
def test_a_value_that_may_be_null_is_refused_where_a_value_is_needed(tmp_path, expr, code, words):
    d, text = single(tmp_path, tables=TABLES, outputs={"o": expr})
    assert (d.code, d.severity) == (code, "error")
    assert words in d.message
    assert d.hint == "this may be null: give a default with ?? (x ?? 0), or test x != null first"
    assert d.location.line == line_of(text, expr)


def test_a_condition_that_may_be_null_is_refused(tmp_path):
    d, _ = single(tmp_path, rules=[{"require": "if flag then null else flag"}])
    assert d.code == "type.condition" and "but this is bool or null" in d.message


@pytest.mark.parametrize("expr", ["if flag then null else n", "opt ?? null", "[null, n]", "(opt ?? null) ?? 0",
                                  "(if flag then null else n) == 3", "(if flag then null else n) != null"])
def test_null_is_a_value_outputs_defaults_and_comparisons_take(tmp_path, expr):
    assert errors(check(tmp_path, policy(outputs={"o": expr}))) == []


def test_comparing_something_never_null_with_null_is_warned(tmp_path):
    text = policy(outputs={"o": "n == null"})
    found = check(tmp_path, text)
    assert [(d.code, d.severity) for d in found] == [("null.never", "warning")]
    assert found[0].message == "this is never null, so '== null' is always false"


# ---------------------------------------------------------------------------------------------
# One mistake, one error


def test_min_of_unknown_names_is_not_also_a_type_error(tmp_path):
    found = errors(check(tmp_path, policy(outputs={"o": "max(unknown1, unknown2) + 1"})))
    assert [d.code for d in found] == ["name.unknown", "name.unknown"]


def test_a_definition_of_the_wrong_type_is_one_error_not_one_per_use(tmp_path):
    defs = {"x": {"type": "int", "expr": "on"}}
    found = errors(check(tmp_path, policy(definitions=defs, outputs={"o": "x + 1 > 5", "p": "x * 2"})))
    assert [(d.code, d.message) for d in found] == [("type.mismatch", "'x' is declared int but its expression is date")]


def test_a_missing_input_schema_is_not_also_an_unknown_name_at_every_use(tmp_path):
    found = errors(check(tmp_path, policy(schema="missing.schema.json", outputs={"o": "n + 1", "p": "rec.x"},
                                          rules=["flag"])))
    assert [d.code for d in found] == ["schema.missing"]


# ---------------------------------------------------------------------------------------------
# A table row named by literal keys is looked for when the policy is checked


def test_a_literal_key_with_no_row_is_an_error(tmp_path):
    text = policy(tables=TABLES, outputs={"o": 't2["a", 2].v'})
    d, _ = single(tmp_path, tables=TABLES, outputs={"o": 't2["a", 2].v'})
    assert (d.code, d.severity, d.message) == ("table.no_row", "error", "t2 has no row for a, 2")
    assert d.location.line == line_of(text, 't2["a", 2]')


@pytest.mark.parametrize("expr", ['has(tb["z"])', 'tb["z"].v ?? 0', 'tb["z"] == null'])
def test_a_literal_key_with_no_row_asked_about_is_a_warning(tmp_path, expr):
    found = check(tmp_path, policy(tables=TABLES, outputs={"o": expr}))
    assert [(d.code, d.severity, d.message) for d in found] == [
        ("table.no_row", "warning", "tb has no row for z, so this is always absent")]


@pytest.mark.parametrize("expr", ['tb["a"].v', 't2["a", 1].v', 'has(tb["a"])'])
def test_a_literal_key_with_a_row_is_fine(tmp_path, expr):
    assert check(tmp_path, policy(tables=TABLES, outputs={"o": expr})) == []


def test_a_definition_name_pasted_in_decomposed_form_is_named_and_corrected(tmp_path):
    decomposed = "cafe\u0301"  # looks like café, but an expression that says café (NFC) would not find it
    d, _ = single(tmp_path, definitions={decomposed: "1"})
    assert d.code == "name.reserved"
    assert d.message == (f"definition {decomposed!r} cannot be used in expressions: its characters are not in "
                         "Unicode NFC form (retype it, or write 'café')")


@pytest.mark.parametrize("decision, definitions, at", [
    ("d / 3", None, "d / 3"),
    ("n + d / (n + 1)", None, "d / (n + 1)"),
    ("share * 2", {"share": {"expr": "d / 4"}}, "share * 2"),  # through a definition: at the name that divides
    ("f(n) + halved(d)", {"f": {"params": {"x": "int"}, "expr": "x + 1"},
                          "halved": {"params": {"x": "number"}, "expr": "x / 2"}}, "halved(d)"),
])
def test_an_amount_that_divides_without_rounding_draws_a_warning(tmp_path, decision, definitions, at):
    """733.3333333333333333333333333 is no sum anyone is paid: the officer is told where the quotient comes from."""
    text = policy(decision=decision, definitions=definitions)
    found = [d for d in check(tmp_path, text) if d.code == "amount.unrounded"]
    assert [d.severity for d in found] == ["warning"]
    assert found[0].location.line == line_of(text, at)
    assert found[0].source_line[found[0].location.column - 1:].startswith(at.split(" ")[0])
    assert "round(…, 2)" in found[0].hint


@pytest.mark.parametrize("decision, definitions", [
    ("round(d / 3, 2)", None), ("floor(d / 3)", None), ("d * 3", None),
    ("share", {"share": {"expr": "round(d / 4, 2)"}}),
    ("if n == 0 then 0 else round(d / n, 2)", None),
])
def test_an_amount_rounded_where_it_divides_draws_none(tmp_path, decision, definitions):
    assert [d for d in check(tmp_path, policy(decision=decision, definitions=definitions))
            if d.code == "amount.unrounded"] == []


RATES = {"clause": "c", "key": ["level"], "columns": {"level": "string", "amount": "money"},
         "rows": [["junior", 1000.555], ["senior", 2000.5], ["expert", 3000.125]]}


@pytest.mark.parametrize("decision, definitions, currency", [
    ("rates[level].amount", None, "CNY"),
    ("base + 10", {"base": {"expr": "rates[level].amount"}}, "CNY"),  # through a definition
    ("rates[level].amount * 2", None, "JPY"),  # yen are paid in whole units: 2000.5 is finer too
])
def test_an_amount_read_from_a_cell_finer_than_its_currency_draws_a_warning(tmp_path, decision, definitions,
                                                                            currency):
    """2200.555 in a money table is a typing error that would be granted as written."""
    text = policy(decision=decision, definitions=definitions, tables={"rates": RATES}).replace(
        "currency: CNY", f"currency: {currency}")
    [found] = [d for d in check(tmp_path, text) if d.code == "amount.precision"]
    assert found.severity == "warning" and found.clause == "c"
    assert found.source_line[found.location.column - 1:].startswith("1000.555")  # the first cell at fault
    places, more = (2, 1) if currency == "CNY" else (0, 2)
    assert found.message == (f"the amount reads rates.amount, whose row [junior] is 1000.555: more decimal places "
                             f"than {currency} is paid in ({places}) (and {more} more row(s))")


@pytest.mark.parametrize("decision", ["round(rates[level].amount, 2)", "floor(rates[level].amount)", "d * 2"])
def test_an_amount_that_rounds_the_cell_or_reads_no_table_draws_none(tmp_path, decision):
    text = policy(decision=decision, tables={"rates": RATES})
    assert [d for d in check(tmp_path, text) if d.code == "amount.precision"] == []


@pytest.mark.parametrize("decision, used_definitions", [
    ("r.rates[level].amount", None),
    ("r.base(level) + 1", {"base": {"params": {"l": "string"}, "expr": "rates[l].amount"}}),  # a function it uses
])
def test_an_amount_read_from_a_used_policys_table_is_held_to_its_currency_too(tmp_path, decision, used_definitions):
    exports = "exports: [rates" + (", base]" if used_definitions else "]")
    rates = policy("test/rates", schema=None, tables={"rates": RATES}, definitions=used_definitions, top=exports)
    user = policy("test/user", decision=decision, top="uses: {r: test/rates}")
    [found] = [d for d in check(tmp_path, rates, user) if d.code == "amount.precision"]
    assert found.location.file.endswith("test/rates/1.yaml")  # the cell, in the file that writes it
    assert found.source_line[found.location.column - 1:].startswith("1000.555")
    assert found.message.startswith("the amount reads r.rates.amount, whose row [junior] is 1000.555: ")
