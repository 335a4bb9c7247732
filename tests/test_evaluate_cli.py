"""`policy evaluate` as developers use it: formats, exit codes, batches, the decision schema."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from clirun import invoke

from engine.api import Engine
from engine.cli import main as cli
from engine.core.schemacheck import make_validator

ROOT = Path(__file__).resolve().parent.parent
POLICY = "jinhua/digital-engineer-subsidy"
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))


def run(capsys, *args, **options):
    return invoke(capsys, "--policies", ROOT / "policies", *args, **options)


def example_claim() -> dict:
    data = yaml.safe_load((ROOT / "examples" / "eligible-blockchain-junior.yaml").read_text(encoding="utf-8"))
    return json.loads(json.dumps(data, default=str))


def write_jsonl(path: Path, claims: list) -> Path:
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" if not isinstance(c, str) else c + "\n"
                            for c in claims), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def decision_validator():
    schema = ROOT / "engine" / "schemas" / "decision.schema.json"
    return make_validator(json.loads(schema.read_text(encoding="utf-8")))


def test_examples_decide_and_follow_the_decision_schema(capsys, decision_validator):
    code, out, err = run(capsys, "evaluate", *EXAMPLES, "--policy", POLICY, "--format", "json")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == len(EXAMPLES)
    for line in lines:
        assert not list(decision_validator.iter_errors(line)), line
        assert set(line["outputs"]) == {"deadline", "required_materials", "title_recognition",
                                        "continuing_education_hours", "where_to_claim"}
        assert all(r["outcome"] in ("pass", "fail", "not_applicable") and r["clause"] for r in line["rules"])
        assert line["amount"] == "0" or line["eligible"]
    assert "decided" in err


def test_eligible_example_amount_comes_from_the_provincial_table(capsys):
    code, out, _ = run(capsys, "evaluate", str(ROOT / "examples" / "eligible-blockchain-junior.yaml"),
                       "--policy", POLICY, "--format", "json")
    decision = json.loads(out)
    assert code == 0 and decision["eligible"] is True
    assert decision["amount"] == "2200" and decision["currency"] == "CNY"
    roles = {r["id"]: r["role"] for r in decision["references"]}
    assert roles == {"zhejiang/digital-engineer": "extends", "china/retirement-age": "uses"}
    hours = next(r for r in decision["rules"] if r["id"] == "hours_completed")
    assert hours["reads"]["training.hours"] == 80 and hours["source"] == "zhejiang/digital-engineer@2023-09-16"


def test_summary_has_only_the_summary_fields(capsys, decision_validator):
    code, out, _ = run(capsys, "evaluate", *EXAMPLES, "--policy", POLICY, "--format", "json", "--summary")
    assert code == 0
    for line in map(json.loads, out.splitlines()):
        assert set(line) == {"claim_id", "policy", "decision_date", "eligible", "amount", "currency", "failed_rules",
                             "combined_digest"}
        assert not list(decision_validator.iter_errors(line))


def test_text_explains_every_reason_why_not(capsys):
    code, out, _ = run(capsys, "evaluate", str(ROOT / "examples" / "late-and-wrong-institution.yaml"),
                       "--policy", POLICY)
    assert code == 0
    assert "NOT ELIGIBLE: 2 conditions not met" in out
    # the province's clause is named with its policy: the city's own 二.(一) is another clause
    assert "  ✗ [附件1, 二.(一) · zhejiang/digital-engineer] 培训机构未列入培训机构目录" in out
    assert "  ✗ [四] 已超过专业技术等级证书核发之日起12个月的申请期限" in out



def test_invalid_claim_names_the_fact_and_exits_2(capsys, tmp_path, decision_validator):
    bad = example_claim()
    bad["applicant"]["birth_date"] = "1990-02-30"
    path = write_jsonl(tmp_path / "bad.jsonl", [bad])
    code, out, err = run(capsys, "evaluate", str(path), "--policy", POLICY, "--format", "json")
    assert code == 2
    line = json.loads(out)
    assert line["error"]["code"] == "claim.invalid"
    assert line["error"]["path"] == "applicant.birth_date"
    assert "calendar date" in line["error"]["message"]
    assert line["error"]["location"].endswith("bad.jsonl:1")
    assert not list(decision_validator.iter_errors(line))


def test_id_number_is_checked_against_gb11643(capsys, tmp_path):
    bad = example_claim()
    bad["applicant"]["id_number"] = "330702199003070012"  # wrong check character
    code, out, _ = run(capsys, "evaluate", str(write_jsonl(tmp_path / "c.jsonl", [bad])), "--policy", POLICY,
                       "--format", "json")
    assert code == 2
    error = json.loads(out)["error"]
    assert error["path"] == "applicant.id_number" and "GB 11643" in error["message"]


def test_no_version_in_force_is_not_ineligible(capsys, tmp_path):
    early = example_claim()
    early["applied_on"] = "2024-04-30"
    code, out, _ = run(capsys, "evaluate", str(write_jsonl(tmp_path / "c.jsonl", [early])), "--policy", POLICY,
                       "--format", "json")
    assert code == 3
    error = json.loads(out)["error"]
    assert error["code"] == "policy.not_in_force"
    assert POLICY in error["message"] and "2024-04-30" in error["message"]
    assert "2024-05-01" in error["message"]  # the nearest version


def test_a_bad_claim_in_a_batch_keeps_its_place(capsys, tmp_path):
    good = example_claim()
    claims = [dict(good, claim_id="A"), "{not json", dict(good, claim_id="C"),
              dict(good, claim_id="D", applied_on="2020-01-01")]
    code, out, _ = run(capsys, "evaluate", str(write_jsonl(tmp_path / "b.jsonl", claims)), "--policy", POLICY,
                       "--format", "json", "--summary")
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 4
    assert [line.get("claim_id") for line in lines] == ["A", None, "C", "D"]
    assert lines[1]["error"]["code"] == "claim.json" and lines[1]["error"]["location"].endswith(":2")
    assert lines[3]["error"]["code"] == "policy.not_in_force"
    assert code == 2  # invalid outranks not-in-force


def test_standard_input_and_as_of(capsys, monkeypatch):
    claim = example_claim()
    data = (json.dumps(claim) + "\n").encode()
    code, out, _ = run(capsys, "evaluate", "-", "--policy", POLICY, "--format", "json", "--as-of", "2025-04-02",
                       stdin=data, monkeypatch=monkeypatch)
    decision = json.loads(out)
    assert decision["decision_date"] == "2025-04-02"
    assert "within_deadline" in [r["id"] for r in decision["rules"] if r["outcome"] == "fail"]
    assert code == 0


def test_pinned_version_outside_its_range_is_not_in_force(capsys, tmp_path):
    early = example_claim()
    early["applied_on"] = "2024-01-10"
    code, out, _ = run(capsys, "evaluate", str(write_jsonl(tmp_path / "c.jsonl", [early])),
                       "--policy", POLICY + "@2024-05-01", "--format", "json")
    assert code == 3 and "not in force on 2024-01-10" in json.loads(out)["error"]["message"]


def test_unknown_policy_and_bad_dates_are_usage_errors(capsys):
    code, _, err = run(capsys, "evaluate", EXAMPLES[0], "--policy", "nowhere/nothing")
    assert code == 64 and "no policy 'nowhere/nothing'" in err
    code, _, err = run(capsys, "evaluate", EXAMPLES[0], "--policy", POLICY, "--as-of", "2023-02-29")
    assert code == 64 and "not a calendar date" in err
    # Python would read these as 2024-06-15 and 2024-03-06; a date is written YYYY-MM-DD or refused
    for loose in ("20240615", "2024-W10-3"):
        code, _, err = run(capsys, "evaluate", EXAMPLES[0], "--policy", POLICY, "--as-of", loose)
        assert code == 64 and f"'{loose}' is not a calendar date written YYYY-MM-DD" in err
    code, _, err = run(capsys, "evaluate", EXAMPLES[0], "--policy", POLICY + "@1999")
    assert code == 64 and "no version '1999'" in err


UNDECIDABLE_POLICY = """
policy: test/undecidable
version: "1"
title: a rule that reads an optional fact without a default
effective: {from: 2024-01-01}
issued_on: 2024-01-01
source: {number: T-1, title: test, issuers: [test], clauses: {a: text}}
input: {schema: training-claim.schema.json}
rules:
  - id: insured_here
    clause: a
    require: applicant.social_insurance.status == "paying"
    message: {pass: "insured", fail: "not insured"}
