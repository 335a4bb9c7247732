"""Faulty policy stores, as officers and auditors meet them: every mistake reported once, where it is, all at
once; a broken file stops exactly the commands that need its policy; `check` and `test` read the paths given.

Each test makes its own store (a copy of the seed policies, or small files written here), breaks it the way
an officer might, and runs the command line as a user would. Expected lines are found in the files
themselves, never copied from the engine's output.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from clirun import invoke, run_policy
from seedstore import SEED_POLICIES
from test_policyfiles_check import CLAIM_SCHEMA, COVERED, PARENT, make, policy
from test_policyfiles_loading import BASE, ROW1, at, load, only, pos, variant

from engine.api import Engine
from engine.policies.yamlsource import read_yaml

ROOT = Path(__file__).resolve().parent.parent
SEED = SEED_POLICIES  # the seed versions, pinned (tests/seedstore.py)
ZJ = Path("zhejiang/digital-engineer/2023-09-16.yaml")
JH = Path("jinhua/digital-engineer-subsidy/2024-05-01.yaml")
CLAIM = ROOT / "examples" / "eligible-blockchain-junior.yaml"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory, monkeypatch):
    # The store cache stays on (it is part of what is tested) but out of the user's cache folder.
    monkeypatch.setenv("POLICY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "policy-cache"))
    monkeypatch.delenv("POLICY_CACHE", raising=False)
    monkeypatch.delenv("POLICY_DIR", raising=False)


run = invoke


def seed_copy(tmp_path: Path, source: Path = SEED, schemas: Path = ROOT / "schemas") -> Path:
    """A copy of a store and its schemas under tmp_path/copy; returns the copied policies folder."""
    shutil.copytree(source, tmp_path / "copy" / "policies")
    shutil.copytree(schemas, tmp_path / "copy" / "schemas")
    return tmp_path / "copy" / "policies"


def edit(path: Path, old: str, new: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the test's replacement {old!r} must match exactly once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def codes(out: str) -> list[str]:
    return [line.split("error[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "error[" in line]


def check_json(capsys, policies: Path, *paths) -> tuple[int, list[dict]]:
    code, out, _ = run(capsys, "--policies", policies, "check", "--format", "json", *paths)
    return code, [json.loads(line) for line in out.splitlines()]


# -- 1. `policy check PATH` and `policy test PATH` read the paths given -----------------------------


def test_check_of_a_path_that_does_not_exist_is_a_usage_error(capsys, tmp_path):
    code, out, err = run(capsys, "--policies", SEED, "check", tmp_path / "polcies")
    assert code == 64
    assert f"no such file or folder: {tmp_path / 'polcies'}" in err
    assert "0 errors" not in out + err


def test_check_reads_a_folder_outside_the_store(capsys, tmp_path):
    outside = tmp_path / "drafts" / "demo" / "x"
    outside.mkdir(parents=True)
    text = policy("demo/x", "1", "2024-01-01", body=COVERED + "exports: 5\n")
    (outside / "1.yaml").write_text(text, encoding="utf-8")
    code, found = check_json(capsys, SEED, tmp_path / "drafts")
    assert code == 1
    assert [(d["code"], d["line"]) for d in found] == [("schema.invalid", line_of(text, "exports: 5"))]
    assert found[0]["file"].endswith("drafts/demo/x/1.yaml")


def test_test_of_a_path_that_does_not_exist_says_so(capsys, tmp_path):
    code, _, err = run(capsys, "--policies", SEED, "test", tmp_path / "nope")
    assert code == 64
    assert f"no such file or folder: {tmp_path / 'nope'}" in err
    assert "no example cases found" not in err


def test_cases_run_against_the_store_they_sit_in(capsys, tmp_path, monkeypatch):
    copy = seed_copy(tmp_path)
    edit(copy / ZJ, '["2-02-10-15", 区块链工程技术人员, junior, 80, 2200]',
         '["2-02-10-15", 区块链工程技术人员, junior, 80, 2250]')
    monkeypatch.chdir(tmp_path)  # no ./policies here: the default store would be the project's
    code, out, _ = run(capsys, "test", copy)
    assert code == 1
    assert "expected amount 2200, got 2250" in out


def test_cases_run_against_the_store_given_with_policies(capsys, tmp_path, monkeypatch):
    copy = seed_copy(tmp_path)
    edit(copy / ZJ, '["2-02-10-15", 区块链工程技术人员, junior, 80, 2200]',
         '["2-02-10-15", 区块链工程技术人员, junior, 80, 2250]')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "--policies", SEED, "test", copy / ZJ.with_name("2023-09-16.cases.yaml"))
    assert code == 0, out
    assert "0 failed" in out


# -- 3. one mistake, one error ---------------------------------------------------------------------


def test_misspelt_input_schema_is_one_error_at_its_line(capsys, tmp_path):
    copy = seed_copy(tmp_path)
    text = edit(copy / ZJ, "schema: training-claim.schema.json", "schema: training-claim.schema.jsn")
    code, found = check_json(capsys, copy)
    assert code == 1
    schema = [d for d in found if d["code"].startswith("schema.")]
    assert [(d["code"], d["file"], d["line"]) for d in schema] == [
        ("schema.missing", str(copy / ZJ), line_of(text, "schema: training-claim.schema.jsn"))]
    assert "'training-claim.schema.jsn' is not a file" in schema[0]["message"]
    assert schema[0]["hint"] == "did you mean 'training-claim.schema.json'?"
    assert not [d for d in found if d["code"].startswith("name.")], found


def test_unreadable_input_schema_is_one_error_at_the_input_schema_line(capsys, tmp_path):
    copy = seed_copy(tmp_path)
    schema_file = copy.parent / "schemas" / "training-claim.schema.json"
    broken = '{"type": "object",\n "properties": {,}}\n'
    schema_file.write_text(broken, encoding="utf-8")
    code, found = check_json(capsys, copy)
    assert code == 1
    schema = [d for d in found if d["code"].startswith("schema.")]
    assert len(schema) == 1, schema
    first = sorted(str(copy / p) for p in (ZJ, JH))[0]  # reported at the first file that names it
    assert (schema[0]["code"], schema[0]["file"]) == ("schema.unreadable", first)
    assert schema[0]["line"] == line_of(Path(first).read_text(encoding="utf-8"), "schema: training-claim")
    column = broken.splitlines()[1].index(",") + 1  # where JSON wanted a property name
    assert f"{schema_file}:2:{column}: Expecting property name" in schema[0]["message"]
    assert not [d for d in found if d["code"].startswith("name.")], found
    # Checking only the other file that reads the schema still shows the problem.
    other = sorted(str(copy / p) for p in (ZJ, JH))[1]
    code, found = check_json(capsys, copy, other)
    assert code == 1 and [d["code"] for d in found if d["code"].startswith("schema.")] == ["schema.unreadable"]


def test_bad_cells_in_a_table_do_not_drop_the_table(capsys, tmp_path):
    copy = seed_copy(tmp_path)
    row = '["2-02-10-15", 区块链工程技术人员, junior, 80, 2200]'
    text = edit(copy / ZJ, row, '["2-02-10-15", 区块链工程技术人员, no, eighty, 2200]')
    code, found = check_json(capsys, copy)
    assert code == 1
    line = line_of(text, "区块链工程技术人员, no, eighty")
    # Both bad cells of the row, and nothing else: the table's uses and exports still resolve.
    assert [(d["code"], d["line"], d["column"]) for d in found] == [
        ("table.cell_type", line, text.splitlines()[line - 1].index("no,") + 1),
        ("table.cell_type", line, text.splitlines()[line - 1].index("eighty") + 1)]
    assert "column 'level' holds text, found the boolean false" in found[0]["message"]
    assert "column 'hours' holds a whole number, found the text 'eighty'" in found[1]["message"]
    assert found[0]["clause"] == "附件2"


def test_unreadable_parent_file_is_named_by_the_city(capsys, tmp_path):
    copy = seed_copy(tmp_path)
    edit(copy / ZJ, "\ntitle: ", "\ntitle: a: b ")
    code, found = check_json(capsys, copy)
    assert code == 1
    city = [d for d in found if d["file"] == str(copy / JH)]
    jh_text = (copy / JH).read_text(encoding="utf-8")
    assert [(d["code"], d["line"]) for d in city] == [("reference.unreadable", line_of(jh_text, "extends:"))]
    assert f"the file of zhejiang/digital-engineer ({copy / ZJ}) could not be read" in city[0]["message"]
    assert "no policy file defines" not in city[0]["message"]


# -- 4. all errors at once -------------------------------------------------------------------------


def test_a_schema_error_does_not_hide_an_expression_error(capsys, tmp_path):
    copy = seed_copy(tmp_path)
    edit(copy / JH, "registration: ZJGC13-2024-0001", "registration: 13")
    text = edit(copy / JH, "require: not applicant.public_staff", "require: not applicant.public_staf")
    code, found = check_json(capsys, copy)
    assert code == 1
    assert [(d["code"], d["line"]) for d in found] == [
        ("schema.invalid", line_of(text, "registration: 13")),
        ("name.field", line_of(text, "applicant.public_staf"))]
    assert "expected text, found the number 13" in found[0]["message"]
    assert "'public_staf'" in found[1]["message"]


def test_every_bad_cell_of_a_row_is_reported(tmp_path):
    new_row = "[2-02-10-11, off, many, lots]"
    text = variant(ROW1, new_row)
    version, diagnostics = load(tmp_path, text)
    cells = [d for d in diagnostics if d.code == "table.cell_type"]
    assert [(d.location.line, d.location.column) for d in cells] == [
        pos(text, new_row, offset=new_row.index(cell)) for cell in ("off", "many", "lots")]
    assert version.tables["amounts"].rows.keys() == {("2-02-10-15", "senior")}


def test_schema_errors_in_several_items_do_not_hide_each_other(tmp_path):
    text = BASE + ("rules:\n  - id: r1\n    clause: 一\n    require: true\n    message: {pass: a, fail: b}\n"
                   "  - id: r2\n    clause: 二\n    require: '1 +'\n    message: {pass: a, fail: 5}\n")
    _, diagnostics = load(tmp_path, text)
    found = sorted((d.code, d.location.line) for d in diagnostics)
    assert ("schema.invalid", pos(text, "require: true")[0]) in found
    assert ("schema.invalid", pos(text, "fail: 5")[0]) in found
    assert any(code.startswith("syntax.") and line == pos(text, "'1 +'")[0] for code, line in found), found


def test_a_file_whose_identity_cannot_be_read_is_not_placed(tmp_path):
    version, diagnostics = load(tmp_path, variant("issued_on: 2023-12-01", "issued_on: 2023-13-01"))
    assert version is None
    assert [d.code for d in diagnostics] == ["schema.invalid"]


# -- 5. a broken file stops exactly what needs its policy ------------------------------------------


@pytest.fixture
def fixture_store_with_a_duplicate_key(tmp_path) -> Path:
    store = seed_copy(tmp_path, ROOT / "tests" / "fixtures" / "store", ROOT / "tests" / "fixtures" / "schemas")
    new = store / "zhejiang" / "digital-engineer" / "2025-03-01.yaml"
    text = new.read_text(encoding="utf-8")
    issued = next(line for line in text.splitlines() if line.startswith("issued_on:"))
    edit(new, issued + "\n", issued + "\n" + issued + "\n")
    claim = tmp_path / "claim.yaml"
    claim.write_text(CLAIM.read_text(encoding="utf-8").replace("applied_on: 2024-06-15", "applied_on: 2025-07-01"),
                     encoding="utf-8")
    assert "applied_on: 2025-07-01" in claim.read_text(encoding="utf-8")
    return store


def test_evaluate_refuses_a_policy_whose_parent_file_is_broken(capsys, tmp_path, fixture_store_with_a_duplicate_key):
    store = fixture_store_with_a_duplicate_key
    code, out, err = run(capsys, "--policies", store, "evaluate", tmp_path / "claim.yaml",
                         "--policy", "jinhua/digital-engineer-subsidy")
    assert code == 1
    assert out == ""  # not decided under the older provincial version
    assert "error[yaml.duplicate_key]: duplicate key 'issued_on'" in err
    assert f"run `policy check {store / 'zhejiang/digital-engineer/2025-03-01.yaml'}`" in err
    assert len(err.splitlines()) < 10


@pytest.mark.parametrize("args", [
    ["timeline", "china/retirement-age"],
    ["show", "china/retirement-age"],
    ["diff", "china/retirement-age@1978-06-02", "china/retirement-age@2025-01-01"],
    ["timeline", "jinhua/digital-engineer-subsidy"],  # the city's own file is fine
])
def test_unrelated_policies_still_work(capsys, args, fixture_store_with_a_duplicate_key):
    code, out, err = run(capsys, "--policies", fixture_store_with_a_duplicate_key, *args)
    assert code == 0, err
    assert out and "duplicate" not in out + err


@pytest.mark.parametrize("args", [
    ["timeline", "zhejiang/digital-engineer"],
    ["show", "jinhua/digital-engineer-subsidy"],
    ["diff", "jinhua/digital-engineer-subsidy", "--from", "2024-06-01", "--to", "2025-06-01"],
])
def test_commands_that_need_the_broken_policy_refuse(capsys, args, fixture_store_with_a_duplicate_key):
    code, out, err = run(capsys, "--policies", fixture_store_with_a_duplicate_key, *args)
    assert code == 1
    assert out == ""
    assert "duplicate key 'issued_on'" in err and "policy check" in err


def test_list_marks_the_policy_with_a_broken_file(capsys, fixture_store_with_a_duplicate_key):
    store = fixture_store_with_a_duplicate_key
    code, out, err = run(capsys, "--policies", store, "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert f"[errors in {store / 'zhejiang/digital-engineer/2025-03-01.yaml'}]" in lines["zhejiang/digital-engineer"]
    assert "errors" not in lines["china/retirement-age"]
    assert "1 policy has files with errors" in err


def test_evaluate_under_a_policy_without_input_is_a_usage_error(capsys):
    code, out, err = run(capsys, "--policies", SEED, "evaluate", CLAIM, "--policy", "china/retirement-age")
    assert code == 64
    assert out == ""
    assert "china/retirement-age declares no input" in err
    assert "claims cannot be decided under it" in err
    assert "has errors" not in err


# -- 7, 8. where and how errors are told -----------------------------------------------------------


def test_unknown_key_is_reported_at_the_key_when_its_value_is_on_the_next_line(tmp_path):
    text = variant("  number: T-1\n", "  number: T-1\n  numbr:\n    T-2\n")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "unknown key 'numbr'" in d.message
    at(d, *pos(text, "numbr:"))


def test_unknown_key_whose_value_is_an_alias_is_reported_at_the_key(tmp_path):
    text = variant("source:\n", "source: &src\n") + "copied_source: *src\n"
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "schema.invalid")
    assert "unknown key 'copied_source'" in d.message
    at(d, *pos(text, "copied_source"))


def test_each_unknown_key_is_reported_at_its_own_line(tmp_path):
    text = BASE + "colour: red\nshape:\n  round\n"
    _, diagnostics = load(tmp_path, text)
    found = [(d.message.split(";")[0], d.location.line, d.location.column) for d in diagnostics]
    assert found == [("unknown key 'colour'", *pos(text, "colour")), ("unknown key 'shape'", *pos(text, "shape"))]


@pytest.mark.parametrize("value, words", [
    ('!!int ""', "cannot read '' as a whole number"),
    ("!!bool maybe", "cannot read 'maybe' as true or false"),
    ("!!map text", "'text' is a single value, but the tag !!map asks for a mapping"),
])
def test_unreadable_value_is_told_in_plain_words(tmp_path, value, words):
    text = variant("title: Test policy", f"title: {value}")
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "yaml.value")
    assert d.message == words
    at(d, *pos(text, value))
    for python_word in ("Error", "Exception", "IndexError", "KeyError"):
        assert python_word not in d.message


def test_a_huge_number_is_shortened_in_the_message(tmp_path):
    digits = "9" * 100_000
    text = variant("  number: T-1", f"  number: {digits}")
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "yaml.value")
    shown = f"'{'9' * 20}'… (100,000 characters)"
    assert d.message == f"a number of 100,000 digits is longer than the limit of 40 ({shown})"
    assert "POLICY_LIMIT_NUMBER_DIGITS" in d.hint
    assert len(d.render()) < 400
    at(d, *pos(text, digits))


def test_control_character_is_reported_at_its_line_and_column(tmp_path):
    text = variant("title: Test policy", "title: Test\x07policy")
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "input.character")
    assert d.message == "the file holds a character YAML does not allow (U+0007)"
    at(d, *pos(text, "\x07"))


def test_bytes_that_are_not_utf8_are_reported_at_their_column(tmp_path):
    data = BASE.encode("utf-8").replace(b"title: Test policy", b"title: \xe6\xb5\x8b\xff")
    _, diagnostics = load(tmp_path, data=data)
    d = only(diagnostics, "input.encoding")
    line, column = pos(BASE, "title: Test policy", offset=len("title: 测"))
    at(d, line, column)


def test_override_conflict_names_the_clause_of_the_item(tmp_path):
    child = policy("c/child", "1", "2024-01-01", schema=True, body=COVERED + (
        "extends: p/parent\nrules:\n  - id: old_enough\n    clause: 一\n    require: adult\n"
        "    message: {pass: ok, fail: no}\n".replace("fail: no", 'fail: "no"')))
    d = only(Engine.load(make(tmp_path, {"p/parent/1.yaml": PARENT, "c/child/1.yaml": child})).check(),
             "override.conflict")
    assert d.clause == "一"
    assert d.location.line == line_of(child, "- id: old_enough")


def test_version_errors_name_the_clause_that_sets_the_dates(tmp_path):
    first = policy("a/b", "1", "2024-01-01").replace("  from: 2024-01-01\n", "  from: 2024-01-01\n  clause: 一\n")
    second = policy("a/b", "2", "2024-01-01").replace("  from: 2024-01-01\n", "  from: 2024-01-01\n  clause: 一\n")
    d = only(Engine.load(make(tmp_path, {"a/b/1.yaml": first, "a/b/2.yaml": second})).check(), "version.overlap")
    assert d.clause == "一"
    assert d.location.line == line_of(second, "from: 2024-01-01")


def test_reference_errors_carry_the_clause_the_reference_cites(tmp_path):
    from engine.policies.linker import LinkError, link

    city = policy("c/city", "1", "2024-01-01",
                  body=COVERED + "uses:\n  p: {policy: p/parent, version: '9', clause: 一}\n")
    engine = Engine.load(make(tmp_path, {"p/parent/1.yaml": PARENT, "c/city/1.yaml": city}))
    with pytest.raises(LinkError) as caught:
        link(engine.store, engine.store.get("c/city", "1"), lambda ref, by: None)
    assert caught.value.code == "reference.unknown" and caught.value.clause == "一"


# -- 9, 10. the cache and the size limit -----------------------------------------------------------


def _check_in(cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """`policy check` in `cwd` with only the POLICY_* variables of `env` set, as text."""
    unset: dict = {key: None for key in os.environ if key.startswith("POLICY_")}
    done = run_policy("check", env=unset | env, cwd=cwd)
    done.stdout, done.stderr = done.stdout.decode(), done.stderr.decode()
    return done


def test_the_cached_store_follows_the_limits(tmp_path):
    seed_copy(tmp_path)
    cache = {"POLICY_CACHE_DIR": str(tmp_path / "cache")}  # the cache is on: this is what is tested
    warm = _check_in(tmp_path / "copy", cache)
    assert warm.returncode == 0, warm.stderr
    assert any((tmp_path / "cache").glob("store-*.pickle"))
    limited = _check_in(tmp_path / "copy", cache | {"POLICY_LIMIT_EXPRESSION_LENGTH": "20"})
    assert limited.returncode == 1
    assert "syntax.too_long" in limited.stdout or "more than 20 characters" in limited.stdout, limited.stdout
    again = _check_in(tmp_path / "copy", cache)
    assert again.returncode == 0 and again.stdout == warm.stdout


def test_the_cached_store_follows_the_policy_files(tmp_path):
    copy = seed_copy(tmp_path)
    cache = {"POLICY_CACHE_DIR": str(tmp_path / "cache")}
    assert _check_in(tmp_path / "copy", cache).returncode == 0
    edit(copy / JH, "registration: ZJGC13-2024-0001", "registration: 13")
    changed = _check_in(tmp_path / "copy", cache)
    assert changed.returncode == 1 and "expected text, found the number 13" in changed.stdout


@pytest.mark.parametrize("name", ["p.yaml", "p.cases.yaml"])
def test_an_endless_file_is_refused_without_reading_it_whole(tmp_path, name):
    # /dev/zero never ends: reading it whole would never finish; the limit is checked first.
    link = tmp_path / "policies" / "a" / "b" / name
    link.parent.mkdir(parents=True)
    link.symlink_to("/dev/zero")
    if name == "p.yaml":
        code = ("from pathlib import Path; from engine.policies.policyfile import load_policy_file; "
                f"print(load_policy_file(Path({str(link)!r}))[1][0].render())")
    else:
        code = ("from pathlib import Path; from engine.api import Engine; "
                "from engine.audit.casefile import run_case_file; "
                f"engine = Engine.load(Path({str(tmp_path / 'policies')!r})); "
                f"print(run_case_file(engine, Path({str(link)!r}))[0].problems)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "the file is more than 4194304 bytes; the limit is 4194304" in done.stdout


# -- 12. policy show -------------------------------------------------------------------------------


def test_show_gives_table_descriptions_and_readings(capsys):
    code, out, _ = run(capsys, "--policies", SEED, "show", "zhejiang/digital-engineer@2023-09-16")
    assert code == 0
    version = Engine.load(SEED).store.get("zhejiang/digital-engineer", "2023-09-16")
    described = [t for t in version.tables.values() if t.description and t.reading]
    assert described, "the seed has a table with a description and a reading"
    for table in described:
        section = out.split(f"\ntable {table.name} ", 1)[1].split("\n\n", 1)[0]
        assert f"description: {' '.join(table.description.split())}" in section
        assert f"reading: {' '.join(table.reading.split())}" in section


def test_show_marks_overriding_outputs_and_rules(capsys):
    code, out, _ = run(capsys, "--policies", SEED, "show", "jinhua/digital-engineer-subsidy@2024-05-01")
    assert code == 0
    version = Engine.load(SEED).store.get("jinhua/digital-engineer-subsidy", "2024-05-01")
    overriding = [o.name for o in version.outputs.values() if o.overrides]
    assert overriding
    for name in version.outputs:
        line = next(x for x in out.splitlines() if x.startswith((f"  {name} ", f"  {name}(")))
        assert ("(overrides)" in line) == (name in overriding), line


def test_show_of_a_pinned_version_says_when_it_is_not_in_force(capsys):
    code, out, _ = run(capsys, "--policies", SEED, "show", "jinhua/digital-engineer-subsidy@2024-05-01",
                       "--as-of", "2024-04-30")
    assert code == 0
    assert "NOT IN FORCE on 2024-04-30: this version is in force 2024-05-01 .. now" in out.splitlines()[2]
    code, out, _ = run(capsys, "--policies", SEED, "show", "jinhua/digital-engineer-subsidy@2024-05-01",
                       "--as-of", "2024-05-01")
    assert "NOT IN FORCE" not in out


# -- 13. lines of the remaining error kinds --------------------------------------------------------


def test_mapping_used_as_a_key(tmp_path):
    text = BASE + "? {a: 1}\n: value\n"
    version, diagnostics = load(tmp_path, text)
    assert version is None
    d = only(diagnostics, "yaml.key")
    assert d.message == "a mapping key must be plain text"
    at(d, *pos(text, "{a: 1}"))


def test_rule_id_used_twice(tmp_path):
    rule = "  - id: r1\n    clause: 一\n    require: 'true'\n    message: {pass: a, fail: b}\n"
    text = BASE + "rules:\n" + rule + rule.replace("clause: 一", "clause: 二")
    version, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "rule.duplicate")
    assert d.message.startswith("rule id 'r1' is used twice (first on line ")
    at(d, *pos(text, "- id: r1", occurrence=2, offset=len("- id: ")))
    assert d.clause == "二"
    assert [r.id for r in version.rules] == ["r1"]


@pytest.mark.parametrize("old, new, needle, words", [
    ("    expr: '100'", "    params: {x: number}\n    expr: x", "number}",
     "unknown type 'number' for parameter 'x'"),
    ("    expr: '100'", "    type: number\n    expr: '100'", "number\n", "unknown type 'number'; use one of"),
])
def test_unknown_type(tmp_path, old, new, needle, words):
    text = variant(old, new)
    _, diagnostics = load(tmp_path, text)
    d = only(diagnostics, "type.unknown")
    assert d.message.startswith(words)
    at(d, *pos(text, needle))
    assert d.clause == "二"


def test_input_schema_that_is_not_json(tmp_path):
    text = policy("a/b", "1", "2024-01-01", schema=True)
    folder = make(tmp_path, {"a/b/1.yaml": text})
    (tmp_path / "schemas" / "claim.schema.json").write_text('{"type": "object",,}', encoding="utf-8")
    d = only(Engine.load(folder).check(), "schema.unreadable")
    column = '{"type": "object",,}'.index(",,") + 2  # the second comma, where a property name should be
    assert d.message == (f"input schema 'claim.schema.json' is not valid JSON: "
                         f"{tmp_path / 'schemas' / 'claim.schema.json'}:1:{column}: Expecting property name enclosed "
                         "in double quotes")
    assert d.location.line == line_of(text, "schema: claim.schema.json")


def test_extends_with_another_input_is_reported_at_its_input_line(tmp_path):
    folder = make(tmp_path, {"p/parent/1.yaml": PARENT})
    (tmp_path / "schemas" / "other.schema.json").write_text(json.dumps(CLAIM_SCHEMA), encoding="utf-8")
    child = policy("c/child", "1", "2024-01-01",
                   body=COVERED + "extends: p/parent\ninput:\n  schema: other.schema.json\n")
    (folder / "c" / "child").mkdir(parents=True)
    (folder / "c" / "child" / "1.yaml").write_text(child, encoding="utf-8")
    d = only(Engine.load(folder).check(), "extends.input")
    assert "reads other.schema.json but extends p/parent@1, which reads claim.schema.json" in d.message
    assert d.location.line == line_of(child, "schema: other.schema.json")


def test_alias_the_parent_already_uses_is_a_name_conflict_at_its_line(tmp_path):
    middle = policy("m/mid", "1", "2024-01-01", schema=True, body=COVERED + "uses:\n  q: p/parent\n")
    child = policy("c/child", "1", "2024-01-01", body=COVERED + "extends: m/mid\nuses:\n  q: p/parent\n")
    found = Engine.load(make(tmp_path, {"p/parent/1.yaml": PARENT, "m/mid/1.yaml": middle,
                                        "c/child/1.yaml": child})).check()
    d = only(found, "name.conflict")
    assert d.message == "alias 'q' is already used by m/mid@1"
    assert d.location.line == line_of(child, "  q: p/parent")


def test_definition_named_like_a_fact_is_a_name_conflict_at_its_line(tmp_path):
    text = policy("a/b", "1", "2024-01-01", schema=True, body=COVERED + "definitions:\n  years:\n    expr: '1'\n")
    d = only(Engine.load(make(tmp_path, {"a/b/1.yaml": text})).check(), "name.conflict")
    assert d.message == "definition 'years' has the same name as a fact"
    assert d.location.line == line_of(text, "  years:")


# -- 11. the format's draft ------------------------------------------------------------------------


def test_the_engine_validates_the_format_under_the_draft_it_declares():
    from jsonschema import Draft7Validator

    from engine.policies.policyfile import _policy_validator, policy_schema

    schema = policy_schema()
    # draft-07: the newest draft the editors' YAML language server supports fully (docs/authoring.md)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)
    assert type(_policy_validator()).META_SCHEMA["$schema"] == schema["$schema"]


@pytest.mark.parametrize("written, read", [
    ("no", False), ("Off", False), ("y", "y"), ("0755", "0755"), ("08", "08"), ("0x1F", "0x1F"), ("1_000", "1_000"),
    ("1:30", "1:30"), ("2-02-10-11", "2-02-10-11"), ("2024-05-01", "2024-05-01"), ("~", None), (".inf", ".inf"),
    ("1e3", "1e3"), ("330702", 330702), ("3300.10", Decimal("3300.10")),
])
def test_yaml_11_surprises_read_as_the_guide_says(written, read):
    # docs/authoring.md, "YAML 1.1 pitfalls": what the loader makes of each value written unquoted
    value = read_yaml(f"a: {written}\n", "f.yaml").value["a"]
    assert value == read and type(value) is type(read)


# Values each part of a valid file is replaced by in turn: the edges of the draft and of the engine's reading
ODD_VALUES = ["", "a\n", "0000-01-01", "2023-02-29", "2024-1-01", "ab/cd", Decimal("1.0"), Decimal("1.5"), 10 ** 30,
              True, None, [], {"a": 1}]


def _leaves(value, path=()):
    yield path
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _leaves(child, (*path, key))


def _replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


def test_a_file_the_quick_validity_check_passes_has_no_error_the_validator_would_word():
    """A file the compiled check passes is read without the general validator (whose errors are the messages), so
    it must pass nothing the validator refuses. It may refuse more (ECMA-262's `$` does not match before a final
    newline, Python's does): the validator then decides and words the errors, as for every invalid file."""
    from engine.policies.policyfile import _policy_is_valid, _policy_validator

    def errors(document) -> bool:
        return next(_policy_validator().iter_errors(document), None) is not None

    own = [read_yaml(path.read_bytes(), str(path)).value for path in sorted((ROOT / "policies").rglob("*.yaml"))
           if not path.name.endswith(".cases.yaml")]
    assert own and all(_policy_is_valid(document) for document in own)  # the quick way is the usual one
    documents = list(own)
    for folder in ("tests/fixtures", "bench/fixtures"):
        documents += [read_yaml(path.read_bytes(), str(path)).value for path in sorted((ROOT / folder).rglob("*.yaml"))]
    small = read_yaml(PARENT, "parent.yaml").value
    documents += [_replaced(small, path, odd) for path in _leaves(small) for odd in ODD_VALUES]
    documents += [{**small, "extra": odd} for odd in ODD_VALUES]
    documents = [document for document in documents if isinstance(document, dict)]
    assert len(documents) > 500
    passed = [document for document in documents if _policy_is_valid(document)]
    assert len(passed) > 100 and [document for document in passed if errors(document)] == []
