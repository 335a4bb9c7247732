"""Evaluation: every operator and built-in function gives the value the rule's text means.

Expected values are worked out independently in each test (calendar arithmetic with the standard
library, the GB 11643 check digit by hand), never copied from the engine.
"""
from __future__ import annotations

import calendar
import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from engine.api import Engine
from engine.decide.results import ClaimError, Decision, Problem
from tests.placing import policy_path, policy_text

SCHEMA = {
    "x-claim-id": "id", "x-decision-date": "on", "type": "object",
    "required": ["id", "on", "n", "d", "flag", "s", "born", "items"],
    "properties": {
        "id": {"type": "string"},
        "on": {"type": "string", "format": "date"},
        "n": {"type": "integer"},
        "d": {"type": "number"},
        "flag": {"type": "boolean"},
        "s": {"type": "string"},
        "born": {"type": "string", "format": "date"},
        "opt": {"type": "integer"},
        "opt_date": {"type": "string", "format": "date"},
        "rec": {"type": "object", "required": ["x"],
                "properties": {"x": {"type": "integer"}, "y": {"type": "string"}}},
        "items": {"type": "array", "maxItems": 100, "items": {
            "type": "object", "required": ["k", "v", "amt", "at"],
            "properties": {"k": {"type": "string"}, "v": {"type": "integer"}, "amt": {"type": "number"},
                           "at": {"type": "string", "format": "date"}}}},
    },
}

TABLES = {
    "rate": {"clause": "c", "key": ["k"], "columns": {"k": "string", "v": "int"}, "rows": [["a", 1], ["b", 2]]},
    "subsidy": {"clause": "c", "key": ["code", "level"], "columns": {"code": "string", "level": "string",
                                                                     "amount": "money"},
                "rows": [["2-02-10-11", "junior", 3300], ["2-02-10-11", "senior", 5200.50]]},
}

ITEMS = [
    {"k": "a", "v": 1, "amt": Decimal("0.1"), "at": "2024-01-31"},
    {"k": "b", "v": 2, "amt": Decimal("0.2"), "at": "2023-02-28"},
    {"k": "a", "v": 3, "amt": Decimal("0.3"), "at": "2024-02-29"},
]

CLAIM = {"id": "c1", "on": "2024-05-01", "n": 3, "d": Decimal("1.5"), "flag": True, "s": "330702",
         "born": "1990-03-07", "items": ITEMS}


