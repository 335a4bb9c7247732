"""The expression language's surface: what parses, to what tree, and how parse errors are reported.

Positions are checked twice: in bare expressions (engine.language.syntax.parse) and inside policy files loaded
with Engine.load, where a mistake must be reported at its line and column in the YAML file.
"""
from __future__ import annotations

import json
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.api import Engine
from engine.core.diagnostics import Diagnostic, DiagnosticError
from engine.language.syntax import (
    Attr,
    Binary,
    Call,
    Comprehension,
    If,
    Index,
    LanguageLimits,
    ListLit,
    Literal,
    Name,
    SourceText,
    Unary,
    is_name,
    parse,
)
from tests.placing import policy_path

# ---------------------------------------------------------------------------------------------
# helpers


def error_of(text: str, limits: LanguageLimits | None = None) -> Diagnostic:
    """The one diagnostic that parsing `text` raises."""
    with pytest.raises(DiagnosticError) as info:
        parse(text, limits) if limits else parse(text)
    assert len(info.value.diagnostics) == 1
    return info.value.diagnostics[0]


def caret_column(rendered: str) -> tuple[str, int]:
    """(the quoted source line, the 1-based display column of the caret) from Diagnostic.render()."""
    lines = rendered.split("\n")
    source, caret = lines[1], lines[2]
    assert source.startswith("    ") and caret.startswith("    ")
    assert caret.rstrip().endswith("^") and set(caret[4:].rstrip()) <= {" ", "^"}
    return source[4:], caret.index("^") - 4 + 1


def N(name: str) -> Name:
    return Name(name)


def I(value: int) -> Literal:  # noqa: E743 - short for "integer literal"
    return Literal(value, "int")


# ---------------------------------------------------------------------------------------------
# Literals


@pytest.mark.parametrize("text, value, kind", [
    ("0", 0, "int"),
    ("42", 42, "int"),
    ("3300", 3300, "int"),
    ("1234567890123456789012345678901234567890", 1234567890123456789012345678901234567890, "int"),  # 40 digits
    ("0.1", Decimal("0.1"), "decimal"),
    ("3300.50", Decimal("3300.50"), "decimal"),
    ("true", True, "bool"),
    ("false", False, "bool"),
    ("null", None, "null"),
    ("2024-05-01", date(2024, 5, 1), "date"),
    ("2024-02-29", date(2024, 2, 29), "date"),
    ("2000-02-29", date(2000, 2, 29), "date"),
    ('"3307"', "3307", "string"),
    ("'3307'", "3307", "string"),
    ('"浙江大学"', "浙江大学", "string"),
    ('""', "", "string"),
])
def test_literals(text, value, kind):
    tree = parse(text)
    assert isinstance(tree, Literal)
    assert tree.kind == kind
    assert tree.value == value and type(tree.value) is type(value)


def test_decimal_literal_is_exact():
    tree = parse("0.1")
    assert tree.value == Decimal(1) / Decimal(10)
    assert isinstance(tree.value, Decimal)


def test_decimal_keeps_trailing_zeros_of_money():
    assert str(parse("3300.50").value) == "3300.50"


@pytest.mark.parametrize("text, value", [
    (r'"a\nb"', "a\nb"),
    (r'"a\tb"', "a\tb"),
    (r'"back\\slash"', "back\\slash"),
    (r'"say \"hi\""', 'say "hi"'),
    (r"'it\'s'", "it's"),
    (r"'say \"hi\"'", 'say "hi"'),
    (r'"caf\u00e9"', "café"),
    (r'"\u5728\u91d1\u534e"', "在金华"),
    ('"单引号\'在里面"', "单引号'在里面"),
])
def test_string_escapes(text, value):
    tree = parse(text)
    assert tree == Literal(value, "string")


def test_a_date_is_one_token_not_subtraction():
    assert parse("2024-05-01") == Literal(date(2024, 5, 1), "date")
    # a date compared with arithmetic around it
    tree = parse("applicant.birth_date <= 2024-05-01")
    assert tree == Binary("<=", Attr(N("applicant"), "birth_date"), Literal(date(2024, 5, 1), "date"))


def test_numbers_that_are_not_dates_stay_arithmetic():
    # four digits, a dash, one digit: not a date shape, so it is subtraction
    assert parse("2024-1") == Binary("-", I(2024), I(1))


# ---------------------------------------------------------------------------------------------
# Names, paths, calls, table lookups


@pytest.mark.parametrize("name", ["在金华参保", "applicant", "_private", "x1", "grants_this_year", "Ärzte", "значение"])
def test_unicode_and_ascii_identifiers(name):
    assert parse(name) == Name(name)


def test_unicode_identifier_inside_an_expression():
    assert parse("在金华参保 and not 已领取") == Binary("and", N("在金华参保"), Unary("not", N("已领取")))


