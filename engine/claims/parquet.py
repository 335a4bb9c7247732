"""Claims in Parquet files: each row one claim, its columns the facts of the policy's input schema (docs/scale.md).

Nested facts are struct columns (`applicant: struct<birth_date: date32, ...>`) and lists are list columns
(`history: list<struct<...>>`): the layout pyarrow, Polars, Spark or DuckDB write from JSON-like records. A null is
a fact left out. Each row becomes the value the JSON reader makes of the same claim, and is then validated against
the input schema as any claim is, so a row that breaks it gets the same error record as the same claim in JSON:
- a date column (date32, date64) is read as the text YYYY-MM-DD Arrow writes of it, so the input schema and the
  claim converter hold it to a real calendar date as they hold a JSON text (a day before year 1 or after 9999 is
  refused as the same text would be);
- numbers are exact: an integer column gives integers, a decimal128 or decimal256 column the Decimal it holds, and
  text in the column of a decimal fact is read as the JSON reader reads a number (an integer without a fraction or
  exponent, else an exact Decimal, at most 40 digits: beyond, `claim.number` for that row). Text that is no JSON
  number stays text, which the input schema refuses as it refuses the same text in JSON.
The location of a row is `FILE[ROW]`, the row counted from 0 as in a JSON array.

Refused for the whole file, one error record in its place: a file pyarrow cannot read as Parquet (`claim.parquet`;
a damaged row group: one record in the place of its rows), a file the system refuses to open (`claim.unreadable`),
a column of a type no exact fact has (`claim.column`): floating point (its decimal digits are already lost),
timestamps, times, durations, binary, maps; and a column (or a field of a struct column) named twice
(`claim.duplicate_key`, as a key given twice in JSON). pyarrow is imported only when a Parquet file is read.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from engine.claims.reader import (
    CLAIM_LIMITS,
    RawClaim,
    _bounded_decimal,
    _bounded_int,
    _shape_problem,
    _Unparsable,
    unreadable,
)
from engine.core.i18n import msg
from engine.decide.results import ClaimError
from engine.language.types import DECIMAL, ListOf, Nullable, Record, Type

SUFFIXES = (".parquet", ".parq")
_WALK_ITEMS = 10_000  # a row with more list items than this is walked for the claim limits (size, depth)
_NUMBER_START = frozenset("-0123456789")


def is_parquet(name: str) -> bool:
    return name != "-" and name.lower().endswith(SUFFIXES)


class _BadColumn(Exception):
    def __init__(self, column: str, message: str, code: str = "claim.column"):
        super().__init__(message)
        self.column = column
        self.code = code


def _repeated_names(fields, prefix: str = "") -> str | None:
    """The first column (or field of a struct column) named twice: Arrow allows it, a claim does not (as a JSON
    key given twice is refused, the last would quietly win)."""
    import pyarrow as pa

    seen: set = set()
    for field in fields:
        path = f"{prefix}{field.name}"
        if field.name in seen:
            return path
        seen.add(field.name)
        inner = field.type
        while pa.types.is_list(inner) or pa.types.is_large_list(inner):
            inner = inner.value_type
        if pa.types.is_struct(inner):
            found = _repeated_names(list(inner), path + ".")
            if found:
                return found
    return None


def row_groups(name: str) -> int | None:
    """How many row groups the file has (its partitions), or None when the whole file gets one error record
    (not Parquet, a column no fact can take): then it is one partition, read as a whole."""
    try:
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(name)
        _Rows(handle.schema_arrow, None)
        return handle.metadata.num_row_groups
    except Exception:  # noqa: BLE001 - whatever it is, reading the whole file says it in its error record
        return None


def row_count(name: str) -> int | None:
    """The rows of a Parquet file, from its footer (a progress bar's total); None when it cannot be read."""
    try:
        import pyarrow.parquet as pq

        return pq.ParquetFile(name).metadata.num_rows
    except Exception:  # noqa: BLE001 - no total: reading the file says what is wrong with it
        return None


def read_parquet(name: str, record: Record | None = None, row_group: int | None = None) -> Iterator[RawClaim]:
    """The claims of a Parquet file (or of one of its row groups), in row order. `record` is the input schema's
    record type: it says which text columns hold exact numbers."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        yield _file_error(name, "claim.parquet", msg(
            "cannot read {file}: reading Parquet needs pyarrow (pip install 'policy-engine[dask]')", file=name))
        return
    try:
        handle = pq.ParquetFile(name)
        rows = _Rows(handle.schema_arrow, record)
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        yield unreadable(name, exc)
        return
    except _BadColumn as exc:
        yield _file_error(name, exc.code, exc.args[0], exc.column)
        return
    except Exception as exc:  # noqa: BLE001 - pyarrow's ArrowInvalid and kin: not Parquet, or damaged
        yield _not_parquet(name, exc)
        return
    metadata = handle.metadata
    groups = range(metadata.num_row_groups) if row_group is None else range(row_group, row_group + 1)
    row = sum(metadata.row_group(i).num_rows for i in range(groups.start))
    for group in groups:
        try:
            values = rows.of(handle.read_row_group(group))
        except Exception as exc:  # noqa: BLE001 - a damaged row group: a record for each of its rows, the others go on
            size = metadata.row_group(group).num_rows
            yield from _damaged(name, group, row, size, exc)
            row += size
            continue
        for value in values:
            where = f"{name}[{row}]"
            row += 1
            yield rows.claim(value, where)


def _file_error(name: str, code: str, message: str, column: str | None = None) -> RawClaim:
    return RawClaim(None, name, ClaimError(None, code, message, path=column, location=name))


def _damaged(name: str, group: int, first: int, size: int, exc: Exception) -> Iterator[RawClaim]:
    """An error record in the place of every row of a row group that cannot be read: the counts stay those of the
    file, and every claim not decided is named."""
    message = msg("cannot read {file}: its row group {group} (rows {first} to {last}) is damaged ({reason})",
                  file=name, group=group, first=first, last=first + size - 1, reason=_reason(exc))
    for row in range(first, first + size):
        where = f"{name}[{row}]"
        yield RawClaim(None, where, ClaimError(None, "claim.parquet", message, location=where))


def _reason(exc: Exception) -> str:
    return str(exc).split("\n")[0] or type(exc).__name__


def _not_parquet(name: str, exc: Exception) -> RawClaim:
    return _file_error(name, "claim.parquet", msg("cannot read {file}: not a Parquet file ({reason})", file=name,
                                                  reason=_reason(exc)))


class _Rows:
    """The rows of a file of one Arrow schema, as the JSON reader's values. Raises _BadColumn for a column of a type
    no exact fact has."""

    def __init__(self, schema, record: Record | None):
        import pyarrow as pa

        self.items = 0  # list items of the row being converted: a large row is walked for the claim limits
        repeated = _repeated_names(list(schema))
        if repeated is not None:
            raise _BadColumn(repeated, msg("the column {column} is given twice; a fact is given once",
                                           column=repr(repeated)), "claim.duplicate_key")
        self.textual = pa.schema([field.with_type(_textual(field.type)) for field in schema])
        convert = self._converter(pa.struct(list(schema)), record, "")
        assert convert is not None  # a struct always has its converter
        self.convert: Callable[[dict], dict] = convert
        self.deep = max((_depth(field.type) for field in schema), default=0) > CLAIM_LIMITS.max_depth

    def of(self, table) -> list:
        """A row group's rows (dates as text, dictionaries decoded) as Python values."""
        return table.cast(self.textual).to_pylist()

    def claim(self, value: dict, where: str) -> RawClaim:
        self.items = 0
        try:
            claim = self.convert(value)
        except _Unparsable as exc:  # a number beyond 40 digits: as a JSON line holding it
            return RawClaim(None, where, ClaimError(None, exc.code, exc.message, location=where))
        if self.deep or self.items > _WALK_ITEMS:  # columns nested deeper than a claim may be: walked, refused
            problem = _shape_problem(claim, msg("the row"))
            if problem:
                return RawClaim(None, where, ClaimError(None, problem[0], problem[1], location=where))
        return RawClaim(claim, where)

    def _converter(self, t, expected: Type | None, column: str) -> Callable | None:
        """A function turning a (non-null) value of Arrow type `t`, as the textual cast gives it, into the JSON
        reader's value; None when it stays as it is."""
        import pyarrow as pa

        expected = expected.inner if isinstance(expected, Nullable) else expected
        if pa.types.is_dictionary(t):
            return self._converter(t.value_type, expected, column)
        if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_null(t) or pa.types.is_date(t):
            return None  # dates: the text YYYY-MM-DD, read as a JSON text is
        if pa.types.is_decimal(t):
            return _bounded
        if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", bool)(t):
            return _exact if expected == DECIMAL else None
        if pa.types.is_floating(t):
            raise _BadColumn(column, msg(
                "column {column} is {type}: claims hold exact numbers, and floating point has lost the decimal "
                "digits; write money as decimal128 (or as text) and counts as integers", column=column, type=str(t)))
        if pa.types.is_struct(t):
            fields = []
            for i in range(t.num_fields):
                field = t.field(i)
                inner = expected.field(field.name) if isinstance(expected, Record) else None
                path = f"{column}.{field.name}" if column else field.name
                fields.append((field.name, self._converter(field.type, inner.type if inner else None, path)))
            return _struct(tuple(fields))
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            item = self._converter(t.value_type, expected.item if isinstance(expected, ListOf) else None,
                                   f"{column}[]")
            return self._list(item)
        raise _BadColumn(column, msg(
            "column {column} is {type}, which no fact is: write dates as date32 (or YYYY-MM-DD text), numbers as "
            "integers or decimal128, text as strings", column=column, type=str(t)))

    def _list(self, item: Callable | None) -> Callable[[list], list]:
        def items(value: list) -> list:
            self.items += len(value)
            if item is None:
                return value
            return [v if v is None else item(v) for v in value]

        return items


def _textual(t):
    """The Arrow type `t` read as: dates as their text YYYY-MM-DD, dictionaries as their values, nested alike."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return _textual(t.value_type)
    if pa.types.is_date(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([t.field(i).with_type(_textual(t.field(i).type)) for i in range(t.num_fields)])
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_textual(t.value_type)))
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_textual(t.value_type)))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(t.value_field.with_type(_textual(t.value_type)), t.list_size)
    return t


def _depth(t) -> int:
    import pyarrow as pa

    if pa.types.is_struct(t):
        return 1 + max((_depth(t.field(i).type) for i in range(t.num_fields)), default=0)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return 1 + _depth(t.value_type)
    return 0


def _bounded(value):
    """A decimal128/256 value, held to the JSON reader's bound on digits."""
    return _bounded_decimal(str(value))


def _exact(text: str):
    """Text in a column of a decimal fact: the number the JSON reader reads of that text when it is written as JSON
    writes a number (an integer, or an exact Decimal), else the text (which the input schema then refuses)."""
    if not text or text[0] not in _NUMBER_START or not _json_number(text):
        return text
    if text.lstrip("-").isdigit():
        return _bounded_int(text)
    return _bounded_decimal(text)


def _json_number(text: str) -> bool:
    """Whether `text` is a number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?"""
    body = text[1:] if text.startswith("-") else text
    mantissa, e, exponent = body.replace("E", "e").partition("e")
    whole, dot, fraction = mantissa.partition(".")
    if not (whole.isascii() and whole.isdigit()) or (len(whole) > 1 and whole[0] == "0"):
        return False
    if dot and not (fraction.isascii() and fraction.isdigit()):
        return False
    if e:
        digits = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        return digits.isascii() and digits.isdigit()
    return True


def _struct(fields: tuple) -> Callable[[dict], dict]:
    converted = tuple((name, fn) for name, fn in fields if fn is not None)
    if not converted:
        return lambda value: {k: v for k, v in value.items() if v is not None}
    convert = dict(converted)

    def struct(value: dict) -> dict:
        out = {}
        for key, item in value.items():
            if item is not None:
                fn = convert.get(key)
                out[key] = item if fn is None else fn(item)
        return out

    return struct
