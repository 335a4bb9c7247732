"""The grants ledger without a server: the policy's `ledger:` section read and checked at its lines, grants
decided against the ledger on a real SQLite database, and migrations that keep every grant."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy
from service_helpers import FIXTURES

from engine.api import Engine
from engine.db.database import _alembic_config, connect, migrate
from engine.ledger.book import LOCAL_CALLER, Ledger
from engine.ledger.granting import LedgerRefusal, grant, preview
from engine.policies.ledgerspec import ledger_of
from engine.service.auth import LOCAL, Caller
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


def _upgrade_to(engine, revision: str, down: bool = False) -> None:
    from alembic import command

    with engine.begin() as connection:
        (command.downgrade if down else command.upgrade)(_alembic_config(connection), revision)


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
    assert migrate(engine) == "0006_signed_out_sessions"
    after = Ledger(url).every_grant()
    assert [g.to_json() for g in after] == [g.to_json() for g in before]
    assert [g.grant_id for g in after] == ["g0", "g1", "g2"] and after[1].revoked["reason"] == "wrong person"
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def empty_database(request, tmp_path):
    """The URL of an empty database: a SQLite file, or a PostgreSQL server of the test's own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    from service_helpers import Postgres

    with Postgres() as pg:
        yield pg.url


def _keys_table(engine) -> list[dict]:
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sqlalchemy.text(
            "SELECT caller_token, key, request_hash, status, response FROM idempotency_keys ORDER BY key"))]


A, B = "0123456789ab", "fedcba987654"  # two tokens' ids


def test_keys_of_revision_0004_upgrade_to_the_caller_of_their_answer_and_back(empty_database):
    """Rows written at 0004 kept no caller: each gets the caller its logged decision (or its grant) names, so the
    same caller's retry is still answered and no other caller ever is; one whose caller is not found answers
    nobody. Keys sent after the upgrade are each caller's own; the downgrade keeps the first caller's row."""
    engine = connect(empty_database)
    _upgrade_to(engine, "0004_idempotency_keys")
    decision = {"engine_version": "0.1.0", "caller_role": "officer", "request": "{}", "policy": POLICY,
                "versions": "[]", "outcome": "eligible", "claim": "{}", "digest": "sha256:0", "masked": "[]",
                "result": "{}"}
    logged = [("d-a", A), ("d-local", None)]
    stored = [  # key, status, the answer's decision, the caller it must get
        ("k-a", 201, "d-a", A),  # granted, decision logged with token A
        ("k-local", 409, "d-local", LOCAL_CALLER),  # refused, logged without a token
        ("k-grant", 201, "d-not-logged", B),  # the grant of the key says who recorded it
        ("k-lost", 409, None, "unknown"),  # nothing says who sent it
    ] + [(f"k-more-{i:03}", 409, "d-a", A) for i in range(520)]  # more than one page of the copy
    rows = [{"key": key, "request_hash": f"sha256:{key}", "status": status,
             "response": json.dumps({"error": {"code": "ledger.refused"}, "decision": {"decision_id": found}})
             if found else "{}"} for key, status, found, _ in stored]
    with engine.begin() as connection:
        for decision_id, token in logged:
            connection.execute(sqlalchemy.text(
                "INSERT INTO decisions (decision_id, decided_at, engine_version, caller_role, caller_token, request, "
                "policy_id, versions, outcome, claim, claim_digest, masked, result) VALUES (:id, CURRENT_TIMESTAMP, "
                ":engine_version, :caller_role, :token, :request, :policy, :versions, :outcome, :claim, :digest, "
                ":masked, :result)"), decision | {"id": decision_id, "token": token})
        connection.execute(sqlalchemy.text(
            "INSERT INTO grants (grant_id, book, person, recorded_at, origin, recorded_by_role, recorded_by_token, "
            "policy_id, record, idempotency_key) VALUES ('g0', 'b', 'p', CURRENT_TIMESTAMP, 'service', 'officer', "
            ":token, :policy, '{}', 'k-grant')"), {"policy": POLICY, "token": B})
        connection.execute(sqlalchemy.text(
            "INSERT INTO idempotency_keys (key, request_hash, status, response, created_at) "
            "VALUES (:key, :request_hash, :status, :response, CURRENT_TIMESTAMP)"), rows)
    before = Ledger(empty_database).every_grant()
    assert migrate(engine) == "0006_signed_out_sessions"
    owners = {key: owner for key, _, _, owner in stored}
    assert _keys_table(engine) == sorted(({"caller_token": owners[row["key"]]} | row for row in rows),
                                         key=lambda row: row["key"])
    ledger = Ledger(empty_database)
    assert [g.to_json() for g in ledger.every_grant()] == [g.to_json() for g in before]
    for key, _, _, owner in stored[:4]:  # the caller's own answer; nobody else's
        for caller in (A, B, LOCAL_CALLER):
            found = ledger.remembered(None, caller, key)
            assert (found is not None) == (caller == owner), (key, caller)
    with ledger.transaction() as connection:  # a new key: each caller's own
        ledger.remember(connection, A, "new", "sha256:a", 201, '{"a":1}')
        ledger.remember(connection, B, "new", "sha256:b", 409, '{"b":1}')
        ledger.remember(connection, B, "k-a", "sha256:b", 409, '{"b":2}')  # A's old key is not B's
    assert ledger.remembered(None, A, "new").response == '{"a":1}'
    assert ledger.remembered(None, B, "new").response == '{"b":1}'
    assert ledger.remembered(None, LOCAL_CALLER, "new") is None
    with pytest.raises(sqlalchemy.exc.IntegrityError), ledger.transaction() as connection:
        ledger.remember(connection, A, "new", "sha256:c", 201, "{}")
    ledger.close()

    _upgrade_to(engine, "0004_idempotency_keys", down=True)  # one row per key: the first caller's
    with engine.connect() as connection:
        back = {r.key: r.response for r in connection.execute(sqlalchemy.text(
            "SELECT key, response FROM idempotency_keys"))}
    assert len(back) == len(rows) + 1 and back["new"] == '{"a":1}' and back["k-a"] == rows[0]["response"]
    assert migrate(engine) == "0006_signed_out_sessions"  # and up again: the callers found as before
    again = {row["key"]: row["caller_token"] for row in _keys_table(engine)}
    assert again == owners | {"new": "unknown"}
    engine.dispose()


