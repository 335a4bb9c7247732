"""A repeal (废止) is only a new file: `repeals: true` ends the version in force the day before it, no claim is
decided under the policy from then on, a later version takes effect again, and nothing earlier changes."""
from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from clirun import invoke as run
from test_policyfiles_store import codes, make_store, policy

from engine.api import Engine, PolicyNotFound, Selection

FIXTURES = Path(__file__).resolve().parent / "fixtures"
D = date.fromisoformat
JH = "jinhua/digital-engineer-subsidy"
ZJ = "zhejiang/digital-engineer"


def repeal(pid: str, label: str, frm: str, issued: str | None = None, extra: str = "") -> str:
    return (f'policy: {pid}\nversion: "{label}"\ntitle: 关于废止的通知\nrepeals: true\n'
            f"effective:\n  from: {frm}\n  clause: 一\nissued_on: {issued or frm}\n"
            "source:\n  number: 某人社发〔2025〕9号（虚构）\n  title: 关于废止的通知\n  issuers: [某局]\n"
            f"  clauses:\n    一: 自{frm}起废止。\n" + extra)


# -- the store --------------------------------------------------------------------------------------


@pytest.fixture
def repealed(tmp_path):
    store = make_store(tmp_path, {
        "t/a/2024-01-01.yaml": policy("t/a", "2024-01-01", "2024-01-01", issued="2023-12-01"),
        "t/a/2024-07-01.yaml": repeal("t/a", "2024-07-01", "2024-07-01", issued="2024-06-10"),
        "t/a/2025-01-01.yaml": policy("t/a", "2025-01-01", "2025-01-01", cell=3600),
    })
    assert store.diagnostics == []
    return store


@pytest.mark.parametrize("day, expected", [
    ("2024-06-30", "2024-01-01"),  # the last day of the version repealed
    ("2024-07-01", None),  # the repeal's first day
    ("2024-12-31", None),
    ("2025-01-01", "2025-01-01"),  # a later version takes effect again
])
def test_nothing_is_in_force_from_a_repeal_until_a_later_version(repealed, day, expected):
    found = repealed.in_force("t/a", D(day))
    assert (found.version if found else None) == expected


def test_the_repealed_version_ends_the_day_before(repealed):
    assert repealed.until(repealed.get("t/a", "2024-01-01")) == D("2024-06-30")
    assert repealed.until(repealed.get("t/a", "2025-01-01")) is None


def test_a_repeal_is_not_a_version(repealed):
    assert [v.version for v in repealed.versions("t/a")] == ["2024-01-01", "2025-01-01"]
    assert repealed.get("t/a", "2024-07-01") is None
    with pytest.raises(PolicyNotFound, match="is a repeal"):
        Engine(repealed).pinned_version("t/a", "2024-07-01")


def test_a_repeal_the_office_did_not_know_of_yet_does_not_count(repealed):
    assert repealed.in_force("t/a", D("2024-08-01"), known_on=D("2024-06-01")).version == "2024-01-01"
    assert repealed.in_force("t/a", D("2024-08-01"), known_on=D("2024-06-10")) is None


def test_a_repeal_leaves_every_earlier_digest_as_it_was(tmp_path):
    files = {"t/a/2024-01-01.yaml": policy("t/a", "2024-01-01", "2024-01-01")}
    before = make_store(tmp_path / "before", files)
    after = make_store(tmp_path / "after", files | {"t/a/2024-07-01.yaml": repeal("t/a", "2024-07-01", "2024-07-01")})
    assert after.get("t/a", "2024-01-01").digest == before.get("t/a", "2024-01-01").digest


@pytest.mark.parametrize("extra, where", [
    ("rules: []\n", "rules"),
    ("amends: \"2024-01-01\"\n", "amends"),
    ("tables: {}\n", "tables"),
])
def test_a_repeal_holds_nothing_else(tmp_path, extra, where):
    text = repeal("t/a", "2024-07-01", "2024-07-01", extra=extra)
    store = make_store(tmp_path, {
        "t/a/2024-01-01.yaml": policy("t/a", "2024-01-01", "2024-01-01"),
        "t/a/2024-07-01.yaml": text,
    })
    found = [d for d in store.diagnostics if d.code == "repeal.content"]
    assert len(found) == 1 and f"a repeal holds no {where}" in found[0].message
    assert found[0].location.line == text.splitlines().index(extra.strip()) + 1  # at the key, in its own file
    assert found[0].location.file.endswith("t/a/2024-07-01.yaml")


def test_a_repeal_has_no_end_date(tmp_path):
    text = repeal("t/a", "2024-07-01", "2024-07-01").replace("  clause: 一\n", "  clause: 一\n  to: 2024-12-31\n")
    store = make_store(tmp_path, {"t/a/2024-01-01.yaml": policy("t/a", "2024-01-01", "2024-01-01"),
                                  "t/a/2024-07-01.yaml": text})
    assert codes(store) == ["repeal.content"]
    assert store.diagnostics[0].location.line == 8


