"""A policy version described for people: `policy show`."""
from __future__ import annotations

import json

from engine.decide.results import plain
from engine.policies.policyfile import PolicyVersion


def _clauses(item) -> str:
    return ", ".join(item.clauses) if item.clauses else "-"


def _flag(item) -> str:
    """Marks an item that replaces the one of the policy this version extends (a labelled exception)."""
    return " (overrides)" if item.overrides else ""


def _in_force(v: PolicyVersion, store, as_of) -> str | None:
    """A warning line when the version shown is not the one in force on `as_of`."""
    end = store.until(v)
    if as_of is None or v.effective_from <= as_of and (end is None or as_of <= end):
        return None
    return f"  NOT IN FORCE on {as_of}: this version is in force {v.effective_from} .. {end or 'now'}"


def describe_version(v: PolicyVersion, store, as_of=None, reads: list[str] | None = None) -> str:
    end = store.until(v)
    out = [f"{v.key}  {v.title}",
           f"  in force {v.effective_from} .. {end or 'now'}; issued {v.issued_on}"
           + (f"; review by {v.review_by}" if v.review_by else ""),
           f"  source: {v.source['number']} {v.source['title']}",
           f"  issuers: {', '.join(v.source['issuers'])}" + (f"; registration {v.source['registration']}"
                                                               if v.source.get("registration") else ""),
           f"  file: {v.file}", f"  digest: {v.digest}"]
    warning = _in_force(v, store, as_of)
    if warning:
        out.insert(2, warning)
    if v.input_schema:
        out.append(f"  input: {v.input_schema}")
    if v.amends:
        out.append(f"  amends: {v.id}@{v.amends} (shown resolved: that version with this file's changes)")
    if v.extends:
        out.append(f"  extends: {v.extends}")
    for ref in v.includes:
        out.append(f"  includes: {ref}")
    for alias, ref in v.uses.items():
        out.append(f"  uses: {alias} = {ref}")
    if reads:
        out.append(f"  on {as_of} reads: {', '.join(reads)}")
    if v.exports:
        out.append(f"  exports: {', '.join(v.exports)}")
    for name, t in v.tables.items():
        columns = [f.name for f in t.type.row.fields]
        out += ["", f"table {name}{_flag(t)} [{_clauses(t)}] key ({', '.join(t.keys)})"]
        out += [f"  {label}: {' '.join(text.split())}" for label, text in (("description", t.description),
                                                                           ("reading", t.reading)) if text]
        out.append("  " + " | ".join(columns))
        out += ["  " + " | ".join(str(plain(row[c])) for c in columns) for row in t.rows.values()]
    if v.own_facts:
        out += ["", "own facts (input.facts; optional in a claim):"]
        for f in v.own_facts:
            out.append(f"  {f.path} [{', '.join(f.clauses)}]: {json.dumps(f.schema, ensure_ascii=False)}")
            if f.description:
                out.append(f"    description: {' '.join(f.description.split())}")
    if v.checks:
        out += ["", "input checks (a claim failing one is invalid):"]
        for c in v.checks:
            out.append(f"  {c.id}{_flag(c)} on {c.fact}: {' '.join(c.require.text.split())}"
                       + (f"  when {' '.join(c.when.text.split())}" if c.when else ""))
            out.append(f"    message: {c.message}")
    if v.definitions:
        out += ["", "definitions:"]
        for name, d in v.definitions.items():
            params = f"({', '.join(f'{p.name}: {p.type}' for p in d.params)})" if d.params else ""
            out.append(f"  {name}{params}{_flag(d)} [{_clauses(d)}] = {' '.join(d.expr.text.split())}")
            if d.description:
                out.append(f"    description: {' '.join(d.description.split())}")
            if d.reading:
                out.append(f"    reading: {d.reading}")
    if v.rules:
        out += ["", "rules:"]
        for r in v.rules:
            out.append(f"  {r.id}{_flag(r)} [{_clauses(r)}]")
            if r.when:
                out.append(f"    when:    {' '.join(r.when.text.split())}")
            out.append(f"    require: {' '.join(r.require.text.split())}")
            out.append(f"    fail:    {r.messages['fail']}")
            if r.reading:
                out.append(f"    reading: {r.reading}")
    if v.outputs:
        out += ["", "outputs:"]
        for name, o in v.outputs.items():
            out.append(f"  {name}{_flag(o)} [{_clauses(o)}] = {' '.join(o.expr.text.split())}")
            if o.when:
                out.append(f"    when: {' '.join(o.when.text.split())}")
            if o.description:
                out.append(f"    description: {' '.join(o.description.split())}")
            if o.reading:
                out.append(f"    reading: {o.reading}")
    if v.decision:
        out += ["", f"amount{_flag(v.decision)} [{_clauses(v.decision)}] = {v.decision.expr.text} "
                f"{v.decision.currency}"]
    if v.notes:
        out += ["", "notes:"]
        for n in v.notes:
            when = f" when {' '.join(n.when.text.split())}" if n.when else ""
            out.append(f"  {n.id}{_flag(n)} [{_clauses(n)}]{when}")
            out.append(f"    {' '.join(n.text.split())}")
    if v.ledger is not None:
        out += ["", f"ledger [{', '.join(v.ledger.clauses)}]: book {v.ledger.book_name}, person {v.ledger.person_fact}"
                f", revoked grants {'counted' if v.ledger.revoked_counted else 'not counted'}"]
        out += [f"  record {name} = {source.text}" for name, source in v.ledger.record.items()]
        out.append(f"  history {v.ledger.history_fact}: " + ", ".join(
            f"{name} = {source.text}" for name, source in v.ledger.history_fields.items()))
    if v.not_computable:
        out += ["", "not computable:"]
        out += [f"  {nc['clause']}: {nc['reason']}" for nc in v.not_computable]
    return "\n".join(out)


