"""Claims are validated by jsonschema-rs, policy files by jsonschema: an officer and a developer must read the
same plain words for the same mistake, whichever validator found it."""
from __future__ import annotations

from decimal import Decimal

import jsonschema_rs
import pytest

from engine.core.i18n import set_language
from engine.core.schemacheck import describe_compiled_error, describe_error, make_validator

CASES = [  # (schema of the value `v`, a value that fails it, the words expected)
    ({"type": "integer"}, "80", "expected a whole number, found the text '80'"),
    ({"type": ["string", "null"]}, 5, "expected nothing or text, found the number 5"),
    ({"enum": ["male", "female"]}, "robot", "the text 'robot' is not one of: male, female"),
    ({"const": "yes"}, "no", "must be 'yes', found the text 'no'"),
    ({"const": True}, False, "must be true, found the boolean false"),  # as YAML writes it, not Python's True
    ({"type": "string", "format": "date"}, "2023-02-29",
     "the text '2023-02-29' is not a calendar date (2023-02 has 28 days)"),
    ({"type": "string", "format": "date"}, "2024-6-1",
     "the text '2024-6-1' is not a calendar date written YYYY-MM-DD; write it 2024-06-01"),
    ({"type": "string", "pattern": "^[0-9]{6}$"}, "3307",
     "the text '3307' does not have the required form (^[0-9]{6}$)"),
    ({"type": "string", "pattern": r"^[A-Za-z_\u00c0-\uffff][0-9A-Za-z_\u00c0-\uffff]*$"}, "within deadline",
     "the text 'within deadline' is not a name: letters (Chinese ones too), digits and _, not starting with a digit; "
     "no spaces, '-' or '.'"),  # the engine's own formats in words, not as a regular expression
    ({"minimum": 0}, -5, "must be at least 0, found -5"),
    ({"exclusiveMinimum": 0}, 0, "must be more than 0, found 0"),
    ({"maximum": Decimal("2200")}, 2300, "must be at most 2200, found 2300"),
    ({"exclusiveMaximum": 10}, 10, "must be less than 10, found 10"),
    ({"minItems": 2}, [1], "must have at least 2 items, has 1"),
    ({"maxItems": 1}, [1, 2], "must have at most 1 items, has 2"),
    ({"minLength": 1}, "", "must have at least 1 characters, has 0"),
    ({"maxLength": 2}, "abc", "must have at most 2 characters, has 3"),
    ({"minProperties": 1}, {}, "must have at least 1 keys, has 0"),
    ({"maxProperties": 1}, {"a": 1, "b": 2}, "must have at most 1 keys, has 2"),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, [], "a list does not fit any of the accepted forms"),
]


@pytest.mark.parametrize("schema, value, words", CASES, ids=[next(iter(c[0])) for c in CASES])
def test_both_validators_word_a_mistake_alike(schema, value, words):
    document = {"type": "object", "properties": {"v": schema}}
    general = [describe_error(e) for e in make_validator(document).iter_errors({"v": value})]
    compiled = [describe_compiled_error(e, document)
                for e in jsonschema_rs.validator_for(document, validate_formats=True).iter_errors({"v": value})]
    assert general == compiled == [(["v"], words)]


def test_required_and_unknown_keys_are_worded_alike_at_the_same_path():
    document = {"type": "object", "required": ["a"], "additionalProperties": False,
                "properties": {"a": {}, "b": {}}}
    general = sorted(describe_error(e) for e in make_validator(document).iter_errors({"c": 1, "d": 2}))
    compiled = sorted(describe_compiled_error(e, document)
                      for e in jsonschema_rs.validator_for(document).iter_errors({"c": 1, "d": 2}))
    assert general == compiled == [(["a"], "a is required but missing"),
                                   (["c"], "unknown key 'c', 'd'; allowed here: a, b")]


@pytest.mark.parametrize("text, why, chinese", [
    ("2023-02-29", "2023-02 has 28 days", "2023 年 02 月只有 28 天"),
    ("2024-02-30", "2024-02 has 29 days", "2024 年 02 月只有 29 天"),
    ("2024-04-31", "2024-04 has 30 days", "2024 年 04 月只有 30 天"),
    ("9999-12-32", "9999-12 has 31 days", "9999 年 12 月只有 31 天"),
    ("2024-13-01", "there is no month 13", "没有 13 月"),
    ("2024-00-10", "there is no month 00", "没有 00 月"),
    ("2024-04-00", "there is no day 00", "没有 00 日"),
    ("0000-01-01", "there is no year 0000", "没有 0000 年"),
])
def test_a_date_that_does_not_exist_says_which_part_does_not(text, why, chinese):
    from engine.core.i18n import tr
    from engine.core.isodate import parse_date

    with pytest.raises(ValueError) as caught:
        parse_date(text)
    assert str(caught.value) == f"'{text}' is not a calendar date ({why})"
    set_language("zh")
    try:
        assert tr(caught.value.args[0]) == f"'{text}' 不是日历上的日期（{chinese}）"
    finally:
        set_language(None)


def test_every_format_of_the_policy_schema_is_worded_for_officers():
    """A pattern of engine/schemas/policy.schema.json left without words would show an officer its regular
    expression; words for a pattern it no longer has would be dead."""
    import json

    from engine.core.schemacheck import _PATTERN_WORDS
    from engine.policies.policyfile import SCHEMA_FILE

    patterns: set = set()

    def walk(value):
        if isinstance(value, dict):
            patterns.update(v for k, v in value.items() if k == "pattern")
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    assert patterns == set(_PATTERN_WORDS)


@pytest.mark.parametrize("instance, words", [
    ({"a": 1, "colour": 2}, "unknown key 'colour' (did you mean 'color'?); allowed here: a, color"),
    ({"a": 1, "zzz": 2}, "unknown key 'zzz'; allowed here: a, color"),  # nothing close: no guess
    ({"a": 1, "colour": 2, "zzz": 3}, "unknown key 'colour', 'zzz'; allowed here: a, color"),
])
def test_a_misspelt_key_of_a_claim_names_the_key_meant(instance, words):
    """A developer's claim with `applied_onn` for `applied_on`: the key meant, by both validators alike."""
    document = {"type": "object", "additionalProperties": False, "properties": {"a": {}, "color": {}}}
    general = [describe_error(e) for e in make_validator(document).iter_errors(instance)]
    compiled = [describe_compiled_error(e, document)
                for e in jsonschema_rs.validator_for(document).iter_errors(instance)]
    assert [m for _, m in general] == [m for _, m in compiled] == [words]
