"""Claims in: YAML, JSON, JSON Lines or standard input → validated facts, one result per claim.

A claim that cannot be read or does not follow its schema becomes a ClaimError in its place; the
others go on. Dates are turned into calendar dates once here, so rules never see strings.
"""
from __future__ import annotations

import io
import json
import math
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import IO

import orjson

from engine.claims import convert
from engine.core import lightimport, schemacheck
from engine.core.diagnostics import Diagnostic, DiagnosticError, Location
from engine.core.i18n import msg
from engine.core.limits import LIMITS
from engine.core.reasons import json_reason, os_reason
from engine.core.records import dataclass
from engine.decide.results import ClaimError
from engine.language.types import DATE, DECIMAL, INT, ListOf, Record, Type
from engine.policies.yamlsource import ReadLimits, decode_text, read_yaml

jsonschema_rs = lightimport.jsonschema_rs()

MAX_NUMBER_DIGITS = 40  # as in policy files: far beyond any amount or count, far below what slows arithmetic
class _ClaimLimits(ReadLimits):
    """The limits of a claim file in force (engine.core.limits.LIMITS) whenever one is read."""

    def __init__(self) -> None:
        pass

    max_bytes = property(lambda self: LIMITS.claim_file_bytes)
    max_nodes = property(lambda self: LIMITS.claim_nodes)
    max_depth = property(lambda self: LIMITS.claim_depth)
    max_digits = property(lambda self: MAX_NUMBER_DIGITS)


CLAIM_LIMITS: ReadLimits = _ClaimLimits()
MAX_PROBLEMS = 100  # a claim with 100,000 bad entries is told about the first hundred, in bounded time and memory


@dataclass
class RawClaim:
    data: object  # parsed JSON/YAML value, or None when unreadable or not parsed yet
    location: str  # file, or file:line
    error: ClaimError | None = None
    line: bytes | None = None  # a JSON Lines line not parsed yet (parsing is left to whoever decides it)

    def parsed(self) -> RawClaim:
        if self.line is None:
            return self
        return _parse_line(self.line, self.location)

    def __reduce__(self):  # sent to worker processes by the hundred thousand: pickled as a plain tuple
        return RawClaim, (self.data, self.location, self.error, self.line)


# Every JSON number with a fraction or an exponent has a digit just before its `.`, `e` or `E`. With every digit
# written as 0 and each of `.eE` as `.`, one substring search finds such a pair: several times faster than a regular
# expression.
_FLOAT_MARKS = bytes.maketrans(b"123456789eE", b"000000000..")


def _shows_float(canonical: bytes) -> bool:
    return b"0." in canonical.translate(_FLOAT_MARKS)


def _parse_line(line: bytes, where: str) -> RawClaim:
    """One JSON Lines claim, read as a .json file is read: orjson for speed, and the strict reader for a line
    orjson might read differently, whatever the line's layout (spaces, key order, escapes, CRLF).

    orjson keeps the last of repeated keys and reads 80.000000000000000000000001, or an integer beyond 64 bits,
    as a float. Its canonical form of what it read shows a float as one (a digit before `.`, `e` or `E`), and
    holds every `:` of the line but those of keys it dropped and of their values: a `:` is either a key's or
    inside a string, and neither kind is ever written escaped by orjson. So a line with as many `:` as that form,
    none written as the escape \\u003a, has no repeated key, and one whose form shows no float has no inexact number."""
    try:
        value = orjson.loads(line)
        canonical = orjson.dumps(value)
    except (orjson.JSONDecodeError, TypeError):  # TypeError: nested deeper than orjson writes back
        pass  # the strict reader says why, in the words a .json file gets, and applies the claim limits
    else:
        if line.count(b":") == canonical.count(b":") and not _shows_float(canonical) \
                and (b"\\u003" not in line or b"\\u003a" not in line.lower()):
            problem = _line_problem(line, value)
            if problem:
                return RawClaim(None, where, ClaimError(None, problem[0], problem[1], location=where))
            return RawClaim(value, where)
    try:
        text = line.rstrip(b"\r\n").decode("utf-8")  # without its line break, a column is one of this line's
    except UnicodeDecodeError:
        return RawClaim(None, where, ClaimError(None, "claim.encoding", msg("the line is not UTF-8 text"),
                                                location=where))
    try:
        value = _strict_json(text)
    except _Unparsable as exc:  # the claim is the line; the error is where in it reading stopped
        at = f"{where}:{exc.where.partition(':')[2]}" if exc.where else where
        return RawClaim(None, where, ClaimError(None, exc.code, exc.message, location=at))
    problem = _shape_problem(value, msg("the line"))
    if problem:
        return RawClaim(None, where, ClaimError(None, problem[0], problem[1], location=where))
    return RawClaim(value, where)


