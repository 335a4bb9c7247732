"""JSON Schema validation whose every error names the path of what failed, in plain words."""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from functools import lru_cache

from .isodate import parse_date


def _is_calendar_date(value) -> bool:
    # Strictly YYYY-MM-DD: a date that does not exist (2023-02-29) is an error, not a guess.
    if isinstance(value, str):
        parse_date(value)
    return True


def _is_number(checker, instance) -> bool:
    return isinstance(instance, (int, float, Decimal)) and not isinstance(instance, bool)


def _is_integer(checker, instance) -> bool:
    if isinstance(instance, bool):
        return False
    if isinstance(instance, Decimal):
        return instance == instance.to_integral_value()
    return isinstance(instance, int)


@lru_cache(maxsize=1)
def _validator_class():
    # jsonschema is imported only when a schema is first needed: a warm start from the cache never needs it.
    import jsonschema
    from jsonschema import Draft202012Validator, FormatChecker

    formats = FormatChecker()
    formats.checks("date", raises=ValueError)(_is_calendar_date)
    types = Draft202012Validator.TYPE_CHECKER.redefine_many({"number": _is_number, "integer": _is_integer})
    return jsonschema.validators.extend(Draft202012Validator, type_checker=types), formats


def make_validator(schema: dict):
    cls, formats = _validator_class()
    return cls(schema, format_checker=formats)


def check_schema(schema: dict) -> list[str]:
    """Problems with a schema itself, as messages."""
    from jsonschema import Draft202012Validator

    return [f"{'/'.join(str(p) for p in e.absolute_path) or '/'}: {e.message}"
            for e in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema)]


def json_path(parts: Iterable) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(the whole document)"


_TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "object": "a mapping", "array": "a list", "null": "nothing"}


def describe_value(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, (int, Decimal, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}" if len(value) < 60 else "a long text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def describe_error(error) -> tuple[list, str]:
    """(path of the offending value, plain message) for one schema error."""
    path = list(error.absolute_path)
    v = error.validator
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return path + [missing], f"{missing} is required but missing"
    if v == "additionalProperties":
        extras = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return path + [extras[0]] if extras else path, (
            f"unknown key {', '.join(repr(e) for e in extras)}; allowed here: "
            + ", ".join(sorted(error.schema.get("properties", {}))))
    if v == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_WORDS.get(n, n) for n in names)
        return path, f"expected {wanted}, found {describe_value(error.instance)}"
    if v == "enum":
        allowed = ", ".join(str(x) for x in error.validator_value)
        return path, f"{describe_value(error.instance)} is not one of: {allowed}"
    if v == "const":
        return path, f"must be {error.validator_value!r}, found {describe_value(error.instance)}"
    if v == "format":
        if error.validator_value == "date":
            return path, f"{describe_value(error.instance)} is not a calendar date written YYYY-MM-DD"
        return path, f"{describe_value(error.instance)} is not a valid {error.validator_value}"
    if v == "pattern":
        return path, f"{describe_value(error.instance)} does not have the required form ({error.validator_value})"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": "at least", "exclusiveMinimum": "more than", "maximum": "at most",
                 "exclusiveMaximum": "less than"}[v]
        return path, f"must be {words} {error.validator_value}, found {error.instance}"
    if v in ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"):
        # jsonschema's own message quotes the whole value, which may be enormous
        what = "characters" if "Length" in v else "items" if "Items" in v else "keys"
        bound = "at least" if v.startswith("min") else "at most"
        return path, f"must have {bound} {error.validator_value} {what}, has {len(error.instance)}"
    if v in ("oneOf", "anyOf"):
        # Skip the branches that want another kind of value altogether: a mapping written where a string
        # or a mapping is accepted should be told what is wrong with the mapping.
        relevant = [e for e in error.context if not (e.validator == "type" and list(e.absolute_path) == path)]
        from jsonschema.exceptions import best_match

        best = best_match(relevant or error.context) if error.context else None
        if best is not None and (list(best.absolute_path) != path or best.validator != "type"):
            return describe_error(best)
        return path, f"{describe_value(error.instance)} does not fit any of the accepted forms"
    return path, error.message


