"""Hostile and faulty input (issue 7): every item of the corpus under tests/hostile/ gets a clear error that
names the file (and line where there is one) and says what is wrong, in bounded time, without a traceback;
a bad claim in a batch never loses the others; output is deterministic.

Policy items are folders of one file, run as `policy --policies tests/hostile/policies/NAME --schemas schemas
check`; claim items are run with `policy evaluate --policy jinhua/digital-engineer-subsidy`. Big inputs (deep
nesting, oversized files, a 100,000-grant history) are generated here into tmp_path, not committed.

Tests marked xfail(strict=True, reason="bug: ...") show engine bugs found by this corpus; each says what
should happen. When the engine is fixed they start passing and the mark must go.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from clirun import run_policy

from engine.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "hostile"
POLICIES = CORPUS / "policies"
CLAIMS = CORPUS / "claims"
POLICY = "jinhua/digital-engineer-subsidy"
GOOD = CLAIMS / "good.json"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    # Paths print relative to the working folder (the caches are the run's own: tests/conftest.py).
    monkeypatch.chdir(ROOT)


# -------------------------------------------------------------------------------------------------
# Helpers


def corpus_file(name: str) -> Path:
    """The one policy file of a corpus folder (at ID/VERSION.yaml inside it, as a store asks)."""
    return next((POLICIES / name).rglob("*.yaml"))


def rel(path: Path) -> str:
    """A corpus path as the engine prints it (relative to the working folder, ROOT)."""
    return str(path.relative_to(ROOT))


def run(capsys, *args, stdin: bytes | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*args, env: dict | None = None, stdin: bytes | None = None, timeout: float = 60,
                cwd: Path = ROOT) -> tuple[int, bytes, str]:
    """The command line in its own process (for limits set by environment, --jobs, determinism, hangs), its caches
    in the run's folder (tests/conftest.py)."""
    environment = {**os.environ, **(env or {})}
    environment.pop("POLICY_DEBUG", None)
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=cwd, env=environment,
                          input=stdin, capture_output=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def run_here(*args, env: dict) -> tuple[int, bytes, str]:
    """As run_process, in the test's own process: for limits set by environment, which the command reads on every
    run (that a `policy` process reads them when it starts: test_a_bad_limit_setting_is_a_usage_error)."""
    done = run_policy(*args, env={**env, "POLICY_DEBUG": None}, cwd=ROOT)
    return done.returncode, done.stdout, done.stderr.decode("utf-8", "replace")


def assert_clean(*texts: str) -> None:
    text = "\n".join(texts)
    assert "Traceback" not in text, text[-3000:]
    assert "internal error" not in text, text[-3000:]


def check_folder(capsys, folder: Path) -> tuple[int, str, str]:
    return run(capsys, "--policies", rel(folder), "--schemas", "schemas", "check")


