"""Built-in functions computed on arrays rather than once per value: the calendar (age, months_between,
add_months, year, month, day) on day numbers, and the resident identity number's checks on its digits, with the
built-ins' own rules (tests/test_columnar.py compares them). Each answers None where its arguments are not columns
it can take, and the compiler then calls the built-in once per distinct argument."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np

from engine.columnar.columns import (
    Col,
    DayCol,
    ListCol,
    RecordCol,
    encoded_good,
    filled,
    mask_or,
    objects,
    sequence,
)
from engine.language import builtins

_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


def _days(col: Col) -> tuple | None:
    """(year, month, day) arrays of a column of dates, a bad row given a good row's date; None when a row's value is
    not a date. An encoded column is taken apart once per distinct date; any other (the items of a list) row by
    row, each date to its day number in one pass."""
    if isinstance(col, DayCol):
        return _civil(col.days)
    if col.codes is None and not isinstance(col, (ListCol, RecordCol)) and col.values.dtype == object:
        try:  # date.toordinal refuses anything that is not a date (None, a text)
            return _civil(np.fromiter(map(date.toordinal, filled(col).tolist()), np.int64, len(col.values)))
        except TypeError:
            return None
    found = _encoded_days(col)
    if found is None:
        return None
    codes, parts = found
    return tuple(values[codes] for values in parts[3:])


def _encoded_days(col: Col) -> tuple | None:
    """(codes, _days_of its distinct values) of an encoded column whose every good row is a date, else None."""
    found = encoded_good(col)
    if found is None:
        return None
    codes, parts = found[0], _days_of(found[1])
    return (codes, parts) if parts[1][codes].all() else None


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


def day_numbers(col: Col) -> np.ndarray | None:
    """Each row's date.toordinal(), a bad row given a good row's: for a DayCol, or an encoded column of dates (facts,
    decision dates); None for any other column (its dates are compared as dates)."""
    if isinstance(col, DayCol):
        return col.days
    if col.codes is None or col.uniques is None:
        return None
    found = _encoded_days(col)
    if found is None:
        return None
    codes, parts = found
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
    day, months = _days(cols[0]), whole_numbers(cols[1])
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
        bad = mask_or(bad, outside if bad is None else outside & ~bad)
    return DayCol(days, dates, bad, missing)


def whole_numbers(col: Col) -> np.ndarray | None:
    """A column of whole numbers as an int64 array, a bad row given a good row's number; None when it is not
    encoded, holds another value, or a number beyond a million (left to add_months itself)."""
    if col.values.dtype == np.int64:
        values = filled(col)
        return values if len(values) == 0 or (values.min() >= -1_000_000 and values.max() <= 1_000_000) else None
    found = encoded_good(col)
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
    found = encoded_good(col)
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
            return Col(found[3][codes], mask_or(bad, faults), missing)
        days, good = found[2][codes], valid[codes]

        def births() -> np.ndarray:  # the dates themselves, if something reads them whole
            keys, inverse = np.unique(days, return_inverse=True)
            made = objects(map(date.fromordinal, keys.tolist()), len(keys))[inverse.reshape(-1)]
            made[~good] = None
            return made

        return DayCol(days, births, mask_or(bad, faults), missing)

    return part


# built-in functions computed on arrays (day numbers, digits) when their arguments allow; else once per distinct
# argument, as any other
ON_ARRAYS: dict = {builtins.months_between: _months_between_days, builtins.age: _age_days,
                    builtins.add_months: _add_months_days, builtins.BUILTINS["year"].run: _part_of_day(0),
                    builtins.BUILTINS["month"].run: _part_of_day(1), builtins.BUILTINS["day"].run: _part_of_day(2),
                    builtins.BUILTINS["resident_id_valid"].run: _resident_id_valid_digits,
                    builtins.BUILTINS["resident_id_birth_date"].run: _resident_id_part(2),
                    builtins.BUILTINS["resident_id_sex"].run: _resident_id_part(3)}
