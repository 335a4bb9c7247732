"""JSON Schema validation whose every error names the path of what failed, in plain words."""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.core.i18n import Message, msg, series
from engine.core.isodate import date_hint, not_a_day, parse_date, written_as_date


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
    return [msg("{path}: {problem}", path="/".join(str(p) for p in path) or "/", problem=problem)
            for path, problem in schema_problems(schema)]


def schema_problems(schema: dict) -> list[tuple[tuple, str]]:
    """Problems with a schema itself: (the path of the value at fault inside the schema, what is wrong)."""
    from jsonschema import Draft202012Validator

    return [(tuple(e.absolute_path), _schema_words(e))
            for e in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema)]


_SCHEMA_TYPES = ("string", "integer", "number", "boolean", "object", "array", "null")


def _schema_words(error) -> str:
    """A mistake in a schema in the words its author reads (`type: integr`), not the metaschema's English."""
    path = list(error.absolute_path)
    if path and path[-1] == "type" and isinstance(error.instance, str):
        from engine.core.spelling import close_matches

        close = close_matches(error.instance, list(_SCHEMA_TYPES), n=1, cutoff=0.6)
        if close:
            return msg("{value} is not a JSON Schema type: did you mean {close}?", value=repr(error.instance),
                       close=repr(close[0]))
        return msg("{value} is not a JSON Schema type ({types})", value=repr(error.instance),
                   types=", ".join(_SCHEMA_TYPES))
    return _wording(error.validator, error.validator_value, error.instance) or error.message


def json_path(parts: Iterable) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or msg("(the whole document)")


_TYPE_WORDS = {"string": msg("text"), "integer": msg("a whole number"), "number": msg("a number"),
               "boolean": msg("true or false"), "object": msg("a mapping"), "array": msg("a list"),
               "null": msg("nothing")}


def either(words: list) -> str:
    """`a or b or c`, each word translated where it is shown."""
    if len(words) == 1:
        return words[0]
    return msg("{first} or {rest}", first=words[0], rest=either(words[1:]))


def describe_value(value: Any) -> str:
    if value is None:
        return msg("nothing (null)")
    if isinstance(value, bool):
        return msg("the boolean true") if value else msg("the boolean false")
    if isinstance(value, (int, Decimal, float)):
        return msg("the number {value}", value=str(value))
    if isinstance(value, str):
        return msg("the text {text}", text=repr(value)) if len(value) < 60 else msg("a long text")
    if isinstance(value, list):
        return msg("a list")
    if isinstance(value, dict):
        return msg("a mapping")
    return type(value).__name__


def unknown_keys(path: list, extras: list, allowed, suggest: bool = True) -> tuple[list, str]:
    """Keys a mapping may not have, with those it may, and (`suggest`) the one probably meant where a key is
    misspelt: a caller with a hint of its own says that instead."""
    import difflib  # only when a key is unknown

    extras, allowed = sorted(extras), sorted(allowed)
    keys, shown = ", ".join(repr(e) for e in extras), series(allowed)
    meant = difflib.get_close_matches(str(extras[0]), allowed, n=1) if suggest and len(extras) == 1 else []
    if meant:
        return path + extras[:1], msg("unknown key {keys} (did you mean {meant}?); allowed here: {allowed}",
                                      keys=keys, meant=repr(meant[0]), allowed=shown)
    return path + extras[:1], msg("unknown key {keys}; allowed here: {allowed}", keys=keys, allowed=shown)


_BOUNDS = {"minimum": msg("must be at least {expected}, found {value}"),
           "exclusiveMinimum": msg("must be more than {expected}, found {value}"),
           "maximum": msg("must be at most {expected}, found {value}"),
           "exclusiveMaximum": msg("must be less than {expected}, found {value}")}
_SIZES = {"minItems": msg("must have at least {expected} items, has {count}"),
          "maxItems": msg("must have at most {expected} items, has {count}"),
          "minLength": msg("must have at least {expected} characters, has {count}"),
          "maxLength": msg("must have at most {expected} characters, has {count}"),
          "minProperties": msg("must have at least {expected} keys, has {count}"),
          "maxProperties": msg("must have at most {expected} keys, has {count}")}


_ID = "^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)+$"
_LABEL = "^[A-Za-z0-9][A-Za-z0-9._-]*$"
# The engine's own formats in words: an officer reads "a name: …", not the regular expression of policy.schema.json
# (a pattern of a policy's input schema, written by its author, is still shown as written).
_PATTERN_WORDS = {
    _ID: msg("a policy id: lower-case letters, digits and -, two or more parts joined by / (such as city/grant)"),
    _LABEL: msg("a version label: letters, digits, '.', '_' and '-', starting with a letter or digit (such as "
                "2024-05-01)"),
    _ID[:-1] + "(@[A-Za-z0-9][A-Za-z0-9._-]*)?$": msg("a policy id, with @VERSION after it when a version is meant "
                                                      "(such as city/grant@2024-05-01)"),
    "^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$": msg("lower-case letters, digits and -, parts joined by /"),
    r"^[A-Za-z_\u00c0-\uffff][0-9A-Za-z_\u00c0-\uffff]*$": msg(
        "a name: letters (Chinese ones too), digits and _, not starting with a digit; no spaces, '-' or '.'"),
    "^[^.\\s]+(\\.[^.\\s]+)*$": msg("a fact path such as training.level: parts joined by '.', without spaces"),
    "^[^.\\s]+\\.[^.\\s]+$": msg("TABLE.COLUMN, such as subsidy.occupation_code"),
    "^[A-Z]{3}$": msg("three capital letters, such as CNY"),
    "^[a-z_][a-z0-9_]*$": msg("lower-case letters, digits and _, not starting with a digit"),
    "^(claim|decision)\\.": msg("claim.PATH (a fact of the claim) or decision.FIELD"),
}


