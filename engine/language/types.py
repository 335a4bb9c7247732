"""The language's types, and the types read off a JSON Schema or a table declaration."""
from __future__ import annotations

import re
from dataclasses import field

from engine.core.i18n import msg
from engine.core.records import dataclass


class Type:
    def __str__(self) -> str:  # pragma: no cover - every subclass names itself
        return self.__class__.__name__


@dataclass(frozen=True)
class Prim(Type):
    name: str

    def __str__(self) -> str:
        return self.name


BOOL = Prim("bool")
INT = Prim("int")
DECIMAL = Prim("decimal")
STRING = Prim("string")
DATE = Prim("date")
NULL = Prim("null")
NEVER = Prim("nothing")  # the item type of an empty list; fits anywhere
ERROR = Prim("error")  # the type of something already reported; fits anywhere so one mistake is one error


@dataclass(frozen=True)
class Nullable(Type):
    """A value that may be null (an `if` with a `null` branch, `x ?? null`). Operators, conditions,
    arguments and keys refuse it, so a null never reaches arithmetic; `??`, `== null`, `has()` and
    outputs take it as it is."""

    inner: Type

    def __str__(self) -> str:
        return f"{self.inner} or null"


def may_be_null(t: Type) -> bool:
    return t == NULL or isinstance(t, Nullable)


@dataclass(frozen=True)
class ListOf(Type):
    item: Type
    bound: int | None = field(default=None, compare=False)  # most items it can hold, where known

    def __str__(self) -> str:
        return f"list<{self.item}>"


@dataclass(frozen=True)
class Field:
    name: str
    type: Type
    optional: bool = False
    enum: tuple | None = None  # allowed string values, where the schema lists them
    nullable: bool = False  # the schema lets it be null (read as absent): present does not mean given


@dataclass(frozen=True)
class Record(Type):
    name: str
    fields: tuple  # of Field

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def __str__(self) -> str:
        return self.name or "record"


@dataclass(frozen=True)
class TableType(Type):
    name: str
    keys: tuple  # of Field, in lookup order
    row: Record

    def __str__(self) -> str:
        return f"table {self.name}"


@dataclass(frozen=True)
class FunctionType(Type):
    name: str
    params: tuple  # of Field
    result: Type

    def __str__(self) -> str:
        return f"{self.name}({', '.join(f'{p.name}: {p.type}' for p in self.params)}) -> {self.result}"


@dataclass(frozen=True)
class Namespace(Type):
    """Another policy referred to by an alias: only its exported names can be read."""

    alias: str
    policy_id: str

    def __str__(self) -> str:
        return f"policy {self.policy_id}"


NUMERIC = (INT, DECIMAL)


def is_numeric(t: Type) -> bool:
    return t in NUMERIC or t in (ERROR, NEVER)


def fits(actual: Type, expected: Type) -> bool:
    """Can a value of type `actual` stand where `expected` is wanted?"""
    if actual in (ERROR, NEVER) or expected in (ERROR, NEVER):
        return True
    if actual == expected:
        return True
    if actual == INT and expected == DECIMAL:
        return True
    if isinstance(expected, Nullable):
        return actual == NULL or fits(actual.inner if isinstance(actual, Nullable) else actual, expected.inner)
    if isinstance(actual, ListOf) and isinstance(expected, ListOf):
        return fits(actual.item, expected.item)
    if isinstance(actual, Record) and isinstance(expected, Record):
        return _record_fits(actual, expected)
    return False


def _record_fits(actual: Record, expected: Record) -> bool:
    for f in expected.fields:
        got = actual.field(f.name)
        if got is None or not fits(got.type, f.type):
            return False
    return True


def join(a: Type, b: Type) -> Type | None:
    """The type of a value that is either an `a` or a `b` (if/else branches, list items), or None."""
    if a in (ERROR, NEVER):
        return b
    if b in (ERROR, NEVER):
        return a
    if a == b:
        return a
    if {a, b} == {INT, DECIMAL}:
        return DECIMAL
    if may_be_null(a) or may_be_null(b):
        inner = join(_non_null(a), _non_null(b))
        if inner is None:
            return None
        return inner if inner in (NULL, ERROR) else Nullable(inner)
    if isinstance(a, ListOf) and isinstance(b, ListOf):
        item = join(a.item, b.item)
        return ListOf(item) if item is not None else None
    return None


