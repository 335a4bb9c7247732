"""Claims straight into columns: a chunk of JSON Lines (or of parsed JSON values) read, checked against the input
schema and converted a column at a time, for the columnar engine.

    layout = Layout.of(claim_reader)            # None: this schema is read claim by claim only
    batch = layout.read(raws)                   # raws: RawClaims (JSON Lines lines, or parsed values)
    batch.taken                                 # positions (in raws) of the claims the columns hold, in order
    batch.per_claim                             # positions of the others: the per-claim reader reads those
    batch.path(("applicant", "birth_date"))     # an object array of facts, one per taken claim (None: absent)

This is the interface another source of claims (Parquet) can feed: `Layout.read` takes RawClaims whose `data` is a
parsed JSON value as well as unparsed lines, so rows of any source, once plain JSON values, become the same batch.

What the columns take is exactly what the per-claim reader (engine.claims.reader) accepts, and nothing is decided
differently: a claim the columns are not certain of goes to `per_claim`, where the per-claim reader gives it the very
error record (or the very facts) it always gives. So:
- a line is parsed with orjson; a line orjson cannot read, or one that could hold a repeated key (more `:` than the
  keys it was read with), or a large one (the claim limits), goes to the per-claim reader, which is strict;
- every value must be of the Python type its fact has (a float anywhere, an integer written 80.0, a number
  beyond 64 bits go to the per-claim reader, which reads them exactly);
- each leaf's own schema (type, enum, pattern, format, bounds: anything that constrains one value) is checked once
  per distinct value, by the same validator library with the same options as the per-claim reader; objects are
  checked per column (a record, its required keys, no key the schema does not name) and lists by their length;
- dates are turned into calendar dates once per distinct text, by the per-claim converter's own function; a date
  that is no day goes to the per-claim reader.
A schema with a construct these checks do not cover (keywords across an object's keys, such as dependentRequired or
patternProperties, an additionalProperties schema, lists of lists) has no Layout: its claims are read claim by claim.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from datetime import date
from decimal import Decimal
from itertools import chain, compress, repeat
from operator import attrgetter, is_not
from typing import Annotated, Any, Literal

import msgspec
import numpy as np
import orjson

from engine.claims import convert
from engine.claims.chunks import ClaimChunk
from engine.claims.reader import CLAIM_LIMITS, ClaimReader, RawClaim
from engine.columnar.columns import dictionary, nulls, where_is
from engine.core import lightimport, schemacheck
from engine.language.types import BOOL, DATE, DECIMAL, INT, STRING, Field, ListOf, Record, Type

jsonschema_rs = lightimport.jsonschema_rs()  # as the per-claim reader imports it

_ABSENT = object()  # a key the claim does not have
_LINE = attrgetter("line")
_NONE = type(None)
# keywords that say nothing about a value (annotations)
_ANNOTATIONS = frozenset(("description", "title", "$comment", "examples", "default", "deprecated", "readOnly",
                          "writeOnly", "$schema", "$id", "$defs", "definitions", "$anchor"))
_OBJECT_KEYWORDS = frozenset(("type", "properties", "required", "additionalProperties")) | _ANNOTATIONS
_ARRAY_KEYWORDS = frozenset(("type", "items", "maxItems", "minItems")) | _ANNOTATIONS
_KNOWN_KEPT = 200_000  # distinct leaf values whose validity is remembered, per leaf


def _objects(values) -> np.ndarray:
    """An object array of exactly these values: np.fromiter keeps each one whole (a list stays one value), and is
    several times faster than assigning a list to an array's slice, which looks into every value."""
    if isinstance(values, np.ndarray):
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def _unknown(values: AbstractSet, known: dict) -> set:
    """The values not among the keys of `known`, in time of the values alone: `values - known.keys()` walks all of
    `known` (a view is made a set, then each key taken out), which holds up to _KNOWN_KEPT values."""
    return set(values).difference(known)


class _Unsupported(Exception):
    pass


