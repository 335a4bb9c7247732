"""Commands of the grants ledger, for offices without the service: `policy grant`, `policy ledger list|show|
export|import`, and `policy evaluate --database` (decide with the ledger's history, recording nothing).

They use the database `policy serve --database` uses (migrated here as there), and decide through the same
engine.ledger code, one person at a time. See docs/ledger.md.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import NoReturn

import click
import orjson

from engine.cli.common import (
    EXIT_INVALID,
    EXIT_NOT_IN_FORCE,
    EXIT_OK,
    EXIT_UNDECIDED,
    EXIT_USAGE,
    POLICY_REF,
    Group,
    command,
    engine_of,
    option,
    refuse,
    refuse_if_broken,
    refuse_inputless,
    refuse_unusable_store,
    said,
    usage,
    write_output,
)
from engine.core.i18n import msg, tr

EXIT_NOT_GRANTED = 5  # some claim was decided against the ledger and is not eligible: nothing recorded for it
EXIT_DATABASE = 69  # as `policy serve`: the database cannot be used
EXPORT_COLUMNS = ("grant_id", "seq", "book", "person", "recorded_at", "origin", "policy_id", "policy_version",
                  "policy_digest", "claim_id", "decision_id", "amount", "revoked_at", "revoked_reason")
DATABASE_HELP = msg("SQLAlchemy URL of the service's database: sqlite:///FILE or postgresql://USER@HOST:PORT/NAME.")


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"policy: {tr(message)}", err=True)
    raise click.exceptions.Exit(code)


def open_ledger(url: str, reading: bool = False):
    """The ledger in the database at `url`, its schema brought up to date (as `policy serve` does). A command that
    only reads (`reading`) never creates a SQLite file: a mistyped path would read an empty ledger as if it were the
    office's."""
    from engine.db.database import DatabaseError, connect, migrate, missing_file, shown
    from engine.ledger.book import Ledger

    if reading and missing_file(url):
        _fail(msg("{url}: no such database file (a command that only reads creates none: check the path)",
                  url=shown(url)), EXIT_DATABASE)
    try:
        engine = connect(url)
        migrate(engine)
    except DatabaseError as exc:
        _fail(said(exc), EXIT_DATABASE)
    return Ledger(url, reader=engine)


def _evaluator(ctx, policy):
    from engine.api import PolicyNotFound, Selection

    engine = engine_of(ctx)
    refuse_unusable_store(engine.store)
    pid, pinned = policy
    refuse_if_broken(engine.store, pid)
    try:
        evaluator = engine.evaluator(pid, Selection(pinned, None))
    except PolicyNotFound as exc:
        usage(said(exc))
    refuse_inputless(engine, pid, pinned)
    return engine, evaluator


def _database_errors(action):
    from sqlalchemy.exc import SQLAlchemyError

    from engine.db.database import reason

    try:
        return action()
    except SQLAlchemyError as exc:
        _fail(msg("the ledger cannot be used: {reason}; nothing was recorded", reason=reason(exc)), EXIT_DATABASE)


# -------------------------------------------------------------------------------------------------
# policy evaluate --database


