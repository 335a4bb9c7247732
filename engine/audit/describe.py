"""A policy version described for people: `policy show`."""
from __future__ import annotations

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
    if v.extends:
        out.append(f"  extends: {v.extends}")
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
    if v.not_computable:
        out += ["", "not computable:"]
        out += [f"  {nc['clause']}: {nc['reason']}" for nc in v.not_computable]
    return "\n".join(out)