class _Leaf:
    """A value that is not an object or a list: its Python types, and its own schema checked per distinct value."""

    __slots__ = ("types", "validator", "item_errors", "known", "invalid", "is_date", "dates", "no_day", "text",
                 "nullable", "lengths", "encoded", "plain_date", "schema", "decoded")

    def __init__(self, fact_type: Type, schema: dict, root: dict, nullable: bool):
        kinds: dict[Type, set] = {STRING: {str}, DATE: {str}, INT: {int}, BOOL: {bool}, DECIMAL: {int, Decimal}}
        types = kinds.get(fact_type)
        if types is None:
            raise _Unsupported(str(fact_type))
        self.types = frozenset(types | ({_NONE} if nullable else set()))
        document = dict(schema)
        for key in ("$defs", "definitions"):  # a leaf may refer to definitions of the whole schema
            if key in root and key not in document:
                document[key] = root[key]
        self.validator = jsonschema_rs.validator_for(document, validate_formats=True)
        # the errors of a list of values, in one call of the same validator (the leaf's schema as the items of an
        # array), each error's path starting with the place of its value: a chunk's new values checked without a
        # call each. Only for a schema that is no resource of its own ($id, $schema, $anchor), so that its
        # references mean in the array what they mean alone.
        self.item_errors: Callable | None = None
        if not {"$id", "$schema", "$anchor", "$dynamicAnchor"} & document.keys():
            array = {"type": "array", "items": document} | {k: document[k] for k in ("$defs", "definitions")
                                                            if k in document}
            self.item_errors = jsonschema_rs.validator_for(array, validate_formats=True).iter_errors
        # a text held only to its length (a number, a name): checked by the lengths, without the validator
        constraints = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
        lengths = (schema.get("minLength", 0), schema.get("maxLength"))
        self.lengths = lengths if (fact_type == STRING and not nullable and schema.get("type") == "string"
                                   and constraints <= {"type", "minLength", "maxLength"}
                                   and all(b is None or type(b) is int for b in lengths)) else None
        self.known: dict = {}  # value -> valid?
        self.invalid: set = set()  # the values known to be invalid
        self.is_date = fact_type == DATE
        # a date held only to its format: a text written YYYY-MM-DD that is a calendar day is valid (the validator's
        # "date" format, RFC 3339's full-date, takes every such day) and is that day; only the others are validated
        self.plain_date = (fact_type == DATE and not nullable and schema.get("type") == "string"
                           and schema.get("format") == "date" and constraints <= {"type", "format"})
        self.dates: dict = {}  # text -> date, or None when it is no day
        self.no_day: set = set()
        self.text = fact_type in (STRING, DATE)  # equal values are equal texts: distinct values tell their types
        self.nullable = nullable
        # facts of one type (and None): equal ones are alike, so the column is dictionary-encoded (never decimals:
        # 1.0 and 1.00 are equal, and print differently)
        self.encoded = len(self.types - {_NONE}) == 1
        self.schema = schema
        self.decoded = False  # whether msgspec checks all the leaf's own schema says while decoding (_leaf_type)

    def bad_values(self, values: AbstractSet) -> set:
        if self.lengths is not None:
            low, high = self.lengths
            sizes = set(map(len, values))
            if sizes and (min(sizes) < low or (high is not None and max(sizes) > high)):
                return {v for v in values if not low <= len(v) <= (high if high is not None else len(v))}
            return set()
        unknown = _unknown(values, self.known)
        if unknown:
            if len(self.known) > _KNOWN_KEPT:
                self.known.clear()
                self.invalid.clear()
            if self.item_errors is not None:
                fresh = list(unknown)
                self.known.update(dict.fromkeys(fresh, True))
                for place in {error.instance_path[0] for error in self.item_errors(fresh)}:
                    self.known[fresh[place]] = False
                    self.invalid.add(fresh[place])
            else:
                valid = self.validator.is_valid
                for v in unknown:
                    ok = self.known[v] = valid(v)
                    if not ok:
                        self.invalid.add(v)
        return self.invalid & values

    def days(self, texts: AbstractSet) -> set:
        """For a plain date (`plain_date`): remember each text's date; the texts that are not valid dates. The texts
        written YYYY-MM-DD that are calendar days are found with NumPy and read by date.fromisoformat (what
        to_dates does with them); the others are validated and read as to_dates reads any."""
        dates = self.dates
        if len(dates) > _KNOWN_KEPT:
            dates.clear()
            self.no_day.clear()
        unknown = list(_unknown(texts, dates))
        if unknown:
            days = _calendar_days(unknown).tolist()
            plain = list(compress(unknown, days))
            dates.update(zip(plain, map(date.fromisoformat, plain), strict=True))
            if len(plain) < len(unknown):
                others = set(unknown) - set(plain)
                self.to_dates(others - self.bad_values(others))
        return (self.invalid & texts) | (self.no_day & texts)

    def to_dates(self, texts: AbstractSet) -> set:
        """Remember each text's date; the texts that are no calendar day."""
        dates = self.dates
        if len(dates) > _KNOWN_KEPT:
            dates.clear()
            self.no_day.clear()
        for text in _unknown(texts, dates):
            if type(text) is str:
                try:
                    dates[text] = convert.to_date(text, schemacheck.describe_value)
                except convert.Unreadable:
                    dates[text] = None
                    self.no_day.add(text)
            else:
                dates[text] = text  # None, where the schema lets a date be null
        return self.no_day & texts


_DIGITS = np.array([0, 1, 2, 3, 5, 6, 8, 9])
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)


def _calendar_days(texts: list) -> np.ndarray:
    """Which texts are written exactly YYYY-MM-DD (ASCII digits) and name a calendar day from the year 1 on."""
    k = len(texts)
    joined = "".join([t if len(t) == 10 and t.isascii() else "-" * 10 for t in texts])
    chars = np.frombuffer(joined.encode("ascii"), np.uint8).reshape(k, 10).astype(np.int64) - 48
    digits = chars[:, _DIGITS]
    ok = ((digits >= 0) & (digits <= 9)).all(axis=1) & (chars[:, 4] == -3) & (chars[:, 7] == -3)  # "-" is 48 - 3
    year = digits[:, :4] @ np.array([1000, 100, 10, 1])
    month = digits[:, 4] * 10 + digits[:, 5]
    day = digits[:, 6] * 10 + digits[:, 7]
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    return ok & (day <= month_days)