def _line_problem(line: bytes, value) -> tuple[str, str] | None:
    """_shape_problem of a line orjson read, counted on the bytes first: every nesting opens a bracket, and every
    value but the first follows a comma or opens one, so only a large claim is walked. orjson refuses lone
    surrogates, so only the size and the depth can be wrong; while the bytes rule out too many values (a long
    history of flat records), only the nesting of lists and records is walked, not every value."""
    opened = line.count(b"{") + line.count(b"[")
    if opened + line.count(b",") >= CLAIM_LIMITS.max_nodes:
        return _shape_problem(value, msg("the line"))
    if opened > CLAIM_LIMITS.max_depth and _nests_too_deep(value):
        return "claim.too_deep", msg("the claim nests deeper than {limit} levels", limit=CLAIM_LIMITS.max_depth)
    return None


def _nests_too_deep(value) -> bool:
    """Whether a value nests deeper than _shape_problem allows: a list or record holding anything at level
    max_depth + 1 (the claim itself is level 1)."""
    level = [value]
    for _ in range(CLAIM_LIMITS.max_depth):
        inner: list = []
        for item in level:
            inner += [v for v in (item.values() if type(item) is dict else item) if type(v) in _NESTING]
        if not inner:
            return False
        level = inner
    return any(level)


_NESTING = (dict, list)


def read_claims(paths: Iterable[str | Path], stdin: IO[bytes] | None = None, lazy: bool = False,
                record: Record | None = None) -> Claims:
    """Every claim of every path, in order. '-' reads standard input; a .parquet file a claim a row
    (engine.claims.parquet), `record` (the input schema's record type) saying which text columns are exact numbers.

    With lazy=True, JSON Lines are yielded unparsed (RawClaim.line) so that worker processes parse them, and
    `.chunks(size)` gives them a chunk at a time without a RawClaim each (engine.claims.chunks).
    """
    if isinstance(paths, (str, bytes, Path)):
        # a path given alone would be read as its characters, each a file that is not there
        raise TypeError(f"read_claims takes a list of paths, not {type(paths).__name__} {paths!r}")
    text_stream = None
    if isinstance(stdin, io.TextIOBase):  # sys.stdin, io.StringIO: claims are read as bytes (exact, any encoding)
        if getattr(stdin, "buffer", None) is None:
            raise TypeError("read_claims reads standard input as bytes: give a binary stream (sys.stdin.buffer, "
                            "io.BytesIO), not a text one")
        text_stream, stdin = stdin, stdin.buffer  # the text stream kept: collected, it would close its buffer
    paths = list(paths)  # a generator (Path.glob) is taken once, not used up by the check below
    if not all(isinstance(p, (str, Path)) for p in paths):
        raise TypeError(f"read_claims takes a list of paths (str or Path), not {paths!r}"[:300])
    claims = Claims([str(p) for p in paths], stdin, lazy, record)
    claims.text_stream = text_stream
    return claims


