"""The ledger's commands through engine.cli.main.main: `policy grant`, `policy ledger list|show|export|import`
and `policy evaluate --database`, on a real SQLite file, with the fictional ledger store."""
from __future__ import annotations

import json
import re

import pytest
from clirun import invoke
from service_helpers import FIXTURES

from engine.cli.main import main

STORE = ["--policies", str(FIXTURES / "ledger" / "store"), "--schemas", str(FIXTURES / "ledger" / "schemas")]
POLICY = "fict/counted-grant"


def run(capsys, *args):
    return invoke(capsys, *STORE, *args)


@pytest.fixture
def database(tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


def claim_file(tmp_path, n: int, person: str | None = "甲", item: str | None = None) -> str:
    data = {"claim_id": f"c{n}", "applied_on": "2024-03-01", "item": item or f"i{n}", "grade": "a"}
    if person:
        data["person"] = person
    path = tmp_path / f"claim{n}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_grant_records_until_the_limit_then_refuses(capsys, tmp_path, database):
    code, out, _ = run(capsys, "grant", *(claim_file(tmp_path, n) for n in (1, 2, 3)), "--policy", POLICY,
                       "--database", database)
    items = [json.loads(line)["grant"]["record"]["item"] for line in out.splitlines()]
    assert code == 0 and items == ["i1", "i2", "i3"]
    code, out, _ = run(capsys, "grant", claim_file(tmp_path, 4), "--policy", POLICY, "--database", database)
    answer = json.loads(out)
    assert code == 5 and answer["error"]["code"] == "ledger.refused"
    assert [r["id"] for r in answer["decision"]["rules"] if r["outcome"] == "fail"] == ["three_a_year"]
    code, out, _ = run(capsys, "grant", claim_file(tmp_path, 5, person=None), "--policy", POLICY, "--database",
                       database)
    assert code == 2 and json.loads(out)["error"]["code"] == "ledger.no_person"


def test_grant_with_a_key_answers_the_same_twice(capsys, tmp_path, database):
    path = claim_file(tmp_path, 1)
    first = run(capsys, "grant", path, "--policy", POLICY, "--database", database, "--key", "k1")
    second = run(capsys, "grant", path, "--policy", POLICY, "--database", database, "--key", "k1")
    assert first[0] == second[0] == 0 and first[1] == second[1]
    code, out, _ = run(capsys, "ledger", "list", "--database", database, "--format", "json")
    assert len(out.splitlines()) == 1


def test_evaluate_with_the_database_previews_with_the_ledgers_history(capsys, tmp_path, database):
    run(capsys, "grant", claim_file(tmp_path, 1), "--policy", POLICY, "--database", database)
    code, out, _ = run(capsys, "evaluate", claim_file(tmp_path, 2, item="i1"), "--policy", POLICY, "--database",
                       database, "--format", "json")
    decision = json.loads(out)
    assert code == 0 and decision["eligible"] is False
    assert decision["history"]["source"] == "ledger" and decision["history"]["entries"][0]["item"] == "i1"
    code, out, _ = run(capsys, "evaluate", claim_file(tmp_path, 2, item="i1"), "--policy", POLICY, "--database",
                       database)
    assert code == 0 and "History from the ledger (book fict/counted-grant): 1 grant(s)." in out
    # the record keeps the history it used: verify reproduces it from the claim alone
    records = tmp_path / "decisions.jsonl"
    records.write_text(json.dumps(decision, ensure_ascii=False) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "verify", str(records), str(tmp_path / "claim2.json"))
    assert code == 0, out


def test_export_then_import_into_another_database_keeps_every_grant(capsys, tmp_path, database):
    run(capsys, "grant", *(claim_file(tmp_path, n) for n in (1, 2)), "--policy", POLICY, "--database", database)
    for fmt in ("csv", "jsonl"):
        exported = tmp_path / f"export.{fmt}"
        assert run(capsys, "ledger", "export", "--database", database, "--format", fmt, "-o", str(exported))[0] == 0
        other = f"sqlite:///{tmp_path / f'other-{fmt}.sqlite3'}"
        code, _, err = run(capsys, "ledger", "import", str(exported), "--policy", POLICY, "--database", other)
        assert code == 0 and "2 grant(s) imported" in err
        _, before, _ = run(capsys, "ledger", "list", "--database", database, "--format", "json")
        _, after, _ = run(capsys, "ledger", "list", "--database", other, "--format", "json")
        keep = ("grant_id", "person", "book", "record", "claim_id", "amount")
        assert [{k: json.loads(line)[k] for k in keep} for line in after.splitlines()] == \
            [{k: json.loads(line)[k] for k in keep} for line in before.splitlines()]
        # again: the grant ids are already there, each row is named, nothing is imported twice
        for again in ([], ["--dry-run"], ["--skip-bad"]):
            code, _, err = run(capsys, "ledger", "import", str(exported), "--policy", POLICY, "--database", other,
                               *again)
            assert code == 2, again
            ids = [json.loads(line)["grant_id"] for line in before.splitlines()]
            for grant_id in ids:
                assert f"grant_id {grant_id} is already in the ledger" in err, (again, err)
            assert re.search(rf"{re.escape(str(exported))}:\d+: grant_id", err)
        assert "0 grant(s) imported" in err  # --skip-bad: only what is new, here nothing
        _, again_after, _ = run(capsys, "ledger", "list", "--database", other, "--format", "json")
        assert again_after == after


def test_a_revoked_grant_stays_revoked_through_export_and_import(capsys, tmp_path, database):
    """A revocation is part of the record: imported again, the grant is revoked (not counted), in CSV and JSONL."""
    from engine.ledger.book import Ledger

    run(capsys, "grant", *(claim_file(tmp_path, n) for n in (1, 2)), "--policy", POLICY, "--database", database)
    _, out, _ = run(capsys, "ledger", "list", "--database", database, "--format", "json")
    first = json.loads(out.splitlines()[0])["grant_id"]
    ledger = Ledger(database)
    try:
        with ledger.transaction() as connection:
            ledger.revoke(connection, first, "wrong person", role="admin", token=None)
    finally:
        ledger.close()
    _, before, _ = run(capsys, "ledger", "list", "--database", database, "--format", "json")
    for fmt in ("csv", "jsonl"):
        exported = tmp_path / f"revoked.{fmt}"
        assert run(capsys, "ledger", "export", "--database", database, "--format", fmt, "-o", str(exported))[0] == 0
        other = f"sqlite:///{tmp_path / f'revoked-{fmt}.sqlite3'}"
        assert run(capsys, "ledger", "import", str(exported), "--policy", POLICY, "--database", other)[0] == 0
        _, after, _ = run(capsys, "ledger", "list", "--database", other, "--format", "json")
        revoked = [(json.loads(line)["grant_id"], (json.loads(line)["revoked"] or {}).get("reason"),
                    (json.loads(line)["revoked"] or {}).get("at")) for line in after.splitlines()]
        assert revoked == [(json.loads(line)["grant_id"], (json.loads(line)["revoked"] or {}).get("reason"),
                            (json.loads(line)["revoked"] or {}).get("at")) for line in before.splitlines()]
        assert revoked[0][1] == "wrong person" and revoked[1][1] is None
        # not counted: the same item and grade may be granted again in the imported ledger
        assert run(capsys, "grant", claim_file(tmp_path, 1), "--policy", POLICY, "--database", other)[0] == 0


@pytest.mark.parametrize("amount", ["-3300", "1e3", "3,300", "3300元", ""])
def test_import_refuses_an_amount_that_is_no_sum_of_money(capsys, tmp_path, database, amount):
    rows = tmp_path / "records.csv"
    rows.write_text(f"person,item,grade,granted_on,amount,version\n乙,i1,a,2024-01-05,\"{amount}\",2024-01-01\n",
                    encoding="utf-8")
    code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database)
    assert code == 2 and "nothing imported" in err
    assert f"{rows}:2: amount " in err


