"""Importing an office's existing grant records (CSV or JSON Lines), checked row by row against the policy's
`ledger:` section, and written in one transaction.

A row has `person` and every field of `ledger.record`; `grant_id`, `claim_id` and the other columns
`policy ledger export` writes are read where they are meaningful and otherwise ignored, so an export can
be imported again. A cell is checked against the type its record field has (a date is YYYY-MM-DD, a number
an exact decimal); a bad row is reported as FILE:LINE and left out.
"""
from __future__ import annotations

import csv
import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import cast

from sqlalchemy import String, select

from engine.claims.reader import BOM
from engine.core.i18n import joined, msg, series
from engine.core.isodate import parse_date
from engine.core.records import dataclass
from engine.db.tables import grants
from engine.language.types import BOOL, DATE, DECIMAL, INT, Nullable, Type

IMPORT_COLUMNS = {"grant_id", "claim_id", "seq", "book", "recorded_at", "origin", "policy_id", "policy_version",
                  "policy_digest", "decision_id", "amount", "revoked_at", "revoked_reason"}


@dataclass
class Row:
    line: int
    person: str
    record: dict
    grant_id: str | None = None
    claim_id: str | None = None
    revoked: tuple | None = None  # (when, why) of a grant the export says was revoked: imported revoked


def read_rows(path: Path, kind: str, spec, types: dict, schema: dict | None = None) -> tuple[list[Row], list[str]]:
    """(good rows, a problem per bad row as "FILE:LINE: what"). With the policy's input schema, the person and
    the history entry a row becomes are held to it too (patterns, enumerations), as a claim's would be."""
    checks = _schema_checks(spec, schema) if schema else None
    rows: list[Row] = []
    problems: list[str] = []
    try:
        items = list(_csv(path) if kind == "csv" else _jsonl(path))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return [], [msg("{file}: cannot be read: {reason}", file=str(path), reason=str(exc))]
    seen_ids: set = set()
    for line, item in items:
        where = f"{path}:{line}"
        if isinstance(item, str):
            problems.append(joined((where, item), ": "))
            continue
        problem = _check(item, spec, types)
        if problem is None and item.get("grant_id"):
            if item["grant_id"] in seen_ids:
                problem = msg("grant_id {grant_id} is given twice in the file", grant_id=item["grant_id"])
            seen_ids.add(item["grant_id"])
        if problem is not None:
            problems.append(joined((where, problem), ": "))
            continue
        record = {name: _typed(item[name], types.get(name)) for name in spec.record}
        problem = _against_schema(checks, spec, str(item["person"]), record) if checks else None
        if problem is not None:
            problems.append(joined((where, problem), ": "))
            continue
        revoked = _revocation(item)
        if isinstance(revoked, str):
            problems.append(joined((where, revoked), ": "))
            continue
        rows.append(Row(line, str(item["person"]), record, item.get("grant_id") or None, item.get("claim_id") or None,
                        revoked))
    return rows, problems


def _revocation(item: dict) -> tuple | str | None:
    """(when, why) where the row says its grant was revoked (`revoked_at`, `revoked_reason`), or what is wrong: a
    revocation has both (with one alone the grant would stop counting, revoked at a time nobody gave, or for no
    reason), and `revoked` of a JSON line, when it is an object, is one."""
    at, reason = item.get("revoked_at"), item.get("revoked_reason")
    if at is None and reason is None and not item.get(_REVOKED_OBJECT):
        return None
    if at is None or reason is None or not str(reason).strip():
        given = [name for name, value in ((0, at), (1, reason)) if value is not None and str(value).strip()]
        if item.get(_REVOKED_OBJECT):  # a JSON line's `revoked`, in its own names
            return msg("revoked needs both at (when) and reason (why), found {given}; write revoked: null for a grant "
                       "that stands", given=series([("at", "reason")[i] for i in given]) or msg("neither"))
        return msg("a revoked grant needs both revoked_at (when) and revoked_reason (why), found {given}; leave both "
                   "empty for a grant that stands",
                   given=series([("revoked_at", "revoked_reason")[i] for i in given]) or msg("neither"))
    try:
        when = datetime.fromisoformat(str(at)) if at is not None else None
    except ValueError:
        return msg("revoked_at must be a time such as 2024-06-15T09:30:00+00:00, found {value}", value=repr(at))
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when, str(reason or "")