class Claims:
    """The claims of read_claims: iterated, a RawClaim at a time; or `chunks(size)`, a sequence of claims at a time."""

    def __init__(self, paths: list[str], stdin: IO[bytes] | None, lazy: bool, record: Record | None):
        self.paths = paths
        self.stdin = stdin
        self.lazy = lazy
        self.record = record
        self.text_stream: IO[str] | None = None  # a text stream given for standard input, whose buffer is read

    def __iter__(self) -> Iterator[RawClaim]:
        for name in self.paths:
            yield from self._of(name)

    def chunks(self, size: int) -> Iterator[Sequence[RawClaim]]:
        if not self.lazy:  # each claim parsed here: nothing to gain from lines left as lines
            claims = iter(self)
            while chunk := list(islice(claims, size)):
                yield chunk
            return
        from engine.claims.chunks import chunked

        yield from chunked(self._sources(), size)

    def _sources(self) -> Iterator:
        """(name, handle, line limit, first line number) of each JSON Lines file, read in blocks; the claims of
        anything else."""
        for name in self.paths:
            if name != "-" and Path(name).suffix in _LINES_SUFFIXES:
                try:
                    handle = open(name, "rb")  # noqa: SIM115 - closed by engine.claims.chunks.chunked
                except OSError as exc:
                    yield unreadable(name, exc)
                    continue
                yield name, handle, LIMITS.claim_line_bytes, 1
            else:
                yield from self._of(name)

    def _of(self, name: str) -> Iterator[RawClaim]:
        if name != "-" and name.lower().endswith((".parquet", ".parq")):
            from engine.claims.parquet import read_parquet

            yield from read_parquet(name, self.record)
            return
        if name == "-":
            if self.stdin is None and sys.stdin is None:  # closed (`<&-`): a claim that cannot be read, not a crash
                yield RawClaim(None, "<stdin>", ClaimError(None, "claim.unreadable",
                                                           msg("cannot read <stdin>: standard input is closed"),
                                                           location="<stdin>"))
                return
            yield from _read_stream(self.stdin or sys.stdin.buffer, "<stdin>", self.lazy)
            return
        path = Path(name)
        try:
            if path.suffix in _LINES_SUFFIXES:
                with path.open("rb") as handle:
                    yield from _read_lines(handle, name, self.lazy)
                return
            if path.stat().st_size > CLAIM_LIMITS.max_bytes:
                yield _too_large(name)
                return
            data = path.read_bytes()
        except OSError as exc:
            yield unreadable(name, exc)
            return
        yield from _read_document(data, name, kind="json" if path.suffix == ".json" else "yaml")


_LINES_SUFFIXES = (".jsonl", ".ndjson")


def unreadable(name: str, exc: OSError) -> RawClaim:
    return RawClaim(None, name, ClaimError(None, "claim.unreadable", msg("cannot read {file}: {reason}", file=name,
                                                                                reason=os_reason(exc)),
                                           location=name))


def _too_large(name: str) -> RawClaim:
    return RawClaim(None, name, ClaimError(None, "claim.too_large", msg(
        "the file is larger than {limit} bytes (POLICY_LIMIT_CLAIM_FILE_BYTES)", limit=CLAIM_LIMITS.max_bytes),
        location=name))


def _read_stream(stream: IO[bytes], name: str, lazy: bool) -> Iterator[RawClaim]:
    """Standard input: JSON Lines, streamed, when its first line that is not blank opens an object and it, or the
    line after it, is a whole JSON object (a damaged first line must not turn a stream of claims into one document
    that fails whole); else one YAML or JSON document."""
    head: list[bytes] = []  # the lines read to tell, as read, blank ones too (they keep the lines' numbers)
    too_long = False
    candidates: list[bytes] = []  # the first two lines that are not blank, stripped
    while len(candidates) < 2:
        line = stream.readline(LIMITS.claim_line_bytes + 1 + (0 if head else len(BOM)))
        if not line:
            break
        if not head:
            line = line.removeprefix(BOM)
        head.append(line)
        if len(line) > LIMITS.claim_line_bytes:  # too long to tell by (in JSON Lines, an error of its own)
            too_long = not candidates and line.lstrip().startswith(b"{")  # a first claim too large for a line
            break
        if line.strip():
            candidates.append(line.strip())
            if not candidates[0].startswith(b"{") or _whole_object(candidates[0]):
                break
        elif len(head) > 10_000:  # a stream of blank lines: no claim to find by looking further
            break
    if too_long or candidates and candidates[0].startswith(b"{") and any(map(_whole_object, candidates)):
        yield from _read_lines(_chain(head, stream), name, lazy)
        return
    read = sum(map(len, head))
    rest = stream.read(max(0, CLAIM_LIMITS.max_bytes + 1 - read))
    if read + len(rest) > CLAIM_LIMITS.max_bytes:
        yield _too_large(name)
        return
    data = b"".join(head) + rest
    yield from _read_document(data, name, kind="json" if data.lstrip()[:1] in (b"{", b"[") else "yaml")