def test_path():
    assert parse("applicant.graduate.school_region") == \
        Attr(Attr(N("applicant"), "graduate"), "school_region")


def test_path_with_unicode_segments():
    assert parse("申请人.户籍地") == Attr(N("申请人"), "户籍地")


@pytest.mark.parametrize("text, expected", [
    ("f()", Call(N("f"), ())),
    ("age(applicant.birth_date, decision_date)",
     Call(N("age"), (Attr(N("applicant"), "birth_date"), N("decision_date")))),
    ("在本省(r)", Call(N("在本省"), (N("r"),))),
    ("b.f(1, 2)", Call(Attr(N("b"), "f"), (I(1), I(2)))),
])
def test_calls(text, expected):
    assert parse(text) == expected


def test_table_lookup_with_one_key():
    assert parse('title_recognition["junior"].recognition') == \
        Attr(Index(N("title_recognition"), (Literal("junior", "string"),)), "recognition")


def test_table_lookup_with_two_keys():
    tree = parse("subsidy[training.occupation_code, training.level].amount")
    assert tree == Attr(Index(N("subsidy"), (Attr(N("training"), "occupation_code"), Attr(N("training"), "level"))),
                        "amount")


def test_lookup_in_another_policys_table():
    assert parse("zj.subsidy[a, b]") == Index(Attr(N("zj"), "subsidy"), (N("a"), N("b")))


# ---------------------------------------------------------------------------------------------
# Operators and forms


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "and", "or", "in", "not in",
                                "??"])
def test_every_binary_operator(op):
    assert parse(f"a {op} b") == Binary(op, N("a"), N("b"))


def test_unary_operators():
    assert parse("not a") == Unary("not", N("a"))
    assert parse("-a") == Unary("-", N("a"))
    assert parse("- 5") == Unary("-", I(5))


def test_if_then_else():
    assert parse("if a then 1 else 2") == If(N("a"), I(1), I(2))


def test_nested_if_in_else():
    assert parse("if a then 1 else if b then 2 else 3") == If(N("a"), I(1), If(N("b"), I(2), I(3)))


def test_membership_in_a_list_literal():
    tree = parse('applicant.sex in ["male", "female"]')
    assert tree == Binary("in", Attr(N("applicant"), "sex"),
                          ListLit((Literal("male", "string"), Literal("female", "string"))))


def test_not_in():
    assert parse("x not in xs") == Binary("not in", N("x"), N("xs"))


def test_default():
    assert parse("history ?? []") == Binary("??", N("history"), ListLit(()))


@pytest.mark.parametrize("kind", ["any", "all", "count", "filter"])
def test_quantifiers(kind):
    tree = parse(f"{kind}(g in history where g.level == training.level)")
    assert tree == Comprehension(kind, "g", N("history"),
                                 Binary("==", Attr(N("g"), "level"), Attr(N("training"), "level")))


def test_quantifier_over_a_defaulted_list():
    tree = parse("count(g in history ?? [] where year(g.granted_on) == year(decision_date))")
    assert isinstance(tree, Comprehension) and tree.kind == "count"
    assert tree.source == Binary("??", N("history"), ListLit(()))


def test_sum():
    assert parse("sum(g.amount for g in grants)") == Comprehension("sum", "g", N("grants"), Attr(N("g"), "amount"))


def test_comprehension_with_unicode_variable():
    assert parse("any(地区 in regions where 在本省(地区))") == \
        Comprehension("any", "地区", N("regions"), Call(N("在本省"), (N("地区"),)))


def test_list_literals_and_concatenation():
    assert parse("[]") == ListLit(())
    assert parse("[1]") == ListLit((I(1),))
    assert parse("[1, 2] + [3]") == Binary("+", ListLit((I(1), I(2))), ListLit((I(3),)))


def test_multiline_expression_and_comments():
    text = "[applicant.hukou_region]  # where the hukou is\n  + (if ok then [r] else [])\n"
    assert parse(text) == Binary("+", ListLit((Attr(N("applicant"), "hukou_region"),)), If(N("ok"), ListLit((N("r"),)),
                                                                                              ListLit(())))


# ---------------------------------------------------------------------------------------------
# Precedence: each pair parses to the same tree