def evaluate_with_ledger(engine, evaluator, claims: list[str], url: str, as_of, fmt: str, summary: bool,
                         verbose: bool, quiet: bool) -> int:
    """`policy evaluate --database URL`: each claim decided with its person's history from the ledger. A claim
    the ledger cannot be asked about (no person, no ledger section) is reported and counted invalid."""
    from engine.api import PolicyInvalid
    from engine.claims.reader import read_claims
    from engine.decide.batch import Counts, OutputFormat, render
    from engine.ledger.granting import LedgerRefusal, decision_json, preview_result

    ledger = open_ledger(url, reading=True)
    counts = Counts()
    out = sys.stdout.buffer
    try:
        for raw in read_claims(claims, sys.stdin.buffer, record=evaluator.input_type()):
            raw = raw.parsed()
            if raw.error is not None:
                counts.add(raw.error)
                out.write(render(raw.error, OutputFormat(fmt, summary, verbose)))
                continue
            try:
                result, used = _database_errors(lambda raw=raw: preview_result(engine, evaluator, ledger, raw.data,
                                                                                 as_of))
            except LedgerRefusal as exc:
                counts.invalid += 1
                click.echo(f"policy: {raw.location}: {exc.code}: {tr(exc.message)}", err=True)
                continue
            counts.add(result)
            if fmt == "json":
                out.write(orjson.dumps(decision_json(result, used, summary)) + b"\n")
            else:
                text = render(result, OutputFormat(fmt, summary, verbose)).decode()
                out.write((tr("History from the ledger (book {book}): {count} grant(s).", book=used.book,
                              count=len(used.grants)) + "\n" + text).encode())
    except PolicyInvalid as exc:
        refuse(exc.diagnostics, evaluator.policy_id)
    out.flush()
    ledger.close()
    if not quiet:
        click.echo(counts.line(), err=True)
    if counts.invalid:
        return EXIT_INVALID
    if counts.undecided:
        return EXIT_UNDECIDED
    return EXIT_NOT_IN_FORCE if counts.not_in_force else EXIT_OK


# -------------------------------------------------------------------------------------------------
# policy grant


@command(help=msg(
    "Decide CLAIMS against the grants ledger and record each that is still eligible.\n\n"
    "One JSON line per claim: {\"grant\", \"decision\"} when granted, {\"error\", \"decision\"} when not. Exit 0 "
    "when every claim was granted, 5 when some was not eligible against the ledger, 2 when some could not be asked "
    "about (invalid, no person), 69 when the database cannot be used."))
@click.argument("claims", nargs=-1, required=True)
@option("--policy", "policy", required=True, type=POLICY_REF, help=msg("ID or ID@VERSION."))
@option("--database", metavar="URL", required=True, help=DATABASE_HELP)
@option("--key", default=None, help=msg("Idempotency key (one claim only): the same key and claim again record "
                                        "nothing more and answer as the first time."))
@click.pass_context
def grant(ctx, claims, policy, database, key):
    from engine.api import PolicyInvalid
    from engine.claims.reader import read_claims
    from engine.db import jsontext
    from engine.ledger.granting import LedgerRefusal
    from engine.ledger.granting import grant as record
    from engine.service.auth import Caller
    from engine.service.personal import Masker, personal_paths

    engine, evaluator = _evaluator(ctx, policy)
    raws = [raw.parsed() for raw in read_claims(list(claims), sys.stdin.buffer)]
    if key is not None and len(raws) != 1:
        usage(msg("--key names the request of one claim; give one claim with it"))
    ledger = open_ledger(database)
    name = engine.store.input_schema_name(evaluator._any_version())
    schema = engine.store.schemas.get(name) if name else None
    personal = personal_paths(schema.schema) if schema else []
    caller = Caller("cli", frozenset(), None)
    policy_text = policy[0] + (f"@{policy[1]}" if policy[1] else "")
    worst = EXIT_OK
    for raw in raws:
        if raw.error is not None:
            click.echo(orjson.dumps({"error": {"code": raw.error.code, "message": tr(raw.error.message),
                                               "location": raw.location}}).decode())
            worst = max(worst, EXIT_INVALID)
            continue
        try:
            answer = _database_errors(lambda raw=raw: record(
                engine, evaluator, ledger, policy=policy_text, claim=raw.data, key=key, follows=None, caller=caller,
                masker=Masker("mask"), personal=personal, origin="cli"))
        except LedgerRefusal as exc:
            click.echo(jsontext.dumps(exc.body() | {"error": {"code": exc.code, "message": tr(exc.message)}}))
            worst = max(worst, EXIT_INVALID)
            continue
        except PolicyInvalid as exc:
            refuse(exc.diagnostics, policy[0])
        if answer.status == 409:  # the remembered answer is in English: shown here in the chosen language
            from engine.ledger.granting import refused

            body = json.loads(answer.body, parse_float=Decimal)  # the decision's numbers exactly as answered
            body["error"]["message"] = tr(refused(body["decision"]))
            click.echo(jsontext.dumps(body))
        else:
            click.echo(answer.body)
        if answer.status != 201:
            worst = EXIT_NOT_GRANTED if worst == EXIT_OK else worst
    ledger.close()
    ctx.exit(worst)


