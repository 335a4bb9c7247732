"""The grants ledger without a server: the policy's `ledger:` section read and checked at its lines, grants
decided against the ledger on a real SQLite database, and migrations that keep every grant."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy
from service_helpers import FIXTURES

from engine.api import Engine
from engine.db.database import _alembic_config, connect, migrate
from engine.ledger.book import Ledger
from engine.ledger.granting import LedgerRefusal, grant, preview
from engine.policies.ledgerspec import ledger_of
from engine.service.auth import LOCAL
from engine.service.personal import Masker

LEDGER = FIXTURES / "ledger"
POLICY = "fict/counted-grant"
FILE = "fict/counted-grant/2024-01-01.yaml"


def fixture_copy(tmp_path: Path, edit=None) -> tuple[Path, Path]:
    store, schemas = tmp_path / "store", tmp_path / "schemas"
    shutil.copytree(LEDGER / "store", store)
    shutil.copytree(LEDGER / "schemas", schemas)
    if edit:
        path = store / FILE
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return store, schemas


def diagnostics(tmp_path: Path, edit) -> list:
    store, schemas = fixture_copy(tmp_path, edit)
    return [d for d in Engine.load(store, schemas).check() if d.severity == "error"]


def line_of(tmp_path: Path, text: str) -> int:
    lines = (tmp_path / "store" / FILE).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# -- the section -----------------------------------------------------------------------------------


def test_the_fixture_and_the_seed_copies_check_clean():
    assert [d for d in Engine.load(LEDGER / "store", LEDGER / "schemas").check() if d.severity == "error"] == []
    assert [d for d in Engine.load(FIXTURES / "store", FIXTURES / "schemas").check() if d.severity == "error"] == []


def test_a_transposition_inherits_the_ledger_and_its_book():
    engine = Engine.load(FIXTURES / "store", FIXTURES / "schemas")
    from datetime import date

    for pid in ("zhejiang/digital-engineer", "jinhua/digital-engineer-subsidy", "wenzhou/digital-engineer-subsidy"):
        version = engine.version_for(pid, date(2024, 10, 1))
        spec = ledger_of(engine.linked(version, date(2024, 10, 1)))
        assert spec is not None and spec.book_name == "zhejiang/digital-engineer", pid
        assert spec.history_fact == "history" and not spec.revoked_counted


def test_a_projected_field_that_does_not_exist_is_an_error_at_its_line(tmp_path):
    found = diagnostics(tmp_path, lambda t: t.replace("item: claim.item", "item: claim.itme"))
    assert [(d.code, d.location.line) for d in found] == [("ledger.field", line_of(tmp_path, "claim.itme"))]
    assert "itme" in found[0].message and found[0].hint == "did you mean 'item'?" and found[0].clause == "二"


@pytest.mark.parametrize("edit, code, at", [
    (lambda t: t.replace("fact: person,", "fact: persn,"), "ledger.field", "persn"),
    (lambda t: t.replace("version: decision.policy.version", "version: decision.policy.name"), "ledger.field",
     "decision.policy.name"),
    (lambda t: t.replace("fact: past", "fact: item"), "ledger.history", "fact: item"),
    (lambda t: t.replace("grade: grade, on: granted_on", "grade: grade, when: granted_on"), "ledger.field",
     "when: granted_on"),
    (lambda t: t.replace("on: granted_on}", "on: amount}"), "ledger.history", "on: amount"),
    (lambda t: t.replace("on: granted_on}", "on: granted}"), "ledger.field", "on: granted}"),
])
def test_every_path_of_the_section_is_checked(tmp_path, edit, code, at):
    found = diagnostics(tmp_path, edit)
    assert code in [d.code for d in found], [d.render() for d in found]
    assert line_of(tmp_path, at) in [d.location.line for d in found if d.code == code]


def test_an_unmapped_required_history_field_is_an_error(tmp_path):
    found = diagnostics(tmp_path, lambda t: t.replace("fields: {item: item, grade: grade, on: granted_on}",
                                                      "fields: {item: item, grade: grade}"))
    assert [d.code for d in found] == ["ledger.history"] and "on" in found[0].message


def test_a_malformed_section_is_a_format_error(tmp_path):
    found = diagnostics(tmp_path, lambda t: t.replace("revoked: not_counted", "revoked: maybe"))
    assert [d.code for d in found] == ["schema.invalid"] and found[0].location.line == line_of(tmp_path, "maybe")


# -- deciding against the ledger -------------------------------------------------------------------


@pytest.fixture
def ledger(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    migrate(connect(url))
    book = Ledger(url)
    yield book
    book.close()


def _grant(engine, ledger, claim, key):
    return grant(engine, engine.evaluator(POLICY), ledger, policy=POLICY, claim=claim, key=key, follows=None,
                 caller=LOCAL, masker=Masker("mask"), personal=[("person",)])


def test_grants_counted_from_the_ledger_by_calendar_year(ledger):
    engine = Engine.load(LEDGER / "store", LEDGER / "schemas")
    statuses = [_grant(engine, ledger, {"claim_id": f"c{i}", "applied_on": "2024-12-30", "person": "甲",
                                        "item": f"i{i}", "grade": "a"}, f"k{i}").status for i in range(1, 5)]
    assert statuses == [201, 201, 201, 409]
    # a new year: three more; the same item and grade still never twice
    assert _grant(engine, ledger, {"claim_id": "n1", "applied_on": "2025-01-02", "person": "甲", "item": "i4",
                                   "grade": "a"}, "n1").status == 201
    assert _grant(engine, ledger, {"claim_id": "n2", "applied_on": "2025-01-02", "person": "甲", "item": "i1",
                                   "grade": "a"}, "n2").status == 409
    # another person is not counted with the first
    assert _grant(engine, ledger, {"claim_id": "o1", "applied_on": "2024-12-30", "person": "乙", "item": "i1",
                                   "grade": "a"}, "o1").status == 201
    seen = preview(engine, engine.evaluator(POLICY), ledger, {"claim_id": "p", "applied_on": "2024-12-31",
                                                              "person": "甲", "item": "i8", "grade": "a"}, None)
    assert seen["eligible"] is False and seen["history"]["source"] == "ledger"
    assert len(seen["history"]["entries"]) == 4 and len(ledger.grants_of(None, POLICY, "甲")) == 4  # nothing recorded


def test_a_policy_without_a_ledger_records_nothing(ledger, tmp_path):
    engine = Engine.load(*fixture_copy(tmp_path, lambda t: t[:t.index("ledger:")]))
    with pytest.raises(LedgerRefusal) as refused:
        _grant(engine, ledger, {"claim_id": "c", "applied_on": "2024-05-01", "person": "丙", "item": "i1",
                                "grade": "a"}, "k")
    assert refused.value.code == "ledger.not_declared" and ledger.every_grant() == []


def test_the_ledger_is_written_once(ledger):
    engine = Engine.load(LEDGER / "store", LEDGER / "schemas")
    _grant(engine, ledger, {"claim_id": "c", "applied_on": "2024-05-01", "person": "丙", "item": "i1", "grade": "a"},
           "w1")
    for statement in ("UPDATE grants SET amount = '1'", "DELETE FROM grants"):
        with pytest.raises(sqlalchemy.exc.DatabaseError, match="written"), ledger.reader.begin() as connection:
            connection.execute(sqlalchemy.text(statement))


# -- migrations --------------------------------------------------------------------------------------


def _upgrade_to(engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def test_a_database_of_each_earlier_revision_upgrades_with_every_grant_intact(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = connect(url)
    _upgrade_to(engine, "0003_ledger")  # the ledger as it was before idempotency keys
    rows = [{"grant_id": f"g{i}", "book": "b", "person": "p", "recorded_at": sqlalchemy.func.now(),
             "origin": "import", "recorded_by_role": "officer", "recorded_by_token": None, "policy_id": POLICY,
             "policy_version": "2024-01-01", "policy_digest": None, "claim_id": f"c{i}", "decision_id": None,
             "amount": "100", "record": '{"item":"i1"}', "idempotency_key": None} for i in range(3)]
    with engine.begin() as connection:
        for row in rows:
            connection.execute(sqlalchemy.text(
                "INSERT INTO grants (grant_id, book, person, recorded_at, origin, recorded_by_role, policy_id, "
                "policy_version, claim_id, amount, record) VALUES (:grant_id, :book, :person, CURRENT_TIMESTAMP, "
                ":origin, :recorded_by_role, :policy_id, :policy_version, :claim_id, :amount, :record)"), row)
        connection.execute(sqlalchemy.text(
            "INSERT INTO grant_revocations (grant_id, revoked_at, revoked_by_role, reason) "
            "VALUES ('g1', CURRENT_TIMESTAMP, 'officer', 'wrong person')"))
    before = Ledger(url).every_grant()
    assert migrate(engine) == "0004_idempotency_keys"
    after = Ledger(url).every_grant()
    assert [g.to_json() for g in after] == [g.to_json() for g in before]
    assert [g.grant_id for g in after] == ["g0", "g1", "g2"] and after[1].revoked["reason"] == "wrong person"
    engine.dispose()


def test_an_amendment_keeps_the_ledger_of_the_version_it_amends(tmp_path):
    from datetime import date

    store, schemas = fixture_copy(tmp_path)
    (store / "fict/counted-grant/2024-06-01.yaml").write_text(
        "# 虚构 / FICTIONAL — for tests only.\n"
        "policy: fict/counted-grant\nversion: \"2024-06-01\"\namends: \"2024-01-01\"\ntitle: 虚构的计次补贴（修订）\n"
        "effective: {from: 2024-06-01}\nissued_on: 2024-05-01\n"
        "source: {number: 虚构〔2024〕2号, title: 虚构修订, issuers: [虚构局], clauses: {三: 附表增加 i9。}}\n"
        "tables:\n  amounts:\n    clause: 三\n    add_rows:\n      - [i9, a, 900]\n"
        "", encoding="utf-8")
    engine = Engine.load(store, schemas)
    assert [d.render() for d in engine.check() if d.severity == "error"] == []
    version = engine.version_for(POLICY, date(2024, 7, 1))
    assert version.version == "2024-06-01"
    spec = ledger_of(engine.linked(version, date(2024, 7, 1)))
    assert spec is not None and spec.book_name == POLICY and spec.history_fact == "past"