@pytest.mark.parametrize("text, explicit", [
    ("a ?? b == c", "(a ?? b) == c"),
    ("not a and b", "(not a) and b"),
    ("not a or b", "(not a) or b"),
    ("a or b and c", "a or (b and c)"),
    ("a and b or c and d", "(a and b) or (c and d)"),
    ("not a == b", "not (a == b)"),
    ("not a in b", "not (a in b)"),
    ("a + b * c", "a + (b * c)"),
    ("a * b + c", "(a * b) + c"),
    ("a - b - c", "(a - b) - c"),
    ("a / b / c", "(a / b) / c"),
    ("a - b + c", "(a - b) + c"),
    ("a ?? b ?? c", "a ?? (b ?? c)"),
    ("a ?? b + c", "a ?? (b + c)"),
    ("a + b ?? c", "(a + b) ?? c"),
    ("a in b ?? c", "a in (b ?? c)"),
    ("a + b < c * d", "(a + b) < (c * d)"),
    ("-a * b", "(-a) * b"),
    ("-a.b", "-(a.b)"),
    ("a.b[c](d)", "((a.b)[c])(d)"),
    ("if a then b else c or d", "if a then b else (c or d)"),
    ("if a then b else c ?? d", "if a then b else (c ?? d)"),
    ("a == b and c != d", "(a == b) and (c != d)"),
    ("x not in xs and y in ys", "(x not in xs) and (y in ys)"),
])
def test_precedence(text, explicit):
    assert parse(text) == parse(explicit)


def test_default_binds_tighter_than_comparison():
    tree = parse("a ?? b == c")
    assert isinstance(tree, Binary) and tree.op == "=="
    assert tree.left == Binary("??", N("a"), N("b"))


def test_not_binds_looser_than_comparison_but_tighter_than_and():
    tree = parse("not a and b")
    assert tree == Binary("and", Unary("not", N("a")), N("b"))


def test_parentheses_override_precedence():
    assert parse("(a + b) * c") == Binary("*", Binary("+", N("a"), N("b")), N("c"))


# ---------------------------------------------------------------------------------------------
# Parse errors: code, line, column, and a caret under the offending text


@pytest.mark.parametrize("text, code, column, found", [
    ("a b", "syntax.unexpected", 3, "'b'"),
    ("any(g in xs)", "syntax.unexpected", 12, "')'"),
    ("a $ b", "syntax.character", 3, "'$'"),
])
def test_unexpected_token_and_character(text, code, column, found):
    d = error_of(text)
    assert d.code == code
    assert (d.location.line, d.location.column) == (1, column)
    assert found in d.message
    assert "expected" in d.message
    assert d.severity == "error"


@pytest.mark.parametrize("text, expected_word", [
    ("1 +", "expression"),
    ("f(a,", "expression"),
    ("if a then b", "'else'"),
    ("(a", "')'"),
    ("a.", "name"),
    ("not", "expression"),
])
def test_incomplete(text, expected_word):
    d = error_of(text)
    assert d.code == "syntax.incomplete"
    assert d.location.line == 1
    assert d.location.column == len(text) + 1  # just after the last character
    assert "ends too early" in d.message and expected_word in d.message


def test_comparisons_do_not_chain_and_say_how_to_write_it():
    d = error_of("a < b < c")
    assert d.code == "syntax.unexpected"
    assert d.location.column == len("a < b ") + 1
    assert d.hint and "and" in d.hint


@pytest.mark.parametrize("text, column", [
    ("2024-02-30", 1),
    ("2023-02-29", 1),
    ("x == 2024-13-01", 6),
    ("x >= 2024-04-31", 6),
])
def test_date_that_is_not_on_the_calendar(text, column):
    d = error_of(text)
    assert d.code == "syntax.date"
    assert (d.location.line, d.location.column) == (1, column)
    assert text[column - 1:column + 9] in d.message


def test_unknown_escape_points_at_the_backslash():
    text = r'x == "a\qb"'
    d = error_of(text)
    assert d.code == "syntax.escape"
    assert d.location.column == text.index("\\") + 1
    assert r"\q" in d.message


def test_short_unicode_escape_is_an_error():
    d = error_of(r'"\u12"')
    assert d.code == "syntax.escape"


def test_too_long_with_default_limit():
    d = error_of("x" * 20_001)
    assert d.code == "syntax.too_long"
    assert "20001" in d.message and "20000" in d.message


def test_exactly_at_the_length_limit_is_fine():
    text = "a + " * 4 + "b"
    assert parse(text, LanguageLimits(max_length=len(text)))
    assert error_of(text + " ", LanguageLimits(max_length=len(text))).code == "syntax.too_long"


@pytest.mark.parametrize("text, levels, made_of", [
    ("-" * 100 + "1", 100, "100 '-'"),
    ("not " * 100 + "a", 100, "100 'not'"),
    ("[" * 100 + "]" * 100, 99, "99 list [...]"),  # the innermost [] holds nothing: it is not a level
    ("f(" * 70 + ")" * 70, 70, "70 call"),
    ("a" + " + a" * 200, 200, "200 '+'"),
])
def test_too_deep_says_how_deep_and_what_counted(text, levels, made_of):
    d = error_of(text)
    assert d.code == "syntax.too_deep"
    assert d.message.startswith("the expression nests deeper than 64 levels: ")
    assert f"{levels} here ({made_of}" in d.message
    assert "a + b + c is two" in d.hint and "parentheses count none" in d.hint and "definitions" in d.hint


