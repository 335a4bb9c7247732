"""Checked expressions → functions of a whole batch of claims, over NumPy columns.

Built from the checked tree only, as engine.language.compiler builds closures from it (a table of node type →
builder, the checker's resolution deciding each name), never from officer text. A column holds the very Python
values the per-claim engine computes (dates, Decimals, strings in object arrays; booleans as a bool array), and
each operation applies the same Python operation to every row at once: NumPy's loops for comparisons, logic and
selection, and for built-in functions and exact arithmetic one Python call per distinct argument (facts, constants
and the results of such calls are dictionary-encoded, Col.codes, so the distinct arguments are found by NumPy). The
calendar functions (age, months_between, add_months, year, month, day) are computed on day numbers in NumPy,
with the built-ins' rules (tests/test_columnar.py compares them). So the values are the per-claim values, not a
second reading of the language.

What the per-claim engine would raise for a row is not reproduced here: such a row is marked `bad` (and `missing`
when what it raised is a MissingValue, which `??`, has() and `== null` catch), and the batch decides it through
the per-claim engine. Laziness is kept by masks: the right side of `and`, a branch of `if` or a later item of
`any` only makes a row bad where the per-claim engine would have computed it.

A construct this module does not build falls back, for that expression alone, to the per-claim closure run row by
row over the batch (`fell_back` names each one, for --verbose).
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from itertools import chain, repeat
from operator import is_
from typing import Any

import numpy as np

from engine.language import builtins
from engine.language.builtins import _MAX_INT, MissingValue
from engine.language.checker import Checked, Resolved
from engine.language.compiler import _EXACT, _MAX_EXPONENT, Compiler, Env, _bounded
from engine.language.syntax import (
    Attr,
    Binary,
    Call,
    Comprehension,
    Expr,
    If,
    Index,
    ListLit,
    Literal,
    Name,
    Unary,
    dotted,
    to_source,
)
from engine.language.types import BOOL, DECIMAL, INT

_BIG = np.iinfo(np.int64).max


class NotColumnar(Exception):
    """A construct the column compiler does not build: that expression runs per claim over the batch."""


class Col:
    """One value per row. `bad`: rows whose value the per-claim engine would not have (it raises there);
    `missing`: the bad rows where what it raises is a MissingValue. Either is None when no row is.

    `values` is an object array of the Python values, a bool array (booleans), or an int64 array (whole numbers the
    calendar functions compute on day numbers: each row's value is the Python int its element reads as, as
    tolist() and every cast to objects give it, so that they are compared and chosen by NumPy alone).

    `codes` and `uniques`, when known (a fact read, a constant, a function of such columns): the values dictionary-
    encoded, each row's value the very object `uniques[codes[row]]`, so that a function of the column is computed
    once per distinct value by NumPy indexing rather than a Python pass over the rows. Only for columns whose values
    are all of one Python type (or None): equal values are then alike (never 1 beside True, or 1.0 beside 1.00)."""

    __slots__ = ("values", "bad", "missing", "codes", "uniques")

    def __init__(self, values: np.ndarray, bad: np.ndarray | None = None, missing: np.ndarray | None = None,
                 codes: np.ndarray | None = None, uniques: np.ndarray | None = None):
        self.values = values
        self.bad = bad if bad is not None and bad.any() else None
        self.missing = missing if self.bad is not None and missing is not None and missing.any() else None
        self.codes, self.uniques = codes, uniques


class _MadeWhenRead(Col):
    """A column whose values are made only when something reads them whole (`make()`, once)."""

    __slots__ = ("_make", "_made")
    _made: np.ndarray | None

    def __init__(self, make: Callable[[], np.ndarray], bad: np.ndarray | None, missing: np.ndarray | None):
        self._make = make
        Col.__init__(self, None, bad, missing)  # type: ignore[arg-type]

    @property
    def values(self) -> np.ndarray:
        if self._made is None:
            self._made = self._make()
        return self._made

    @values.setter
    def values(self, made) -> None:
        self._made = made


class DayCol(_MadeWhenRead):
    """A column of dates computed on day numbers (`days`: each row's date.toordinal()), whose dates are made only if
    something reads them whole: comparing dates compares the day numbers, and taking a date apart needs no date."""

    __slots__ = ("days",)

    def __init__(self, days: np.ndarray, make: Callable[[], np.ndarray], bad: np.ndarray | None = None,
                 missing: np.ndarray | None = None):
        self.days = days
        _MadeWhenRead.__init__(self, make, bad, missing)


class ListCol(_MadeWhenRead):
    """A column of lists of records whose items' fields are known as columns (`items`: one value per item, the
    items of all rows in row order; `lengths`: items per row; `absent`: rows whose value is None). The lists
    themselves are made only if something reads them whole."""

    __slots__ = ("lengths", "items", "absent")

    def __init__(self, make: Callable[[], np.ndarray], lengths: np.ndarray, items: dict, absent: np.ndarray | None,
                 bad: np.ndarray | None = None, missing: np.ndarray | None = None):
        self.lengths, self.items, self.absent = lengths, items, absent
        _MadeWhenRead.__init__(self, make, bad, missing)


class RecordCol(_MadeWhenRead):
    """A column of records whose fields are known as columns (a comprehension's items); the records themselves
    are made only if something reads them whole."""

    __slots__ = ("fields",)

    def __init__(self, make: Callable[[], np.ndarray], fields: dict, bad: np.ndarray | None = None,
                 missing: np.ndarray | None = None):
        self.fields = fields
        _MadeWhenRead.__init__(self, make, bad, missing)


def objects(values, n: int) -> np.ndarray:
    """An object array of exactly these values (a list stays one value, never a row of the array)."""
    return np.fromiter(values, dtype=object, count=n)


def repeated(value, n: int) -> np.ndarray:
    """An object array of n times this very value (a list stays one value): filled, several times faster than
    objects(repeat(value, n), n)."""
    values = np.empty(n, dtype=object)
    values.fill(value)
    return values


def _nulls_by_comparing(values: np.ndarray) -> np.ndarray:
    return np.asarray(values == None, dtype=bool)  # noqa: E711 - elementwise, as NumPy compares


def _nulls_by_address(values: np.ndarray) -> np.ndarray:
    """An object array holds CPython's pointers to its values, and None is one object: its rows are None where the
    pointer is None's address (tobytes copies the pointers, in row order), some 20 times faster than comparing each
    value with None (a rich comparison per row, which a chunk makes a few hundred times)."""
    if values.dtype != object:
        return np.zeros(values.shape, bool)
    return (np.frombuffer(values.tobytes(), np.intp) == _NONE_ADDRESS).reshape(values.shape)


_NONE_ADDRESS = id(None)
_PROBE = np.array(["x", None, 1, None], dtype=object)
# by address where the interpreter's ids are addresses (CPython), checked once; else by comparing
_nulls = _nulls_by_address if (np.dtype(np.intp).itemsize == _PROBE.itemsize
                                and _nulls_by_address(_PROBE).tolist() == [False, True, False, True]) \
    else _nulls_by_comparing


def nulls(values: np.ndarray) -> np.ndarray:
    """Where the values are None (null, or an absent fact)."""
    return _nulls(values)


def where_is(values: np.ndarray, obj: object) -> np.ndarray:
    """Where an object array holds this very object: by its pointers, as nulls() finds None, where ids are
    addresses; else one identity test a row."""
    if _nulls is _nulls_by_address:
        return (np.frombuffer(values.tobytes(), np.intp) == id(obj)).reshape(values.shape)
    flat = values.reshape(-1).tolist()  # pragma: no cover - CPython's ids are addresses
    return np.fromiter(map(is_, flat, repeat(obj)), bool, len(flat)).reshape(values.shape)  # pragma: no cover


def _or(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def _and(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None or b is None:
        return None
    return a & b


def _not(a: np.ndarray | None, n: int) -> np.ndarray:
    return np.ones(n, bool) if a is None else ~a


def sequence(cols: list[Col]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """bad and missing of operands computed one after another: a row's fault is that of its first bad operand."""
    bad = missing = None
    for col in cols:
        if col.bad is None:
            continue
        if col.missing is not None:
            first_here = col.missing if bad is None else col.missing & ~bad
            missing = _or(missing, first_here)
        bad = _or(bad, col.bad)
    return bad, missing


def as_bool(col: Col) -> Col:
    values = col.values
    if values.dtype != bool:
        if col.codes is not None and col.uniques is not None:  # each distinct value's truth, once
            truth = np.fromiter(map(is_, col.uniques.tolist(), repeat(True)), dtype=bool, count=len(col.uniques))
            values = truth[col.codes]
        else:
            values = np.fromiter(map(is_, values.tolist(), repeat(True)), dtype=bool, count=len(values))
    return Col(values, col.bad, col.missing)


def gather(col: Col, index: np.ndarray) -> Col:
    if isinstance(col, DayCol):  # the day numbers gathered; the dates only if read whole
        return DayCol(col.days[index], lambda: col.values[index], col.bad[index] if col.bad is not None else None,
                      col.missing[index] if col.missing is not None else None)
    if isinstance(col, RecordCol):
        return RecordCol(lambda: col.values[index], {name: values[index] for name, values in col.fields.items()},
                         col.bad[index] if col.bad is not None else None,
                         col.missing[index] if col.missing is not None else None)
    return Col(col.values[index], col.bad[index] if col.bad is not None else None,
               col.missing[index] if col.missing is not None else None,
               col.codes[index] if col.codes is not None else None, col.uniques)


_BOOLS = np.array([False, True], dtype=object)


def encoded(col: Col) -> tuple[np.ndarray, np.ndarray] | None:
    """(codes, uniques) of a column: known, or made now (and kept) when its values are all texts, whole numbers,
    booleans or dates of one type (or None); None for any other column."""
    if col.codes is not None and col.uniques is not None:
        return col.codes, col.uniques
    if isinstance(col, (ListCol, RecordCol)):
        return None
    values = col.values
    if values.dtype == bool:
        return values.astype(np.int64), _BOOLS
    if values.dtype == np.int64:  # whole numbers: their distinct values found by NumPy
        distinct, codes = np.unique(values, return_inverse=True)
        col.codes, col.uniques = codes.reshape(-1), objects(distinct.tolist(), len(distinct))
        return col.codes, col.uniques
    rows = values.tolist()
    kinds = set(map(type, rows))
    kinds.discard(_NONE)
    if len(kinds) > 1 or not kinds <= _REMEMBERED:
        return None
    col.codes, col.uniques = encode(values, rows)
    return col.codes, col.uniques


def encode(values: np.ndarray, rows: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques) of an object array whose values are all of one type (or None)."""
    if rows is None:
        rows = values.tolist()
    uniques, codes = dictionary(rows)
    return codes, objects(uniques, len(uniques))


def dictionary(values: list) -> tuple[list, np.ndarray]:
    """(the distinct values in the order met, each value's code: the place of its value among them), by one pass of
    a dict (each value's first position, dict.setdefault) and NumPy, not a dict to find them and another to code."""
    n = len(values)
    first: dict = {}
    positions = np.fromiter(map(first.setdefault, values, range(n)), np.int64, n)
    dense = np.empty(n, np.int64)
    dense[np.fromiter(first.values(), np.int64, len(first))] = np.arange(len(first))
    return list(first), dense[positions]


def constant(value, n: int) -> Col:
    """The same value in every row."""
    return Col(repeated(value, n), codes=np.zeros(n, np.int64), uniques=objects((value,), 1))


def chosen(where: np.ndarray, a: Col, b: Col) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(codes, uniques) of np.where(where, a.values, b.values), when both are encoded already."""
    if a.codes is None or b.codes is None or a.uniques is None or b.uniques is None:
        return None, None
    return np.where(where, a.codes, b.codes + len(a.uniques)), np.concatenate((a.uniques, b.uniques))


class Batch:
    """The claims of one batch decided under one program: their facts in columns (engine.columnar.reader, a
    ColumnView) and decision dates; fact columns and definition values are computed once per batch."""

    def __init__(self, source, dates, coded: tuple | None = None):
        """`dates`: each claim's decision date (a list, or an object array); `coded`: (codes, uniques) of them, when
        known."""
        self.source = source
        self.n = source.n
        self.dates = dates if isinstance(dates, np.ndarray) and dates.dtype == object else objects(dates, self.n)
        self.paths: dict = {}
        self.definitions: dict = {}
        self._day: Col | None = None
        self._coded_days = coded

    def close(self) -> None:
        """Let go of the batch's columns. Columns made when read refer to the batch that holds them (a cycle), so
        without this the claims they reach would wait for the cyclic garbage collector, which would walk all of
        them first."""
        self.paths.clear()
        self.definitions.clear()
        self.source = None

    @property
    def day(self) -> Col:
        """The decision dates as a column, encoded."""
        if self._day is None:
            self._day = Col(self.dates, codes=None, uniques=None)
            self._day.codes, self._day.uniques = self._coded_days or encode(self.dates)
        return self._day

    def coded(self, root: str, keys: tuple) -> tuple | None:
        """(codes, uniques) of a fact path's values (Batch.path), or None when the reader does not encode it."""
        key = ("coded", root, keys)
        if key not in self.paths:
            self.paths[key] = self.source.coded((root,) + keys)
        return self.paths[key]

    @property
    def facts(self) -> list[dict]:
        """Each claim's facts as the per-claim engine has them, for expressions run claim by claim."""
        return self.source.facts

    def path(self, root: str, keys: tuple) -> np.ndarray:
        """A fact path's values, None where the fact (or a record on its way) is absent or null."""
        key = (root, keys)
        found = self.paths.get(key)
        if found is None:
            found = self.paths[key] = self.source.path((root,) + keys)
        return found

    def day_numbers(self, root: str, keys: tuple) -> tuple | None:
        """(day numbers, where given) of a date fact the reader has as days (engine.columnar.reader), or None."""
        key = ("days", root, keys)
        if key not in self.paths:
            self.paths[key] = self.source.day_numbers((root,) + keys)
        return self.paths[key]

    def present(self, root: str, keys: tuple) -> np.ndarray:
        """Where a fact path is given (present and not null)."""
        return self.source.present((root,) + keys)

    def items(self, root: str, keys: tuple) -> tuple | None:
        """A list of records' items per claim and their fields as columns, or None (engine.columnar.reader)."""
        key = ("items", root, keys)
        if key not in self.paths:
            self.paths[key] = self.source.items((root,) + keys)
        return self.paths[key]


class Ctx:
    """Where an expression is computed: the whole batch (index None), or the items of a comprehension, each row
    one item, `index` its claim's row in the batch."""

    __slots__ = ("batch", "n", "index", "locals", "dates")

    def __init__(self, batch: Batch, n: int, index: np.ndarray | None, local: dict, dates: np.ndarray):
        self.batch, self.n, self.index, self.locals, self.dates = batch, n, index, local, dates

    @classmethod
    def root(cls, batch: Batch) -> Ctx:
        return cls(batch, batch.n, None, {}, batch.dates)


class Memo:
    """The results of a pure function (a built-in, a table lookup, whole-number arithmetic) by argument values,
    kept across batches: a batch computes it once per distinct argument it has not met yet. Only for arguments
    whose equal values behave alike (texts, whole numbers, booleans, dates, each argument of one type): never
    decimals (1.0 and 1.00 are equal, and print differently) nor 1 beside True."""

    __slots__ = ("fn", "results", "missing", "faults")
    KEPT = 100_000

    def __init__(self, fn: Callable):
        self.fn = fn
        self.results: dict = {}
        self.missing: set = set()  # arguments for which fn raised MissingValue
        self.faults: set = set()  # arguments for which it raised anything else

    def coded(self, cols: list[Col], n: int, bad, missing) -> Col | None:
        """The column of fn over encoded columns (Col.codes), computed once per distinct combination of arguments
        by NumPy indexing; None when a column is not encoded or not of a kind it may remember."""
        parts = []
        for col in cols:
            if col.codes is None and isinstance(col.values, np.ndarray) and col.values.dtype == object:
                return None  # not encoded: the plain path (__call__) goes over it once, as encoding it would
            found = encoded(col)
            if found is None:
                return None
            codes, uniques = found
            kinds = set(map(type, uniques.tolist()))
            kinds.discard(_NONE)
            if len(kinds) > 1 or not kinds <= _REMEMBERED:
                return None
            if col.bad is not None:  # as _filled: a bad row takes a good row's arguments (its result is not used)
                good = np.flatnonzero(~col.bad)
                if len(good):
                    codes = codes.copy()
                    codes[col.bad] = codes[good[0]]
            parts.append((codes, uniques))
        if len(parts) == 1:
            codes, uniques = parts[0]
            size = len(uniques)
            combined = codes
        else:
            size = 1
            combined = np.zeros(n, np.int64)
            for codes, uniques in parts:
                size *= len(uniques)
                if size > 1 << 62:
                    return None
                combined = combined * len(uniques) + codes
        if size <= 4 * n + 1024:
            seen = np.zeros(size, bool)
            seen[combined] = True
            used = np.flatnonzero(seen)
            if len(parts) == 1 and len(used) == size:
                inverse = combined
            else:
                remap = np.zeros(size, np.int64)
                remap[used] = np.arange(len(used))
                inverse = remap[combined]
        else:
            used, inverse = np.unique(combined, return_inverse=True)
            inverse = inverse.reshape(-1)
        if len(parts) == 1:
            keys = parts[0][1][used].tolist()
        else:
            columns = []
            rest = used
            for _codes, uniques in reversed(parts):
                columns.append(uniques[rest % len(uniques)].tolist())
                rest = rest // len(uniques)
            keys = list(zip(*reversed(columns), strict=True))
        self._learn(keys, len(parts) == 1)
        results = self.results
        out = objects(map(results.__getitem__, keys), len(keys))
        values = out[inverse]
        if self.missing or self.faults:
            faults = np.fromiter(map(self.faults.__contains__, keys), bool, len(keys))
            missed = np.fromiter(map(self.missing.__contains__, keys), bool, len(keys))
            if faults.any() or missed.any():
                new_bad = (faults | missed)[inverse]
                new_missing = missed[inverse]
                if bad is not None:  # a row bad already keeps its first fault
                    new_bad &= ~bad
                    new_missing &= ~bad
                bad = _or(bad, new_bad)
                missing = _or(missing, new_missing)
        return Col(values, bad, missing, inverse, out)

    def _learn(self, keys, single: bool) -> None:
        """Compute fn for the keys (a list or set of arguments) it has not met yet."""
        results = self.results
        new = [key for key in keys if key not in results]
        if new:
            if len(results) > self.KEPT:
                results.clear()
                self.missing.clear()
                self.faults.clear()
                new = list(keys)
            fn = self.fn
            for key in new:
                try:
                    results[key] = fn(key) if single else fn(*key)
                except MissingValue:
                    results[key] = None
                    self.missing.add(key)
                except Exception:  # whatever the per-claim engine makes of it, it decides those rows
                    results[key] = None
                    self.faults.add(key)

    def __call__(self, lists: list[list], n: int, bad, missing) -> Col | None:
        """The column of fn over these argument lists; None when the arguments are not of kinds it may remember."""
        for values in lists:
            kinds = set(map(type, values))
            kinds.discard(_NONE)
            if len(kinds) > 1 or not kinds <= _REMEMBERED:
                return None
        keys = lists[0] if len(lists) == 1 else list(zip(*lists, strict=True))
        distinct = set(keys)
        self._learn(distinct, len(lists) == 1)
        out = objects(map(self.results.__getitem__, keys), n)
        if self.missing or self.faults:
            row_missing = distinct & self.missing
            row_faults = distinct & self.faults
            if row_missing or row_faults:
                row_faults |= row_missing
                new_bad = np.fromiter(map(row_faults.__contains__, keys), bool, n)
                new_missing = np.fromiter(map(row_missing.__contains__, keys), bool, n)
                if bad is not None:  # a row bad already keeps its first fault
                    new_bad &= ~bad
                    new_missing &= ~bad
                bad = _or(bad, new_bad)
                missing = _or(missing, new_missing)
        return Col(out, bad, missing)


_NONE = type(None)
_REMEMBERED = frozenset((str, int, bool, date))


def each(fn: Callable, cols: list[Col], n: int, memo: Memo | None = None) -> Col:
    """fn applied to every row's values, in Python (through `memo`, once per distinct arguments, where it may). A
    row whose operands are bad stays bad (with their fault); a row where fn raises becomes bad (missing when it
    raised MissingValue)."""
    bad, missing = sequence(cols)
    if memo is not None and n > 1:
        found = memo.coded(cols, n, bad, missing)
        if found is not None:
            return found
    lists = [_filled(c).tolist() for c in cols]
    if memo is not None and n > 1:
        found = memo(lists, n, bad, missing)
        if found is not None:
            return found
    try:  # usually nothing raises: one pass, with no handler per row
        if len(lists) == 1:
            out = [fn(a) for a in lists[0]]
        elif len(lists) == 2:
            out = [fn(a, b) for a, b in zip(lists[0], lists[1], strict=True)]
        else:
            out = [fn(*args) for args in zip(*lists, strict=True)]
        return Col(objects(out, n), bad, missing)
    except Exception:  # some row raises: row by row, each fault marked in its row
        pass
    bad_rows = bad.tolist() if bad is not None else None
    out = [None] * n
    new_bad: list[int] = []
    new_missing: list[int] = []
    for i, args in enumerate(zip(*lists, strict=True)):
        if bad_rows is not None and bad_rows[i]:
            continue
        try:
            out[i] = fn(*args)
        except MissingValue:
            new_bad.append(i)
            new_missing.append(i)
        except Exception:  # whatever the per-claim engine makes of it, it decides this row
            new_bad.append(i)
    if new_bad:
        bad = bad.copy() if bad is not None else np.zeros(n, bool)
        bad[new_bad] = True
        if new_missing:
            missing = missing.copy() if missing is not None else np.zeros(n, bool)
            missing[new_missing] = True
    return Col(objects(out, n), bad, missing)


def _filled(col: Col) -> np.ndarray:
    """The values with each bad row given a good row's value, so that one NumPy operation can take them all."""
    if col.bad is None:
        return col.values
    good = np.flatnonzero(~col.bad)
    if len(good) == 0:
        return col.values
    values = col.values.copy()
    fill = values[good[0]:good[0] + 1]  # a one-row slice: a list value is one object, never spread over rows
    values[col.bad] = fill
    return values


_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


def _encoded_good(col: Col) -> tuple | None:
    """(codes, uniques) of an encoded column with each bad row given a good row's code, so that a computation over
    the distinct values never meets a bad row's value; None when it is not encoded or no row is good."""
    found = encoded(col)
    if found is None:
        return None
    codes, uniques = found
    if col.bad is not None:
        good = np.flatnonzero(~col.bad)
        if len(good) == 0:
            return None
        codes = codes.copy()
        codes[col.bad] = codes[good[0]]
    return codes, uniques


def _days(col: Col) -> tuple | None:
    """(year, month, day) arrays of a column of dates, a bad row given a good row's date; None when a row's value is
    not a date. An encoded column is taken apart once per distinct date; any other (the items of a list) row by
    row, each date to its day number in one pass."""
    if isinstance(col, DayCol):
        return _civil(col.days)
    if col.codes is None and not isinstance(col, (ListCol, RecordCol)) and col.values.dtype == object:
        try:  # date.toordinal refuses anything that is not a date (None, a text)
            return _civil(np.fromiter(map(date.toordinal, _filled(col).tolist()), np.int64, len(col.values)))
        except TypeError:
            return None
    found = _encoded_good(col)
    if found is None:
        return None
    codes, parts = found[0], _days_of(found[1])
    if not parts[1][codes].all():
        return None
    return tuple(values[codes] for values in parts[3:])


def _days_of(uniques: np.ndarray) -> tuple:
    """(uniques, which are dates, their day numbers, years, months and days), once per array of distinct values."""
    parts = _DAYS_OF.get(id(uniques))
    if parts is None or parts[0] is not uniques:
        if len(_DAYS_OF) > 64:
            _DAYS_OF.clear()
        days = uniques.tolist()
        if set(map(type, days)) == {date}:
            is_day = np.ones(len(days), bool)
        else:
            is_day = np.fromiter((type(d) is date for d in days), bool, len(days))
            days = [d if type(d) is date else _SOME_DAY for d in days]
        ordinals = np.fromiter(map(date.toordinal, days), np.int64, len(days))
        parts = _DAYS_OF[id(uniques)] = (uniques, is_day, ordinals) + _civil(ordinals)
    return parts


def _day_numbers(col: Col) -> np.ndarray | None:
    """Each row's date.toordinal(), a bad row given a good row's: for a DayCol, or an encoded column of dates (facts,
    decision dates); None for any other column (its dates are compared as dates)."""
    if isinstance(col, DayCol):
        return col.days
    if col.codes is None or col.uniques is None:
        return None
    found = _encoded_good(col)
    if found is None:
        return None
    codes, parts = found[0], _days_of(found[1])
    if not parts[1][codes].all():
        return None
    return parts[2][codes]


def _ordinals(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """date(year, month, day).toordinal() in NumPy (H. Hinnant, days_from_civil: years from March, in eras of 400)."""
    year = year - (month <= 2)
    era = year // 400
    yoe = year - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 305


def _civil(ordinals: np.ndarray) -> tuple:
    """(year, month, day) of proleptic Gregorian day numbers (date.toordinal: 0001-01-01 is 1), in NumPy: the days
    counted from 0000-03-01 in eras of 400 years, each year from March, so that a leap day ends its year (H. Hinnant,
    civil_from_days)."""
    z = ordinals + 305
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    return yoe + era * 400 + (month <= 2), month, day


_DAYS_OF: dict = {}  # id(uniques) -> (uniques, which are dates, their day numbers, years, months and days)
_SOME_DAY = date(2000, 1, 1)


def _whole_months(cols: list[Col], n: int) -> tuple | None:
    """(months, forward) for months_between(a, b) over date columns, in NumPy: the whole months from the earlier
    date to the later, a month complete on its anniversary (clamped to the month's end, as add_months), and whether
    b is on or after a. None when the columns are not encoded dates."""
    if len(cols) != 2:
        return None
    a, b = _days(cols[0]), _days(cols[1])
    if a is None or b is None:
        return None
    forward = (b[0] * 10_000 + b[1] * 100 + b[2]) >= (a[0] * 10_000 + a[1] * 100 + a[2])
    (sy, sm, sd), (ey, em, ed) = ([np.where(forward, x, y) for x, y in zip(a, b, strict=True)],
                                  [np.where(forward, y, x) for x, y in zip(a, b, strict=True)])
    months = (ey - sy) * 12 + em - sm
    leap = (ey % 4 == 0) & ((ey % 100 != 0) | (ey % 400 == 0))
    month_days = _MONTH_DAYS[em - 1] + ((em == 2) & leap)
    # the anniversary falls in end's month, on start's day or that month's last: after end only if end's day is
    # before both
    months -= (ed < sd) & (ed < month_days)
    return months, forward


def _months_between_days(cols: list[Col], n: int) -> Col | None:
    found = _whole_months(cols, n)
    if found is None:
        return None
    months, forward = found
    bad, missing = sequence(cols)
    return Col(np.where(forward, months, -months), bad, missing)


def _age_days(cols: list[Col], n: int) -> Col | None:
    found = _whole_months(cols, n)
    if found is None:
        return None
    months, forward = found
    years = months // 12
    bad, missing = sequence(cols)
    return Col(np.where(forward, years, -years), bad, missing)


def _month_days(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return _MONTH_DAYS[month - 1] + ((month == 2) & leap)


def _add_months_days(cols: list[Col], n: int) -> Col | None:
    """add_months(day, months) in NumPy: the same day so many months on, or the month's last day where it has no
    such day; a row whose result is outside the calendar (years 1 to 9999) is bad, as add_months raises there."""
    if len(cols) != 2:
        return None
    day, months = _days(cols[0]), _whole(cols[1])
    if day is None or months is None:
        return None
    total = day[0] * 12 + day[1] - 1 + months
    year, month = total // 12, total % 12 + 1
    outside = (year < 1) | (year > 9999)
    year = np.where(outside, 2000, year)
    dom = np.minimum(day[2], _month_days(year, month))
    days = _ordinals(year, month, dom)

    def dates() -> np.ndarray:
        keys, inverse = np.unique(days, return_inverse=True)
        return objects(map(date.fromordinal, keys.tolist()), len(keys))[inverse.reshape(-1)]

    bad, missing = sequence(cols)
    if outside.any():
        bad = _or(bad, outside if bad is None else outside & ~bad)
    return DayCol(days, dates, bad, missing)


def _whole(col: Col) -> np.ndarray | None:
    """A column of whole numbers as an int64 array, a bad row given a good row's number; None when it is not
    encoded, holds another value, or a number beyond a million (left to add_months itself)."""
    if col.values.dtype == np.int64:
        values = _filled(col)
        return values if len(values) == 0 or (values.min() >= -1_000_000 and values.max() <= 1_000_000) else None
    found = _encoded_good(col)
    if found is None:
        return None
    codes, uniques = found
    used = np.flatnonzero(np.bincount(codes, minlength=len(uniques)))
    numbers = uniques[used].tolist()
    if set(map(type, numbers)) != {int} or max(map(abs, numbers)) > 1_000_000:
        return None
    values = np.zeros(len(uniques), np.int64)
    values[used] = numbers
    return values[codes]


def _part_of_day(index: int) -> Callable:
    def part(cols: list[Col], n: int) -> Col | None:
        found = _days(cols[0]) if len(cols) == 1 else None
        if found is None:
            return None
        bad, missing = sequence(cols)
        return Col(found[index], bad, missing)

    return part


# GB 11643's check: int(first 17 digits, 13) mod 11, as stdnum.cn.ric.calc_check_digit computes it; 13 ** k mod 11
_ID_WEIGHTS = np.array([pow(13, 16 - k, 11) for k in range(17)], np.int64)
_IDS_OF: dict = {}  # id(uniques) -> (uniques, valid, birth dates, sexes), for the three functions of one column
_SEXES = np.array(["female", "male", None], dtype=object)


def _resident_ids(col: Col) -> tuple | None:
    """(codes, valid, birth dates, sexes) of an encoded column of resident identity numbers: per distinct number,
    what engine.language.builtins._resident_id decides (18 ASCII characters, 17 digits and a check character, the
    check character right, the birth-date digits a calendar date), computed on the digits in NumPy; the birth date
    and sex of an invalid number are None. None when the column is not encoded or no row is good."""
    found = _encoded_good(col)
    if found is None:
        return None
    codes, uniques = found
    parts = _IDS_OF.get(id(uniques))
    if parts is None or parts[0] is not uniques:
        if len(_IDS_OF) > 64:
            _IDS_OF.clear()
        # anything that is no 18-character ASCII text stands as a text that is no number
        texts = [v if type(v) is str and len(v) == 18 and v.isascii() else "-" * 18 for v in uniques.tolist()]
        k = len(texts)
        raw = np.frombuffer("".join(texts).encode("ascii"), np.uint8).reshape(k, 18).astype(np.int64)
        digits = raw[:, :17] - 48
        last = raw[:, 17]
        valid = ((digits >= 0) & (digits <= 9)).all(axis=1) & (((last >= 48) & (last <= 57)) | (last == 88))
        digits = np.where(valid[:, None], digits, 0)
        check = (1 - 2 * (digits @ _ID_WEIGHTS % 11)) % 11
        valid &= last == np.where(check == 10, 88, 48 + check)
        year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
        month = digits[:, 10:12] @ np.array([10, 1])
        day = digits[:, 12:14] @ np.array([10, 1])
        valid &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
        valid &= day <= _month_days(year, np.clip(month, 1, 12))
        # an invalid number's birth date stands as the day 1 (never read: its rows are bad)
        births = np.where(valid, _ordinals(np.where(valid, year, 1), np.clip(month, 1, 12), np.maximum(day, 1)), 1)
        sexes = _SEXES[np.where(valid, digits[:, 16] % 2, 2)]
        parts = _IDS_OF[id(uniques)] = (uniques, valid, births, sexes)
    return (codes,) + parts[1:]


def _resident_id_valid_digits(cols: list[Col], n: int) -> Col | None:
    found = _resident_ids(cols[0]) if len(cols) == 1 else None
    if found is None:
        return None
    codes, valid = found[0], found[1]
    bad, missing = sequence(cols)
    return Col(valid[codes], bad, missing)


def _resident_id_part(index: int) -> Callable:
    """resident_id_birth_date (2) or resident_id_sex (3): a row whose number is invalid is bad, as the built-in
    raises there (not a missing value)."""
    def part(cols: list[Col], n: int) -> Col | None:
        found = _resident_ids(cols[0]) if len(cols) == 1 else None
        if found is None:
            return None
        codes, valid = found[0], found[1]
        bad, missing = sequence(cols)
        faults = ~valid[codes]
        if bad is not None:  # a row bad already keeps its first fault
            faults &= ~bad
        if index == 3:
            return Col(found[3][codes], _or(bad, faults), missing)
        days, good = found[2][codes], valid[codes]

        def births() -> np.ndarray:  # the dates themselves, if something reads them whole
            keys, inverse = np.unique(days, return_inverse=True)
            made = objects(map(date.fromordinal, keys.tolist()), len(keys))[inverse.reshape(-1)]
            made[~good] = None
            return made

        return DayCol(days, births, _or(bad, faults), missing)

    return part


# built-in functions computed on arrays (day numbers, digits) when their arguments allow; else once per distinct
# argument, as any other
_ON_ARRAYS: dict = {builtins.months_between: _months_between_days, builtins.age: _age_days,
                    builtins.add_months: _add_months_days, builtins.BUILTINS["year"].run: _part_of_day(0),
                    builtins.BUILTINS["month"].run: _part_of_day(1), builtins.BUILTINS["day"].run: _part_of_day(2),
                    builtins.BUILTINS["resident_id_valid"].run: _resident_id_valid_digits,
                    builtins.BUILTINS["resident_id_birth_date"].run: _resident_id_part(2),
                    builtins.BUILTINS["resident_id_sex"].run: _resident_id_part(3)}


def _compare(op: Callable, left: Col, right: Col, n: int) -> Col:
    bad, missing = sequence([left, right])
    if isinstance(left, DayCol) or isinstance(right, DayCol):  # dates: their order is that of their day numbers
        days = _day_numbers(left), _day_numbers(right)
        if days[0] is not None and days[1] is not None:
            return Col(np.asarray(op(days[0], days[1]), dtype=bool), bad, missing)
    found = _compare_fast(op, left, right, n)
    if found is not None:
        return Col(found, bad, missing)
    try:
        values = np.asarray(op(_filled(left), _filled(right)), dtype=bool)
        if values.shape != (n,):
            raise TypeError("not one answer per row")
    except Exception:  # a comparison NumPy cannot make for every row at once: one row at a time
        return as_bool(each(lambda a, b: bool(op(a, b)), [left, right], n))
    return Col(values, bad, missing)


def _compare_fast(op: Callable, left: Col, right: Col, n: int) -> np.ndarray | None:
    """A comparison made without a Python comparison per row, where it can be (None where not): of whole numbers
    as int64 arrays (a column of them, or an encoded one of Python ints), or of an encoded column with a constant,
    once per distinct value. The same answers as comparing the rows' Python values (_compare), a bad row aside."""
    numbers = _int64(left), _int64(right)
    if numbers[0] is not None and numbers[1] is not None and (left.values.dtype == np.int64
                                                              or right.values.dtype == np.int64):
        return np.asarray(op(numbers[0], numbers[1]), dtype=bool)
    for col, other, flipped in ((left, right, False), (right, left, True)):
        if other.uniques is None or other.codes is None or len(other.uniques) != 1 or col.codes is None \
                or col.uniques is None or len(col.uniques) * 4 > n:
            continue
        size = len(col.uniques)
        constant = repeated(other.uniques[0], size)
        try:
            truth = np.asarray(op(constant, col.uniques) if flipped else op(col.uniques, constant), dtype=bool)
        except Exception:  # as _compare: the rows are compared one at a time
            return None
        return truth[col.codes] if truth.shape == (size,) else None
    return None


def _int64(col: Col) -> np.ndarray | None:
    """A column of whole numbers (not booleans) as an int64 array, a bad row given a good row's number; None where it
    holds anything else (or is not encoded)."""
    if col.values.dtype == np.int64:
        return _filled(col)
    if col.codes is None or col.uniques is None or len(col.uniques) > len(col.codes):
        return None
    found = _encoded_good(col)
    if found is None:
        return None
    codes, uniques = found
    numbers = uniques.tolist()
    if set(map(type, numbers)) != {int} or not all(-_BIG - 1 <= v <= _BIG for v in numbers):
        return None
    return np.array(numbers, np.int64)[codes]


_NUMPY_COMPARE = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
                  ">=": np.greater_equal}
_PYTHON_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                   ">=": operator.ge}


class ColumnCompiler:
    """One checked policy's expressions as functions of a Ctx. `force_fallback` (node classes or built-in names)
    makes those constructs fall back, so that the fallback itself can be tested."""

    def __init__(self, root: Checked, force_fallback: frozenset = frozenset()):
        self.root = root
        self.checked_by_linked: dict = {}
        self._register(root)
        self.force_fallback = force_fallback
        self.fell_back: list[str] = []
        self._closures: Compiler | None = None
        self.functions: dict = {}
        self.memos: dict = {}
        self.definitions: dict = {}

    def _register(self, checked: Checked) -> None:
        self.checked_by_linked[id(checked.linked)] = checked
        for sub in checked.aliases.values():
            self._register(sub)

    def expression(self, tree: Expr, linked) -> Callable[[Ctx], Col]:
        return self.node(tree, self.checked_by_linked[id(linked)])

    # -- the per-claim closures, for what falls back ------------------------------------------------

    def _fallback(self, node: Expr, checked: Checked) -> Callable[[Ctx], Col]:
        if self._closures is None:
            self._closures = Compiler(self.root)
        compiled = self._closures.node(node, checked)
        self.fell_back.append(to_source(node))

        def per_claim(ctx: Ctx) -> Col:
            facts = ctx.batch.facts
            rows = range(ctx.n) if ctx.index is None else ctx.index.tolist()
            dates = ctx.dates.tolist()
            names = list(ctx.locals)
            local_values = [ctx.locals[k].values.tolist() for k in names]

            def run(i, row):
                env = Env(facts[row], dates[i])
                env.locals = {k: v[i] for k, v in zip(names, local_values, strict=True)}
                return compiled(env)

            # locals are never bad where they are bound: a comprehension binds only items of lists it has
            return each(run, [Col(np.arange(ctx.n, dtype=object)), Col(objects(rows, ctx.n))], ctx.n)

        return per_claim

    # -- nodes ----------------------------------------------------------------------------------------

    def node(self, node: Expr, checked: Checked) -> Callable[[Ctx], Col]:
        kind = type(node)
        try:
            if kind in self.force_fallback:
                raise NotColumnar(kind.__name__)
            built = _BUILDERS[kind](self, node, checked)
        except NotColumnar:
            built = self._fallback(node, checked)
        node_type = checked.types.get(id(node))
        if node_type == DECIMAL and isinstance(node, (If, Call, Binary, Comprehension, Name)):
            inner = built

            def as_decimal(ctx: Ctx) -> Col:  # as the per-claim engine: a decimal stays a Decimal
                col = inner(ctx)
                values = col.values
                if int in set(map(type, values.tolist())):
                    values = objects((Decimal(v) if type(v) is int else v for v in values.tolist()), len(values))
                return Col(values, col.bad, col.missing)

            return as_decimal
        if node_type == BOOL:
            inner_bool = built
            return lambda ctx: as_bool(inner_bool(ctx))
        return built

    def _literal(self, node: Literal, checked: Checked):
        value = node.value
        if isinstance(value, bool):
            return lambda ctx: Col(np.full(ctx.n, value, dtype=bool))
        return lambda ctx: constant(value, ctx.n)

    def _name(self, node: Name, checked: Checked):
        r: Resolved = checked.resolved[id(node)]
        name = node.name
        if r.kind == "local":
            return lambda ctx: ctx.locals[name]
        if r.kind == "definition":
            assert r.linked is not None
            return self.definition(r.target, r.linked)
        if r.kind == "table":
            table = r.target
            return lambda ctx: Col(repeated(table, ctx.n))
        if r.kind == "decision_date":
            return lambda ctx: ctx.batch.day if ctx.index is None else gather(ctx.batch.day, ctx.index)
        if r.kind == "fact":
            return self._fact(name, ())
        raise NotColumnar(r.kind)  # pragma: no cover - the checker allows no other bare name

    def _fact(self, root: str, keys: tuple, probe: bool = False, presence: bool = False):
        """A fact path: absent (or null) is a MissingValue, or, probed, the value None; or whether it is given."""
        if presence:
            def given(ctx: Ctx) -> Col:
                values = ctx.batch.present(root, keys)
                return Col(values if ctx.index is None else values[ctx.index])

            return given

        def read(ctx: Ctx) -> Col:
            if ctx.index is None:
                found = ctx.batch.items(root, keys)
                if found is not None:  # a list of records: its items' fields are columns already
                    lengths, fields = found
                    absent = ~ctx.batch.present(root, keys)
                    batch = ctx.batch
                    if probe:
                        return ListCol(lambda: batch.path(root, keys), lengths, fields, absent)
                    return ListCol(lambda: batch.path(root, keys), lengths, fields, absent, absent, absent)
            if not probe:  # a date the reader has as day numbers: a DayCol, its dates made only if read whole
                days = ctx.batch.day_numbers(root, keys)
                if days is not None:
                    numbers, given = days if ctx.index is None else (days[0][ctx.index], days[1][ctx.index])
                    batch, index = ctx.batch, ctx.index
                    absent = ~given

                    def dates() -> np.ndarray:
                        values = batch.path(root, keys)
                        return values if index is None else values[index]

                    return DayCol(numbers, dates, absent, absent)
            found = ctx.batch.coded(root, keys)  # first: a column the reader encoded is then read from its codes
            values = ctx.batch.path(root, keys)
            codes, uniques = found if found is not None else (None, None)
            if ctx.index is not None:
                values = values[ctx.index]
                codes = codes[ctx.index] if codes is not None else None
            if probe:
                return Col(values, codes=codes, uniques=uniques)
            absent = nulls(values) if codes is None else nulls(uniques)[codes]
            return Col(values, absent, absent, codes, uniques)

        return read

    def _probe(self, node: Expr, checked: Checked, presence: bool = False):
        path = dotted(node)
        if path is None:
            return None
        root_res = checked.resolved.get(id(_root(node)))
        if root_res is None or root_res.kind != "fact" or checked.resolved.get(id(node)) is not None:
            return None
        root, *rest = path.split(".")
        return self._fact(root, tuple(rest), probe=True, presence=presence)

    def _presence(self, node: Expr, checked: Checked):
        """has(x) as a bool column: a fact path probed; anything else computed, a MissingValue counting as absent."""
        probe = self._probe(node, checked, presence=True)
        if probe is not None:
            return probe
        compiled = self.node(node, checked)

        def present(ctx: Ctx) -> Col:
            col = compiled(ctx)
            values = ~nulls(col.values)
            if col.missing is not None:
                values &= ~col.missing
            bad = col.bad & ~col.missing if col.missing is not None else col.bad
            return Col(values, bad)

        return present

    def definition(self, definition, linked):
        key = (id(linked), definition.name)
        found = self.definitions.get(key)
        if found is not None:
            return found
        box: list = []

        def value(ctx: Ctx) -> Col:  # once per batch, for every claim; each comprehension row takes its claim's
            cache = ctx.batch.definitions
            col = cache.get(key)
            if col is None:
                col = cache[key] = box[0](Ctx.root(ctx.batch))
            return col if ctx.index is None else gather(col, ctx.index)

        self.definitions[key] = value
        box.append(self.node(definition.expr.tree, self.checked_by_linked[id(linked)]))
        return value

    def function(self, definition, linked):
        key = (id(linked), definition.name)
        if key not in self.functions:
            box = []
            self.functions[key] = (tuple(p.name for p in definition.params), box)
            box.append(self.node(definition.expr.tree, self.checked_by_linked[id(linked)]))
        return self.functions[key]

    def _attr(self, node: Attr, checked: Checked):
        r = checked.resolved.get(id(node))
        if r is not None:  # an exported name of another policy
            if r.kind == "definition":
                assert r.linked is not None
                return self.definition(r.target, r.linked)
            table = r.target
            return lambda ctx: Col(repeated(table, ctx.n))
        path = dotted(node)
        if path is not None:
            root, *rest = path.split(".")
            root_res = checked.resolved.get(id(_root(node)))
            if root_res is not None and root_res.kind == "fact":
                return self._fact(root, tuple(rest))
        obj = self.node(node.obj, checked)
        name = node.name

        def get(ctx: Ctx) -> Col:  # a field of a record (a comprehension's item, a table row): absent is missing
            col = obj(ctx)
            if isinstance(col, RecordCol) and name in col.fields:
                values = col.fields[name]
                absent = nulls(values)
                return Col(values, _or(col.bad, absent),
                           _or(col.missing, absent if col.bad is None else absent & ~col.bad))
            if col.codes is not None and col.uniques is not None:  # encoded records (table rows): each one's
                # field read once
                uniques = objects([v.get(name) if type(v) is dict else None for v in col.uniques.tolist()],
                                  len(col.uniques))
                absent = nulls(uniques)[col.codes]
                return Col(uniques[col.codes], _or(col.bad, absent),
                           _or(col.missing, absent if col.bad is None else absent & ~col.bad), col.codes, uniques)
            records = col.values.tolist()
            by_id = dict(zip(map(id, records), records, strict=True))
            if len(by_id) * 4 < len(records):  # a few records, many times (table rows): each field read once
                fields = {key: v.get(name) if type(v) is dict else None for key, v in by_id.items()}
                values = objects(map(fields.__getitem__, map(id, records)), ctx.n)
            else:
                values = objects([v.get(name) if type(v) is dict else None for v in records], ctx.n)
            absent = nulls(values)
            return Col(values, _or(col.bad, absent), _or(col.missing, absent if col.bad is None else absent & ~col.bad))

        return get

    def _index(self, node: Index, checked: Checked):
        table_of = self.node(node.obj, checked)
        keys = [self.node(k, checked) for k in node.keys]
        target = checked.resolved.get(id(node.obj))
        if target is not None and target.kind == "table":
            rows = target.target.rows

            def known(*key):
                row = rows.get(key)
                if row is None:
                    raise MissingValue("no row")
                return row

            rows_memo = Memo(known)
            return lambda ctx: each(known, [k(ctx) for k in keys], ctx.n, rows_memo)

        def any_table(table, *key):
            row = table.rows.get(key)
            if row is None:
                raise MissingValue("no row")
            return row

        return lambda ctx: each(any_table, [table_of(ctx)] + [k(ctx) for k in keys], ctx.n)

    def _call(self, node: Call, checked: Checked):
        r: Resolved = checked.resolved[id(node)]
        if r.kind == "has":
            return self._presence(node.args[0], checked)
        args = [self.node(a, checked) for a in node.args]
        if r.kind == "builtin":
            builtin: Any = r.target
            if builtin.name in self.force_fallback:
                raise NotColumnar(builtin.name)
            fn = builtin.run
            memo = self.memos.get(builtin.name)
            if memo is None:  # one per function: its calls anywhere in the policy share what it computed
                memo = self.memos[builtin.name] = Memo(fn)
            vector = _ON_ARRAYS.get(fn)
            quotient = node.args[0] if builtin.name == "floor" and len(node.args) == 1 else None
            if (isinstance(quotient, Binary) and quotient.op == "/" and Binary not in self.force_fallback
                    and checked.types.get(id(quotient.left)) == INT and checked.types.get(id(quotient.right)) == INT):
                return self._floor_of_quotient(quotient, checked, lambda ctx: each(fn, [args[0](ctx)], ctx.n, memo))
            if vector is not None:
                def on_arrays(ctx: Ctx) -> Col:
                    cols = [a(ctx) for a in args]
                    found = vector(cols, ctx.n)
                    return found if found is not None else each(fn, cols, ctx.n, memo)

                return on_arrays
            return lambda ctx: each(fn, [a(ctx) for a in args], ctx.n, memo)
        assert r.linked is not None
        params, box = self.function(r.target, r.linked)

        def call(ctx: Ctx) -> Col:
            values = [a(ctx) for a in args]
            bad, missing = sequence(values)
            # the body sees its parameters only; its arguments are computed first, so their faults come first
            result = box[0](Ctx(ctx.batch, ctx.n, ctx.index, dict(zip(params, values, strict=True)), ctx.dates))
            if bad is None:
                return result
            body_bad, body_missing = sequence([Col(np.zeros(ctx.n, bool), bad, missing), result])
            if isinstance(result, DayCol):
                return DayCol(result.days, lambda: result.values, body_bad, body_missing)
            return Col(result.values, body_bad, body_missing)

        return call

    def _floor_of_quotient(self, node: Binary, checked: Checked, plain: Callable[[Ctx], Col]):
        """floor(a / b) of whole numbers: a // b in NumPy where both are whole numbers of at most a million (the
        decimal quotient, to 28 digits, is then never close enough to a whole number for its rounding to cross one,
        so its floor is the integer quotient); a zero divisor is a fault there, as the division raises. Otherwise
        the plain way, dividing then flooring."""
        numerator, denominator = self.node(node.left, checked), self.node(node.right, checked)

        def floored(ctx: Ctx) -> Col:
            a, b = numerator(ctx), denominator(ctx)
            top, bottom = _whole(a), _whole(b)
            if top is None or bottom is None:
                return plain(ctx)
            bad, missing = sequence([a, b])
            zero = bottom == 0
            if zero.any():
                faults = zero if bad is None else zero & ~bad
                bad = _or(bad, faults)
            quotients = np.floor_divide(top, np.where(zero, 1, bottom))
            return Col(quotients, bad, missing)

        return floored

    def _unary(self, node: Unary, checked: Checked):
        operand = self.node(node.operand, checked)
        if node.op == "not":
            def negate(ctx: Ctx) -> Col:
                col = as_bool(operand(ctx))
                return Col(~col.values, col.bad, col.missing)
            return negate
        negated = Memo(operator.neg)
        return lambda ctx: each(operator.neg, [operand(ctx)], ctx.n, negated)

    def _binary(self, node: Binary, checked: Checked):
        op = node.op
        if op in ("and", "or"):
            left, right = self.node(node.left, checked), self.node(node.right, checked)
            return _logic(op, left, right)
        if op in ("==", "!=") and (_is_null(node.left) or _is_null(node.right)):
            other_node = node.right if _is_null(node.left) else node.left
            want_null = op == "=="
            if isinstance(other_node, (Attr, Index, Name)):
                present = self._presence(other_node, checked)

                def null_test(ctx: Ctx) -> Col:
                    col = present(ctx)
                    return Col(col.values if not want_null else ~col.values, col.bad, col.missing)

                return null_test
            other = self.node(other_node, checked)

            def is_null(ctx: Ctx) -> Col:
                col = other(ctx)
                null = nulls(col.values)
                return Col(null if want_null else ~null, col.bad, col.missing)

            return is_null
        if op == "??":
            return self._default(node, checked)
        left, right = self.node(node.left, checked), self.node(node.right, checked)
        if op in ("in", "not in"):
            r = checked.resolved[id(node)]
            negate = op == "not in"
            if r.kind == "table_member":
                def member(a, table):
                    return ((a,) in table.rows) != negate
            else:
                def member(a, items):
                    return (a in items) != negate
            return lambda ctx: as_bool(each(member, [left(ctx), right(ctx)], ctx.n))
        if op == "/":
            def divide(a, b):
                value = Decimal(a) / Decimal(b)  # the context of this thread, as the per-claim engine's division
                if value.adjusted() > _MAX_EXPONENT:
                    raise ArithmeticError("overflow")
                return value
            quotients = Memo(divide)
            return lambda ctx: each(divide, [left(ctx), right(ctx)], ctx.n, quotients)
        if op in ("+", "-", "*"):
            as_decimal = checked.types.get(id(node)) == DECIMAL
            exact = {"+": _EXACT.add, "-": _EXACT.subtract, "*": _EXACT.multiply}[op]
            plain = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op]

            def arithmetic(a, b):
                if as_decimal:
                    return _bounded(exact, Decimal(a), Decimal(b), node)
                value = plain(a, b)
                if type(value) is int and not -_MAX_INT <= value <= _MAX_INT:
                    raise ArithmeticError("overflow")
                return value

            computed = Memo(arithmetic)
            return lambda ctx: each(arithmetic, [left(ctx), right(ctx)], ctx.n, computed)
        numpy_op, python_op = _NUMPY_COMPARE[op], _PYTHON_COMPARE[op]
        if (checked.types.get(id(node.left)) == BOOL) != (checked.types.get(id(node.right)) == BOOL):
            return lambda ctx: as_bool(each(lambda a, b: bool(python_op(a, b)), [left(ctx), right(ctx)], ctx.n))
        return lambda ctx: _compare(numpy_op, left(ctx), right(ctx), ctx.n)

    def _default(self, node: Binary, checked: Checked):
        right = self.node(node.right, checked)
        probe = self._probe(node.left, checked)
        left = probe if probe is not None else self.node(node.left, checked)

        def default(ctx: Ctx) -> Col:
            a = left(ctx)
            if isinstance(a, ListCol):
                kept = _lists_or_empty(a, right, ctx)
                if kept is not None:
                    return kept
            use_right = nulls(a.values) if a.codes is None or a.uniques is None else nulls(a.uniques)[a.codes]
            if a.missing is not None:
                use_right |= a.missing
            left_bad = a.bad & ~a.missing if a.missing is not None else a.bad
            if left_bad is not None:
                use_right &= ~left_bad
            if not use_right.any():
                return Col(a.values, left_bad, None, a.codes, a.uniques)
            b = right(ctx)
            values = np.where(use_right, b.values, a.values)
            bad = _or(left_bad, _and(use_right, b.bad))
            missing = _and(use_right, b.missing)
            return Col(values, bad, missing, *chosen(use_right, b, a))

        return default

    def _if(self, node: If, checked: Checked):
        cond, then, orelse = (self.node(n, checked) for n in (node.cond, node.then, node.orelse))

        def choose(ctx: Ctx) -> Col:
            c = as_bool(cond(ctx))
            a, b = then(ctx), orelse(ctx)
            taken = c.values if c.bad is None else c.values & ~c.bad
            other = ~c.values if c.bad is None else ~c.values & ~c.bad
            values = np.where(c.values, a.values, b.values)
            bad = _or(_or(c.bad, _and(taken, a.bad)), _and(other, b.bad))
            missing = _or(_or(c.missing, _and(taken, a.missing)), _and(other, b.missing))
            return Col(values, bad, missing, *chosen(c.values, a, b))

        return choose

    def _listlit(self, node: ListLit, checked: Checked):
        if all(isinstance(i, Literal) for i in node.items):
            constant = [i.value for i in node.items]
            return lambda ctx: Col(repeated(constant, ctx.n))
        items = [self.node(i, checked) for i in node.items]
        return lambda ctx: each(lambda *values: list(values), [i(ctx) for i in items], ctx.n)

    def _comprehension(self, node: Comprehension, checked: Checked):
        source = self.node(node.source, checked)
        body = self.node(node.body, checked)
        var, kind = node.var, node.kind
        is_int = checked.types.get(id(node)) == INT

        def run(ctx: Ctx) -> Col:
            n = ctx.n
            src = source(ctx)
            fields = src.items if isinstance(src, ListCol) else None
            if isinstance(src, ListCol) and fields is not None:  # the items' fields are columns: made if read whole
                lengths = src.lengths if src.bad is None else np.where(src.bad, 0, src.lengths)
            else:
                lists = src.values.tolist()
                if src.bad is None and set(map(type, lists)) == {list}:
                    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=n)
                else:
                    src_bad = src.bad.tolist() if src.bad is not None else [False] * n
                    lengths = np.fromiter((0 if bad or type(items) is not list else len(items)
                                           for items, bad in zip(lists, src_bad, strict=True)), dtype=np.int64,
                                          count=n)
            total = int(lengths.sum())
            parent = np.repeat(np.arange(n), lengths)

            def flat_items() -> np.ndarray:
                rows = src.values.tolist()
                return objects(chain.from_iterable(items for items, length in zip(rows, lengths.tolist(), strict=True)
                                                   if length), total)

            local = {k: gather(c, parent) for k, c in ctx.locals.items()}
            item_col: Col = RecordCol(flat_items, fields) if fields is not None else Col(flat_items())
            local[var] = item_col
            child = Ctx(ctx.batch, total, parent if ctx.index is None else ctx.index[parent], local,
                        ctx.dates[parent])
            inner = body(child) if total else Col(objects((), 0))
            starts = np.cumsum(lengths) - lengths
            position = np.arange(total) - np.repeat(starts, lengths)
            item_bad = inner.bad if inner.bad is not None else np.zeros(total, bool)
            item_missing = inner.missing if inner.missing is not None else np.zeros(total, bool)
            first_bad = _first(parent, position, item_bad, n)
            first_missing = _first(parent, position, item_missing, n)
            if kind == "filter":
                keep = (inner.values.astype(bool) if total else np.zeros(0, bool)) & ~item_bad
                row_bad = first_bad < _BIG
                if fields is not None:  # the kept items' fields stay columns
                    kept = keep & ~row_bad[parent]

                    def kept_lists() -> np.ndarray:
                        return _kept(item_col.values.tolist(), keep.tolist(), lengths.tolist(), row_bad.tolist(), n)

                    row_missing = row_bad & (first_missing == first_bad)
                    bad, missing = sequence([src, Col(np.zeros(n, bool), row_bad, row_missing)])
                    return ListCol(kept_lists, np.bincount(parent[kept], minlength=n).astype(np.int64),
                                   {name: column[kept] for name, column in fields.items()},
                                   row_bad if row_bad.any() else None, bad, missing)
                values = _kept(item_col.values.tolist(), keep.tolist(), lengths.tolist(), row_bad.tolist(), n)
            elif kind in ("any", "all"):
                truth = inner.values.astype(bool) if total else np.zeros(0, bool)
                decisive = (truth if kind == "any" else ~truth) & ~item_bad
                first_decisive = _first(parent, position, decisive, n)
                found = first_decisive < _BIG
                values = found if kind == "any" else ~found
                row_bad = first_bad < first_decisive
            else:
                row_bad = first_bad < _BIG
                values = _reduce(kind, is_int, node, inner, parent, lengths, row_bad, n)
            row_missing = row_bad & (first_missing == first_bad)
            bad, missing = sequence([src, Col(np.zeros(n, bool), row_bad, row_missing)])
            return Col(values, bad, missing)

        return run


def _lists_or_empty(a: ListCol, right: Callable, ctx: Ctx) -> ListCol | None:
    """`a ?? b` where a is a list of records with its items as columns, absent (or missing) in some rows, and b an
    empty list in those rows: the same items (None when a faults otherwise, or b is anything else there)."""
    if a.bad is not None and (a.missing is None or (a.bad & ~a.missing).any()):
        return None
    use_right = _or(a.absent, a.missing)
    if use_right is None or not use_right.any():
        return a
    b = right(ctx)
    if b.bad is not None and (b.bad & use_right).any():
        return None
    if any(type(v) is not list or v for v in b.values[use_right].tolist()):
        return None
    return ListCol(lambda: np.where(use_right, b.values, a.values), a.lengths, a.items, None)


def _first(parent: np.ndarray, position: np.ndarray, where: np.ndarray, n: int) -> np.ndarray:
    """For each claim, the position of its first item where `where` holds (or _BIG)."""
    first = np.full(n, _BIG, dtype=np.int64)
    if where.any():
        np.minimum.at(first, parent[where], position[where])
    return first


def _kept(items: list, keep: list, lengths: list, bad_rows: list, n: int) -> np.ndarray:
    out: list = []
    offset = 0
    for row, length in enumerate(lengths):
        out.append(None if bad_rows[row] else [items[j] for j in range(offset, offset + length) if keep[j]])
        offset += length
    return objects(out, n)


def _reduce(kind: str, is_int: bool, node: Comprehension, inner: Col, parent, lengths, row_bad, n: int) -> np.ndarray:
    if kind == "count" and inner.values.dtype == bool:  # the true items of each row, counted by NumPy
        counts = np.bincount(parent[inner.values], minlength=n).astype(object)
        counts[row_bad] = None
        return counts
    truth_or_value = inner.values.tolist()
    out: list = []
    offset = 0
    bad_rows = row_bad.tolist()
    for row, length in enumerate(lengths.tolist()):
        values = truth_or_value[offset:offset + length]
        offset += length
        if bad_rows[row]:
            out.append(None)
            continue
        if kind == "count":
            out.append(sum(1 for v in values if v))
        elif is_int:
            total = sum(values)
            out.append(total if -_MAX_INT <= total <= _MAX_INT else None)
            if out[-1] is None:
                row_bad[row] = True
        else:
            total = Decimal(0)
            try:
                for v in values:
                    total = _bounded(_EXACT.add, total, Decimal(v), node)
            except Exception:
                row_bad[row] = True
                total = None
            out.append(total)
    return objects(out, n)


def _logic(op: str, left, right):
    def both(ctx: Ctx) -> Col:
        a = as_bool(left(ctx))
        b = as_bool(right(ctx))
        reached = a.values if op == "and" else ~a.values  # rows whose right side the per-claim engine computes
        if a.bad is not None:
            reached = reached & ~a.bad
        values = (a.values & b.values) if op == "and" else (a.values | b.values)
        bad = _or(a.bad, _and(reached, b.bad))
        missing = _or(a.missing, _and(reached, b.missing))
        return Col(values, bad, missing)

    return both


def _is_null(node: Expr) -> bool:
    return isinstance(node, Literal) and node.kind == "null"


def _root(node: Expr) -> Expr:
    while isinstance(node, Attr):
        node = node.obj
    return node


_BUILDERS: dict[type, Callable] = {
    Literal: ColumnCompiler._literal, Name: ColumnCompiler._name, Attr: ColumnCompiler._attr,
    Index: ColumnCompiler._index, Call: ColumnCompiler._call, Unary: ColumnCompiler._unary,
    Binary: ColumnCompiler._binary, If: ColumnCompiler._if, ListLit: ColumnCompiler._listlit,
    Comprehension: ColumnCompiler._comprehension,
}
