"""Claims in: YAML, JSON, JSON Lines or standard input → validated facts, one result per claim.

A claim that cannot be read or does not follow its schema becomes a ClaimError in its place; the
others go on. Dates are turned into calendar dates once here, so rules never see strings.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Iterator

import fastjsonschema
import orjson

from . import schemacheck
from .diagnostics import DiagnosticError
from .evaluate import ClaimError
from .types import DATE, DECIMAL, ListOf, Record, Type
from .limits import LIMITS
from .yamlsource import ReadLimits, read_yaml

CLAIM_LIMITS = ReadLimits(LIMITS.claim_file_bytes, LIMITS.claim_nodes, LIMITS.claim_depth)
MAX_LINE_BYTES = LIMITS.claim_line_bytes


@dataclass
class RawClaim:
    data: object  # parsed JSON/YAML value, or None when unreadable or not parsed yet
    location: str  # file, or file:line
    error: ClaimError | None = None
    line: bytes | None = None  # a JSON Lines line not parsed yet (parsing is left to whoever decides it)

    def parsed(self) -> "RawClaim":
        if self.line is None:
            return self
        return _parse_line(self.line, self.location)


def _parse_line(line: bytes, where: str) -> RawClaim:
    try:
        return RawClaim(orjson.loads(line), where)
    except orjson.JSONDecodeError as exc:
        if not _is_utf8(line):
            return RawClaim(None, where, ClaimError(None, "claim.encoding", "the line is not UTF-8 text", location=where))
        if "recursion" in str(exc):
            return RawClaim(None, where, ClaimError(None, "claim.too_deep", "the claim nests too deeply", location=where))
        return RawClaim(None, where, ClaimError(None, "claim.json", f"not valid JSON: {exc}", location=where))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_claims(paths: list[str], stdin: IO[bytes] | None = None, lazy: bool = False) -> Iterator[RawClaim]:
    """Every claim of every path, in order. '-' reads standard input.

    With lazy=True, JSON Lines are yielded unparsed (RawClaim.line) so that worker processes parse them.
    """
    for name in paths:
        if name == "-":
            yield from _read_stream(stdin or io.BytesIO(), "<stdin>", lazy)
            continue
        path = Path(name)
        if path.suffix in (".jsonl", ".ndjson"):
            try:
                with path.open("rb") as handle:
                    yield from _read_lines(handle, name, lazy)
            except OSError as exc:
                yield _unreadable(name, exc)
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield _unreadable(name, exc)
            continue
        yield from _read_document(data, name, json_first=path.suffix == ".json")


def _unreadable(name: str, exc: OSError) -> RawClaim:
    return RawClaim(None, name, ClaimError(None, "claim.unreadable", f"cannot read {name}: {exc.strerror}", location=name))


def _read_stream(stream: IO[bytes], name: str, lazy: bool) -> Iterator[RawClaim]:
    first = stream.readline(MAX_LINE_BYTES + 1)
    stripped = first.strip()
    if stripped.startswith(b"{") and stripped.endswith(b"}"):
        try:
            orjson.loads(stripped)
        except orjson.JSONDecodeError:
            pass
        else:  # a whole JSON object on the first line: JSON Lines, streamed
            yield from _read_lines(_chain(first, stream), name, lazy)
            return
    yield from _read_document(first + stream.read(), name, json_first=True)


def _chain(first: bytes, rest: IO[bytes]):
    yield first
    yield from rest


def _read_lines(lines, name: str, lazy: bool = False) -> Iterator[RawClaim]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        if len(line) > MAX_LINE_BYTES:
            yield RawClaim(None, where, ClaimError(None, "claim.too_large",
                                                   f"the line is longer than {MAX_LINE_BYTES} bytes", location=where))
        elif lazy:
            yield RawClaim(None, where, line=line)
        else:
            yield _parse_line(line, where)


def _read_document(data: bytes, name: str, json_first: bool) -> Iterator[RawClaim]:
    value = None
    if json_first:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            value = None
    if value is None:
        try:
            value = read_yaml(data, name, CLAIM_LIMITS).value
        except DiagnosticError as exc:
            d = exc.diagnostics[0]
            yield RawClaim(None, str(d.location), ClaimError(None, "claim." + d.code.split(".")[-1], d.message,
                                                             location=str(d.location)))
            return
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield RawClaim(item, f"{name}[{i}]")
    else:
        yield RawClaim(value, name)


# -------------------------------------------------------------------------------------------------
# Validation against the policy's input schema


class ClaimReader:
    """Validates raw claims against one input schema and converts them to facts.

    A compiled validator (fastjsonschema) answers "valid?" quickly; only a claim it rejects goes through
    the general validator, which names every offending fact in plain words.
    """

    def __init__(self, schema: dict, record: Record, validator=None):
        self.schema = schema
        self.validator = validator or schemacheck.make_validator(schema)
        self.fast = fastjsonschema.compile(schema, formats={"date": _is_calendar_date})
        self.convert = identity_or(_converter(record))
        self.id_field = schema.get("x-claim-id")
        self.date_field = schema.get("x-decision-date")

    def claim_id(self, data) -> str | None:
        if isinstance(data, dict) and self.id_field:
            value = data.get(self.id_field)
            return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
        return None

    def facts(self, raw: RawClaim) -> tuple[dict | None, ClaimError | None]:
        if raw.error is not None:
            return None, raw.error
        try:
            self.fast(raw.data)
        except fastjsonschema.JsonSchemaException:
            pass
        else:
            return self.convert(raw.data), None
        claim_id = self.claim_id(raw.data)
        problems = schemacheck.validate(self.validator, raw.data)
        if problems:
            path, message = problems[0]
            details = {"problems": [{"path": schemacheck.json_path(p), "message": m} for p, m in problems]} \
                if len(problems) > 1 else {}
            return None, ClaimError(claim_id, "claim.invalid", f"{schemacheck.json_path(path)}: {message}",
                                    schemacheck.json_path(path), raw.location, details=details)
        return self.convert(raw.data), None

    def decision_date(self, facts: dict) -> date | None:
        return facts.get(self.date_field) if self.date_field else None


def _is_calendar_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _exact(value):
    return Decimal(str(value)) if isinstance(value, float) else value


def _converter(t: Type):
    """A function that turns schema-valid JSON into facts: date strings become dates, numbers exact."""
    if t == DATE:
        return date.fromisoformat
    if t == DECIMAL:
        return _exact
    if isinstance(t, ListOf):
        inner = _converter(t.item)
        if inner is None:
            return None
        return lambda items: [inner(i) for i in items]
    if isinstance(t, Record):
        fields = [(f.name, _converter(f.type)) for f in t.fields]
        active = [(name, fn) for name, fn in fields if fn is not None]
        if not active:
            return None

        def convert(obj: dict) -> dict:
            out = dict(obj)
            for name, fn in active:
                value = out.get(name)
                if value is not None:
                    out[name] = fn(value)
            return out

        return convert
    return None


def identity_or(fn):
    return fn if fn is not None else (lambda x: x)