def _csv(path: Path):
    """(line, row) of each row, the line the row starts on (a quoted cell may hold line breaks)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        read = [0]  # physical lines handed to the reader so far

        def lines():
            for line in handle:
                read[0] += 1
                yield line

        reader = csv.reader(lines())
        header = next(reader, None)
        if header is None:
            return
        while True:
            start = read[0] + 1
            row = next(reader, None)
            if row is None:
                return
            if not row:  # a blank line
                continue
            if len(row) != len(header):
                yield start, (msg("the row has more cells than the header has columns") if len(row) > len(header)
                              else msg("the row has {count} cells; the header has {columns} columns",
                                       count=len(row), columns=len(header)))
                continue
            yield start, {k: v for k, v in zip(header, row, strict=True) if v != ""}


def _jsonl(path: Path):
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if number == 1:
                line = line.removeprefix(BOM)  # a byte order mark is no part of the first row
            if not line.strip():
                continue
            try:  # numbers exactly as written (an amount of 3300.10000000000000001 is no float's)
                data = json.loads(line.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
            except (ValueError, UnicodeDecodeError) as exc:
                yield number, msg("not JSON: {reason}", reason=str(exc))
                continue
            if not isinstance(data, dict):
                yield number, msg("a row is a JSON object")
                continue
            record = data.pop("record", None)  # a line of `ledger export`: the record's fields are nested
            revoked = data.pop("revoked", None)  # and its revocation, {at, by, reason}, as the CSV's two columns
            if revoked is not None and not isinstance(revoked, dict):  # read as live, a revoked grant would count
                yield number, msg("revoked is the revocation, {{at, by, reason}}, or null; not {value}",
                                  value=json.dumps(revoked, default=str))
                continue
            if isinstance(revoked, dict):  # an object is a revocation: one with neither field is a bad row
                data |= {"revoked_at": revoked.get("at"), "revoked_reason": revoked.get("reason"),
                         _REVOKED_OBJECT: True}
            if isinstance(record, dict):
                data = {**record, **{k: v for k, v in data.items() if not isinstance(v, dict)}}
            yield number, {k: v for k, v in data.items() if v is not None and not isinstance(v, dict)}


_REVOKED_OBJECT = "\0revoked"  # set on a JSON line whose `revoked` is an object: no column has this name


def _no_constant(name: str):
    raise ValueError(f"JSON has no number {name}")


def _check(item: dict, spec, types: dict) -> str | None:
    unknown = sorted(set(item) - set(spec.record) - IMPORT_COLUMNS - {"person", _REVOKED_OBJECT})
    if unknown:
        return msg("unknown column {column}; the columns are {fields}", column=unknown[0],
                   fields=series(["person", *spec.record]))
    person = item.get("person")
    if isinstance(person, bool) or not isinstance(person, (str, int)) or str(person).strip() == "":
        return msg("person is empty")
    columns = _LONGEST | {name: _LONGEST_FROM[source.text] for name, source in spec.record.items()
                          if source.text in _LONGEST_FROM}
    for name, most in columns.items():  # the columns' sizes: PostgreSQL would refuse the whole import
        value = item.get(name)
        if value is not None and len(str(value)) > most:
            return msg("{field} is {length} characters long; the ledger holds at most {most}", field=name,
                       length=len(str(value)), most=most)
    missing = [name for name in spec.record if name not in item]
    if missing:
        return msg("{fields} missing", fields=", ".join(missing))
    for name in spec.record:
        wanted = types.get(name)
        if _typed(item[name], wanted) is _BAD:
            shown = json.dumps(item[name], default=str) if not isinstance(item[name], str) else repr(item[name])
            if (wanted.inner if isinstance(wanted, Nullable) else wanted) == DECIMAL:
                return msg("{field} must be a number written out, not below zero (such as 3300 or 3300.50), found "
                           "{value}", field=name, value=shown)
            return msg("{field} must be {type}, found {value}", field=name, type=str(wanted), value=shown)
    return None


def _length(column: str) -> int:
    """How many characters a text column of the grants table holds (its String(N))."""
    return cast(String, grants.c[column].type).length or 0


_LONGEST = {name: _length(name) for name in ("grant_id", "person", "claim_id")}
# record fields written to a column of their own too (write_rows), by their source
_LONGEST_FROM = {"decision.amount": _length("amount"), "decision.policy.version": _length("policy_version")}
_BAD = object()
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


def _subschema(schema: dict, path: str) -> dict | None:
    """The JSON Schema of the fact at a dotted path, its $refs (#/$defs/...) followed."""
    node: dict | None = schema
    for part in path.split("."):
        node = _resolved(schema, (node or {}).get("properties", {}).get(part))
        if node is None:
            return None
    return node


def _resolved(schema: dict, node):
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/") and seen < 32:
        target: object = schema
        for part in node["$ref"][2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        node, seen = target, seen + 1
    return node if isinstance(node, dict) else None


def _schema_checks(spec, schema: dict):
    """Validators of the person fact and of one history entry, from the input schema (None where it has none)."""
    from engine.core.schemacheck import make_validator

    defs = {"$defs": schema.get("$defs", {})} if "$defs" in schema else {}
    person = _subschema(schema, spec.person_fact)
    history = _subschema(schema, spec.history_fact)
    entry = _resolved(schema, history.get("items")) if history else None
    return (make_validator(defs | person) if person else None, make_validator(defs | entry) if entry else None)


def _against_schema(checks, spec, person: str, record: dict) -> str | None:
    from engine.core.schemacheck import describe_error, json_path
    from engine.policies.ledgerspec import history_entries

    person_check, entry_check = checks
    for validator, value, what in ((person_check, person, "person"),
                                   (entry_check, history_entries(spec, [record])[0], spec.history_fact)):
        error = next(iter(validator.iter_errors(value)), None) if validator is not None else None
        if error is not None:
            where, message = describe_error(error)
            return msg("{what}: {message}", what=json_path([what, *where]) if where else what, message=message)
    return None


def _typed(value, wanted: Type | None):
    """The value as the grant record keeps it (JSON: dates and decimals as text), or _BAD."""
    wanted = wanted.inner if isinstance(wanted, Nullable) else wanted
    text = value if isinstance(value, str) else None
    if wanted == DATE:
        try:
            return parse_date(text).isoformat() if text is not None else _BAD
        except ValueError:
            return _BAD
    if wanted == DECIMAL:  # written out (3300, 3300.50), as money is: not 1e3, and never below zero
        # a JSON number arrives exact (an int, or a Decimal as written); a float only from a caller's own data
        text = repr(value) if isinstance(value, float) else str(value) if isinstance(value, (int, str, Decimal)) \
            and not isinstance(value, bool) else ""
        return str(Decimal(text)) if _PLAIN_NUMBER.fullmatch(text) else _BAD
    if wanted == INT:
        try:
            return int(value) if not isinstance(value, (bool, float)) else _BAD
        except ValueError:
            return _BAD
    if wanted == BOOL:
        return value if isinstance(value, bool) else {"true": True, "false": False}.get(str(value).lower(), _BAD)
    return value if isinstance(value, str) else str(value)


def already_there(ledger, path: Path, rows: list[Row]) -> tuple[list[Row], list[str]]:
    """(the rows whose grant_id is not in the ledger yet, a problem "FILE:LINE: what" for each that is): an
    export imported twice is refused row by row, and `--skip-bad` imports only what is new."""
    with ledger.transaction() as connection:
        taken = _taken(connection, rows)
    problems: list[str] = [msg("{where}: grant_id {grant_id} is already in the ledger", where=f"{path}:{row.line}",
                               grant_id=row.grant_id) for row in rows if row.grant_id in taken]
    return [row for row in rows if row.grant_id not in taken], problems


def _taken(connection, rows: list[Row]) -> set:
    given = [r.grant_id for r in rows if r.grant_id]
    taken: set = set()
    for start in range(0, len(given), 500):  # a bounded IN list: SQLite and PostgreSQL limit the parameters
        chunk = given[start:start + 500]
        taken.update(connection.execute(select(grants.c.grant_id).where(grants.c.grant_id.in_(chunk))).scalars())
    return taken


def write_rows(ledger, spec, rows: list[Row], policy_id: str) -> int:
    """Write the rows in one transaction (all or none); a grant_id already in the ledger (recorded since
    `already_there` looked) is refused."""
    amount_field = next((n for n, s in spec.record.items() if s.text == "decision.amount"), None)
    version_field = next((n for n, s in spec.record.items() if s.text == "decision.policy.version"), None)
    with ledger.transaction() as connection:
        taken = _taken(connection, rows)
        if taken:
            raise ImportRefused(msg("{count} grant_id(s) were recorded in the ledger meanwhile, among them "
                                    "{grant_id}: nothing imported", count=len(taken), grant_id=sorted(taken)[0]))
        for row in rows:
            added = ledger.add(connection, book=spec.book_name, person=row.person, origin="import", role="import",
                       token=None, policy={"id": policy_id,
                                           "version": row.record.get(version_field) if version_field else None},
                       claim_id=row.claim_id, decision_id=None,
                       amount=row.record.get(amount_field) if amount_field else None, record=row.record,
                       grant_id=row.grant_id or str(uuid.uuid4()))
            if row.revoked is not None:
                when, reason = row.revoked
                ledger.revoke(connection, added.grant_id, reason, role="import", token=None, at=when)
    return len(rows)


class ImportRefused(Exception):
    pass