def test_a_flat_chain_counts_one_level_per_operator_and_the_caret_marks_the_65th():
    assert parse("a" + " + a" * 64)  # 64 '+': exactly the limit
    text = "a" + " + a" * 70
    d = error_of(text)
    assert "70 here (70 '+')" in d.message
    # a + b + c is (a + b) + c: the outermost '+' is the last one, so the 65th level is the 6th '+' written
    sixth_plus = [i for i, ch in enumerate(text) if ch == "+"][5]
    assert d.location.column == sixth_plus + 1


def test_a_mixed_path_names_each_kind_it_counted():
    text = "f(" + "not " * 40 + "(a or " * 30 + "b" + ")" * 30 + ")"
    d = error_of(text)
    assert "71 here (40 'not', 30 'or', 1 call)" in d.message


def test_parentheses_do_not_count_and_lists_count_one_level_each():
    assert parse("(" * 500 + "a" + ")" * 500) == Name("a")
    assert parse("[" * 65 + "]" * 65)  # 64 lists around an empty one
    assert error_of("[" * 66 + "]" * 66).code == "syntax.too_deep"
    assert parse("-" * 64 + "1")
    assert error_of("-" * 65 + "1").code == "syntax.too_deep"


def test_moderate_nesting_is_fine():
    assert parse("-" * 30 + "1")
    assert parse("a" + " + a" * 20)


def test_custom_depth_limit():
    assert error_of("- - - 1", LanguageLimits(max_depth=2)).code == "syntax.too_deep"


def test_too_large():
    text = "[" + ", ".join(["1"] * 4001) + "]"
    assert len(text) < 20_000  # not a length problem
    d = error_of(text)
    assert d.code == "syntax.too_large"
    assert "4000" in d.message


def test_custom_size_limit():
    assert error_of("[1, 2, 3, 4, 5]", LanguageLimits(max_nodes=3)).code == "syntax.too_large"


@pytest.mark.parametrize("text", ["1" * 41, "1" * 20 + "." + "1" * 21, "x + " + "9" * 50])
def test_number_too_large(text):
    d = error_of(text)
    assert d.code == "syntax.number_too_large"
    assert d.location.column == text.index("1" if "1" in text else "9") + 1
    assert "40" in d.message


def test_forty_digits_are_allowed():
    assert parse("9" * 40) == I(int("9" * 40))
    assert parse("1" * 20 + "." + "1" * 20).kind == "decimal"


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n"])
def test_empty(text):
    d = error_of(text)
    assert d.code == "syntax.empty"


def test_error_on_a_later_line_reports_that_line():
    text = "a +\n  b +\n    $"
    d = error_of(text)
    assert d.code == "syntax.character"
    assert (d.location.line, d.location.column) == (3, 5)
    source, column = caret_column(d.render())
    assert source == "    $"
    assert column == 5


@pytest.mark.parametrize("text", ["1 + + 2", "a $ b", "2024-02-30", r'"a\qb"', "1 +", "a < b < c"])
def test_render_shows_line_and_caret(text):
    d = error_of(text)
    rendered = d.render()
    head = rendered.split("\n")[0]
    assert f":{d.location.line}:{d.location.column}:" in head
    assert f"error[{d.code}]" in head
    assert d.message in head
    source, column = caret_column(rendered)
    assert source == text
    assert column == d.location.column


def test_expression_text_with_a_file_offset():
    # the policy loader passes where the expression starts; line 1 of the text is line 40 of the file
    with pytest.raises(DiagnosticError) as info:
        parse(SourceText("a + $", file="f.yaml", line=40, column=12))
    d = info.value.diagnostics[0]
    assert (d.location.file, d.location.line, d.location.column) == ("f.yaml", 40, 12 + 4)
    with pytest.raises(DiagnosticError) as info:
        parse(SourceText("a +\n $", file="f.yaml", line=40, column=12))
    d = info.value.diagnostics[0]
    assert (d.location.line, d.location.column) == (41, 2)


# ---------------------------------------------------------------------------------------------
# Positions inside policy files loaded with Engine.load

SCHEMA = {
    "x-claim-id": "id", "x-decision-date": "on", "type": "object",
    "required": ["id", "on", "n"],
    "properties": {"id": {"type": "string"}, "on": {"type": "string", "format": "date"}, "n": {"type": "integer"}},
}

