"""Built-in functions: their type rules (for the checker) and their implementations (for the compiler).

Calendar arithmetic follows 民法典 第二百零二条 through python-dateutil: a month period ends on the
corresponding day, or on the last day of a month that has no such day. Resident identity numbers
(GB 11643) are read with python-stdnum, imported when a number is first read: importing it costs a start-up
that reads none more than the run itself (issue 12).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from engine.core import lightimport
from engine.core.i18n import msg
from engine.core.records import dataclass
from engine.language.types import BOOL, DATE, DECIMAL, ERROR, INT, NEVER, STRING, ListOf, Type, is_numeric


class EvaluationFault(Exception):
    """A problem only a claim's values reveal. It becomes an explicit error in the decision."""

    code = "evaluation.error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message  # a Message: str(fault) is its English, tr(fault.message) the officer's language
        if code:
            self.code = code


class MissingValue(EvaluationFault):
    """An optional fact that is absent, or a table row that does not exist: `??` and has() catch it."""

    code = "evaluation.missing"


def arithmetic_fault(exc: Exception) -> EvaluationFault:
    """The fault of arithmetic Python refused (named by the exception's class, a word of the language)."""
    return EvaluationFault(msg("arithmetic failed: {problem}", problem=type(exc).__name__), "evaluation.arithmetic")


def call_fault(name: str, exc: Exception) -> EvaluationFault:
    """The fault of a built-in function that failed on a claim's values."""
    reason = getattr(exc, "message", None) or str(exc)
    return EvaluationFault(msg("{name}() failed: {reason}", name=name, reason=reason))


def not_given(label: str) -> MissingValue:
    return MissingValue(msg("{fact} is not given", fact=label))


def too_large(node_source: str, limit: str = "2^63", what: str = "number") -> EvaluationFault:
    """A number that grew past what the engine computes with (2^63 for whole numbers, 10^60 for decimals)."""
    if what == "sum":
        return EvaluationFault(msg("the sum in {expression} grew past {limit}", expression=node_source, limit=limit),
                               "evaluation.overflow")
    return EvaluationFault(msg("a number in {expression} grew past {limit}", expression=node_source, limit=limit),
                           "evaluation.overflow")


def division_by_zero(node_source: str) -> EvaluationFault:
    return EvaluationFault(msg("division by zero in {expression}", expression=node_source), "evaluation.division")




# -------------------------------------------------------------------------------------------------
# Calendar


@lru_cache(maxsize=4096)  # deadlines repeat (a few thousand certificate dates); birth dates are remembered upstream
def add_months(d: date, months: int) -> date:
    try:
        if d.day <= 28:  # every month has this day: nothing to clamp, so no need for the general rule
            year, month0 = divmod(d.year * 12 + d.month - 1 + months, 12)
            return d.replace(year=year, month=month0 + 1)
        return d + relativedelta(months=months)  # 民法典 第二百零二条: the last day where the month lacks it
    except (ValueError, OverflowError):
        raise EvaluationFault(msg("{day} plus {months} months is outside the calendar", day=d.isoformat(),
                                  months=months)) from None


def add_years(d: date, years: int) -> date:
    return add_months(d, 12 * years)


def add_days(d: date, days: int) -> date:
    try:
        return date.fromordinal(d.toordinal() + days)
    except (ValueError, OverflowError):
        raise EvaluationFault(msg("{day} plus {days} days is outside the calendar", day=d.isoformat(),
                                  days=days)) from None


def months_between(start: date, end: date) -> int:
    """Whole months from start to end, counting a month as complete on its clamped anniversary."""
    if end < start:
        return -months_between(end, start)
    months = (end.year - start.year) * 12 + end.month - start.month
    # The month is complete on its (clamped) anniversary. When end's day is not before start's, the
    # anniversary falls on or before end whatever clamping does, so add_months is asked only otherwise.
    if end.day < start.day and add_months(start, months) > end:
        months -= 1
    return months


def age(birth: date, on: date) -> int:
    """Completed years on `on`; a 29 February birthday falls on 28 February in other years."""
    return months_between(birth, on) // 12 if on >= birth else -1 * (months_between(on, birth) // 12)


def days_between(start: date, end: date) -> int:
    return (end - start).days


def make_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        raise EvaluationFault(msg("{date} is not a calendar date", date=f"{year}-{month}-{day}")) from None


# -------------------------------------------------------------------------------------------------
# Resident identity numbers (GB 11643-1999)


_CHECK = frozenset("0123456789X")