class _Coded:
    """A leaf's facts, of one type: the values read, their distinct values (in the order met) and, for dates, each
    text's date. Dictionary-encoded when first asked (`codes`, `uniques`: the fact of value k is the object
    uniques[codes[k]]), as the columns ask of a fact they read; a column nothing reads is never encoded."""

    __slots__ = ("values", "_keys", "facts_of", "_codes", "_uniques", "kind")

    def __init__(self, values: list, keys: list | None, facts_of: dict | None, kind: type | None = None,
                 codes: np.ndarray | None = None):
        """`kind`: the one type of every value (bool, int or date, none of them None: booleans are encoded by NumPy,
        and dates read as day numbers where asked, ColumnBatch.day_numbers); None for any other column. `keys` and
        `codes`: the distinct values and each value's code, where checking found them."""
        self.values, self._keys, self.facts_of, self.kind = values, keys, facts_of, kind
        self._codes: np.ndarray | None = codes
        self._uniques: np.ndarray | None = None

    @property
    def keys(self) -> list:
        """The distinct values, in the order met (found when first asked, where checking did not need them)."""
        if self._keys is None:
            self._keys, self._codes = dictionary(self.values)
        return self._keys

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            if self.kind is bool and self._keys is None:
                self._encode_booleans()
            elif self._keys is None:
                self._keys, self._codes = dictionary(self.values)
            else:
                code_of = dict(zip(self.keys, range(len(self.keys)), strict=True))
                self._codes = np.fromiter(map(code_of.__getitem__, self.values), np.int64, len(self.values))
        assert self._codes is not None
        return self._codes

    def _encode_booleans(self) -> None:
        """Booleans encoded by NumPy (False 0, True 1), without a dictionary."""
        self._codes = np.fromiter(self.values, bool, len(self.values)).astype(np.int64)
        self._uniques = _objects([False, True])

    @property
    def uniques(self) -> np.ndarray:
        if self._uniques is None and self.kind is bool and self._keys is None:
            self._encode_booleans()
        if self._uniques is None:
            facts = self.keys if self.facts_of is None else list(map(self.facts_of.get, self.keys))
            self._uniques = _objects(facts)
        return self._uniques

    def facts(self) -> list | np.ndarray:
        if self._codes is not None:
            return self.uniques[self._codes]
        return self.values if self.facts_of is None else list(map(self.facts_of.get, self.values))


class _Object:
    __slots__ = ("fields", "required", "nullable", "attributes")

    def __init__(self, fields: dict, required: frozenset, nullable: bool):
        self.fields, self.required, self.nullable = fields, required, nullable
        self.attributes: dict = {}  # field -> the attribute of its value in the record's Struct (_struct_type)


class _List:
    __slots__ = ("item", "max_items", "min_items", "nullable")

    def __init__(self, item, max_items: int | None, min_items: int | None, nullable: bool):
        self.item, self.max_items, self.min_items, self.nullable = item, max_items, min_items, nullable


def _resolve(node: dict, root: dict) -> dict:
    for _ in range(32):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if ref is None:
            return node
        beside = {k for k in node if k != "$ref" and k not in _ANNOTATIONS and not k.startswith("x-")}
        if not isinstance(ref, str) or not ref.startswith("#/") or beside:
            raise _Unsupported("$ref")
        target = root
        for part in ref[2:].split("/"):
            if not isinstance(target, dict) or part not in target:
                raise _Unsupported(ref)
            target = target[part]
        node = target
    raise _Unsupported("$ref loop")


def _node(schema: dict, root: dict, fact_type: Type, nullable: bool):
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        raise _Unsupported("schema")
    if isinstance(fact_type, Record):
        unknown = {k for k in schema if not k.startswith("x-")} - _OBJECT_KEYWORDS
        extra = schema.get("additionalProperties", True)
        if unknown or extra not in (True, False) or not isinstance(schema.get("properties", {}), dict):
            raise _Unsupported(f"object {unknown}")
        kind = schema.get("type")
        if kind not in ("object", ["object", "null"], ["null", "object"]):
            raise _Unsupported(f"object type {kind}")
        properties = schema.get("properties") or {}
        fields = {}
        for field in fact_type.fields:
            fields[field.name] = _node(properties[field.name], root, field.type, field.nullable)
        required = schema.get("required", [])
        if not isinstance(required, list):
            raise _Unsupported("required")
        return _Object(fields, frozenset(required), nullable)
    if isinstance(fact_type, ListOf):
        unknown = {k for k in schema if not k.startswith("x-")} - _ARRAY_KEYWORDS
        if unknown or schema.get("type") not in ("array", ["array", "null"], ["null", "array"]):
            raise _Unsupported(f"array {unknown}")
        if isinstance(fact_type.item, ListOf):
            raise _Unsupported("a list of lists")
        bounds = schema.get("maxItems"), schema.get("minItems")
        if any(b is not None and type(b) is not int for b in bounds):
            raise _Unsupported("array bounds")
        return _List(_node(schema["items"], root, fact_type.item, False), *bounds, nullable)
    return _Leaf(fact_type, schema, root, nullable)


def _depth(node, depth: int = 1) -> int:
    """The deepest level a claim of this layout reaches (the root at 1; keys and items one below their holder)."""
    if isinstance(node, _Object):
        return max([depth + 1] + [_depth(child, depth + 1) for child in node.fields.values()])
    if isinstance(node, _List):
        return _depth(node.item, depth + 1)
    return depth


# A whole number as orjson reads one into the columns: beyond 64 bits the per-claim reader reads it
_WHOLE = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
_UNREADABLE = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)


