"""Opening the database: a URL, its schema brought up to date by Alembic, and a refusal of newer schemas.

SQLite (the default, a file in the user's data folder) and PostgreSQL (`postgresql://`, through psycopg 3)
are the databases the service is tested on.
"""
from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from engine.core.i18n import Message, msg

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DatabaseError(Exception):
    """The database cannot be used: unreachable, unknown URL, or a schema this version does not know."""


def shown(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def connect(url: str) -> Engine:
    """An SQLAlchemy engine for `url`; `postgresql://` means psycopg 3. Raises DatabaseError."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(msg("{url} is not a database URL (sqlite:///FILE or postgresql://USER@HOST/NAME)",
                                url=repr(url))) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):  # postgres:// is libpq's spelling too (psql, Heroku, many .env files)
        parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, pool_size=8, max_overflow=8,
                             connect_args={"connect_timeout": 5})
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _sqlite_folder(Path(database).expanduser(), url)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    raise DatabaseError(msg("{url}: the service keeps its log in SQLite or PostgreSQL, not {backend}", url=shown(url),
                            backend=backend))


def _sqlite_folder(path: Path, url: str) -> None:
    """The default file's folder is made when first used; a file named in a URL must be in a folder that exists. A
    mistyped path must not quietly start an empty decision log and ledger, in which every grant made before is
    missing (and "never twice" checked against nothing)."""
    from engine.db.location import default_sqlite_path

    if path.resolve() == default_sqlite_path().resolve():
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.parent.is_dir():
        raise DatabaseError(msg("{url}: the folder {folder} does not exist; check the path, or create the folder for "
                                "a new database", url=shown(url), folder=str(path.parent)))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (auditors' searches) run beside the writer; FULL syncs each commit to disk, so an
    # acknowledged decision survives a crash of the machine, not only of the server.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config(connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# The newest revision of migrations/versions (tests/test_service_db.py holds it to Alembic's head).
HEAD = "0006_signed_out_sessions"


def _at_head(connection) -> bool:
    """Whether the schema is at HEAD, read with SQLAlchemy alone: importing Alembic and reading its scripts cost
    every start of the service or a ledger command about 0.1 s, for nothing when there is nothing to migrate."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]


def migrate(engine: Engine) -> str:
    """Bring the schema up to date (creating it in an empty database); return the revision it is at.
    A database whose revision this version does not know was written by a newer one: refused, untouched.

    SQLite may answer "database is locked" at once, without waiting, while another process creates the same new
    database (switching it to WAL, or a lock it would otherwise deadlock on): asked again shortly, it finds the
    schema made, or makes it."""
    for attempt in range(8):
        try:
            return _migrate(engine)
        except _Locked:
            time.sleep(0.1 * 2 ** attempt)
    return _migrate(engine, last=True)


class _Locked(Exception):
    """SQLite was busy: worth asking again."""


def _failed(engine: Engine, exc: SQLAlchemyError, last: bool) -> Exception:
    if not last and engine.dialect.name == "sqlite" and getattr(getattr(exc, "orig", None), "sqlite_errorname",
                                                                  None) in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return _Locked()
    return DatabaseError(msg("cannot use the database {url}: {reason}", url=shown(str(engine.url)),
                             reason=reason(exc)))


def _migrate(engine: Engine, last: bool = False) -> str:
    try:
        with engine.begin() as connection:
            if _at_head(connection):
                return HEAD
    except SQLAlchemyError as exc:
        raise _failed(engine, exc, last) from None
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.util import CommandError

    migrating = immediate(str(engine.url)) if engine.dialect.name == "sqlite" else engine
    try:
        with migrating.begin() as connection:
            if engine.dialect.name == "postgresql":  # instances starting together on a new database take turns
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
                if _at_head(connection):  # the one before made it
                    return HEAD
            config = _alembic_config(connection)
            _refuse_newer(engine, connection)
            try:
                command.upgrade(config, "head")
            except CommandError as exc:
                raise DatabaseError(msg("{url}: the schema cannot be migrated: {reason}", url=shown(str(engine.url)),
                                        reason=str(exc))) from None
            return MigrationContext.configure(connection).get_current_heads()[0]
    except SQLAlchemyError as exc:
        raise _failed(engine, exc, last) from None
    finally:
        if migrating is not engine:
            migrating.dispose()


_MIGRATION_LOCK = 0x706F6C6963790001  # "policy" + 1: the advisory lock migrations hold, held to the transaction


def immediate(url: str) -> Engine:
    """An SQLite engine whose every transaction begins IMMEDIATE: it takes the write lock before it reads, so what
    it reads cannot change before it commits (two processes creating one new database's schema wait for each
    other instead of both creating the tables). The driver leaves transactions to it."""
    engine = connect(url)
    event.listen(engine, "connect", _no_driver_transactions)
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _no_driver_transactions(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None


def _refuse_newer(engine: Engine, connection) -> tuple:
    """The revisions the database is at; DatabaseError when this version does not know one of them."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(connection))
    known = {rev.revision for rev in script.walk_revisions()}
    current = MigrationContext.configure(connection).get_current_heads()
    unknown = [rev for rev in current if rev not in known]
    if unknown:
        raise DatabaseError(msg(
            "{url} has schema revision {revisions}, which this version of policy-engine does not know (it knows up "
            "to {head}): it was written by a newer version; upgrade policy-engine, or use another database",
            url=shown(str(engine.url)), revisions=", ".join(unknown), head=script.get_current_head()))
    return current


def missing_file(url: str) -> bool:
    """Whether `url` names a SQLite file that is not there (connecting would create it, empty)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
        and not parsed.database.startswith("file:") and not Path(parsed.database).expanduser().is_file()


def open_existing(url: str) -> Engine:
    """A database that already holds a decision log, for reading it: nothing is created or migrated."""
    if missing_file(url):
        raise DatabaseError(msg("{url}: no such database file", url=shown(url)))
    engine = connect(url)
    try:
        with engine.connect() as connection:
            at_head = _at_head(connection)
            current = () if at_head else _refuse_newer(engine, connection)
            if not at_head and not current:
                raise DatabaseError(msg("{url} holds no decision log (no schema): nothing was logged there",
                                        url=shown(url)))
            if current:  # older: reading it would fail on a column it does not have yet
                raise DatabaseError(msg(
                    "{url} has schema revision {revisions}, older than this version's {head}: a command that only "
                    "reads does not migrate it; start `policy serve --database URL` once (it migrates at start), "
                    "then read it", url=shown(url), revisions=", ".join(current), head=HEAD))
    except SQLAlchemyError as exc:
        raise DatabaseError(msg("cannot use the database {url}: {reason}", url=shown(url),
                                reason=reason(exc))) from None
    return engine


def reachable(engine: Engine) -> str | None:
    """None when a query goes through, else why not."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except SQLAlchemyError as exc:
        return reason(exc)


def writable(engine: Engine) -> str | None:
    """None when the database takes writes, else why not. A read-only SQLite file (or folder) or a PostgreSQL
    standby answers every read, and SQLite even takes its write lock: only a write says it, here one that changes
    nothing (the schema's revision set to itself), rolled back."""
    try:
        with engine.connect() as connection:
            try:
                connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            finally:
                connection.rollback()
        return None
    except SQLAlchemyError as exc:
        return reason(exc)


def reason(exc: BaseException) -> str:
    """The driver's own first line (connection refused, disk full, ...), without SQLAlchemy's wrapping."""
    if len(exc.args) == 1 and isinstance(exc.args[0], Message):  # ours: shown in the reader's language
        return exc.args[0]
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