def test_import_checks_every_row_and_imports_all_or_none(capsys, tmp_path, database):
    rows = tmp_path / "records.csv"
    rows.write_text("person,item,grade,granted_on,amount,version\n"
                    "乙,i1,a,2024-01-05,100,2024-01-01\n"
                    ",i2,a,2024-01-05,100,2024-01-01\n"
                    "乙,i3,a,2024-02-30,300,2024-01-01\n"
                    "乙,i4,a,2024-01-05,4x,2024-01-01\n", encoding="utf-8")
    code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database)
    assert code == 2
    assert f"{rows}:3: person is empty" in err and f"{rows}:4: granted_on must be date" in err
    assert f"{rows}:5: amount must be a number written out" in err and "nothing imported" in err
    assert run(capsys, "ledger", "list", "--database", database, "--format", "json")[1] == ""
    code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database,
                       "--skip-bad")
    assert code == 2 and "1 grant(s) imported" in err
    code, out, _ = run(capsys, "ledger", "list", "--database", database, "--person", "乙", "--format", "json")
    imported = json.loads(out)
    assert imported["origin"] == "import" and imported["record"]["granted_on"] == "2024-01-05"
    # an imported grant counts: the same item and grade is refused, and the show command finds it
    code, out, _ = run(capsys, "grant", claim_file(tmp_path, 9, person="乙", item="i1"), "--policy", POLICY,
                       "--database", database)
    assert code == 5
    code, out, _ = run(capsys, "ledger", "show", imported["grant_id"], "--database", database)
    assert code == 0 and json.loads(out)["grant_id"] == imported["grant_id"]
    lines = tmp_path / "records.jsonl"
    lines.write_text('{"person": "丙", "item": "i1", "grade": "a", "granted_on": "2024-01-05", "amount": "100", '
                     '"version": "2024-01-01"}\nnot json\n{"person": "丙", "colour": "red"}\n', encoding="utf-8")
    code, _, err = run(capsys, "ledger", "import", str(lines), "--policy", POLICY, "--database", database)
    assert code == 2 and f"{lines}:2: not JSON" in err and f"{lines}:3: unknown column colour" in err