def _struct_type(node, name: str):
    """The msgspec type a line of this layout is decoded to, made at run time from the layout (msgspec.defstruct):
    each record a Struct of its fields, required keys required, the others UNSET when absent, no unknown key
    (forbid_unknown_fields), every leaf of its Python type (a plain date a calendar day, which msgspec reads only
    from exactly YYYY-MM-DD), a whole number within 64 bits, null only where the schema lets it be. msgspec only
    refuses: a line it cannot decode so is read by the per-claim reader. What a leaf's own schema says beyond its
    type (patterns, enums, bounds, other formats) is checked per distinct value by the validator, as for parsed
    values, since msgspec's patterns are Python's (ECMA-262's `$` is not)."""
    found: Any
    if isinstance(node, _Object):
        fields = []
        for k, (key, child) in enumerate(node.fields.items()):
            attribute = node.attributes[key] = f"f{k}"
            kind = _struct_type(child, f"{name}_{k}")
            fields.append((attribute, kind) if key in node.required else
                          (attribute, kind | msgspec.UnsetType, msgspec.UNSET))
        # gc=False: a claim's records hold texts, numbers, dates and lists of records, never a cycle
        found = msgspec.defstruct(name, fields, kw_only=True, rename={a: k for k, a in node.attributes.items()},
                                  forbid_unknown_fields=True, gc=False)
    elif isinstance(node, _List):
        found = list[_struct_type(node.item, name + "_item")]  # type: ignore[misc]  # a type made at run time
    else:
        found = _leaf_type(node)
    return found | None if node.nullable else found


def _leaf_type(node: _Leaf):
    """A leaf's msgspec type; where msgspec checks exactly what the leaf's own schema says, node.decoded: an enum of
    texts or whole numbers (a Literal, whose values msgspec gives as the very objects of the Literal, so that a
    column of them is encoded without hashing each text), a text held only to its length (in code points, as JSON
    Schema counts), a whole number held only to bounds. Anything else (patterns, formats, enums of mixed kinds) is
    left to the validator, per distinct value."""
    kinds = node.types - {_NONE}
    schema = node.schema
    constraints = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
    kind = schema.get("type")
    if node.plain_date:
        node.decoded = True
        return date
    if kinds == {bool}:
        node.decoded = constraints <= {"type"} and kind == "boolean"
        return bool
    if kinds == {str}:
        enum = schema.get("enum")
        if constraints <= {"type", "enum"} and kind in (None, "string") and isinstance(enum, list) and enum \
                and all(type(v) is str for v in enum):
            node.decoded = True
            return Literal[tuple(enum)]
        if node.lengths is not None:
            node.decoded = True
            low, high = node.lengths
            return Annotated[str, msgspec.Meta(min_length=low, max_length=high)]
        return str
    if kinds == {int}:  # a whole number (INT), or any number (DECIMAL): a fraction goes to the per-claim reader
        enum = schema.get("enum")
        if constraints <= {"type", "enum"} and kind in (None, "integer") and isinstance(enum, list) and enum \
                and all(type(v) is int and -(1 << 63) <= v < 1 << 63 for v in enum):
            node.decoded = True
            return Literal[tuple(enum)]
        low, high = schema.get("minimum"), schema.get("maximum")
        if constraints <= {"type", "minimum", "maximum"} and kind == "integer" \
                and all(b is None or type(b) is int for b in (low, high)):
            node.decoded = True
            low = -(1 << 63) if low is None else max(low, -(1 << 63))
            high = (1 << 63) - 1 if high is None else min(high, (1 << 63) - 1)
            return Annotated[int, msgspec.Meta(ge=low, le=high)]
    return _WHOLE


class Layout:
    """How claims of one input schema are read into columns."""

    def __init__(self, reader: ClaimReader, root: _Object):
        self.reader = reader
        self.root = root
        self.converters: dict = {}
        self.decode = msgspec.json.Decoder(_struct_type(root, "Claim")).decode

    @classmethod
    def of(cls, reader: ClaimReader) -> Layout | None:
        """The layout of this reader's schema (remembered on the reader); None when its claims must be read claim by
        claim."""
        found = reader.__dict__.get("_columnar_layout", _ABSENT)
        if found is _ABSENT:
            try:
                root = _node(reader.schema, reader.schema, reader.record, False)
                deep = _depth(root) > CLAIM_LIMITS.max_depth + 1
                found = cls(reader, root) if isinstance(root, _Object) and not deep else None
            except (_Unsupported, KeyError, TypeError, ValueError):
                found = None
            reader.__dict__["_columnar_layout"] = found
        return found

    def read(self, raws: Sequence[RawClaim]) -> ColumnBatch:
        """The claims of `raws` in columns: those the columns can take, and the positions of the others."""
        n = len(raws)
        if isinstance(raws, ClaimChunk):  # the lines themselves: no RawClaim is made for a line the columns take
            lines: list = raws.lines
            if all(r.error is not None for r in raws.made.values()):
                return self._read_lines(raws, lines)
            # claims made already (standard input's) keep their own unparsed line: read below, each from its own
            lines = list(map(_LINE, raws))
        else:
            lines = list(map(_LINE, raws))
            kinds = set(map(type, lines))
            if kinds == {bytes} or (kinds == {bytes, _NONE}
                                    and all(r.error is not None for r in raws if r.line is None)):
                return self._read_lines(raws, lines)  # JSON Lines (and lines the reader refused): decoded by msgspec
        values: list = [_ABSENT] * n
        refused = np.zeros(n, bool)
        parsed_here = np.zeros(n, bool)
        loads = orjson.loads
        for i, raw in enumerate(raws):
            line = raw.line
            if line is not None:
                try:
                    values[i] = loads(line)
                except orjson.JSONDecodeError:
                    refused[i] = True
                    continue
                parsed_here[i] = True
            elif raw.error is not None:
                refused[i] = True
            else:
                values[i] = raw.data
        keys = np.zeros(n, np.int64)
        items = np.zeros(n, np.int64)
        walk = _Walk(refused, keys, items)
        rows = np.flatnonzero(~refused)
        walk.record(self.root, values if len(rows) == n else [values[i] for i in rows.tolist()], rows, ())
        _refuse_repeated_keys(lines, parsed_here & ~refused, keys, refused)
        # the claim limits, counted as the per-claim reader counts (engine.claims.reader._shape_problem): every value
        # is a node (each record, list and scalar, not the keys); the depth is the schema's, which Layout.of has held
        # to the limit
        refused |= 1 + keys + items > CLAIM_LIMITS.max_nodes
        return ColumnBatch(self, raws, values, refused, walk.columns)

    def _read_lines(self, raws: Sequence[RawClaim], lines: list[bytes]) -> ColumnBatch:
        """Lines decoded by msgspec into Structs of the layout (_struct_type): parsed, and their records, types,
        required and unknown keys and plain dates checked, in C; a line it refuses is read by the per-claim reader."""
        n = len(lines)
        values: list = []
        add = values.append
        decode = self.decode
        unreadable = []
        for i, line in enumerate(lines):
            try:
                add(decode(line))
            except _UNREADABLE:
                add(_ABSENT)
                unreadable.append(i)
            except TypeError:  # no line: the reader has refused it already
                add(_ABSENT)
                unreadable.append(i)
        refused = np.zeros(n, bool)
        refused[unreadable] = True
        keys = np.zeros(n, np.int64)
        items = np.zeros(n, np.int64)
        walk = _StructWalk(refused, keys, items)
        rows = np.flatnonzero(~refused)
        walk.record(self.root, [values[i] for i in rows.tolist()] if unreadable else values, rows, ())
        _refuse_repeated_keys(lines, ~refused, keys, refused)  # msgspec too keeps the last of repeated keys
        refused |= 1 + keys + items > CLAIM_LIMITS.max_nodes
        return ColumnBatch(self, raws, values, refused, walk.columns, lines)

    def converter(self, keys: tuple) -> Callable:
        """The per-claim converter of the value at a path (a record or a list), as a function of the raw value."""
        found = self.converters.get(keys)
        if found is None:
            node_type: Type = self.reader.record
            for key in keys:
                field_type = node_type.field(key) if isinstance(node_type, Record) else None
                if field_type is None:
                    raise KeyError(keys)
                node_type = field_type.type
            wrapped = convert.generate(Record("", (Field("v", node_type),)), schemacheck.describe_value)
            found = self.converters[keys] = lambda value: wrapped({"v": value})["v"]
        return found