def test_a_repeal_with_nothing_before_it_is_an_error(tmp_path):
    store = make_store(tmp_path, {"t/a/2024-07-01.yaml": repeal("t/a", "2024-07-01", "2024-07-01"),
                                  "t/a/2025-01-01.yaml": policy("t/a", "2025-01-01", "2025-01-01")})
    [d] = store.diagnostics
    assert (d.code, d.severity, d.clause) == ("repeal.nothing", "error", "一")
    assert "no version of t/a takes effect before then (it has 2025-01-01)" in d.message


def test_a_repeal_of_a_policy_already_ended_is_a_warning(tmp_path):
    store = make_store(tmp_path, {
        "t/a/2024-01-01.yaml": policy("t/a", "2024-01-01", "2024-01-01", to="2024-03-31"),
        "t/a/2024-07-01.yaml": repeal("t/a", "2024-07-01", "2024-07-01"),
    })
    [d] = store.diagnostics
    assert (d.code, d.severity) == ("repeal.nothing", "warning")
    assert "t/a@2024-01-01 ended on 2024-03-31" in d.message


def test_a_repeal_on_the_day_a_version_begins_is_an_overlap(tmp_path):
    store = make_store(tmp_path, {
        "t/a/2024-01-01.yaml": policy("t/a", "2024-01-01", "2024-01-01"),
        "t/a/2024-07-01.yaml": policy("t/a", "2024-07-01", "2024-07-01"),
        "t/a/2024-07-01-repeal.yaml": repeal("t/a", "2024-07-01-repeal", "2024-07-01"),
    })
    assert codes(store) == ["version.overlap"]


# -- deciding, on a copy of the seed store -------------------------------------------------------------


@pytest.fixture
def seed_copy(tmp_path):
    shutil.copytree(FIXTURES / "store", tmp_path / "policies")
    shutil.copytree(FIXTURES / "schemas", tmp_path / "schemas")
    for pid in ("china/retirement-age", ZJ, JH):  # the fictional cities and notices are not needed here
        assert (tmp_path / "policies" / pid).is_dir()
    shutil.rmtree(tmp_path / "policies" / "wenzhou")
    for extra in (tmp_path / "policies" / ZJ).glob("2025-*.yaml"):
        extra.unlink()
    return tmp_path


def claims_on(seed_copy: Path) -> Path:
    rows = [json.loads(line) for line in (FIXTURES / "claims.jsonl").read_text(encoding="utf-8").splitlines()]
    chosen = [c for c in rows if c["claim_id"].startswith("FICT-JH")][:3]
    path = seed_copy / "claims.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in chosen), encoding="utf-8")
    return path


def test_a_claim_decided_after_a_repeal_says_which_notice_repealed_it(seed_copy):
    (seed_copy / "policies" / JH / "2026-01-01.yaml").write_text(repeal(JH, "2026-01-01", "2026-01-01"),
                                                                 encoding="utf-8")
    engine = Engine.load(seed_copy / "policies", seed_copy / "schemas")
    assert [d.render() for d in engine.check() if d.severity == "error"] == []
    claim = json.loads((FIXTURES / "claims.jsonl").read_text(encoding="utf-8").splitlines()[0])
    evaluator = engine.evaluator(JH, Selection())
    before, after = evaluator.evaluate(claim, as_of=D("2025-12-31")), evaluator.evaluate(claim, as_of=D("2026-01-01"))
    assert before.to_json().get("error") is None
    error = after.to_json()["error"]
    assert error["code"] == "policy.not_in_force"
    assert error["repealed_by"] == f"{JH}@2026-01-01"
    assert "某人社发〔2025〕9号（虚构） repealed it from 2026-01-01" in error["message"]


def test_the_command_line_exits_3_after_a_repeal_and_lists_it(seed_copy, capsys):
    (seed_copy / "policies" / JH / "2026-01-01.yaml").write_text(repeal(JH, "2026-01-01", "2026-01-01"),
                                                                 encoding="utf-8")
    where = ("--policies", seed_copy / "policies", "--schemas", seed_copy / "schemas")
    code, out, err = run(capsys, *where, "evaluate", claims_on(seed_copy), "--policy", JH, "--as-of", "2026-02-01",
                         "--summary", "--format", "json")
    assert code == 3
    assert [json.loads(line)["error"]["code"] for line in out.splitlines()] == ["policy.not_in_force"] * 3
    code, out, _ = run(capsys, *where, "timeline", JH, "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["version"], r["to"], r.get("repeals", False)) for r in rows] == [
        ("2024-05-01", "2025-12-31", False), ("2026-01-01", None, True)]
    code, out, _ = run(capsys, *where, "list", "--format", "json")
    assert {r["id"]: r.get("repeals") for r in map(json.loads, out.splitlines())}[JH] == ["2026-01-01"]