HEAD = """\
policy: test/policy
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


def load(tmp_path: Path, body: str, crlf: bool = False) -> tuple[list[Diagnostic], str]:
    (tmp_path / "policies").mkdir(exist_ok=True)
    (tmp_path / "schemas").mkdir(exist_ok=True)
    (tmp_path / "schemas" / "t.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    text = HEAD + body
    raw = text.replace("\n", "\r\n") if crlf else text
    policy_path(tmp_path / "policies", raw).write_bytes(raw.encode("utf-8"))
    return Engine.load(tmp_path / "policies", tmp_path / "schemas").check(), text


def position_of(text: str, marker: str) -> tuple[int, int]:
    """1-based line and column of the only occurrence of `marker` in the file text."""
    assert text.count(marker) == 1, marker
    before = text[:text.index(marker)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def only_error(diagnostics: list[Diagnostic]) -> Diagnostic:
    errors = [d for d in diagnostics if d.severity == "error"]
    assert len(errors) == 1, [d.render() for d in diagnostics]
    return errors[0]


DEFINITION_STYLES = {
    "plain": "definitions:\n  a: n + $\n",
    "plain, deeper in the file": "definitions:\n  b: n + 1\n  c: n + 2\n\n  a: n + $\n",
    "plain, folded over lines": "definitions:\n  a: n +\n    1 + $\n",
    "single-quoted": "definitions:\n  a: 'n + $'\n",
    "single-quoted with a doubled quote": "definitions:\n  a: 'n + ''x'' + $'\n",
    "single-quoted over lines": "definitions:\n  a: 'n +\n    1 + $'\n",
    "double-quoted": 'definitions:\n  a: "n + $"\n',
    "double-quoted with escaped quotes": 'definitions:\n  a: "\\"x\\" + $"\n',
    "double-quoted over lines": 'definitions:\n  a: "n +\n    1 + $"\n',
    "literal block": "definitions:\n  a: |\n    n +\n      1 + $\n",
    "literal block, strip": "definitions:\n  a: |-\n    n\n    + 1\n    + $\n",
    "folded block": "definitions:\n  a: >\n    n +\n    1 + $\n",
    "folded block with a blank line": "definitions:\n  a: >-\n    n\n\n    + $\n",
    "mapping with expr": "definitions:\n  a:\n    description: d\n    expr: n + $\n",
    "flow mapping": 'definitions:\n  a: {description: d, expr: "n + $"}\n',
    "rule require": ("rules:\n  - id: r\n    clause: c\n    require: >-\n      n > 1 and\n      $\n"
                     "    message: {pass: p, fail: f}\n"),
    "rule when": ("rules:\n  - id: r\n    clause: c\n    when: n > 1 or $\n    require: n > 2\n"
                  "    message: {pass: p, fail: f}\n"),
    "output": "outputs:\n  o:\n    clause: c\n    expr: |\n      n\n        + $\n",
    "Chinese name before the mistake": "definitions:\n  在金华参保: 在本省 + $\n",
}


@pytest.mark.parametrize("style", list(DEFINITION_STYLES))
def test_parse_error_position_in_the_policy_file(tmp_path, style):
    diagnostics, text = load(tmp_path, DEFINITION_STYLES[style])
    d = only_error(diagnostics)
    assert d.code == "syntax.character"
    assert (d.location.line, d.location.column) == position_of(text, "$")
    assert d.location.file.endswith("1.yaml")
    source, _ = caret_column(d.render())
    assert source == text.split("\n")[d.location.line - 1]


def test_parse_error_position_in_a_crlf_file(tmp_path):
    body = "definitions:\n  a: |\n    n +\n      1 + $\n"
    diagnostics, text = load(tmp_path, body, crlf=True)
    d = only_error(diagnostics)
    assert (d.location.line, d.location.column) == position_of(text, "$")


@pytest.mark.parametrize("body, marker", [
    ('definitions:\n  a: "n + \\t $"\n', "$"),
    ('definitions:\n  a: "\\u00e9 + $"\n', "$"),
    ('definitions:\n  a: "n == \\"\\u5728\\" and $"\n', "$"),
    # the expression's first character is an escaped quote: reported at the YAML quote before it
    ('definitions:\n  a: "\\"abc"\n', '"abc'),
])
def test_parse_error_position_after_an_escape_in_a_double_quoted_scalar(tmp_path, body, marker):
    diagnostics, text = load(tmp_path, body)
    d = only_error(diagnostics)
    assert (d.location.line, d.location.column) == position_of(text, marker)


@pytest.mark.parametrize("body, marker", [
    ("definitions:\n  a: |\n    n +\n      nn\n", "nn\n"),
    ("definitions:\n  a: >\n    n +\n    1 + nn\n", "nn\n"),
    ("definitions:\n  a: 'n + nn'\n", "nn'"),
    ("definitions:\n  a: n +\n    nn\n", "nn\n"),
])
def test_checker_error_position_in_the_policy_file(tmp_path, body, marker):
    diagnostics, text = load(tmp_path, body)
    d = only_error(diagnostics)
    assert d.code == "name.unknown"
    assert (d.location.line, d.location.column) == position_of(text, marker)


@pytest.mark.parametrize("body, marker, code", [
    ("definitions:\n  a: |\n    n > 2024-02-30\n", "2024-02-30", "syntax.date"),
    ("definitions:\n  a: >\n    n ==\n    'a\\qb'\n", "\\q", "syntax.escape"),
    ("definitions:\n  a: |\n    n + 1\n    + + 2\n", "+ + 2", "syntax.missing"),
    ("definitions:\n  a: 'n +    '\n", "    '", "syntax.incomplete"),
    ("definitions:\n  a: n + 911111111111111111111111111111111111111111\n", "9", "syntax.number_too_large"),
])
def test_each_parse_error_kind_in_a_file(tmp_path, body, marker, code):
    diagnostics, text = load(tmp_path, body)
    d = only_error(diagnostics)
    assert d.code == code
    line, column = position_of(text, marker)
    if code == "syntax.missing":
        column += 2  # the second '+'
    assert (d.location.line, d.location.column) == (line, column)


def test_caret_under_text_after_wide_characters(tmp_path):
    diagnostics, text = load(tmp_path, "definitions:\n  在金华参保: 在本省 + $\n")
    d = only_error(diagnostics)
    source, caret = caret_column(d.render())
    prefix = source[:d.location.column - 1]
    width = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in prefix)
    assert caret == width + 1
    assert source[d.location.column - 1] == "$"


def test_parse_error_carries_the_clause_of_its_rule(tmp_path):
    body = "rules:\n  - id: r\n    clause: c\n    require: n > $\n    message: {pass: p, fail: f}\n"
    diagnostics, _ = load(tmp_path, body)
    assert only_error(diagnostics).clause == "c"


def test_every_mistake_in_a_file_is_reported_in_order(tmp_path):
    body = "definitions:\n  a: n + $\n  b: 2024-02-30\n  c: n +\n  d: n + " + "1" * 41 + "\n"
    diagnostics, text = load(tmp_path, body)
    errors = [d for d in diagnostics if d.severity == "error"]
    assert [d.code for d in errors] == ["syntax.character", "syntax.date", "syntax.incomplete",
                                          "syntax.number_too_large"]
    lines = [d.location.line for d in errors]
    assert lines == sorted(lines) and len(set(lines)) == 4


def test_caret_line_after_a_unicode_line_separator_in_clause_text(tmp_path):
    body = "definitions:\n  a: n + $\n"
    (tmp_path / "policies").mkdir(exist_ok=True)
    (tmp_path / "schemas").mkdir(exist_ok=True)
    (tmp_path / "schemas" / "t.schema.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    # clause text pasted from a PDF often carries U+2028 LINE SEPARATOR
    text = HEAD.replace("    c: text", '    c: "第一款\u2028第二款"') + body
    policy_path(tmp_path / "policies", text).write_text(text, encoding="utf-8")
    d = only_error(Engine.load(tmp_path / "policies", tmp_path / "schemas").check())
    assert (d.location.line, d.location.column) == position_of(text, "$")
    source, column = caret_column(d.render())
    assert source == "  a: n + $"
    assert column == d.location.column


@pytest.mark.parametrize("text, column, message", [
    ("not and x", 5, "a value is missing between 'not' and 'and'"),
    ("a and or b", 7, "a value is missing between 'and' and 'or'"),
    ("if then else", 4, "a value is missing between 'if' and 'then'"),
    ("in", 1, "a value is missing before 'in'"),
    ("x + where", 5, "a value is missing between '+' and 'where'"),
    ("1 + + 2", 5, "a value is missing between '+' and '+'"),
    ("[1,]", 4, "a value is missing between ',' and ']'"),
    ("f(a, )", 6, "a value is missing between ',' and ')'"),
])
def test_a_missing_value_is_reported_where_it_is_missing(text, column, message):
    d = error_of(text)
    assert (d.code, d.location.column, d.message) == ("syntax.missing", column, message)
    word = message.rsplit("'", 2)[1]
    if word.isalpha():  # a word of the language where a value should be: it cannot be a name either
        assert d.hint == f"'{word}' is a word of the language, so it cannot be a name"


@pytest.mark.parametrize("text, word, column", [
    ("count + 1", "count", 1),
    ("x + sum", "sum", 5),
    ("filter", "filter", 1),
    ("any(and in xs where true)", "and", 5),
    ("sum(g.v for if in xs)", "if", 13),
])
def test_words_of_the_language_are_not_names(text, word, column):
    d = error_of(text)
    assert (d.code, d.location.column) == ("syntax.keyword", column)
    assert d.message == f"'{word}' is a word of the language, not a name"


def test_a_word_of_the_language_is_only_a_whole_word():
    assert parse("android and order") == Binary("and", N("android"), N("order"))
    assert parse("notice or iffy or counter or summary or nullable") == \
        Binary("or", Binary("or", Binary("or", Binary("or", N("notice"), N("iffy")), N("counter")), N("summary")),
               N("nullable"))
    d = error_of("a android")
    assert (d.code, d.location.column) == ("syntax.unexpected", 3) and "'android'" in d.message
    assert error_of("x notin y").location.column == 3


def test_after_a_dot_every_word_is_a_field_name():
    assert parse("g.count + g.and") == Binary("+", Attr(N("g"), "count"), Attr(N("g"), "and"))
    assert parse("x.if.then") == Attr(Attr(N("x"), "if"), "then")


@pytest.mark.parametrize("text, column, form", [
    ("[1] + if flag then [] else [2]", 7, "if … then … else …"),
    ("n == if a then 1 else 2", 6, "if … then … else …"),
    ("a == not b", 6, "not …"),
    ("1 + not b", 5, "not …"),
])
def test_if_and_not_inside_an_operator_need_parentheses(text, column, form):
    d = error_of(text)
    assert (d.code, d.location.column) == ("syntax.parentheses", column)
    assert d.message == f"'{form}' needs parentheses here"
    assert f"({form})" in d.hint
    fixed = text[:column - 1] + "(" + text[column - 1:] + ")"
    assert parse(fixed)


@pytest.mark.parametrize("text, symbol, hint", [
    ("n >> 1", ">>", "the comparisons are ==, !=, <, <=, >, >="),
    ("n << 1", "<<", "the comparisons are ==, !=, <, <=, >, >="),
    ("a <> b", "<>", "write '!=' for 'not equal to'"),
    ("n => 1", "=>", "write '>=' for 'at least'"),
    ("n =< 1", "=<", "write '<=' for 'at most'"),
    ("n = 1", "=", "write '==' for 'equal to'"),
    ("n === 1", "===", "write '==' for 'equal to'"),
    ("n !== 1", "!==", "write '!=' for 'not equal to'"),
    ("a && b", "&&", "write 'and'"),
    ("a || b", "||", "write 'or'"),
    ("a ≥ 16", "≥", "write '>=' for 'at least'"),
    ("a ≠ 16", "≠", "write '!=' for 'not equal to'"),
])
def test_a_symbol_that_is_not_an_operator_gets_the_operator_meant(text, symbol, hint):
    d = error_of(text)
    assert (d.code, d.location.column) == ("syntax.operator", 3)
    assert d.message == f"'{symbol}' is not an operator of the language"
    assert d.hint == hint


def test_a_lone_exclamation_mark_is_not():
    d = error_of("! a")
    assert (d.code, d.location.column, d.hint) == ("syntax.operator", 1, "write 'not'")


# (text, column, what was typed, what to write, the text corrected) for what a Chinese input method types
FULL_WIDTH = [
    ("在本市（r）", 4, "'（'", "'('", "在本市(r)"),
    ("f(a，b)", 4, "'，'", "','", "f(a,b)"),
    ("x == “3307”", 6, "'“'", "'\"'", 'x == "3307"'),
    ("x == ‘3307’", 6, "'‘'", '"\'"', "x == '3307'"),
    ("x ＝＝ 1", 3, "'＝＝'", "'=='", "x == 1"),
    ("x ＝ 1", 3, "'＝'", "'=='", "x == 1"),
    ("a ！= b", 3, "'！'", "'!'", "a != b"),
    ("age >= １６", 8, "'１６'", "'16'", "age >= 16"),
    ("applicant.ａｇｅ", 11, "'ａｇｅ'", "'age'", "applicant.age"),
    ("[1、2]", 3, "'、'", "','", "[1,2]"),
    ("a ＆ b", 3, "'＆'", "'and'", "a and b"),
]


@pytest.mark.parametrize("text, column, typed, write, corrected", FULL_WIDTH)
def test_full_width_characters_say_which_ascii_to_write(text, column, typed, write, corrected):
    d = error_of(text)
    assert (d.code, d.location.line, d.location.column) == ("syntax.full_width", 1, column)
    assert d.message == f"full-width {typed}: write {write} instead"
    assert "半角" in d.hint
    assert parse(corrected)


def test_a_full_width_space_is_named_not_shown():
    d = error_of("a\u3000and b")
    assert (d.code, d.location.column) == ("syntax.full_width", 2)
    assert d.message == "full-width space (U+3000): write an ordinary space instead"


def test_a_full_width_colon_points_to_where():
    d = error_of("count(g in history ：g.v > 1)")
    assert (d.code, d.location.column) == ("syntax.full_width", 20)
    assert d.message == "full-width '：': the language has no ':'"
    assert "'where'" in d.hint


def test_caret_under_a_full_width_character_in_a_policy_file(tmp_path):
    diagnostics, text = load(tmp_path, "definitions:\n  在本市参保: 在本省（n）\n")
    d = only_error(diagnostics)
    assert d.code == "syntax.full_width"
    assert (d.location.line, d.location.column) == position_of(text, "（")
    source, caret = caret_column(d.render())
    width = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in source[:d.location.column - 1])
    assert caret == width + 1


@pytest.mark.parametrize("text, column, quote", [
    ('"abc', 1, '"'),
    ("x == 'abc", 6, "'"),
    ('"abc\\"', 1, '"'),  # the last quote is escaped, so it does not close the string
    ('"a\nb"'.replace("\\n", "\n"), 1, '"'),  # a string stays on one line
])
def test_an_unclosed_string_says_so(text, column, quote):
    d = error_of(text)
    assert (d.code, d.location.column) == ("syntax.string", column)
    assert d.message == f"this string has no closing {quote}"


@pytest.mark.parametrize("text, column, number, written", [
    ("05", 1, "05", "5"),
    ("x == 00.5", 6, "00.5", "0.5"),
    ("on > 2024-5-01", 13, "01", "1"),  # a date with a one-digit month is not a date
])
def test_a_number_does_not_start_with_zero(text, column, number, written):
    d = error_of(text)
    assert (d.code, d.location.column) == ("syntax.number", column)
    assert d.message == f"{number} is not a number: a number does not start with 0"
    assert d.hint == f"write {written}; a date is written in full, as 2024-05-01"


@pytest.mark.parametrize("text, value", [("0", 0), ("10", 10), ("0.05", Decimal("0.05")), ("100.0", Decimal("100.0"))])
def test_zero_and_numbers_with_zeros_inside_are_numbers(text, value):
    assert parse(text).value == value


def test_a_date_followed_by_a_minus_is_a_date_minus_a_number():
    # never 2024 - 5 - 1 - 1: the checker then refuses arithmetic on a date
    assert parse("2024-05-01-1") == Binary("-", Literal(date(2024, 5, 1), "date"), I(1))


def test_names_are_normalised_so_one_visible_name_is_one_name():
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert parse(decomposed) == Name(composed)
    assert parse(f"{decomposed} == {composed}") == Binary("==", N(composed), N(composed))
    assert parse(f"x.{decomposed}") == Attr(N("x"), composed)
    assert parse(f"any({decomposed} in xs where {composed})") == Comprehension("any", composed, N("xs"), N(composed))


@pytest.mark.parametrize("name", ["cafe\u0301", "किताब", "x\u0301\u0327", "_", "a·b"])
def test_names_are_python_identifiers_with_combining_marks(name):
    tree = parse(name)
    assert tree == Name(unicodedata.normalize("NFC", name))
    assert is_name(tree.name)


@pytest.mark.parametrize("text, column, shown", [
    ("x²", 2, "'²'"),
    ("\u0301a", 1, "U+0301 (combining acute accent)"),
    ("a\xa0b", 2, "U+00A0 (no-break space)"),
])
def test_characters_that_cannot_be_in_a_name(text, column, shown):
    d = error_of(text)
    assert (d.code, d.location.column) == ("syntax.character", column)
    assert d.message.startswith(f"unexpected character {shown}; expected ")


@pytest.mark.parametrize("text, expected", [
    ("在本市参保", True), ("Ärzte", True), ("cafe\u0301", False), ("and", False), ("x²", False), ("ａｇｅ", False),
    ("1a", False), ("", False)])
def test_is_name(text, expected):
    assert is_name(text) is expected


def test_only_ascii_digits_are_numbers():
    with pytest.raises(DiagnosticError):
        parse("\u0661\u0662 + 1")


def test_the_caret_stays_under_the_text_after_a_combining_mark():
    text = "cafe\u0301 + $"  # é written as e and a combining accent: one column on screen, two characters
    d = error_of(text)
    assert d.code == "syntax.character" and d.location.column == 9
    rendered = d.render().split("\n")
    assert rendered[2].index("^") - 4 == len("café + ")  # under the $, as a terminal shows the line


@pytest.mark.parametrize(("text", "said"), [("\x01", "U+0001 (a control character)"),
                                            ("1 +\udcff", "0xFF, a byte that is not UTF-8")])
def test_a_character_without_a_name_is_said_in_words(text, said):
    """A control character was `(unnamed)`, a byte standard input could not decode `U+DCFF (unnamed)`."""
    d = error_of(text)
    assert d.code == "syntax.character" and said in d.message, d.message