def _summed(owners: np.ndarray, counts: np.ndarray, n: int) -> np.ndarray:
    """The counts added up per owner (np.add.at, several times faster): exact, the sums being far below 2 ** 53."""
    return np.bincount(owners, weights=counts, minlength=n).astype(np.int64)


def _refuse_repeated_keys(lines: list, parsed: np.ndarray, keys: np.ndarray, refused: np.ndarray) -> None:
    """Refuse the lines orjson read with fewer keys than they have `:`: such a line may have repeated a key (orjson
    keeps the last), so the strict reader reads it (most such lines just hold a `:` in a text). A line has at least
    as many `:` as keys, so when the `:` of all the lines add up to their keys, every line has as many; only
    otherwise is each line counted."""
    rows = np.flatnonzero(parsed)
    if not len(rows):
        return
    texts = lines if len(rows) == len(lines) else [lines[i] for i in rows.tolist()]
    if int(np.count_nonzero(np.frombuffer(b"".join(texts), np.uint8) == ord(":"))) == int(keys[rows].sum()):
        return
    colons = np.fromiter(map(bytes.count, texts, repeat(b":")), np.int64, len(texts))
    refused[rows[colons != keys[rows]]] = True


class _Walk:
    """One pass over a chunk's values, node by node: refuses rows, counts keys, keeps each path's column."""

    def __init__(self, refused: np.ndarray, keys: np.ndarray, items: np.ndarray):
        self.refused = refused
        self.keys = keys
        self.items = items
        # path -> (owners: row of each value, values) for leaves, records and lists outside lists
        self.columns: dict = {}

    def refuse(self, owners: np.ndarray) -> None:
        self.refused[owners] = True

    def only(self, kind: type, allowed: set, values: list, owners: np.ndarray) -> tuple[list, np.ndarray]:
        """The values of type `kind` and their owners; a claim with a value of a type not `allowed` is refused."""
        if set(map(type, values)) == {kind}:
            return values, owners
        wrong = [i for i, v in enumerate(values) if type(v) not in allowed]
        if wrong:
            self.refuse(owners[wrong])
        keep = [i for i, v in enumerate(values) if type(v) is kind]
        return [values[i] for i in keep], owners[keep]

    def record(self, node: _Object, values: list, owners: np.ndarray, path: tuple,
               in_list: bool = False) -> dict | None:
        """`values` are present (not absent): each must be a dict (or None where the schema allows). In a list: the
        columns of the records' fields, one value per record, where every field is a required value (else None)."""
        aligned: dict | None = {}
        if set(map(type, values)) != {dict}:
            aligned = None
            values, owners = self.only(dict, {dict, _NONE} if node.nullable else {dict}, values, owners)
        if not values:
            return aligned
        lengths = np.fromiter(map(len, values), np.int64, len(values))
        if in_list:
            self.keys += _summed(owners, lengths, len(self.keys))
        else:  # one record of this path per claim
            self.keys[owners] += lengths
        named = np.zeros(len(values), np.int64)
        always = 0
        for name, child in node.fields.items():
            child_path = path + (name,)
            if name in node.required and not child.nullable:
                # absent reads as None, which no value of a required, non-null fact is: refused by its type check
                column = list(map(dict.get, values, repeat(name)))
                sub_values, sub_owners = column, owners
                always += 1
            else:
                aligned = None
                column = list(map(dict.get, values, repeat(name), repeat(_ABSENT)))
                if _ABSENT in column:
                    given = np.fromiter(map(is_not, column, repeat(_ABSENT)), bool, len(column))
                    if name in node.required:
                        self.refuse(owners[~given])
                    named += given
                    sub_values = list(compress(column, given.tolist()))
                    sub_owners = owners[given]
                else:
                    always += 1
                    sub_values, sub_owners = column, owners
            aligned = self.field(name, child, sub_values, sub_owners, child_path, in_list, aligned)
        named += always
        if (named != lengths).any():  # keys the schema does not name: the per-claim reader reads (or refuses) those
            self.refuse(owners[named != lengths])
        return aligned

    def field(self, name: str, child, values: list, owners: np.ndarray, path: tuple, in_list: bool,
              aligned: dict | None) -> dict | None:
        """One field's present values walked (a record's, a list's or a leaf's) and its column kept; `aligned` (the
        columns of the records' fields, in a list) with this field's, or None once a field is no leaf."""
        if not in_list:  # records and lists outside lists: the values as read (raw or Structs), converted when asked
            self.columns[path] = (owners, values)
        if isinstance(child, _Object):
            self.record(child, values, owners, path, in_list)
            return None
        if isinstance(child, _List):
            self.array(child, values, owners, path)
            return None
        converted = self.leaf(child, values, owners)
        if not in_list:
            self.columns[path] = (owners, converted)
        elif aligned is not None:
            aligned[name] = converted
        return aligned

    def array(self, node: _List, values: list, owners: np.ndarray, path: tuple) -> None:
        values, owners = self.only(list, {list}, values, owners)
        if not values:
            return
        lengths = np.fromiter(map(len, values), np.int64, len(values))
        self.items += _summed(owners, lengths, len(self.items))
        if node.max_items is not None:
            self.refuse(owners[lengths > node.max_items])
        if node.min_items is not None:
            self.refuse(owners[lengths < node.min_items])
        items = list(chain.from_iterable(values))
        item_owners = np.repeat(owners, lengths)
        if isinstance(node.item, _Object):
            fields = self.record(node.item, items, item_owners, path + ("[]",), in_list=True)
            if fields is not None and "[]" not in path:  # the items' fields as columns, for comprehensions
                self.columns[path + ("[]",)] = (item_owners, fields)
        else:
            self.leaf(node.item, items, item_owners)

    def leaf(self, node: _Leaf, values: list, owners: np.ndarray) -> list | _Coded:
        """The values converted to facts (dates as dates), dictionary-encoded where the leaf's facts are of one type;
        rows with a value the columns cannot take are refused. The checks and conversions are made once per distinct
        value: a row is only visited to find its code (and, for decimals, whether its value is bad)."""
        if not values:
            return values
        allowed = node.types
        index: dict | None = None
        if node.text:  # texts equal only texts: the types of the distinct values are the types of all
            with contextlib.suppress(TypeError):  # a record or a list where a text should be
                index = dict.fromkeys(values)
        if index is None or not set(map(type, index)) <= allowed:
            if index is not None or not set(map(type, values)) <= allowed:
                # a value of another type (a float, null, a record where a text should be): refused
                self.refuse(owners[[i for i, v in enumerate(values) if type(v) not in allowed]])
                values = [v if type(v) in allowed else None for v in values]
            index = dict.fromkeys(values)
        distinct = index.keys() - {None} if None in index and not node.nullable else index.keys()
        if node.plain_date:
            bad = node.days(distinct)
        else:
            bad = node.bad_values(distinct)
            if node.is_date:
                bad |= node.to_dates(distinct - bad)
        if bad:
            self.refuse(owners[np.fromiter(map(bad.__contains__, values), bool, len(values))])
        if not node.encoded:
            return [node.dates.get(v) for v in values] if node.is_date else values
        return _Coded(values, list(index), node.dates if node.is_date else None)