_STDNUM: tuple = ()  # (stdnum.cn.ric,) once the first number is read


def _stdnum() -> tuple:
    """python-stdnum, imported here and not at the top: a run that reads no number never imports it, and one
    that does imports it once (an import statement in _resident_id would cost each new number more than its
    check), without what it imports for functions the engine never calls (engine/core/lightimport.py)."""
    global _STDNUM
    ric = lightimport.stdnum_ric()
    _STDNUM = (ric,)
    return _STDNUM


@lru_cache(maxsize=4096)
def _resident_id(number: str) -> tuple:
    """(problem or None, birth date, sex) of a GB 11643 number; remembered, as a claim asks several times.

    python-stdnum's checks (`ric.validate`) but one: the region digits are not looked up in stdnum's list of
    places, since a number keeps the code of the county that issued it, and codes are created and retired over
    the years (and the lookup costs over a millisecond). The number must be written exactly (ASCII digits, a
    capital X), so stdnum's `compact`, which normalises look-alike characters and costs more than every other
    check of a claim together, is never needed; `get_birth_date` would call it, so the date is read here from
    the same digits."""
    (ric,) = _STDNUM or _stdnum()
    digits = number[:-1]
    # not stdnum's isdigits: its pattern ends in `$`, which lets a line break at the end through to int()
    if len(number) != 18 or not (digits.isascii() and digits.isdigit()) or number[-1] not in _CHECK:
        return msg("it must be 17 digits and a check character (0-9 or X)"), None, None
    if ric.calc_check_digit(number) != number[-1]:  # stdnum takes the number with its check character
        return msg("its check character is wrong"), None, None
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return msg("its birth-date digits are not a calendar date"), None, None
    return None, birth, "male" if int(number[16]) % 2 else "female"


def resident_id_valid(number: str) -> bool:
    return _resident_id(number)[0] is None


def _validated_id(number: str) -> tuple:
    problem, birth, sex = _resident_id(number)
    if problem:
        raise EvaluationFault(msg("{number} is not a valid resident identity number: {problem}", number=repr(number),
                                  problem=problem))
    return birth, sex


def resident_id_birth_date(number: str) -> date:
    return _validated_id(number)[0]


def resident_id_sex(number: str) -> str:
    return _validated_id(number)[1]


# -------------------------------------------------------------------------------------------------
# Numbers


_MAX_INT = 2**63 - 1  # whole numbers stay within what every JSON reader takes (arithmetic, floor)


def _floor(x) -> int:
    value = int(Decimal(x).to_integral_value(rounding=ROUND_FLOOR))
    if not -_MAX_INT <= value <= _MAX_INT:
        raise EvaluationFault(msg("floor({x}) is beyond 2^63", x=x), "evaluation.overflow")
    return value


def _round(x, places: int) -> Decimal:
    if not -30 <= places <= 30:
        raise EvaluationFault(msg("cannot round to {places} places", places=places))
    # 100 digits hold any decimal the engine computes (below 10^60) to 30 places; the default 28 do not.
    try:
        return Decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=Context(prec=100))
    except InvalidOperation:
        raise EvaluationFault(msg("cannot round {x} to {places} places: the result would have more than 100 digits",
                                  x=x, places=places)) from None


def _extreme(pick):
    def run(*args):
        values = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        if not values:
            raise EvaluationFault(msg("min() and max() need at least one value"))
        return pick(values)

    return run


def _length(x) -> int:
    return len(x)


def _distinct(items: list) -> list:
    try:
        return list(dict.fromkeys(items))
    except TypeError:  # records are mappings, which cannot be hashed: key each by a hashable copy
        kept: dict[object, object] = {}
        for item in items:
            kept.setdefault(_hashable(item), item)
        return list(kept.values())