def _non_null(t: Type) -> Type:
    """What a possibly-null value is when it is not null (NEVER for the null literal: it fits anything)."""
    if t == NULL:
        return NEVER
    return t.inner if isinstance(t, Nullable) else t


def non_null(t: Type) -> Type:
    return NULL if t == NULL else _non_null(t)


# -------------------------------------------------------------------------------------------------
# Declared types in policy files: `date`, `int`, `decimal`, `money`, `string`, `bool`, `list<T>`.

_NAMED = {"bool": BOOL, "int": INT, "integer": INT, "decimal": DECIMAL, "money": DECIMAL,
          "string": STRING, "date": DATE}
_LIST_RX = re.compile(r"^list<(.+)>$")


def parse_type_name(text: str) -> Type | None:
    text = text.strip()
    if text in _NAMED:
        return _NAMED[text]
    m = _LIST_RX.match(text)
    if m:
        inner = parse_type_name(m.group(1))
        return ListOf(inner) if inner else None
    return None


TYPE_NAMES = "bool, int, decimal, money, string, date, list<T>"


# -------------------------------------------------------------------------------------------------
# JSON Schema → record types, for the facts a policy reads.


class SchemaTypeError(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(msg("{path}: {message}", path=path or "/", message=message))
        self.path = path
        self.reason = message


def schema_to_type(schema: dict, name: str = "input") -> Record:
    root = _SchemaReader(schema).read(schema, "", name)
    if not isinstance(root, Record):
        raise SchemaTypeError("", msg("the input schema must describe an object"))
    return root


class _SchemaReader:
    def __init__(self, root: dict):
        self.root = root

    def resolve(self, node: dict, path: str) -> dict:
        seen = 0
        while "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise SchemaTypeError(path, msg("only local references (#/...) are supported, not {ref}",
                                                ref=repr(ref)))
            target = self.root
            for part in ref[2:].split("/"):
                if not isinstance(target, dict) or part not in target:
                    raise SchemaTypeError(path, msg("reference {ref} does not resolve", ref=repr(ref)))
                target = target[part]
            node = target
            seen += 1
            if seen > 32:
                raise SchemaTypeError(path, msg("reference {ref} loops", ref=repr(ref)))
        return node

    def read(self, node: dict, path: str, name: str) -> Type:
        node = self.resolve(node, path)
        kind = node.get("type")
        if isinstance(kind, list):  # ["string", "null"]: the null is read as "absent"
            kinds = [k for k in kind if k != "null"]
            if len(kinds) != 1:
                raise SchemaTypeError(path, msg("a fact must have one type, not {kind}", kind=str(kind)))
            kind = kinds[0]
        if kind == "object":
            required = set(node.get("required", []))
            fields = []
            for key, sub in (node.get("properties") or {}).items():
                sub_resolved = self.resolve(sub, f"{path}/{key}")
                enum = sub_resolved.get("enum")
                declared = sub_resolved.get("type")
                fields.append(Field(key, self.read(sub, f"{path}/{key}", key), key not in required,
                                    tuple(enum) if isinstance(enum, list) else None,
                                    isinstance(declared, list) and "null" in declared))
            return Record(name, tuple(fields))
        if kind == "array":
            items = node.get("items")
            if not isinstance(items, dict):
                raise SchemaTypeError(path, msg("a list must declare the schema of its items"))
            bound = node.get("maxItems")
            return ListOf(self.read(items, f"{path}/items", name), bound if isinstance(bound, int) else None)
        if kind == "string":
            return DATE if node.get("format") == "date" else STRING
        if kind == "integer":
            return INT
        if kind == "number":
            return DECIMAL
        if kind == "boolean":
            return BOOL
        raise SchemaTypeError(path, msg("cannot read a fact type from {kind}", kind=repr(kind)))