class _StructWalk(_Walk):
    """_Walk over the Structs msgspec decoded: their types, records and keys are checked already, so only each leaf's
    own schema (per distinct value), list lengths, and the keys and items a claim holds are left."""

    def record(self, node: _Object, values: list, owners: np.ndarray, path: tuple,
               in_list: bool = False) -> dict | None:
        aligned: dict | None = {}
        if node.nullable and None in values:
            aligned = None
            given = np.fromiter(map(is_not, values, repeat(None)), bool, len(values))
            values, owners = list(compress(values, given.tolist())), owners[given]
        if not values:
            return aligned
        named = np.zeros(len(values), np.int64)
        always = 0
        for name, child in node.fields.items():
            child_path = path + (name,)
            get = attrgetter(node.attributes[name])
            if name in node.required:
                always += 1
                sub_values, sub_owners = list(map(get, values)), owners
            else:  # an optional key: UNSET where it is absent, found by the pointers of an object array
                aligned = None
                column = np.fromiter(map(get, values), object, len(values))
                given = ~where_is(column, msgspec.UNSET)
                if given.all():
                    always += 1
                    sub_values, sub_owners = column.tolist(), owners
                else:
                    named += given
                    sub_values, sub_owners = column[given].tolist(), owners[given]
            aligned = self.field(name, child, sub_values, sub_owners, child_path, in_list, aligned)
        named += always
        if in_list:
            self.keys += _summed(owners, named, len(self.keys))
        else:  # one record of this path per claim
            self.keys[owners] += named
        return aligned

    def array(self, node: _List, values: list, owners: np.ndarray, path: tuple) -> None:
        if node.nullable and None in values:  # as _Walk.array: a null list is read by the per-claim reader
            self.refuse(owners[[i for i, v in enumerate(values) if v is None]])
            given = np.fromiter(map(is_not, values, repeat(None)), bool, len(values))
            values, owners = list(compress(values, given.tolist())), owners[given]
        super().array(node, values, owners, path)

    def only(self, kind: type, allowed: set, values: list, owners: np.ndarray) -> tuple[list, np.ndarray]:
        return values, owners  # msgspec has made every value of its type

    def leaf(self, node: _Leaf, values: list, owners: np.ndarray) -> list | _Coded:
        if not values:
            return values
        if node.decoded:  # msgspec has checked them all (a plain date is a calendar day already)
            if not node.encoded:
                return values
            kinds = node.types - {_NONE}
            kind = next(iter(kinds)) if kinds <= {bool, int} and _NONE not in node.types else None
            return _Coded(values, None, None, date if node.plain_date else kind)
        if not node.encoded:  # decimals: checked per distinct value, not encoded
            index = dict.fromkeys(values)
            bad = node.bad_values(index.keys())
            if bad:
                self.refuse(owners[np.fromiter(map(bad.__contains__, values), bool, len(values))])
            return values
        keys, codes = dictionary(values)  # the codes found by the pass that finds the distinct values to check
        distinct = dict.fromkeys(keys).keys()
        bad = node.bad_values(distinct)
        if node.is_date:
            bad |= node.to_dates(distinct - bad)
        if bad:
            self.refuse(owners[np.fromiter(map(bad.__contains__, keys), bool, len(keys))[codes]])
        return _Coded(values, keys, node.dates if node.is_date else None, codes=codes)