BOM = b"\xef\xbb\xbf"  # UTF-8's byte order mark, which some editors and exporters write at the start of a file


def _whole_object(line: bytes) -> bool:
    if not (line.startswith(b"{") and line.endswith(b"}")):
        return False
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def _chain(head: list[bytes], rest: IO[bytes]):
    """The lines read to tell the format, then the rest of the stream: a head line found too long has the rest of
    it skipped, as _lines skips it."""
    for line in head:
        yield line
        if len(line) > LIMITS.claim_line_bytes and not line.endswith(b"\n"):
            while (more := rest.readline(1 << 20)) and not more.endswith(b"\n"):
                pass
    yield from _lines(rest)


def _lines(handle, at_start: bool = False) -> Iterator[bytes]:
    """Lines of at most LIMITS.claim_line_bytes + 1 bytes: a longer line is cut there, and the rest of it skipped,
    so one enormous line costs no more memory than the limit. At the start of a file, a byte order mark is no part
    of its first line."""
    limit = LIMITS.claim_line_bytes + 1
    while True:
        line = handle.readline(limit + (len(BOM) if at_start else 0))  # a mark is read with the line it precedes
        if at_start:
            line, at_start = line.removeprefix(BOM), False
        if not line:
            return
        ended = line.endswith(b"\n")  # its line break read already: nothing of it left to skip
        line = line[:limit]
        if len(line) > LIMITS.claim_line_bytes and not ended:
            while True:
                more = handle.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
        yield line


def _read_lines(lines, name: str, lazy: bool = False, first: int = 1) -> Iterator[RawClaim]:
    if hasattr(lines, "readline"):
        lines = _lines(lines, at_start=first == 1)
    for number, line in enumerate(lines, first):
        if len(line) > LIMITS.claim_line_bytes:  # refused whatever it holds: its rest is never read
            yield too_long_line(f"{name}:{number}")
            continue
        if not line or line.isspace():  # as `not line.strip()`, without copying every line
            continue
        where = f"{name}:{number}"
        if lazy:
            yield RawClaim(None, where, line=line)
        else:
            yield _parse_line(line, where)


def too_long_line(where: str) -> RawClaim:
    return RawClaim(None, where, ClaimError(None, "claim.too_large", msg(
        "the line is longer than {limit} bytes (POLICY_LIMIT_CLAIM_LINE_BYTES)", limit=LIMITS.claim_line_bytes),
        location=where))


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(msg("duplicate key {key}: JSON would silently keep only the last one", key=repr(key)))
        result[key] = value
    return result


class _Unparsable(ValueError):
    def __init__(self, code: str, message: str, where: str | None = None):
        super().__init__(message)
        self.code, self.message, self.where = code, message, where


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _Unparsable("claim.number", msg("a number has more than {limit} digits", limit=MAX_NUMBER_DIGITS))
    return int(text)


def _bounded_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:  # an exponent beyond what Decimal can hold
        value = None
    if value is None or len(value.as_tuple().digits) > MAX_NUMBER_DIGITS or abs(value.adjusted()) > MAX_NUMBER_DIGITS:
        raise _Unparsable("claim.number", msg("the number {number} is beyond {limit} digits",
                                              number=text[:20] + ("…" if len(text) > 20 else ""),
                                              limit=MAX_NUMBER_DIGITS))
    return value


def _no_constant(name: str):
    raise _Unparsable("claim.json", msg("not valid JSON: JSON has no number {name}", name=name))