def describe_compiled_error(error, schema: dict) -> tuple[list, str]:
    """(path, plain message) for an error of the compiled validator (jsonschema-rs), worded as describe_error
    words the general validator's; `schema` is the schema validated against (to list the keys allowed)."""
    path, kind, value = list(error.instance_path), error.kind, error.instance
    name = type(kind).__name__
    if name == "Required":
        return path + [kind.property], f"{kind.property} is required but missing"
    if name == "AdditionalProperties":
        extras = sorted(kind.unexpected)
        allowed = sorted((_at(schema, list(error.schema_path)[:-1]).get("properties") or {}))
        return path + extras[:1], (f"unknown key {', '.join(repr(e) for e in extras)}; allowed here: "
                                   + ", ".join(allowed))
    if name == "Type":
        wanted = " or ".join(_TYPE_WORDS.get(t, t) for t in kind.types)
        return path, f"expected {wanted}, found {describe_value(value)}"
    if name == "Enum":
        return path, f"{describe_value(value)} is not one of: {', '.join(str(x) for x in kind.options)}"
    if name == "Constant":
        return path, f"must be {kind.expected_value!r}, found {describe_value(value)}"
    if name == "Format":
        if kind.format == "date":
            return path, f"{describe_value(value)} is not a calendar date written YYYY-MM-DD"
        return path, f"{describe_value(value)} is not a valid {kind.format}"
    if name == "Pattern":
        return path, f"{describe_value(value)} does not have the required form ({kind.pattern})"
    bounds = {"Minimum": "at least", "ExclusiveMinimum": "more than", "Maximum": "at most",
              "ExclusiveMaximum": "less than"}
    if name in bounds:
        return path, f"must be {bounds[name]} {kind.limit}, found {value}"
    sizes = {"MinItems": ("at least", "items"), "MaxItems": ("at most", "items"), "MinLength": ("at least", "characters"),
             "MaxLength": ("at most", "characters"), "MinProperties": ("at least", "keys"),
             "MaxProperties": ("at most", "keys")}
    if name in sizes:
        bound, what = sizes[name]
        return path, f"must have {bound} {kind.limit} {what}, has {len(value)}"
    if name in ("AnyOf", "OneOfNotValid"):
        return path, f"{describe_value(value)} does not fit any of the accepted forms"
    return path, error.message


def _at(schema: dict, schema_path: list) -> dict:
    node = schema
    for part in schema_path:
        node = node[part] if isinstance(node, dict) else node[int(part)]
    return node if isinstance(node, dict) else {}


def compiled_problems(validator, schema: dict, instance, limit: int) -> list[tuple[list, str]]:
    """Up to `limit` (path, message), one per offending value, sorted by path; a wrong type is named before
    anything else wrong with the same value."""
    found: dict = {}
    for error in validator.iter_errors(instance):
        path, message = describe_compiled_error(error, schema)
        key = tuple(str(p) for p in path)
        if key not in found or type(error.kind).__name__ == "Type":
            found[key] = (path, message)
        if len(found) >= limit:
            break
    return [found[k] for k in sorted(found)]


def validate_typed(validator, instance) -> list[tuple[list, str, tuple]]:
    """Every (path, message, types the schema wanted there), sorted by path, one per offending value."""
    found = {}
    for error in validator.iter_errors(instance):
        path, message = describe_error(error)
        wanted = error.validator_value if error.validator == "type" else ()
        wanted = (wanted,) if isinstance(wanted, str) else tuple(wanted)
        found.setdefault(tuple(str(p) for p in path), (path, message, wanted))
    return [found[k] for k in sorted(found)]
