"""One canonical layout for policy and case files (`policy fmt`), keeping every comment.

What it changes, and nothing else:
- key order: the order of docs/authoring.md (identity, source, references, input, then the parts);
  keys it does not know keep their place after the known ones;
- quotes: quoted text uses double quotes, or single quotes when it holds a double quote or a backslash
  (plain text stays plain: quoting is how an officer keeps YAML 1.1 from reading a region code such as 010101 as
  a number);
- long expressions: a `when`, `require`, `expr` or `amount` written on one line that would run past
  WIDTH columns is folded (`>-`) at spaces, which reads back as the same text;
- `~` is written `null`, and the file ends with one line break.
The data read back is the same (same digest); formatting a formatted file changes nothing.
"""
from __future__ import annotations

import re

from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from engine.policies import yamledit

WIDTH = 120  # columns a folded expression's lines stay within

_POLICY_ORDER = ("policy", "version", "amends", "repeals", "title", "effective", "issued_on", "review_by", "source",
                 "sources", "extends", "uses", "includes", "input", "exports", "remove", "tables", "definitions",
                 "rules", "outputs", "decision", "notes", "not_computable")
_ITEM_ORDERS = {
    "effective": ("from", "to", "clause"),
    "source": ("number", "title", "issuers", "registration", "clauses"),
    "input": ("schema", "facts", "checks"),
    "check": ("id", "overrides", "replaces", "fact", "when", "require", "message"),
    "table": ("overrides", "replaces", "clause", "description", "reading", "key", "columns", "rows", "add_rows",
              "replace_rows", "remove_rows"),
    "definition": ("overrides", "replaces", "clause", "description", "reading", "params", "type", "expr"),
    "rule": ("id", "overrides", "replaces", "clause", "reading", "when", "require", "message"),
    "message": ("pass", "fail", "not_applicable"),
    "output": ("overrides", "replaces", "clause", "description", "reading", "when", "expr"),
    "decision": ("overrides", "replaces", "clause", "amount", "currency"),
    "note": ("id", "overrides", "replaces", "clause", "when", "reading", "text"),
    "not_computable": ("clause", "reason"),
    "reference": ("policy", "version", "clause"),
    "cases": ("policy", "written_against", "base", "cases"),
    "case": ("name", "reading", "as_of", "claim", "expect"),
    "expect": ("eligible", "amount", "failed_rules", "outputs", "notes", "error", "error_path", "not_in_force"),
}
_EXPRESSION_KEYS = {"when", "require", "expr", "amount"}


def format_text(text: str, cases: bool = False) -> str:
    """The canonical layout of a policy file's (or, with cases, a case file's) text. Its lines end as its first line
    ends (CR LF, as Windows editors write, or LF): every line alike, a comment's too."""
    newline = "\r\n" if "\r\n" in text[: text.find("\n") + 1] else "\n"
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _sections_in_order(text, _ITEM_ORDERS["cases"] if cases else _POLICY_ORDER)
    data = yamledit.load(text)
    if isinstance(data, dict):
        (_cases if cases else _policy)(data)
    _quotes(data)
    _fold(data, 0)
    return (yamledit.dump(data).rstrip("\n") + "\n").replace("\n", newline)


_TOP_KEY = re.compile(r"(?:[A-Za-z_][\w.-]*|\"[^\"]*\"|'[^']*'):(?:\s|$)")


def _sections_in_order(text: str, order: tuple) -> str:
    """The top-level sections in `order`, each with the comment lines written directly above it: an officer's
    heading (`# 定义` above `definitions:`) describes the key below it, and moves with it (ruamel would keep it
    with the section above). The file's opening comments stay first. Left as it is when it is not a plain block
    mapping, or when the reordered text would read back otherwise (an alias written before its anchor)."""
    lines = text.split("\n")
    if any(line.startswith(("---", "...", "{", "[", "%")) for line in lines):
        return text
    keys = [i for i, line in enumerate(lines) if _TOP_KEY.match(line)]
    if not keys:
        return text
    starts = []
    for i in keys:
        start = i
        while start - 1 > keys[0] and lines[start - 1].startswith("#"):
            start -= 1
        starts.append(start)
    header = lines[:keys[0]]
    sections = [(_key_name(lines[k]), lines[a:b]) for k, a, b in zip(keys, starts, starts[1:] + [len(lines)],
                                                                      strict=True)]
    rank = {name: i for i, name in enumerate(order)}
    wanted = sorted(sections, key=lambda item: (rank.get(item[0], len(order)), sections.index(item)))
    if [name for name, _ in wanted] == [name for name, _ in sections]:
        return text
    if sections[-1][1][-1:] == [""]:  # the line break ending the file is no line of the last section
        sections[-1] = (sections[-1][0], sections[-1][1][:-1])
        wanted = sorted(sections, key=lambda item: (rank.get(item[0], len(order)), sections.index(item)))
    body = [line for _, part in wanted for line in part]
    reordered = "\n".join(header + body).rstrip("\n") + "\n"
    try:
        same = yamledit.load(reordered) == yamledit.load(text)
    except Exception:  # noqa: BLE001 - any failure to read it back means: keep the text as written
        same = False
    return reordered if same else text