def _hashable(value):
    if isinstance(value, dict):
        return frozenset((k, _hashable(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _distinct_check(args: list[Type]):
    if len(args) != 1:
        return msg("takes 1 argument, not {count}", count=len(args))
    if isinstance(args[0], ListOf) or args[0] in (ERROR, NEVER):
        return args[0]
    return msg("takes a list, not {type}", type=str(args[0]))


# -------------------------------------------------------------------------------------------------
# Type rules. Each returns the result type, or a string that says what is wrong.


@dataclass(frozen=True)
class Builtin:
    name: str
    signature: str  # as written in docs/language.md
    check: Callable[[list[Type]], Type | str]
    run: Callable
    safe: bool = False  # cannot fail on any value its types allow, so runs without a guard


def _fixed(params: tuple, result: Type):
    def check(args: list[Type]):
        if len(args) != len(params):
            return msg("takes 1 argument, not {count}", count=len(args)) if len(params) == 1 else \
                msg("takes {wanted} arguments, not {count}", wanted=len(params), count=len(args))
        for i, (got, want) in enumerate(zip(args, params, strict=True), 1):
            if got in (ERROR, NEVER):
                continue
            ok = is_numeric(got) if want == DECIMAL else (got == want)
            if not ok:
                return msg("argument {index} must be {wanted}, not {type}", index=i, wanted=str(want), type=str(got))
        return result

    return check


def _extreme_check(args: list[Type]):
    if len(args) == 1 and args[0] == ERROR:
        return ERROR
    if len(args) == 1 and isinstance(args[0], ListOf):
        args = [args[0].item]
    elif len(args) < 2:
        return msg("takes a list, or two or more values")
    known = [a for a in args if a not in (ERROR, NEVER)]
    if not known:  # only arguments already reported, or an empty list: nothing more to say
        return ERROR
    if all(a == DATE for a in known):
        return DATE
    if all(a == INT for a in known):
        return INT
    if all(is_numeric(a) for a in known):
        return DECIMAL
    return msg("takes numbers or dates, all of one kind, not {types}", types=", ".join(str(a) for a in args))


def _length_check(args: list[Type]):
    if len(args) != 1:
        return msg("takes 1 argument, not {count}", count=len(args))
    if args[0] == STRING or isinstance(args[0], ListOf) or args[0] in (ERROR, NEVER):
        return INT
    return msg("takes a list or a string, not {type}", type=str(args[0]))


def _number_check(result_of):
    def check(args: list[Type]):
        if len(args) != 1:
            return msg("takes 1 argument, not {count}", count=len(args))
        if not is_numeric(args[0]):
            return msg("takes a number, not {type}", type=str(args[0]))
        return result_of(args[0])

    return check


def _typed(name: str, params: tuple, result: Type, run: Callable, safe: bool = False) -> Builtin:
    """A function of fixed argument types, its signature written from them (a `decimal` argument reads as
    `number`: it takes an int too), so the signature the checker quotes and docs/language.md show cannot drift."""
    words = ", ".join("number" if t == DECIMAL else str(t) for t in params)
    return Builtin(name, f"{name}({words}) -> {result}", _fixed(params, result), run, safe)


BUILTINS: dict[str, Builtin] = {b.name: b for b in [
    _typed("add_months", (DATE, INT), DATE, add_months),
    _typed("add_years", (DATE, INT), DATE, add_years),
    _typed("add_days", (DATE, INT), DATE, add_days),
    _typed("months_between", (DATE, DATE), INT, months_between),
    _typed("days_between", (DATE, DATE), INT, days_between, safe=True),
    _typed("age", (DATE, DATE), INT, age),
    _typed("year", (DATE,), INT, lambda d: d.year, safe=True),
    _typed("month", (DATE,), INT, lambda d: d.month, safe=True),
    _typed("day", (DATE,), INT, lambda d: d.day, safe=True),
    _typed("date", (INT, INT, INT), DATE, make_date),
    _typed("starts_with", (STRING, STRING), BOOL, lambda s, p: s.startswith(p), safe=True),
    _typed("ends_with", (STRING, STRING), BOOL, lambda s, p: s.endswith(p), safe=True),
    _typed("contains", (STRING, STRING), BOOL, lambda s, p: p in s, safe=True),
    Builtin("length", "length(list | string) -> int", _length_check, _length, safe=True),
    Builtin("distinct", "distinct(list) -> list (first of each value, in order)", _distinct_check, _distinct,
            safe=True),
    Builtin("min", "min(a, b, ...) or min(list)", _extreme_check, _extreme(min)),
    Builtin("max", "max(a, b, ...) or max(list)", _extreme_check, _extreme(max)),
    Builtin("floor", "floor(number) -> int", _number_check(lambda t: INT), _floor),
    Builtin("abs", "abs(number) -> number", _number_check(lambda t: t), abs),
    _typed("round", (DECIMAL, INT), DECIMAL, _round),
    _typed("resident_id_valid", (STRING,), BOOL, resident_id_valid, safe=True),
    _typed("resident_id_birth_date", (STRING,), DATE, resident_id_birth_date),
    _typed("resident_id_sex", (STRING,), STRING, resident_id_sex),
]}

# Names the language gives meaning to besides the functions above.
DECISION_DATE = "decision_date"