@pytest.mark.parametrize("lang, said", [
    ("en", "[repealed: 2024-07-01; in force again from 2025-01-01]"),
    ("zh", "[已废止：2024-07-01；自 2025-01-01 起重新有效]"),
])
def test_the_list_says_a_policy_enacted_again_after_its_repeal_is_in_force_again(repealed, tmp_path, capsys,
                                                                                   lang, said):
    code, out, _ = run(capsys, "--lang", lang, "--policies", tmp_path / "policies", "--schemas", tmp_path / "schemas",
                       "list")
    assert code == 0 and out.splitlines()[0].endswith(said), out


def test_the_list_says_only_repealed_while_nothing_came_after(tmp_path, capsys):
    make_store(tmp_path, {"t/a/2024-01-01.yaml": policy("t/a", "2024-01-01", "2024-01-01", issued="2023-12-01"),
                          "t/a/2024-07-01.yaml": repeal("t/a", "2024-07-01", "2024-07-01", issued="2024-06-10")})
    code, out, _ = run(capsys, "--lang", "en", "--policies", tmp_path / "policies", "--schemas", tmp_path / "schemas",
                       "list")
    assert code == 0 and out.splitlines()[0].endswith("(2024-01-01)  [repealed: 2024-07-01]"), out


def test_repealing_a_province_stops_the_city_that_extends_it_at_check(seed_copy):
    (seed_copy / "policies" / ZJ / "2026-01-01.yaml").write_text(repeal(ZJ, "2026-01-01", "2026-01-01"),
                                                                 encoding="utf-8")
    engine = Engine.load(seed_copy / "policies", seed_copy / "schemas")
    errors = [d for d in engine.check() if d.severity == "error"]
    assert [(d.code, d.location.file.endswith(f"{JH}/2024-05-01.yaml")) for d in errors] == [
        ("reference.not_in_force", True)]
    assert "on 2026-01-01" in errors[0].message and "repealed from 2026-01-01" in (errors[0].hint or "")
    # the city's own repeal on the same day is what the officer adds: then the store checks clean
    (seed_copy / "policies" / JH / "2026-01-01.yaml").write_text(repeal(JH, "2026-01-01", "2026-01-01"),
                                                                 encoding="utf-8")
    engine = Engine.load(seed_copy / "policies", seed_copy / "schemas")
    assert [d.render() for d in engine.check() if d.severity == "error"] == []


def test_a_reference_a_repeal_breaks_is_said_once_on_its_first_day(seed_copy):
    for day in ("2026-01-01", "2026-07-01"):  # a second repeal adds nothing for the city to fix
        (seed_copy / "policies" / ZJ / f"{day}.yaml").write_text(repeal(ZJ, day, day), encoding="utf-8")
    engine = Engine.load(seed_copy / "policies", seed_copy / "schemas")
    found = [d for d in engine.check() if d.code == "reference.not_in_force"]
    assert len(found) == 1 and "on 2026-01-01" in found[0].message


def test_policy_new_scaffolds_a_repeal_that_checks_with_only_warnings(seed_copy, capsys):
    where = ("--policies", seed_copy / "policies", "--schemas", seed_copy / "schemas")
    code, out, _ = run(capsys, *where, "new", JH, "--effective", "2026-03-01", "--repeal", "--issued", "2026-02-01")
    assert code == 0 and f"a repeal of {JH}@2024-05-01" in out
    text = (seed_copy / "policies" / JH / "2026-03-01.yaml").read_text(encoding="utf-8")
    assert "repeals: true" in text
    code, out, _ = run(capsys, *where, "check", "--format", "json")
    found = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and {d["code"] for d in found} == {"version.unfilled"}
    engine = Engine.load(seed_copy / "policies", seed_copy / "schemas")
    assert engine.store.in_force(JH, D("2026-03-01")) is None


@pytest.mark.parametrize("args, said", [
    (("--effective", "2024-04-01", "--repeal"), "no version in force on 2024-03-31 to repeal"),
    (("--effective", "2026-03-01", "--repeal", "--amend"), "cannot be given together"),
])
def test_policy_new_refuses_a_repeal_of_nothing(seed_copy, capsys, args, said):
    where = ("--policies", seed_copy / "policies", "--schemas", seed_copy / "schemas")
    code, _, err = run(capsys, *where, "new", JH, *args)
    assert code == 64 and said in err