def test_a_database_that_cannot_be_used_is_exit_69(capsys, tmp_path):
    code, _, err = run(capsys, "ledger", "list", "--database", "mysql://nobody@127.0.0.1/none")
    assert code == 69 and "SQLite or PostgreSQL" in err


def test_import_holds_each_row_to_the_input_schema(capsys, tmp_path, database):
    """With the seed copies: the resident id and the history entry a row becomes follow the claim's schema."""
    rows = tmp_path / "office.csv"
    rows.write_text("person,occupation_code,level,granted_on,amount,policy_version\n"
                    "330702199003070011,2-02-10-11,junior,2024-02-01,3300,2024-05-01\n"
                    "33070219900307001,2-02-10-11,senior,2024-02-03,5200,2024-05-01\n"
                    "330702199003070011,2-02-10,junior,2024-03-01,2300,2024-05-01\n"
                    "330702199003070011,2-02-07-13,expert,2024-03-01,2300,2024-05-01\n", encoding="utf-8")
    seed = ["--policies", str(FIXTURES / "store"), "--schemas", str(FIXTURES / "schemas")]
    code = main([*seed, "ledger", "import", str(rows), "--policy", "jinhua/digital-engineer-subsidy", "--database",
                 database, "--skip-bad"])
    _, err = capsys.readouterr()
    assert code == 2
    assert f"{rows}:3: person: the text '33070219900307001' does not have the required form" in err
    assert f"{rows}:4: history.occupation_code:" in err and f"{rows}:5: history.level:" in err
    assert "1 grant(s) imported into zhejiang/digital-engineer" in err


