"""Structural differences between two policy versions, and what changed underneath a policy.

Compares meaning, not text: expressions are compared as syntax trees (a re-wrapped line is no
change), table rows by their key (a cell that changed is one change, old → new).
"""
from __future__ import annotations

from engine.core.i18n import msg, tr
from engine.decide.results import plain
from engine.language.syntax import to_source
from engine.policies.linker import Linked
from engine.policies.policyfile import PolicyVersion
from engine.policies.sources import qualified_view


def _expr(expression) -> str | None:
    if expression is None:
        return None
    return to_source(expression.tree) if expression.tree is not None else expression.text


def _clauses(item) -> str:
    return ", ".join(item.clauses)


def _change(kind: str, section: str, name: str, **fields) -> dict:
    return {"change": kind, "section": section, "name": name, **{k: plain(v) for k, v in fields.items()}}


def _compare_fields(section: str, name: str, old: dict, new: dict, clause: str) -> list[dict]:
    changes = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            changes.append(_change("changed", section, name, field=key, old=old.get(key), new=new.get(key),
                                   clause=clause))
    return changes


def _rule_fields(rule) -> dict:
    return {"when": _expr(rule.when), "require": _expr(rule.require), "clause": _clauses(rule),
            "message.pass": rule.messages.get("pass"), "message.fail": rule.messages.get("fail"),
            "message.not_applicable": rule.messages.get("not_applicable"), "overrides": rule.overrides,
            "reading": rule.reading or None}


def _definition_fields(d) -> dict:
    return {"expr": _expr(d.expr), "params": ", ".join(f"{p.name}: {p.type}" for p in d.params) or None,
            "clause": _clauses(d), "overrides": d.overrides, "description": d.description or None,
            "reading": d.reading or None}


def _output_fields(o) -> dict:
    return {"expr": _expr(o.expr), "when": _expr(o.when), "clause": _clauses(o), "overrides": o.overrides,
            "description": o.description or None, "reading": o.reading or None}


def _note_fields(n) -> dict:
    return {"when": _expr(n.when), "text": n.text, "clause": _clauses(n), "overrides": n.overrides,
            "reading": n.reading or None}


def _check_fields(c) -> dict:
    return {"fact": c.fact, "when": _expr(c.when), "require": _expr(c.require), "message": c.message,
            "overrides": c.overrides}


def _keyed(section: str, old: dict, new: dict, fields, clause_of) -> list[dict]:
    changes = []
    for name in old:
        if name not in new:
            changes.append(_change("removed", section, name, old=fields(old[name]), clause=clause_of(old[name])))
    for name, item in new.items():
        if name not in old:
            changes.append(_change("added", section, name, new=fields(item), clause=clause_of(item)))
        else:
            changes.extend(_compare_fields(section, name, fields(old[name]), fields(item), clause_of(item)))
    return changes


def _tables(old: dict, new: dict) -> list[dict]:
    changes = []
    for name in old:
        if name not in new:
            changes.append(_change("removed", "table", name, clause=_clauses(old[name])))
    for name, table in new.items():
        if name not in old:
            changes.append(_change("added", "table", name, clause=_clauses(table), rows=len(table.rows)))
            continue
        before = old[name]
        clause = _clauses(table)
        # Rows are looked up by key and read by column name, so the order of rows and columns means nothing;
        # a column's type does (an int that becomes money changes what the rules compute).
        old_columns = {f.name: str(f.type) for f in before.type.row.fields}
        new_columns = {f.name: str(f.type) for f in table.type.row.fields}
        if set(old_columns) != set(new_columns):
            changes.append(_change("changed", "table", name, field="columns", old=", ".join(old_columns),
                                   new=", ".join(new_columns), clause=clause))
        for column in new_columns:
            if column in old_columns and old_columns[column] != new_columns[column]:
                changes.append(_change("changed", "table", name, field=f"column {column}", old=old_columns[column],
                                       new=new_columns[column], clause=clause))
        fields = (("key", ", ".join(before.keys), ", ".join(table.keys)), ("clause", _clauses(before), clause),
                  ("description", before.description, table.description), ("reading", before.reading, table.reading),
                  ("overrides", before.overrides, table.overrides))
        for field_name, was, now in fields:
            if was != now:
                changes.append(_change("changed", "table", name, field=field_name, old=was, new=now, clause=clause))
        for key, row in before.rows.items():
            if key not in table.rows:
                changes.append(_change("removed", "row", name, key=list(key), old=row, clause=clause))
        for key, row in table.rows.items():
            if key not in before.rows:
                changes.append(_change("added", "row", name, key=list(key), new=row, clause=clause))
                continue
            for column in new_columns:
                if before.rows[key].get(column) != row.get(column):
                    changes.append(_change("changed", "cell", name, key=list(key), column=column,
                                           old=before.rows[key].get(column), new=row.get(column), clause=clause))
    return changes


