"""`policy test` for CI: selecting cases by name, JSON lines, JUnit XML and what the cases reach."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from clirun import invoke

from tests.authoring_demo import write_store


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path)


def run(capsys, policies, *args):
    return invoke(capsys, "--policies", policies, *args)


def test_k_selects_cases_by_substring_or_glob(capsys, store):
    code, out, _ = run(capsys, store, "test", "-k", "minor")
    assert code == 0 and out.strip().endswith("1 passed, 0 failed")
    code, out, _ = run(capsys, store, "test", "-k", "adult junior*")
    assert code == 1 and "1 passed, 1 failed" in out and "wrongly expected" in out
    code, out, err = run(capsys, store, "test", "-k", "nobody")
    assert code == 1 and "no case name matches nobody" in err


def test_json_lines_one_per_case_then_totals(capsys, store):
    code, out, _ = run(capsys, store, "test", "--format", "json")
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert [x["name"] for x in lines[:3]] == ["adult junior", "minor junior",
                                             "adult junior, wrongly expected senior amount"]
    assert lines[2]["passed"] is False and lines[2]["problems"] == ["expected amount 300, got 100"]
    assert lines[2]["line"] == 12
    assert lines[-1] == {"passed": 2, "failed": 1, "changed": 0}


def test_junit_xml_names_each_case_and_its_failure(capsys, store, tmp_path):
    target = tmp_path / "junit.xml"
    code, _, _ = run(capsys, store, "test", "--junit-xml", str(target))
    assert code == 1
    root = ET.parse(target).getroot()
    assert root.get("tests") == "3" and root.get("failures") == "1"
    failures = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["adult junior, wrongly expected senior amount"]
    assert failures[0].find("failure").get("message") == "expected amount 300, got 100"


def test_coverage_names_what_no_case_reaches(capsys, store):
    code, out, _ = run(capsys, store, "test", "-k", "adult junior", "--coverage")
    assert "coverage of demo/grant@2024-01-01 (2 decided cases):" in out
    assert "rules both passed and failed: 0 of 2" in out
    assert "is_adult [一]: never failed" in out and "level_known [二]: never failed" in out
    assert "table amounts: 1 of 2 rows reached" in out and "not reached: senior" in out
    assert "clauses reached: 2 of 2" in out and "not computable (not counted): 三" in out
    code, out, _ = run(capsys, store, "test", "--coverage", "--format", "json")
    cov = next(x["coverage"] for x in map(json.loads, out.splitlines()) if "coverage" in x)
    assert cov["rules"]["is_adult"] == {"pass": True, "fail": True, "not_applicable": False}
    assert cov["tables"]["amounts"] == {"rows": 2, "reached": 1, "not_reached": [["senior"]]}


@pytest.mark.parametrize("written, said", [
    ("is_adlt", "'is_adlt' is no rule of demo/grant@2024-01-01: did you mean 'is_adult'?"),
    ("nothing_like_it", "'nothing_like_it' is no rule of demo/grant@2024-01-01"),
])
def test_an_expected_rule_the_policy_does_not_have_is_named(capsys, store, written, said):
    """A misspelt rule id in `failed_rules` fails the case and says it is no rule at all, not only that the lists
    differ."""
    cases = store / "demo" / "grant" / "2024-01-01.cases.yaml"
    cases.write_text(cases.read_text(encoding="utf-8").replace("failed_rules: [is_adult]",
                                                               f"failed_rules: [{written}]"), encoding="utf-8")
    code, out, _ = run(capsys, store, "test", "-k", "minor", "--format", "json")
    problems = json.loads(out.splitlines()[0])["problems"]
    assert code == 1 and problems == [f"expected failed rules [{written}], got [is_adult]", said]


@pytest.mark.parametrize("expect, said", [
    ('{eligible: "false"}', "expect.eligible is true or false, not 'false'"),  # bool("false") would pass it
    ("{eligible: 否}", "expect.eligible is true or false, not '否'"),
    ("{eligible: false, failed_rules: is_adult}", "expect.failed_rules is a list of rule ids"),
    ("{outputs: [a, b]}", "expect.outputs is a mapping of output names to values, not [\"a\",\"b\"]"),
    ("{notes: 5}", "expect.notes is a list of note ids, not 5"),
    ("{eligible: true, amount: true}", "expect.amount is a number, not true"),
])
def test_an_expectation_written_in_the_wrong_shape_fails_the_case_saying_so(capsys, store, expect, said):
    """Not compared as written (where "false" is true), and no internal error: the case fails with what is wrong."""
    cases = store / "demo" / "grant" / "2024-01-01.cases.yaml"
    cases.write_text(cases.read_text(encoding="utf-8") + f"  - name: shape\n    expect: {expect}\n", encoding="utf-8")
    code, out, err = run(capsys, store, "test", "-k", "shape", "--format", "json")
    assert code == 1 and "internal error" not in err
    assert any(said in problem for problem in json.loads(out.splitlines()[0])["problems"])


@pytest.mark.parametrize("policy", ["[demo/grant]", "12345"])
def test_a_cases_file_whose_policy_is_not_text_says_so(capsys, store, policy):
    cases = store / "demo" / "grant" / "2024-01-01.cases.yaml"
    text = cases.read_text(encoding="utf-8")
    cases.write_text(re.sub(r"(?m)^policy: .*$", f"policy: {policy}", text, count=1) if "\npolicy:" in "\n" + text
                     else f"policy: {policy}\n" + text, encoding="utf-8")
    code, out, err = run(capsys, store, "test")
    assert code == 1 and "internal error" not in err
    assert "`policy:` is the text ID@VERSION" in out + err


def test_a_junit_file_that_cannot_be_written_is_exit_74(capsys, store, tmp_path):
    code, _, err = run(capsys, store, "test", "--junit-xml", str(tmp_path / "no-such-folder" / "junit.xml"))
    assert code == 74 and "cannot write the output to" in err and "internal error" not in err


@pytest.mark.parametrize("written", ['"100.00"', "100.0", '"1E+2"'])
def test_an_expected_amount_is_compared_as_money_however_it_is_written(capsys, store, written):
    cases = store / "demo" / "grant" / "2024-01-01.cases.yaml"
    text = cases.read_text(encoding="utf-8")
    expected = f"expect: {{eligible: true, amount: {written}}}"
    cases.write_text(text.replace('expect: {eligible: true, amount: "100"}', expected), encoding="utf-8")
    code, out, _ = run(capsys, store, "test", "-k", "adult junior")  # it, and the case that expects 300
    assert code == 1 and out.strip().endswith("1 passed, 1 failed"), out
    assert out.count("FAIL ") == 1 and "wrongly expected senior amount" in out


def test_a_yaml_mistake_in_a_cases_file_is_shown_as_check_shows_one(capsys, store):
    """The column, the line with a caret under it and the hint, as `policy check` gives them for a policy file."""
    path = store / "demo" / "grant" / "2024-01-01.cases.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("  - name: minor junior", "  - name： minor junior"),
                    encoding="utf-8")
    code, out, _ = run(capsys, store, "test", str(path))
    lines = out.splitlines()
    assert code == 1 and lines[0].endswith(":9: (the file)"), out
    assert lines[1] == "    column 9: the key name is followed by a full-width colon '：': YAML needs ':' and a space"
    assert lines[2] == "      - name： minor junior" and lines[3].strip() == "^"
    assert lines[4].startswith("    hint: write name: …")


@pytest.mark.parametrize("written, meant", [("writen_against", "written_against"), ("\u3000base", "base")])
def test_an_unknown_key_at_the_top_of_a_cases_file_is_said(capsys, store, written, meant):
    """A misspelt `written_against:` would check nothing, silently; the cases still run."""
    path = store / "demo" / "grant" / "2024-01-01.cases.yaml"
    path.write_text(path.read_text(encoding="utf-8") + f"{written}: {{}}\n", encoding="utf-8")
    code, out, _ = run(capsys, store, "test", str(path))
    assert code == 1 and f"unknown key {written!r} at the top of the cases file" in out
    assert f"hint: did you mean {meant!r}?" in out
    assert re.search(r"^([1-9]\d*) passed, ", out.splitlines()[-1])  # the cases ran all the same
