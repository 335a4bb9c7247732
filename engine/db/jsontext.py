"""JSON text for the log: orjson's compact form, with exact decimals written as the numbers they are."""
from __future__ import annotations

import json
from decimal import Decimal

import orjson


def dumps(value) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a Decimal (a claim number with a fraction) or an integer beyond 64 bits
        return "".join(_parts(value))


def _parts(value):
    if isinstance(value, dict):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ("," if i else "") + json.dumps(key, ensure_ascii=False) + ":"
            yield from _parts(item)
        yield "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for i, item in enumerate(value):
            if i:
                yield ","
            yield from _parts(item)
        yield "]"
    elif isinstance(value, Decimal):
        yield str(value)
    else:
        yield json.dumps(value, ensure_ascii=False)