def _key_name(line: str) -> str:
    key = line.split(":", 1)[0].strip()
    return key[1:-1] if key[:1] in "\"'" and key[-1:] == key[:1] else key


def _order(mapping, order) -> None:
    if not isinstance(mapping, yamledit.CommentedMap):
        return
    wanted = [k for k in order if k in mapping] + [k for k in mapping if k not in order]
    if list(mapping) != wanted:
        for key in wanted:
            mapping.move_to_end(key)


def _each(container):
    if isinstance(container, dict):
        return list(container.values())
    if isinstance(container, list):
        return list(container)
    return []


def _policy(doc) -> None:
    _order(doc, _POLICY_ORDER)
    for key in ("effective", "source", "input", "decision"):
        _order(doc.get(key), _ITEM_ORDERS[key])
    if isinstance(doc.get("extends"), dict):
        _order(doc["extends"], _ITEM_ORDERS["reference"])
    for ref in _each(doc.get("uses")):
        _order(ref, _ITEM_ORDERS["reference"])
    if isinstance(doc.get("input"), dict):
        for check in _each(doc["input"].get("checks")):
            _order(check, _ITEM_ORDERS["check"])
    for section, kind in (("tables", "table"), ("definitions", "definition"), ("outputs", "output"),
                          ("rules", "rule"), ("notes", "note"), ("not_computable", "not_computable")):
        for item in _each(doc.get(section)):
            _order(item, _ITEM_ORDERS[kind])
            if kind == "rule" and isinstance(item, dict):
                _order(item.get("message"), _ITEM_ORDERS["message"])


def _cases(doc) -> None:
    _order(doc, _ITEM_ORDERS["cases"])
    for case in _each(doc.get("cases")):
        _order(case, _ITEM_ORDERS["case"])
        if isinstance(case, dict):
            _order(case.get("expect"), _ITEM_ORDERS["expect"])


def _canonical_quotes(value):
    """Quoted text in the canonical quotes; anything else as it is."""
    if not isinstance(value, str) or not value.isprintable():
        return value
    awkward = '"' in value or "\\" in value  # needs escapes inside double quotes
    if isinstance(value, SingleQuotedScalarString) and not awkward:
        return DoubleQuotedScalarString(value)
    if isinstance(value, DoubleQuotedScalarString) and awkward and "'" not in value:
        return SingleQuotedScalarString(value)
    return value


def _quotes(node) -> None:
    if isinstance(node, dict):
        for key in list(node):
            node[key] = _canonical_quotes(node[key])
            _quotes(node[key])
    elif isinstance(node, list):
        for i, item in enumerate(node):
            node[i] = _canonical_quotes(item)
            _quotes(item)


def _fold(node, indent: int) -> None:
    """Fold one-line expressions that would run past WIDTH; `indent` is the column of node's keys."""
    if isinstance(node, dict):
        for key in list(node):
            value = node[key]
            one_line = isinstance(value, str) and not isinstance(value, (FoldedScalarString, LiteralScalarString))
            if key in _EXPRESSION_KEYS and one_line and indent + len(str(key)) + 2 + len(value) > WIDTH:
                folded = _folded(value, indent + 2)
                if folded is not None:
                    node[key] = folded
            _fold(value, indent + 2)
    elif isinstance(node, list):
        for item in node:
            _fold(item, indent + 2)


def _folded(text: str, indent: int) -> FoldedScalarString | None:
    """The text as a folded block broken at single spaces (each reads back as that space), preferring a break
    before `and`, `or`, `then` and `else`; None when it cannot be folded exactly (it spans lines, or has no
    single space to break at)."""
    if "\n" in text or text != text.strip() or not text.isprintable():
        return None
    room = max(WIDTH - indent, 40)
    spaces = [i for i, ch in enumerate(text)
              if ch == " " and text[i - 1] != " " and i + 1 < len(text) and text[i + 1] != " "]
    breaks, start = [], 0
    while len(text) - start > room:
        fitting = [i for i in spaces if start < i <= start + room]
        if not fitting:
            fitting = [i for i in spaces if i > start][:1]  # a word longer than the room: break after it
            if not fitting:
                break
        preferred = [i for i in fitting if text.startswith(_BREAK_BEFORE, i + 1)]
        cut = (preferred or fitting)[-1]
        breaks.append(cut)
        start = cut + 1
    if not breaks:
        return None
    folded = FoldedScalarString(text)
    folded.fold_pos = breaks
    return folded


_BREAK_BEFORE = ("and ", "or ", "then ", "else ")
