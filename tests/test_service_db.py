"""The database layer without a server: migrations against the tables the code uses, exact JSON text,
and which fields count as personal."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from service_helpers import FIXTURES

from engine.claims.reader import read_json
from engine.db import jsontext
from engine.db.database import HEAD, MIGRATIONS, DatabaseError, connect, migrate, open_existing
from engine.db.tables import metadata
from engine.service.personal import Masker, personal_paths


def test_the_migrations_build_the_tables_the_code_uses(tmp_path):
    engine = connect(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    assert migrate(engine) == "0006_signed_out_sessions"
    assert migrate(engine) == "0006_signed_out_sessions"  # again: nothing to do
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_the_head_checked_without_alembic_is_alembics_head(tmp_path):
    """migrate() and open_existing() read the schema's revision themselves, to start without Alembic when there is
    nothing to migrate: their HEAD must be the newest migration, and an older schema is still brought up to it."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    engine = connect(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003_ledger")
    # a command that only reads says so, and migrates nothing (it used to fail on a column the schema lacks)
    with pytest.raises(DatabaseError, match="schema revision 0003_ledger, older than this version's"):
        open_existing(url)
    assert migrate(engine) == HEAD
    open_existing(url).dispose()
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    engine.dispose()


def test_reading_a_log_creates_nothing(tmp_path):
    with pytest.raises(DatabaseError, match="no such database file"):
        open_existing(f"sqlite:///{tmp_path / 'none.sqlite3'}")
    assert not (tmp_path / "none.sqlite3").exists()
    sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}").connect().close()
    with pytest.raises(DatabaseError, match="holds no decision log"):
        open_existing(f"sqlite:///{tmp_path / 'empty.sqlite3'}")


def test_logged_json_keeps_every_digit():
    claim = read_json(b'{"hours": 80.000000000000000000000001, "n": 123456789012345678901234567890}', "x").data
    assert claim["hours"] == Decimal("80.000000000000000000000001")
    text = jsontext.dumps(claim)
    assert text == '{"hours":80.000000000000000000000001,"n":123456789012345678901234567890}'
    assert read_json(text.encode(), "log").data == claim
    assert jsontext.dumps({"a": [1, "两"]}) == '{"a":[1,"两"]}'


def test_the_training_claim_marks_the_resident_id_number_personal():
    schema = json.loads((FIXTURES / "schemas" / "training-claim.schema.json").read_text(encoding="utf-8"))
    assert personal_paths(schema) == [("applicant", "id_number")]


def test_personal_fields_through_refs_and_lists():
    schema = {"type": "object", "$defs": {"person": {"type": "object", "properties": {
        "name": {"type": "string", "x-personal": True}, "age": {"type": "integer"}}}},
        "properties": {"owner": {"$ref": "#/$defs/person"},
                       "family": {"type": "array", "items": {"$ref": "#/$defs/person"}}}}
    paths = personal_paths(schema)
    claim = {"owner": {"name": "甲", "age": 40}, "family": [{"name": "乙", "age": 9}, {"age": 7}]}
    logged, notes, _ = Masker("mask").apply(claim, paths)
    assert logged == {"owner": {"age": 40}, "family": [{"age": 9}, {"age": 7}]}
    assert [n["path"] for n in notes] == ["owner.name", "family[0].name"]
    assert claim["owner"]["name"] == "甲"  # the answer's claim is untouched
    kept, none, _ = Masker("keep").apply(claim, paths)
    assert kept is claim and none == []
    _, hashed, _ = Masker("hash", b"key").apply(claim, paths)
    _, other_key, _ = Masker("hash", b"another key").apply(claim, paths)
    assert hashed[0]["how"] == "hashed" and hashed[0]["hmac_sha256"] != other_key[0]["hmac_sha256"]
    with pytest.raises(ValueError, match="needs a key"):
        Masker("hash")


@pytest.mark.parametrize("url", ["postgresql://office@127.0.0.1:5432/decisions",
                                 "postgres://office@127.0.0.1:5432/decisions"])
def test_postgresql_urls_in_either_spelling_use_psycopg(url):
    """`postgres://` is libpq's spelling as much as `postgresql://`: it was refused as a database of another kind."""
    engine = connect(url)
    try:
        assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_a_database_of_another_kind_is_refused_by_name():
    with pytest.raises(DatabaseError, match="SQLite or PostgreSQL, not mysql"):
        connect("mysql://office@127.0.0.1/decisions")


@pytest.mark.slow
def test_two_processes_creating_one_new_sqlite_database_both_succeed(tmp_path):
    """Two `policy grant` (or service workers) starting on a new database at once: the second waits for the first
    to create the schema, instead of failing with "table alembic_version already exists"."""
    import subprocess
    import sys

    script = ("import sys; from engine.db.database import connect, migrate; "
              "print(migrate(connect(sys.argv[1])))")
    for round_ in range(4):
        url = f"sqlite:///{tmp_path / f'new-{round_}.sqlite3'}"
        started = [subprocess.Popen([sys.executable, "-c", script, url], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
        answers = [process.communicate(timeout=120) for process in started]
        assert [(p.returncode, out.strip()) for p, (out, _) in zip(started, answers, strict=True)] == \
            [(0, HEAD), (0, HEAD)], answers
