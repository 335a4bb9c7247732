"""Columns of a batch of claims, over NumPy: a column's values with the rows that are bad (the per-claim engine
would raise there) or missing, dates kept as day numbers, lists and records made only when read whole; the batch
and the context an expression is computed in; and `each`, a Python function applied to every row (once per
distinct arguments where the columns are dictionary-encoded). engine.columnar.compiler builds on these."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from itertools import repeat
from operator import is_

import numpy as np

from engine.language.builtins import MissingValue

BIG = np.iinfo(np.int64).max


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


def mask_or(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return a | b


def mask_and(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
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
            missing = mask_or(missing, first_here)
        bad = mask_or(bad, col.bad)
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
            if col.bad is not None:  # as filled: a bad row takes a good row's arguments (its result is not used)
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
                bad = mask_or(bad, new_bad)
                missing = mask_or(missing, new_missing)
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
                bad = mask_or(bad, new_bad)
                missing = mask_or(missing, new_missing)
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
    lists = [filled(c).tolist() for c in cols]
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


def filled(col: Col) -> np.ndarray:
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



def encoded_good(col: Col) -> tuple | None:
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