def diagnostic(out: str, code: str) -> str:
    """The first rendered diagnostic line with this code."""
    for line in out.splitlines():
        if f"error[{code}]" in line:
            return line
    raise AssertionError(f"no error[{code}] in:\n{out[:3000]}")


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first occurrence of needle in a corpus file (expected positions are never copied
    from what the engine prints)."""
    text = path.read_bytes().decode("utf-8", "replace")
    return text[: text.index(needle)].count("\n") + 1


def evaluate_json(capsys, *claims, extra=()) -> tuple[int, list[dict], str]:
    code, out, err = run(capsys, "evaluate", *claims, "--policy", POLICY, "--format", "json", *extra)
    assert_clean(out, err)
    return code, [json.loads(line) for line in out.splitlines()], err


def good_claim(**changes) -> dict:
    claim = json.loads(GOOD.read_text(encoding="utf-8"))
    claim.update(changes)
    return claim


# -------------------------------------------------------------------------------------------------
# Policy files: each hostile file is one error naming the file, the line and what is wrong; exit 1.

# (corpus folder, diagnostic code, text on the offending line or None when the file has no line, message words)
POLICY_ITEMS = [
    ("alias-bomb", "input.too_many_nodes", None, "expands to more than 200000 values"),
    ("python-object-apply", "yaml.tag", "!!python/object/apply:os.system",
     "python/object/apply:os.system' is not allowed"),
    ("duplicate-keys", "yaml.duplicate_key", "title: A second title", "duplicate key 'title': first given on line 3"),
    ("empty", "input.empty", None, "the file is empty"),
    ("comments-only", "input.empty", None, "no YAML document"),
    ("list-not-mapping", "schema.type", "- policy: hostile/list", "must be a mapping"),
    ("not-utf8", "input.encoding", "    description:", "not UTF-8"),
    ("two-documents", "yaml.syntax", "---", "another document"),
    ("malformed", "yaml.syntax", "issuers: [Test office", "a [ opened here is not closed on its line"),
    ("merge-key", "yaml.value", "<<: *base", "'<<'"),
    ("number-too-large", "syntax.number_too_large", "11111111111111111111111111111111111111111", "more than 40 digits"),
    ("expression-too-deep", "syntax.too_deep", "[[[[", "nests deeper than 64 levels"),
    ("expression-too-many-parts", "syntax.too_large", "length([1, 1", "more than 4000 parts"),
    ("impossible-date", "syntax.date", "2023-02-29", "2023-02-29 is not a calendar date"),
    ("cost-nested-comprehension", "cost.too_high", "count(g in history", "over the limit of 50,000,000"),
    ("cost-list-literals", "cost.too_high", "count(a in [0, 1", "over the limit of 50,000,000"),
]


@pytest.mark.parametrize("name, code, needle, words", POLICY_ITEMS, ids=[i[0] for i in POLICY_ITEMS])
def test_hostile_policy_file_is_one_clear_error(capsys, name, code, needle, words):
    path = corpus_file(name)
    rc, out, err = check_folder(capsys, path.parent)
    assert_clean(out, err)
    line = diagnostic(out, code)
    if needle is None:
        assert line.startswith(rel(path) + ":") or line.startswith(rel(path) + " ")
    else:
        assert line.startswith(f"{rel(path)}:{line_of(path, needle)}:"), line
    assert words in line, line
    assert rc == 1


def test_object_constructing_tags_are_each_reported_on_their_line(capsys):
    path = corpus_file("object-tags")
    rc, out, err = check_folder(capsys, path.parent)
    assert_clean(out, err)
    for tag in ["!!python/name:os.system", "!!python/object/new:builtins.str", "!!binary", "!!set", "!!timestamp",
                "!custom"]:
        assert re.search(rf"^{re.escape(rel(path))}:{line_of(path, tag)}:\d+: error\[yaml.tag\]: the tag .* is not "
                         "allowed: only plain data is read", out, re.M), (tag, out)
    assert rc == 1


def test_yaml_tags_never_run_code(capsys, tmp_path):
    marker = tmp_path / "pwned"
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "p.yaml").write_text(
        f'policy: !!python/object/apply:os.system ["touch {marker}"]\n'
        f'version: !!python/object/apply:subprocess.check_output [["touch", "{marker}"]]\n'
        f'title: !!python/object/new:os.system ["touch {marker}"]\n', encoding="utf-8")
    claim = tmp_path / "claim.yaml"
    claim.write_text(f'claim_id: !!python/object/apply:os.system ["touch {marker}"]\n', encoding="utf-8")
    rc, out, err = run(capsys, "--policies", folder, "check")
    assert_clean(out, err)
    assert rc == 1 and out.count("error[yaml.tag]") == 3
    rc, out, err = run(capsys, "evaluate", claim, "--policy", POLICY, "--format", "json")
    assert_clean(out, err)
    assert rc == 2 and json.loads(out)["error"]["code"] == "claim.tag"
    assert not marker.exists()


def test_python_object_apply_from_the_corpus_prints_nothing_of_its_own():
    # os.system would print "pwned" on a line of its own; the diagnostic only quotes the source line.
    rc, stdout, err = run_process("--policies", rel(POLICIES / "python-object-apply"), "check")
    out = stdout.decode()
    assert rc == 1 and "yaml.tag" in out
    assert "pwned" not in [line.strip() for line in (out + err).splitlines()]


def test_deep_flow_nesting_in_a_policy_file(capsys, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    path = folder / "deep.yaml"
    path.write_text("policy: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    rc, out, err = run(capsys, "--policies", folder, "check")
    assert_clean(out, err)
    line = diagnostic(out, "input.too_deep")
    assert line.startswith(str(path)) and "nests deeper than 64 levels" in line
    assert rc == 1


def test_deep_flow_mappings_in_a_policy_file(capsys, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    path = folder / "deep.yaml"
    path.write_text("policy: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n", encoding="utf-8")
    rc, out, err = run(capsys, "--policies", folder, "check")
    assert_clean(out, err)
    assert diagnostic(out, "input.too_deep").startswith(str(path))
    assert rc == 1


def test_deep_block_nesting_names_the_line(capsys, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    path = folder / "deep.yaml"
    path.write_text("".join("  " * i + "k:\n" for i in range(200)), encoding="utf-8")
    rc, out, err = run(capsys, "--policies", folder, "check")
    assert_clean(out, err)
    line = diagnostic(out, "input.too_deep")
    match = re.match(rf"{re.escape(str(path))}:(\d+):", line)
    assert match and 60 <= int(match.group(1)) <= 70, line  # where the 64th level begins
    assert rc == 1


def test_a_policy_file_over_the_size_limit(capsys, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    path = folder / "big.yaml"
    limit = 4 * 1024 * 1024
    path.write_bytes(b"# " + b"x" * (limit - 2) + b"\n")
    rc, out, err = run(capsys, "--policies", folder, "check")
    assert_clean(out, err)
    line = diagnostic(out, "input.too_large")
    assert line.startswith(str(path)) and f"{limit + 1} bytes; the limit is {limit}" in line
    assert rc == 1


def test_a_policy_file_just_under_the_size_limit_is_read(capsys, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "big.yaml").write_bytes(b"# " + b"x" * (4 * 1024 * 1024 - 3) + b"\n")
    rc, out, err = run(capsys, "--policies", folder, "check")
    assert_clean(out, err)
    assert "input.too_large" not in out and "input.empty" in out


def test_an_expression_over_the_length_limit(capsys, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    text = (corpus_file("number-too-large")).read_text(encoding="utf-8")
    long_expression = " + ".join(["1"] * 5_001)  # 20,001 characters
    path = folder / "long.yaml"
    path.write_text(text.replace("11111111111111111111111111111111111111111 + 1", long_expression), encoding="utf-8")
    rc, out, err = run(capsys, "--policies", folder, "check")
    assert_clean(out, err)
    line = diagnostic(out, "syntax.too_long")
    assert line.startswith(f"{path}:{line_of(path, long_expression[:20])}:")
    assert "20001 characters long; the limit is 20000" in line
    assert rc == 1


def test_a_hostile_file_does_not_hide_the_others(capsys, tmp_path):
    # One bad file among good ones: the bad one is reported, the others load and are counted.
    folder = tmp_path / "policies"
    folder.mkdir()
    for name in ["alias-bomb", "not-utf8", "empty", "python-object-apply"]:
        (folder / f"{name}.yaml").write_bytes((corpus_file(name)).read_bytes())
    (folder / "fine.yaml").write_bytes((corpus_file("number-too-large")).read_bytes().replace(
        b"11111111111111111111111111111111111111111 + 1", b"'1'"))
    rc, out, err = run(capsys, "--policies", folder, "check")
    assert_clean(out, err)
    for code in ["input.too_many_nodes", "input.encoding", "input.empty", "yaml.tag"]:
        diagnostic(out, code)
    assert "in 1 policy version" in err
    assert rc == 1


def test_control_character_in_a_policy_file(capsys):
    path = corpus_file("control-character")
    rc, out, err = check_folder(capsys, POLICIES / "control-character")
    assert_clean(out, err)
    line = next(line for line in out.splitlines() if "error[" in line)
    assert line.startswith(f"{rel(path)}:{line_of(path, 'bell')}:")
    assert rc == 1


def test_a_long_chain_of_definitions(capsys):
    folder = POLICIES / "definition-chain"
    rc, out, err = check_folder(capsys, folder)
    assert_clean(out, err)
    assert rc in (0, 1)
    if rc == 1:  # a limit on chains is fine, if it says so and names the file
        assert rel(corpus_file("definition-chain")) in out
    else:
        rc, out, err = run(capsys, "--policies", rel(folder), "--schemas", "schemas", "evaluate", GOOD,
                           "--policy", "hostile/definition-chain", "--format", "json")
        assert_clean(out, err)
        assert json.loads(out)["outputs"]["total"] == 80 + 200


def test_an_explicit_tag_on_a_value_it_cannot_hold(capsys):
    path = corpus_file("explicit-int-tag")
    rc, out, err = check_folder(capsys, path.parent)
    assert_clean(out, err)
    assert diagnostic(out, "yaml.value").startswith(f"{rel(path)}:{line_of(path, 'version: !!int')}:")
    assert rc == 1


def test_a_deeply_nested_input_schema(capsys, tmp_path):
    (tmp_path / "policies").mkdir()
    (tmp_path / "schemas").mkdir()
    policy = (corpus_file("int-times-decimal")).read_text(encoding="utf-8")
    (tmp_path / "policies" / "p.yaml").write_text(policy.replace("training-claim.schema.json", "deep.schema.json"),
                                                  encoding="utf-8")
    (tmp_path / "schemas" / "deep.schema.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    rc, out, err = run(capsys, "--policies", tmp_path / "policies", "check")
    assert_clean(out, err)
    assert "deep.schema.json" in out
    assert rc == 1


# -------------------------------------------------------------------------------------------------
# Expressions that pass the checker but cost too much, or produce values the output cannot hold.


def _evaluate_with(folder: str, *claims, timeout: float = 20):
    return run_process("--policies", rel(POLICIES / folder), "--schemas", "schemas", "evaluate", *claims,
                       "--policy", f"hostile/{folder}", "--format", "json", timeout=timeout)


def _evaluate_in_process(capsys, folder: str, *claims, extra=("--format", "json")) -> tuple[int, str, str]:
    """`_evaluate_with` in this process (the same main function), for the items that cannot hang."""
    return run(capsys, "--policies", rel(POLICIES / folder), "--schemas", "schemas", "evaluate", *claims,
               "--policy", f"hostile/{folder}", *extra)


def test_repeated_squaring_is_stopped():
    try:  # a guard against running for ever, not a measure of speed
        rc, out, err = _evaluate_with("repeated-squaring", rel(GOOD), timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("evaluation did not stop")
    assert_clean(out.decode(), err)
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["error"]["message"] == "rule r (clause 一) could not be decided: a number in x * x grew past 2^63"
    assert rc == 4


def test_an_integer_beyond_64_bits_in_the_output(capsys):
    rc, out, err = _evaluate_in_process(capsys, "int-beyond-64-bits", rel(GOOD), rel(GOOD))
    assert_clean(out, err)
    assert len(out.splitlines()) == 2
    assert rc in (0, 4)


def test_decimal_overflow_in_an_output_is_reported_beside_the_decision(capsys):
    rc, out, err = _evaluate_in_process(capsys, "decimal-overflow", rel(GOOD), rel(GOOD))
    assert_clean(out, err)
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert line["eligible"] is True and line["outputs"]["big"] is None
        assert line["problems"] == [{"output": "big", "code": "evaluation.overflow",
                                     "message": "a number in x * x grew past 10^60"}]
    assert rc == 0


def test_text_shows_an_output_that_could_not_be_computed_beside_the_decision(capsys):
    rc, out, err = _evaluate_in_process(capsys, "decimal-overflow", rel(GOOD), extra=())
    assert_clean(out, err)
    assert "ELIGIBLE" in out
    assert ("Could not be computed (the decision above stands):\n"
            "  ! output big: [evaluation.overflow] a number in x * x grew past 10^60\n") in out
    assert rc == 0


def test_a_float_where_an_integer_is_expected(capsys):
    rc, out, err = _evaluate_in_process(capsys, "int-times-decimal", rel(GOOD), rel(CLAIMS / "float-hours.json"),
                                        rel(GOOD))
    assert_clean(out, err)
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3
    assert lines[0]["outputs"]["weighted_hours"] == "120" == lines[2]["outputs"]["weighted_hours"]
    assert lines[1]["claim_id"] == "HOSTILE-FLOAT" and lines[1]["outputs"]["weighted_hours"] == "120"


def test_the_float_claim_under_the_real_policy_reads_the_number_of_hours(capsys):
    code, lines, _ = evaluate_json(capsys, CLAIMS / "float-hours.json")
    assert len(lines) == 1 and lines[0]["claim_id"] == "HOSTILE-FLOAT"
    assert code in (0, 2)


# -------------------------------------------------------------------------------------------------
# Claims: every problem is one error line in the claim's place, naming the file (and line) and the fact.

# (corpus file, error code, fact path or None, words in the message, line text when the file has lines)
CLAIM_ITEMS = [
    ("python-object.yaml", "claim.tag", None, "python/object/apply:os.system' is not allowed", "!!python"),
    ("duplicate-key.yaml", "claim.duplicate_key", None, "duplicate key 'claim_id': first given on line 1",
     "claim_id: HOSTILE-DUP-2"),
    ("empty.json", "claim.empty", None, "the file is empty", None),
    ("empty.yaml", "claim.empty", None, "no YAML document", None),
    ("not-utf8.json", "claim.encoding", None, "not UTF-8", '"institution"'),
    ("list-not-mapping.yaml", "claim.invalid", "applicant", "applicant: expected a mapping, found a list", None),
    ("top-level-scalar.json", "claim.invalid", "(the whole document)", "expected a mapping, found the text", None),
    ("negative-hours.json", "claim.invalid", "training.hours", "training.hours: must be at least 0, found -5", None),
    ("impossible-date.json", "claim.invalid", "applied_on", "'2023-02-29' is not a calendar date", None),
    ("unknown-keys.json", "claim.invalid", "applicant.salary", "unknown key 'salary'", None),
    # Python's `$` matches before a final line break; JSON Schema's (ECMA-262) does not
    ("region-newline.json", "claim.invalid", "applicant.hukou_region",
     "applicant.hukou_region: the text '330702\\n' does not have the required form", None),
    ("year-zero.json", "claim.invalid", "applicant.birth_date", "'0000-01-01' is not a calendar date", None),
]


@pytest.mark.parametrize("name, code, path, words, needle", CLAIM_ITEMS, ids=[i[0] for i in CLAIM_ITEMS])
def test_hostile_claim_is_one_clear_error(capsys, name, code, path, words, needle):
    file = CLAIMS / name
    rc, lines, err = evaluate_json(capsys, rel(file))
    assert len(lines) == 1
    error = lines[0]["error"]
    assert error["code"] == code
    assert words in error["message"]
    if path is not None:
        assert error["path"] == path
    location = error["location"]
    assert location.startswith(rel(file))
    if needle is not None:
        assert location.startswith(f"{rel(file)}:{line_of(file, needle)}:"), location
    assert "1 invalid" in err
    assert rc == 2


def test_every_wrong_type_is_reported_with_its_path(capsys):
    rc, (line,), _ = evaluate_json(capsys, CLAIMS / "wrong-types.json")
    error = line["error"]
    assert line["claim_id"] == "HOSTILE-TYPES" and error["code"] == "claim.invalid"
    problems = {p["path"]: p["message"] for p in error["problems"]}
    assert problems["training.hours"] == "expected a whole number, found the text '80'"
    assert problems["applicant.employed"] == "expected true or false, found the text 'yes'"
    assert problems["level_certificate.issued_on"] == "expected text, found the number 20240401"
    assert rc == 2


def test_unknown_keys_at_every_level_are_reported(capsys):
    rc, (line,), _ = evaluate_json(capsys, CLAIMS / "unknown-keys.json")
    paths = {p["path"] for p in line["error"]["problems"]}
    assert {"applicant.salary", "is_admin"} <= paths
    assert rc == 2


def test_text_format_names_the_file_and_the_problem(capsys):
    rc, out, err = run(capsys, "evaluate", rel(CLAIMS / "negative-hours.json"), rel(CLAIMS / "not-utf8.json"),
                       "--policy", POLICY)
    assert_clean(out, err)
    assert "HOSTILE-NEG" in out and "training.hours: must be at least 0, found -5" in out
    assert rel(CLAIMS / "not-utf8.json") in out and "not UTF-8" in out
    assert rc == 2


@pytest.mark.parametrize("kind", ["array", "object", "yaml"])
def test_very_deep_claim_nesting(capsys, tmp_path, kind):
    if kind == "array":
        path, text = tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000
    elif kind == "object":
        path, text = tmp_path / "deep.json", '{"a":' * 100_000 + "1" + "}" * 100_000
    else:
        path, text = tmp_path / "deep.yaml", "claim_id: " + "[" * 100_000 + "]" * 100_000
    path.write_text(text, encoding="utf-8")
    rc, (line, good), _ = evaluate_json(capsys, path, GOOD, extra=["--summary"])
    assert good["eligible"] is True
    assert line["error"]["code"] == "claim.too_deep"
    assert "nests deeper than 32 levels" in line["error"]["message"]
    assert line["error"]["location"].startswith(str(path))
    assert rc == 2


def test_deep_nesting_in_a_json_lines_claim(capsys, tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n" + GOOD.read_bytes().replace(b"\n", b"") + b"\n")
    rc, lines, _ = evaluate_json(capsys, path)
    assert len(lines) == 2 and lines[1]["eligible"] is True
    assert lines[0]["error"]["code"] in ("claim.json", "claim.too_deep")
    assert "depth" in lines[0]["error"]["message"] or "deep" in lines[0]["error"]["message"]
    assert lines[0]["error"]["location"] == f"{path}:1"
    assert rc == 2


def test_a_huge_history_is_still_decided(capsys, tmp_path):
    claim = good_claim(claim_id="HOSTILE-HISTORY")
    claim["history"] = [{"occupation_code": "2-02-10-11", "level": "junior", "granted_on": "2023-01-01"}] * 100_000
    path = tmp_path / "history.json"
    path.write_text(json.dumps(claim), encoding="utf-8")
    rc, (line,), _ = evaluate_json(capsys, path, extra=["--summary"])
    assert line["claim_id"] == "HOSTILE-HISTORY" and line["eligible"] is True and line["amount"] == "2200"
    assert rc == 0


def test_an_over_long_value_is_not_echoed_in_full(capsys, tmp_path):
    path = tmp_path / "long-id.json"
    path.write_text(json.dumps(good_claim(claim_id="x" * 100_000)), encoding="utf-8")
    rc, (line,), _ = evaluate_json(capsys, path)
    assert line["error"]["path"] == "claim_id"
    assert len(line["error"]["message"]) < 1000
    assert "64" in line["error"]["message"]  # the limit, not the value
    assert rc == 2


def test_duplicate_keys_in_a_json_claim(capsys):
    rc, (line,), _ = evaluate_json(capsys, CLAIMS / "duplicate-key.json")
    assert "error" in line and "duplicate" in line["error"]["message"]
    assert rc == 2


def _items_text(items: list[str], kind: str) -> str:
    if kind == "json":
        return "[\n" + ",\n".join(items) + "\n]\n"
    return "".join(f"- {item}\n" for item in items)  # a YAML flow mapping per item: JSON is YAML too


_ONE_BAD_ITEM = [
    ('{"claim_id": "X", "claim_id": "Y"}', "claim.duplicate_key"),
    ('{"claim_id": "X", "n": 1' + "0" * 45 + "}", None),  # a number too long: claim.number, claim.value in YAML
    ('{"claim_id": "X", "n": "\\ud800"}', "claim.encoding"),  # half of a UTF-16 pair: no text
]


@pytest.mark.parametrize("kind, bad, code", [
    *[("json", bad, code) for bad, code in _ONE_BAD_ITEM], *[("yaml", bad, code) for bad, code in _ONE_BAD_ITEM],
    # as deep as no claim may be; YAML refuses such flow nesting for the whole file before reading it (its reader
    # is slow on it), so only JSON can say it of the one item
    ("json", '{"claim_id": "X", "n": ' + "[" * 40 + "]" * 40 + "}", "claim.too_deep"),
])
def test_one_bad_claim_in_a_list_loses_none_of_the_others(capsys, tmp_path, kind, bad, code):
    """A document listing claims is a batch: what is refused inside one item refuses that item only."""
    good = json.dumps(good_claim())
    path = tmp_path / f"claims.{kind}"
    path.write_text(_items_text([good, bad, good], kind), encoding="utf-8")
    rc, lines, _ = evaluate_json(capsys, path, extra=["--summary"])
    assert [line.get("eligible") for line in lines] == [True, None, True]
    error = lines[1]["error"]
    assert error["code"] == (code or ("claim.number" if kind == "json" else "claim.value"))
    # the item of a JSON list by its index; in YAML, the line and column of what is refused (the item is line 2)
    assert error["location"] == f"{path}[1]" if kind == "json" else error["location"].startswith(f"{path}:2:")
    assert rc == 2


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_a_list_that_does_not_parse_is_one_error(capsys, tmp_path, kind):
    path = tmp_path / f"claims.{kind}"
    path.write_text(_items_text([json.dumps(good_claim()), '{"claim_id": '], kind), encoding="utf-8")
    rc, lines, _ = evaluate_json(capsys, path, extra=["--summary"])
    assert len(lines) == 1 and lines[0]["error"]["code"] in ("claim.json", "claim.syntax")
    assert rc == 2


def test_a_refused_value_in_a_single_claim_document_refuses_the_file(capsys, tmp_path):
    path = tmp_path / "claim.json"
    path.write_text('{"claim_id": "X", "applied_on": "2024-06-01", "applied_on": "2024-06-02"}', encoding="utf-8")
    rc, (line,), _ = evaluate_json(capsys, path)
    assert line["error"]["code"] == "claim.duplicate_key" and line["error"]["location"] == str(path)
    assert rc == 2


def test_control_character_in_a_claim_loses_nothing(capsys):
    rc, lines, _ = evaluate_json(capsys, GOOD, rel(CLAIMS / "control-character.yaml"), GOOD, extra=["--summary"])
    assert len(lines) == 3 and lines[0]["eligible"] and lines[2]["eligible"]
    assert lines[1]["error"]["location"].startswith(rel(CLAIMS / "control-character.yaml"))
    assert rc == 2


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_lone_surrogate_loses_nothing(capsys, fmt):
    rc, out, err = run(capsys, "evaluate", GOOD, CLAIMS / "lone-surrogate.json", GOOD, "--policy", POLICY,
                       "--format", fmt, "--summary")
    assert_clean(out, err)
    assert out.count("HOSTILE-GOOD-1") == 2
    assert rc in (0, 2)


def test_an_explicit_tag_in_a_claim_loses_nothing(capsys):
    bad = rel(CLAIMS / "explicit-bool-tag.yaml")
    rc, lines, _ = evaluate_json(capsys, GOOD, bad, GOOD, extra=["--summary"])
    assert len(lines) == 3 and lines[0]["eligible"] and lines[2]["eligible"]
    bool_line = line_of(CLAIMS / "explicit-bool-tag.yaml", "employed: !!bool")
    assert lines[1]["error"]["location"].startswith(f"{bad}:{bool_line}:")
    assert rc == 2


def test_a_missing_claim_file_among_good_ones(capsys, tmp_path):
    missing = tmp_path / "missing.json"
    rc, lines, _ = evaluate_json(capsys, GOOD, missing, GOOD, extra=["--summary"])
    assert [line.get("eligible") for line in lines] == [True, None, True]
    assert lines[1]["error"]["code"] == "claim.unreadable" and str(missing) in lines[1]["error"]["message"]
    assert rc == 2


def test_a_claim_line_over_the_line_limit(capsys, tmp_path):
    good = GOOD.read_bytes().replace(b"\n", b"")
    path = tmp_path / "long.jsonl"
    path.write_bytes(good + b"\n" + b'{"claim_id": "' + b"x" * (1024 * 1024) + b'"}\n' + good + b"\n")
    rc, lines, _ = evaluate_json(capsys, path, extra=["--summary"])
    assert [line.get("eligible") for line in lines] == [True, None, True]
    assert lines[1]["error"] == {"code": "claim.too_large", "location": f"{path}:2", "policy_id": POLICY,
                                 "message": "the line is longer than 1048576 bytes (POLICY_LIMIT_CLAIM_LINE_BYTES)"}
    assert rc == 2


def test_a_claim_file_over_the_size_limit(tmp_path):
    small, big = tmp_path / "small.yaml", tmp_path / "big.yaml"
    small.write_text(GOOD.read_text(encoding="utf-8"), encoding="utf-8")  # under 1000 bytes
    big.write_text(GOOD.read_text(encoding="utf-8") + "#" * 1000 + "\n", encoding="utf-8")
    rc, out, err = run_here("evaluate", small, big, small, "--policy", POLICY, "--format", "json", "--summary",
                            env={"POLICY_LIMIT_CLAIM_FILE_BYTES": "1000"})
    assert_clean(out.decode(), err)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line.get("eligible") for line in lines] == [True, None, True]
    assert lines[1]["error"] == {"code": "claim.too_large", "location": str(big), "policy_id": POLICY,
                                 "message": "the file is larger than 1000 bytes (POLICY_LIMIT_CLAIM_FILE_BYTES)"}
    assert rc == 2


def test_a_json_claim_file_over_the_size_limit():
    rc, out, err = run_here("evaluate", GOOD, "--policy", POLICY, "--format", "json", "--summary",
                            env={"POLICY_LIMIT_CLAIM_FILE_BYTES": "500"})
    assert_clean(out.decode(), err)
    assert json.loads(out)["error"]["code"] == "claim.too_large"
    assert rc == 2


def test_a_bad_limit_setting_is_a_usage_error():
    rc, out, err = run_process("check", env={"POLICY_LIMIT_CLAIM_DEPTH": "deep"})
    assert rc == 64
    assert "POLICY_LIMIT_CLAIM_DEPTH must be a positive whole number, not 'deep'" in err
    assert_clean(out.decode(), err)


@pytest.mark.parametrize("limit, value", [("POLICY_LIMIT_EXPRESSION_LENGTH", "100"),
                                          ("POLICY_LIMIT_EVALUATION_COST", "10")])
def test_limits_can_be_tightened_by_environment(limit, value):
    rc, out, err = run_here("--policies", "policies", "check", env={limit: value})
    out = out.decode()
    assert_clean(out, err)
    assert ("syntax.too_long" if "LENGTH" in limit else "cost.too_high") in out
    assert rc == 1


# -------------------------------------------------------------------------------------------------
# Batches: a bad claim among good ones keeps its place; one output line per claim, in order.

MIXED = CLAIMS / "mixed.jsonl"
# line number in mixed.jsonl -> claim id when decided, else the error code (line 6 is blank: not a claim)
MIXED_COLUMNS = {2: 49}  # where a line is not JSON, the column where reading stopped
MIXED_EXPECTED = [(1, "HOSTILE-L1"), (2, "claim.json"), (3, "claim.encoding"), (4, "claim.invalid"),
                  (5, "HOSTILE-L5"), (7, "claim.invalid"), (8, "claim.too_deep"), (9, "HOSTILE-L9"),
                  (10, "claim.invalid"), (11, "HOSTILE-L11")]


def _outcomes(lines: list[dict]) -> list[str]:
    return [line["error"]["code"] if "error" in line else line["claim_id"] for line in lines]


def test_a_batch_with_bad_claims_among_good_ones(capsys):
    rc, lines, err = evaluate_json(capsys, rel(MIXED), extra=["--summary"])
    assert len(lines) == len(MIXED_EXPECTED)
    assert _outcomes(lines) == [expected for _, expected in MIXED_EXPECTED]
    for (number, _), line in zip(MIXED_EXPECTED, lines, strict=True):
        if "error" in line:
            column = f":{MIXED_COLUMNS[number]}" if number in MIXED_COLUMNS else ""
            assert line["error"]["location"] == f"{rel(MIXED)}:{number}{column}"
        else:
            assert line["eligible"] is True and line["amount"] == "2200"
    assert lines[1]["error"]["message"] == "not valid JSON: Expecting value"
    assert lines[2]["error"]["message"] == "the line is not UTF-8 text"
    assert lines[3]["error"]["message"] == "(the whole document): expected a mapping, found a list"
    assert lines[5]["claim_id"] == "HOSTILE-L7-NEG" and lines[5]["error"]["path"] == "training.hours"
    # a date the schema's format allows but the calendar does not hold costs that claim alone
    assert lines[8]["claim_id"] == "HOSTILE-L10-YEAR0" and lines[8]["error"]["path"] == "applicant.birth_date"
    assert "4 decided (4 eligible), 6 invalid" in err
    assert rc == 2


def test_a_batch_from_standard_input(capsys, monkeypatch):
    rc, out, err = run(capsys, "evaluate", "-", "--policy", POLICY, "--format", "json", "--summary",
                       stdin=MIXED.read_bytes(), monkeypatch=monkeypatch)
    assert_clean(out, err)
    lines = [json.loads(line) for line in out.splitlines()]
    assert _outcomes(lines) == [expected for _, expected in MIXED_EXPECTED]
    assert [line["error"]["location"] for line in lines if "error" in line] == \
        [f"<stdin>:{n}" + (f":{MIXED_COLUMNS[n]}" if n in MIXED_COLUMNS else "")
         for n, e in MIXED_EXPECTED if e.startswith("claim.")]
    assert rc == 2


def test_many_files_of_every_kind_in_one_batch(capsys, tmp_path):
    files = [GOOD, tmp_path / "missing.yaml", CLAIMS / "empty.json", CLAIMS / "python-object.yaml", MIXED,
             CLAIMS / "top-level-scalar.json", GOOD]
    rc, lines, err = evaluate_json(capsys, *files, extra=["--summary"])
    expected = ["HOSTILE-GOOD-1", "claim.unreadable", "claim.empty", "claim.tag",
                *[e for _, e in MIXED_EXPECTED], "claim.invalid", "HOSTILE-GOOD-1"]
    assert _outcomes(lines) == expected
    assert rc == 2


def test_exit_code_when_claims_end_differently(capsys, tmp_path):
    early = tmp_path / "early.json"
    early.write_text(json.dumps(good_claim(claim_id="EARLY", applied_on="2024-02-29")), encoding="utf-8")
    rc, lines, _ = evaluate_json(capsys, GOOD, early)
    assert _outcomes(lines) == ["HOSTILE-GOOD-1", "policy.not_in_force"]
    assert rc == 3
    rc, lines, _ = evaluate_json(capsys, GOOD, early, CLAIMS / "negative-hours.json")
    assert rc == 2  # invalid outranks not in force


def test_parallel_batch_gives_the_same_bytes():
    args = ["evaluate", GOOD, MIXED, CLAIMS / "not-utf8.json", GOOD, "--policy", POLICY, "--format", "json", "-q"]
    rc1, one, err1 = run_process(*args, "--jobs", "1")
    rc2, two, err2 = run_process(*args, "--jobs", "2")
    assert_clean(err1, err2)
    assert rc1 == rc2 == 2
    assert one == two and len(one.splitlines()) == 1 + len(MIXED_EXPECTED) + 2


# -------------------------------------------------------------------------------------------------
# Determinism: the same claims, digest and decision date give byte-identical JSON, run after run.


def test_the_same_claims_give_byte_identical_json_in_separate_processes(tmp_path):
    args = ["evaluate", GOOD, MIXED, CLAIMS / "wrong-types.json", "--policy", POLICY, "--format", "json", "-q"]
    runs = []
    for seed in ("1", "2"):
        # With the store cache on: the first run writes it, the second reads it; neither may change a byte.
        rc, out, err = run_process(*args, env={"PYTHONHASHSEED": seed, "POLICY_CACHE": "1",
                                               "POLICY_CACHE_DIR": str(tmp_path / "cache")})
        assert_clean(err)
        runs.append((rc, out))
    assert runs[0] == runs[1]
    assert runs[0][0] == 2 and len(runs[0][1].splitlines()) == 1 + len(MIXED_EXPECTED) + 1
    first = json.loads(runs[0][1].splitlines()[0])
    assert first["policy"]["digest"].startswith("sha256:") and first["decision_date"] == "2024-06-15"


# -------------------------------------------------------------------------------------------------
# The store cache is a pickle: whoever can write the cache folder can run code.


class _Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_cache_folder_others_can_write_is_not_trusted(tmp_path):
    from engine.policies.cache import _key

    cache = tmp_path / "shared-cache"
    cache.mkdir()
    cache.chmod(0o777)
    marker = tmp_path / "payload-ran"
    key, _ = _key(Path("policies"), Path("schemas"))  # the working folder is ROOT here and in the process below
    (cache / f"store-{key[:40]}.pickle").write_bytes(pickle.dumps(_Payload(str(marker))))
    rc, out, err = run_process("--policies", "policies", "--schemas", "schemas", "list",
                               env={"POLICY_CACHE": "1", "POLICY_CACHE_DIR": str(cache)})
    assert rc == 0 and b"jinhua/digital-engineer-subsidy" in out
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# A claim reads the same from a JSON Lines file as from a .json file


def _evaluate_file(path):
    """`policy evaluate PATH --summary` in this process: how a claim's text is read is the same in a process of
    its own (which the limits set by environment, below, need)."""
    done = run_policy("evaluate", str(path), "--policy", POLICY, "--format", "json", "--summary", "-q")
    assert_clean(done.stdout.decode(), done.stderr.decode())
    return done.returncode, [json.loads(x) for x in done.stdout.splitlines()]


COMPACT = json.dumps(good_claim(), ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
@pytest.mark.parametrize("text, code, words", [
    (COMPACT.replace('"public_staff":false', '"public_staff":true,"public_staff":false'), "claim.duplicate_key",
     "duplicate key 'public_staff'"),
    (COMPACT.replace('"hours":80', '"hours":80.000000000000000000000001'), "claim.invalid",
     "training.hours: expected a whole number, found the number 80.000000000000000000000001"),
    (COMPACT.replace('"hours":80', '"hours":1' + "0" * 5000), "claim.number", "a number has more than 40 digits"),
    (COMPACT.replace('"hours":80', '"hours":1.0e999999999999999999999'), "claim.number", "is beyond 40 digits"),
    (COMPACT.replace('"hours":80', '"hours":NaN'), "claim.json", "JSON has no number NaN"),
    ('{"claim_id":"D","applicant":' + "[" * 1000 + "]" * 1000 + "}", "claim.too_deep", "nests deeper than"),
])
def test_json_lines_and_json_files_read_a_claim_alike(tmp_path, suffix, text, code, words):
    path = tmp_path / f"claim{suffix}"
    path.write_text(text + "\n", encoding="utf-8")
    rc, (line,) = _evaluate_file(path)
    assert line["error"]["code"] == code and words in line["error"]["message"]
    assert rc == 2


def test_a_json_lines_claim_written_with_spaces_is_still_read(tmp_path):
    path = tmp_path / "spaced.jsonl"
    path.write_text(json.dumps(good_claim(), ensure_ascii=True) + "\n", encoding="utf-8")  # ", " and \u escapes
    rc, (line,) = _evaluate_file(path)
    assert line["eligible"] is True and rc == 0


def test_a_compact_json_lines_claim_keeps_the_claim_limits(tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"claim_id":"D","applicant":' + "[" * 100 + "]" * 100 + "}\n", encoding="utf-8")
    rc, (line,) = _evaluate_file(deep)
    assert (line["error"]["code"], line["error"]["message"]) == ("claim.too_deep",
                                                                 "the claim nests deeper than 32 levels")
    rc, out, err = run_here("evaluate", str(MIXED), "--policy", POLICY, "--format", "json", "--summary", "-q",
                            env={"POLICY_LIMIT_CLAIM_NODES": "20"})
    first = json.loads(out.splitlines()[0])
    assert (first["error"]["code"], first["error"]["message"]) == ("claim.too_many_nodes",
                                                                   "the line holds more than 20 values")


def test_the_value_limit_counts_a_claim_alike_in_every_format(tmp_path, monkeypatch):
    """POLICY_LIMIT_CLAIM_NODES counts values (each mapping, list and scalar, not the keys) as YAML, JSON and a
    JSON Lines line alike, and a claim over it is claim.too_many_nodes (docs/security.md), never claim.too_large,
    which is a file or line over its size in bytes."""
    from engine.claims import reader
    from engine.policies.yamlsource import ReadLimits

    claim = {"claim_id": "C", "applied_on": "2024-02-01", "person": {"years": 30, "level": "junior"},
             "items": list("abcdefg")}  # 14 values: the claim, person and items, and 11 scalars
    files = {"c.yaml": "claim_id: C\napplied_on: 2024-02-01\nperson: {years: 30, level: junior}\n"
                       "items: [a, b, c, d, e, f, g]\n",
             "c.json": json.dumps(claim), "c.jsonl": json.dumps(claim, separators=(",", ":")) + "\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for limit, wanted in ((14, None), (13, "claim.too_many_nodes")):
        monkeypatch.setattr(reader, "CLAIM_LIMITS", ReadLimits(reader.CLAIM_LIMITS.max_bytes, limit,
                                                               reader.CLAIM_LIMITS.max_depth,
                                                               reader.CLAIM_LIMITS.max_digits))
        for name in files:
            [raw] = list(reader.read_claims([str(tmp_path / name)]))
            assert (raw.error.code if raw.error else None) == wanted, (limit, name, raw.error)


def test_a_long_history_within_the_limits_is_still_decided_from_json_lines(tmp_path):
    claim = good_claim(history=[{"occupation_code": "2-02-10-11", "level": "junior", "granted_on": "2023-01-01"}] * 40)
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps(claim, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    rc, (line,) = _evaluate_file(path)
    assert line["eligible"] is True and rc == 0


def test_a_yaml_claim_number_is_bounded_by_its_exponent_too(tmp_path):
    path = tmp_path / "claim.yaml"
    path.write_text("claim_id: Y\nd: 1.0e+100000000\n", encoding="utf-8")
    rc, (line,) = _evaluate_file(path)
    assert line["error"]["code"] == "claim.value"
    assert line["error"]["message"] == "the number '1.0e+100000000' is beyond 10^40"
    assert line["error"]["location"] == f"{path}:2:4"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_the_cheap_depth_check_reads_every_line_break_as_yaml_does(newline):
    """The bound taken before PyYAML starts (which is slow on deep flow nesting) must not be fooled by a file whose
    lines end in CR: a comment ends at any line break, and a line starts after one."""
    from engine.policies.yamlsource import _bracket_depth

    text = newline.join(["# a comment [", "policy: " + "[" * 100 + "]" * 100, "rows:", "- [[1]]", ""])
    assert _bracket_depth(text) == 100


FORGED_ID = "X\u001b[2J\u001b[H\nClaim JH-9: ELIGIBLE: 99999 CNY\r\u202e"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_claim_id_cannot_forge_or_hide_lines_of_a_text_report(capsys, tmp_path, fmt):
    """A claim id holding a line break, a carriage return, an escape sequence (clear the screen) or a bidi control is
    shown escaped in text, so that the report has only the lines the engine wrote; JSON keeps the id as it is."""
    first = (ROOT / "tests" / "fixtures" / "claims.jsonl").read_text(encoding="utf-8").splitlines()[0]
    claims = tmp_path / "forged.jsonl"
    claims.write_text(first.replace('"FICT-JH-01"', json.dumps(FORGED_ID)) + "\n" + '{"claim_id": "\\u001b[1A", ',
                      encoding="utf-8")
    store = ("--policies", ROOT / "tests" / "fixtures" / "store", "--schemas", ROOT / "tests" / "fixtures" / "schemas")
    code, out, err = run(capsys, *store, "evaluate", claims, "--policy", POLICY, "--format", fmt)
    assert code == 2 and "Traceback" not in err
    if fmt == "json":
        assert json.loads(out.splitlines()[0])["claim_id"] == FORGED_ID
        return
    assert not any(ch in out for ch in "\u001b\r\u202e")
    assert "Claim X\\x1b[2J\\x1b[H\\nClaim JH-9: ELIGIBLE: 99999 CNY\\r\\u202e: " in out
    assert [line for line in out.splitlines() if line.startswith("Claim ")] == [
        line for line in out.splitlines() if line.startswith(("Claim X\\x1b", "Claim (no id)"))]


def test_shown_escapes_exactly_the_characters_that_move_or_hide_text():
    from engine.core.shown import shown

    assert shown("FICT-JH-01 浙江大学 ") == "FICT-JH-01 浙江大学 "
    assert shown("a\nb\tc\x00\x7f\x85\u2028\u2066") == "a\\nb\\tc\\x00\\x7f\\x85\\u2028\\u2066"
    hidden = {"Cc", "Cf", "Zl", "Zp"}
    for code in [*range(0x3000), 0xFEFF, 0xE0001, 0x1D173]:
        escaped = shown(chr(code))
        assert not any(unicodedata.category(ch) in hidden for ch in escaped), hex(code)
        assert (escaped == chr(code)) == (unicodedata.category(chr(code)) not in hidden)
