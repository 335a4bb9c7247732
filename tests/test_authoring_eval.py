"""`policy eval` and `policy repl`: an expression in a policy's namespace, through the engine's own stages."""
from __future__ import annotations

import io
import json
from pathlib import Path

from clirun import invoke

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "tests" / "fixtures" / "store"
SCHEMAS = ROOT / "tests" / "fixtures" / "schemas"
CLAIM = ROOT / "examples" / "eligible-blockchain-junior.yaml"
CITY = "jinhua/digital-engineer-subsidy"


def run(capsys, *args):
    return invoke(capsys, "--policies", STORE, "--schemas", SCHEMAS, *args)


def test_eval_gives_value_type_and_the_facts_and_rows_read(capsys):
    code, out, _ = run(capsys, "eval", "subsidy[training.occupation_code, training.level].amount",
                       "--policy", CITY, "--claim", str(CLAIM), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["value"] == "2200" and data["type"] == "decimal"
    assert data["policy"] == f"{CITY}@2024-05-01" and data["decision_date"] == "2024-06-15"
    assert data["reads"]["training.occupation_code"] == "2-02-10-15"
    assert data["reads"]["subsidy[2-02-10-15, junior]"]["amount"] == "2200"


def test_eval_text_names_version_and_date_and_as_of_moves_both(capsys):
    code, out, _ = run(capsys, "eval", "age_on_decision", "--policy", CITY, "--claim", str(CLAIM),
                       "--as-of", "2025-03-07")
    assert code == 0
    assert out.splitlines()[0] == "35  : int"
    assert f"in {CITY}@2024-05-01 on 2025-03-07" in out
    assert "applicant.birth_date = 1990-03-07" in out


def test_eval_reports_check_errors_as_check_does(capsys):
    code, out, _ = run(capsys, "eval", "age_on_decison >= 16", "--policy", CITY)
    assert code == 1
    assert "<expression>:1:1: error[name.unknown]: unknown name 'age_on_decison'" in out
    assert "did you mean 'age_on_decision'?" in out
    code, out, _ = run(capsys, "eval", "training.hours + \"h\"", "--policy", CITY)
    assert code == 1 and "error[type.arithmetic]" in out


def test_eval_of_a_fact_the_claim_lacks_is_undecided_with_the_path(capsys):
    code, out, _ = run(capsys, "eval", "applicant.graduate.school_region", "--policy", CITY, "--claim", str(CLAIM))
    assert code == 4
    assert "applicant.graduate is not given" in out


def test_eval_of_an_invalid_claim_says_which_fact(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CLAIM.read_text(encoding="utf-8").replace('hukou_region: "330702"', "hukou_region: 330702"),
                   encoding="utf-8")
    code, out, _ = run(capsys, "eval", "true", "--policy", CITY, "--claim", str(bad))
    assert code == 2 and "applicant.hukou_region" in out


def test_a_claim_file_that_cannot_be_read_is_an_invalid_claim_with_its_place_not_a_usage_error(capsys, tmp_path):
    """Exit 2 as for any claim that cannot be read, said as `policy evaluate` says it (file:line:column, the code,
    in the language asked for); it was exit 64 with the usage banner and no position."""
    broken, binary = tmp_path / "broken.yaml", tmp_path / "binary.yaml"
    broken.write_text("applicant: [\n", encoding="utf-8")
    binary.write_bytes(b"\xff\xfe claim")
    code, out, err = run(capsys, "--lang", "zh", "eval", "1", "--policy", CITY, "--claim", str(broken))
    assert code == 2 and f"{broken}:1:12: 错误[claim.syntax]: 这里打开的 [ 在本行没有闭合" in err and "Usage" not in err
    code, _, err = run(capsys, "eval", "1", "--policy", CITY, "--claim", str(binary))
    assert code == 2 and "error[claim.encoding]: the file is not UTF-8 text: its byte 1 (0xFF)" in err


def test_repl_keeps_its_claim_when_the_next_is_invalid_or_unreadable(capsys, monkeypatch, tmp_path):
    """:claim with an invalid claim used to be accepted, and every line after it blamed on the claim."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(CLAIM.read_text(encoding="utf-8").replace('hukou_region: "330702"', "hukou_region: 330702"),
                   encoding="utf-8")
    lines = [":claim " + str(CLAIM), ":claim " + str(bad), "claim_deadline", ":claim", ":claim " + str(tmp_path)]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code, out, _ = run(capsys, "repl", "--policy", CITY)
    assert code == 0
    assert "the claim is invalid: [claim.invalid] applicant.hukou_region" in out
    assert "2025-04-01  : date" in out  # decided on the claim kept
    assert "name the claim file: :claim FILE" in out and "is a folder, not a claim file" in out
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = run(capsys, "repl", "--policy", CITY, "--claim", str(bad))
    assert code == 2 and "applicant.hukou_region" in err


def test_eval_before_the_policy_is_in_force(capsys):
    code, _, err = run(capsys, "eval", "1", "--policy", CITY, "--as-of", "2024-01-01")
    assert code == 3 and "no version in force on 2024-01-01" in err


def test_eval_of_an_unknown_policy_is_a_usage_error(capsys):
    code, _, err = run(capsys, "eval", "1", "--policy", "no/such")
    assert code == 64


def test_repl_evaluates_lines_and_switches_claim_and_date(capsys, monkeypatch):
    lines = "\n".join([":claim " + str(CLAIM), "claim_deadline", ":as-of 2026-01-01", "decision_date <= claim_deadline",
                       "nonsense(", ":names", ":quit", "never reached"]) + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    code, out, _ = run(capsys, "repl", "--policy", CITY)
    assert code == 0
    assert "2025-04-01  : date" in out
    assert "false  : bool" in out and "on 2026-01-01" in out
    assert "error[syntax." in out
    assert "definitions: " in out and "在金华参保" in out
    assert "never reached" not in out


def test_show_json_has_the_text_views_content(capsys):
    code, out, _ = run(capsys, "show", "zhejiang/digital-engineer@2023-09-16", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["id"] == "zhejiang/digital-engineer" and data["version"] == "2023-09-16"
    assert data["tables"]["subsidy"]["key"] == ["occupation_code", "level"]
    rows = data["tables"]["subsidy"]["rows"]
    assert any(r["occupation_code"] == "2-02-10-15" and r["amount"] == "2200" for r in rows)
    rule_ids = [r["id"] for r in data["rules"]]
    assert "hours_completed" in rule_ids and all(r["clause"] and r["require"] for r in data["rules"])
    assert data["decision"]["currency"] == "CNY"


def test_explain_gives_meaning_wrong_and_right_examples_and_the_docs(capsys):
    code, out, _ = run(capsys, "explain", "yaml.syntax")
    assert code == 0
    assert out.startswith("yaml.syntax (error): malformed YAML")
    assert "wrong:\n    rules:" in out and "right:\n    rules:" in out
    assert "more: docs/authoring.md#" in out
    code, _, err = run(capsys, "explain", "yaml.syntx")
    assert code == 64 and "did you mean yaml.syntax" in err
    code, out, _ = run(capsys, "explain", "name.unknown", "--lang", "zh")
    assert "错误写法：" in out and "adlut" in out and "含义：" in out


def test_explain_without_a_code_lists_every_code_and_takes_one_in_capitals(capsys):
    from engine.core.errors import CODES

    code, out, _ = run(capsys, "--lang", "zh", "explain")
    listed = [line.split()[0] for line in out.splitlines()]
    assert code == 0 and listed == sorted(CODES)
    assert "yaml.syntax  (错误) " in out
    code, out, _ = run(capsys, "explain", "YAML.SYNTAX")
    assert code == 0 and out.startswith("yaml.syntax (error): ")
    for copied in ("错误[clause.unknown]", "error[clause.unknown]:"):  # the label as copied from a report
        code, out, _ = run(capsys, "explain", copied)
        assert code == 0 and out.startswith("clause.unknown (error): "), copied