def _expr(e) -> str | None:
    return " ".join(e.text.split()) if e is not None else None


def _item(item, **fields) -> dict:
    data = {"clause": list(item.clauses)} | {k: v for k, v in fields.items() if v not in (None, "", [], {})}
    return data | ({"overrides": True} if item.overrides else {})


def version_json(v: PolicyVersion, store, as_of=None, reads: list[str] | None = None) -> dict:
    """The same content as describe_version, as data for programs (`policy show --format json`)."""
    end = store.until(v)
    data = {"id": v.id, "version": v.version, "title": v.title, "file": v.file, "digest": v.digest,
            "effective_from": v.effective_from.isoformat(), "in_force_until": end.isoformat() if end else None,
            "issued_on": v.issued_on.isoformat(), "review_by": v.review_by.isoformat() if v.review_by else None,
            "source": {k: v.source.get(k) for k in ("number", "title", "issuers", "registration") if v.source.get(k)},
            "clauses": dict(v.clauses), "input": v.input_schema,
            "extends": str(v.extends) if v.extends else None,
            "uses": {alias: str(ref) for alias, ref in v.uses.items()}, "exports": list(v.exports),
            "amends": v.amends, "includes": [str(ref) for ref in v.includes]}
    if as_of is not None:
        data["as_of"] = as_of.isoformat()
        data["in_force_on_as_of"] = _in_force(v, store, as_of) is None
        data["reads"] = reads or []
    data["tables"] = {name: _item(t, key=list(t.keys), columns={f.name: str(f.type) for f in t.type.row.fields},
                                  rows=[{c: plain(val) for c, val in row.items()} for row in t.rows.values()],
                                  description=t.description, reading=t.reading) for name, t in v.tables.items()}
    data["checks"] = [{"id": c.id, "fact": c.fact, "require": _expr(c.require), "when": _expr(c.when),
                       "message": c.message} | ({"overrides": True} if c.overrides else {}) for c in v.checks]
    data["definitions"] = {name: _item(d, expr=_expr(d.expr), params={p.name: str(p.type) for p in d.params},
                                       type=str(d.declared_type) if d.declared_type else None,
                                       description=d.description, reading=d.reading)
                           for name, d in v.definitions.items()}
    data["rules"] = [{"id": r.id} | _item(r, when=_expr(r.when), require=_expr(r.require), message=r.messages,
                                          reading=r.reading) for r in v.rules]
    data["outputs"] = {name: _item(o, expr=_expr(o.expr), when=_expr(o.when), description=o.description,
                                   reading=o.reading) for name, o in v.outputs.items()}
    data["decision"] = _item(v.decision, amount=_expr(v.decision.expr), currency=v.decision.currency) \
        if v.decision else None
    data["notes"] = [{"id": n.id} | _item(n, when=_expr(n.when), text=n.text, reading=n.reading) for n in v.notes]
    data["not_computable"] = list(v.not_computable)
    data["own_facts"] = {f.path: {"clause": list(f.clauses), "schema": f.schema} | (
        {"description": f.description} if f.description else {}) for f in v.own_facts}
    data["ledger"] = _ledger_json(v.ledger) if v.ledger is not None else None
    return data


def _ledger_json(spec) -> dict:
    return {"clause": list(spec.clauses), "book": spec.book_name, "person": spec.person_fact,
            "missing": spec.missing or None, "record": {name: s.text for name, s in spec.record.items()},
            "history": {"fact": spec.history_fact,
                        "fields": {name: s.text for name, s in spec.history_fields.items()}},
            "revoked": "counted" if spec.revoked_counted else "not_counted"}