class ColumnBatch:
    """The claims of a chunk the columns took, as columns; the rest are listed for the per-claim reader."""

    def __init__(self, layout: Layout, raws: Sequence[RawClaim], values: list, refused: np.ndarray, columns: dict,
                 lines: list[bytes] | None = None):
        self.layout = layout
        self.raws = raws
        self.values = values
        self.lines = lines  # the lines the values were decoded from (as Structs), if they were
        self.refused = refused
        self.taken = np.flatnonzero(~refused)
        self.per_claim = np.flatnonzero(refused).tolist()
        self.n = len(self.taken)
        self._columns = columns
        self._position = np.full(len(raws), -1, np.int64)
        self._position[self.taken] = np.arange(self.n)
        self._paths: dict = {}
        self._coded: dict = {}
        self._present: dict = {}
        self._days: dict = {}

    def close(self) -> None:
        """Let go of the claims' values and columns (engine.columnar.columns.Batch.close says why)."""
        self.values = []
        self.lines = None
        self._columns.clear()
        self._paths.clear()
        self._coded.clear()
        self._present.clear()
        self._days.clear()

    def subset(self, positions: np.ndarray) -> ColumnView:
        """The taken claims at these positions (of `taken`), as a batch of their own."""
        return ColumnView(self, positions)

    def path(self, keys: tuple) -> np.ndarray:
        """The facts at a path outside lists, for every taken claim (None where absent or null)."""
        found = self._paths.get(keys)
        if found is None:
            owners, values = self._columns.get(keys, (np.zeros(0, np.int64), []))
            coded = self._coded.get(keys)
            if coded is not None and isinstance(values, _Coded):  # encoded already: each fact from its code
                found = self._paths[keys] = coded[1][coded[0]]
                return found
            if isinstance(values, _Coded):
                values = values.facts()
            found = np.full(self.n, None, dtype=object)
            if len(owners):
                positions = self._position[owners]
                keep = positions >= 0
                found[positions[keep]] = _objects(values)[keep]
            node = self._node(keys)
            if not isinstance(node, _Leaf):  # a record or a list: the per-claim converter makes its facts
                make = self.layout.converter(keys)
                if self.lines is not None:  # from the Structs, the JSON values they were read from
                    plain = msgspec.to_builtins
                    found = np.fromiter((None if v is None else make(plain(v)) for v in found.tolist()),
                                        dtype=object, count=self.n)
                else:
                    found = np.fromiter((None if v is None else make(v) for v in found.tolist()), dtype=object,
                                        count=self.n)
            self._paths[keys] = found
        return found

    def coded(self, keys: tuple) -> tuple | None:
        """(codes, uniques) of the facts at a path outside lists (ColumnBatch.path): each claim's fact the object
        uniques[codes[claim]]. Only for a leaf whose facts are all of one type (texts, dates, whole numbers or
        booleans, and None), so that equal facts are alike; None for any other path."""
        found = self._coded.get(keys, _ABSENT)
        if found is _ABSENT:
            found = None
            node = self._node(keys)
            owners, values = self._columns.get(keys, (np.zeros(0, np.int64), []))
            if isinstance(values, _Coded):  # encoded by the reader: a claim without the fact has None's code
                uniques = values.uniques
                nones = np.flatnonzero(nulls(uniques))
                if len(nones):
                    none = int(nones[0])
                else:
                    none = len(uniques)
                    uniques = np.concatenate((uniques, np.full(1, None, dtype=object)))
                codes = np.full(self.n, none, np.int64)
                positions = self._position[owners]
                keep = positions >= 0
                codes[positions[keep]] = values.codes[keep]
                found = (codes, uniques)
            elif isinstance(node, _Leaf) and node.encoded:
                rows = self.path(keys).tolist()
                distinct = list(dict.fromkeys(rows))
                index = dict(zip(distinct, range(len(distinct)), strict=True))
                found = (np.fromiter(map(index.__getitem__, rows), np.int64, len(rows)), _objects(distinct))
            self._coded[keys] = found
        return found

    def day_numbers(self, keys: tuple) -> tuple | None:
        """(day numbers, where given) of a plain date fact (a date held only to its format, which msgspec decoded):
        each taken claim's date.toordinal(), the day 1 where it does not have the fact; None for any other path, or
        before the reader has met the fact."""
        found = self._days.get(keys, _ABSENT)
        if found is _ABSENT:
            found = None
            owners, values = self._columns.get(keys, (None, None))
            if isinstance(values, _Coded) and values.kind is date:
                days = np.ones(self.n, np.int64)
                given = np.zeros(self.n, bool)
                positions = self._position[owners]
                keep = positions >= 0
                numbers = np.fromiter(map(date.toordinal, values.values), np.int64, len(values.values))
                days[positions[keep]] = numbers[keep]
                given[positions[keep]] = True
                found = (days, given)
            self._days[keys] = found
        return found

    def present(self, keys: tuple) -> np.ndarray:
        """Where the facts at a path are given (present and not null), for every taken claim."""
        found = self._present.get(keys)
        if found is not None:
            return found
        owners, values = self._columns.get(keys, (np.zeros(0, np.int64), []))
        found = self._present[keys] = np.zeros(self.n, bool)
        if len(owners):
            positions = self._position[owners]
            if isinstance(values, _Coded) and values._codes is not None:
                given = ~nulls(values.uniques)[values.codes]
            else:
                if isinstance(values, _Coded):  # a value is None where its fact is (a date is None only there)
                    values = values.values
                given = np.fromiter(map(is_not, values, repeat(None)), bool, len(values))
            keep = (positions >= 0) & given
            found[positions[keep]] = True
        return found

    def items(self, keys: tuple) -> tuple | None:
        """For a list of records outside lists: (first item, items) of each taken claim and the items' fields as
        columns (facts, in claim order); None when the reader does not have them."""
        found = self._paths.get(keys + ("[]",), _ABSENT)
        if found is _ABSENT:
            found = None
            stored = self._columns.get(keys + ("[]",))
            if stored is not None:
                owners, fields = stored
                positions = self._position[owners] if len(owners) else np.zeros(0, np.int64)
                keep = positions >= 0
                lengths = np.bincount(positions[keep], minlength=self.n).astype(np.int64)
                starts = np.cumsum(lengths) - lengths
                columns = {}
                for name, values in fields.items():
                    if isinstance(values, _Coded):
                        values = values.facts()
                    columns[name] = _objects(values)[keep]
                found = (starts, lengths, columns)
            self._paths[keys + ("[]",)] = found
        return found

    def _node(self, keys: tuple):
        node = self.layout.root
        for key in keys:
            node = node.fields[key]
        return node

    def facts(self, position: int) -> dict:
        """One taken claim's facts, exactly as the per-claim reader has them (for expressions run claim by claim)."""
        return self.layout.reader.convert(self._value(int(self.taken[position])))

    def _value(self, row: int):
        """The JSON value of a claim, as parsed JSON (a Struct's line parsed again, by orjson: the same value)."""
        if self.lines is not None:
            return orjson.loads(self.lines[row])
        return self.values[row]

    def claim_ids(self) -> list:
        """Each taken claim's id, as ClaimReader.claim_id reads it."""
        reader = self.layout.reader
        field = reader.id_field
        if field in self.layout.root.fields and isinstance(self.layout.root.fields[field], _Leaf):
            ids = self.path((field,)).tolist()
            if set(map(type, ids)) <= {str, _NONE}:  # texts, or absent: as claim_id reads them
                return ids
        return [reader.claim_id(self._value(i)) for i in self.taken.tolist()]