class _Refused:
    """What a claim may not hold (a key given twice, a number out of bounds), met inside a JSON document of many claims:
    it stands in for the value, so that the one claim holding it is refused and the others are still decided."""
    __slots__ = ("code", "message")

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message


def _strict_json(text: str, refused: list | None = None):
    """A JSON text read exactly: decimals stay exact, a repeated key is an error, numbers are bounded.

    Given a list `refused`, such a value does not stop the reading: it is read as a _Refused, also appended there."""
    pairs, floats, ints, constant = _no_duplicates, _bounded_decimal, _bounded_int, _no_constant
    if refused is not None:
        def standing_in(read):
            def reading(arg):
                try:
                    return read(arg)
                except _DuplicateKey as exc:
                    refused.append(_Refused("claim.duplicate_key", exc.args[0]))
                except _Unparsable as exc:
                    refused.append(_Refused(exc.code, exc.message))
                return refused[-1]
            return reading
        pairs, floats, ints, constant = map(standing_in, (pairs, floats, ints, constant))
    try:
        return json.loads(text, object_pairs_hook=pairs, parse_float=floats, parse_int=ints, parse_constant=constant)
    except _DuplicateKey as exc:
        raise _Unparsable("claim.duplicate_key", exc.args[0]) from None
    except RecursionError:
        raise _Unparsable("claim.too_deep", msg("the claim nests deeper than {limit} levels",
                                                limit=CLAIM_LIMITS.max_depth)) from None
    except json.JSONDecodeError as exc:
        raise _Unparsable("claim.json", msg("not valid JSON: {reason}", reason=json_reason(exc.msg)),
                          f"{exc.lineno}:{exc.colno}") from None


