"""Claims in: YAML, JSON, JSON Lines or standard input → validated facts, one result per claim.

A claim that cannot be read or does not follow its schema becomes a ClaimError in its place; the
others go on. Dates are turned into calendar dates once here, so rules never see strings.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Iterator

import jsonschema_rs
import orjson

from . import schemacheck
from .diagnostics import Diagnostic, DiagnosticError, Location
from .evaluate import ClaimError
from .types import DATE, DECIMAL, INT, ListOf, Record, Type
from .isodate import parse_date
from .limits import LIMITS
from .yamlsource import ReadLimits, decode_text, read_yaml

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
        try:
            if path.suffix in (".jsonl", ".ndjson"):
                with path.open("rb") as handle:
                    yield from _read_lines(handle, name, lazy)
                continue
            if path.stat().st_size > CLAIM_LIMITS.max_bytes:
                yield _too_large(name)
                continue
            data = path.read_bytes()
        except OSError as exc:
            yield _unreadable(name, exc)
            continue
        yield from _read_document(data, name, kind="json" if path.suffix == ".json" else "yaml")


def _unreadable(name: str, exc: OSError) -> RawClaim:
    return RawClaim(None, name, ClaimError(None, "claim.unreadable", f"cannot read {name}: {exc.strerror}", location=name))


def _too_large(name: str) -> RawClaim:
    return RawClaim(None, name, ClaimError(None, "claim.too_large", f"the file is larger than {CLAIM_LIMITS.max_bytes} "
                                           "bytes (POLICY_LIMIT_CLAIM_FILE_BYTES)", location=name))


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
    rest = stream.read(CLAIM_LIMITS.max_bytes + 1 - len(first))
    if len(first) + len(rest) > CLAIM_LIMITS.max_bytes:
        yield _too_large(name)
        return
    data = first + rest
    yield from _read_document(data, name, kind="json" if data.lstrip()[:1] in (b"{", b"[") else "yaml")


def _chain(first: bytes, rest: IO[bytes]):
    yield first
    yield from _lines(rest)


def _lines(handle) -> Iterator[bytes]:
    """Lines of at most MAX_LINE_BYTES + 1 bytes: a longer line is cut there, and the rest of it skipped,
    so one enormous line costs no more memory than the limit."""
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while True:
                more = handle.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
        yield line


def _read_lines(lines, name: str, lazy: bool = False) -> Iterator[RawClaim]:
    if hasattr(lines, "readline"):
        lines = _lines(lines)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        if len(line) > MAX_LINE_BYTES:
            yield RawClaim(None, where, ClaimError(None, "claim.too_large", f"the line is longer than {MAX_LINE_BYTES} "
                                                   "bytes (POLICY_LIMIT_CLAIM_LINE_BYTES)", location=where))
        elif lazy:
            yield RawClaim(None, where, line=line)
        else:
            yield _parse_line(line, where)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"duplicate key {key!r}: JSON would silently keep only the last one")
        result[key] = value
    return result


def _read_document(data: bytes, name: str, kind: str) -> Iterator[RawClaim]:
    if kind == "json":
        try:
            text = decode_text(data, name)
            if not text.strip():
                raise DiagnosticError([Diagnostic("input.empty", "the file is empty", Location(name))])
            if sum(data.count(c) for c in (b",", b"{", b"[")) > CLAIM_LIMITS.max_nodes:
                raise DiagnosticError([Diagnostic("input.too_large", f"the file holds more than "
                                                  f"{CLAIM_LIMITS.max_nodes} values", Location(name))])
            # The standard parser, not orjson, for whole documents: it can refuse duplicate keys.
            value = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=Decimal)
        except DiagnosticError as exc:
            d = exc.diagnostics[0]
            where = str(d.location)
            yield RawClaim(None, where, ClaimError(None, "claim." + d.code.split(".")[-1], d.message, location=where))
            return
        except _DuplicateKey as exc:
            yield RawClaim(None, name, ClaimError(None, "claim.duplicate_key", str(exc), location=name))
            return
        except MemoryError:
            yield RawClaim(None, name, ClaimError(None, "claim.too_large", "the file is too large to read in memory",
                                                  location=name))
            return
        except RecursionError:
            yield RawClaim(None, name, ClaimError(None, "claim.too_deep", f"the claim nests deeper than "
                                                  f"{CLAIM_LIMITS.max_depth} levels", location=name))
            return
        except json.JSONDecodeError as exc:
            where = f"{name}:{exc.lineno}:{exc.colno}"
            yield RawClaim(None, where, ClaimError(None, "claim.json", f"not valid JSON: {exc.msg}", location=where))
            return
    else:
        try:
            value = read_yaml(data, name, CLAIM_LIMITS, positions=False).value
        except DiagnosticError as exc:
            d = exc.diagnostics[0]
            yield RawClaim(None, str(d.location), ClaimError(None, "claim." + d.code.split(".")[-1], d.message,
                                                             location=str(d.location)))
            return
    problem = _shape_problem(value)
    if problem:
        yield RawClaim(None, name, ClaimError(None, problem[0], problem[1], location=name))
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield RawClaim(item, f"{name}[{i}]")
    else:
        yield RawClaim(value, name)


def _shape_problem(value) -> tuple[str, str] | None:
    """Depth, size and text that cannot be written back out (lone surrogates), checked without recursion."""
    stack = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > CLAIM_LIMITS.max_nodes:
            return "claim.too_large", f"the file holds more than {CLAIM_LIMITS.max_nodes} values"
        if depth > CLAIM_LIMITS.max_depth + 1:
            return "claim.too_deep", f"the claim nests deeper than {CLAIM_LIMITS.max_depth} levels"
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
            stack.extend((k, depth + 1) for k in item)
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str) and not _encodable(item):
            return "claim.encoding", "the claim holds text that is not valid Unicode (a lone surrogate)"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -------------------------------------------------------------------------------------------------
# Validation against the policy's input schema


class ClaimReader:
    """Validates raw claims against one input schema and converts them to facts.

    A compiled validator (jsonschema-rs) answers "valid?" in a microsecond or two; only a claim it rejects
    goes through the general validator, which names every offending fact in plain words.
    """

    def __init__(self, schema: dict, record: Record, validator=None):
        self.schema = schema
        self.validator = validator or schemacheck.make_validator(schema)
        self.compiled = jsonschema_rs.validator_for(schema, validate_formats=True)
        self.fast = self.compiled.is_valid
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
        valid = self.fast(raw.data)
        if valid:
            try:
                return self.convert(raw.data), None
            except (ValueError, OverflowError):
                pass  # a date the schema's format allows but the calendar does not hold (year 0)
        # The compiled validator decides validity (its regular expressions follow ECMA-262, as JSON Schema
        # asks); the general validator only puts its findings into plain words, with the path.
        problems = schemacheck.validate(self.validator, raw.data)
        if not valid:
            problems = self._with_compiled_problems(problems, raw.data)
        if not problems:  # both validators accept what cannot be converted: say what, though not where
            problems = [([], "a value cannot be read as the schema declares it")]
        path, message = problems[0]
        details = {"problems": [{"path": schemacheck.json_path(p), "message": m} for p, m in problems]} \
            if len(problems) > 1 else {}
        return None, ClaimError(self.claim_id(raw.data), "claim.invalid", f"{schemacheck.json_path(path)}: {message}",
                                schemacheck.json_path(path), raw.location, details=details)

    def _with_compiled_problems(self, problems: list, data) -> list[tuple[list, str]]:
        """Adds what only the compiled validator objects to, such as a code ending in a line break (Python's
        `$` matches before it, ECMA-262's does not); everything it finds when the general validator found nothing."""
        seen = {tuple(map(str, path)) for path, _ in problems}
        everything = not problems
        for error in self.compiled.iter_errors(data):
            path, message = schemacheck.describe_compiled_error(error)
            key = tuple(map(str, path))
            if key not in seen and (everything or schemacheck.semantics_differ(error)):
                seen.add(key)
                problems.append((path, message))
        return sorted(problems, key=lambda p: tuple(map(str, p[0])))

    def decision_date(self, facts: dict) -> date | None:
        return facts.get(self.date_field) if self.date_field else None


def _whole(value):
    # JSON Schema counts 80.0 as an integer; the rules must see the integer 80
    return int(value) if isinstance(value, (float, Decimal)) else value


def _exact(value):
    return Decimal(str(value)) if isinstance(value, float) else value


def _converter(t: Type):
    """A function that turns schema-valid JSON into facts: date strings become dates, numbers exact."""
    if t == DATE:
        return parse_date
    if t == DECIMAL:
        return _exact
    if t == INT:
        return _whole
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
