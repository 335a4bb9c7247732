"""Claims → facts: the input schema's record type as generated Python, one function per record.

A claim the validator has accepted is turned into facts in one pass: each record rebuilt with its keys
in the schema's order (so nothing a decision shows depends on the order a producer wrote keys in),
each date parsed once (remembered: a batch repeats the same dates), numbers made exact. A required field
that cannot be null is read straight off the claim, since the validator has made sure it is there.

The source follows the rule of engine.language.codegen: every name in it is made up here, every field
name goes in as the repr() of a str, every other object is bound from outside; nothing else.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from engine.core.codecache import compiled
from engine.core.isodate import not_a_day
from engine.language.types import DATE, DECIMAL, INT, ListOf, Record, Type

_DATES: dict = {}  # YYYY-MM-DD -> date: claims of a batch share a few thousand dates
_DATES_KEPT = 65_536


class Unreadable(ValueError):
    """A value the schema allows that cannot become a fact (the date 0000-01-01); `path` says where."""

    def __init__(self, message: str):
        super().__init__(message)
        self.path: list = []


def to_date(text: str, describe: Callable) -> date:
    try:
        value = date.fromisoformat(text)  # strict here: the validator has already held the text to YYYY-MM-DD
    except ValueError:
        raise Unreadable(not_a_day(describe(text), text)) from None
    if len(_DATES) >= _DATES_KEPT:
        _DATES.clear()
    _DATES[text] = value
    return value


def whole(value):
    # JSON Schema counts 80.0 as an integer; the rules must see the integer 80
    return int(value) if isinstance(value, (float, Decimal)) else value


def exact(value):
    return Decimal(str(value)) if isinstance(value, float) else value


def generate(record: Record, describe: Callable) -> Callable[[dict], dict]:
    """The converter of claims of this record type. Raises Unreadable (without a path) on a date that is no day:
    the caller finds where with a slower walk, only then."""
    writer = _Writer()
    entry = writer.record(record)
    namespace = {"DATES": _DATES, "to_date": lambda text: to_date(text, describe), "whole": whole, "exact": exact,
                 "ABSENT": _ABSENT, **writer.bound, "__builtins__": {"len": len}}
    exec(compiled(writer.source(), "<claim converter>"), namespace)  # built from the record type only
    return namespace[entry]


_ABSENT = object()


class _Writer:
    def __init__(self):
        self.functions: list[list[str]] = []
        self.bound: dict = {}
        self.counter = 0
        self.records: dict = {}  # id(Record) -> function name

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def source(self) -> str:
        return "\n".join("\n".join(lines) + "\n" for lines in self.functions)

    def value(self, t: Type, src: str) -> str | None:
        """An expression converting `src` (a value of type t, not null), or None when it stays as it is."""
        if t == DATE:
            return f"(DATES.get({src}) or to_date({src}))"
        if t == DECIMAL:
            return f"exact({src})"
        if t == INT:
            return f"whole({src})"
        if isinstance(t, ListOf):
            item = self.fresh("i")
            inner = self.value(t.item, item)
            return None if inner is None else f"[{inner} for {item} in {src}]"
        if isinstance(t, Record):
            return f"{self.record(t)}({src})"
        return None

    def record(self, t: Record) -> str:
        known = self.records.get(id(t))
        if known is not None:
            return known
        name = self.records[id(t)] = self.fresh("r")
        names = self.fresh("N")
        self.bound[names] = frozenset(f.name for f in t.fields)
        lines = [f"def {name}(o):"]
        literal: list[str] = []  # the leading fields every valid claim has, written as one dict display
        rest: list[str] = []
        for field in t.fields:
            key = repr(field.name)
            if not field.optional and not field.nullable and not rest:
                converted = self.value(field.type, f"o[{key}]")
                literal.append(f"{key}: {converted or f'o[{key}]'}")
                continue
            value = self.fresh("v")
            converted = self.value(field.type, value)
            rest.append(f"    {value} = o.get({key}, ABSENT)")
            rest.append(f"    if {value} is not ABSENT:")
            if converted is not None:
                rest.append(f"        out[{key}] = {value} if {value} is None else {converted}")
            else:
                rest.append(f"        out[{key}] = {value}")
        lines.append(f"    out = {{{', '.join(literal)}}}")
        lines += rest
        # keys the schema allows without naming them: kept, after the named ones
        lines.append(f"    if len(out) != len(o): out.update((k, w) for k, w in o.items() if k not in {names})")
        lines.append("    return out")
        self.functions.append(lines)
        return name