def test_a_repeal_fails_no_case_written_for_the_version_it_ends(tmp_path, capsys):
    """Cases are decided against the version they were written for, as a later version leaves them: the repeal is
    said as what took effect since, not as 49 failures."""
    from tests.authoring_demo import write_store

    policies = write_store(tmp_path)  # its cases hold one that is meant to fail
    _, before, _ = run(capsys, "--policies", policies, "test")
    (policies / "demo" / "grant" / "2024-01-15.yaml").write_text(
        repeal("demo/grant", "2024-01-15", "2024-01-15"), encoding="utf-8")
    _, after, _ = run(capsys, "--policies", policies, "test")
    assert before.splitlines()[-1] == after.splitlines()[-1] == "2 passed, 1 failed"
    assert "dated on or after demo/grant@2024-01-15 took effect: still tested against the version written for" in after


def test_an_amendment_after_a_repeal_amends_nothing(tmp_path):
    """What is amended must be in force the day before: after a repeal, the new version is written whole."""
    amendment = policy("t/a", "2025-03-01", "2025-03-01").replace('version: "2025-03-01"\n',
                                                                 'version: "2025-03-01"\namends: "2024-01-01"\n')
    amendment = amendment[:amendment.index("tables:")]
    store = make_store(tmp_path, {
        "t/a/2024-01-01.yaml": policy("t/a", "2024-01-01", "2024-01-01"),
        "t/a/2024-07-01.yaml": repeal("t/a", "2024-07-01", "2024-07-01"),
        "t/a/2025-03-01.yaml": amendment,
    })
    [d] = [d for d in store.diagnostics if d.severity == "error"]
    assert d.code == "amend.not_previous" and "t/a@2024-07-01 repealed t/a from 2024-07-01" in d.message
    assert d.hint == "policy new t/a --effective 2025-03-01 --from 2024-01-01 copies a version whole"


def test_policy_new_amend_after_a_repeal_says_to_copy_instead(seed_copy, capsys):
    where = ("--policies", seed_copy / "policies", "--schemas", seed_copy / "schemas")
    (seed_copy / "policies" / JH / "2026-01-01.yaml").write_text(repeal(JH, "2026-01-01", "2026-01-01"),
                                                                 encoding="utf-8")
    code, _, err = run(capsys, *where, "new", JH, "--effective", "2026-03-01", "--amend")
    assert code == 64 and "there is no version in force to amend; copy one whole with --from 2024-05-01" in err


def test_a_repeal_scaffold_is_in_the_canonical_layout(seed_copy, capsys):
    from engine.policies.layout import format_text

    where = ("--policies", seed_copy / "policies", "--schemas", seed_copy / "schemas")
    run(capsys, *where, "new", JH, "--effective", "2026-03-01", "--repeal")
    text = (seed_copy / "policies" / JH / "2026-03-01.yaml").read_text(encoding="utf-8")
    assert format_text(text) == text


def test_verify_names_the_repeal_that_leaves_today_no_version(seed_copy, capsys, tmp_path):
    """A decision recorded before a repeal was filed is reproduced; the note on today's store names the repeal."""
    where = ("--policies", seed_copy / "policies", "--schemas", seed_copy / "schemas")
    claims = claims_on(seed_copy)
    code, out, _ = run(capsys, *where, "evaluate", claims, "--policy", JH, "--as-of", "2026-02-01", "--format", "json",
                       "-q")
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_text(out, encoding="utf-8")
    (seed_copy / "policies" / JH / "2026-01-01.yaml").write_text(
        repeal(JH, "2026-01-01", "2026-01-01", issued="2025-12-01"), encoding="utf-8")
    code, out, _ = run(capsys, *where, "verify", recorded, claims, "--format", "json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and rows and all(r["status"] == "reproduced" for r in rows)
    for row in rows:
        assert row["today"]["versions"][0] == (
            f"{JH}@2026-01-01 repeals the policy from 2026-01-01 (某人社发〔2025〕9号（虚构）, issued 2025-12-01; "
            "added to the store after the decision)")


def test_cases_pinned_to_a_repeal_say_how_to_write_them(seed_copy, capsys, tmp_path):
    (seed_copy / "policies" / JH / "2026-01-01.yaml").write_text(repeal(JH, "2026-01-01", "2026-01-01"),
                                                                 encoding="utf-8")
    cases = seed_copy / "policies" / JH / "2026-01-01.cases.yaml"
    cases.write_text(f"policy: {JH}@2026-01-01\nbase: {{}}\ncases:\n  - name: after\n    expect: {{eligible: false}}\n",
                     encoding="utf-8")
    where = ("--policies", seed_copy / "policies", "--schemas", seed_copy / "schemas")
    code, out, _ = run(capsys, "--lang", "en", *where, "test", cases)
    assert code == 1 and "is a repeal" in out
    assert (f"hint: cases of claims decided after a repeal name the policy without a version, policy: {JH}, and "
            "expect not_in_force: true") in out