def _ledger_fields(spec) -> dict:
    """What a version's `ledger:` section says, field by field (its source texts, not its line numbers)."""
    if spec is None:
        return {}
    fields = {"book": spec.book, "clause": _clauses(spec), "person.fact": spec.person_fact,
              "person.missing": spec.missing or None, "history.fact": spec.history_fact,
              "revoked": "counted" if spec.revoked_counted else "not_counted", "reading": spec.reading or None}
    fields |= {f"record.{name}": source.text for name, source in spec.record.items()}
    fields |= {f"history.fields.{name}": source.text for name, source in spec.history_fields.items()}
    return fields


def _ledger(a: PolicyVersion, b: PolicyVersion) -> list[dict]:
    """The ledger section of each version's own file (an inherited section is the other policy's change)."""
    old, new = a.ledger, b.ledger
    if old is None and new is None:
        return []
    if old is None or new is None:
        kind, spec = ("added", new) if old is None else ("removed", old)
        return [_change(kind, "ledger", "", **{"old" if kind == "removed" else "new": _ledger_fields(spec)},
                        clause=_clauses(spec))]
    return _compare_fields("ledger", "", _ledger_fields(old), _ledger_fields(new), _clauses(new))


def _metadata(v: PolicyVersion) -> dict:
    return {"effective.from": v.effective_from, "effective.to": v.effective_to, "issued_on": v.issued_on,
            "review_by": v.review_by, "title": v.title, "source.number": v.source.get("number"),
            "source.title": v.source.get("title"), "source.issuers": ", ".join(v.source.get("issuers") or ()) or None,
            "source.registration": v.source.get("registration"), "extends": str(v.extends) if v.extends else None,
            "input.schema": v.input_schema, "exports": ", ".join(v.exports) or None}


def diff_versions(a: PolicyVersion, b: PolicyVersion) -> dict:
    """Every difference between two versions, as JSON-ready data."""
    if len(a.documents) > 1 or len(b.documents) > 1:  # compare citations that name their documents
        a, b = qualified_view(a), qualified_view(b)
    changes = _compare_fields("version", "", _metadata(a), _metadata(b), "")
    uses_old = {k: str(v) for k, v in a.uses.items()}
    uses_new = {k: str(v) for k, v in b.uses.items()}
    changes += _compare_fields("uses", "", uses_old, uses_new, "")
    clause_ids = list(dict.fromkeys(list(a.clauses) + list(b.clauses)))
    for cid in clause_ids:
        if a.clauses.get(cid) != b.clauses.get(cid):
            kind = "added" if cid not in a.clauses else "removed" if cid not in b.clauses else "changed"
            changes.append(_change(kind, "clause", cid, old=a.clauses.get(cid), new=b.clauses.get(cid), clause=cid))
    changes += _tables(a.tables, b.tables)
    changes += _keyed("definition", a.definitions, b.definitions, _definition_fields, _clauses)
    changes += _keyed("rule", {r.id: r for r in a.rules}, {r.id: r for r in b.rules}, _rule_fields, _clauses)
    changes += _keyed("output", a.outputs, b.outputs, _output_fields, _clauses)
    changes += _keyed("note", {n.id: n for n in a.notes}, {n.id: n for n in b.notes}, _note_fields, _clauses)
    changes += _keyed("input check", {c.id: c for c in a.checks}, {c.id: c for c in b.checks}, _check_fields,
                      lambda c: "")
    old_amount = {"amount": _expr(a.decision.expr), "currency": a.decision.currency, "clause": _clauses(a.decision),
                  "overrides": a.decision.overrides} if a.decision else {}
    new_amount = {"amount": _expr(b.decision.expr), "currency": b.decision.currency, "clause": _clauses(b.decision),
                  "overrides": b.decision.overrides} if b.decision else {}
    changes += _compare_fields("decision", "", old_amount, new_amount,
                               _clauses(b.decision) if b.decision else "")
    nc_old = {n["clause"] if isinstance(n["clause"], str) else ", ".join(n["clause"]): n["reason"]
              for n in a.not_computable}
    nc_new = {n["clause"] if isinstance(n["clause"], str) else ", ".join(n["clause"]): n["reason"]
              for n in b.not_computable}
    changes += _compare_fields("not computable", "", nc_old, nc_new, "")
    changes += _ledger(a, b)
    return {"id": b.id, "from": {"version": a.version, "digest": a.digest},
            "to": {"version": b.version, "digest": b.digest}, "changes": changes}