def _revised_store(tmp_path, edit) -> list[str]:
    """The fictional ledger store with a second version of the policy, its text changed by `edit`."""
    import shutil
    root = tmp_path / "store"
    shutil.copytree(FIXTURES / "ledger" / "store", root)
    folder = root / POLICY
    text = (folder / "2024-01-01.yaml").read_text(encoding="utf-8")
    revised = edit(text.replace('version: "2024-01-01"', 'version: "2025-01-01"').replace(
        "from: 2024-01-01", "from: 2025-01-01"))
    (folder / "2025-01-01.yaml").write_text(revised, encoding="utf-8")
    return ["--policies", str(root), "--schemas", str(FIXTURES / "ledger" / "schemas")]


def test_diff_shows_what_changed_in_the_ledger_section(capsys, tmp_path):
    store = _revised_store(tmp_path, lambda t: t.replace("revoked: not_counted", "revoked: counted").replace(
        "    version: decision.policy.version\n", ""))
    code = main([*store, "diff", f"{POLICY}@2024-01-01", f"{POLICY}@2025-01-01", "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 0
    ledger = [c for c in json.loads(out)["changes"] if c["section"] == "ledger"]
    assert [(c["change"], c["field"], c["old"], c["new"], c["clause"]) for c in ledger] == [
        ("changed", "record.version", "decision.policy.version", None, "二"),
        ("changed", "revoked", "not_counted", "counted", "二")]
    for lang, line in [("en", "  ledger revoked: not_counted → counted [二]"),
                       ("zh", "  登记簿 revoked：not_counted → counted [二]")]:
        assert main([*store, "diff", f"{POLICY}@2024-01-01", f"{POLICY}@2025-01-01", "--lang", lang]) == 0
        assert line in capsys.readouterr()[0].splitlines()


def test_diff_shows_a_ledger_section_removed(capsys, tmp_path):
    store = _revised_store(tmp_path, lambda t: t[:t.index("ledger:")])
    assert main([*store, "diff", f"{POLICY}@2024-01-01", f"{POLICY}@2025-01-01", "--format", "json"]) == 0
    (change,) = [c for c in json.loads(capsys.readouterr()[0])["changes"] if c["section"] == "ledger"]
    assert (change["change"], change["old"]["person.fact"], change["old"]["history.fact"]) == (
        "removed", "person", "past")


def test_the_ledger_may_record_a_fact_of_the_policys_own(capsys, tmp_path):
    own_fact = ("input:\n  schema: counted-claim.schema.json\n  facts:\n    region:\n      clause: 二\n"
                "      schema: {type: string}\n")
    recorded = "    version: decision.policy.version\n    region: claim.region\n"
    store = _revised_store(tmp_path, lambda t: t.replace("input:\n  schema: counted-claim.schema.json\n", own_fact)
                           .replace("    version: decision.policy.version\n", recorded))
    assert main([*store, "check"]) == 0, capsys.readouterr()
    capsys.readouterr()
    # a misspelt own fact is still named, with the fact it meant
    store = _revised_store(tmp_path / "again", lambda t: t.replace(
        "input:\n  schema: counted-claim.schema.json\n", own_fact).replace(
        "    version: decision.policy.version\n", "    region: claim.regoin\n"))
    assert main([*store, "check", "--format", "json"]) == 1
    (problem,) = [json.loads(line) for line in capsys.readouterr()[0].splitlines()
                  if json.loads(line).get("code") == "ledger.field"]
    assert "regoin" in problem["message"] and "region" in (problem.get("hint") or "")


@pytest.mark.parametrize("damage, said", [
    ("result = '{not json'", "the log's result of this decision cannot be read"),
    ("decided_at = '2024-02-30 10:00:00'", "the log's decided_at of this decision cannot be read"),
    ("decision_date = '2024-02-30'", None),  # a column the record does not show: no harm
    ("claim = X'00ff'", "the log's claim of this decision cannot be read"),  # bytes, not text
    # a claim changed, its digest left: decided again it could still match the result, so the digest says it
    ("claim = json_set(claim, '$.claim_id', 'changed')", "the logged claim does not have its claim_digest"),
])
def test_verify_of_the_log_reports_a_damaged_row_and_verifies_the_others(capsys, tmp_path, database, damage,
                                                                         said):
    """The log is append-only while its triggers stand; someone who can drop them can change a row. verify exists to
    find that: the changed row is UNREADABLE, saying which value, and every other decision is still verified."""
    import sqlite3

    assert run(capsys, "grant", *(claim_file(tmp_path, n) for n in (1, 2, 3)), "--policy", POLICY,
               "--database", database)[0] == 0
    with sqlite3.connect(database.removeprefix("sqlite:///")) as connection:
        connection.execute("DROP TRIGGER decisions_no_update")
        connection.execute(f"UPDATE decisions SET {damage} WHERE seq = 2")
    code, out, err = run(capsys, "verify", "--database", database, "--from", "2000-01-01", "--format", "json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert "internal error" not in err and len(lines) == 3
    assert [line["status"] for line in lines] == (["reproduced"] * 3 if said is None else
                                                  ["reproduced", "unreadable", "reproduced"])
    if said is not None:
        assert code != 0 and said in lines[1]["reason"]


def test_an_export_that_cannot_be_written_is_exit_74(capsys, tmp_path, database):
    run(capsys, "grant", claim_file(tmp_path, 1), "--policy", POLICY, "--database", database)
    code, _, err = run(capsys, "ledger", "export", "--database", database, "-o", str(tmp_path / "none" / "x.jsonl"))
    assert code == 74 and "cannot write the output to" in err and "internal error" not in err


@pytest.mark.parametrize("command", [("ledger", "list"), ("ledger", "export"), ("ledger", "show", "some-id")])
def test_a_command_that_only_reads_never_creates_a_database(capsys, tmp_path, command):
    """A mistyped path must not read as an empty ledger (and leave a new file and folder behind)."""
    typo = tmp_path / "typo" / "ledger.sqlite3"
    code, out, err = run(capsys, *command, "--database", f"sqlite:///{typo}")
    assert code == 69 and "no such database file" in err and not out
    assert not typo.parent.exists()


def test_evaluate_with_a_database_that_is_not_there_is_exit_69(capsys, tmp_path):
    typo = tmp_path / "typo.sqlite3"
    code, _, err = run(capsys, "evaluate", claim_file(tmp_path, 1), "--policy", POLICY, "--database", f"sqlite:///{typo}")
    assert code == 69 and "no such database file" in err and not typo.exists()


def test_import_reads_json_numbers_with_a_fraction_and_a_file_with_a_byte_order_mark(capsys, tmp_path, database):
    rows = tmp_path / "records.jsonl"
    rows.write_bytes(b"\xef\xbb\xbf" + '{"person": "丁", "item": "i1", "grade": "a", "granted_on": "2024-01-05", '
                     '"amount": 3300.5, "version": "2024-01-01"}\n'.encode())
    code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database)
    assert code == 0 and "1 grant(s) imported" in err
    _, out, _ = run(capsys, "ledger", "list", "--database", database, "--format", "json")
    assert json.loads(out)["amount"] == "3300.5"


def test_import_keeps_a_json_amount_exact_and_refuses_a_revocation_it_cannot_read(capsys, tmp_path, database):
    """A JSON number is the number written (no float rounds it); a `revoked` that is no revocation is a bad row,
    never a grant imported live (which would count against the person)."""
    rows = tmp_path / "records.jsonl"
    row = ('{"person": "戊", "item": "i1", "grade": "a", "granted_on": "2024-01-05", "amount": AMOUNT, '
           '"version": "2024-01-01"REVOKED}\n')
    rows.write_text(row.replace("AMOUNT", "3300.10000000000000001").replace("REVOKED", ""), encoding="utf-8")
    code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database)
    assert code == 0, err
    _, out, _ = run(capsys, "ledger", "list", "--database", database, "--format", "json")
    assert json.loads(out)["amount"] == "3300.10000000000000001"
    for revoked in ("true", '"yes"'):
        rows.write_text(row.replace("AMOUNT", "3300").replace("REVOKED", f', "revoked": {revoked}'),
                        encoding="utf-8")
        code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database)
        assert code == 2 and f"{rows}:1: revoked is the revocation, {{at, by, reason}}, or null" in err, err