def decide(tmp_path: Path, outputs: dict | None = None, rules: list | None = None, definitions: dict | None = None,
           explain: bool = True, **facts):
    (tmp_path / "policies").mkdir(exist_ok=True)
    (tmp_path / "schemas").mkdir(exist_ok=True)
    (tmp_path / "schemas" / "t.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    text = policy_text(tables=TABLES, definitions=definitions, rules=rules, outputs=outputs)
    policy_path(tmp_path / "policies", text).write_text(text, encoding="utf-8")
    engine = Engine.load(tmp_path / "policies", tmp_path / "schemas")
    problems = [d for d in engine.check() if d.severity == "error"]
    assert problems == [], [d.render() for d in problems]
    claim = {**CLAIM, **facts}
    return engine.evaluator("test/policy", explain=explain).evaluate(claim)


def value(tmp_path: Path, expr: str, **facts):
    """The value of one expression for the standard claim (with `facts` replaced)."""
    result = decide(tmp_path, {"o": expr}, **facts)
    assert isinstance(result, Decision), result
    return result.outputs["o"]


def error(tmp_path: Path, expr: str, **facts) -> Problem:
    """The problem an output that cannot be computed reports; the decision itself still stands."""
    result = decide(tmp_path, {"o": expr}, **facts)
    assert isinstance(result, Decision), result
    assert result.outputs["o"] is None
    (problem,) = result.problems
    assert (problem.kind, problem.name) == ("output", "o")
    return problem


def same(got, expected) -> bool:
    """Equal, and of the same kind (True is not 1; a Decimal is not a float)."""
    kinds = (bool, date, str, list, type(None))
    for kind in kinds:
        if isinstance(expected, kind) or isinstance(got, kind):
            return isinstance(got, kind) and isinstance(expected, kind) and got == expected
    return not isinstance(got, float) and got == expected


# Calendar arithmetic done independently: the same day N months on, or the month's last day.

def plus_months(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


def completed_years(birth: date, on: date) -> int:
    """Age in completed years; a 29 February birthday is reached on 28 February in common years."""
    years = on.year - birth.year
    day = min(birth.day, calendar.monthrange(on.year, birth.month)[1])
    if (on.month, on.day) < (birth.month, day):
        years -= 1
    return years


def gb11643_check(first17: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(c) * w for c, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


# ---------------------------------------------------------------------------------------------
# Arithmetic and exact decimals


@pytest.mark.parametrize("expr, expected", [
    ("1 + 2", 3),
    ("1 - 3", -2),
    ("6 * 7", 42),
    ("n * 2", 6),
    ("-n", -3),
    ("-(-3)", 3),
    ("2 + 3 * 4", 14),
    ("(2 + 3) * 4", 20),
    ("10 - 4 - 3", 3),
    ("7 / 2", Decimal("3.5")),
    ("6 / 3", Decimal(2)),
    ("n / 4", Decimal("0.75")),
    ("d * 2", Decimal("3.0")),
    ("d + 1", Decimal("2.5")),
    ("-d", Decimal("-1.5")),
    ("0.1 + 0.2", Decimal("0.3")),
    ("3300.50 - 0.50", Decimal("3300")),
    ("1.1 * 1.1", Decimal("1.21")),
    ("100 / 8", Decimal("12.5")),
])
def test_arithmetic(tmp_path, expr, expected):
    got = value(tmp_path, expr)
    assert same(got, expected), got
    if isinstance(expected, Decimal):
        assert isinstance(got, Decimal)


def test_point_one_plus_point_two_is_exactly_point_three(tmp_path):
    result = decide(tmp_path, {"sum": "0.1 + 0.2", "equal": "0.1 + 0.2 == 0.3"})
    assert result.outputs["sum"] == Decimal("0.3")
    assert isinstance(result.outputs["sum"], Decimal)
    assert result.outputs["equal"] is True


def test_money_from_facts_and_tables_stays_decimal(tmp_path):
    result = decide(tmp_path, {"total": "sum(x.amt for x in items)",
                               "amount": 'subsidy["2-02-10-11", "senior"].amount',
                               "scaled": 'subsidy["2-02-10-11", "junior"].amount * 0.7'})
    assert result.outputs["total"] == Decimal("0.6") and isinstance(result.outputs["total"], Decimal)
    assert result.outputs["amount"] == Decimal("5200.50") and isinstance(result.outputs["amount"], Decimal)
    assert result.outputs["scaled"] == Decimal("2310") and isinstance(result.outputs["scaled"], Decimal)


def test_decision_amount_is_exact(tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "t.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    text = policy_text(tables=TABLES, decision="sum(x.amt for x in items) * 3")
    policy_path(tmp_path / "policies", text).write_text(text, encoding="utf-8")
    result = Engine.load(tmp_path / "policies", tmp_path / "schemas").evaluator("test/policy").evaluate(CLAIM)
    assert result.amount == Decimal("1.8")
    assert result.to_json()["amount"] == "1.8"


def test_division_by_zero_is_an_evaluation_error(tmp_path):
    e = error(tmp_path, "n / (n - 3)")
    assert e.code == "evaluation.division"
    assert e.message == "division by zero in n / (n - 3)"


def test_one_third_is_a_decimal_quotient(tmp_path):
    got = value(tmp_path, "1 / 3")
    assert isinstance(got, Decimal)
    assert abs(got - Decimal(1) / Decimal(3)) == 0


# ---------------------------------------------------------------------------------------------
# Comparison, logic, membership, conditionals, defaults


@pytest.mark.parametrize("expr, expected", [
    ("1 == 1", True), ("1 != 1", False), ("1 < 2", True), ("2 <= 2", True), ("3 > 4", False), ("4 >= 5", False),
    ("1 == 1.0", True), ("0.5 < 1", True), ("d > n", False),
    ("born < on", True), ("born == 1990-03-07", True), ("on >= 2024-05-02", False),
    ('s == "330702"', True), ('"a" < "b"', True), ('s != "33"', True),
    ("true and false", False), ("true or false", True), ("not flag", False), ("not not flag", True),
    ("flag and n > 2", True), ("false or n > 5", False),
    ("2 in [1, 2]", True), ("5 in [1, 2]", False), ("2 not in [1, 2]", False), ("5 not in [1, 2]", True),
    ('s in ["330702", "330100"]', True), ("born in [1990-03-07]", True),
    ('"a" in rate', True), ('"z" in rate', False), ('"z" not in rate', True),
    ("[1] == [1]", True), ("[1, 2] == [2, 1]", False),
])
def test_comparison_logic_membership(tmp_path, expr, expected):
    got = value(tmp_path, expr)
    assert got is expected


@pytest.mark.parametrize("expr, expected", [
    ("if flag then 1 else 2", 1),
    ("if not flag then 1 else 2", 2),
    ('if n > 5 then "big" else if n > 2 then "middle" else "small"', "middle"),
    ("if flag then born else on", date(1990, 3, 7)),
])
def test_if_then_else(tmp_path, expr, expected):
    assert same(value(tmp_path, expr), expected)


@pytest.mark.parametrize("expr, expected", [("false and opt > 1", False), ("true or opt > 1", True),
                                            ("not flag and opt > 1", False), ("false and rate[s].v > 1", False),
                                            ("if flag then 1 else opt", 1)])
def test_and_or_if_short_circuit_before_a_missing_value(tmp_path, expr, expected):
    assert same(value(tmp_path, expr), expected)


@pytest.mark.parametrize("expr, expected", [
    ("[1, 2] + [3]", [1, 2, 3]),
    ("[] + [n]", [3]),
    ("[s] + [] + [s]", ["330702", "330702"]),
    ("[on] + [born]", [date(2024, 5, 1), date(1990, 3, 7)]),
])
def test_list_literals_and_concatenation(tmp_path, expr, expected):
    assert value(tmp_path, expr) == expected


def test_decision_date(tmp_path):
    assert value(tmp_path, "decision_date") == date(2024, 5, 1)
    assert value(tmp_path, "decision_date", on="2025-01-01") == date(2025, 1, 1)


# ---------------------------------------------------------------------------------------------
# Quantifiers and aggregates


@pytest.mark.parametrize("expr, expected", [
    ('any(x in items where x.k == "b")', True),
    ("any(x in items where x.v > 3)", False),
    ("all(x in items where x.v > 0)", True),
    ("all(x in items where x.v > 1)", False),
    ('count(x in items where x.k == "a")', 2),
    ("count(x in items where year(x.at) == year(decision_date))", 2),
    ("sum(x.v for x in items)", 6),
    ("sum(x.v * 10 for x in items)", 60),
    ("sum(x.amt * 2 for x in items)", Decimal("1.2")),
    ('sum(x.v for x in filter(y in items where y.k == "a"))', 4),
    ("length(filter(x in items where x.v >= 2))", 2),
    ("count(x in items where any(y in items where y.v > x.v))", 2),
    ("any(x in items where any(x in items where x.v > 2))", True),  # the inner x shadows the outer one
])
def test_quantifiers(tmp_path, expr, expected):
    assert same(value(tmp_path, expr), expected)


def test_filter_keeps_the_items_in_order(tmp_path):
    got = value(tmp_path, 'filter(x in items where x.k == "a")')
    assert [x["v"] for x in got] == [1, 3]


@pytest.mark.parametrize("expr, expected", [
    ("any(x in items where x.v > 0)", False),
    ("all(x in items where x.v > 0)", True),
    ("count(x in items where x.v > 0)", 0),
    ("sum(x.v for x in items)", 0),
    ("length(filter(x in items where x.v > 0))", 0),
])
def test_quantifiers_over_an_empty_list(tmp_path, expr, expected):
    assert same(value(tmp_path, expr, items=[]), expected)


def test_sum_of_money_over_an_empty_list_is_zero(tmp_path):
    got = value(tmp_path, "sum(x.amt for x in items)", items=[])
    assert got == 0 and not isinstance(got, float)


# ---------------------------------------------------------------------------------------------
# Calendar functions


@pytest.mark.parametrize("start, months", [
    (date(2024, 1, 31), 1), (date(2024, 2, 29), 12), (date(2024, 3, 31), -1), (date(2023, 1, 31), 1),
    (date(2024, 8, 31), 1), (date(2024, 12, 31), 2), (date(2024, 5, 15), 0), (date(2024, 5, 15), -17),
    (date(2000, 2, 29), 48), (date(2024, 10, 31), 4),
])
def test_add_months_clamps_to_the_month_end(tmp_path, start, months):
    got = value(tmp_path, f"add_months({start.isoformat()}, {months})" if months >= 0 else
                f"add_months({start.isoformat()}, -{-months})")
    assert got == plus_months(start, months)


def test_add_months_named_cases(tmp_path):
    result = decide(tmp_path, {"a": "add_months(2024-01-31, 1)", "b": "add_months(2024-02-29, 12)",
                               "c": "add_years(2024-02-29, 1)", "d": "add_years(2024-02-29, 4)"})
    assert result.outputs == {"a": date(2024, 2, 29), "b": date(2025, 2, 28), "c": date(2025, 2, 28),
                              "d": date(2028, 2, 29)}


@pytest.mark.parametrize("start, days", [(date(2024, 2, 28), 1), (date(2023, 2, 28), 1), (date(2024, 12, 31), 1),
                                         (date(2024, 3, 1), -1), (date(2024, 1, 1), 366)])
def test_add_days(tmp_path, start, days):
    text = f"add_days({start.isoformat()}, {days})" if days >= 0 else f"add_days({start.isoformat()}, -{-days})"
    assert value(tmp_path, text) == start + timedelta(days=days)


@pytest.mark.parametrize("birth, on", [
    (date(2000, 2, 29), date(2024, 2, 28)),
    (date(2000, 2, 29), date(2024, 2, 29)),
    (date(2000, 2, 29), date(2023, 2, 28)),
    (date(2000, 2, 29), date(2023, 2, 27)),
    (date(2000, 2, 29), date(2023, 3, 1)),
    (date(1990, 3, 7), date(2024, 5, 1)),
    (date(1990, 3, 7), date(2024, 3, 6)),
    (date(1990, 3, 7), date(2024, 3, 7)),
    (date(1964, 12, 31), date(2024, 12, 30)),
    (date(2024, 5, 1), date(2024, 5, 1)),
])
def test_age_in_completed_years(tmp_path, birth, on):
    assert value(tmp_path, f"age({birth.isoformat()}, {on.isoformat()})") == completed_years(birth, on)


def test_age_on_a_29_february_birthday(tmp_path):
    result = decide(tmp_path, {"before": "age(2000-02-29, 2023-02-27)", "on_28": "age(2000-02-29, 2023-02-28)",
                               "leap_28": "age(2000-02-29, 2024-02-28)", "leap_29": "age(2000-02-29, 2024-02-29)"})
    assert result.outputs == {"before": 22, "on_28": 23, "leap_28": 23, "leap_29": 24}


def test_age_from_facts(tmp_path):
    assert value(tmp_path, "age(born, decision_date)") == completed_years(date(1990, 3, 7), date(2024, 5, 1))


@pytest.mark.parametrize("start, end", [
    (date(2024, 1, 31), date(2024, 2, 29)),
    (date(2024, 1, 31), date(2024, 2, 28)),
    (date(2024, 1, 15), date(2024, 3, 14)),
    (date(2024, 1, 15), date(2024, 3, 15)),
    (date(2023, 9, 16), date(2024, 5, 1)),
    (date(2024, 2, 29), date(2025, 2, 28)),
    (date(2024, 5, 1), date(2024, 5, 1)),
])
def test_months_between(tmp_path, start, end):
    # whole months: the largest m whose clamped anniversary is not after the end
    expected = max(m for m in range(0, 400) if plus_months(start, m) <= end)
    assert value(tmp_path, f"months_between({start.isoformat()}, {end.isoformat()})") == expected


def test_months_between_backwards_is_negative(tmp_path):
    assert value(tmp_path, "months_between(2024-03-31, 2024-01-31)") == -2


@pytest.mark.parametrize("start, end", [(date(2024, 1, 1), date(2024, 3, 1)), (date(2023, 1, 1), date(2023, 3, 1)),
                                        (date(2024, 5, 1), date(2024, 4, 1)), (date(1990, 3, 7), date(2024, 5, 1))])
def test_days_between(tmp_path, start, end):
    assert value(tmp_path, f"days_between({start.isoformat()}, {end.isoformat()})") == (end - start).days


def test_year_month_day_and_date(tmp_path):
    result = decide(tmp_path, {"y": "year(on)", "m": "month(on)", "d": "day(born)", "make": "date(2024, 2, 29)"})
    assert result.outputs == {"y": 2024, "m": 5, "d": 7, "make": date(2024, 2, 29)}


@pytest.mark.parametrize("expr", ["date(2023, 2, 29)", "date(2024, 13, 1)", "add_months(9999-12-31, 1)",
                                  "add_days(0001-01-01, -1)"])
def test_impossible_dates_are_evaluation_errors(tmp_path, expr):
    e = error(tmp_path, expr)
    assert e.code == "evaluation.error"
    assert "not a calendar date" in e.message or "outside the calendar" in e.message


# ---------------------------------------------------------------------------------------------
# Numbers, strings and lists


@pytest.mark.parametrize("expr, expected", [
    ("min(3, 1, 2)", 1), ("max(3, 1, 2)", 3), ("min([4, 5, 2])", 2), ("max([4, 5, 2])", 5),
    ("max(1.5, 2.25)", Decimal("2.25")), ("min(d, 1.25)", Decimal("1.25")),
    ("min(born, on)", date(1990, 3, 7)), ("max(born, on, 2030-01-01)", date(2030, 1, 1)),
    ("max(sum(x.v for x in items), 5)", 6),
])
def test_min_max(tmp_path, expr, expected):
    assert same(value(tmp_path, expr), expected)


def test_min_of_an_empty_list_is_an_evaluation_error(tmp_path):
    e = error(tmp_path, "min(filter(x in [1, 2] where x > 5))")
    assert (e.code, e.message) == ("evaluation.error", "min() and max() need at least one value")


@pytest.mark.parametrize("text", ["2.7", "2.5", "2", "-2.5", "-0.1", "3300.99", "0"])
def test_floor(tmp_path, text):
    import math
    got = value(tmp_path, f"floor({text})" if not text.startswith("-") else f"floor(-{text[1:]})")
    assert got == math.floor(Decimal(text)) and isinstance(got, int)


@pytest.mark.parametrize("text, places", [("2.345", 2), ("2.5", 0), ("3.5", 0), ("-2.5", 0), ("1.005", 2),
                                          ("2.675", 2), ("0.125", 2), ("1234.5", 0), ("7", 2), ("2.4449", 2)])
def test_round_half_up(tmp_path, text, places):
    expected = Decimal(text).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    expr = f"round({text}, {places})" if not text.startswith("-") else f"round(-{text[1:]}, {places})"
    got = value(tmp_path, expr)
    assert isinstance(got, Decimal)
    assert got == expected and str(got) == str(expected)


def test_round_half_up_named_cases(tmp_path):
    result = decide(tmp_path, {"a": "round(2.5, 0)", "b": "round(2.345, 2)", "c": "round(1.005, 2)"})
    assert result.outputs == {"a": Decimal(3), "b": Decimal("2.35"), "c": Decimal("1.01")}


def test_abs(tmp_path):
    result = decide(tmp_path, {"i": "abs(-3)", "m": "abs(-1.5)", "z": "abs(0)"})
    assert same(result.outputs["i"], 3) and same(result.outputs["m"], Decimal("1.5")) and same(result.outputs["z"], 0)


@pytest.mark.parametrize("expr, expected", [
    ('starts_with(s, "3307")', True), ('starts_with(s, "3308")', False), ('starts_with(s, "")', True),
    ('starts_with("33", s)', False), ('ends_with(s, "02")', True), ('contains(s, "07")', True),
    ('contains(s, "99")', False), ('starts_with("在金华参保", "在金华")', True),
])
def test_string_predicates(tmp_path, expr, expected):
    assert value(tmp_path, expr) is expected


@pytest.mark.parametrize("expr, expected", [
    ("length(s)", 6), ('length("")', 0), ('length("在金华")', 3), ("length(items)", 3), ("length([])", 0),
    ("length([1, 2] + [3])", 3),
])
def test_length(tmp_path, expr, expected):
    assert same(value(tmp_path, expr), expected)


@pytest.mark.parametrize("expr, expected", [
    ("distinct([1, 2, 1, 3, 2])", [1, 2, 3]),
    ("distinct([3, 3, 3])", [3]),
    ("distinct([])", []),
    ('distinct(["b", "a", "b"])', ["b", "a"]),
    ("distinct([on, born, on])", [date(2024, 5, 1), date(1990, 3, 7)]),
])
def test_distinct_keeps_the_first_of_each_in_order(tmp_path, expr, expected):
    assert value(tmp_path, expr) == expected


def test_distinct_of_records(tmp_path):
    result = decide(tmp_path, {"o": "distinct(items + filter(x in items where x.k == \"a\"))"})
    assert isinstance(result, Decision), result
    assert [(x["k"], x["v"]) for x in result.outputs["o"]] == [(i["k"], i["v"]) for i in ITEMS]


# ---------------------------------------------------------------------------------------------
# Resident identity numbers (GB 11643)


@pytest.mark.parametrize("number, birth, sex", [
    ("11010519491231002X", date(1949, 12, 31), "female"),
    ("330702199003070011", date(1990, 3, 7), "male"),
])
def test_resident_id(tmp_path, number, birth, sex):
    # the numbers are well formed: check digit, embedded birth date, sex from the 17th digit's parity
    assert gb11643_check(number[:17]) == number[17]
    assert date(int(number[6:10]), int(number[10:12]), int(number[12:14])) == birth
    assert ("male" if int(number[16]) % 2 else "female") == sex
    result = decide(tmp_path, {"valid": f'resident_id_valid("{number}")',
                               "birth": f'resident_id_birth_date("{number}")',
                               "sex": f'resident_id_sex("{number}")'})
    assert result.outputs == {"valid": True, "birth": birth, "sex": sex}


@pytest.mark.parametrize("number", ["330702199003070012",  # wrong check digit
                                    "330702199002300014",  # 30 February
                                    "33070219900307001",  # too short
                                    "33070219900307001A"])
def test_invalid_resident_id(tmp_path, number):
    if len(number) == 18 and number.startswith("3307021990030700"):
        assert number[17] != gb11643_check(number[:17])  # the intended mistake is the check digit
    assert value(tmp_path, f'resident_id_valid("{number}")') is False
    e = error(tmp_path, f'resident_id_sex("{number}")')
    assert e.code == "evaluation.error"
    assert e.message.startswith(f"'{number}' is not a valid resident identity number: ")


def test_a_line_break_among_the_digits_is_not_a_digit(tmp_path):
    # "2" is the check character the digits would have if the line break were read as nothing (int() skips it)
    assert value(tmp_path, 'resident_id_valid("3307021990030700\\n2")') is False
    e = error(tmp_path, 'resident_id_sex("3307021990030700\\n2")')
    assert e.code == "evaluation.error" and "must be 17 digits" in e.message


def test_resident_id_with_a_30_february_birth_date_is_invalid_even_with_a_right_check_digit(tmp_path):
    first17 = "33070219900230001"
    number = first17 + gb11643_check(first17)
    assert value(tmp_path, f'resident_id_valid("{number}")') is False


# ---------------------------------------------------------------------------------------------
# Missing values are explicit errors; ?? and has() catch them


def test_missing_optional_fact_is_an_error_naming_the_fact(tmp_path):
    e = error(tmp_path, "opt + 1")
    assert (e.code, e.message) == ("evaluation.missing", "opt is not given")


def test_missing_optional_fact_in_a_rule_is_an_error_not_a_failure(tmp_path):
    result = decide(tmp_path, rules=["opt > 1"])
    assert isinstance(result, ClaimError)
    assert result.code == "evaluation.rule"
    assert result.message == "rule r0 (clause c) could not be decided: opt is not given"


def test_missing_optional_fact_inside_not_is_not_silently_true(tmp_path):
    result = decide(tmp_path, rules=["not (opt > 1)"])
    assert isinstance(result, ClaimError)
    assert "opt" in result.message


def test_missing_nested_fact(tmp_path):
    e = error(tmp_path, "rec.x")
    assert (e.code, e.message) == ("evaluation.missing", "rec.x is not given (rec is absent)")


def test_missing_optional_field_of_a_present_record(tmp_path):
    e = error(tmp_path, "rec.y", rec={"x": 1})
    assert (e.code, e.message) == ("evaluation.missing", "rec.y is not given")


def test_absent_table_key_is_an_error_naming_the_table_and_key(tmp_path):
    e = error(tmp_path, "rate[s].v")
    assert (e.code, e.message) == ("evaluation.no_row", "rate has no row for 330702")


def test_absent_two_key_row(tmp_path):
    e = error(tmp_path, 'subsidy["2-02-10-11", s].amount')
    assert (e.code, e.message) == ("evaluation.no_row", "subsidy has no row for 2-02-10-11, 330702")


def test_absent_table_key_in_a_rule_is_an_error_not_a_failure(tmp_path):
    result = decide(tmp_path, rules=['rate[s].v > 0'])
    assert isinstance(result, ClaimError)
    assert result.code == "evaluation.rule"
    assert result.message == "rule r0 (clause c) could not be decided: rate has no row for 330702"


def test_missing_value_in_a_definition_used_by_a_rule(tmp_path):
    result = decide(tmp_path, rules=["bonus > 1"], definitions={"bonus": "opt * 2"})
    assert isinstance(result, ClaimError)
    assert "opt" in result.message


@pytest.mark.parametrize("expr, facts, expected", [
    ("opt ?? 7", {}, 7),
    ("opt ?? 7", {"opt": 2}, 2),
    ("opt_date ?? on", {}, date(2024, 5, 1)),
    ("rec.x ?? 0", {}, 0),
    ("rec.x ?? 0", {"rec": {"x": 5}}, 5),
    ('rec.y ?? "none"', {"rec": {"x": 5}}, "none"),
    ("rate[s].v ?? 0", {}, 0),
    ('rate["b"].v ?? 0', {}, 2),
    ('subsidy["2-02-10-11", s].amount ?? 0', {}, 0),
    ("opt ?? rec.x ?? 9", {}, 9),
    ("opt ?? rec.x ?? 9", {"rec": {"x": 4}}, 4),
    ("(opt + 1) ?? 0", {}, 0),
    ("(opt + 1) ?? 0", {"opt": 1}, 2),
    ("has(opt)", {}, False),
    ("has(opt)", {"opt": 0}, True),
    ("has(rec.x)", {}, False),
    ("has(rec.y)", {"rec": {"x": 1}}, False),
    ("has(rec.y)", {"rec": {"x": 1, "y": ""}}, True),
    ('has(rate["a"])', {}, True),
    ("has(rate[s])", {}, False),
    ('has(subsidy["2-02-10-11", "junior"])', {}, True),
    ("if has(opt) then opt else -1", {}, -1),
    ("has(opt) and opt > 1", {}, False),
])
def test_default_and_has_catch_missing_values(tmp_path, expr, facts, expected):
    assert same(value(tmp_path, expr, **facts), expected)


def test_default_does_not_hide_other_errors(tmp_path):
    e = error(tmp_path, "(n / (n - 3)) ?? 0")
    assert (e.code, e.message) == ("evaluation.division", "division by zero in n / (n - 3)")


def test_has_of_a_definition_that_reads_a_missing_fact(tmp_path):
    result = decide(tmp_path, {"o": "has(bonus)", "p": "bonus ?? 0"}, definitions={"bonus": "opt * 2"})
    assert result.outputs == {"o": False, "p": 0}


# ---------------------------------------------------------------------------------------------
# Definitions, functions, Unicode names, explain on and off


def test_definitions_and_functions(tmp_path):
    defs = {"在本省": {"params": {"r": "string"}, "expr": 'starts_with(r, "33")'},
            "twice": {"params": {"m": "money"}, "expr": "m * 2"},
            "在金华参保": 'starts_with(s, "3307")',
            "regions": '[s, "110105", "330100"]'}
    result = decide(tmp_path, {"a": "count(r in regions where 在本省(r))", "b": "在金华参保",
                               "c": "twice(d) + twice(n)", "d": 'filter(r in regions where not 在本省(r))'},
                    definitions=defs)
    assert result.outputs == {"a": 2, "b": True, "c": Decimal("9.0"), "d": ["110105"]}


def test_function_parameter_does_not_leak_into_the_caller(tmp_path):
    # the parameter x and the comprehension variable x are different variables
    defs = {"inc": {"params": {"x": "int"}, "expr": "x + 1"}}
    result = decide(tmp_path, {"o": "sum(inc(x.v) + x.v for x in items)"}, definitions=defs)
    assert result.outputs["o"] == sum((i["v"] + 1) + i["v"] for i in ITEMS)


@pytest.mark.parametrize("explain", [True, False])
def test_same_results_with_and_without_explanations(tmp_path, explain):
    outputs = {"a": "count(x in items where x.v > 1)", "b": "opt ?? 5", "c": "rate[s].v ?? 0",
               "d": "age(born, on)", "e": "has(bonus)", "f": "bonus ?? -1"}
    result = decide(tmp_path, outputs, definitions={"bonus": "opt * 2"}, explain=explain)
    assert result.outputs == {"a": 2, "b": 5, "c": 0, "d": 34, "e": False, "f": -1}


def test_rule_outcomes(tmp_path):
    result = decide(tmp_path, rules=["n > 1", "n > 5", "age(born, on) >= 18"])
    assert [r.outcome for r in result.rules] == ["pass", "fail", "pass"]
    assert result.eligible is False


def test_a_float_fact_from_plain_json_stays_exact(tmp_path):
    result = decide(tmp_path, {"o": "d + 0.1", "p": "d * 3"}, d=1.1)
    assert isinstance(result, Decision), result
    assert result.outputs["o"] == Decimal("1.2") and isinstance(result.outputs["o"], Decimal)
    assert result.outputs["p"] == Decimal("3.3")


# ---------------------------------------------------------------------------------------------
# Values typed decimal are Decimals, whichever branch or argument produced them


@pytest.mark.parametrize("expr, expected", [
    ("if flag then 1 else 2.5", Decimal(1)),
    ("min(1, 2.5)", Decimal(1)),
    ("opt ?? 2.5", Decimal("2.5")),
    ("sum(x.amt for x in items)", Decimal("0.6")),
])
def test_a_decimal_typed_value_is_a_decimal(tmp_path, expr, expected):
    got = value(tmp_path, expr)
    assert isinstance(got, Decimal) and got == expected


def test_sum_over_an_empty_list_literal_is_zero(tmp_path):
    assert value(tmp_path, "sum(x.v for x in [])") == 0


def test_comparing_an_absent_optional_fact_with_null(tmp_path):
    assert value(tmp_path, "opt == null") is True
    assert value(tmp_path, "opt != null", opt=4) is True


def test_runaway_multiplication_is_an_overflow_error(tmp_path):
    result = decide(tmp_path, {"o": "big(big(big(big(big(big(big(n)))))))"},
                    definitions={"big": {"expr": "x * x * x * x * x * x * x * x", "params": {"x": "int"}}})
    (problem,) = result.problems
    assert problem.code == "evaluation.overflow" and result.outputs["o"] is None


# ---------------------------------------------------------------------------------------------
# `== null` asks what has() asks, and only of what has() takes


@pytest.mark.parametrize("expr, facts, expected", [
    ("opt == null", {}, True), ("opt != null", {"opt": 0}, True), ("rate[s] == null", {}, True),
    ('rate["a"] != null', {}, True), ("bonus == null", {}, True), ("bonus == null", {"opt": 1}, False),
    ("(if flag then null else n) == null", {}, True), ("(if flag then null else n) == null", {"flag": False}, False),
])
def test_null_comparisons(tmp_path, expr, facts, expected):
    result = decide(tmp_path, {"o": expr}, definitions={"bonus": "opt * 2"}, **facts)
    assert result.problems == [] and result.outputs["o"] is expected


@pytest.mark.parametrize("expr", ["(opt + 1) != null", "count(i in items where i.v > opt) != null",
                                  "age(opt_date, on) == null"])
def test_a_missing_value_inside_a_null_comparison_is_still_an_error(tmp_path, expr):
    e = error(tmp_path, expr)
    assert e.code == "evaluation.missing" and e.message.endswith("is not given")


# ---------------------------------------------------------------------------------------------
# Decimals stay exact, or the claim is told why not


def test_decimal_sum_beyond_28_digits_is_exact(tmp_path):
    assert value(tmp_path, "10000000000000000000000000000 + 0.01") == Decimal("10000000000000000000000000000.01")


def test_a_product_that_needs_more_than_100_digits_is_refused_not_rounded(tmp_path):
    x = "1.234567890123456789012345678901234567891"
    e = error(tmp_path, f"{x} * {x} * {x}")
    assert e.code == "evaluation.overflow" and "needs more than 100 digits to be exact" in e.message


def test_an_integer_sum_past_2_to_the_63_is_an_overflow(tmp_path):
    e = error(tmp_path, "sum(9000000000000000000 for i in items)")
    assert e.code == "evaluation.overflow" and e.message.startswith("the sum in sum(")


def test_distinct_records_keep_the_first_of_each(tmp_path):
    got = value(tmp_path, 'distinct(filter(x in items where x.k == "a") + filter(x in items where x.k == "a"))')
    assert [(x["k"], x["v"]) for x in got] == [("a", 1), ("a", 3)]


# ---------------------------------------------------------------------------------------------
# Explanations: the facts beneath a definition, the same whatever came before


def test_a_rule_reading_a_definition_shows_the_facts_beneath_it(tmp_path):
    result = decide(tmp_path, rules=["twice > 1"], definitions={"twice": "n * 2"})
    assert result.rules[0].to_json()["reads"] == {"n": 3, "twice": 6}


def test_an_explanation_does_not_depend_on_the_claims_decided_before(tmp_path):
    definitions = {"rate_of": {"params": {"k": "string"}, "expr": "rate[k].v"}, "mine": "rate_of(s) ?? 0"}
    decide(tmp_path, rules=["mine >= 0"], definitions=definitions)
    evaluator = Engine.load(tmp_path / "policies", tmp_path / "schemas").evaluator("test/policy")
    first = evaluator.evaluate({**CLAIM, "s": "a"}).to_json()
    evaluator.evaluate({**CLAIM, "s": "b"})
    again = evaluator.evaluate({**CLAIM, "s": "a"}).to_json()  # rate_of("a") is now remembered
    assert again == first
    assert first["rules"][0]["reads"] == {"s": "a", "mine": 1}


@pytest.mark.parametrize("expr, words", [
    ("floor(d * 10000000000000000000000.0)", "is beyond 2^63"),
    ("100000000000000000000000000000.0 * 100000000000000000000000000000.0 / 0.000000000000000000000000000001",
     "grew past 10^60"),
])
def test_division_and_floor_are_bounded_like_other_arithmetic(tmp_path, expr, words):
    e = error(tmp_path, expr)
    assert e.code == "evaluation.overflow" and words in e.message