def _worded(template: Message, **args) -> Message:
    return msg(template.template, **args)


def _wording(keyword: str, expected, value) -> str | None:
    """Plain words for a value that fails one JSON Schema keyword (`expected`: what the keyword asks), whichever
    validator found it; None for a keyword without words of its own."""
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else sorted(expected)  # in one order, as both validators
        return msg("expected {types}, found {value}", types=either([_TYPE_WORDS.get(n, n) for n in names]),
                   value=describe_value(value))
    if keyword == "enum":
        return msg("{value} is not one of: {options}", value=describe_value(value),
                   options=series(str(x) for x in expected))
    if keyword == "const":  # as the file writes it: true, not Python's True
        written = ("true" if expected else "false") if isinstance(expected, bool) else repr(expected)
        return msg("must be {expected}, found {value}", expected=written, value=describe_value(value))
    if keyword == "format":
        if expected == "date":  # as parse_date says it: the form is wrong, or the form is right and the day is not
            if written_as_date(value):
                return not_a_day(describe_value(value), value)
            return msg("{value} is not a calendar date written YYYY-MM-DD{hint}", value=describe_value(value),
                       hint=date_hint(value))
        return msg("{value} is not a valid {format}", value=describe_value(value), format=str(expected))
    if keyword == "pattern":
        if expected in _PATTERN_WORDS:
            return msg("{value} is not {form}", value=describe_value(value), form=_PATTERN_WORDS[expected])
        return msg("{value} does not have the required form ({pattern})", value=describe_value(value),
                   pattern=str(expected))
    if keyword in _BOUNDS:
        return _worded(_BOUNDS[keyword], expected=str(expected), value=str(value))
    if keyword in _SIZES:  # the validators' own messages quote the whole value, which may be enormous
        return _worded(_SIZES[keyword], expected=str(expected), count=len(value))
    if keyword in ("oneOf", "anyOf"):
        return msg("{value} does not fit any of the accepted forms", value=describe_value(value))
    return None


def describe_error(error) -> tuple[list, str]:
    """(path of the offending value, plain message) for one error of the general validator (jsonschema)."""
    path = list(error.absolute_path)
    v = error.validator
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return path + [missing], msg("{key} is required but missing", key=missing)
    if v == "additionalProperties":
        properties = error.schema.get("properties", {})
        return unknown_keys(path, list(set(error.instance) - set(properties)), properties)
    if v in ("oneOf", "anyOf"):
        # Skip the branches that want another kind of value altogether: a mapping written where a string
        # or a mapping is accepted should be told what is wrong with the mapping.
        relevant = [e for e in error.context if not (e.validator == "type" and list(e.absolute_path) == path)]
        from jsonschema.exceptions import best_match

        best = best_match(relevant or error.context) if error.context else None
        if best is not None and (list(best.absolute_path) != path or best.validator != "type"):
            return describe_error(best)
    return path, _wording(v, error.validator_value, error.instance) or error.message


# jsonschema-rs names each kind of error; what the keyword asked for is one of the kind's attributes
_COMPILED = {"Type": ("type", "types"), "Enum": ("enum", "options"), "Constant": ("const", "expected_value"),
             "Format": ("format", "format"), "Pattern": ("pattern", "pattern"), "AnyOf": ("anyOf", None),
             "OneOfNotValid": ("oneOf", None),
             **{k[0].upper() + k[1:]: (k, "limit") for k in (*_BOUNDS, *_SIZES)}}


def describe_compiled_error(error, schema: dict) -> tuple[list, str]:
    """(path, plain message) for an error of the compiled validator (jsonschema-rs), in describe_error's words;
    `schema` is the schema validated against (to list the keys allowed where one is unknown)."""
    path, kind = list(error.instance_path), error.kind
    name = type(kind).__name__
    if name == "Required":
        return path + [kind.property], msg("{key} is required but missing", key=kind.property)
    if name == "AdditionalProperties":
        allowed = _at(schema, list(error.schema_path)[:-1]).get("properties") or {}
        return unknown_keys(path, list(kind.unexpected), allowed)
    keyword, attribute = _COMPILED.get(name, (None, None))
    words = _wording(keyword, getattr(kind, attribute) if attribute else None, error.instance) if keyword else None
    return path, words or error.message


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