def test_a_csv_row_is_named_by_the_line_it_starts_on_and_a_short_one_says_so(capsys, tmp_path, database):
    rows = tmp_path / "records.csv"
    rows.write_text('person,item,grade,granted_on,amount,version\n庚,i1,a,2024-01-05,"33\n00",2024-01-01\n'
                    "\n庚,i2,a,2024-01-05\n", encoding="utf-8")
    code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database)
    assert code == 2
    assert f"{rows}:2: amount " in err  # the row spans lines 2 and 3: named by its first
    assert f"{rows}:5: the row has 4 cells; the header has 6 columns" in err


@pytest.mark.parametrize("cells, given", [
    ("2024-07-01T00:00:00+00:00,", "revoked_at"),
    (",only a reason", "revoked_reason"),
    ("2024-07-01T00:00:00+00:00,  ", "revoked_at"),  # a reason left blank
])
def test_a_revocation_with_only_its_time_or_its_reason_is_a_bad_row(capsys, tmp_path, database, cells, given):
    """Half a revocation imported as one would stop the grant counting, revoked at the import's time or for no
    reason: the person could be granted the same item again."""
    rows = tmp_path / "records.csv"
    rows.write_text("person,item,grade,granted_on,amount,version,revoked_at,revoked_reason\n"
                    f"乙,i1,a,2024-01-05,100,2024-01-01,{cells}\n", encoding="utf-8")
    code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database,
                       "--skip-bad")
    assert code == 2 and f"{rows}:2: a revoked grant needs both revoked_at (when) and revoked_reason (why), " \
        f"found {given}; leave both empty for a grant that stands" in err
    assert "0 grant(s) imported" in err