def test_one_key_of_two_callers_is_two_requests(ledger):
    engine = Engine.load(LEDGER / "store", LEDGER / "schemas")

    def send(who: str, token: str | None):
        return grant(engine, engine.evaluator(POLICY), ledger, policy=POLICY, key="same", follows=None,
                     claim={"claim_id": f"c-{who}", "applied_on": "2024-05-01", "person": who, "item": "i1",
                            "grade": "a"},
                     caller=Caller("officer", frozenset({"officer"}), token), masker=Masker("mask"),
                     personal=[("person",)])

    answers = [send("甲", A), send("乙", B)]
    assert [a.status for a in answers] == [201, 201] and not any(a.replayed for a in answers)
    assert answers[0].grant.grant_id != answers[1].grant.grant_id and len(ledger.every_grant()) == 2
    # the very request A sent, with A's key, from another caller: decided for that caller, never A's answer
    other = send("甲", None)  # no token: the caller `local`
    assert not other.replayed and other.status == 409 and other.body != answers[0].body
    again = send("甲", A)
    assert again.replayed and again.status == 201 and again.body == answers[0].body
    assert len(ledger.every_grant()) == 2


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


def test_instances_starting_together_on_a_new_database_all_migrate_it(empty_database):
    """Replicas deployed at the same moment: each one's migration waits for the one before, then finds it made
    (on PostgreSQL two would both create the tables, and all but one fail on a duplicate type)."""
    from concurrent.futures import ThreadPoolExecutor

    engines = [connect(empty_database) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            revisions = list(pool.map(migrate, engines))
    finally:
        for engine in engines:
            engine.dispose()
    assert len(set(revisions)) == 1 and revisions[0]