def diff_linked(a: Linked, b: Linked) -> dict:
    """The policy's own changes, then every referenced policy whose version differs underneath it."""
    result = diff_versions(a.version, b.version)
    before = {v.id: v for v in a.versions if v is not a.version}
    after = {v.id: v for v in b.versions if v is not b.version}
    underneath = []
    for pid in sorted(set(before) | set(after)):
        old, new = before.get(pid), after.get(pid)
        if old is None or new is None:
            underneath.append({"id": pid, "from": {"version": old.version} if old else None,
                               "to": {"version": new.version} if new else None, "changes": [
                                   _change("added" if old is None else "removed", "reference", pid)]})
        elif old.key != new.key or old.digest != new.digest:
            underneath.append(diff_versions(old, new))
    result["underneath"] = underneath
    return result


# -------------------------------------------------------------------------------------------------
# For people


# The words of the text form, by the `section` and `change` of the JSON form (which stay in English).
_SECTIONS = {"version": msg("version"), "uses": msg("uses"), "clause": msg("clause"), "table": msg("table"),
             "definition": msg("definition"), "rule": msg("rule"), "output": msg("output"), "note": msg("note"),
             "input check": msg("input check"), "decision": msg("decision"), "not computable": msg("not computable"),
             "ledger": msg("ledger"), "reference": msg("reference")}
_CHANGES = {"added": msg("added"), "removed": msg("removed"), "changed": msg("changed")}


def _show(value) -> str:
    if value is None:
        return tr(msg("(none)"))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return str(value)


def _line(c: dict) -> str:
    clause = f" [{c['clause']}]" if c.get("clause") else ""
    section, name = c["section"], c["name"]
    change = tr(_CHANGES.get(c["change"], c["change"]))
    if section == "cell":
        return tr(msg("table {name} row {key} {column}: {old} → {new}", name=name, key=_show(c["key"]),
                      column=c["column"], old=_show(c["old"]), new=_show(c["new"]))) + clause
    if section == "row":
        row = c.get("new") if c["change"] == "added" else c.get("old")
        return tr(msg("table {name} row {key} {change}: {row}", name=name, key=_show(c["key"]), change=change,
                      row=_show(row))) + clause
    label = f"{tr(_SECTIONS.get(section, section))} {name}".strip()
    if c["change"] == "changed":
        field = c.get("field") or ""
        if field.startswith("column "):  # a table's column, as the JSON names it: `column hours`
            field = tr(msg("column {name}", name=field[len("column "):]))
        return tr(msg("{label}: {old} → {new}", label=f"{label} {field}".strip(), old=_show(c.get("old")),
                      new=_show(c.get("new")))) + clause
    detail = c.get("new") if c["change"] == "added" else c.get("old")
    if isinstance(detail, dict):
        detail = "; ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, False, ""))
    return (tr(msg("{label} {change}: {detail}", label=label, change=change, detail=str(detail))) if detail
            else f"{label} {change}") + clause


def render_diff(result: dict) -> str:
    head = f"{result['id']}: {result['from']['version']} → {result['to']['version']}"
    if result.get("compared"):  # two policies side by side
        head = f"{result['compared'][0]} → {result['compared'][1]}"
    lines = [head]
    changes = result["changes"]
    lines += [f"  {_line(c)}" for c in changes] or ["  " + tr(msg("no changes in the policy's own file"))]
    for sub in result.get("underneath", []):
        old = sub["from"]["version"] if sub.get("from") else tr(msg("(none)"))
        new = sub["to"]["version"] if sub.get("to") else tr(msg("(none)"))
        lines.append(tr(msg("underneath: {id}: {old} → {new}", id=sub["id"], old=old, new=new)))
        # never empty: two versions of one policy take effect on different days (the store refuses otherwise)
        lines += [f"  {_line(c)}" for c in sub["changes"]]
    return "\n".join(lines)