@pytest.mark.parametrize("revoked", ["{}", '{"at": null, "reason": null}', '{"reason": "x"}',
                                     '{"at": "2024-07-01T00:00:00+00:00", "by": "admin"}'])
def test_a_json_revocation_lacking_its_time_or_reason_is_a_bad_row(capsys, tmp_path, database, revoked):
    rows = tmp_path / "records.jsonl"
    rows.write_text('{"person": "戊", "item": "i1", "grade": "a", "granted_on": "2024-01-05", "amount": 3300, '
                    f'"version": "2024-01-01", "revoked": {revoked}}}\n', encoding="utf-8")
    code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database)
    assert code == 2 and f"{rows}:1: revoked needs both at (when) and reason (why), found " in err, err  # its names


@pytest.mark.parametrize("column, value, most", [("amount", "1" * 65, 64), ("grant_id", "g" * 37, 36),
                                                 ("claim_id", "c" * 201, 200)])
def test_a_value_longer_than_its_column_is_a_bad_row_in_the_dry_run_too(capsys, tmp_path, database, column, value,
                                                                        most):
    """SQLite would take it; PostgreSQL refuses the whole import with "value too long" and names no line."""
    cells = {"person": "乙", "item": "i1", "grade": "a", "granted_on": "2024-01-05", "amount": "100",
             "version": "2024-01-01"} | {column: value}
    rows = tmp_path / "records.csv"
    rows.write_text(",".join(cells) + "\n" + ",".join(cells.values()) + "\n", encoding="utf-8")
    for dry in ("--dry-run", None):
        code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", POLICY, "--database", database,
                           *([dry] if dry else []))
        assert code == 2 and f"{rows}:2: {column} is {len(value)} characters long; the ledger holds at most {most}" \
            in err, err


