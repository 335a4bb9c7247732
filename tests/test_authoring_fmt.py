"""`policy fmt`: one canonical layout, comments kept, data unchanged, idempotent; --check for CI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.policies.layout import WIDTH, format_text
from engine.policies.yamlsource import read_yaml
from tests.authoring_demo import POLICY, write_store

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "store"

LONG = " and ".join(["person.age >= 18", "person.age <= 60", 'person.level != "none"', 'person.level != "unknown"',
                     "person.age != 99"])
MESSY = """\
# 文件头注释 / a comment at the top
version: '2024-01-01'   # 版本号
policy: demo/messy
title: 示例
effective: {from: 2024-01-01}
issued_on: 2023-12-01
source:
  title: 示例通知
  number: 示例〔2023〕2号
  issuers: [示例局]
  clauses: {一: 条件。}
rules:
  - require: LONG
    clause: 一
    id: age   # 年龄条件
    message: {fail: 不满足, pass: 满足}
""".replace("LONG", LONG)


def test_reorders_keys_keeps_comments_and_quotes_canonically():
    out = format_text(MESSY)
    lines = out.splitlines()
    assert lines[0] == "# 文件头注释 / a comment at the top"
    assert lines[1] == "policy: demo/messy"
    assert lines[2] == 'version: "2024-01-01"   # 版本号'
    assert out.index("  - id: age   # 年龄条件") < out.index("    clause: 一") < out.index("    require: >-")
    assert "message: {pass: 满足, fail: 不满足}" in out
    assert all(len(line) <= WIDTH for line in lines)
    assert "\n      and person.age != 99" in out  # folded before an operator


def test_data_and_digest_are_unchanged_and_formatting_twice_changes_nothing():
    for path in [*FIXTURES.rglob("*.yaml")]:
        text = path.read_text(encoding="utf-8")
        once = format_text(text, path.name.endswith(".cases.yaml"))
        assert read_yaml(once, "x").value == read_yaml(text, "x").value, path
        assert format_text(once, path.name.endswith(".cases.yaml")) == once, path
    once = format_text(MESSY)
    assert read_yaml(once, "x").value == read_yaml(MESSY, "x").value and format_text(once) == once


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", "and", "or", "(x)", "'s'", '"a b"', "1", "==", "  "]), min_size=1,
                max_size=60))
def test_folding_an_expression_reads_back_as_the_same_text(words):
    expression = " ".join(words).strip() or "a"
    text = f"rules:\n  - id: r\n    require: {json.dumps(expression)}\n"
    original = read_yaml(text, "x").value
    once = format_text(text)
    assert read_yaml(once, "x").value == original
    assert format_text(once) == once


run = invoke


def test_check_reports_and_changes_nothing_then_fmt_rewrites(capsys, tmp_path):
    policies = write_store(tmp_path)
    target = policies / "demo" / "grant" / "2024-01-01.yaml"
    target.write_text(MESSY, encoding="utf-8")
    code, out, err = run(capsys, "fmt", "--check", str(policies))
    assert code == 1 and f"would reformat {target}" in out and target.read_text(encoding="utf-8") == MESSY
    code, out, err = run(capsys, "fmt", str(policies))
    assert code == 0 and f"reformatted {target}" in out
    code, out, err = run(capsys, "fmt", "--check", str(policies))
    assert code == 0 and "0 files would be reformatted, 2 already canonical" in err


def test_a_file_that_cannot_be_read_is_reported_and_left_alone(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\n", encoding="utf-8")
    code, _, err = run(capsys, "fmt", str(bad))
    assert code == 1 and "yaml.duplicate_key" in err and bad.read_text(encoding="utf-8") == "a: 1\na: 2\n"


def test_the_demo_policy_is_canonical_already():
    assert format_text(POLICY) == POLICY


def test_a_file_with_windows_line_ends_keeps_them_on_every_line(capsys, tmp_path):
    """Windows editors write CR LF: every line of the formatted file ends so, comments' lines too (not a mix), and
    the formatted file is canonical for `fmt --check`."""
    policies = write_store(tmp_path)
    target = policies / "demo" / "grant" / "2024-01-01.yaml"
    target.write_bytes(MESSY.replace("\n", "\r\n").encode("utf-8"))
    assert run(capsys, "fmt", str(policies))[0] == 0
    data = target.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") > 10 and b"\r\r" not in data
    assert data.replace(b"\r\n", b"\n").decode("utf-8") == format_text(MESSY)  # the same layout as with LF
    code, _, err = run(capsys, "fmt", "--check", str(policies))
    assert code == 0 and "0 files would be reformatted" in err


def test_a_heading_comment_moves_with_the_section_below_it():
    """`# 定义` written above `definitions:` describes definitions: when the sections are put in order it goes with
    them, not with the section that happened to be above (seen: at the end of the file, or inside a rule)."""
    text = MESSY.replace("rules:\n", "# 规则 / the rules\nrules:\n") + (
        "\n# 定义 / the definitions\ndefinitions:\n  adult: {clause: 一, expr: person.age >= 18}\n"
        "# 上级 / the parent\nextends: demo/parent\n")
    out = format_text(text)
    lines = out.splitlines()
    assert lines[0] == "# 文件头注释 / a comment at the top" and lines[1] == "policy: demo/messy"
    for heading, key in (("# 上级 / the parent", "extends:"), ("# 定义 / the definitions", "definitions:"),
                         ("# 规则 / the rules", "rules:")):
        assert lines[lines.index(heading) + 1].startswith(key), heading
    assert lines.index("extends: demo/parent") < lines.index("definitions:") < lines.index("rules:")
    assert read_yaml(out, "x").value == read_yaml(text, "x").value and format_text(out) == out


def test_sections_are_left_where_they_are_when_reordering_would_change_the_data():
    """An alias written after its anchor would come before it: the text reorder is not made (the data would
    change, or not read back at all)."""
    text = ("policy: demo/a\nrules:\n  - &first {id: r, clause: 一, require: x, message: {pass: p, fail: f}}\n"
            "title: t\ndefinitions:\n  d: {clause: 一, expr: \"1\"}\n# 上级\nextends: *first\n")
    out = format_text(text)
    assert read_yaml(out, "x").value == read_yaml(text, "x").value
