"""Loading one policy file: every error kind names its code, says what is wrong in plain words and
points at the exact line (and column) of the offending text.

Expected positions are computed from the test text itself (`pos`), never copied from the engine.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.core.diagnostics import DiagnosticError
from engine.policies.policyfile import load_policy_file
from engine.policies.yamlsource import read_yaml

# A small valid policy. Tests derive broken variants from it with str.replace.
BASE = """\
policy: test/base
version: "2024-01-01"
title: Test policy
effective:
  from: 2024-01-01
issued_on: 2023-12-01
source:
  number: T-1
  title: Test document
  issuers: [Test office]
  clauses:
    一: First clause.
    二: Second clause.
exports: [amounts]
tables:
  amounts:
    clause: 一
    key: [code, level]
    columns: {code: string, level: string, hours: int, amount: money}
    rows:
      - [2-02-10-11, junior, 128, 3300]
      - ["2-02-10-15", senior, 64, 2900]
definitions:
  base_amount:
    clause: 二
    expr: '100'
"""

ROW1 = "[2-02-10-11, junior, 128, 3300]"
ROW2 = '["2-02-10-15", senior, 64, 2900]'


def pos(text: str, needle: str, occurrence: int = 1, offset: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the start of the n-th occurrence of needle, plus offset characters."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    index += offset
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def variant(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"the test's replacement {old!r} must match exactly once"
    return text.replace(old, new)


def load(tmp_path: Path, text: str | None = None, data: bytes | None = None):
    path = tmp_path / "p.yaml"
    if data is not None:
        path.write_bytes(data)
    else:
        path.write_text(text, encoding="utf-8")
    return load_policy_file(path, "p.yaml")


def only(diagnostics, code: str):
    found = [d for d in diagnostics if d.code == code]
    assert len(found) == 1, f"expected one {code}, got {[(d.code, d.message) for d in diagnostics]}"
    return found[0]


def at(diagnostic, line: int, column: int | None = None):
    assert diagnostic.location.file == "p.yaml"
    assert diagnostic.location.line == line, diagnostic.render()
    if column is not None:
        assert diagnostic.location.column == column, diagnostic.render()


# -- the baseline ----------------------------------------------------------------------------------


def test_base_policy_loads_without_diagnostics(tmp_path):
    version, diagnostics = load(tmp_path, BASE)
    assert diagnostics == []
    assert version.key == "test/base@2024-01-01"
    # An unquoted 2-02-10-11 is neither a date nor a number: it is the text the officer typed.
    assert set(version.tables["amounts"].rows) == {("2-02-10-11", "junior"), ("2-02-10-15", "senior")}
    assert version.tables["amounts"].rows[("2-02-10-11", "junior")]["code"] == "2-02-10-11"
    assert str(version.tables["amounts"].rows[("2-02-10-15", "senior")]["amount"]) == "2900"


def test_unquoted_date_where_text_is_wanted_stays_text(tmp_path):
    # YAML 1.1 would read these as dates; the loader keeps them as the text written.
    text = variant('version: "2024-01-01"', "version: 2024-01-01")
    text = variant("title: Test policy", "title: 2024-05-01", text)
    version, diagnostics = load(tmp_path, text)
    assert diagnostics == []
    assert version.version == "2024-01-01"
    assert version.title == "2024-05-01"


def test_byte_order_mark_and_crlf_are_accepted(tmp_path):
    version, diagnostics = load(tmp_path, data=b"\xef\xbb\xbf" + BASE.replace("\n", "\r\n").encode("utf-8"))
    assert diagnostics == []
    assert version.id == "test/base"


# -- malformed YAML --------------------------------------------------------------------------------


def test_malformed_yaml_names_line_and_column(tmp_path):
    text = variant("title: Test policy", "title: Test: policy")
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "yaml.syntax")
    assert d.message == "a ': ' inside a value makes YAML read it as another key"
    assert d.hint == 'put the value in quotes: key: "text: more text"'
    at(d, *pos(text, "Test: policy", offset=len("Test")))


def test_tab_indentation_is_malformed_yaml_at_its_line(tmp_path):
    text = variant("  number: T-1", "\tnumber: T-1")
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "yaml.syntax")
    assert d.message == "a tab character is used for indentation: YAML needs spaces"
    at(d, *pos(text, "\tnumber"))


def test_two_documents_in_one_file_are_malformed(tmp_path):
    text = BASE + "---\nother: 1\n"
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "yaml.syntax")
    assert "another document" in d.message
    at(d, pos(text, "---")[0])


# -- duplicate keys --------------------------------------------------------------------------------


def test_duplicate_top_level_key_names_both_lines(tmp_path):
    text = variant("title: Test policy\n", "title: Test policy\ntitle: Second title\n")
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "yaml.duplicate_key")
    first_line = pos(text, "title: Test policy")[0]
    assert "duplicate key 'title'" in d.message
    assert f"first given on line {first_line}" in d.message
    at(d, *pos(text, "title: Second title"))
    assert "silently" in d.hint


def test_duplicate_nested_key_names_the_first_line(tmp_path):
    # A clause id given twice would silently drop the first clause's text.
    text = variant("    二: Second clause.\n", "    二: Second clause.\n    一: Again.\n")
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "yaml.duplicate_key")
    assert "duplicate key '一'" in d.message
    assert f"first given on line {pos(text, '一: First')[0]}" in d.message
    at(d, *pos(text, "一: Again"))


# -- tags that would construct objects -------------------------------------------------------------


def test_python_tag_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    text = variant("title: Test policy", f'title: !!python/object/apply:os.system ["touch {marker}"]')
    version, diagnostics = load(tmp_path, text)
    assert version is None
    assert not marker.exists()
    d = only(diagnostics, "yaml.tag")
    assert "python/object/apply:os.system" in d.message
    assert "not allowed" in d.message
    at(d, *pos(text, "!!python"))


def test_python_name_tag_deep_in_the_file_is_refused(tmp_path):
    text = variant("    expr: '100'", "    expr: !!python/name:os.system ''")
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "yaml.tag")
    assert "python/name:os.system" in d.message
    at(d, *pos(text, "!!python"))


# -- YAML 1.1 surprises surface as schema errors with a hint to quote ------------------------------


@pytest.mark.parametrize("old, new, needle, raw, found", [
    ("title: Test policy", "title: no", "no", "no", "the boolean false"),
    ("title: Test policy", "title: yes", "yes", "yes", "the boolean true"),
])
def test_yaml_11_surprise_in_schema_string(tmp_path, old, new, needle, raw, found):
    text = variant(old, new)
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "expected text" in d.message
    assert found in d.message
    at(d, *pos(text, new.strip(), offset=new.strip().index(needle)))
    assert "quote it" in d.hint and f'"{raw}"' in d.hint


@pytest.mark.parametrize("new_row, raw, column, found", [
    ("[2-02-10-11, no, 128, 3300]", "no", "level", "the boolean false"),
    ("[2-02-10-11, off, 128, 3300]", "off", "level", "the boolean false"),
])
def test_yaml_11_surprise_in_table_cell(tmp_path, new_row, raw, column, found):
    text = variant(ROW1, new_row)
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.cell_type")
    assert f"column {column!r} holds text" in d.message
    assert found in d.message
    at(d, *pos(text, new_row, offset=new_row.index(raw)))
    assert "quote it" in d.hint and f'"{raw}"' in d.hint
    # The bad row is left out; the table and its good row stay, so its uses resolve.
    assert set(version.tables["amounts"].rows) == {("2-02-10-15", "senior")}


@pytest.mark.parametrize("old, new, raw", [
    ("  number: T-1", "  number: 0755", "0755"),
    ("title: Test policy", "title: 1:30", "1:30"),
])
def test_numbers_yaml_11_would_misread_keep_the_text_typed(tmp_path, old, new, raw):
    # YAML 1.1 reads 0755 as 493 and 1:30 as 90; where text is wanted, the officer gets what was typed.
    version, diagnostics = load(tmp_path, variant(old, new))
    assert diagnostics == []
    assert raw in (version.source["number"], version.title)


@pytest.mark.parametrize("cell", ["0755", "1:30", "0x10", "1_000"])
def test_ambiguous_number_where_a_number_is_wanted_is_an_error(tmp_path, cell):
    new_row = f"[2-02-10-11, junior, {cell}, 3300]"
    text = variant(ROW1, new_row)
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.cell_type")
    assert "column 'hours' holds a whole number" in d.message and repr(cell) in d.message
    at(d, *pos(text, new_row, offset=new_row.index(cell)))
    assert d.hint is None


def test_quoted_surprises_are_plain_text(tmp_path):
    text = variant(ROW1, '["0755", "no", 128, 3300]')
    text = variant("title: Test policy", 'title: "no"', text)
    version, diagnostics = load(tmp_path, text)
    assert diagnostics == []
    assert ("0755", "no") in version.tables["amounts"].rows


# -- dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("old, new, value, why", [
    ("  from: 2024-01-01", "  from: 2024-02-30", "2024-02-30", "(2024-02 has 29 days)"),
    ("  from: 2024-01-01", "  from: 2024-01-01\n  to: 2023-02-29", "2023-02-29", "(2023-02 has 28 days)"),
    ("issued_on: 2023-12-01", "issued_on: 2023-13-01", "2023-13-01", "(there is no month 13)"),
    ("  from: 2024-01-01", "  from: 2024-1-5", "2024-1-5", "written YYYY-MM-DD; write it 2024-01-05"),
    ("  from: 2024-01-01", "  from: 2024/1/5", "2024/1/5", "written YYYY-MM-DD; write it 2024-01-05"),
    ("  from: 2024-01-01", "  from: 二〇二四年一月五日", "二〇二四年一月五日",
     "written YYYY-MM-DD; write it 2024-01-05"),
    ("  from: 2024-01-01", "  from: 2024/2/30", "2024/2/30", "written YYYY-MM-DD"),  # no such day: no rewrite
])
def test_impossible_or_badly_written_date_is_a_schema_error_at_its_line(tmp_path, old, new, value, why):
    text = variant(old, new)
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert d.message.endswith(f"the text {value!r} is not a calendar date {why}")
    at(d, *pos(text, value))


def test_effective_to_before_from(tmp_path):
    text = variant("  from: 2024-01-01", "  from: 2024-01-01\n  to: 2023-12-31")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "version.dates")
    assert "effective.to is before effective.from" in d.message
    at(d, *pos(text, "2023-12-31"))


# -- unknown and missing keys ----------------------------------------------------------------------


def test_unknown_top_level_key(tmp_path):
    text = BASE + "colour: red\n"
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "unknown key 'colour'" in d.message
    assert "allowed here:" in d.message and "policy" in d.message and "rules" in d.message
    at(d, pos(text, "colour")[0])


def test_unknown_nested_key_lists_what_is_allowed_there(tmp_path):
    text = variant("  number: T-1\n", "  number: T-1\n  numbr: T-2\n")
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "unknown key 'numbr'" in d.message
    assert "registration" in d.message and "issuers" in d.message
    at(d, pos(text, "numbr")[0])


def test_unknown_key_in_a_rule(tmp_path):
    text = BASE + ("rules:\n  - id: r1\n    clause: 一\n    require: 'true'\n"
                   "    message: {pass: ok, fail: not ok}\n    severity: high\n")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "unknown key 'severity'" in d.message
    at(d, pos(text, "severity")[0])


def test_missing_top_level_key(tmp_path):
    text = variant("title: Test policy\n", "")
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert d.message == "title is required but missing"
    at(d, 1, 1)


def test_missing_nested_key_points_at_its_parent(tmp_path):
    text = variant("  number: T-1\n", "")
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert d.message == "number is required but missing"
    at(d, *pos(text, "title: Test document"))  # the first line of the source mapping


def test_missing_key_in_second_rule_points_at_that_rule(tmp_path):
    text = BASE + ("rules:\n  - id: r1\n    clause: 一\n    require: 'true'\n    message: {pass: a, fail: b}\n"
                   "  - id: r2\n    clause: 二\n    require: 'true'\n")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert d.message == "message is required but missing"
    at(d, *pos(text, "id: r2"))


# -- jsonschema errors land on the YAML line of the offending value --------------------------------


def test_schema_type_error_deep_in_a_rule_is_at_the_value(tmp_path):
    text = BASE + ("rules:\n  - id: r1\n    clause: 一\n    require: 'true'\n    message:\n"
                   "      pass: ok\n      fail: 5\n")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "expected text, found the number 5" in d.message
    at(d, *pos(text, "fail: 5", offset=len("fail: ")))


def test_schema_errors_are_all_reported_each_at_its_line(tmp_path):
    text = variant("  issuers: [Test office]", "  issuers: Test office")
    text = variant("policy: test/base", "policy: Test Base", text)
    version, diagnostics = load(tmp_path, text)
    assert version is None
    assert len(diagnostics) == 2
    by_line = {d.location.line: d for d in diagnostics}
    issuers = by_line[pos(text, "issuers:")[0]]
    assert "expected a list, found the text 'Test office'" in issuers.message
    assert issuers.location.column == pos(text, "Test office")[1]
    policy = by_line[1]
    assert "'Test Base' is not a policy id: lower-case letters" in policy.message
    assert policy.location.column == pos(text, "Test Base")[1]


def test_bad_reference_is_at_its_line(tmp_path):
    text = BASE + "uses:\n  other: Not An Id\n"
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "'Not An Id'" in d.message
    at(d, *pos(text, "Not An Id"))


def test_unknown_key_in_a_definition_mapping_is_named_at_its_line(tmp_path):
    text = variant("    expr: '100'\n", "    expr: '100'\n    description: base\n    colour: red\n")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "colour" in d.message
    at(d, pos(text, "colour")[0])


def test_unknown_key_in_a_reference_mapping_is_named_at_its_line(tmp_path):
    text = BASE + "extends:\n  policy: a/b\n  version: '1'\n  colour: red\n"
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "colour" in d.message
    at(d, pos(text, "colour")[0])


# -- tables ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount, hint", [("3,300", "write 3,300 without the thousands comma (3300)"),
                                          ("1,003,300", "write 1,003,300 without the thousands comma (1003300)")])
def test_an_amount_written_with_a_thousands_comma_is_named(tmp_path, amount, hint):
    """In a flow row the comma splits 3,300 into two cells: the row has too many, and the hint says why."""
    new = f"[2-02-10-11, junior, 128, {amount}]"
    version, diagnostics = load(tmp_path, variant(ROW1, new))
    d = only(diagnostics, "table.row_shape")
    assert d.hint is not None and d.hint.startswith(hint)


def test_a_row_with_too_many_cells_and_no_thousands_comma_has_no_such_hint(tmp_path):
    _, diagnostics = load(tmp_path, variant(ROW1, "[2-02-10-11, junior, 128, 3300, 1]"))
    assert only(diagnostics, "table.row_shape").hint is None


def test_table_row_with_too_few_cells(tmp_path):
    new = "[2-02-10-11, junior, 128]"
    text = variant(ROW1, new)
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.row_shape")
    assert "the row has 3 cells; the columns are code, level, hours, amount" in d.message
    at(d, *pos(text, new))
    assert set(version.tables["amounts"].rows) == {("2-02-10-15", "senior")}


def test_table_row_mapping_with_unknown_and_missing_columns(tmp_path):
    new = "{code: X-1, level: junior, hours: 1, amt: 3}"
    text = variant(ROW1, new)
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.row_shape")
    assert "unknown columns amt" in d.message and "lacks amount" in d.message
    at(d, *pos(text, new))


def test_table_cell_of_the_wrong_type(tmp_path):
    new = "[2-02-10-11, junior, many, 3300]"
    text = variant(ROW1, new)
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.cell_type")
    assert "column 'hours' holds a whole number, found the text 'many'" in d.message
    at(d, *pos(text, "many"))


def test_table_money_cell_accepts_decimals_exactly(tmp_path):
    text = variant(ROW1, "[2-02-10-11, junior, 128, 3300.10]")
    version, diagnostics = load(tmp_path, text)
    assert diagnostics == []
    assert str(version.tables["amounts"].rows[("2-02-10-11", "junior")]["amount"]) == "3300.10"


def test_table_duplicate_row_key(tmp_path):
    new = '["2-02-10-11", junior, 64, 2900]'
    text = variant(ROW2, new)
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.duplicate_row")
    assert "a second row for key 2-02-10-11, junior" in d.message
    at(d, *pos(text, new))
    # The first row for the key stands; the second is left out.
    assert version.tables["amounts"].rows[("2-02-10-11", "junior")]["hours"] == 128


def test_table_key_that_is_not_a_column(tmp_path):
    text = variant("key: [code, level]", "key: [code, grade]")
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.key")
    assert "key column 'grade' is not among the columns" in d.message
    assert d.hint.startswith("the columns are code, ")  # nothing close to 'grade': the columns there are
    at(d, *pos(text, "grade]"))
    _, diagnostics = load(tmp_path, variant("key: [code, level]", "key: [code, levle]"))
    assert only(diagnostics, "table.key").hint == "did you mean 'level'?"
    # The table keeps both key columns, so a lookup written amounts[code, grade] has the arity intended.
    assert version.tables["amounts"].keys == ("code", "grade")


def test_a_row_with_a_misspelt_column_names_the_column_meant(tmp_path):
    text = variant("      - [2-02-10-11, junior, 128, 3300]",
                   "      - {code: 2-02-10-11, level: junior, huors: 128, amount: 3300}")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.row_shape")
    assert d.message == "the row has unknown columns huors; lacks hours"
    assert d.hint == "'huors' is probably 'hours', misspelt"


def test_table_column_of_unknown_type(tmp_path):
    text = variant("hours: int,", "hours: number,")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.column_type")
    assert "column 'hours' has unknown type 'number'" in d.message
    at(d, *pos(text, "number,"))


def test_table_error_names_the_clause_of_its_table(tmp_path):
    text = variant(ROW1, "[2-02-10-11, junior, many, 3300]")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.cell_type")
    assert d.clause == "一"


def test_no_quote_hint_where_quoting_cannot_help(tmp_path):
    text = variant(ROW1, "[2-02-10-11, junior, 12.5, 3300]")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "table.cell_type")
    assert "column 'hours' holds a whole number" in d.message
    assert d.hint is None or "quote" not in d.hint


# -- clauses ---------------------------------------------------------------------------------------


def test_unknown_clause_cited(tmp_path):
    text = variant("    clause: 二", "    clause: 三")
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "clause.unknown")
    assert "clause '三' is not among source.clauses (一, 二)" in d.message
    at(d, *pos(text, "三"))


def test_unknown_clause_in_a_list_points_at_the_item(tmp_path):
    text = variant("    clause: 二", "    clause: [二, 四]")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "clause.unknown")
    assert "clause '四'" in d.message
    at(d, *pos(text, "四"))


def test_expression_error_names_line_column_and_clause(tmp_path):
    text = variant("    expr: '100'", "    expr: '100 +'")
    _, diagnostics = load(tmp_path, text)
    assert len(diagnostics) == 1
    d = diagnostics[0]
    assert d.code.startswith("syntax.")
    assert d.clause == "二"
    assert d.location.line == pos(text, "'100 +'")[0]
    assert d.location.column > pos(text, "'100 +'")[1]


# -- whole-file problems ---------------------------------------------------------------------------


@pytest.mark.parametrize("data, words", [
    (b"", "the file is empty"),
    (b"  \n\n\t\n", "the file is empty"),
    (b"# only a comment\n", "holds no YAML document"),
])
def test_empty_file(tmp_path, data, words):
    version, diagnostics = load(tmp_path, data=data)
    assert version is None
    d = only(diagnostics, "input.empty")
    assert words in d.message
    assert d.location.file == "p.yaml"


def test_non_utf8_bytes_name_the_line(tmp_path):
    data = BASE.encode("utf-8").replace(b"Test policy", b"Test \xff policy")
    version, diagnostics = load(tmp_path, data=data)
    assert version is None
    d = only(diagnostics, "input.encoding")
    byte = data.index(b"\xff") + 1  # counted from 1, as editors count
    assert f"its byte {byte} (0xFF) cannot be decoded" in d.message
    assert d.hint == "save the file as UTF-8"  # \xff is no GBK either: no guess
    at(d, pos(BASE, "title: Test policy")[0])


def test_gbk_encoded_file_is_refused_at_its_first_chinese_line(tmp_path):
    text = variant("  title: Test document", "  title: 测试文件")  # GBK b2e2 ...: b2 cannot start UTF-8
    version, diagnostics = load(tmp_path, data=text.encode("gbk"))
    assert version is None
    d = only(diagnostics, "input.encoding")
    at(d, pos(text, "测试文件")[0])
    assert "reads as GB18030 (GBK) text" in d.hint and "save it as UTF-8" in d.hint


@pytest.mark.parametrize("text", ["- policy: a/b\n- version: '1'\n", "just some text\n", "42\n"])
def test_file_that_is_not_a_mapping(tmp_path, text):
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "schema.type")
    assert "must be a mapping" in d.message
    at(d, 1, 1)


def test_unreadable_path(tmp_path):
    version, diagnostics = load_policy_file(tmp_path / "missing.yaml", "missing.yaml")
    assert version is None
    assert [d.code for d in diagnostics] == ["input.unreadable"]


def test_alias_expansion_is_bounded(tmp_path):
    text = "a: &a [1,2,3,4,5,6,7,8,9,10]\n"
    for name, prev in zip("bcdef", "abcde", strict=True):
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "input.too_many_nodes")
    assert d.message == "the file expands to more than 200000 values (aliases count each time they are used)"
    # a to e expand to about 111,000 values; the first *e of f, where the officer wrote it, passes 200,000
    at(d, *pos(text, "*e"))


def test_rendered_diagnostic_shows_file_line_column_and_caret(tmp_path):
    text = variant("title: Test policy", "title: no")
    with pytest.raises(DiagnosticError):
        read_yaml("a: [", "p.yaml")
    _, diagnostics = load(tmp_path, text)
    line, column = pos(text, "title: no", offset=len("title: "))
    rendered = diagnostics[0].render().splitlines()
    assert rendered[0].startswith(f"p.yaml:{line}:{column}: error[schema.invalid]: ")
    assert rendered[1].strip() == "title: no"
    assert rendered[2].index("^") == rendered[1].index("no")


# -- YAML structure mistakes in plain words, at the line that has them --------------------------------

@pytest.mark.parametrize("text, line, column, message, hint", [
    ("rules:\n  - id: a\n    clause: 一\n      require: x\n", 4, 7,
     "this line is indented 2 spaces more than the key above it (clause: on line 3)", "line it up with clause:"),
    ("source:\n    number: a\n  title: b\n", 3, 3,
     "this line is indented 2 spaces less than the key above it (number on line 2)", "indent it 4 spaces"),
    ("rules:\n  - id: a\n    clause: 一\n - id: b\n", 4, 2,
     "this list item is indented 3 spaces less than the line above it (line 3)", "items of one list"),
    ("rules:\n  - id: a\n\tclause: 一\n", 3, 1,
     "a tab character is used for indentation: YAML needs spaces", "replace the tab with spaces"),
    ("policy a/b\nversion: x\n", 1, 1,
     "this line has no ':' after its key, so YAML reads it and the next line as one text", "policy: …"),
    ("a: [1, 2\nb: 3\n", 1, 4, "a [ opened here is not closed on its line", "close it with ]"),
    ("a: 1\nb: [1,\n", 2, 4, "a [ opened here is not closed on its line", "close it with ]"),  # to the end
    # a quote closed lines below: the text runs on to it, and the parser meets its mistake there
    ('rules:\n  - id: a\n    message:\n      pass: "ok\n      fail: no\n    require: x\n  - id: "b"\n', 4, 13,
     "the quoted text that starts here is not closed on its line: YAML reads on, across the lines below, to the next "
     "quote mark", "on this line"),
    # a text quoted over two lines on purpose is no mistake: the one below is said
    ('a:\n  c: "a long text that\n    runs on, legally"\n  d: 1\n oops: 1\n', 5, 2,
     "this line is indented 1 space less than the key above it (d on line 4)", "indent it 2 spaces"),
    ("rules:\n  - id: a\n    message:\n      pass: [注意] 可以\n      fail: no\n", 4, 13,
     "the value of pass starts with [, so YAML reads [注意] as a list and cannot read the text after it",
     'pass: "[注意] 可以"'),
    ("rules:\n  - id: a\n    clause: 一\n  -id: b\n    clause: 一\n", 4, 3,
     "'-' is followed by no space, so YAML reads '-id' as a key, not as an item of a list", "- id: …"),
    ("rows:\n  - [\"a\"， b， 3]\n", 2, 9,
     "a full-width comma '，' is not a separator: YAML reads the items around it as one text, and the [ opened on "
     "this line does not close", "half-width comma"),
    ("rules:\n  - id: a\n    require:not x\n    clause: 一\n", 3, 12,
     "the key require is followed by ':' without a space: YAML reads require:… as one text, not as a key and its "
     "value", "require: …"),
    ("rules:\n  - id: a\n\u00a0\u00a0\u00a0\u00a0clause: 一\n    require: x\n", 3, 1,
     "a no-break space (U+00A0) is used for indentation: YAML needs plain spaces", "space bar"),
    ("# a comment pasted\u2028 with a break\nrules:\n  - id: a\n    clause: 一\n", 1, 19,
     "this line holds U+2028, an invisible line break, which YAML reads as the end of a line: what follows it is "
     "read as a line of its own", "remove it"),
    ('a: "x\nb: 3\n', 1, 4, "a quoted text that starts here is never closed", "same quote mark"),
    ("rules:\n  - id: a\n\u3000\u3000\u3000\u3000clause: 一\n    require: x\n", 3, 1,
     "a full-width space (U+3000) is used for indentation: YAML needs half-width spaces", "half-width mode"),
    ("rules:\n  - id: a\n    clause：一\n    require: x\n", 3, 11,
     "the key clause is followed by a full-width colon '：': YAML needs ':' and a space", "write clause: …"),
    ("rules:\n  - id: a\n    条款：一\n    require: x\n", 3, 7,  # the notice's word, and its colon: the format's key
     "the key 条款 is followed by a full-width colon '：': YAML needs ':' and a space", "write clause: …"),
    ("rules:\n  - id: a\n    require: \"paying\" == x.status\n", 3, 23,
     "the value of require starts with a quote, so YAML reads only the quoted text and cannot read what follows it",
     "require: '\"paying\" == x.status'"),
    ("definitions:\n  d:\n    expr: '3311' == c and \"y\"\n", 3, 18,
     "the value of expr starts with a quote, so YAML reads only the quoted text and cannot read what follows it",
     "after expr: >-"),
    # the outer quotes meant as YAML's, around an expression holding a string: those replaced, not kept inside
    ("definitions:\n  d:\n    expr: \"starts_with(region, \"3308\")\"\n", 3, 33,
     "the value of expr starts with a quote, so YAML reads only the quoted text and cannot read what follows it",
     "expr: 'starts_with(region, \"3308\")'"),
], ids=["indented-more", "indented-less", "list-item-less", "tab", "no-colon", "open-bracket",
        "open-bracket-to-the-end", "quote-runs-on", "quoted-over-two-lines-on-purpose", "list-then-text",
        "dash-without-space", "full-width-comma-in-a-row",
        "no-space-after-colon", "no-break-space", "break-in-a-comment", "open-quote",
        "full-width-space", "full-width-colon", "full-width-colon-chinese-key", "quote-then-more",
        "quote-then-more-both-quotes", "quotes-around-an-expression-with-a-string"])
def test_yaml_structure_mistakes_are_said_plainly_at_their_line(text, line, column, message, hint):
    from engine.core.diagnostics import DiagnosticError
    from engine.policies.yamlsource import read_yaml

    with pytest.raises(DiagnosticError) as raised:
        read_yaml(text, "f.yaml")
    [d] = raised.value.diagnostics
    assert (d.code, d.location.line, d.location.column, d.message) == ("yaml.syntax", line, column, message)
    assert hint in d.hint
    assert d.render().split("\n")[2].endswith("^")  # (a U+2028 the source line holds is no line break here)


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"], ids=["lf", "cr", "crlf"])
def test_a_yaml_mistake_shows_its_own_line_whatever_ends_the_lines(newline):
    """Lines end at LF, CRLF or a lone CR, as in an editor (and the language server protocol)."""
    with pytest.raises(DiagnosticError) as raised:
        read_yaml(newline.join(["a: 1", "b: 2", 'c: "x', ""]), "f.yaml")
    [d] = raised.value.diagnostics
    assert (d.location.line, d.location.column, d.source_line) == (3, 4, 'c: "x')


# U+2028, U+2029 and NEL end a line for YAML but not in an editor (nor anywhere else in the engine): they come with
# text pasted from PDFs and word processors.
UNUSUAL_BREAKS = pytest.mark.parametrize("pasted", ["\u2028", "\u2029", "\x85"], ids=["ls", "ps", "nel"])


@UNUSUAL_BREAKS
def test_after_a_pasted_line_break_in_a_text_an_error_is_at_the_line_an_editor_shows(tmp_path, pasted):
    text = variant("title: Test policy", f'title: "Test{pasted}policy"')
    text = variant("  number: T-1", "  numbr: T-1", text)
    _, diagnostics = load(tmp_path, text)
    key = only(diagnostics, "schema.invalid")
    assert (key.location.line, key.location.column, key.source_line) == (*pos(text, "numbr"), "  numbr: T-1")


@UNUSUAL_BREAKS
def test_positions_of_values_and_keys_after_a_pasted_line_break_are_the_editors(pasted):
    doc = read_yaml(f'a: "x{pasted}y"\nb:\n  c: [1, 2]\n', "f.yaml")
    assert doc.key_marks[("b",)] == (2, 1)
    assert doc.marks[("b", "c")] == (3, 6)
    assert doc.marks[("b", "c", 1)] == (3, 10)


@UNUSUAL_BREAKS
def test_a_pasted_line_break_outside_quotes_is_named_where_it_is(tmp_path, pasted):
    """In a comment or a plain text YAML ends the line at it and reads the rest as a line of its own: the parser's
    own complaint (about the line after) would leave the officer looking for what cannot be seen."""
    text = variant("issued_on: 2023-12-01", f"issued_on: 2023-12-01  # 见{pasted}附件", BASE)
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "yaml.syntax")
    line, column = pos(text, pasted)
    assert (d.location.line, d.location.column) == (line, column)
    assert f"U+{ord(pasted):04X}" in d.message and "end of a line" in d.message
    assert d.source_line == text.split("\n")[line - 1]


@UNUSUAL_BREAKS
def test_a_pasted_line_break_inside_quotes_is_part_of_the_text(tmp_path, pasted):
    version, diagnostics = load(tmp_path, variant("title: Test policy", f'title: "Test{pasted}policy"'))
    assert diagnostics == []
    assert pasted in version.title or version.title == "Test policy"


@pytest.mark.parametrize("written, meant", [("条款", "clause"), ("标题", "title")])
def test_a_key_written_as_the_notice_says_it_hints_the_formats_key(tmp_path, written, meant):
    old = "    clause: 一\n" if meant == "clause" else "title: Test policy\n"
    text = BASE.replace(old, old.replace(meant, written), 1)
    assert text != BASE
    _, diagnostics = load(tmp_path, text)
    d = next(d for d in diagnostics if d.code == "schema.invalid" and repr(written) in d.message)
    assert d.hint is not None and f"did you mean '{meant}'?" in d.hint
