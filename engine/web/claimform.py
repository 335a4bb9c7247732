"""A claim form generated from a policy's input schema, and the claim it yields.

Each leaf of the schema is one labelled input named by its path (`applicant.birth_date`): enums are
choices, dates date inputs, booleans yes/no, lists a JSON or YAML text. What the reader types goes into the
claim as typed (a date that is no date stays text), so the claim is judged by the same validator as any
other, and each finding is shown by the input its path names.
"""
from __future__ import annotations

import re
from dataclasses import field
from decimal import Decimal, InvalidOperation

from engine.core.records import dataclass
from engine.db import jsontext

INTEGER = re.compile(r"-?[0-9]{1,40}")


@dataclass
class Field:
    path: str
    label: str
    kind: str  # object | text | date | select | boolean | integer | number | list
    required: bool
    description: str = ""
    options: list = field(default_factory=list)
    children: list = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return "f-" + self.path.replace(".", "-")


def _resolve(schema: dict, node: dict, depth: int = 0) -> dict:
    """A node with its local `$ref` (#/$defs/...) followed; its own description wins over the target's."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/") or depth > 20:
        return node
    target = schema
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    merged = dict(_resolve(schema, target, depth + 1))
    merged.update({k: v for k, v in node.items() if k != "$ref"})
    return merged


def fields_of(schema: dict) -> list[Field]:
    return _fields(schema, schema, "")


def _fields(schema: dict, node: dict, prefix: str) -> list[Field]:
    required = set(node.get("required") or ())
    out = []
    for name, child in (node.get("properties") or {}).items():
        child = _resolve(schema, child)
        path = f"{prefix}{name}"
        kind_of = child.get("type")
        item = Field(path, name, "text", name in required, str(child.get("description") or ""))
        if kind_of == "object" or "properties" in child:
            item.kind = "object"
            item.children = _fields(schema, child, path + ".")
        elif "enum" in child:
            item.kind, item.options = "select", list(child["enum"])
        elif kind_of == "boolean":
            item.kind = "boolean"
        elif kind_of == "integer":
            item.kind = "integer"
        elif kind_of == "number":
            item.kind = "number"
        elif kind_of == "array":
            item.kind = "list"
        elif child.get("format") == "date":
            item.kind = "date"
        out.append(item)
    return out


def claim_of(fields: list[Field], form: dict) -> tuple[dict, dict]:
    """The claim the form's values make, and the inputs whose text could not be read (path → message)."""
    unreadable: dict = {}
    return _claim(fields, form, unreadable), unreadable


def _claim(fields: list[Field], form: dict, unreadable: dict) -> dict:
    claim: dict = {}
    for f in fields:
        if f.kind == "object":
            inner = _claim(f.children, form, unreadable)
            if inner:  # an optional part is in the claim when something of it is filled in
                claim[f.label] = inner
            continue
        text = str(form.get(f.path, "")).strip()
        if not text:
            continue
        value = _value(f, text)
        if isinstance(value, _Unreadable):
            unreadable[f.path] = value.message
            continue
        claim[f.label] = value
    return claim


@dataclass
class _Unreadable:
    message: str


def _value(f: Field, text: str):
    if f.kind == "select":
        for option in f.options:
            if str(option) == text:
                return option
        return text
    if f.kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if f.kind == "integer" and INTEGER.fullmatch(text):
        return int(text)
    if f.kind == "number":
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    if f.kind == "list":
        from engine.claims.reader import read_json

        raw = read_json(text.encode(), f.path)
        if raw.error is not None:
            return _Unreadable(raw.error.message)
        return raw.data
    return text


def flat_values(claim: dict, prefix: str = "") -> dict:
    """A claim as the form's values (path → text), to fill the form again."""
    values: dict = {}
    for key, value in claim.items() if isinstance(claim, dict) else ():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            values |= flat_values(value, path + ".")
        elif isinstance(value, bool):
            values[path] = "true" if value else "false"
        elif isinstance(value, list):
            values[path] = jsontext.dumps(value)
        else:
            values[path] = str(value)
    return values


def errors_by_field(fields: list[Field], problems: list[dict]) -> tuple[dict, list[dict]]:
    """Each problem by the input (or the group of inputs) its path names; those that name none apart."""
    known = set()

    def walk(items):
        for f in items:
            known.add(f.path)
            walk(f.children)

    walk(fields)
    placed: dict = {}
    elsewhere = []
    for problem in problems:
        path = re.sub(r"\[[0-9]+\]", "", str(problem.get("path") or ""))
        while path and path not in known:
            path = path.rpartition(".")[0]
        if path:
            placed.setdefault(path, []).append(problem["message"])
        else:
            elsewhere.append(problem)
    return placed, elsewhere
