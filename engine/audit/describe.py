"""A policy version described for people: `policy show`, in the officer's language (the policy's own words,
expressions and ids as written)."""
from __future__ import annotations

import json

from engine.core.i18n import msg, series, tr
from engine.decide.results import plain
from engine.policies.policyfile import PolicyVersion

# how a version reads another (engine.policies.linker's roles), in words
ROLES = {"extends": msg("extends"), "uses": msg("uses"), "includes": msg("includes")}


def role(name: str) -> str:
    return tr(ROLES[name]) if name in ROLES else name


def _clauses(item) -> str:
    return ", ".join(item.clauses) if item.clauses else "-"


def _flag(item) -> str:
    """Marks an item that replaces the one of the policy this version extends (a labelled exception)."""
    return tr(" (overrides)") if item.overrides else ""


def _words(text: str) -> str:
    return " ".join(text.split())


def _in_force(v: PolicyVersion, store, as_of) -> str | None:
    """A warning line when the version shown is not the one in force on `as_of`."""
    end = store.until(v)
    if as_of is None or v.effective_from <= as_of and (end is None or as_of <= end):
        return None
    return "  " + tr("NOT IN FORCE on {day}: this version is in force {start} .. {end}", day=as_of,
                     start=v.effective_from, end=end or tr("now"))


def describe_version(v: PolicyVersion, store, as_of=None, reads: list[str] | None = None) -> str:
    end = store.until(v)
    out = [f"{v.key}  {v.title}",
           "  " + tr("in force {start} .. {end}; issued {issued}", start=v.effective_from, end=end or tr("now"),
                     issued=v.issued_on) + (tr("; review by {day}", day=v.review_by) if v.review_by else ""),
           "  " + tr("source: {number} {title}", number=v.source["number"], title=v.source["title"]),
           "  " + tr("issuers: {issuers}", issuers=series(v.source["issuers"]))
           + (tr("; registration {registration}", registration=v.source["registration"])
              if v.source.get("registration") else ""),
           "  " + tr("file: {file}", file=v.file), "  " + tr("digest: {digest}", digest=v.digest)]
    warning = _in_force(v, store, as_of)
    if warning:
        out.insert(2, warning)
    if v.input_schema:
        out.append("  " + tr("input: {schema}", schema=v.input_schema))
    if v.amends:
        out.append("  " + tr("amends: {policy}@{version} (shown resolved: that version with this file's changes)",
                             policy=v.id, version=v.amends))
    if v.extends:
        out.append("  " + tr("extends: {reference}", reference=v.extends))
    for ref in v.includes:
        out.append("  " + tr("includes: {reference}", reference=ref))
    for alias, ref in v.uses.items():
        out.append("  " + tr("uses: {alias} = {reference}", alias=alias, reference=ref))
    if reads:
        out.append("  " + tr("on {day} reads: {versions}", day=as_of, versions=series(reads)))
    if v.exports:
        out.append("  " + tr("exports: {names}", names=", ".join(v.exports)))
    description, reading = tr("description: {text}"), tr("reading: {text}")
    for name, t in v.tables.items():
        columns = [f.name for f in t.type.row.fields]
        out += ["", tr("table {name}{overrides} [{clauses}] key ({keys})", name=name, overrides=_flag(t),
                       clauses=_clauses(t), keys=", ".join(t.keys))]
        out += ["  " + label.format(text=_words(text)) for label, text in ((description, t.description),
                                                                            (reading, t.reading)) if text]
        out.append("  " + " | ".join(columns))
        out += ["  " + " | ".join(str(plain(row[c])) for c in columns) for row in t.rows.values()]
    if v.own_facts:
        out += ["", tr("own facts (input.facts; optional in a claim):")]
        for f in v.own_facts:
            out.append(f"  {f.path} [{', '.join(f.clauses)}]: {json.dumps(f.schema, ensure_ascii=False)}")
            if f.description:
                out.append("    " + description.format(text=_words(f.description)))
    if v.checks:
        out += ["", tr("input checks (a claim failing one is invalid):")]
        for c in v.checks:
            out.append(tr("  {id}{overrides} on {fact}: {require}", id=c.id, overrides=_flag(c), fact=c.fact,
                          require=_words(c.require.text))
                       + (tr("  when {condition}", condition=_words(c.when.text)) if c.when else ""))
            out.append("    " + tr("message: {text}").format(text=c.message))
    if v.definitions:
        out += ["", tr("definitions:")]
        for name, d in v.definitions.items():
            params = f"({', '.join(f'{p.name}: {p.type}' for p in d.params)})" if d.params else ""
            out.append(f"  {name}{params}{_flag(d)} [{_clauses(d)}] = {_words(d.expr.text)}")
            if d.description:
                out.append("    " + description.format(text=_words(d.description)))
            if d.reading:
                out.append("    " + reading.format(text=d.reading))
    if v.rules:
        out += ["", tr("rules:")]
        when, require, fail = tr("when:    {text}"), tr("require: {text}"), tr("fail:    {text}")
        for r in v.rules:
            out.append(f"  {r.id}{_flag(r)} [{_clauses(r)}]")
            if r.when:
                out.append("    " + when.format(text=_words(r.when.text)))
            out.append("    " + require.format(text=_words(r.require.text)))
            out.append("    " + fail.format(text=r.messages["fail"]))
            if r.reading:
                out.append("    " + reading.format(text=r.reading))
    if v.outputs:
        out += ["", tr("outputs:")]
        for name, o in v.outputs.items():
            out.append(f"  {name}{_flag(o)} [{_clauses(o)}] = {_words(o.expr.text)}")
            if o.when:
                out.append("    " + tr("when: {text}").format(text=_words(o.when.text)))
            if o.description:
                out.append("    " + description.format(text=_words(o.description)))
            if o.reading:
                out.append("    " + reading.format(text=o.reading))
    if v.decision:
        out += ["", tr("amount{overrides} [{clauses}] = {expression} {currency}", overrides=_flag(v.decision),
                       clauses=_clauses(v.decision), expression=v.decision.expr.text, currency=v.decision.currency)]
    if v.notes:
        out += ["", tr("notes:")]
        for n in v.notes:
            when_text = tr(" when {condition}", condition=_words(n.when.text)) if n.when else ""
            out.append(f"  {n.id}{_flag(n)} [{_clauses(n)}]{when_text}")
            out.append(f"    {_words(n.text)}")
    if v.ledger is not None:
        spec = v.ledger
        out += ["", tr("ledger [{clauses}]: book {book}, person {person}, revoked grants {counted}",
                       clauses=", ".join(spec.clauses), book=spec.book_name, person=spec.person_fact,
                       counted=tr("counted") if spec.revoked_counted else tr("not counted"))]
        out += ["  " + tr("record {name} = {source}", name=name, source=source.text)
                for name, source in spec.record.items()]
        out.append("  " + tr("history {fact}: {fields}", fact=spec.history_fact, fields=", ".join(
            f"{name} = {source.text}" for name, source in spec.history_fields.items())))
    if v.not_computable:
        out += ["", tr("not computable:")]
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