# -------------------------------------------------------------------------------------------------
# policy ledger ...


@click.group(cls=Group, help=msg("Read, export and import the grants ledger (docs/ledger.md)."))
def ledger():
    pass  # its commands below

@ledger.command("list", help=msg("The grants, in recording order; revoked ones marked."))
@option("--database", metavar="URL", required=True, help=DATABASE_HELP)
@option("--person", default=None, help=msg("Only this person's grants."))
@option("--book", default=None, help=msg("Only this book (by default a policy's id)."))
@option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_grants(database, person, book, fmt):
    book_ = open_ledger(database, reading=True)
    found = _database_errors(lambda: book_.grants_of(None, book, person) if person
                             else book_.every_grant(book))
    _refuse_unknown_book(book_, book, found)
    for g in found:
        if fmt == "json":
            click.echo(orjson.dumps(g.to_json()).decode())
        else:
            state = tr(" REVOKED {at}: {reason}", at=g.revoked["at"], reason=g.revoked["reason"]) if g.revoked else ""
            click.echo(f"{g.grant_id}  {g.recorded_at[:10]}  {g.book}  {g.person}  {g.amount or '-'}  "
                       f"{orjson.dumps(g.record).decode()}{state}")
    if fmt == "text":
        click.echo(tr("{count} grant(s)", count=len(found)), err=True)


@ledger.command("show", help=msg("One grant, as JSON."))
@click.argument("grant_id")
@option("--database", metavar="URL", required=True, help=DATABASE_HELP)
def show_grant(grant_id, database):
    book = open_ledger(database, reading=True)
    found = _database_errors(lambda: book.grant(grant_id))
    if found is None:
        _fail(msg("no grant {grant_id} in the ledger", grant_id=repr(grant_id)), EXIT_USAGE)
    click.echo(orjson.dumps(found.to_json(), option=orjson.OPT_INDENT_2).decode())


@ledger.command("export", help=msg(
    "Every grant with its revocation, in recording order: JSON Lines (one grant a line, as `ledger show`) or CSV "
    "(the columns of the grant, then one column per field of its record)."))
@option("--database", metavar="URL", required=True, help=DATABASE_HELP)
@option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@option("--book", default=None, help=msg("Only this book."))
@option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
        help=msg("Write here instead of standard output."))
def export(database, fmt, book, output):
    book_ = open_ledger(database, reading=True)
    found = _database_errors(lambda: book_.every_grant(book))
    _refuse_unknown_book(book_, book, found)
    if fmt == "jsonl":
        text = "".join(orjson.dumps(g.to_json()).decode() + "\n" for g in found)
    else:
        fields = list(dict.fromkeys(name for g in found for name in g.record))
        columns = [c for c in EXPORT_COLUMNS if c not in fields]  # a record field of the same name says it
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns + fields)
        for g in found:
            meta = g.to_json() | {"policy_id": g.policy["id"], "policy_version": g.policy["version"],
                                  "policy_digest": g.policy["digest"],
                                  "revoked_at": g.revoked["at"] if g.revoked else None,
                                  "revoked_reason": g.revoked["reason"] if g.revoked else None}
            writer.writerow(["" if meta.get(c) is None else meta[c] for c in columns]
                            + ["" if g.record.get(f) is None else g.record[f] for f in fields])
        text = buffer.getvalue()
    if output:
        write_output(output, text)
        click.echo(tr("{count} grant(s) written to {path}", count=len(found), path=str(output)), err=True)
    else:
        click.echo(text, nl=False)


