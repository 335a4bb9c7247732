"""Typed and referencing table columns, checked once a policy is linked.

A column may be typed by a fact of the input schema (`fact: item.level`): every cell must then be a value
that fact may take (its enum, pattern, bounds), so a row written `高级` where claims say `senior` is an error
at that cell, not a table that silently never matches. A column may reference another table's column
(`references: rates.item_code`): every cell must be a value of that column, in the table as linked on the day
(the parent's, when it comes through `extends`), so a row naming an item that no row of the other table has is an
error too. Both need the linked namespace and its input schema, hence here and not in
the file reader.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from engine.core import schemacheck
from engine.core.diagnostics import Diagnostic, cited
from engine.core.i18n import msg
from engine.core.spelling import close_matches
from engine.language.types import ERROR, Record, Type

if TYPE_CHECKING:
    from engine.policies.linker import Linked
    from engine.policies.policyfile import Column, Table


def check_columns(linked: Linked, diagnostics: list) -> None:
    for table in linked.tables.values():
        for column in table.columns.values():
            if column.fact is not None:
                _fact_column(linked, table, column, column.fact, diagnostics)
            if column.references is not None:
                _reference_column(linked, table, column, column.references, diagnostics)


def _diagnostic(table: Table, code: str, message, location, line: str | None = None, hint=None) -> Diagnostic:
    doc = table.owner.document if table.owner is not None else None
    if line is None and doc is not None and location.file == doc.file:
        line = doc.line_text(location.line)
    return Diagnostic(code, message, location, clause=cited(table.clauses), hint=hint, source_line=line)


def _cell(table: Table, key, column: str) -> tuple:
    """(Location, source line) of a cell: in the file that wrote its row (an amendment's rows are in its own)."""
    return table.cell_place(key, column)


def _fact_column(linked: Linked, table: Table, column: Column, fact: str, diagnostics: list) -> None:
    if linked.schema is None or linked.schema.type is None:
        return  # no facts to type by (reported where the schema is named)
    node, ftype = _fact(linked.schema.schema, linked.schema.type, fact)
    if node is None:
        diagnostics.append(_diagnostic(table, "table.column_fact", msg(
            "column {column} is typed by fact {fact}, which the input schema does not have",
            column=repr(column.name), fact=repr(column.fact)), column.location))
        return
    own = table.type.row.field(column.name)
    ctype = own.type if own is not None else ERROR
    if ctype != ERROR and ftype is not None and ftype != ctype:
        diagnostics.append(_diagnostic(table, "table.column_fact", msg(
            "column {column} holds {ctype}, but fact {fact} is {ftype}", column=repr(column.name), ctype=ctype,
            fact=repr(column.fact), ftype=ftype), column.location))
        return
    validator = schemacheck.make_validator(_standalone(linked.schema.schema, node))
    for key, row in table.rows.items():
        value = _as_json(row.get(column.name))
        error = next(iter(validator.iter_errors(value)), None)
        if error is not None:
            _, why = schemacheck.describe_error(error)
            location, line = _cell(table, key, column.name)
            diagnostics.append(_diagnostic(table, "table.cell_fact", msg(
                "column {column} takes the values of fact {fact}: {why}", column=repr(column.name),
                fact=column.fact, why=why), location, line, hint=_allowed(node)))


def _reference_column(linked: Linked, table: Table, column: Column, references: str, diagnostics: list) -> None:
    target_name, _, target_column = references.partition(".")
    target = linked.tables.get(target_name)
    if target is None:
        close = close_matches(target_name, list(linked.tables), n=1)
        diagnostics.append(_diagnostic(table, "table.reference", msg(
            "column {column} references {ref}, but there is no table {table}", column=repr(column.name),
            ref=column.references, table=repr(target_name)), column.location,
            hint=msg("did you mean {name}?", name=repr(close[0])) if close else None))
        return
    if target.type.row.field(target_column) is None:
        diagnostics.append(_diagnostic(table, "table.reference", msg(
            "column {column} references {ref}, but table {table} has no column {target_column}",
            column=repr(column.name), ref=column.references, table=repr(target_name),
            target_column=repr(target_column)), column.location,
            hint=msg("its columns are {columns}", columns=", ".join(f.name for f in target.type.row.fields))))
        return
    values = {row.get(target_column) for row in target.rows.values()}
    where = target.owner.key if target.owner is not None else target_name
    for key, row in table.rows.items():
        value = row.get(column.name)
        if value not in values:
            close = close_matches(str(value), [str(v) for v in values], n=1, cutoff=0.6)
            location, line = _cell(table, key, column.name)
            diagnostics.append(_diagnostic(table, "table.cell_reference", msg(
                "column {column} references {ref}: {value} is in no row of table {table} ({where})",
                column=repr(column.name), ref=column.references, value=repr(_as_json(value)),
                table=repr(target_name), where=where), location, line,
                hint=msg("did you mean {name}?", name=repr(close[0])) if close else None))


def _fact(schema: dict, record: Record, path: str):
    """(the fact's JSON Schema node, its type) or (None, None) when the schema has no such fact."""
    node: dict = schema
    t: Type = record
    for part in path.split("."):
        node = _follow(schema, node)
        props = node.get("properties") if isinstance(node, dict) else None
        field = t.field(part) if isinstance(t, Record) else None
        if not isinstance(props, dict) or part not in props or field is None:
            return None, None
        node, t = props[part], field.type
    return _follow(schema, node), t


def _follow(schema: dict, node):
    ref = node.get("$ref") if isinstance(node, dict) else None
    seen = 0
    while isinstance(ref, str) and ref.startswith("#/") and seen < 32:
        target = schema
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = dict(target, **{k: v for k, v in node.items() if k != "$ref"})
        ref, seen = node.get("$ref"), seen + 1
    return node


def _standalone(schema: dict, node: dict) -> dict:
    """The fact's schema, valid on its own: the root's definitions kept for any $ref inside it."""
    out = dict(node)
    for defs in ("$defs", "definitions"):
        if defs in schema:
            out.setdefault(defs, schema[defs])
    return out


def _allowed(node: dict):
    if isinstance(node.get("pattern"), str):
        return msg("the fact's pattern is {pattern}", pattern=node["pattern"])
    return None


def _as_json(value):
    """A cell as a claim would carry it: a date as its text, a whole decimal as an integer."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value