def _refusal_in(value) -> _Refused | None:
    """The first _Refused that a value holds, looked for without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Refused):
            return item
        if isinstance(item, dict):
            stack.extend(reversed(item.values()))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return None


def _read_document(data: bytes, name: str, kind: str) -> Iterator[RawClaim]:
    if kind == "json":
        try:
            text = decode_text(data, name)
            if not text.strip():
                raise DiagnosticError([Diagnostic("input.empty", msg("the file is empty"), Location(name))])
            if sum(data.count(c) for c in (b",", b"{", b"[")) > CLAIM_LIMITS.max_nodes:
                raise DiagnosticError([Diagnostic("input.too_many_nodes", msg(
                    "the file holds more than {limit} values", limit=CLAIM_LIMITS.max_nodes), Location(name))])
            refused: list[_Refused] = []
            value = _strict_json(text, refused)  # the standard parser, not orjson: it can refuse duplicate keys
        except DiagnosticError as exc:
            d = exc.diagnostics[0]
            where = str(d.location)
            yield RawClaim(None, where, ClaimError(None, "claim." + d.code.split(".")[-1], d.message, location=where))
            return
        except _Unparsable as exc:
            where = f"{name}:{exc.where}" if exc.where else name
            yield RawClaim(None, where, ClaimError(None, exc.code, exc.message, location=where))
            return
        except MemoryError:
            yield RawClaim(None, name, ClaimError(None, "claim.too_large",
                                                  msg("the file is too large to read in memory"), location=name))
            return
        if refused and not isinstance(value, list):
            yield _refused_claim(value, name)
            return
    else:
        try:
            document = read_yaml(data, name, CLAIM_LIMITS, positions=False, per_item=True)
            value, item_errors = document.value, document.item_errors
        except DiagnosticError as exc:
            d = exc.diagnostics[0]
            yield RawClaim(None, str(d.location), ClaimError(None, "claim." + d.code.split(".")[-1], d.message,
                                                             location=str(d.location)))
            return
    if isinstance(value, list):  # a batch: each item is a claim, held to what one claim is held to
        each = _refused_claim if kind == "json" and refused else RawClaim
        for i, item in enumerate(value):
            where = f"{name}[{i}]"
            if kind != "json" and i in item_errors:
                d = item_errors[i][0]
                yield RawClaim(None, where, ClaimError(None, "claim." + d.code.split(".")[-1], d.message,
                                                       location=str(d.location)))
                continue
            problem = _shape_problem(item, msg("the claim"))
            if problem:
                yield RawClaim(None, where, ClaimError(None, problem[0], problem[1], location=where))
            else:
                yield each(item, where)
        return
    problem = _shape_problem(value)
    if problem:
        yield RawClaim(None, name, ClaimError(None, problem[0], problem[1], location=name))
        return
    yield RawClaim(value, name)


def _refused_claim(value, where: str) -> RawClaim:
    """The claim as read, or its error record when it holds what a claim may not."""
    refusal = _refusal_in(value)
    if refusal is None:
        return RawClaim(value, where)
    return RawClaim(None, where, ClaimError(None, refusal.code, refusal.message, location=where))


def _shape_problem(value, holder: str = msg("the file")) -> tuple[str, str] | None:
    """Depth, size and text that cannot be written back out (lone surrogates), checked without recursion.

    Values are counted as the YAML reader counts them (each mapping, list and scalar, not the keys), so one
    claim is within POLICY_LIMIT_CLAIM_NODES or over it alike as YAML, JSON or a JSON Lines line."""
    stack = [(value, 1, True)]
    nodes = 0
    max_nodes, max_depth = CLAIM_LIMITS.max_nodes, CLAIM_LIMITS.max_depth  # read once: each is a lookup
    while stack:
        item, depth, counted = stack.pop()  # a key is checked for its text, and not counted as a value
        nodes += counted
        if nodes > max_nodes:
            return "claim.too_many_nodes", msg("{holder} holds more than {limit} values", holder=holder,
                                               limit=CLAIM_LIMITS.max_nodes)
        if depth > max_depth + 1:
            return "claim.too_deep", msg("the claim nests deeper than {limit} levels", limit=CLAIM_LIMITS.max_depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1, True) for v in item.values())
            stack.extend((k, depth + 1, False) for k in item)
        elif isinstance(item, (list, tuple)):  # the API takes a tuple for a list
            stack.extend((v, depth + 1, True) for v in item)
        elif isinstance(item, str) and not _encodable(item):
            return "claim.encoding", msg("the claim holds text that is not valid Unicode (a lone surrogate)")
    return None


def plain_claim(data, where: str) -> RawClaim:
    """A claim given as Python data (the API's `evaluate`): held to what a claim read from a file is, since no reader
    saw it. Depth, size and lone surrogates as `_shape_problem`; and numbers JSON would not read back: an integer
    or decimal beyond the digits a number may have, or a float that is not finite (NaN, Infinity). Each is the
    claim's own error record, never a fault of the engine that decides or writes it."""
    # Most claims orjson writes at once (so no lone surrogate, no integer beyond 64 bits): only a long one is
    # counted. Any other (a Decimal, a very large integer, a surrogate) is walked. Nesting too deep, and a float
    # that is not finite, are looked for only when deciding fails (Evaluator.evaluate_raw, ClaimReader.facts):
    # the hot path of the API must not pay for them.
    try:
        line = orjson.dumps(data)
    except (TypeError, orjson.JSONEncodeError):
        if not isinstance(data, dict) and isinstance(data, Mapping):  # a read-only view, a mapping of its own class
            return plain_claim(dict(data), where)
        problem = _shape_problem(data, msg("the claim")) or _number_problem(data)
    else:
        problem = _shape_problem(data, msg("the claim")) if len(line) >= CLAIM_LIMITS.max_nodes else None
        if problem is None and MAX_NUMBER_DIGITS < 20:  # a limit below 64 bits' digits, set in the environment
            problem = _number_problem(data)
    if problem:
        claim_id = data.get("claim_id") if isinstance(data, dict) and isinstance(data.get("claim_id"), str) \
            and _encodable(data["claim_id"]) else None
        return RawClaim(None, where, ClaimError(claim_id, problem[0], problem[1],
                                                path=problem[2] if len(problem) > 2 else None, location=where))
    return RawClaim(data, where)


def shape_problem(value) -> tuple[str, str] | None:
    """What makes a claim given as data one no reader would have passed (too deep, too large, lone surrogates), or
    None: asked only when deciding it failed, to say so instead of "internal error"."""
    return _shape_problem(value, msg("the claim"))


def _fact_at(path: tuple) -> str | None:
    return schemacheck.json_path(path) if path else None


def _number_problem(value) -> tuple[str, str, str | None] | None:
    """A number JSON would not read back, with the path of the fact holding it (`training.hours`, `history[2]`)."""
    stack: list = [(value, ())]
    while stack:  # the depth is bounded already (_shape_problem)
        item, path = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, path + (k,)) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, path + (i,)) for i, v in enumerate(item))
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and abs(item) >= 10 ** MAX_NUMBER_DIGITS:
            return "claim.number", msg("a number has more than {limit} digits", limit=MAX_NUMBER_DIGITS), \
                _fact_at(path)
        elif isinstance(item, Decimal) and not item.is_finite() or isinstance(item, float) and not math.isfinite(item):
            return "claim.number", msg("the number {number} is not one JSON has (NaN and Infinity are none)",
                                       number=str(item)), _fact_at(path)
        elif isinstance(item, Decimal) and (len(item.as_tuple().digits) > MAX_NUMBER_DIGITS
                                            or abs(item.adjusted()) > MAX_NUMBER_DIGITS):
            text = str(item)
            return "claim.number", msg("the number {number} is beyond {limit} digits",
                                       number=text[:20] + ("…" if len(text) > 20 else ""),
                                       limit=MAX_NUMBER_DIGITS), _fact_at(path)
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

    One compiled validator (jsonschema-rs) decides: it answers "valid?" in a microsecond or two, follows
    JSON Schema to the letter (ECMA-262 patterns, where Python's `$` would let "123456\\n" through), and names
    every offending fact of a claim it rejects, which schemacheck words plainly.
    """

    def __init__(self, schema: dict, record: Record):
        self.schema = schema
        self.record = record
        self.compiled = jsonschema_rs.validator_for(schema, validate_formats=True)
        self.convert = convert.generate(record, schemacheck.describe_value)
        self.locate = _converter(record)  # slower: walks a claim the converter refused to say where
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
            return self._facts(raw, raw.data)
        except ValueError:  # a Python object JSON has no word for, such as a date given through the API
            data, problem = _as_json(raw.data)
            return (None, self._invalid(raw, [problem])) if problem else self._facts(raw, data)

    def _facts(self, raw: RawClaim, data) -> tuple[dict | None, ClaimError | None]:
        if self.compiled.is_valid(data):
            try:
                return self.convert(data), None
            except convert.Unreadable:
                try:
                    self.locate(data)
                except convert.Unreadable as exc:
                    return None, self._invalid(raw, [(exc.path, exc.args[0])])
                raise  # pragma: no cover - both walk the same record type
        number = _number_problem(data)  # NaN would be said as "nothing (null)": the number is the mistake
        if number is not None:
            return None, ClaimError(self.claim_id(data), number[0], number[1], path=number[2], location=raw.location)
        return None, self._invalid(raw, schemacheck.compiled_problems(self.compiled, self.schema, data, MAX_PROBLEMS))

    def _invalid(self, raw: RawClaim, problems: list) -> ClaimError:
        path, message = problems[0]
        details: dict[str, object] = {
            "problems": [{"path": schemacheck.json_path(p), "message": m} for p, m in problems]
        } if len(problems) > 1 else {}
        if len(problems) >= MAX_PROBLEMS:
            details["more"] = msg("only the first {count} problems are listed", count=MAX_PROBLEMS)
        where = schemacheck.json_path(path)
        return ClaimError(self.claim_id(raw.data), "claim.invalid",
                          msg("{path}: {problem}", path=where, problem=message), where, raw.location, details=details)

    def decision_date(self, facts: dict) -> date | None:
        return facts.get(self.date_field) if self.date_field else None


def _as_json(value, path: tuple = ()) -> tuple[object, tuple[list, str] | None]:
    """The claim with Python dates written YYYY-MM-DD (as JSON would carry them), or the first value JSON cannot
    hold."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                return None, (list(path), msg("has a key that is not text: {key}", key=repr(key)))
            out[key], problem = _as_json(item, path + (key,))
            if problem:
                return None, problem
        return out, None
    if isinstance(value, (list, tuple)):
        items = []
        for i, item in enumerate(value):
            converted, problem = _as_json(item, path + (i,))
            if problem:
                return None, problem
            items.append(converted)
        return items, None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat(), None
    if value is None or isinstance(value, (str, int, float, Decimal, bool)):
        return value, None
    return None, (list(path), msg("holds a {kind}, which is not JSON data", kind=type(value).__name__))


def _to_date(text: str) -> date:
    return convert.to_date(text, schemacheck.describe_value)


def _converter(t: Type):
    """A function that turns schema-valid JSON into facts, walking it value by value; ClaimReader.locate uses it to
    find where the generated converter (engine.claims.convert) met a date that is no day."""
    if t == DATE:
        return _to_date
    if t == DECIMAL:
        return convert.exact
    if t == INT:
        return convert.whole
    if isinstance(t, ListOf):
        inner = _converter(t.item)
        if inner is None:
            return None
        def convert_items(items: list) -> list:
            try:
                return [inner(i) for i in items]
            except convert.Unreadable as exc:  # find which item, only now that one has failed
                for index, item in enumerate(items):
                    try:
                        inner(item)
                    except convert.Unreadable:
                        exc.path.insert(0, index)
                        break
                raise

        return convert_items
    if isinstance(t, Record):
        # Every record is rebuilt with its keys in the schema's order, so that what a decision shows of a record
        # (an explanation reads a whole record) does not depend on the order its producer wrote the keys in.
        fields = tuple((f.name, _converter(f.type)) for f in t.fields)
        names = frozenset(name for name, _ in fields)

        def rebuild(obj: dict) -> dict:
            out = {}
            for name, fn in fields:
                value = obj.get(name, _ABSENT)
                if value is _ABSENT:
                    continue
                if fn is not None and value is not None:
                    try:
                        value = fn(value)
                    except convert.Unreadable as exc:
                        exc.path.insert(0, name)
                        raise
                out[name] = value
            if len(out) != len(obj):  # keys the schema allows without naming them: kept, after the named ones
                out.update((k, v) for k, v in obj.items() if k not in names)
            return out

        return rebuild
    return None


_ABSENT = object()


def read_lines(lines: list[bytes], name: str, first: int = 1, last_ended: bool = False) -> Iterator[RawClaim]:
    """Claims of JSON Lines split at their line feeds (numbered from `first`), left unparsed for whoever decides
    them. Every line but the last had a line feed, the last too when `last_ended`; a line is too long as in a file,
    when with its line feed it is longer than the limit, so a line longer than the limit needs only its first
    LIMITS.claim_line_bytes + 1 bytes here."""
    limit = LIMITS.claim_line_bytes
    last = len(lines) - 1
    for i, line in enumerate(lines):
        if len(line) + (i < last or last_ended) > limit:
            yield too_long_line(f"{name}:{first + i}")
        elif line and not line.isspace():
            yield RawClaim(None, f"{name}:{first + i}", line=line)


def read_json(data: bytes, where: str) -> RawClaim:
    """One JSON document given as bytes (a request body, a logged claim), read as a JSON Lines claim is:
    decimals exact, repeated keys refused, sizes bounded. A byte order mark before it is no part of it."""
    data = data.removeprefix(BOM)
    if len(data) > LIMITS.claim_line_bytes:
        return RawClaim(None, where, ClaimError(None, "claim.too_large", msg(
            "the claim is longer than {limit} bytes (POLICY_LIMIT_CLAIM_LINE_BYTES)", limit=LIMITS.claim_line_bytes),
            location=where))
    return _parse_line(data, where)


def read_document(data: bytes, name: str, kind: str = "yaml") -> list[RawClaim]:
    """The claims of one YAML (or JSON) document given as bytes, such as a claim pasted into a web page."""
    return list(_read_document(data, name, kind))