"""


def test_a_missing_optional_fact_is_an_explicit_error_not_a_silent_false(capsys, tmp_path):
    (tmp_path / "policies" / "test").mkdir(parents=True)
    (tmp_path / "policies" / "test" / "undecidable").mkdir(parents=True)
    (tmp_path / "policies" / "test" / "undecidable" / "1.yaml").write_text(UNDECIDABLE_POLICY, encoding="utf-8")
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "training-claim.schema.json").write_bytes(
        (ROOT / "schemas" / "training-claim.schema.json").read_bytes())
    claim = example_claim()
    del claim["applicant"]["social_insurance"]
    path = write_jsonl(tmp_path / "c.jsonl", [claim])
    code = cli.main(["--policies", str(tmp_path / "policies"), "evaluate", str(path), "--policy", "test/undecidable",
                     "--format", "json"])
    out = capsys.readouterr().out
    error = json.loads(out)["error"]
    assert code == 4
    assert error["code"] == "evaluation.rule"
    assert "insured_here" in error["message"] and "applicant.social_insurance" in error["message"]


def test_python_api_decides_many_with_one_compilation():
    engine = Engine.load(ROOT / "policies")
    evaluator = engine.evaluator(POLICY, explain=False)
    claim = example_claim()
    first = evaluator.evaluate(claim)
    again = evaluator.evaluate(claim)
    assert first.eligible and again.eligible and first.amount == again.amount
    assert len(engine._programs) == 1
    assert first.to_json() == again.to_json()


def test_python_api_takes_python_dates_and_a_written_decision_date():
    from datetime import date

    evaluator = Engine.load(ROOT / "policies").evaluator(POLICY, explain=False)
    claim = example_claim()
    as_text = evaluator.evaluate(claim, as_of="2024-07-01").to_json()
    claim_with_dates = {**claim, "applied_on": date.fromisoformat(claim["applied_on"]),
                        "applicant": {**claim["applicant"],
                                      "birth_date": date.fromisoformat(claim["applicant"]["birth_date"])}}
    assert evaluator.evaluate(claim_with_dates, as_of=date(2024, 7, 1)).to_json() == as_text
    assert as_text["decision_date"] == "2024-07-01"
    with pytest.raises(ValueError, match="'2024-7-1' is not a calendar date written YYYY-MM-DD"):
        evaluator.evaluate(claim, as_of="2024-7-1")


def test_json_output_is_byte_identical_run_after_run(capsys):
    outputs = {run(capsys, "evaluate", *EXAMPLES, "--policy", POLICY, "--format", "json")[1] for _ in range(2)}
    assert len(outputs) == 1


@pytest.mark.parametrize("as_of", [20240701, "2024-07-01T00:00:00"])
def test_python_api_refuses_a_decision_date_that_is_not_a_date(as_of):
    from datetime import datetime

    evaluator = Engine.load(ROOT / "policies").evaluator(POLICY, explain=False)
    with pytest.raises(ValueError):
        evaluator.evaluate(example_claim(), as_of=as_of)
    with pytest.raises(ValueError, match="as_of must be a date or its YYYY-MM-DD text, not datetime"):
        evaluator.evaluate(example_claim(), as_of=datetime(2024, 7, 1))


@pytest.mark.parametrize("policy", [None, 5, ("jinhua", "2024-05-01")])
def test_python_api_names_a_policy_given_as_something_other_than_text(policy):
    engine = Engine.load(ROOT / "tests" / "fixtures" / "store", ROOT / "tests" / "fixtures" / "schemas")
    with pytest.raises(TypeError, match=f"a policy is named by its ID or ID@VERSION text, not {type(policy).__name__}"):
        engine.evaluator(policy)


def test_a_pin_left_empty_is_refused_not_read_as_no_pin(capsys, monkeypatch):
    """`ID@` (say, a template whose version came out empty) would otherwise decide by the version in force."""
    from engine.api import PolicyNotFound

    store = (ROOT / "tests" / "fixtures" / "store", ROOT / "tests" / "fixtures" / "schemas")
    with pytest.raises(PolicyNotFound, match=f"'{POLICY}@' names no version after its @"):
        Engine.load(*store).evaluator(POLICY + "@")
    code, out, err = invoke(capsys, "--policies", store[0], "--schemas", store[1], "evaluate", EXAMPLES[0],
                            "--policy", POLICY + "@")
    assert code == 64 and f"'{POLICY}@' names no version after its @" in err and not out
    code, out, err = invoke(capsys, "--policies", store[0], "--schemas", store[1], "evaluate", EXAMPLES[0],
                            "--policy", POLICY + "@", env={"POLICY_LANG": "zh"}, monkeypatch=monkeypatch)
    assert code == 64 and "的 @ 之后没有写版本" in err


@pytest.mark.parametrize("command", [
    ["diff", "zhejiang/digital-engineer", "--from", "@", "--to", "2025-03-01"],
    ["diff", "zhejiang/digital-engineer", "--from", "2023-09-16", "--to", "@"],
    ["impact", POLICY, str(ROOT / "tests" / "fixtures" / "claims.jsonl"), "--from", "2025-02-28", "--to", "@"],
])
def test_a_what_if_side_left_as_a_bare_at_is_a_usage_error(capsys, command):
    """`--from @` (a version left out) is refused as `ID@` is, not an internal error."""
    store = (ROOT / "tests" / "fixtures" / "store", ROOT / "tests" / "fixtures" / "schemas")
    code, out, err = invoke(capsys, "--policies", store[0], "--schemas", store[1], *command)
    assert code == 64 and "names no version after its @" in err and "internal error" not in err


BOM = b"\xef\xbb\xbf"
FIXTURE_LINES = (ROOT / "tests" / "fixtures" / "claims.jsonl").read_bytes().splitlines(keepends=True)[:4]


def _summaries(out: str) -> list:
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.parametrize("engine_flag", ["--per-claim", "--columnar"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_json_lines_file_that_starts_with_a_byte_order_mark_loses_no_claim(capsys, tmp_path, engine_flag, jobs):
    """Some exporters write UTF-8 with a BOM: the first claim is read as if it had none, in every way of reading."""
    store = ("--policies", ROOT / "tests" / "fixtures" / "store", "--schemas", ROOT / "tests" / "fixtures" / "schemas")
    plain, marked = tmp_path / "plain.jsonl", tmp_path / "marked.jsonl"
    plain.write_bytes(b"".join(FIXTURE_LINES))
    marked.write_bytes(BOM + b"".join(FIXTURE_LINES))
    runs = [invoke(capsys, *store, "evaluate", path, "--policy", POLICY, "--format", "json", "--summary",
                   engine_flag, "--jobs", jobs) for path in (plain, marked)]
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1] and len(_summaries(runs[1][1])) == 4
    assert "claim.json" not in runs[1][1]


@pytest.mark.parametrize("before", [b"", b"\n", b"\r\n  \n", BOM, BOM + b"\n",
                                    b'{"claim_id":"TRUNCATED",\n'])
def test_json_lines_on_standard_input_are_read_line_by_line_whatever_comes_first(capsys, monkeypatch, before):
    """A blank line, a byte order mark or a damaged first line must not make the stream one document that fails
    whole: every good claim is decided, and only a damaged line is an error, at its own line."""
    store = ("--policies", ROOT / "tests" / "fixtures" / "store", "--schemas", ROOT / "tests" / "fixtures" / "schemas")
    code, out, err = invoke(capsys, *store, "evaluate", "-", "--policy", POLICY, "--format", "json", "--summary",
                            stdin=before + b"".join(FIXTURE_LINES), monkeypatch=monkeypatch)
    results = _summaries(out)
    damaged = before.startswith(b"{")
    assert len(results) == 4 + damaged
    assert [r["claim_id"] for r in results[damaged:]] == [json.loads(line)["claim_id"] for line in FIXTURE_LINES]
    if damaged:
        assert results[0]["error"]["code"] == "claim.json" and results[0]["error"]["location"].startswith("<stdin>:1")
    else:
        lines_before = before.removeprefix(BOM).count(b"\n")
        assert all("error" not in r or not r["error"]["location"].startswith("<stdin>") or
                   r["error"]["location"].startswith(f"<stdin>:{lines_before + 1 + i}") for i, r in enumerate(results))


def test_a_pretty_printed_claim_on_standard_input_is_still_one_document(capsys, monkeypatch):
    claim = json.loads(FIXTURE_LINES[0])
    store = ("--policies", ROOT / "tests" / "fixtures" / "store", "--schemas", ROOT / "tests" / "fixtures" / "schemas")
    code, out, err = invoke(capsys, *store, "evaluate", "-", "--policy", POLICY, "--format", "json", "--summary",
                            stdin=json.dumps(claim, indent=2, ensure_ascii=False).encode(), monkeypatch=monkeypatch)
    assert code == 0 and [r["claim_id"] for r in _summaries(out)] == [claim["claim_id"]]


def test_standard_input_named_twice_is_a_usage_error(capsys, monkeypatch):
    """The second `-` would find the stream read to its end and decide an empty claim."""
    store = ("--policies", ROOT / "tests" / "fixtures" / "store", "--schemas", ROOT / "tests" / "fixtures" / "schemas")
    code, out, err = invoke(capsys, *store, "evaluate", "-", "-", "--policy", POLICY, stdin=FIXTURE_LINES[0],
                            monkeypatch=monkeypatch)
    assert code == 64 and "standard input (-) is given more than once" in err and not out


def test_a_first_claim_too_long_for_a_line_on_standard_input_is_one_error_not_the_whole_stream(capsys, monkeypatch):
    store = ("--policies", ROOT / "tests" / "fixtures" / "store", "--schemas", ROOT / "tests" / "fixtures" / "schemas")
    huge = b'{"claim_id": "HUGE", "x": "' + b"x" * 10_000 + b'"}\n'
    code, out, err = invoke(capsys, *store, "evaluate", "-", "--policy", POLICY, "--format", "json", "--summary",
                            stdin=BOM + huge + b"".join(FIXTURE_LINES), monkeypatch=monkeypatch,
                            env={"POLICY_LIMIT_CLAIM_LINE_BYTES": "4096"})
    results = _summaries(out)
    assert results[0]["error"]["code"] == "claim.too_large" and results[0]["error"]["location"] == "<stdin>:1"
    assert [r["claim_id"] for r in results[1:]] == [json.loads(line)["claim_id"] for line in FIXTURE_LINES]


@pytest.mark.parametrize("command", [
    ["list"], ["check"], ["test"], ["show", POLICY], ["timeline", POLICY],
    ["evaluate", "CLAIM", "--policy", POLICY], ["eval", "1 + 1", "--policy", POLICY],
    ["grant", "CLAIM", "--policy", POLICY, "--database", "DATABASE"], ["serve", "--database", "DATABASE"], ["lsp"],
])
@pytest.mark.parametrize("through", ["--policies", "POLICY_DIR"])
def test_a_policies_folder_that_is_not_there_is_a_wrong_command_line(capsys, monkeypatch, tmp_path, command,
                                                                       through):
    """A mistyped --policies (or $POLICY_DIR) is named, exit 64, before anything is read or created: not a broken
    store to `policy check`, and never an empty database or a service answering 503 to everything."""
    missing, database = tmp_path / "polcies", tmp_path / "log.sqlite3"
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps(example_claim()), encoding="utf-8")
    words = [{"CLAIM": str(claim), "DATABASE": f"sqlite:///{database}"}.get(w, w) for w in command]
    if through == "POLICY_DIR":
        monkeypatch.chdir(tmp_path)
        code, _, err = invoke(capsys, "--lang", "zh", *words, env={"POLICY_DIR": str(missing)},
                              monkeypatch=monkeypatch)
        assert code == 64 and f"政策目录 {missing}（来自 $POLICY_DIR）不存在或不是目录" in err
    else:
        code, _, err = invoke(capsys, "--policies", missing, *words)
        assert code == 64 and f"the policies folder {missing} (from --policies) does not exist" in err
    assert not database.exists() and not missing.exists()