@ledger.command("import", help=msg(
    "Import an office's existing grant records from CSV (a header row) or JSON Lines (one object a line).\n\n"
    "Each row has `person` and every field of the policy's ledger.record (grant_id, claim_id and the columns "
    "`ledger export` writes are also read); each is checked, and a bad row is reported with its line. Then all rows "
    "are imported in one transaction, or none: with --skip-bad, the good ones. Exit 0 when every row was imported, "
    "2 when some row is bad."))
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@option("--policy", "policy", required=True, type=POLICY_REF,
        help=msg("The policy whose ledger section says what a record holds (its book is written to)."))
@option("--database", metavar="URL", required=True, help=DATABASE_HELP)
@option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default=None,
        help=msg("Default: from the file's suffix (.csv, else JSON Lines)."))
@option("--skip-bad", is_flag=True, help=msg("Import the good rows even when some are bad (default: all or none)."))
@option("--dry-run", is_flag=True, help=msg("Check every row, import nothing."))
@click.pass_context
def import_grants(ctx, file, policy, database, fmt, skip_bad, dry_run):
    from engine.ledger.transfer import ImportRefused, already_there, read_rows, write_rows

    engine = engine_of(ctx)
    refuse_unusable_store(engine.store)
    pid, pinned = policy
    refuse_if_broken(engine.store, pid)
    spec, types = _spec_and_types(engine, pid, pinned)
    kind = fmt or ("csv" if file.suffix.lower() == ".csv" else "jsonl")
    name = engine.store.input_schema_name(spec.owner)
    schema = engine.store.schemas.get(name) if name else None
    rows, problems = read_rows(file, kind, spec, types, schema.schema if schema else None)
    from engine.db.database import missing_file

    book = None if dry_run and missing_file(database) else open_ledger(database)  # a dry run creates no file
    if book is not None:
        rows, taken = _database_errors(lambda: already_there(book, file, rows))
        problems = problems + taken
    for problem in problems:
        click.echo(f"policy: {tr(problem)}", err=True)
    if problems and not skip_bad:
        click.echo(tr("{bad} bad row(s): nothing imported (--skip-bad imports the good ones)", bad=len(problems)),
                   err=True)
        ctx.exit(EXIT_INVALID)
    if dry_run:
        click.echo(tr("{good} row(s) would be imported", good=len(rows)), err=True)
        ctx.exit(EXIT_INVALID if problems else EXIT_OK)
    assert book is not None  # opened unless this was a dry run
    try:
        taken = _database_errors(lambda: write_rows(book, spec, rows, pid))
    except ImportRefused as exc:
        _fail(said(exc), EXIT_INVALID)
    click.echo(tr("{good} grant(s) imported into {book}; {bad} bad row(s) left out", good=taken, book=spec.book_name,
                  bad=len(problems)), err=True)
    ctx.exit(EXIT_INVALID if problems else EXIT_OK)


def _refuse_unknown_book(ledger, book: str | None, found: list) -> None:
    """`--book` naming no book of the ledger (empty, or mistyped) is a usage error: reading nothing, silently,
    would look like a book with no grants."""
    if book is None or found:
        return
    if not book.strip():
        usage(msg("--book is empty: give a book, or leave --book out for every book"))
    books = _database_errors(ledger.books)
    if book not in books:
        usage(msg("the ledger has no book {book}; its books: {books}", book=repr(book),
                  books=", ".join(books) or msg("none")))


def _spec_and_types(engine, pid: str, pinned: str | None):
    from datetime import date

    from engine.api import PolicyNotFound
    from engine.policies.ledgerspec import ledger_of, record_types

    try:  # a pin the store lacks is refused, never read as the latest version
        version = engine.pinned_version(pid, pinned) if pinned else engine.version_for(pid, date.today())
    except PolicyNotFound as exc:
        usage(said(exc))
    if version is None:  # none in force today: the latest, whose ledger section says what a record holds
        version = engine.store.versions(pid)[-1]
    spec = ledger_of(engine.linked(version, version.effective_from))
    if spec is None:
        _fail(msg("{policy} declares no ledger section, so its grants cannot be recorded or counted",
                  policy=version.key), EXIT_USAGE)
    return spec, record_types(engine.store, spec)


COMMANDS = [grant, ledger]