class ColumnView:
    """Some claims of a ColumnBatch (those decided under one program)."""

    def __init__(self, batch: ColumnBatch, positions: np.ndarray):
        self.batch = batch
        self.positions = positions
        self.n = len(positions)
        self._facts: list | None = None

    def path(self, keys: tuple) -> np.ndarray:
        return self.batch.path(keys)[self.positions]

    def present(self, keys: tuple) -> np.ndarray:
        return self.batch.present(keys)[self.positions]

    def coded(self, keys: tuple) -> tuple | None:
        found = self.batch.coded(keys)
        return None if found is None else (found[0][self.positions], found[1])

    def day_numbers(self, keys: tuple) -> tuple | None:
        found = self.batch.day_numbers(keys)
        return None if found is None else (found[0][self.positions], found[1][self.positions])

    def items(self, keys: tuple) -> tuple | None:
        """(items of each claim, the items' fields as columns) of a list of records, or None (ColumnBatch.items)."""
        found = self.batch.items(keys)
        if found is None:
            return None
        starts, lengths, columns = found
        starts, lengths = starts[self.positions], lengths[self.positions]
        total = int(lengths.sum())
        offsets = np.cumsum(lengths) - lengths
        index = np.repeat(starts - offsets, lengths) + np.arange(total)
        return lengths, {name: column[index] for name, column in columns.items()}

    @property
    def facts(self) -> list:
        if self._facts is None:
            self._facts = [self.batch.facts(p) for p in self.positions.tolist()]
        return self._facts