def test_import_under_a_policy_or_version_the_store_lacks_is_a_usage_error(capsys, tmp_path, database):
    """Not an internal error, and never the latest version in place of the one asked for."""
    rows = tmp_path / "records.csv"
    rows.write_text("person,item,grade,granted_on,amount,version\n乙,i1,a,2024-01-05,100,2024-01-01\n",
                    encoding="utf-8")
    for policy, said in (("nope/x", "no policy 'nope/x'; known: "),
                         (POLICY + "@2099-01-01", f"{POLICY} has no version '2099-01-01' (it has ")):
        code, _, err = run(capsys, "ledger", "import", str(rows), "--policy", policy, "--database", database)
        assert code == 64 and said in err and "internal error" not in err, err
    assert run(capsys, "ledger", "list", "--database", database)[1] == ""  # nothing was imported


def test_grant_says_its_refusals_in_the_chosen_language(capsys, tmp_path, database):
    bad = tmp_path / "bad.json"
    bad.write_text('{"claim_id": "bad"}', encoding="utf-8")
    code, out, _ = run(capsys, "--lang", "zh", "grant", str(bad), "--policy", POLICY, "--database", database)
    error = json.loads(out)["error"]
    assert code == 2 and error["code"] == "ledger.claim_not_decided" and "不登记发放" in error["message"]
    run(capsys, "grant", claim_file(tmp_path, 1), "--policy", POLICY, "--database", database)
    code, out, _ = run(capsys, "--lang", "zh", "grant", claim_file(tmp_path, 1), "--policy", POLICY, "--database",
                       database)  # the same item again: refused against the ledger
    error = json.loads(out)["error"]
    assert code == 5 and error["code"] == "ledger.refused" and error["message"].startswith("未发放："), error


def test_grant_under_a_policy_that_declares_no_input_is_a_usage_error(capsys, tmp_path, database):
    import shutil

    store = tmp_path / "store"
    shutil.copytree(FIXTURES / "ledger" / "store", store)
    (store / "fict" / "table-only").mkdir()
    (store / "fict" / "table-only" / "2024-01-01.yaml").write_text(
        "policy: fict/table-only\nversion: \"2024-01-01\"\ntitle: 表\neffective: {from: 2024-01-01}\n"
        "issued_on: 2023-12-01\nsource: {number: 文号, title: 表, issuers: [局], clauses: {一: 文}}\n"
        "definitions: {x: {clause: 一, expr: '1'}}\nexports: [x]\n", encoding="utf-8")
    code, _, err = invoke(capsys, "--policies", str(store), "--schemas", str(FIXTURES / "ledger" / "schemas"),
                          "grant", claim_file(tmp_path, 1), "--policy", "fict/table-only", "--database", database)
    assert code == 64 and "fict/table-only declares no input (no input.schema)" in err, err


def test_a_book_that_is_empty_or_not_in_the_ledger_is_a_usage_error_not_no_grants(capsys, tmp_path, database):
    run(capsys, "grant", claim_file(tmp_path, 1), "--policy", POLICY, "--database", database)
    _, out, _ = run(capsys, "ledger", "list", "--database", database, "--format", "json")
    book = json.loads(out)["book"]
    for command in ("list", "export"):
        code, _, err = run(capsys, "ledger", command, "--database", database, "--book", book + "x")
        assert code == 64 and f"the ledger has no book '{book}x'; its books: {book}" in err, err
        code, _, err = run(capsys, "ledger", command, "--database", database, "--book", "")
        assert code == 64 and "--book is empty" in err
    code, out, _ = run(capsys, "ledger", "list", "--database", database, "--book", book, "--person", "nobody")
    assert (code, out) == (0, "")  # a book the ledger has, with nothing for this person: nothing to list
